"""Handing the terminal to the learner's `$VISUAL` / `$EDITOR` for one scratch file, then taking it back."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

from textual.app import App, SuspendNotSupported

from pathway.i18n import _


def scratch_file(home: Path, name: str, text: str, *, keep_existing: bool = False) -> Path:
    """`<home>/scratch/<name>.py` holding `text` (or what the learner left there, with `keep_existing`)."""
    scratch = home / "scratch"
    scratch.mkdir(exist_ok=True)
    path = scratch / f"{name}.py"
    if not (keep_existing and path.exists()):
        path.write_text(text, encoding="utf-8")
    return path


def edit_in_terminal(app: App, path: Path) -> bool:
    """Suspend the app, run the editor on `path`, resume. False (after telling the learner why) when it could not."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        app.notify(_("Set $EDITOR to edit outside pathway. The code is in {path}").format(path=path), timeout=8)
        return False
    try:
        with app.suspend():
            subprocess.call([*shlex.split(editor), str(path)])
    except SuspendNotSupported:
        app.notify(_("This terminal cannot hand over to an editor. The code is in {path}").format(path=path), timeout=8)
        return False
    except OSError as exc:
        app.notify(_("Could not start {editor!r} ({reason}). The code is in {path}").format(editor=editor, reason=exc.strerror, path=path), severity="warning", timeout=8)
        return False
    return True
