"""Learn: the lesson tree and the lesson itself; progress is committed as it happens."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.markup import escape
from textual.widgets import Markdown, Static, Tree

from pathway.tui.editor import edit_in_terminal, scratch_file
from pathway.tui.screens.base import ModeScreen
from pathway.tui.widgets.lesson_tree import LessonTree

SCROLL_SAVE_SECONDS = 1.0


class LearnScreen(ModeScreen):
    MODE = "learn"
    BINDINGS = [
        Binding("c", "toggle_complete", "Done ✓", tooltip="mark the lesson complete (again: not complete)"),
        Binding("n", "step(1)", "Next", tooltip="next lesson"),
        Binding("p", "step(-1)", "Prev", tooltip="previous lesson"),
        Binding("k", "check_yourself", "Check yourself", tooltip="check yourself: drill this lesson's questions"),
        # Rarer keys: off the footer (it must fit 80 columns), listed in Help (F1).
        Binding("y", "copy_code", "Copy code", show=False, tooltip="copy the lesson's code to the clipboard"),
        Binding("e", "edit_code", "Edit code", show=False, tooltip="open the lesson's code in $EDITOR (a copy kept in your home)"),
        Binding("t", "toggle_tree", "Tree", show=False, tooltip="hide or show the lesson tree"),
        Binding("q,escape", "app.mode('home')", "Home", tooltip="back to Home"),
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
        self.build_tree()
        if self.lesson_id:
            current, self.lesson_id = self.lesson_id, None
            self.open_lesson(current)

    def on_screen_resume(self) -> None:
        if self._shown_language is not None and self._shown_language != self.language:
            self.language_changed()

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
            self.notify(f"No lesson with id {lesson_id!r}.", severity="warning")
            return
        self.save_scroll()
        from pathway.db.failures import DatabaseWriteError

        try:
            row = progress.open_lesson(self.data.engine, lesson_id)
        except DatabaseWriteError as exc:  # a read-only database: show the lesson as it was stored
            self.app.write_failed("Opening this lesson", exc, asked=False)
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
    async def render_lesson(self, markdown: str, scroll_y: float) -> None:
        await self.query_one("#lesson", Markdown).update(markdown)
        scroll = self.query_one("#lesson-scroll", VerticalScroll)
        self.call_after_refresh(scroll.scroll_to, y=scroll_y, animate=False)

    def show_header(self, lesson, complete: bool, language: str) -> None:
        meta = lesson.meta
        status = "[green]✓ completed[/]" if complete else "[dim]not completed — press c when done[/]"
        labs = f" · lab: {', '.join(meta.lab_ids)}" if meta.lab_ids else ""
        # One phrase per line: a narrow lesson pane then never breaks a phrase in the middle.
        self.query_one("#lesson-header", Static).update(
            f"[b]W{meta.week:02d} · {escape(meta.title.get(language))}[/b]\n"
            f"[dim]{meta.minutes} min{escape(labs)}[/]\n{status}"
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
            self.app.write_failed("Marking the lesson complete" if now_complete else "Marking the lesson not complete", exc)
            return
        language = self.language
        self.show_header(lesson, now_complete, language)
        self.query_one(LessonTree).mark(lesson, self.done_ids(), language)
        self.notify("Marked complete. n opens the next lesson." if now_complete else "Marked not complete.", timeout=3)

    def action_step(self, step: int) -> None:
        if self.lesson_id is None:
            return
        target = self.data.course.next_lesson(self.lesson_id, step)
        if target is None:
            self.notify("That was the last lesson so far." if step > 0 else "This is the first lesson.", timeout=3)
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
            self.notify("No questions for this lesson yet.", timeout=3)
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
            self.notify("This lesson has no Python code blocks.", timeout=3)
            return
        self.app.copy_to_clipboard(code)
        self.notify(f"Copied {code.count(chr(10)) + 1} lines of code to the clipboard.", timeout=3)

    def action_edit_code(self) -> None:
        code = self.lesson_code()
        if not code:
            self.notify("This lesson has no Python code blocks.", timeout=3)
            return
        path = scratch_file(self.data.home, self.lesson_id, code, keep_existing=True)
        if edit_in_terminal(self.app, path):
            self.notify(f"Your copy stays in {path}", timeout=5)

    def action_toggle_tree(self) -> None:
        tree = self.query_one(LessonTree)
        tree.display = not tree.display
