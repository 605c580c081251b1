"""Bank-wide consistency: near-duplicate questions and the glossary's translations.

    near_duplicates(questions)          -> [(similarity, first, second)]
    load_glossary(glossary_path)        -> (terms, problems in the glossary itself)
    glossary_mismatches(questions, terms) -> [(question, field, term)] to review

Near duplicates compare the words of a question's whole text (prompt, choices, model answer),
so two short "Which statements about X are correct?" prompts on different subjects do not
collide, while a reworded copy of the same question does.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pathway.content.schema import Problem
from pathway.content.yaml_text import YAMLError, safe_load, yaml_where

NEAR_DUPLICATE = 0.5  # Jaccard similarity of word 3-grams above which two questions are one
SHINGLE = 3


class Term(BaseModel):
    """One glossary entry. `zh` is the rendering for the sense the roadmap mostly means; `alt`
    lists other accepted renderings (another sense of the English word, e.g. "recall" = 记住,
    or an accepted variant). Chinese text using `zh`, any `alt` or the English word is fine."""

    model_config = ConfigDict(extra="forbid")
    en: str
    zh: str
    alt: list[str] = Field(default_factory=list)
    note: str | None = None

    @field_validator("alt")
    @classmethod
    def _no_blank_alt(cls, alt: list[str]) -> list[str]:
        if any(not rendering.strip() for rendering in alt):
            raise ValueError("an alt rendering is blank, which would accept every text")
        return alt

    def renderings(self) -> list[str]:
        """Every accepted Chinese rendering: zh first, then alt."""
        return [self.zh, *self.alt]


class Glossary(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format_version: int
    terms: list[Term]


def question_text(question) -> str:
    parts = [question.prompt.en]
    parts += [choice.text.en for choice in getattr(question, "choices", None) or []]
    parts += [item.text.en for item in getattr(question, "items", None) or []]
    answer = getattr(question, "model_answer", None)
    if answer is not None:
        parts.append(answer.en)
    return "\n".join(parts)


def shingles(text: str) -> set[str]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {" ".join(words[i : i + SHINGLE]) for i in range(max(len(words) - SHINGLE + 1, 0))}


def near_duplicates(questions, threshold: float = NEAR_DUPLICATE) -> list[tuple[float, object, object]]:
    """Pairs of questions whose texts share at least `threshold` of their word 3-grams."""
    sets = [(question, shingles(question_text(question))) for question in questions]
    found = []
    for (a, sa), (b, sb) in itertools.combinations(sets, 2):
        if sa and sb:
            similarity = len(sa & sb) / len(sa | sb)
            if similarity >= threshold:
                found.append((similarity, a, b))
    return sorted(found, key=lambda item: -item[0])


def load_glossary(path: Path) -> tuple[list[Term], list[Problem]]:
    name = path.name
    if not path.exists():
        return [], []  # a course without a glossary has nothing to keep consistent
    try:
        glossary = Glossary.model_validate(safe_load(path.read_text(encoding="utf-8")))
    except YAMLError as exc:
        return [], [Problem(file=name, field="", reason=f"is not valid YAML ({yaml_where(exc)})")]
    except (ValidationError, UnicodeDecodeError) as exc:
        return [], [Problem(file=name, field="", reason=str(exc).splitlines()[0])]
    problems = []
    seen: dict[str, str] = {}
    for index, term in enumerate(glossary.terms):
        key = term.en.lower()
        if key in seen and seen[key] != term.zh:
            problems.append(Problem(file=name, field=f"terms[{index}]", reason=f"{term.en!r} is translated twice: {seen[key]!r} and {term.zh!r} (keep one zh; another sense goes in alt)"))
        elif key in seen:
            problems.append(Problem(file=name, field=f"terms[{index}]", reason=f"{term.en!r} is listed twice; put other renderings in one entry's alt"))
        seen.setdefault(key, term.zh)
        problems += _alt_problems(name, f"terms[{index}].alt", term)
    return glossary.terms, problems


def _alt_problems(name: str, field: str, term: Term) -> list[Problem]:
    """An alt must add a rendering: not repeat zh, the English word or another alt, and not be
    part of zh (then every text using zh would pass through the alt, and more besides)."""
    problems = []
    seen = {term.zh, term.en.lower()}
    for rendering in term.alt:
        if rendering in seen or rendering.lower() in seen:
            problems.append(Problem(file=name, field=field, reason=f"{term.en!r}: alt {rendering!r} repeats zh, the English word or another alt"))
        elif rendering in term.zh:
            problems.append(Problem(file=name, field=field, reason=f"{term.en!r}: alt {rendering!r} is part of zh {term.zh!r}, so it accepts more than zh does"))
        seen.add(rendering)
    return problems


def bilingual_fields(question):
    yield "prompt", question.prompt
    yield "explanation", question.explanation
    for index, choice in enumerate(getattr(question, "choices", None) or []):
        yield f"choices[{index}].text", choice.text
        yield f"choices[{index}].why", choice.why


def glossary_mismatches(questions, terms: list[Term]) -> list[tuple[object, str, Term]]:
    """Places where the English side uses a glossary term and the Chinese side uses none of the
    term's renderings (zh or alt) nor the English word. A word used in a sense the glossary does
    not list yet shows up here too, so these are warnings to review, not errors: fix the
    Chinese, or add the other sense's rendering to the term's alt."""
    translated = [(term, re.compile(rf"\b{re.escape(term.en)}\b", re.IGNORECASE)) for term in terms if term.zh.lower() != term.en.lower()]
    found = []
    for question in questions:
        for field, text in bilingual_fields(question):
            if not text.zh:
                continue
            for term, pattern in translated:
                if pattern.search(text.en) and not any(rendering in text.zh for rendering in term.renderings()) and term.en.lower() not in text.zh.lower():
                    found.append((question, field, term))
    return found
