"""Phase → Week → Lesson tree with done marks; labels too long for the tree end in an ellipsis."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode


class LessonTree(Tree[str]):
    """Lesson nodes carry the lesson id as data; phase and week nodes carry None."""

    def __init__(self, **kwargs) -> None:
        self._counts: dict[int, Text] = {}  # week node id -> its "1/2" count, kept visible when the title is cut
        super().__init__("Roadmap", **kwargs)  # renders the root label: _counts must exist before
        self.show_root = False
        self.guide_depth = 2
        self._lesson_nodes: dict[str, TreeNode[str]] = {}
        self._titled: list[tuple[TreeNode[str], object]] = []  # (phase or week node, its manifest entry): relabel()

    def build(self, course, done: set[str], language: str, expand_week: int | None) -> None:
        self.clear()
        self._lesson_nodes.clear()
        self._counts.clear()
        self._titled.clear()
        if course.manifest is None:
            return
        for phase in course.manifest.phases:
            first, last = phase.weeks
            phase_node = self.root.add(self.phase_label(phase, language), expand=True)
            self._titled.append((phase_node, phase))
            for week in (w for w in course.manifest.weeks if first <= w.week <= last):
                lessons = course.lessons_in_week(week.week)
                finished = sum(lesson.id in done for lesson in lessons)
                week_node = phase_node.add(self.week_label(week, bool(lessons), language), expand=week.week == expand_week, allow_expand=bool(lessons))
                self._titled.append((week_node, week))
                if lessons:
                    style = "green" if finished == len(lessons) else "dim"
                    self._counts[week_node.id] = Text(f" {finished}/{len(lessons)}", style=style)
                for lesson in lessons:
                    self._lesson_nodes[lesson.id] = week_node.add_leaf(self.lesson_label(lesson, done, language), data=lesson.id)

    def render_label(self, node: TreeNode[str], base_style: Style, style: Style) -> Text:
        label = super().render_label(node, base_style, style)
        count = self._counts.get(node.id)
        room = self.label_room(node) - (count.cell_len if count is not None else 0)
        if room > 0 and label.cell_len > room:
            label.truncate(room, overflow="ellipsis")
        if count is not None:
            label.append_text(count)
        return label

    def label_room(self, node: TreeNode[str]) -> int:
        """Cells left for the node's label after the guides, or 0 before the tree has a size."""
        width = self.scrollable_content_region.width
        if width <= 0:
            return 0
        depth, parent = 0, node.parent
        while parent is not None and parent is not self.root:
            depth, parent = depth + 1, parent.parent
        return max(1, width - depth * self.guide_depth)

    def relabel(self, course, done: set[str], language: str) -> None:
        """Every title in `language`, in place: expanded nodes, the cursor and the scroll stay as they are."""
        for node, entry in self._titled:
            if hasattr(entry, "project"):  # a phase (a week has no project)
                node.set_label(self.phase_label(entry, language))
            else:
                node.set_label(self.week_label(entry, bool(course.lessons_in_week(entry.week)), language))
        for lesson_id, node in self._lesson_nodes.items():
            lesson = course.lesson(lesson_id)
            if lesson is not None:
                node.set_label(self.lesson_label(lesson, done, language))

    @staticmethod
    def phase_label(phase, language: str) -> Text:
        return Text(f"{phase.id} {phase.title.get(language)}", style="bold")

    @staticmethod
    def week_label(week, has_lessons: bool, language: str) -> Text:
        label = Text(f"W{week.week:02d} {week.title.get(language)}")
        if not has_lessons:
            label.stylize("dim")
        return label

    @staticmethod
    def lesson_label(lesson, done: set[str], language: str) -> Text:
        mark = Text("✓ ", style="bold green") if lesson.id in done else Text("· ", style="dim")
        return mark + Text(lesson.meta.title.get(language))

    def mark(self, lesson, done: set[str], language: str) -> None:
        node = self._lesson_nodes.get(lesson.id)
        if node is not None:
            node.set_label(self.lesson_label(lesson, done, language))
            week = node.parent
            count = self._counts.get(week.id) if week is not None else None
            if count is not None:
                siblings = [child.data for child in week.children]
                finished = sum(lesson_id in done for lesson_id in siblings)
                style = "green" if finished == len(siblings) else "dim"
                self._counts[week.id] = Text(f" {finished}/{len(siblings)}", style=style)
                week.refresh()

    def select_lesson(self, lesson_id: str) -> None:
        node = self._lesson_nodes.get(lesson_id)
        if node is None:
            return
        parent = node.parent
        while parent is not None:
            parent.expand()
            parent = parent.parent
        self.call_after_refresh(self.move_cursor, node)
