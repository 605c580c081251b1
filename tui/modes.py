"""The app's five modes, in tab order: what the tabs, the function keys and the palette all list."""

from __future__ import annotations

from typing import NamedTuple

from pathway.i18n import N_


class Mode(NamedTuple):
    id: str  # Textual mode name, also `action_mode`'s argument
    title: str  # marked for the catalog; `_()` where it is drawn
    key: str  # the function key that opens it
    screen: str  # "module:Class", imported when the mode first opens (Home is drawn at start)


MODES: tuple[Mode, ...] = (
    Mode("home", N_("Home"), "f2", "pathway.tui.screens.home:HomeScreen"),
    Mode("learn", N_("Learn"), "f3", "pathway.tui.screens.learn:LearnScreen"),
    Mode("quiz", N_("Quiz"), "f4", "pathway.tui.quiz.screen:QuizScreen"),
    Mode("labs", N_("Labs"), "f5", "pathway.tui.screens.labs:LabsScreen"),
    Mode("progress", N_("Progress"), "f6", "pathway.tui.screens.progress:ProgressScreen"),
)
