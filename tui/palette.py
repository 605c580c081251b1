"""Command palette (Ctrl+P) providers: jump to any lesson, switch mode."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from pathway.tui.modes import MODES


class LessonCommands(Provider):
    """Every lesson, by fuzzy title (English and Chinese) or id."""

    def _lessons(self):
        data = self.app.data
        return data.course.lessons if data is not None else []

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for lesson in self._lessons():
            title = lesson.meta.title
            text = f"W{lesson.meta.week:02d} {title.en}" + (f" · {title.zh}" if title.zh else "")
            score = max(matcher.match(text), matcher.match(lesson.id))
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(self.app.open_lesson, lesson.id), help="Open lesson")

    async def discover(self) -> Hits:
        for lesson in self._lessons()[:8]:
            yield DiscoveryHit(f"W{lesson.meta.week:02d} {lesson.meta.title.en}", partial(self.app.open_lesson, lesson.id), help="Open lesson")


class QuestionCommands(Provider):
    """Every question, by prompt text or id; opens it for practice (Cram: the schedule is untouched)."""

    async def search(self, query: str) -> Hits:
        data = self.app.data
        if data is None or len(query) < 2:
            return
        matcher = self.matcher(query)
        for question in data.course.questions:
            prompt = " ".join(question.prompt.en.split())[:70]
            text = f"Q {question.id}: {prompt}"
            score = max(matcher.match(question.id), matcher.match(prompt))
            if score > 0:
                yield Hit(score * 0.9, matcher.highlight(text), partial(self.app.open_question, question.id), help="Practise question")


class ModeCommands(Provider):
    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for mode in MODES:
            text = f"Go to {mode.title}"
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(self.app.action_mode, mode.id))
        text = "Switch language: English / 中文"
        score = max(matcher.match(text), matcher.match("language chinese english"))
        if score > 0:
            yield Hit(score, matcher.highlight(text), self.app.action_toggle_language, help="Lessons and questions (Ctrl+L)")
