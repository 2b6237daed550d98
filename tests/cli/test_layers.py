"""The command layer's shape, read from the source: a command in cli/ writes nothing itself (every
text goes through report/, whose stream guard escapes it in Actions), and a use case in app/ neither
parses, writes nor exits. A print in the wrong layer would bypass the one place output is escaped
and worded."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import foureyes

PACKAGE = Path(foureyes.__file__).parent
WRITES = {"echo", "secho", "print", "stdout", "stderr"}


def calls_and_names(path: Path) -> list[tuple[int, str]]:
    """(line, name) of every attribute or name a module uses, and every module it imports."""
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Attribute):
            found.append((node.lineno, node.attr))
        elif isinstance(node, ast.Name):
            found.append((node.lineno, node.id))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, "import " + a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, "import " + node.module))
    return found


def modules(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).glob("*.py"))


@pytest.mark.parametrize("path", modules("cli"), ids=lambda p: p.name)
def test_a_command_writes_only_through_report(path):
    wrote = [
        f"{path.name}:{line}: {name}" for line, name in calls_and_names(path) if name in WRITES
    ]
    assert wrote == []


@pytest.mark.parametrize("path", modules("app"), ids=lambda p: p.name)
def test_a_use_case_neither_parses_writes_nor_exits(path):
    banned = WRITES | {"exit", "import click", "import sys"}
    found = [
        f"{path.name}:{line}: {name}" for line, name in calls_and_names(path) if name in banned
    ]
    assert found == []
