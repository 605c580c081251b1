"""The shape of course content, validated with pydantic.

Content is data: YAML and Markdown front matter parsed with `yaml.safe_load`,
never executed. Every item carries a stable `id` that progress rows point at.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

FORMAT_VERSION = 1
ID_PATTERN = r"^[a-z0-9][a-z0-9-]*[a-z0-9]$"

ItemId = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=80)]
NonEmpty = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """A piece of text in English, with Chinese where it exists."""

    en: NonEmpty
    zh: NonEmpty | None = None

    def get(self, language: str) -> str:
        return (self.zh if language == "zh" else None) or self.en


class Phase(Strict):
    id: int = Field(ge=1, le=4)
    title: Text
    weeks: tuple[int, int]
    focus: Text
    project: Text


class Week(Strict):
    week: int = Field(ge=1, le=24)
    phase: int = Field(ge=1, le=4)
    title: Text
    objectives: list[Text] = Field(min_length=1)


class Manifest(Strict):
    format_version: int
    title: Text
    phases: list[Phase] = Field(min_length=1)
    weeks: list[Week] = Field(min_length=1)

    @model_validator(mode="after")
    def _weeks_fit_phases(self) -> "Manifest":
        if self.format_version != FORMAT_VERSION:
            raise ValueError(
                f"format_version {self.format_version} is not supported (this pathway reads {FORMAT_VERSION})"
            )
        spans = {p.id: p.weeks for p in self.phases}
        for w in self.weeks:
            first, last = spans.get(w.phase, (0, -1))
            if not first <= w.week <= last:
                raise ValueError(f"week {w.week} is not inside phase {w.phase}'s weeks")
        numbers = [w.week for w in self.weeks]
        if len(numbers) != len(set(numbers)):
            raise ValueError("a week number appears twice")
        return self


class LessonFrontMatter(Strict):
    id: ItemId
    phase: int = Field(ge=1, le=4)
    week: int = Field(ge=1, le=24)
    order: int = Field(ge=1)
    title: Text
    minutes: int = Field(ge=1, le=600)
    objectives: list[NonEmpty] = Field(min_length=1)
    prerequisites: list[ItemId] = []
    question_ids: list[ItemId] = []
    lab_ids: list[ItemId] = []


class CodeBlock(Strict):
    """A fenced ```python block of a lesson; `skip` says why it is not run."""

    code: str
    line: int  # 1-based line of the opening fence in the file
    skip: str | None = None


class Lesson(Strict):
    meta: LessonFrontMatter
    body: str  # Markdown, fence info strings normalised for display
    body_zh: str | None = None
    code_blocks: list[CodeBlock]
    path: Path

    @property
    def id(self) -> str:
        return self.meta.id

    def text(self, language: str) -> str:
        return (self.body_zh if language == "zh" else None) or self.body


class Problem(Strict):
    """One thing wrong with a content file; the file is skipped, the rest loads."""

    file: str
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}" + (f" [{self.field}]" if self.field else "")
        return f"{where}: {self.reason}"


def slug_words(text: str) -> str:
    """Lower-case words only: used to compare titles and prompts for duplicates."""
    return " ".join(re.findall(r"[a-z0-9\u4e00-\u9fff]+", text.lower()))
