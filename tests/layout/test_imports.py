"""The package's shape: imports flow one way through its layers, and importing a part loads only what it needs."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_module_imports_from_a_later_layer_and_there_is_no_cycle() -> None:
    check = runpy.run_path(str(ROOT / "scripts" / "imports.py"))["check"]
    assert check() == []


def test_importing_the_rules_does_not_load_delivery_or_the_settings() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, smalldata.rules; print(' '.join(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout.split()
    assert "smalldata.rules" in loaded
    assert not [name for name in loaded if name.startswith(("smalldata.delivery", "smalldata.middleware"))]
    assert "smalldata.settings" not in loaded


def test_the_public_names_are_there_when_asked_for() -> None:
    import smalldata

    for name in smalldata.__all__:
        assert getattr(smalldata, name) is not None


def test_the_typed_imports_of_the_package_name_exactly_its_public_names() -> None:
    import ast

    import smalldata

    tree = ast.parse((ROOT / "smalldata" / "__init__.py").read_text())
    typed = {
        node.module: tuple(alias.name for alias in node.names)
        for guard in tree.body if isinstance(guard, ast.If) and ast.unparse(guard.test) == "TYPE_CHECKING"
        for node in guard.body if isinstance(node, ast.ImportFrom)
    }
    assert typed == smalldata.PUBLIC
