"""Command palette (Ctrl+P) providers: jump to any lesson or question, switch mode."""

from __future__ import annotations

import re
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from pathway.i18n import _
from pathway.tui.modes import MODES

# "week 10", "wk10", "w10", "W 03", "第10周": a week number, however it is written.
WEEK_QUERY = re.compile(r"^\s*(?:weeks?|wk|w|第)\s*0*(\d{1,2})\s*(?:周)?\s*(.*)$", re.IGNORECASE)
INLINE_MARKUP = [
    (re.compile(r"`([^`]*)`"), r"\1"),  # `code`
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), r"\1"),  # [text](url)
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),  # **bold**
    (re.compile(r"(?<![\w*])[*_](?!\s)(.+?)(?<!\s)[*_](?![\w*])"), r"\1"),  # *italic*
]
PROMPT_CELLS = 70
WEEK_SCORE = 1000.0


def week_query(query: str) -> tuple[int, str] | None:
    """(week, the rest of the query) when the query starts with a week number; None otherwise."""
    match = WEEK_QUERY.match(query)
    if match is None:
        return None
    return int(match.group(1)), match.group(2)


def plain(text: str) -> str:
    """Markdown inline markup removed and whitespace collapsed: what a one-line entry shows."""
    for pattern, replacement in INLINE_MARKUP:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())


def shorten(text: str, limit: int = PROMPT_CELLS) -> str:
    """`text` cut at the last word that fits in `limit` characters, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:—-") + "…"


class LessonCommands(Provider):
    """Every lesson, by fuzzy title (English and Chinese), id, or week number ("week 10", "w10", "第10周")."""

    def _lessons(self):
        data = self.app.data
        return data.course.lessons if data is not None else []

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        week = week_query(query)
        rest = self.matcher(week[1]) if week and week[1] else None
        for lesson in self._lessons():
            title = lesson.meta.title
            text = f"W{lesson.meta.week:02d} {title.en}" + (f" · {title.zh}" if title.zh else "")
            score = max(matcher.match(text), matcher.match(lesson.id))
            if week is not None and week[0] == lesson.meta.week:
                # Above any fuzzy score (those are unbounded, tens at most): the week's lessons come first,
                # and words after the week number order them.
                narrowed = 0.0 if rest is None else rest.match(text)
                if rest is None or narrowed > 0:
                    score = WEEK_SCORE + narrowed
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(self.app.open_lesson, lesson.id), help=_("Open lesson"))

    async def discover(self) -> Hits:
        for lesson in self._lessons()[:8]:
            yield DiscoveryHit(f"W{lesson.meta.week:02d} {lesson.meta.title.en}", partial(self.app.open_lesson, lesson.id), help=_("Open lesson"))


class QuestionCommands(Provider):
    """Every question, by prompt text or id; answering it from here counts (Drill: the schedule moves)."""

    async def search(self, query: str) -> Hits:
        data = self.app.data
        if data is None or len(query) < 2:
            return
        matcher = self.matcher(query)
        for question in data.course.questions:
            prompt = plain(question.prompt.en)
            text = f"Q {question.id}: {shorten(prompt)}"
            score = max(matcher.match(question.id), matcher.match(prompt))
            if score > 0:
                yield Hit(
                    score * 0.9,
                    matcher.highlight(text),
                    partial(self.app.open_question, question.id),
                    help=_("Answer it (counts toward its review schedule)"),
                )


class ModeCommands(Provider):
    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for mode in MODES:
            text = _("Go to {mode}").format(mode=_(mode.title))
            score = max(matcher.match(text), matcher.match(f"Go to {mode.title}"))
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(self.app.action_mode, mode.id))
        text = _("Switch language: English / 中文")
        score = max(matcher.match(text), matcher.match("language chinese english"))
        if score > 0:
            yield Hit(score, matcher.highlight(text), self.app.action_toggle_language, help=_("Lessons, questions and the interface (Ctrl+L)"))
