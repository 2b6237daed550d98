"""The registry's models (deployments, environments, policy) and their validation.

Everything here works on bytes and file names, so the same code validates the working tree
(`foureyes validate`) and files read from git at a ref (`plan`, `gate`).
"""

from __future__ import annotations

import builtins
import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ConfigError
from ..vocabulary import DEPLOYMENT_EVENTS, named_events
from . import drafts, yamlload
from .pins import pinned_users
from .yamlload import LoadError

if TYPE_CHECKING:
    import jsonschema_rs


class Snapshot(Protocol):
    """The registry as one commit (gitrepo.GitTree) or the working tree (gitrepo.WorkTree) has it."""

    def read(self, path: str, /) -> bytes | None: ...

    def read_many(self, paths: builtins.list[str], /) -> dict[str, bytes]: ...

    def list(self, prefix: str, /) -> builtins.list[str]: ...


# a schema violation: (JSON path, message, whether it points at the key rather than its value)
SchemaError = tuple[tuple, str, bool]

LEVELS = ("low", "moderate", "high", "critical")  # ascending

DEPLOYMENTS_DIR = "registry/deployments"
ENVIRONMENTS_FILE = "registry/environments.yaml"
POLICY_FILE = "policies/approval.yaml"
DEPLOYMENT_SCHEMA = "policies/deployment.schema.json"
RULES_DIR = "policies/rules"
# what a served state is made of: every change under these folders needs an approved PR, whatever
# a policy's `ungoverned` globs say, and the deploy's provenance check traces them
STATE_PATHS = ("registry/", "policies/")

BUNDLED = Path(__file__).parents[1] / "template"  # the example repository shipped with the package

# The one definition of a deployment file, used by validate, plan, deploy, provenance and inventory:
# exactly registry/deployments/<name>.yaml. Anything else under registry/deployments/ (a subfolder,
# .yml, a stray file) is a layout error, never silently read by one command and skipped by another.
_DEPLOYMENT_FILE = re.compile(re.escape(DEPLOYMENTS_DIR) + r"/([^/]+)\.yaml")


def is_deployment_file(path: str) -> bool:
    return _DEPLOYMENT_FILE.fullmatch(path) is not None


def deployment_file(name: str) -> str:
    return f"{DEPLOYMENTS_DIR}/{name}.yaml"


def layout_problem(path: str) -> Problem | None:
    """A file under registry/deployments/ that is not a deployment file is an error, with its path."""
    if path.startswith(DEPLOYMENTS_DIR + "/") and not is_deployment_file(path):
        return Problem(
            path,
            f"not a deployment file: deployments are {DEPLOYMENTS_DIR}/<name>.yaml "
            "(no subfolders, no other files); move or remove it",
            title="layout",
        )
    return None


def level_rank(level: str) -> int:
    return LEVELS.index(level)


def max_level(*levels: str | None) -> str:
    return max((lv for lv in levels if lv), key=level_rank)


@dataclass
class Problem:
    file: str
    message: str
    line: int | None = None
    col: int | None = None
    title: str = "invalid deployment"

    @classmethod
    def from_load_error(cls, err: LoadError, title: str = "unreadable file") -> Problem:
        return cls(err.file, err.message, err.line, err.col, title)

    def __str__(self) -> str:
        return str(LoadError(self.file, self.message, self.line, self.col))

    def to_json(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "title": self.title,
            "message": self.message,
        }


@dataclass(frozen=True)
class Deployment:
    file: str
    data: dict = field(compare=False, hash=False)
    text: str = field(default="", compare=False, hash=False, repr=False)

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def importance(self) -> str:
        return self.data["importance"]

    @property
    def model(self) -> dict:
        return self.data["model"]

    @property
    def owners(self) -> tuple[str, ...]:
        owner = self.data["owner"]
        return (owner,) if isinstance(owner, str) else tuple(owner)

    @property
    def user_owners(self) -> frozenset[str]:
        """Owners that are users (not teams), as lower-case logins."""
        return frozenset(o[1:].lower() for o in self.owners if "/" not in o)

    @property
    def environments(self) -> tuple[str, ...] | None:
        envs = self.data.get("environments")
        return tuple(envs) if envs is not None else None

    def serves_in(self, env_name: str, every: list[str]) -> bool:
        """Whether it runs in ``env_name``: the environments it lists, or with no list each of
        ``every``. The one reading of `environments` the deploy and the judgment share (an empty
        list is refused by the schema; read here, it would be nowhere, never everywhere)."""
        listed = self.environments
        return env_name in (listed if listed is not None else every)

    @property
    def apply(self) -> str:
        return self.data.get("apply", "manual")

    def model_ref(self) -> str:
        return f"{self.model['name']}@{self.model['version']}"


# --- schemas -------------------------------------------------------------------------------------

# Parsed configuration is kept by content for the run: every PR a deploy re-checks reads the policy,
# the schemas and the environments at its own base, and across a history they are almost always the
# same bytes. Parsing is a pure function of (bytes, file name) and its results are not changed
# after.
by_content = functools.lru_cache(maxsize=512)


@dataclass
class _Schema:
    """One JSON Schema, enforced for the draft its `$schema` declares (drafts.py): jsonschema-rs
    decides valid or not; the Python validator of the same draft words the messages."""

    title: str
    schema: dict
    file: str

    @cached_property
    def draft(self) -> str:
        return drafts.draft_of(self.schema, self.file)

    @cached_property
    def _enforced(self) -> jsonschema_rs.Validator:
        return drafts.enforcer(self.schema, self.draft, self.file)

    # the Python validator explains what jsonschema-rs refused; typed loosely (Any), as its
    # errors' fields are declared as unions with jsonschema's Unset, which an error it raised
    # never holds
    @cached_property
    def _detailed(self) -> Any:
        cls = drafts.python_validator(self.schema, self.draft)
        return cls(self.schema, format_checker=cls.FORMAT_CHECKER)

    def is_valid(self, data: Any) -> bool:
        return self._enforced.is_valid(data)

    def errors(self, data: Any, text: str | None = None) -> list[SchemaError]:
        """(json path, message, points at a key) for each violation, most specific first. With the
        file's ``text``, a message can quote what was written (an unquoted 1.10 YAML read as
        1.1)."""
        import jsonschema
        import referencing.exceptions

        if self.is_valid(data):  # the validator of the draft decides; the messages only explain
            return []
        leaves = []
        try:
            found = sorted(self._detailed.iter_errors(data), key=jsonschema.exceptions.relevance)
        except (jsonschema.exceptions.SchemaError, referencing.exceptions.Unresolvable):
            found = []
        if not found:
            return self._enforced_errors(data)
        for err in found:
            leaf = err
            # oneOf/anyOf: report the branch that got furthest instead of "is not valid under any"
            while leaf.context:
                # prefer the branch of the right type, then the one that got deepest into the data
                leaf = max(
                    leaf.context, key=lambda e: (e.validator != "type", len(e.absolute_path))
                )
            leaves.append(leaf)
        # a misspelled field is one mistake: "unknown field 'verison'; did you mean 'version'?", not
        # that plus "'version' is a required property"
        suggested: set[tuple[tuple, str]] = set()  # (where, the message suggesting a name)
        for leaf in leaves:
            if leaf.validator == "additionalProperties" and isinstance(leaf.instance, dict):
                allowed = list(leaf.schema.get("properties", {}))
                for extra in (k for k in leaf.instance if k not in allowed):
                    suggested.update((tuple(leaf.absolute_path), m) for m in _close(extra, allowed))
        out = []
        for leaf in leaves:
            path = tuple(leaf.absolute_path)
            message = leaf.message
            if leaf.validator == "required" and isinstance(leaf.instance, dict):
                missing = [k for k in leaf.validator_value if k not in leaf.instance]
                if missing and all((path, k) in suggested for k in missing):
                    continue
            if leaf.validator == "additionalProperties" and isinstance(leaf.instance, dict):
                allowed = list(leaf.schema.get("properties", {}))
                extras = [k for k in leaf.instance if k not in allowed]
                if extras:
                    path = (*path, extras[0])
                    message = f"unknown field {extras[0]!r}"
                    close = _close(extras[0], allowed)
                    if close:
                        message += f"; did you mean {close[0]!r}?"
                    elif allowed:
                        message += f" (allowed: {', '.join(allowed)})"
            else:
                message = _plain_message(leaf, message, text)
            where = ".".join(str(p) for p in path)
            out.append(
                (
                    path,
                    f"{where}: {message}" if where else message,
                    leaf.validator == "additionalProperties",
                )
            )
        return out

    def _enforced_errors(self, data: Any) -> list[SchemaError]:
        """jsonschema-rs's own messages, where the Python validator accepts what it refuses (a
        format or regular-expression edge): the refusal stands and is never left unexplained."""
        out = []
        for err in self._enforced.iter_errors(data):
            path = tuple(err.instance_path)
            where = ".".join(str(p) for p in path)
            out.append((path, f"{where}: {err.message}" if where else err.message, False))
        return out

    @classmethod
    def from_bytes(cls, data: bytes, file: str) -> _Schema:
        try:
            schema = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{file}: not valid JSON: {exc}") from None
        if not isinstance(schema, dict):
            raise ConfigError(f"{file}: a schema must be a JSON object")
        import jsonschema

        draft = drafts.draft_of(schema, file)
        try:
            drafts.python_validator(schema, draft).check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise ConfigError(
                f"{file}: not a valid {drafts.name_of(draft)} JSON Schema: {exc.message}"
            ) from None
        title = schema.get("title") or Path(file).name.removesuffix(".schema.json")
        found = cls(title, schema, file)
        found._enforced  # noqa: B018  compiled now: a schema jsonschema-rs cannot enforce is refused on loading
        return found


_schema = by_content(_Schema.from_bytes)


def _number_message(leaf: Any, text: str | None) -> str:
    """'1.1 is not of type string' -> say what happened: YAML read the unquoted 1.10 as the number 1.1."""
    value = repr(leaf.instance)
    written = value
    if text:
        line, col = yamlload.line_of(text, tuple(leaf.absolute_path))
        if line and col:
            token = re.match(r"[^\s,\]}#]+", text.splitlines()[line - 1][col - 1 :])
            written = token.group(0) if token else value
    return (
        f"expected text, but YAML read the unquoted {written} as the number {value}: "
        f"quote it ({json.dumps(written)})"
    )


def unknown_name(kind: str, name: str, known: Iterable[object], where: str = "") -> str:
    """'no deployment 'frad-scorer' in staging; did you mean 'fraud-scorer'?' (or the known names)."""
    known = sorted({str(k) for k in known})
    close = _close(name, known)
    hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known) or 'none'})"
    return f"no {kind} {name!r}{' in ' + where if where else ''}{hint}"


def _close(word: str, candidates: Iterable[object]) -> list[str]:
    import difflib

    names = [str(c) for c in candidates]
    prefixed = [c for c in names if word and c.startswith(str(word))]  # prod -> production
    return prefixed[:1] or difflib.get_close_matches(str(word), names, n=1, cutoff=0.6)


def _plain_message(leaf: Any, message: str, text: str | None = None) -> str:
    """jsonschema's message, said the way a person editing YAML needs it."""
    if (
        leaf.validator == "type"
        and "string" in _as_list(leaf.validator_value)
        and isinstance(leaf.instance, (int, float))
        and not isinstance(leaf.instance, bool)
    ):
        return _number_message(leaf, text)
    if leaf.validator == "enum" and isinstance(leaf.instance, str):
        options = [str(o) for o in leaf.validator_value]
        close = _close(leaf.instance, options)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"{leaf.instance!r} is not one of {', '.join(options)}{hint}"
    if leaf.validator == "pattern":
        if "description" in leaf.schema:
            return f"{leaf.instance!r} does not match: {leaf.schema['description']}"
        return f"{leaf.instance!r} does not have the expected form"
    return message


def _as_list(value: object) -> list:
    return value if isinstance(value, list) else [value]


@dataclass
class Schemas:
    """The deployment schema plus the organisation rules, as read from one snapshot."""

    deployment: _Schema
    rules: list[_Schema]
    key: tuple = ()  # the schema files' (path, bytes): equal keys, equal schemas

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot) -> Schemas:
        """Schemas as a snapshot (working tree or git ref) has them; the bundled deployment
        schema is the fallback when a repository has none of its own."""
        data = snapshot.read(DEPLOYMENT_SCHEMA)
        if data is None:
            data = (BUNDLED / DEPLOYMENT_SCHEMA).read_bytes()
        rule_paths = [p for p in snapshot.list(RULES_DIR) if p.endswith(".schema.json")]
        rule_files = snapshot.read_many(rule_paths)
        rules = [_schema(rule, path) for path, rule in rule_files.items()]
        return cls(
            _schema(data, DEPLOYMENT_SCHEMA),
            rules,
            ((DEPLOYMENT_SCHEMA, data), *sorted(rule_files.items())),
        )


# --- deployments --------------------------------------------------------------------------------


def parse_deployment(
    data: bytes, file: str, schemas: Schemas
) -> tuple[Deployment | None, list[Problem]]:
    """Load and check one deployment file. Returns the deployment when it is schema-valid (it may
    still break organisation rules, reported as problems) and every problem found. Kept by content
    (file, bytes, schemas) for the run: a deploy re-checking many PRs meets each version several
    times (one PR's head is the next one's base). Deployments are not changed after parsing."""
    if not schemas.key:
        return _parse_deployment(data, file, schemas)
    dep, problems = _parse_kept(data, file, _ByKey(schemas))
    return dep, list(problems)


class _ByKey:
    """Schemas compared by their files' contents (`Schemas.key`): equal keys, equal schemas."""

    def __init__(self, schemas: Schemas) -> None:
        self.schemas = schemas

    def __hash__(self) -> int:
        return hash(self.schemas.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _ByKey) and other.schemas.key == self.schemas.key


# a run at 10,000 deployments meets each current version and the ones PRs changed
@functools.lru_cache(maxsize=32768)
def _parse_kept(
    data: bytes, file: str, schemas: _ByKey
) -> tuple[Deployment | None, tuple[Problem, ...]]:
    dep, problems = _parse_deployment(data, file, schemas.schemas)
    return dep, tuple(problems)


def _parse_deployment(
    data: bytes, file: str, schemas: Schemas
) -> tuple[Deployment | None, list[Problem]]:
    try:
        text = yamlload.decode(data, file)
        doc = yamlload.loads(text, file)
    except LoadError as err:
        return None, [Problem.from_load_error(err, "invalid YAML")]
    if not isinstance(doc, dict):
        return None, [Problem(file, "a deployment file must be a YAML mapping", 1, 1)]
    problems = []
    if not schemas.deployment.is_valid(doc):
        problems += _located(schemas.deployment, doc, text, file, "schema")
        return None, problems
    stem = Path(file).name.rsplit(".", 1)[0]
    if doc["name"] != stem:
        line, col = yamlload.line_of(text, ("name",))
        problems.append(
            Problem(
                file, f"name {doc['name']!r} differs from the file name {stem!r}", line, col, "name"
            )
        )
    for rule in schemas.rules:
        if not rule.is_valid(doc):
            problems += _located(rule, doc, text, file, rule.title, rule_message=True)
    return Deployment(file, doc, text), problems


def _located(
    schema: _Schema, doc: object, text: str, file: str, title: str, rule_message: bool = False
) -> list[Problem]:
    problems = []
    for path, message, at_key in schema.errors(doc, text):
        line, col = yamlload.line_of(text, path, at_key)
        if rule_message:
            detail = schema.schema.get("description") or message
            message = f"{schema.title}: {detail}" if detail != schema.title else detail
        problems.append(Problem(file, message, line, col, title))
    return problems


def cross_check(
    deployments: list[Deployment], environment_names: list[str] | None
) -> list[Problem]:
    """Checks that need more than one file: unique names, environments that exist."""
    problems = []
    seen: dict[str, str] = {}
    for dep in deployments:
        if dep.name in seen:
            problems.append(
                Problem(
                    dep.file,
                    f"deployment {dep.name!r} is also defined in {seen[dep.name]}",
                    1,
                    1,
                    "duplicate",
                )
            )
        seen.setdefault(dep.name, dep.file)
        if environment_names is not None:
            for env in dep.environments or ():
                if env not in environment_names:
                    problems.append(
                        Problem(
                            dep.file,
                            f"unknown environment {env!r} (known: {', '.join(environment_names)})",
                            *_env_line(dep, env),
                            "environment",
                        )
                    )
    return problems


def _env_line(dep: Deployment, env: str) -> tuple[int | None, int | None]:
    return yamlload.line_of(dep.text, ("environments", dep.data["environments"].index(env)))


# --- environments and policy --------------------------------------------------------------------


def load_checked(data: bytes, file: str, schema_name: str, empty: str = "the file is empty") -> Any:
    """Load a YAML config file and check it against a bundled schema; raises LoadError
    (``empty``: what to say of an empty file)."""
    text = yamlload.decode(data, file)
    doc = yamlload.loads(text, file)
    if doc is None:
        raise LoadError(file, empty, 1, 1)
    schema = _bundled_schema(schema_name)
    if not schema.is_valid(doc):
        path, message, at_key = schema.errors(doc, text)[0]
        line, col = yamlload.line_of(text, path, at_key)
        raise LoadError(file, message, line, col)
    return doc


@functools.cache
def _bundled_schema(name: str) -> _Schema:
    """One of foureyes' own schemas (the package's files, which do not change while it runs)."""
    return _Schema.from_bytes((BUNDLED / "policies" / name).read_bytes(), name)


@dataclass(frozen=True)
class Environment:
    name: str
    branch: str
    target: dict
    protected: bool = True
    protection: dict = field(default_factory=dict)

    def matches_branch(self, branch: str) -> bool:
        return re.fullmatch(re.escape(self.branch).replace(r"\*", "[^/]*"), branch) is not None


def parse_environments(data: bytes, file: str = ENVIRONMENTS_FILE) -> list[Environment]:
    return list(_parse_environments(data, file))


@by_content
def _parse_environments(data: bytes, file: str) -> tuple[Environment, ...]:
    doc = load_checked(data, file, "environments.schema.json")
    envs = [Environment(**{k: v for k, v in e.items()}) for e in doc["environments"]]
    names = [e.name for e in envs]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise LoadError(file, f"environment {sorted(dupes)[0]!r} is listed twice")
    return tuple(envs)


@dataclass(frozen=True)
class LevelRule:
    approvals: int
    review_timeout: int | None  # seconds
    on_timeout: str
    escalate_to: tuple[str, ...]


_UNITS = {"m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    return int(text[:-1]) * _UNITS[text[-1]]


@dataclass(frozen=True)
class Policy:
    approver_users: frozenset[str]  # lower-case logins, for people to read and to ask for reviews
    approver_teams: tuple[str, ...]  # "org/slug"
    approver_ids: dict  # lower-case login -> the account id it is pinned to: what counts (pins.py)
    levels: dict
    require_approval_for: frozenset[str]
    governance_level: str
    governance_paths: tuple[str, ...]
    require_reason: bool
    block_unattributed: bool
    source: str = POLICY_FILE
    notifications: tuple = ()
    ungoverned: tuple[str, ...] = ()  # globs (changes.glob_match) of paths that are not governance
    # `promotion:` per environment: the fewest approvals a PR into its branch needs, or None: off
    promotion: dict = field(default_factory=dict)

    def promotion_on(self, environment: str) -> bool:
        """On unless the policy says `<environment>: false` (deny by default)."""
        return self.promotion.get(environment, 0) is not None

    def promotion_approvals(self, environment: str) -> int:
        return self.promotion.get(environment) or 0

    def rule(self, level: str) -> LevelRule:
        return self.levels[level]

    def describe_approvers(self) -> str:
        names = [f"@{u}" for u in sorted(self.approver_users)] + [
            f"@{t}" for t in self.approver_teams
        ]
        return ", ".join(names) if names else "(nobody)"

    def is_governance_path(self, path: str) -> bool:
        for gp in self.governance_paths:
            if gp.endswith("/") and path.startswith(gp):
                return True
            if path == gp or (path.endswith("/" + gp) and "/" not in gp):
                return True
        return False


@by_content
def parse_policy(data: bytes, file: str = POLICY_FILE) -> Policy:
    doc = load_checked(data, file, "approval.schema.json")
    approvers = doc["approvers"]
    pinned = pinned_users(approvers.get("users", []), file, data, ("approvers", "users"))
    users = frozenset(pinned)
    teams = tuple(t[1:].lower() for t in approvers.get("teams", []))
    if not users and not teams:
        raise LoadError(
            file, "approvers: list at least one user or team, or nobody can ever approve", 1, 1
        )
    levels = {
        name: LevelRule(
            approvals=rule["approvals"],
            review_timeout=parse_duration(rule["review_timeout"])
            if "review_timeout" in rule
            else None,
            on_timeout=rule.get("on_timeout", "remind"),
            escalate_to=tuple(rule.get("escalate_to", ())),
        )
        for name, rule in doc["levels"].items()
    }
    governance = doc.get("governance", {})
    return Policy(
        approver_users=users,
        approver_teams=teams,
        approver_ids=pinned,
        levels=levels,
        require_approval_for=frozenset(
            named_events(doc.get("require_approval_for", DEPLOYMENT_EVENTS))
        ),
        governance_level=governance.get("level", "critical"),
        governance_paths=tuple(
            governance.get(
                "paths", ["policies/", ".github/", "action/", "CODEOWNERS", ENVIRONMENTS_FILE]
            )
        ),
        require_reason=doc.get("require_reason", True),
        block_unattributed=doc.get("unattributed_commits", "block") == "block",
        source=file,
        notifications=tuple(doc.get("notifications", ())),
        ungoverned=tuple(governance.get("ungoverned", ())),
        promotion={
            env: (None if rule is False else rule["approvals"])
            for env, rule in doc.get("promotion", {}).items()
        },
    )
