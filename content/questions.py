"""The question bank: one pydantic model per question type, and its loader.

    questions, problems = load_questions(Path("content"))
    q = questions[0]; q.type, q.prompt.get("zh")

Files live in `questions/*.yaml` (see FORMAT.md). Each question is validated on
its own: a bad one is reported (file, `questions[i] <id>`, field, reason) and
skipped, and the rest of its file still loads. Rules that grading depends on
(one correct choice for `single`, rubric sizes, ...) are enforced here; rules
about the bank as a whole (duplicates, balance, executed code) live in
`bank_checks`. Loading never executes anything.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import Field, StringConstraints, TypeAdapter, ValidationError, field_validator, model_validator

from pathway.content.yaml_text import YAMLError, safe_load, yaml_where
from pathway.content.schema import FORMAT_VERSION, ItemId, Problem, Strict, Text

QUESTIONS_DIR = "questions"
TOPICS_FILE = "topics.yaml"
TYPES = ("single", "multi", "numeric", "recall", "order", "code", "design")
AUTO_GRADED = ("single", "multi", "numeric", "order", "code")
SELF_RATED = ("recall", "design")
DIFFICULTIES = ("E", "M", "H")

Code = Annotated[str, StringConstraints(min_length=1)]
Tag = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=40)]


class Topic(Strict):
    """One of the 15 topic areas of CONTENT.md."""

    id: int = Field(ge=1, le=15)
    slug: ItemId
    title: Text
    scope: Text
    target: int = Field(ge=1)


class TopicsFile(Strict):
    format_version: int
    topics: list[Topic]


class Reference(Strict):
    title: Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]


class Choice(Strict):
    text: Text
    correct: bool
    why: Text  # why this option is right or wrong


class OrderItem(Strict):
    text: Text
    position: int = Field(ge=1)  # equal positions are ties: either order is right


class BuggyVariant(Strict):
    why: Text  # what is wrong with it, shown after a pass
    code: Code


class QuestionBase(Strict):
    id: ItemId
    topic: int = Field(ge=1, le=15)
    phase: int = Field(ge=1, le=4)
    week: int = Field(ge=1, le=24)
    difficulty: Literal["E", "M", "H"]
    tags: list[Tag] = []
    prompt: Text
    explanation: Text
    references: list[Reference] = []
    hints: list[Text] = []
    lesson_ids: list[ItemId] = []

    @property
    def auto_graded(self) -> bool:
        return self.type in AUTO_GRADED  # type: ignore[attr-defined]


class ChoiceQuestion(QuestionBase):
    choices: list[Choice] = Field(min_length=3, max_length=5)

    @property
    def correct_indices(self) -> list[int]:
        return [i for i, choice in enumerate(self.choices) if choice.correct]


class SingleQuestion(ChoiceQuestion):
    type: Literal["single"]

    @model_validator(mode="after")
    def _one_correct(self) -> "SingleQuestion":
        count = len(self.correct_indices)
        if count != 1:
            raise ValueError(f"a single-choice question needs exactly one correct choice, found {count}")
        return self


class MultiQuestion(ChoiceQuestion):
    type: Literal["multi"]

    @model_validator(mode="after")
    def _several_correct(self) -> "MultiQuestion":
        right = len(self.correct_indices)
        wrong = len(self.choices) - right
        if right < 2 or wrong < 1:
            raise ValueError(
                f"a multi-answer question needs at least two correct and one wrong choice, found {right} and {wrong}"
            )
        return self


class NumericQuestion(QuestionBase):
    type: Literal["numeric"]
    answer: float
    tolerance: float = Field(ge=0)
    unit: str = ""
    derivation: Code  # an expression, or a snippet that assigns `answer`; the checker runs it


class RecallQuestion(QuestionBase):
    type: Literal["recall"]
    model_answer: Text
    rubric: list[Text] = Field(min_length=3, max_length=6)


class DesignQuestion(QuestionBase):
    type: Literal["design"]
    model_answer: Text
    rubric: list[Text] = Field(min_length=3, max_length=6)


class OrderQuestion(QuestionBase):
    type: Literal["order"]
    items: list[OrderItem] = Field(min_length=2, max_length=10)

    @field_validator("items")
    @classmethod
    def _not_all_tied(cls, items: list[OrderItem]) -> list[OrderItem]:
        if len({item.position for item in items}) < 2:
            raise ValueError("all items share one position: there is nothing to order")
        return items


class CodeQuestion(QuestionBase):
    type: Literal["code"]
    starter: Code
    solution: Code
    tests: Code  # `def test_*():` functions run in one module with the learner's code
    buggy_variants: list[BuggyVariant] = []
    timeout_s: float = Field(default=10, gt=0, le=120)


Question = Annotated[
    Union[SingleQuestion, MultiQuestion, NumericQuestion, RecallQuestion, OrderQuestion, CodeQuestion, DesignQuestion],
    Field(discriminator="type"),
]
QUESTION = TypeAdapter(Question)


# --- loading ------------------------------------------------------------------


def _problems(name: str, where: str, error: ValidationError, kind: str | None) -> list[Problem]:
    from pathway.content.loader import pydantic_reason

    found = []
    for item in error.errors():
        loc = list(item["loc"])
        if kind is not None and loc and loc[0] == kind:
            loc = loc[1:]  # drop the union tag pydantic puts first
        field = ".".join(str(part) for part in loc)
        found.append(Problem(file=name, field=f"{where}.{field}" if field else where, reason=pydantic_reason(item)))
    return found


ITEM_START = re.compile(r"^(?P<indent>[ \t]*)- (?=\S)")  # a list entry: `  - id: ...`


def split_items(text: str) -> tuple[str, list[tuple[int, str]]] | None:
    """(the text before the `questions:` list, [(line number, one entry's text), ...]) or None.

    Used only when the whole file is not valid YAML: each entry is then parsed on its own, so one
    broken entry (a stray `@` in a tag, an unclosed quote) costs that question, not the file.
    """
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(r"^questions:\s*(#.*)?$", line)), None)
    if start is None:
        return None
    items: list[tuple[int, list[str]]] = []
    indent: str | None = None
    for number, line in enumerate(lines[start + 1 :], start=start + 2):
        match = ITEM_START.match(line)
        if match and (indent is None or match.group("indent") == indent):
            indent = match.group("indent")
            items.append((number, [line]))
        elif items:
            items[-1][1].append(line)
    return "".join(lines[: start + 1]), [(number, "".join(body)) for number, body in items]


def load_items_one_by_one(name: str, text: str, error: YAMLError) -> tuple[dict | None, list[Problem]]:
    """The file as data with its unreadable entries left out (each reported), or None when that fails too."""
    parts = split_items(text)
    if parts is None:
        return None, []
    head, items = parts
    try:
        data = safe_load(head)
    except YAMLError:
        return None, []
    if not isinstance(data, dict):
        return None, []
    data["questions"], problems = [], []
    for index, (line, body) in enumerate(items):
        try:
            entry = safe_load(body)
        except YAMLError as exc:
            qid = re.search(r"^\s*-?\s*id:\s*(\S+)", body, re.MULTILINE)
            where = f"questions[{index}]" + (f" {qid.group(1)}" if qid else "")
            mark = getattr(exc, "problem_mark", None)
            at = f" at line {line + mark.line}" if mark else ""
            reason = f"is not valid YAML ({getattr(exc, 'problem', None) or exc}{at}); this question was skipped"
            problems.append(Problem(file=name, field=where, reason=reason))
            entry = None  # keeps the numbering of the entries after it
        data["questions"].append(entry[0] if isinstance(entry, list) and len(entry) == 1 else entry)
    if not problems or len(problems) == len(items):
        return None, []  # no broken entry found, or nothing readable: report the file as a whole
    return data, problems


def parse_question(raw: Any, name: str, index: int) -> tuple[Question | None, list[Problem]]:
    """Validate one raw question mapping; return it, or None and what is wrong."""
    qid = raw.get("id") if isinstance(raw, dict) else None
    where = f"questions[{index}]" + (f" {qid}" if isinstance(qid, str) else "")
    if not isinstance(raw, dict):
        return None, [Problem(file=name, field=where, reason="must be a mapping of fields")]
    kind = raw.get("type")
    if kind not in TYPES:
        reason = "missing" if kind is None else f"{kind!r} is not one of {', '.join(TYPES)}"
        return None, [Problem(file=name, field=f"{where}.type", reason=reason)]
    try:
        return QUESTION.validate_python(raw), []
    except ValidationError as exc:
        return None, _problems(name, where, exc, kind)


def load_question_file(path: Path, name: str, text: str) -> tuple[list[Question], list[Problem]]:
    """All valid questions of one file's text, and the problems of the rest."""
    skipped: list[Problem] = []
    try:
        data = safe_load(text)
    except YAMLError as exc:
        data, skipped = load_items_one_by_one(name, text, exc)
        if data is None:
            return [], [Problem(file=name, field="", reason=f"is not valid YAML ({yaml_where(exc)})")]
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        return [], [Problem(file=name, field="questions", reason="the file must be a mapping with a `questions:` list")]
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        return [], [
            Problem(file=name, field="format_version", reason=f"{version!r} is not supported (this pathway reads {FORMAT_VERSION})")
        ]
    extra = sorted(set(data) - {"format_version", "questions"})
    problems = [Problem(file=name, field=key, reason="unknown top-level key") for key in extra] + skipped
    questions = []
    for index, raw in enumerate(data["questions"]):
        if raw is None and skipped:
            continue  # an entry that is not valid YAML, already reported
        question, found = parse_question(raw, name, index)
        problems.extend(found)
        if question is not None:
            questions.append(question)
    return questions, problems


def load_questions(root: Path, problems: list[Problem], sources: dict[str, str] | None = None) -> list[Question]:
    """Every valid question under `root/questions`, first id wins; problems are appended.

    `sources`, when given, is filled with question id -> file name (for reports).
    """
    from pathway.content.loader import read_text, relative

    seen: dict[str, str] = {}
    questions: list[Question] = []
    for path in sorted((root / QUESTIONS_DIR).glob("*.yaml")):
        name = relative(path, root)
        text = read_text(path, root, problems)
        if text is None:
            continue
        loaded, found = load_question_file(path, name, text)
        problems.extend(found)
        for question in loaded:
            if question.id in seen:
                problems.append(
                    Problem(file=name, field=f"{question.id}.id", reason=f"duplicate id (also in {seen[question.id]}); skipped")
                )
                continue
            seen[question.id] = name
            questions.append(question)
    if sources is not None:
        sources.update(seen)
    return questions


def load_topics(root: Path, problems: list[Problem]) -> list[Topic]:
    """The topic list from `root/topics.yaml`, or the one shipped with pathway when absent."""
    from pathway.content.loader import CONTENT_DIR, read_text

    path = root / TOPICS_FILE
    if not path.exists():
        path, root = CONTENT_DIR / TOPICS_FILE, CONTENT_DIR
    text = read_text(path, root, problems)
    if text is None:
        return []
    try:
        topics = TopicsFile.model_validate(safe_load(text)).topics
    except YAMLError as exc:
        problems.append(Problem(file=TOPICS_FILE, field="", reason=f"is not valid YAML ({yaml_where(exc)})"))
        return []
    except ValidationError as exc:
        problems.extend(
            Problem(file=TOPICS_FILE, field=".".join(str(p) for p in e["loc"]), reason=e["msg"]) for e in exc.errors()
        )
        return []
    ids = [topic.id for topic in topics]
    if sorted(ids) != list(range(1, 16)):
        problems.append(Problem(file=TOPICS_FILE, field="topics", reason="must list topics 1 to 15, each once"))
    return sorted(topics, key=lambda t: t.id)
