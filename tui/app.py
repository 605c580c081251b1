"""The Textual app: a thin shell that loads data off the first frame and holds the modes.

Build it with `make_app(home=..., content_dir=...)`; tests point both at fixtures.
"""

from __future__ import annotations

import importlib
import random
from dataclasses import dataclass
from pathlib import Path

from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.message import Message

from pathway.errors import PathwayError
from pathway.i18n import N_, _, ngettext, set_language
from pathway.tui import cjk_wrap
from pathway.tui.modes import MODES as APP_MODES
from pathway.tui.study_clock import StudyClock
from pathway.tui.palette import LessonCommands, ModeCommands, QuestionCommands
from pathway.tui.screens.home import HomeScreen


def lazy_screen(path: str):
    """A factory that imports a screen's module ("module:Class") on first use, keeping it off the first frame."""
    module, name = path.split(":")

    def build():
        return getattr(importlib.import_module(module), name)()

    return build


@dataclass
class Data:
    """What the screens read: the database engine and the loaded course."""

    home: Path
    engine: object  # sqlalchemy Engine; typed loosely to keep SQLAlchemy off the import path
    course: object  # pathway.content.loader.Course
    read_only: str | None = None  # why the database cannot be written; None when it can


cjk_wrap.install()  # Chinese lessons and labels wrap between characters, not only at spaces


class PathwayApp(App):
    TITLE = "pathway"
    CSS_PATH = "pathway.tcss"
    COMMANDS = App.COMMANDS | {LessonCommands, QuestionCommands, ModeCommands}
    MODES = {mode.id: HomeScreen if mode.id == "home" else lazy_screen(mode.screen) for mode in APP_MODES}
    BINDINGS = [
        *(Binding(mode.key, f"mode('{mode.id}')", mode.title, show=False) for mode in APP_MODES),
        Binding("f1,question_mark", "help", N_("Help")),
        Binding("ctrl+t", "change_theme", N_("Theme"), show=False),
        Binding("ctrl+l", "toggle_language", "中/EN", show=False),
        Binding("ctrl+q", "quit", N_("Quit"), show=False, priority=True),
    ]

    class DataReady(Message):
        """Posted once the database is open and the course is loaded."""

    @dataclass
    class ProgressGlanced(Message):
        """Posted before DataReady when the progress could be read cheaply (db.glance): Home draws it early."""

        course: object  # pathway.content.loader.Course
        glance: object  # pathway.db.glance.ProgressGlance

    def __init__(self, home: str | Path | None = None, content_dir: str | Path | None = None) -> None:
        super().__init__()
        self.home_option = home
        self.content_dir = Path(content_dir) if content_dir else None
        self.data: Data | None = None
        self.choice_rng = random.Random()  # the order of a question's choices; tests seed it
        self.study_clock = StudyClock()

    def on_mount(self) -> None:
        self.set_interval(60, self.save_study_time)
        self.switch_mode("home")
        # Start loading once the first frame is drawn: the loader's imports would compete for the GIL.
        self.call_after_refresh(self.load_data)

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def load_data(self) -> None:
        # Imported here so that SQLAlchemy, Alembic and pydantic load after the first frame.
        from pathway.content.cache import load_course_cached
        from pathway.db.glance import progress_glance
        from pathway.home import cache_dir, resolve_home

        try:
            home = resolve_home(self.home_option)
            course = load_course_cached(self.content_dir, cache_dir(home))
            glance = progress_glance(home)  # stdlib sqlite3: Home shows progress before SQLAlchemy loads
            if glance is not None:
                self.call_from_thread(self._progress_glanced, course, glance)
            from pathway.db import progress
            from pathway.db.engine import open_database, read_only_reason

            # A database that cannot be written still opens: lessons and runs can be read, nothing is saved.
            engine = open_database(home, allow_read_only=True)
            read_only = read_only_reason(home)
            learner = progress.get_learner(engine)
            from pathway.labs.engine import jobs

            if read_only is None:
                jobs.reconcile(engine)  # runs whose runner died while the app was closed -> interrupted
        except PathwayError as exc:
            self.call_from_thread(self.show_fatal, exc.message)
            return
        data = Data(home=home, engine=engine, course=course, read_only=read_only)
        self.call_from_thread(self._data_loaded, data, learner.theme, learner.language)

    def _progress_glanced(self, course, glance) -> None:
        self.show_language(glance.language)
        for screen in self.screen_stack:
            screen.post_message(self.ProgressGlanced(course, glance))

    def _data_loaded(self, data: Data, theme: str, language: str) -> None:
        self.data = data
        self.show_language(language)
        if theme in self.available_themes:
            self.theme = theme
        if data.course.problems:
            self.announce_content_problems(data.course)
        if data.read_only:
            self.notify(
                _("{reason}\nMeanwhile lessons and lab runs can be read; Quiz stays closed. Restart pathway once it is fixed.").format(
                    reason=data.read_only
                ),
                title=_("Read-only: progress is not saved"),
                severity="warning",
                timeout=20,
            )
        for screen in self.screen_stack:
            screen.post_message(self.DataReady())

    def write_failed(self, what: str, error: PathwayError, *, asked: bool = True) -> None:
        """Say that a write was refused (read-only database, full disk, a long lock); the app carries on.

        `asked` is False for writes the learner did not ask for (recording a lesson as opened):
        on a database known to be read-only the start notice has said so already.
        """
        if self.data is not None and self.data.read_only:
            if not asked:
                return
            self.notify(_("{what} was not saved: the progress database is read-only.").format(what=what), title=_("Not saved"), severity="warning", timeout=4)
        else:
            self.notify(_("{what} was not saved. {reason}").format(what=what, reason=error.message), title=_("Not saved"), severity="error", timeout=10)

    def check_command(self) -> str:
        """The checker command that counts problems the way the toast does, with the content folder in use."""
        import shlex

        where = f" --content-dir {shlex.quote(str(self.content_dir))}" if self.content_dir else ""
        return f"pathway{where} content check --fast"

    @work(thread=True, exclusive=True, exit_on_error=False, group="content-check")
    def announce_content_problems(self, course) -> None:
        """Count problems as `pathway content check --fast` does (the loader's, then the bank's), then say so.

        The bank rules run numeric derivations in a child process, so this takes seconds: it runs
        off the UI thread, and only when the loader already found something wrong.
        """
        from pathway.content.bank_checks import check_bank

        try:
            problems = list(course.problems) + check_bank(course, run_code=False).errors
        except Exception:  # the bank checks failing must not hide what the loader found
            problems = list(course.problems)
        self.call_from_thread(self.notify_content_problems, problems)

    def notify_content_problems(self, problems: list) -> None:
        from textual.markup import escape

        listing = "\n".join(f"• {escape(str(p))}" for p in problems[:3])  # "[field]" is not markup
        more = "\n" + _("…and {n} more").format(n=len(problems) - 3) if len(problems) > 3 else ""
        found = ngettext("{n} content problem", "{n} content problems", len(problems)).format(n=len(problems))
        self.notify(
            _("{found}; what could not be read was skipped, the rest loaded:").format(found=found)
            + f"\n{listing}{more}\n"
            + _("Run `{command}` for the full list.").format(command=escape(self.check_command())),
            title=_("Content skipped"),
            severity="warning",
            timeout=15,
        )

    def show_fatal(self, message: str) -> None:
        from pathway.tui.screens.error import ErrorScreen

        self.push_screen(ErrorScreen(message))

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown, events.MouseScrollDown, events.MouseScrollUp)) and not event.is_forwarded:
            self.study_clock.touch(self.current_mode or "home")
        await super().on_event(event)

    def save_study_time(self) -> None:
        """Log the measured study time (every minute and on quit); lost quietly when the database cannot be written."""
        if self.data is None:
            return
        from pathway.db import progress
        from pathway.db.failures import DatabaseWriteError
        from pathway.pace import STUDY_TIME

        for mode, seconds in self.study_clock.take().items():
            try:
                progress.log_activity(self.data.engine, STUDY_TIME, mode, seconds=round(seconds, 1))
            except DatabaseWriteError:
                return  # read-only: the app already said so once

    def on_unmount(self) -> None:
        self.save_study_time()

    def watch_theme(self, theme: str) -> None:
        if self.data is not None:
            from pathway.db import progress
            from pathway.db.failures import DatabaseWriteError

            try:
                progress.update_learner(self.data.engine, theme=theme)
            except DatabaseWriteError as exc:
                if self.data.read_only is None:  # read-only: the theme simply lasts this session
                    self.write_failed(_("The theme"), exc)

    def action_mode(self, mode: str) -> None:
        if self.data is None:
            self.notify(_("Still loading your progress…"), timeout=2)
            return
        if mode == "quiz" and self.quiz_refused():
            return
        self.switch_mode(mode)

    def quiz_refused(self) -> bool:
        """Quiz is closed on a read-only database: every answer would be lost."""
        if self.data is None or self.data.read_only is None:
            return False
        self.notify(
            _("Quiz is closed because your answers could not be saved. {reason}").format(reason=self.data.read_only),
            title=_("Read-only: Quiz closed"),
            severity="warning",
            timeout=12,
        )
        return True

    def action_toggle_language(self) -> None:
        if self.data is None:
            return
        from pathway.db import progress
        from pathway.db.failures import DatabaseWriteError

        language = "zh" if progress.get_learner(self.data.engine).language == "en" else "en"
        try:
            progress.update_learner(self.data.engine, language=language)
        except DatabaseWriteError as exc:  # the screens read the language from the database
            self.write_failed(_("The language change"), exc)
            return
        self.show_language(language)
        self.notify("语言：中文" if language == "zh" else "Language: English", timeout=3)

    def show_language(self, language: str) -> None:
        """Draw the interface in `language`: the screens on view redraw in place, the others when they come back."""
        from pathway.i18n import current_language

        if language == current_language():
            return
        set_language(language)
        for screen in self.screen_stack:  # a modal (Help) and the screen under it
            redraw = getattr(screen, "redraw_language", None)
            if redraw is not None:
                redraw()

    def action_help(self) -> None:
        from pathway.tui.screens.help import HelpScreen, help_markdown

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(help_markdown(self.screen)))  # the keys of the screen it was opened over

    def open_lesson(self, lesson_id: str) -> None:
        """Jump to a lesson in Learn mode (from Home, the palette or anywhere)."""
        if self.data is None:
            return
        self.switch_mode("learn")
        self.screen.open_lesson(lesson_id)


    def open_question(self, question_id: str) -> None:
        """Answer one question in Quiz mode (from the palette): in Drill, so the answer moves its schedule."""
        self.practise([question_id], mode="drill")

    def practise(self, question_ids: list[str], mode: str = "drill") -> None:
        """Drill these questions in Quiz mode (e.g. a lesson's check-yourself set)."""
        if self.data is None or self.quiz_refused():
            return
        came_from = self.current_mode  # the session returns there when it ends
        self.switch_mode("quiz")
        self.screen.practise(question_ids, mode, back_to=came_from)


def make_app(home: str | Path | None = None, content_dir: str | Path | None = None) -> PathwayApp:
    return PathwayApp(home=home, content_dir=content_dir)
