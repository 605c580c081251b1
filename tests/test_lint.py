"""Ruff, run by the test command: pyflakes' errors and the architecture's banned imports (pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise", str(REPO)],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_boundary_rules_fire(tmp_path):
    """The rules are live: a torch import in tui/ and a Textual import in db/ are both reported."""
    probes = {REPO / "tui" / "_lint_probe.py": "import torch\n", REPO / "db" / "_lint_probe.py": "import textual\n"}
    try:
        for path, text in probes.items():
            path.write_text(text)
        result = subprocess.run([sys.executable, "-m", "ruff", "check", "--select", "TID251", "--output-format", "concise",
                                 *map(str, probes)], capture_output=True, text=True, cwd=REPO)
    finally:
        for path in probes:
            path.unlink(missing_ok=True)
    assert "tui/_lint_probe.py:1:8: TID251 `torch` is banned" in result.stdout
    assert "db/_lint_probe.py:1:8: TID251 `textual` is banned" in result.stdout
