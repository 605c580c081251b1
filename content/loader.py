"""Load the course from a content folder; report every broken file and skip it.

    course = load_course()              # the content shipped with pathway
    course = load_course(Path("fixtures/content"))
    for problem in course.problems: print(problem)

Nothing here executes content: YAML goes through `yaml.safe_load` and lesson
code blocks are only collected (the test suite runs them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from pydantic import ValidationError

from pathway.content.yaml_text import YAMLError, safe_load, yaml_where
from pathway.content.schema import CodeBlock, Lesson, LessonFrontMatter, Manifest, Problem

if TYPE_CHECKING:
    from pathway.content.questions import Question, Topic

CONTENT_DIR = Path(__file__).parent
MANIFEST_NAME = "manifest.yaml"
FENCE = re.compile(r"^```(\S*)(.*)$")
SKIP = re.compile(r'skip="([^"]+)"')


@dataclass
class Course:
    """Everything that loaded, in roadmap order, plus what did not."""

    root: Path
    manifest: Manifest | None
    lessons: list[Lesson] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    questions: list["Question"] = field(default_factory=list)
    topics: list["Topic"] = field(default_factory=list)
    question_files: dict[str, str] = field(default_factory=dict)  # question id -> file it came from

    def __post_init__(self) -> None:
        self._lessons_by_id = {lesson.id: lesson for lesson in self.lessons}
        self._questions_by_id = {question.id: question for question in self.questions}
        self._topics_by_id = {topic.id: topic for topic in self.topics}

    def question(self, question_id: str) -> "Question | None":
        return self._questions_by_id.get(question_id)

    def topic(self, topic_id: int) -> "Topic | None":
        return self._topics_by_id.get(topic_id)

    def questions_for_lesson(self, lesson_id: str) -> list["Question"]:
        """The lesson's `question_ids` in order, then questions that name the lesson in `lesson_ids`."""
        lesson = self.lesson(lesson_id)
        ids = list(lesson.meta.question_ids) if lesson else []
        ids += [q.id for q in self.questions if lesson_id in q.lesson_ids and q.id not in ids]
        return [self._questions_by_id[i] for i in ids if i in self._questions_by_id]

    def lesson(self, lesson_id: str) -> Lesson | None:
        return self._lessons_by_id.get(lesson_id)

    def lessons_in_week(self, week: int) -> list[Lesson]:
        return [lesson for lesson in self.lessons if lesson.meta.week == week]

    def next_lesson(self, lesson_id: str, step: int = 1) -> Lesson | None:
        ids = [lesson.id for lesson in self.lessons]
        if lesson_id not in ids:
            return None
        index = ids.index(lesson_id) + step
        return self.lessons[index] if 0 <= index < len(ids) else None


def load_course(root: Path | None = None) -> Course:
    root = Path(root or CONTENT_DIR)
    problems: list[Problem] = []
    manifest = _load_manifest(root, problems)
    lessons = _load_lessons(root, manifest, problems)
    from pathway.content.questions import load_questions, load_topics

    topics = load_topics(root, problems)
    sources: dict[str, str] = {}
    questions = load_questions(root, problems, sources)
    return Course(
        root=root, manifest=manifest, lessons=lessons, problems=problems, questions=questions, topics=topics, question_files=sources
    )


# --- reading files -------------------------------------------------------------


def relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def read_text(path: Path, root: Path, problems: list[Problem]) -> str | None:
    """The file's text, or None with a problem for unreadable, non-UTF-8 or empty files."""
    name = relative(path, root)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(file=name, field="", reason=f"cannot be read ({exc.strerror})"))
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(
            Problem(file=name, field="", reason=f"is not valid UTF-8 (byte {exc.start}); save it as UTF-8")
        )
        return None
    if not text.strip():
        problems.append(Problem(file=name, field="", reason="is empty"))
        return None
    return text.lstrip("\ufeff")


def pydantic_reason(item: dict) -> str:
    """pydantic's message without the "Value error, " it puts before what our own validators say."""
    message = item["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message.removeprefix(prefix)
    return message


def pydantic_problems(name: str, error: ValidationError) -> Iterable[Problem]:
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"])
        yield Problem(file=name, field=where, reason=pydantic_reason(item))


def _load_manifest(root: Path, problems: list[Problem]) -> Manifest | None:
    path = root / MANIFEST_NAME
    if not path.exists():
        problems.append(Problem(file=MANIFEST_NAME, field="", reason="is missing"))
        return None
    text = read_text(path, root, problems)
    if text is None:
        return None
    try:
        return Manifest.model_validate(safe_load(text))
    except YAMLError as exc:
        problems.append(Problem(file=MANIFEST_NAME, field="", reason=f"is not valid YAML ({yaml_where(exc)})"))
    except ValidationError as exc:
        problems.extend(pydantic_problems(MANIFEST_NAME, exc))
    return None


# --- lessons ------------------------------------------------------------------


def split_front_matter(text: str) -> tuple[str, str, int] | None:
    """(front matter, body, line where the body starts) or None without front matter."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return None
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            return "".join(lines[1:index]), "".join(lines[index + 1 :]), index + 2
    return None


def parse_code_blocks(body: str, first_line: int) -> tuple[str, list[CodeBlock]]:
    """Collect ```python blocks; return the body with fence options stripped for display."""
    shown: list[str] = []
    blocks: list[CodeBlock] = []
    current: list[str] | None = None
    skip: str | None = None
    start = 0
    for offset, line in enumerate(body.splitlines(keepends=True)):
        match = FENCE.match(line.rstrip("\n"))
        if current is None and match and match.group(1):
            language, options = match.group(1), match.group(2)
            if language == "python":
                current, start = [], first_line + offset
                found = SKIP.search(options)
                skip = found.group(1) if found else None
            shown.append(f"```{language}\n")
            if language == "python" and skip:
                shown.insert(len(shown) - 1, f"*Not run here: {skip}.*\n\n")
            continue
        if current is not None and line.strip() == "```":
            blocks.append(CodeBlock(code="".join(current), line=start, skip=skip))
            current = None
        elif current is not None:
            current.append(line)
        shown.append(line)
    return "".join(shown), blocks


def load_lesson(path: Path, root: Path, problems: list[Problem]) -> Lesson | None:
    name = relative(path, root)
    text = read_text(path, root, problems)
    if text is None:
        return None
    parts = split_front_matter(text)
    if parts is None:
        problems.append(
            Problem(file=name, field="front matter", reason="missing: the file must start with a --- block")
        )
        return None
    front, body, body_line = parts
    try:
        data = safe_load(front)
    except YAMLError as exc:
        problems.append(Problem(file=name, field="front matter", reason=f"not valid YAML ({yaml_where(exc)})"))
        return None
    if not isinstance(data, dict):
        problems.append(Problem(file=name, field="front matter", reason="must be a mapping of fields"))
        return None
    try:
        meta = LessonFrontMatter.model_validate(data)
    except ValidationError as exc:
        problems.extend(pydantic_problems(name, exc))
        return None
    shown, blocks = parse_code_blocks(body, body_line)
    zh_path = path.with_suffix(".zh.md")
    body_zh = None
    if zh_path.exists():
        zh_text = read_text(zh_path, root, problems)
        body_zh = parse_code_blocks(zh_text, 1)[0] if zh_text else None
    return Lesson(meta=meta, body=shown, body_zh=body_zh, code_blocks=blocks, path=path)


def _load_lessons(root: Path, manifest: Manifest | None, problems: list[Problem]) -> list[Lesson]:
    lessons: dict[str, Lesson] = {}
    for path in sorted((root / "lessons").glob("**/*.md")):
        if path.name.endswith(".zh.md"):
            continue
        lesson = load_lesson(path, root, problems)
        if lesson is None:
            continue
        name = relative(path, root)
        if lesson.id in lessons:
            first = relative(lessons[lesson.id].path, root)
            problems.append(Problem(file=name, field="id", reason=f"duplicate id {lesson.id!r} (also in {first}); skipped"))
            continue
        if manifest is not None:
            week = next((w for w in manifest.weeks if w.week == lesson.meta.week), None)
            if week is None:
                problems.append(Problem(file=name, field="week", reason=f"week {lesson.meta.week} is not in the manifest"))
                continue
            if week.phase != lesson.meta.phase:
                problems.append(
                    Problem(file=name, field="phase", reason=f"week {week.week} belongs to phase {week.phase}, not {lesson.meta.phase}")
                )
                continue
        lessons[lesson.id] = lesson
    ordered = sorted(lessons.values(), key=lambda l: (l.meta.week, l.meta.order, l.id))
    known = set(lessons)
    for lesson in ordered:
        for prerequisite in lesson.meta.prerequisites:
            if prerequisite not in known:
                problems.append(
                    Problem(file=relative(lesson.path, root), field="prerequisites", reason=f"unknown lesson id {prerequisite!r}")
                )
    return ordered
