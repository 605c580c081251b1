"""Phase → Week → Lesson tree with done marks."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode


class LessonTree(Tree[str]):
    """Lesson nodes carry the lesson id as data; phase and week nodes carry None."""

    def __init__(self, **kwargs) -> None:
        super().__init__("Roadmap", **kwargs)
        self.show_root = False
        self.guide_depth = 2
        self._lesson_nodes: dict[str, TreeNode[str]] = {}

    def build(self, course, done: set[str], language: str, expand_week: int | None) -> None:
        self.clear()
        self._lesson_nodes.clear()
        if course.manifest is None:
            return
        for phase in course.manifest.phases:
            first, last = phase.weeks
            phase_node = self.root.add(Text(f"{phase.id} {phase.title.get(language)}", style="bold"), expand=True)
            for week in (w for w in course.manifest.weeks if first <= w.week <= last):
                lessons = course.lessons_in_week(week.week)
                finished = sum(lesson.id in done for lesson in lessons)
                label = Text(f"W{week.week:02d} {week.title.get(language)}")
                if lessons:
                    label.append(f" {finished}/{len(lessons)}", style="green" if finished == len(lessons) else "dim")
                else:
                    label.stylize("dim")
                week_node = phase_node.add(label, expand=week.week == expand_week, allow_expand=bool(lessons))
                for lesson in lessons:
                    self._lesson_nodes[lesson.id] = week_node.add_leaf(self.lesson_label(lesson, done, language), data=lesson.id)

    @staticmethod
    def lesson_label(lesson, done: set[str], language: str) -> Text:
        mark = Text("✓ ", style="bold green") if lesson.id in done else Text("· ", style="dim")
        return mark + Text(lesson.meta.title.get(language))

    def mark(self, lesson, done: set[str], language: str) -> None:
        node = self._lesson_nodes.get(lesson.id)
        if node is not None:
            node.set_label(self.lesson_label(lesson, done, language))

    def select_lesson(self, lesson_id: str) -> None:
        node = self._lesson_nodes.get(lesson_id)
        if node is None:
            return
        parent = node.parent
        while parent is not None:
            parent.expand()
            parent = parent.parent
        self.call_after_refresh(self.move_cursor, node)
