"""Drawings for Progress mode as markup text: the review heatmap and mastery bars."""

from __future__ import annotations

from datetime import date, timedelta

from rich.cells import cell_len

from pathway.i18n import N_, _

SHADES = ["[dim]·[/]", "[green]░[/]", "[green]▒[/]", "[green]▓[/]", "[green]█[/]"]
DAY_NAMES = [N_("Mon"), "", N_("Wed"), "", N_("Fri"), "", N_("Sun")]  # drawn 3 cells wide (a Chinese name is 2 cells)


def level(count: int, busiest: int) -> int:
    """0 for nothing, else 1-4 by quarter of the busiest day."""
    if count <= 0:
        return 0
    return min(4, 1 + (4 * (count - 1)) // max(1, busiest))


def heatmap_lines(counts: dict[str, int], today: date, weeks: int = 53) -> list[str]:
    """Seven rows (Mon..Sun) by `weeks` columns ending with today's week; month initials above."""
    start = today - timedelta(days=today.weekday(), weeks=weeks - 1)
    busiest = max(counts.values(), default=0)
    header = [" "] * weeks
    for column in range(weeks):
        first = start + timedelta(weeks=column)
        if first.day <= 7:
            header[column] = first.strftime("%b")[0]
    rows = ["    " + "".join(header)]
    for weekday in range(7):
        cells = []
        for column in range(weeks):
            day = start + timedelta(weeks=column, days=weekday)
            cells.append(" " if day > today else SHADES[level(counts.get(day.isoformat(), 0), busiest)])
        name = _(DAY_NAMES[weekday]) if DAY_NAMES[weekday] else ""
        rows.append(name + " " * (3 - cell_len(name)) + " " + "".join(cells))
    rows.append("    [dim]" + _("less") + "[/] " + " ".join(SHADES) + " [dim]" + _("more") + "[/]")
    return rows


def bar(fraction: float, width: int = 16) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return f"[green]{'█' * filled}[/][dim]{'░' * (width - filled)}[/]"
