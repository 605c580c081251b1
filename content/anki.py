"""The question bank as an Anki deck (.apkg), for review on a phone.

    deck = build_deck(course, languages=("en", "zh"), topics={9}, weeks={13, 14})
    write_package(deck, Path("pathway.apkg"))

One note per question, of one note type whose fields carry both languages; a card
template per language, and Anki makes a card only where its front is non-empty, so
`languages=("en",)` leaves the Chinese fields blank and yields English cards only.
Note GUIDs come from question ids, and the note type's and decks' ids from fixed
names: importing a newer export updates the notes instead of adding copies (Anki
compares modification times in whole seconds, so two exports in one second look
the same age).
"""

from __future__ import annotations

import hashlib
import html
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import genanki
from markdown_it import MarkdownIt

from pathway.content.loader import Course
from pathway.content.questions import Question
from pathway.errors import PathwayError

LANGUAGES = ("en", "zh")
LANGUAGE_NAMES = {"en": "English", "zh": "中文"}
FIELDS = ["QuestionId", *(f"{part}_{lang}" for lang in LANGUAGES for part in ("Front", "Back")), "References", "Meta"]
STYLE = """
.card { font-family: -apple-system, "PingFang SC", "Noto Sans CJK SC", sans-serif; font-size: 18px; text-align: left; }
pre { background: #f4f4f4; padding: 8px; overflow-x: auto; font-size: 14px; }
code { font-family: Menlo, Consolas, monospace; }
.meta { color: #888; font-size: 13px; }
.right { color: #1a7f37; } .wrong { color: #b42318; }
.why { color: #555; font-size: 15px; margin: 0 0 6px 24px; }
"""


def stable_id(name: str) -> int:
    """A 31-bit positive id from a name: Anki matches note types and decks by id across imports."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") >> 1


NOTE_TYPE = genanki.Model(
    stable_id("pathway question note type v1"),
    "pathway question",
    fields=[{"name": name} for name in FIELDS],
    templates=[
        {
            "name": LANGUAGE_NAMES[lang],
            "qfmt": f"{{{{#Front_{lang}}}}}<div class=meta>{{{{Meta}}}}</div>{{{{Front_{lang}}}}}{{{{/Front_{lang}}}}}",
            "afmt": f"{{{{FrontSide}}}}<hr id=answer>{{{{Back_{lang}}}}}<div class=meta>{{{{References}}}}</div>",
        }
        for lang in LANGUAGES
    ],
    css=STYLE,
)

_markdown = MarkdownIt("commonmark")


def to_html(text: str) -> str:
    """Question text is Markdown (code fences, inline code); Anki shows HTML."""
    return _markdown.render(text)


@dataclass
class Deck:
    decks: list[genanki.Deck]
    notes: int


def card_sides(question: Question, lang: str) -> tuple[str, str]:
    """(front, back) HTML of one question in one language."""
    t = lambda text: text.get(lang)  # noqa: E731 - reads like the TUI's self.t
    front = [to_html(t(question.prompt))]
    back: list[str] = []
    kind = question.type
    if kind in ("single", "multi"):
        letters = "ABCDE"
        front.append("<ol type=A>" + "".join(f"<li>{to_html(t(c.text))}</li>" for c in question.choices) + "</ol>")
        for letter, choice in zip(letters, question.choices):
            mark = "<span class=right>✓</span>" if choice.correct else "<span class=wrong>✗</span>"
            back.append(f"<div>{mark} <b>{letter}</b> {html.escape(t(choice.text))}</div><div class=why>{to_html(t(choice.why))}</div>")
    elif kind == "numeric":
        unit = f" {html.escape(question.unit)}" if question.unit else ""
        back.append(f"<p><b>{question.answer:g}{unit}</b> (± {question.tolerance:g})</p>")
    elif kind == "order":
        shown = list(question.items)
        random.Random(question.id).shuffle(shown)  # the same order in every export: notes update, not churn
        front.append("<ul>" + "".join(f"<li>{to_html(t(item.text))}</li>" for item in shown) + "</ul>")
        in_order = sorted(question.items, key=lambda item: item.position)
        back.append("<ol>" + "".join(f"<li>{to_html(t(item.text))}</li>" for item in in_order) + "</ol>")
    elif kind in ("recall", "design"):
        back.append(to_html(t(question.model_answer)))
        back.append("<ul>" + "".join(f"<li>{to_html(t(point))}</li>" for point in question.rubric) + "</ul>")
    elif kind == "code":
        front.append(f"<pre><code>{html.escape(question.starter)}</code></pre>")
        back.append(f"<pre><code>{html.escape(question.solution)}</code></pre>")
    back.append(to_html(t(question.explanation)))
    return "".join(front), "".join(back)


def tags_for(course: Course, question: Question) -> list[str]:
    topic = course.topic(question.topic)
    slug = topic.slug if topic else f"topic{question.topic}"
    return [
        f"pathway::phase{question.phase}::{slug}",
        f"pathway::week::{question.week:02d}",
        f"pathway::difficulty::{question.difficulty}",
        f"pathway::type::{question.type}",
        *(f"pathway::tag::{tag}" for tag in question.tags),
    ]


def note_for(course: Course, question: Question, languages: Iterable[str]) -> genanki.Note:
    wanted = set(languages)
    fields = {"QuestionId": question.id}
    for lang in LANGUAGES:
        front, back = card_sides(question, lang) if lang in wanted else ("", "")
        fields[f"Front_{lang}"], fields[f"Back_{lang}"] = front, back
    fields["References"] = "<br>".join(
        f'<a href="{html.escape(r.url)}">{html.escape(r.title)}</a>' for r in question.references
    )
    level = {"E": "easy", "M": "medium", "H": "hard"}[question.difficulty]
    fields["Meta"] = f"W{question.week:02d} · {level} · {question.type} · {question.id}"
    return genanki.Note(
        model=NOTE_TYPE,
        fields=[fields[name] for name in FIELDS],
        guid=genanki.guid_for("pathway", question.id),
        tags=tags_for(course, question),
    )


def build_deck(course: Course, *, languages: Iterable[str] = LANGUAGES, topics: set[int] | None = None,
               weeks: set[int] | None = None) -> Deck:
    """One subdeck per phase ("pathway::Phase 2 · Core LLM") holding the chosen questions."""
    languages = tuple(languages)
    chosen = [
        q for q in course.questions
        if (topics is None or q.topic in topics) and (weeks is None or q.week in weeks)
    ]
    if not chosen:
        raise PathwayError("No questions match those --topics and --weeks: nothing to export. Run `pathway content check` to see the topics and weeks.")
    phase_titles = {phase.id: phase.title.en for phase in course.manifest.phases} if course.manifest else {}
    decks: dict[int, genanki.Deck] = {}
    for question in chosen:
        if question.phase not in decks:
            name = f"pathway::Phase {question.phase} · {phase_titles.get(question.phase, '')}".rstrip(" ·")
            decks[question.phase] = genanki.Deck(stable_id(f"pathway deck phase {question.phase}"), name)
        decks[question.phase].add_note(note_for(course, question, languages))
    return Deck(decks=[decks[p] for p in sorted(decks)], notes=len(chosen))


def write_package(deck: Deck, path: Path) -> None:
    """Write the .apkg; a path that cannot be written is a PathwayError naming it."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        genanki.Package(deck.decks).write_to_file(str(path))
    except OSError as exc:
        raise PathwayError(f"Cannot write the Anki deck to {path}: {exc.strerror or exc}. Choose a folder you can write to.") from None
