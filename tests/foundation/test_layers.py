"""The kernel never depends on the entry points: nothing in services/ imports bot.app, bot.factory or bot.cli,
not even inside a function (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINTS = ("bot.app", "bot.factory", "bot.cli")


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _is_entry_point(module: str) -> bool:
    return any(module == e or module.startswith(e + ".") for e in ENTRY_POINTS)


def test_services_never_import_the_entry_points() -> None:
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sorted((ROOT / "services").rglob("*.py"))
        for line, module in _imports(path)
        if _is_entry_point(module)
    ]
    assert offending == []


def test_the_check_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from bot.app import BotApp\n    import bot.cli.jobs\n")
    assert [m for _l, m in _imports(sample) if _is_entry_point(m)] == ["bot.app", "bot.app.BotApp", "bot.cli.jobs"]
