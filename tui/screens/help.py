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

from pathway.i18n import N_, _
from pathway.tui.widgets.footer import FittedFooter

CLOSE_KEYS = "escape,q,f1,question_mark"

INTRO = N_("""\
# pathway — help

From big-data engineer to AI/LLM engineer in 24 weeks: read lessons, drill interview
questions, and run PyTorch labs that train in the background while you watch.

**Esc** (or q, F1, ?) closes this help and goes back to where you were.
""")

OUTRO = N_("""
Arrow keys, Enter, Tab and the mouse move around and open things on every screen.
Progress is saved the moment it happens, in one SQLite file under your pathway home
(`pathway --home DIR` or `PATHWAY_HOME` move it). Headless commands: `pathway --help`.
""")


# Longer words for the app-wide actions, whose footer descriptions are kept short.
GLOBAL_WORDS = {
    "help": N_("this help"),
    "command_palette": N_("command palette: jump to any lesson, question or mode"),
    "change_theme": N_("pick a theme (remembered)"),
    "toggle_language": N_("the interface, lessons and questions in English / 中文 (remembered)"),
    "quit": N_("quit pathway"),
}


# Words for actions that other screens bind without a description (their footer hides them).
ACTION_WORDS = {"number": N_("choose that answer"), "cursor": N_("move the highlight")}


# How Help names the screens that are not modes (the modes are named by their tab titles).
SCREEN_NAMES = {"Run": N_("Run"), "Lab Settings": N_("Lab Settings"), "Confirm": N_("Confirm"), "Pick": N_("Pick"), "Error": N_("Error")}


def screen_title(screen: Screen) -> str:
    """"Learn" for the Learn mode, "Lab Settings" for LabSettingsScreen: how Help names where it was opened."""
    from pathway.tui.modes import MODES

    mode = getattr(screen, "MODE", None)
    if mode is not None:
        return _(next(m.title for m in MODES if m.id == mode))
    name = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", type(screen).__name__.removesuffix("Screen"))
    return _(SCREEN_NAMES[name]) if name in SCREEN_NAMES else name or _("this screen")


def describe(binding: Binding, is_app: bool) -> str:
    """What the binding does, in words: its tooltip, else its description, else its action's name."""
    action = binding.action.split("(")[0].split(".")[-1]
    if is_app and action in GLOBAL_WORDS:
        return _(GLOBAL_WORDS[action])
    if is_app and action == "mode":
        return _("go to {mode}").format(mode=_(binding.description))
    words = binding.tooltip or binding.description or ACTION_WORDS.get(action)
    return _(words) if words else action.replace("_", " ")


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
        keys, _first, _was_app = groups.setdefault((id(node), family), ([], binding, is_app))
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
    parts = (_(INTRO), key_list(_("On {screen}").format(screen=name), screen_rows), key_list(_("Everywhere"), global_rows), _(OUTRO))
    return "\n".join(part for part in parts if part)


class HelpScreen(ModalScreen):
    BINDINGS = [Binding(CLOSE_KEYS, "dismiss", N_("Close help"))]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def redraw_language(self) -> None:
        """Ctrl+L over Help: the text of the screen below, in the new language."""
        below = self.app.screen_stack[-2] if len(self.app.screen_stack) > 1 else None
        if below is not None:
            self.text = help_markdown(below)
        self.query_one(Markdown).update(self.text)
        self.query_one(FittedFooter).refresh(recompose=True)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Markdown(self.text)
        yield FittedFooter()
