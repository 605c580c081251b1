"""The boundary: what the TUI imports from labs/ never pulls in torch, and nothing in labs/ imports Textual."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

LABS = Path(__file__).resolve().parent.parent / "labs"
# everything the TUI may import; lab modules, torchkit and the runner are for the lab process only
TORCH_FREE = [
    "pathway.labs.jobs", "pathway.labs.catalog", "pathway.labs.gpu", "pathway.labs.curves",
    "pathway.labs.queries", "pathway.labs.records", "pathway.labs.knobs", "pathway.labs.configs",
    "pathway.labs.reporter", "pathway.labs.sampler", "pathway.labs.commands", "pathway.labs.idx",
    "pathway.labs.cifar_data",  # the settings check reads a CIFAR folder with it
]


def test_ui_side_modules_do_not_import_torch():
    code = (
        "import importlib, json, sys\n"
        f"for name in {TORCH_FREE!r}: importlib.import_module(name)\n"
        "from pathway.labs import catalog\n"
        "catalog.build_config('mlp-digits', {'lr': '0.01'}, cuda=False)\n"
        "heavy = [m for m in ('torch', 'transformers', 'textual') if m in sys.modules]\n"
        "print(json.dumps(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_no_textual_import_anywhere_under_labs():
    for path in LABS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n == "textual" or n.startswith("textual.") for n in names), f"{path.name} imports {names}"
