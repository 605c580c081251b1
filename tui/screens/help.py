"""F1 / ?: what pathway is, how to close this, and every key that works where Help was opened.

The key lists are generated from the live bindings (the app's, then the screen's and its focused
widget's), so Help cannot drift from what the keys really do.
"""

from __future__ import annotations

import re

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Markdown

from pathway.tui.widgets.footer import FittedFooter

CLOSE_KEYS = "escape,q,f1,question_mark"

INTRO = """\
# pathway — help

From big-data engineer to AI/LLM engineer in 24 weeks: read lessons, drill interview
questions, and run PyTorch labs that train in the background while you watch.

**Esc** (or q, F1, ?) closes this help and goes back to where you were.
"""

OUTRO = """
Arrow keys, Enter, Tab and the mouse move around and open things on every screen.
Progress is saved the moment it happens, in one SQLite file under your pathway home
(`pathway --home DIR` or `PATHWAY_HOME` move it). Headless commands: `pathway --help`.
"""


# Longer words for the app-wide actions, whose footer descriptions are kept short.
GLOBAL_WORDS = {
    "help": "this help",
    "command_palette": "command palette: jump to any lesson, question or mode",
    "change_theme": "pick a theme (remembered)",
    "toggle_language": "lessons and questions in English / 中文 (remembered)",
    "quit": "quit pathway",
}


# Words for actions that other screens bind without a description (their footer hides them).
ACTION_WORDS = {"number": "choose that answer", "cursor": "move the highlight"}


def screen_title(screen: Screen) -> str:
    """"Learn" for the Learn mode, "Run View" for RunViewScreen: how Help names where it was opened."""
    name = type(screen).__name__.removesuffix("Screen")
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name) or "this screen"


def describe(binding: Binding, is_app: bool) -> str:
    """What the binding does, in words: its tooltip, else its description, else its action's name."""
    action = binding.action.split("(")[0].split(".")[-1]
    if is_app and action in GLOBAL_WORDS:
        return GLOBAL_WORDS[action]
    if is_app and action == "mode":
        return f"go to {binding.description}"
    return binding.tooltip or binding.description or ACTION_WORDS.get(action, action.replace("_", " "))


def pathway_actions(node) -> set[str]:
    """Actions bound in the BINDINGS of pathway's own classes in the node's ancestry (not Textual's)."""
    return {
        binding.action
        for cls in type(node).__mro__
        if cls.__module__.startswith("pathway.")
        for binding in cls.__dict__.get("BINDINGS", [])
        if isinstance(binding, Binding)
    }


def key_rows(screen: Screen) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(global rows, this screen's rows): (keys, what they do), one row per action, from the live bindings.

    Bindings of Textual's own widgets (tree cursor, scrolling) are left to the outro line; the
    screen's bindings and those of pathway's widgets on it are listed.
    """
    app = screen.app
    groups: dict[tuple[int, str], tuple[list[str], Binding, bool]] = {}
    own: dict[int, set[str]] = {}
    for key, (node, binding, _enabled, _tooltip) in screen.active_bindings.items():
        if binding.system:
            continue
        is_app = node is app
        if not is_app and binding.action not in own.setdefault(id(node), pathway_actions(node)):
            continue
        # Undescribed bindings of one action family (`number(1)` … `number(5)`) share a row.
        family = binding.action if binding.description else binding.action.split("(")[0]
        keys, first, _ = groups.setdefault((id(node), family), ([], binding, is_app))
        display = app.get_key_display(Binding(key, binding.action, key_display=binding.key_display if len(binding.key.split(",")) == 1 else None))
        if display not in keys:
            keys.append(display)
    global_rows, screen_rows = [], []
    for keys, binding, is_app in groups.values():
        row = (" ".join(keys), describe(binding, is_app))
        (global_rows if is_app else screen_rows).append(row)
    return global_rows, screen_rows


def key_list(title: str, rows: list[tuple[str, str]]) -> str:
    """A heading and one line per key: a list stays compact where a Markdown table draws a rule per row."""
    if not rows:
        return ""
    return f"## {title}\n\n" + "\n".join(f"- `{keys}`  {what}" for keys, what in rows) + "\n"


def help_markdown(screen: Screen) -> str:
    """The whole help text for Help opened over `screen`."""
    global_rows, screen_rows = key_rows(screen)
    name = screen_title(screen)
    return "\n".join(part for part in (INTRO, key_list(f"On {name}", screen_rows), key_list("Everywhere", global_rows), OUTRO) if part)


class HelpScreen(ModalScreen):
    BINDINGS = [Binding(CLOSE_KEYS, "dismiss", "Close help")]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Markdown(self.text)
        yield FittedFooter()
