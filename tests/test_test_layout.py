"""No test module imports another test module (or conftest.py): what tests share lives in
tests/support/ (or tests/e2e/ modules that are not tests), fixtures in conftest.py. Importing a test
module runs it twice under two names, drags its fixtures into the importer (ruff's F811), and
makes one module's tests depend on another's helpers."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
# a line of Python inside a string (a script a test runs in a subprocess) importing a test module
IMPORT_IN_TEXT = re.compile(r"^\s*(?:from|import)\s+(\.*[\w.]+)", re.M)


def is_test_module(name: str) -> bool:
    """Whether the last part of a dotted module name is a test module or a conftest, as pytest
    collects them (test_*.py, *_test.py)."""
    last = name.rsplit(".", 1)[-1]
    return last.startswith("test_") or last.endswith("_test") or last == "conftest"


def imported(node: ast.AST) -> list[str]:
    """The modules an import statement may load: for `from a import b`, a and a.b (b may be a
    module); relative names keep their dots."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        module = "." * node.level + (node.module or "")
        sep = "" if module.endswith(".") or not module else "."
        return [module] + [f"{module}{sep}{alias.name}" for alias in node.names]
    return []


def imports_of_test_modules(root: Path, skip: Path | None = None) -> list[str]:
    """Each import of a test module under ``root`` (but ``skip``): "file:line: module"."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if path == skip:
            continue
        rel = path.relative_to(root)
        tree = ast.parse(path.read_text("utf-8"), str(path))
        for node in ast.walk(tree):
            names = imported(node)
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                names = IMPORT_IN_TEXT.findall(node.value)
            found += [f"{rel}:{node.lineno}: {n}" for n in names if is_test_module(n)]
    return found


def test_no_test_module_imports_another_test_module():
    # this module is skipped: its own cases below are imports of test modules, written as strings
    found = imports_of_test_modules(TESTS, skip=Path(__file__))
    assert found == [], "move what is shared to tests/support/ or conftest.py"


@pytest.mark.parametrize(
    "line",
    [
        "from test_deploy import merge_pr",
        "import test_deploy",
        "import test_deploy as t",
        "from tests.test_deploy import merge_pr",
        "from tests import test_deploy",
        "from .test_gate import open_change",
        "from . import test_gate",
        "from conftest import Repo",
        "def f():\n    from test_deploy import FACTS",
        'SCRIPT = """\nimport sys\nimport test_faults_local as t\n"""',
    ],
)
def test_every_way_of_importing_a_test_module_is_found(tmp_path, line):
    (tmp_path / "test_here.py").write_text(f"{line}\n")
    assert len(imports_of_test_modules(tmp_path)) == 1, line


def test_imports_of_support_and_of_the_package_are_not_imports_of_test_modules(tmp_path):
    (tmp_path / "test_here.py").write_text(
        "import pytest\nfrom support.ledger import merge_pr\nfrom .steps import open_change\n"
        "from foureyes.deploy import reconcile\nfrom . import harness\n"
        'SCRIPT = "from support.faults import Faults"\n'
    )
    assert imports_of_test_modules(tmp_path) == []
