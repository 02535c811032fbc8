"""The dashboard's place in the dependency order (docs/architecture.md): it imports
neither ``api`` nor ``runtime``, and nothing below it imports it (only ``runtime`` does);
every template is autoescaped."""

from __future__ import annotations

import ast
from pathlib import Path

import retailor
from retailor.dashboard.assets import Assets
from retailor.dashboard.rendering import Renderer

SRC = Path(retailor.__file__).parent


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_dashboard_imports_neither_the_api_nor_the_runtime() -> None:
    for path in (SRC / "dashboard").rglob("*.py"):
        for module in _imports(path):
            assert not module.startswith(("retailor.api", "retailor.runtime")), (path, module)


def test_only_the_runtime_imports_the_dashboard() -> None:
    for path in SRC.rglob("*.py"):
        package = path.relative_to(SRC).parts[0]
        if package in ("dashboard", "runtime"):
            continue
        for module in _imports(path):
            assert not module.startswith("retailor.dashboard"), (path, module)


def test_every_template_is_autoescaped() -> None:
    env = Renderer(Assets()).env
    assert env.autoescape is True  # for every template, whatever its name
    for name in env.list_templates():
        text = (SRC / "dashboard" / "templates" / name).read_text()
        assert "|safe" not in text.replace(" ", ""), name
        assert "autoescape false" not in text, name
