"""Rules about each lesson's Chinese body, for `pathway content check`.

    problems = check_translations(course, terms)

Every lesson has a `NAME.zh.md` beside it, and the two are the same lesson: the
same code blocks (fence line included) in the same order, the same heading
levels in the same order, the same link targets, and the same question, lesson
and lab ids in the prose. Where the English uses a glossary term, the Chinese
uses one of its renderings (`zh`, an `alt`, or the English word itself).
"""

from __future__ import annotations

import re
from pathlib import Path

from pathway.content.consistency import Term
from pathway.content.schema import Lesson, Problem

FENCE = re.compile(r"^```[^\n]*\n.*?^```[ \t]*$", re.S | re.M)
HEADING = re.compile(r"^(#+) ", re.M)
LINK = re.compile(r"\]\(([^)\s]+)\)")
ITEM_ID = re.compile(r"\b([tw]\d\d-[a-z0-9-]+)\b")
LAB_ID = re.compile(r"pathway lab run ([a-z0-9-]+)")


def body_of(text: str) -> str:
    """The Markdown after the front matter (a Chinese body has none)."""
    if text.startswith("---\n"):
        _, _, rest = text[4:].partition("\n---\n")
        return rest
    return text


def shape(text: str) -> dict[str, list]:
    """What must match between the two languages of a lesson."""
    body = body_of(text)
    prose = FENCE.sub("", body)
    return {
        "code blocks": FENCE.findall(body),
        "heading levels": [len(m.group(1)) for m in HEADING.finditer(prose)],
        "link targets": sorted(LINK.findall(prose)),
        "question and lesson ids": sorted(set(ITEM_ID.findall(prose))),
        "lab ids": sorted(set(LAB_ID.findall(prose))),
    }


def check_translations(lessons: list[Lesson], terms: list[Term], root: Path) -> list[Problem]:
    problems: list[Problem] = []
    glossary = [(term, re.compile(rf"\b{re.escape(term.en)}\b", re.IGNORECASE)) for term in terms if term.zh.lower() != term.en.lower()]
    for lesson in lessons:
        zh_path = lesson.path.with_suffix(".zh.md")
        name = str(zh_path.relative_to(root)) if zh_path.is_relative_to(root) else str(zh_path)
        if not zh_path.exists():
            problems.append(Problem(file=name, field="", reason=f"lesson {lesson.id} has no Chinese body: write {zh_path.name} beside it"))
            continue
        en_text, zh_text = lesson.path.read_text(encoding="utf-8"), zh_path.read_text(encoding="utf-8")
        en, zh = shape(en_text), shape(zh_text)
        for what in en:
            if en[what] != zh[what]:
                problems.append(Problem(file=name, field=what, reason=_difference(what, en[what], zh[what])))
        en_prose, zh_prose = FENCE.sub("", body_of(en_text)), FENCE.sub("", zh_text)
        for term, pattern in glossary:
            if pattern.search(en_prose) and not any(r in zh_prose for r in term.renderings()) and term.en.lower() not in zh_prose.lower():
                problems.append(Problem(file=name, field="glossary", reason=(
                    f"the English uses {term.en!r}; the Chinese uses none of {', '.join(map(repr, term.renderings()))} "
                    "nor the English word (fix the Chinese, or add the sense to the term's alt)")))
    return problems


def _difference(what: str, en: list, zh: list) -> str:
    if what == "code blocks":
        for index, (a, b) in enumerate(zip(en, zh), start=1):
            if a != b:
                return f"code block {index} differs from the English lesson's (they must be identical)"
        return f"the English lesson has {len(en)} code blocks, the Chinese {len(zh)}"
    return f"differ from the English lesson: en {en[:8]} vs zh {zh[:8]}"
