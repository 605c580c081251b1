"""The architecture's boundaries: the TUI stays light, the library never imports Textual."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parent.parent


def test_building_and_loading_the_app_imports_no_torch(home: Path, content_dir: Path) -> None:
    code = f"""
import asyncio, sys
from pathway.tui.app import make_app

async def main():
    app = make_app(home={str(home)!r}, content_dir={str(content_dir)!r})
    async with app.run_test() as pilot:
        while app.data is None:
            await pilot.pause(0.05)
        for mode in ("learn", "quiz", "labs", "progress", "home"):
            app.action_mode(mode)
            await pilot.pause(0.2)

asyncio.run(main())
heavy = sorted(m for m in ("torch", "transformers", "sklearn") if m in sys.modules)
print("heavy:", heavy)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "heavy: []" in result.stdout


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", ["db", "content", "labs", "quiz", "cli"])
def test_library_packages_do_not_import_textual(package: str) -> None:
    offenders = [str(p.relative_to(REPO)) for p in (REPO / package).rglob("*.py") if "textual" in imports_of(p)]
    assert offenders == []


def test_tui_never_imports_torch_or_transformers() -> None:
    offenders = [
        str(p.relative_to(REPO))
        for p in (REPO / "tui").rglob("*.py")
        if imports_of(p) & {"torch", "transformers"}
    ]
    assert offenders == []
