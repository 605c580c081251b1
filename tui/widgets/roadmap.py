"""The 24-week roadmap: one line per phase, one cell per week with its completion."""

from __future__ import annotations

from textual.markup import escape
from textual.widgets import Static

from pathway.i18n import _


def week_cell(week: int, done: int, total: int, current: bool) -> str:
    """`W03 ●●○` in markup — filled dots are completed lessons; `·` when a week has none yet."""
    label = f"[b reverse]W{week:02d}[/]" if current else f"[b]W{week:02d}[/]"
    if total == 0:
        return f"{label} [dim]·[/]"
    return f"{label} [green]{'●' * done}[/][dim]{'○' * (total - done)}[/]"


class Roadmap(Static):
    """Phases × weeks. Given attributes, it only draws."""

    def show(self, manifest, lesson_counts: dict[int, tuple[int, int]], current_week: int | None, language: str = "en") -> None:
        lines: list[str] = []
        for phase in manifest.phases:
            first, last = phase.weeks
            weeks = range(first, last + 1)
            done = sum(lesson_counts.get(w, (0, 0))[0] for w in weeks)
            total = sum(lesson_counts.get(w, (0, 0))[1] for w in weeks)
            lines.append(
                f"[b $accent]{phase.id} {escape(phase.title.get(language))}[/]"
                "[dim]  " + _("{done}/{total} lessons · project: {project}").format(done=done, total=total, project=escape(phase.project.get(language))) + "[/]"
            )
            cells = [week_cell(w, *lesson_counts.get(w, (0, 0)), current=w == current_week) for w in weeks]
            lines.append("  " + "  ".join(cells))
        self.update("\n".join(lines))
