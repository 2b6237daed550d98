"""Policy users pinned by account id.

A login can change hands: after an account is renamed or deleted, "your old username becomes
available for anyone else to claim" (GitHub docs, "Changing your GitHub username"). So every user
that policies/approval.yaml (`approvers.users`) or a transition rule (`require.from`) names carries
the account's numeric id, `{login: "@erin", id: 1234}`, and only that id counts: the login is there
for people to read. A bare "@login" is a configuration error, never a login match.

`foureyes pin` resolves the bare logins once (GET /users/{username}) and writes each id beside its
login, editing only those entries so comments and layout stay as they were.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import yamlload
from .yamlload import LoadError

PIN_HINT = "run `foureyes pin` (with GITHUB_TOKEN) to write the account ids"


def is_user(entry: object) -> bool:
    """A user entry (not a team "@org/slug"): "@login" or {login, id}."""
    return isinstance(entry, dict) or (isinstance(entry, str) and "/" not in entry)


def pinned_users(entries: Iterable[Any], file: str, data: bytes, path: tuple) -> dict[str, int]:
    """Lower-case login -> pinned account id of every user entry in ``entries`` (the list at
    ``path`` in the file); a bare "@login" raises LoadError at its line."""
    pinned: dict[str, int] = {}
    for index, entry in enumerate(entries):
        if not is_user(entry):
            continue
        if isinstance(entry, str):
            line, col = yamlload.line_of(yamlload.decode(data, file), (*path, index))
            raise LoadError(
                file,
                f"{entry} is not pinned to an account id (a login can be reclaimed by "
                f'another account): write {{login: "{entry}", id: <account id>}}, or {PIN_HINT}',
                line,
                col,
            )
        login = entry["login"][1:].lower()
        if pinned.get(login, entry["id"]) != entry["id"]:
            line, col = yamlload.line_of(yamlload.decode(data, file), (*path, index))
            raise LoadError(file, f"{entry['login']} is listed with two account ids", line, col)
        pinned[login] = entry["id"]
    return pinned


# --- foureyes pin
# ----------------------------------------------------------------------------------


@dataclass
class Unpinned:
    file: str
    login: str  # as written, without the @
    start: int  # character offsets of the scalar (its quotes included) in the file's text
    end: int
    line: int


@dataclass
class PinResult:
    pinned: list[tuple[str, str, int]] = field(default_factory=list)  # (file, login, id)
    files: list[str] = field(default_factory=list)  # the files rewritten


def _user_lists(file: str, root_node: yaml.Node | None) -> list[yaml.SequenceNode]:
    """The sequence nodes of a file that list users: approvers.users, or a rule's require.from."""
    from .model import POLICY_FILE

    keys = ("approvers", "users") if file == POLICY_FILE else ("require", "from")
    node = root_node
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            return []
        node = next(
            (v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None
        )
    return [node] if isinstance(node, yaml.SequenceNode) else []


def find_unpinned(file: str, text: str) -> list[Unpinned]:
    """The bare "@login" entries of a policy or rule file, where they are in its text."""
    yamlload.loads(
        text, file
    )  # the strict loader first: no aliases, no duplicate keys, a clear error
    root_node = yaml.compose(
        text, Loader=yaml.SafeLoader
    )  # the pure-Python composer: character offsets
    found = []
    for seq in _user_lists(file, root_node):
        for item in seq.value:
            if (
                isinstance(item, yaml.ScalarNode)
                and item.value.startswith("@")
                and "/" not in item.value
            ):
                found.append(
                    Unpinned(
                        file,
                        item.value[1:],
                        item.start_mark.index,
                        item.end_mark.index,
                        item.start_mark.line + 1,
                    )
                )
    return found


def pin_text(text: str, entries: list[Unpinned], ids: dict[str, tuple[str, int]]) -> str:
    """``text`` with each entry replaced by {login: "@<login>", id: <id>} (``ids``: lower-case login
    -> (login as GitHub spells it, id)); everything else byte for byte as it was."""
    for entry in sorted(entries, key=lambda e: e.start, reverse=True):
        login, account_id = ids[entry.login.lower()]
        text = text[: entry.start] + f'{{login: "@{login}", id: {account_id}}}' + text[entry.end :]
    return text


def pin_files(root: Path) -> list[Path]:
    from .model import POLICY_FILE, RULES_DIR

    paths = [root / POLICY_FILE] if (root / POLICY_FILE).is_file() else []
    rules = root / RULES_DIR
    return paths + (
        sorted(p for p in rules.glob("*.yaml") if p.is_file()) if rules.is_dir() else []
    )


def pin(
    root: Path, lookup: Callable[[str], tuple[str, int]] | None, check: bool = False
) -> tuple[PinResult, list[Unpinned]]:
    """Pin every bare login of the policy and the rules. ``lookup(login)`` gives (login, id) of the
    account, or raises. With ``check`` nothing is looked up or written: the unpinned entries are
    returned."""
    result = PinResult()
    plan = []
    for path in pin_files(root):
        rel = path.relative_to(root).as_posix()
        text = yamlload.decode(yamlload.read_bytes(path, root), rel)
        entries = find_unpinned(rel, text)
        if entries:
            plan.append((path, rel, text, entries))
    unpinned = [e for _, _, _, entries in plan for e in entries]
    if check or not unpinned:
        return result, unpinned
    if lookup is None:  # only a check may go without one
        raise ValueError("pin: no way given to look the accounts up")
    written = {
        e.login.lower(): e.login for e in reversed(unpinned)
    }  # each account once, as first written
    ids = {key: lookup(written[key]) for key in sorted(written)}  # every lookup before any write
    for path, rel, text, entries in plan:
        path.write_text(pin_text(text, entries, ids), "utf-8")
        result.files.append(rel)
        result.pinned += [(rel, ids[e.login.lower()][0], ids[e.login.lower()][1]) for e in entries]
    return result, []
