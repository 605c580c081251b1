"""F1 / ?: what pathway is, and every key."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# pathway — help

From big-data engineer to AI/LLM engineer in 24 weeks: read lessons, drill interview
questions, and run PyTorch labs that train in the background while you watch.

| Everywhere | |
|---|---|
| F2 F3 F4 F5 F6 | Home, Learn, Quiz, Labs, Progress (or click the tabs) |
| Ctrl+P | command palette: jump to any lesson or mode, change theme |
| Ctrl+T | pick a theme (remembered) |
| Ctrl+L | switch lessons and questions between English and 中文 (remembered) |
| F1 or ? | this help |
| q / Esc | back to Home; on Home, quit. Ctrl+Q quits anywhere |

| Home | |
|---|---|
| Enter or c | continue where you left off |
| l r b | Learn, Review (Quiz), Labs |

| Learn | |
|---|---|
| ↑ ↓ Enter | move in the lesson tree, open a lesson |
| c | mark the lesson complete (again: not complete) |
| n / p | next / previous lesson |
| y | copy the lesson's code to the clipboard |
| e | open the lesson's code in $EDITOR (a copy kept in your home) |
| t | hide or show the tree |
| k | check yourself: drill this lesson's questions |

Progress is saved the moment it happens, in one SQLite file under your pathway home
(`pathway --home DIR` or `PATHWAY_HOME` move it). Headless commands: `pathway --help`.
"""


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,f1,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Markdown(HELP)
