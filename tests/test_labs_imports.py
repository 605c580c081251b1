"""The boundary, at run time: everything but the lab programs imports without torch, transformers or Textual.

Ruff's banned-import rules (pyproject.toml) check each file's own imports; this
test catches what they cannot see: a torch-free module that imports one that
is not. The torch-free side is found from the tree, not from a hand-kept list.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def torch_free_modules() -> list[str]:
    """The lab engine, the catalog, every program's spec, and the quiz, db, content and cli packages."""
    paths = [*(REPO / "labs" / "engine").glob("*.py"), REPO / "labs" / "catalog.py", *(REPO / "labs" / "programs").glob("*/spec.py")]
    for package in ("quiz", "db", "content", "cli"):
        paths += (REPO / package).rglob("*.py")
    names = []
    for path in sorted(paths):
        parts = path.relative_to(REPO).with_suffix("").parts
        if "migrations" in parts or parts[-1] == "exercise_harness":  # run by Alembic / in a sandbox, not imported
            continue
        names.append(".".join(("pathway", *(p for p in parts if p != "__init__"))))
    return names


def test_the_tree_finds_the_engine_and_every_spec():
    names = torch_free_modules()
    assert "pathway.labs.engine.runner" in names and "pathway.labs.engine.contract" in names
    assert sum(name.endswith(".spec") for name in names) == len(list((REPO / "labs" / "programs").glob("*/train.py")))


def test_torch_free_side_imports_no_torch_transformers_or_textual():
    code = (
        "import importlib, json, sys\n"
        f"for name in {torch_free_modules()!r}: importlib.import_module(name)\n"
        "from pathway.labs import catalog\n"
        "for lab in catalog.all_labs(): catalog.build_config(lab.id, {}, cuda=False); catalog.build_config(lab.id, {}, cuda=True)\n"
        "heavy = [m for m in ('torch', 'transformers', 'textual') if m in sys.modules]\n"
        "print(json.dumps(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []
