"""Learn: the lesson tree and the lesson itself; progress is committed as it happens."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.markup import escape
from textual.widgets import Markdown, Static, Tree

from pathway.i18n import N_, _, ngettext
from pathway.tui.editor import edit_in_terminal, scratch_file
from pathway.tui.screens.base import ModeScreen
from pathway.tui.widgets.lesson_tree import LessonTree

SCROLL_SAVE_SECONDS = 1.0


class LearnScreen(ModeScreen):
    MODE = "learn"
    BINDINGS = [
        Binding("c", "toggle_complete", N_("Done ✓"), tooltip=N_("mark the lesson complete (again: not complete)")),
        Binding("n", "step(1)", N_("Next"), tooltip=N_("next lesson")),
        Binding("p", "step(-1)", N_("Prev"), tooltip=N_("previous lesson")),
        Binding("k", "check_yourself", N_("Check yourself"), tooltip=N_("check yourself: drill this lesson's questions")),
        # Rarer keys: off the footer (it must fit 80 columns), listed in Help (F1).
        Binding("y", "copy_code", N_("Copy code"), show=False, tooltip=N_("copy the lesson's code to the clipboard")),
        Binding("e", "edit_code", N_("Edit code"), show=False, tooltip=N_("open the lesson's code in $EDITOR (a copy kept in your home)")),
        Binding("t", "toggle_tree", N_("Tree"), show=False, tooltip=N_("hide or show the lesson tree")),
        Binding("q,escape", "app.mode('home')", N_("Home"), tooltip=N_("back to Home")),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.lesson_id: str | None = None
        self._pending: str | None = None
        self._saved_scroll = 0.0
        self._shown_language: str | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_tabs()
        with Horizontal(id="learn-body"):
            yield LessonTree(id="lesson-tree")
            with VerticalScroll(id="lesson-scroll"):
                yield Static("", id="lesson-header")
                yield Markdown("", id="lesson")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self._scroll = self.query_one("#lesson-scroll", VerticalScroll)
        self.build_tree()
        self.query_one(LessonTree).focus()
        self.set_interval(SCROLL_SAVE_SECONDS, self.save_scroll)
        target = self._pending or self.last_lesson_id()
        if target:
            self.call_after_refresh(self.open_lesson, target)

    def language_changed(self) -> None:
        """The same lesson in the other language, the tree relabelled in place, the reader at the same place in the text."""
        language = self.language
        self.query_one(LessonTree).relabel(self.data.course, self.done_ids(), language)
        lesson = self.data.course.lesson(self.lesson_id or "")
        if lesson is None:
            return
        self._shown_language = language
        self.show_header(lesson, lesson.id in self.done_ids(), language)
        scroll = self.query_one("#lesson-scroll", VerticalScroll)
        # The two texts differ in length: keep the fraction read, not the line number.
        fraction = scroll.scroll_y / scroll.max_scroll_y if scroll.max_scroll_y else 0.0
        self.render_lesson(lesson.text(language), fraction=fraction)

    def on_screen_suspend(self) -> None:
        self.save_scroll()

    def on_unmount(self) -> None:
        self.save_scroll()

    # --- data -----------------------------------------------------------------

    @property
    def language(self) -> str:
        from pathway.db import progress

        return progress.get_learner(self.data.engine).language

    def done_ids(self) -> set[str]:
        from pathway.db import progress

        return {i for i, row in progress.lesson_progress(self.data.engine).items() if row.status == "completed"}

    def last_lesson_id(self) -> str | None:
        from pathway.db import progress

        last = progress.get_learner(self.data.engine).last_lesson_id
        course = self.data.course
        if last and course.lesson(last):
            return last
        return course.lessons[0].id if course.lessons else None

    def build_tree(self) -> None:
        course = self.data.course
        current = course.lesson(self.last_lesson_id() or "")
        self.query_one(LessonTree).build(course, self.done_ids(), self.language, current.meta.week if current else 1)

    # --- opening lessons ------------------------------------------------------------

    def open_lesson(self, lesson_id: str) -> None:
        if not self.is_mounted:
            self._pending = lesson_id
            return
        from pathway.db import progress

        lesson = self.data.course.lesson(lesson_id)
        if lesson is None:
            self.notify(_("No lesson with id {id!r}.").format(id=lesson_id), severity="warning")
            return
        self.save_scroll()
        from pathway.db.failures import DatabaseWriteError

        try:
            row = progress.open_lesson(self.data.engine, lesson_id)
        except DatabaseWriteError as exc:  # a read-only database: show the lesson as it was stored
            self.app.write_failed(_("Opening this lesson"), exc, asked=False)
            row = progress.lesson_progress(self.data.engine).get(lesson_id) or progress.LessonProgress(lesson_id=lesson_id)
        self.lesson_id = lesson_id
        language = self.language
        self._shown_language = language
        self.show_header(lesson, row.status == "completed", language)
        scroll = self.query_one("#lesson-scroll", VerticalScroll)
        scroll.scroll_home(animate=False)
        self._saved_scroll = row.scroll_y
        self.render_lesson(lesson.text(language), row.scroll_y)
        self.query_one(LessonTree).select_lesson(lesson_id)

    @work(exclusive=True, group="render-lesson")
    async def render_lesson(self, markdown: str, scroll_y: float = 0.0, fraction: float | None = None) -> None:
        await self.query_one("#lesson", Markdown).update(markdown)
        scroll = self.query_one("#lesson-scroll", VerticalScroll)

        def scroll_back() -> None:
            y = fraction * scroll.max_scroll_y if fraction is not None else scroll_y
            scroll.scroll_to(y=y, animate=False)

        self.call_after_refresh(scroll_back)

    def show_header(self, lesson, complete: bool, language: str) -> None:
        meta = lesson.meta
        status = "[green]" + _("✓ completed") + "[/]" if complete else "[dim]" + _("not completed — press c when done") + "[/]"
        labs = " · " + _("lab: {labs}").format(labs=", ".join(meta.lab_ids)) if meta.lab_ids else ""
        minutes = _("{n} min").format(n=meta.minutes)
        # One phrase per line: a narrow lesson pane then never breaks a phrase in the middle.
        self.query_one("#lesson-header", Static).update(
            f"[b]W{meta.week:02d} · {escape(meta.title.get(language))}[/b]\n"
            f"[dim]{minutes}{escape(labs)}[/]\n{status}"
        )

    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        if event.node.data and event.node.data != self.lesson_id:
            self.open_lesson(event.node.data)

    def save_scroll(self) -> None:
        if self.lesson_id is None or self.data is None:
            return
        y = self._scroll.scroll_y  # a kept reference: on unmount the children are already gone
        if abs(y - self._saved_scroll) >= 1:
            from pathway.db import progress
            from pathway.db.failures import DatabaseWriteError

            try:
                progress.save_scroll(self.data.engine, self.lesson_id, y)
            except DatabaseWriteError:
                pass  # not worth a toast: opening or completing the lesson already said it is not saved
            self._saved_scroll = y

    # --- actions ------------------------------------------------------------------

    def action_toggle_complete(self) -> None:
        if self.lesson_id is None:
            return
        from pathway.db import progress

        lesson = self.data.course.lesson(self.lesson_id)
        now_complete = self.lesson_id not in self.done_ids()
        from pathway.db.failures import DatabaseWriteError

        try:
            progress.set_lesson_complete(self.data.engine, self.lesson_id, now_complete)
        except DatabaseWriteError as exc:
            self.app.write_failed(_("Marking the lesson complete") if now_complete else _("Marking the lesson not complete"), exc)
            return
        language = self.language
        self.show_header(lesson, now_complete, language)
        self.query_one(LessonTree).mark(lesson, self.done_ids(), language)
        self.notify(_("Marked complete. n opens the next lesson.") if now_complete else _("Marked not complete."), timeout=3)

    def action_step(self, step: int) -> None:
        if self.lesson_id is None:
            return
        target = self.data.course.next_lesson(self.lesson_id, step)
        if target is None:
            self.notify(_("That was the last lesson so far.") if step > 0 else _("This is the first lesson."), timeout=3)
            return
        self.open_lesson(target.id)

    def action_check_yourself(self) -> None:
        """Drill this lesson's questions: the ones it links, else the questions of its week."""
        course = self.data.course
        lesson = course.lesson(self.lesson_id or "")
        if lesson is None:
            return
        questions = course.questions_for_lesson(lesson.id) or [q for q in course.questions if q.week == lesson.meta.week]
        if not questions:
            self.notify(_("No questions for this lesson yet."), timeout=3)
            return
        self.app.practise([q.id for q in questions])

    def lesson_code(self) -> str:
        lesson = self.data.course.lesson(self.lesson_id or "")
        if lesson is None or not lesson.code_blocks:
            return ""
        parts = [f"# {lesson.id}, block at line {b.line}\n{b.code}" for b in lesson.code_blocks]
        return "\n\n".join(parts)

    def action_copy_code(self) -> None:
        code = self.lesson_code()
        if not code:
            self.notify(_("This lesson has no Python code blocks."), timeout=3)
            return
        self.app.copy_to_clipboard(code)
        lines = code.count(chr(10)) + 1
        self.notify(ngettext("Copied {n} line of code to the clipboard.", "Copied {n} lines of code to the clipboard.", lines).format(n=lines), timeout=3)

    def action_edit_code(self) -> None:
        code = self.lesson_code()
        if not code:
            self.notify(_("This lesson has no Python code blocks."), timeout=3)
            return
        path = scratch_file(self.data.home, self.lesson_id, code, keep_existing=True)
        if edit_in_terminal(self.app, path):
            self.notify(_("Your copy stays in {path}").format(path=path), timeout=5)

    def action_toggle_tree(self) -> None:
        tree = self.query_one(LessonTree)
        tree.display = not tree.display
