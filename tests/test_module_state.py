"""No module keeps state of its own: a container a module starts empty and fills while it runs
(a cache, a registry) is state hidden from its callers, with its own eviction, and two callers can
see different answers. Caches live in the session (`repo.Repo`) or are `functools` memos of pure
functions; module-level tables are constants, written out in full."""

from __future__ import annotations

import ast
from pathlib import Path

import foureyes

PACKAGE = Path(foureyes.__file__).parent
FILLED_LATER = {"dict", "list", "set", "defaultdict", "OrderedDict", "deque", "local"}


def empty_containers(source: str) -> list[tuple[int, str]]:
    """(line, name) of each module-level name bound to an empty container."""
    found = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        empty = (
            (isinstance(value, ast.Dict) and not value.keys)
            or (isinstance(value, ast.List | ast.Set) and not value.elts)
            or (
                isinstance(value, ast.Call)
                and getattr(value.func, "id", getattr(value.func, "attr", "")) in FILLED_LATER
                and not value.args
            )
        )
        if empty:
            found += [(node.lineno, getattr(t, "id", "?")) for t in targets]
    return found


def test_no_module_starts_a_container_it_fills_later():
    found = [
        f"{path.relative_to(PACKAGE)}:{line}: {name}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, name in empty_containers(path.read_text("utf-8"))
    ]
    assert found == []


def test_the_check_sees_each_kind_of_empty_container():
    source = (
        "A = {}\nB: dict[str, int] = {}\nC = []\nD = set()\nE = collections.defaultdict()\n"
        "F = threading.local()\nTABLE = {'a': 1}\n"
    )
    assert [name for _, name in empty_containers(source)] == ["A", "B", "C", "D", "E", "F"]
