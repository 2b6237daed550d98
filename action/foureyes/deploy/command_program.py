"""What a `command` target runs, and whether a commit may decide it.

The program runs with the credentials of the deploy job. When it is a file of the repository, a
push that edits it changes what every later deploy does: such a file must live under a governed
folder (`policies/` or `registry/`, not a deployment file), whose every change needs an approved PR
and is traced by the deploy's provenance check. Deny by default, the same holds for an argument
naming a repository file or folder (`[python3, deploy.py]`: the script is the program).

A bare name found on PATH, or an absolute path outside the checkout, is the runner's program, not
the commit's, and is allowed. The PATH lookup is done here as the child does it (relative PATH
entries, `.` or an empty one, resolve against its working folder, the checkout), so a name that
lands in the checkout is judged as a repository file; what is checked is what runs (`executable`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from ..judging.changes import is_deployment_path
from ..registry.model import STATE_PATHS

HINT = (
    "move it under policies/ (e.g. policies/hooks/), where every change needs an approved PR, "
    "or name a program installed on the runner (a bare name on PATH or an absolute path outside "
    "the checkout)"
)


def argv_of(settings: dict) -> list[str]:
    """The command as a list of arguments (one string is the program alone)."""
    command = settings.get("command")
    if isinstance(command, str):
        return [command]
    return [str(a) for a in command] if isinstance(command, list) else []


def governed(rel: str) -> bool:
    """A repository path whose changes need an approved PR: under a governed folder, not a
    deployment file (those are judged at their own importance, not as governance)."""
    return rel.startswith(STATE_PATHS) and not is_deployment_path(rel)


def inside(path: str, root: Path) -> list[str]:
    """The repository-relative views of ``path`` (relative to the checkout, or absolute) that lie
    inside it: as written, and after symlinks; none when it is outside."""
    full = path if os.path.isabs(path) else os.path.join(root, path)
    top = os.path.normpath(os.path.abspath(root))
    views = []
    for candidate, base in (
        (os.path.normpath(os.path.abspath(full)), top),
        (os.path.realpath(full), os.path.realpath(top)),
    ):
        rel = os.path.relpath(candidate, base)
        if rel != ".." and not rel.startswith(".." + os.sep):
            views.append(Path(rel).as_posix())
    return views


def resolve(program: str, root: Path, environ: Mapping[str, str] | None = None) -> str | None:
    """The file the child executes for ``program``: a path is taken relative to the checkout (its
    working folder); a bare name is looked up on PATH in order, the first executable file winning
    (Python docs, "subprocess": the child searches the PATH of the environment it is given). None
    when nothing is found (the run then fails to start)."""
    if os.sep in program or (os.altsep and os.altsep in program):
        return os.path.normpath(os.path.join(root, program))
    for folder in os.get_exec_path(environ):
        candidate = os.path.normpath(os.path.join(root, folder, program))
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def problems(settings: dict, root: Path | None) -> list[tuple[tuple, str]]:
    """(path inside `target:`, message) for each argument of the command the commit would decide:
    the program, or an argument naming something in the checkout, outside the governed folders."""
    argv = argv_of(settings)
    if not argv:
        return []
    listed = isinstance(settings.get("command"), list)
    found = []
    program = argv[0]
    if root is None:  # no checkout to look in: only what the text itself says
        rel = os.path.normpath(program)
        is_path = os.sep in program
        views = [Path(rel).as_posix()] if is_path and not rel.startswith(("..", os.sep)) else []
    else:
        resolved = resolve(program, root)
        views = inside(resolved, root) if resolved else []
    bad = next((v for v in views if not governed(v)), None)
    if bad is not None:
        shown = repr(program) if os.sep in program else f"{program!r} (PATH finds {bad})"
        found.append(
            (
                ("command", 0) if listed else ("command",),
                f"the program {shown} is in the repository outside policies/ and registry/, so "
                f"a push could change what the deploy runs without approval: {HINT}",
            )
        )
    if root is None:
        return found
    for i, arg in enumerate(argv[1:], 1):
        for named in _paths_named(arg, argv[i - 1]):
            full = named if os.path.isabs(named) else os.path.join(root, named)
            if not os.path.lexists(full):
                continue
            bad = next((v for v in inside(named, root) if not governed(v)), None)
            if bad is not None:
                found.append(
                    (
                        ("command", i),
                        f"the argument {arg!r} names {bad} in the repository, outside policies/ "
                        f"and registry/: what the program reads from there, a push could change "
                        f"without approval; {HINT}",
                    )
                )
                break
    return found


# what separates the words of an inline script (`bash -c ". scripts/x.sh"`, `python3 -c ...`)
_WORDS = re.compile(r"[\s;|&()<>'\"`=,]+")


def _paths_named(arg: str, previous: str = "") -> list[str]:
    """What an argument may name, deny by default: itself; the value of an `--option=value` or of
    an attached short option (`-cscripts/x`); the module `python -m` runs (`scripts.deploy`:
    scripts/deploy.py or the package scripts/deploy/); and each word of an inline script."""
    names = [arg] if arg else []
    if arg.startswith("-") and "=" in arg:
        names.append(arg.split("=", 1)[1])
    if re.fullmatch(r"-[A-Za-z][^-=].*", arg):
        names.append(arg[2:])
    if previous == "-m" or re.fullmatch(r"-m[\w.]+", arg):
        module = (arg if previous == "-m" else arg[2:]).replace(".", "/")
        names += [module + ".py", module]
    names += [w for w in _WORDS.split(arg) if w and w != arg]
    return list(dict.fromkeys(n for n in names if n))


def repository_files(settings: dict, root: Path) -> list[str]:
    """The governed repository paths the command names (its program, its arguments), each as the
    folder holding it when that folder is below a governed one (registry/hooks/ for
    registry/hooks/deploy.sh: what the program may source next to it), else as the file."""
    argv = argv_of(settings)
    if not argv:
        return []
    named = [resolve(argv[0], root)] + [
        n for i, a in enumerate(argv[1:], 1) for n in _paths_named(a, argv[i - 1])
    ]
    found = []
    for path in named:
        if not path:
            continue
        for view in inside(path, root):
            if not governed(view):
                continue
            parent = view.rsplit("/", 1)[0] + "/" if "/" in view else view
            found.append(parent if parent not in STATE_PATHS else view)
    return sorted(set(found))


def uncommitted(settings: dict, root: Path) -> str | None:
    """Why a repository file the command runs or names is not what the deployed commit holds
    (untracked, ignored, or changed in the checkout), or None. Approval covers commits: a file
    written into the checkout by an earlier step, or edited by hand, was approved by nobody."""
    from .. import repo as gitrepo

    argv = argv_of(settings)
    named = [resolve(argv[0], root)] if argv else []
    named += [n for i, a in enumerate(argv[1:], 1) for n in _paths_named(a, argv[i - 1])]
    files = sorted(
        {
            view
            for path in named
            if path
            for view in inside(path, root)[:1]
            if governed(view) and os.path.isfile(os.path.join(root, view))
        }
    )
    if not files:
        return None
    try:
        status = gitrepo.git(
            root,
            "status",
            "--porcelain=v1",
            "-z",
            "--ignored",
            "--untracked-files=all",
            "--",
            *files,
        )
    except gitrepo.GitError as exc:
        return f"cannot tell whether {files[0]} is as committed: {exc}"
    entries = [e for e in status.decode("utf-8", "replace").split("\0") if e]
    if not entries:
        return None
    code, path = entries[0][:2], entries[0][3:]
    what = {"??": "is not committed", "!!": "is ignored by git, not committed"}.get(
        code, "differs from the commit being deployed"
    )
    return (
        f"{path} {what}: the deploy runs only what an approved commit holds; commit it through a PR"
    )
