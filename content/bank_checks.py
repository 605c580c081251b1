"""Rules about the question bank as a whole, for `pathway content check`.

    report = check_bank(load_course(), run_code=True)
    report.errors, report.warnings, report.coverage

The loader already rejected questions that do not fit their type (see
`questions.py`). These checks need more than one question, the lessons, or
running code: bilingual text everywhere, no "all/none of the above", id
prefixes, duplicate prompts, correct-position balance, dangling lesson links,
weeks and phases against the manifest, numeric derivations recomputed and code
exercises run (solution passes; starter and every buggy variant fail). Code and
derivations run in child processes (`exercise_runner`), never in this one.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from pathway.content import clusters, consistency, cues
from pathway.quiz.exercise_runner import ExerciseJob, evaluate_derivations, run_exercises
from pathway.content.lesson_checks import check_translations
from pathway.content.loader import Course, relative
from pathway.content.questions import DIFFICULTIES, TYPES, CodeQuestion, NumericQuestion, Question
from pathway.content.schema import Problem, Text, slug_words

GLOSSARY_NAME = "glossary.yaml"
POSITION_SHARE_MAX = 0.35  # no choice position may hold the right answer more often than this
POSITION_MIN_SAMPLE = 10  # below this many single-choice questions the share means little
DIFFICULTY_MIX = {"E": (0.30, 0.40), "M": (0.40, 0.50), "H": (0.15, 0.25)}
# "the second option", "option B", "第二个选项": wrong once the choices are shuffled at every showing.
POSITIONAL = re.compile(
    r"\b(?:first|second|third|fourth|fifth|last) (?:option|choice)\b|\b(?:option|choice) [A-E1-5]\b|第[一二三四五1-5]个?选项|选项 ?[A-E1-5](?![\w])",
    re.IGNORECASE,
)
FILLER_CHOICES = re.compile(
    r"\b(all|none|both|neither) of the (above|others|options)\b|以上(都|皆|均|全)|都不(是|对|正确)|以上皆非",
    re.IGNORECASE,
)


@dataclass
class BankReport:
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    coverage: dict = field(default_factory=dict)
    ran_code: bool = True
    seconds: float = 0.0


def check_bank(course: Course, *, run_code: bool = True, workers: int | None = None) -> BankReport:
    """Every bank rule of CONTENT.md; code exercises run only when `run_code`."""
    started = time.monotonic()
    report = BankReport(ran_code=run_code)
    file_of = course.question_files

    def error(question: Question | None, where: str, reason: str, file: str | None = None) -> None:
        report.errors.append(_problem(question, where, reason, file, file_of))

    def warn(question: Question | None, where: str, reason: str, file: str | None = None) -> None:
        report.warnings.append(_problem(question, where, reason, file, file_of))

    for question in course.questions:
        _check_text(question, error, warn)
        _check_place(course, question, error)
    _check_duplicate_prompts(course.questions, error)
    _check_near_duplicates(course.questions, error)
    _check_glossary(course, error, warn)
    _check_positions(course.questions, error)
    for problem in cues.cue_problems(cues.length_cues(course.questions)):
        error(None, "choices", f"{problem}: write distractors as specific as the key, or trim the key")
    _check_links(course, error)
    _check_mix(course.questions, warn)
    _check_derivations(course.questions, error)
    if run_code:
        _check_code(course.questions, error, workers)
    report.coverage = coverage(course)
    report.seconds = time.monotonic() - started
    return report


def _problem(question: Question | None, where: str, reason: str, file: str | None, file_of: dict[str, str]) -> Problem:
    if question is None:
        return Problem(file=file or "questions", field=where, reason=reason)
    name = file or file_of.get(question.id, "questions")
    return Problem(file=name, field=f"{question.id}.{where}" if where else question.id, reason=reason)


# --- one question at a time ---------------------------------------------------------


def texts(question: Question) -> Iterable[tuple[str, Text]]:
    """Every bilingual text of a question, with its field path."""
    yield "prompt", question.prompt
    yield "explanation", question.explanation
    for i, hint in enumerate(question.hints):
        yield f"hints.{i}", hint
    for i, choice in enumerate(getattr(question, "choices", [])):
        yield f"choices.{i}.text", choice.text
        yield f"choices.{i}.why", choice.why
    for i, item in enumerate(getattr(question, "items", [])):
        yield f"items.{i}.text", item.text
    if hasattr(question, "model_answer"):
        yield "model_answer", question.model_answer
        for i, point in enumerate(question.rubric):
            yield f"rubric.{i}", point
    for i, variant in enumerate(getattr(question, "buggy_variants", [])):
        yield f"buggy_variants.{i}.why", variant.why


def _check_text(question: Question, error, warn) -> None:
    for where, text in texts(question):
        if not text.zh:
            error(question, where, "has no zh text: every question is bilingual")
    for i, choice in enumerate(getattr(question, "choices", [])):
        for language in ("en", "zh"):
            value = getattr(choice.text, language) or ""
            if FILLER_CHOICES.search(value):
                error(question, f"choices.{i}.text", f"{value!r}: no 'all/none of the above' choices")
    if hasattr(question, "choices"):
        for where, text in texts(question):
            for language in ("en", "zh"):
                if POSITIONAL.search(getattr(text, language) or ""):
                    error(question, where, "names an option by its position, but choices are shown shuffled: name it by what it says")
        # Only case and spacing are ignored: in code, `/` and `//` are different answers.
        seen = Counter(" ".join(choice.text.en.lower().split()) for choice in question.choices)
        if any(count > 1 for count in seen.values()):
            error(question, "choices", "two choices say the same thing")
    prefix = f"t{question.topic:02d}-"
    if not question.id.startswith(prefix):
        error(question, "id", f"ids of topic {question.topic} start with {prefix!r}")
    if not question.references:
        warn(question, "references", "cites no primary source")


def _check_place(course: Course, question: Question, error) -> None:
    if course.topics and course.topic(question.topic) is None:
        error(question, "topic", f"topic {question.topic} is not in topics.yaml")
    if course.manifest is None:
        return
    week = next((w for w in course.manifest.weeks if w.week == question.week), None)
    if week is None:
        error(question, "week", f"week {question.week} is not in the manifest")
    elif week.phase != question.phase:
        error(question, "phase", f"week {week.week} belongs to phase {week.phase}, not {question.phase}")


# --- the bank as a whole --------------------------------------------------------------


def _check_duplicate_prompts(questions: list[Question], error) -> None:
    for language in ("en", "zh"):
        first: dict[str, Question] = {}
        for question in questions:
            text = getattr(question.prompt, language)
            key = slug_words(text or "")
            if not key:
                continue
            if key in first:
                error(question, f"prompt.{language}", f"same prompt as {first[key].id} (after normalising case and punctuation)")
            else:
                first[key] = question


def _check_near_duplicates(questions: list[Question], error) -> None:
    for similarity, first, second in consistency.near_duplicates(questions):
        error(second, "prompt", f"near duplicate of {first.id} ({similarity:.0%} of their wording is shared)")


def _check_glossary(course: Course, error, warn) -> None:
    terms, problems = consistency.load_glossary(course.root / GLOSSARY_NAME)
    for problem in problems:
        error(None, problem.field, problem.reason, file=problem.file)
    places: dict[str, list[str]] = {}
    for question, where, term in consistency.glossary_mismatches(course.questions, terms):
        places.setdefault(f"{term.en!r} → {term.zh!r}", []).append(f"{question.id}.{where}")
    for term, where in sorted(places.items(), key=lambda item: -len(item[1])):
        more = f" and {len(where) - 3} more" if len(where) > 3 else ""
        warn(None, "", f"glossary term {term}: the Chinese uses another rendering in {', '.join(where[:3])}{more}", file=GLOSSARY_NAME)
    for problem in check_translations(course.lessons, terms, course.root):
        error(None, problem.field, problem.reason, file=problem.file)


def correct_positions(questions: list[Question]) -> Counter:
    """How often each choice position (1-based) holds the answer of a single-choice question."""
    return Counter(q.correct_indices[0] + 1 for q in questions if q.type == "single")


def _check_positions(questions: list[Question], error) -> None:
    positions = correct_positions(questions)
    total = sum(positions.values())
    if total < POSITION_MIN_SAMPLE:
        return
    for position, count in sorted(positions.items()):
        if count / total > POSITION_SHARE_MAX:
            error(
                None,
                "choices",
                f"the correct choice is at position {position} in {count} of {total} single-choice questions "
                f"({count / total:.0%}, more than {POSITION_SHARE_MAX:.0%}): move some answers",
            )


def _check_links(course: Course, error) -> None:
    lesson_ids = {lesson.id for lesson in course.lessons}
    question_ids = {question.id for question in course.questions}
    for question in course.questions:
        for lesson_id in question.lesson_ids:
            if lesson_id not in lesson_ids:
                error(question, "lesson_ids", f"unknown lesson id {lesson_id!r}")
    for lesson in course.lessons:
        name = relative(lesson.path, course.root)
        for question_id in lesson.meta.question_ids:
            if question_id not in question_ids:
                error(None, "question_ids", f"unknown question id {question_id!r}", file=name)


def _check_mix(questions: list[Question], warn) -> None:
    if not questions:
        return
    counts = Counter(q.difficulty for q in questions)
    for level, (low, high) in DIFFICULTY_MIX.items():
        share = counts[level] / len(questions)
        if not low <= share <= high:
            warn(None, "difficulty", f"{level} is {share:.0%} of the bank (aim for {low:.0%}-{high:.0%})")


# --- running things ---------------------------------------------------------------------


def _check_derivations(questions: list[Question], error) -> None:
    numeric = [q for q in questions if isinstance(q, NumericQuestion)]
    # One process: derivations take milliseconds, and a torch import is paid once, not per worker.
    values = evaluate_derivations([q.derivation for q in numeric], workers=1)
    for question, value in zip(numeric, values):
        if isinstance(value, str):
            error(question, "derivation", f"does not compute: {value}")
        elif abs(value - question.answer) > question.tolerance + 1e-9 * max(1.0, abs(question.answer)):
            error(question, "answer", f"is {question.answer:g} but the derivation gives {value:g} (tolerance {question.tolerance:g})")


def _check_code(questions: list[Question], error, workers: int | None) -> None:
    code = [q for q in questions if isinstance(q, CodeQuestion)]
    jobs: list[ExerciseJob] = []
    labels: list[tuple[CodeQuestion, str]] = []
    for question in code:
        if not question.buggy_variants:
            error(question, "buggy_variants", "needs at least one buggy variant that the tests catch")
        versions = [("solution", question.solution), ("starter", question.starter)]
        versions += [(f"buggy_variants.{i}", v.code) for i, v in enumerate(question.buggy_variants)]
        for where, source in versions:
            jobs.append(ExerciseJob(code=source, tests=question.tests, timeout_s=question.timeout_s))
            labels.append((question, where))
    for (question, where), result in zip(labels, run_exercises(jobs, workers=workers)):
        if where == "solution" and not result.passed:
            failed = "; ".join(f"{t.name}: {t.message}" for t in result.failed_tests) or result.message
            error(question, "solution", f"does not pass its tests ({result.status}: {failed})")
        elif where == "starter" and result.passed:
            error(question, where, "passes the tests: the exercise would start solved")
        elif where != "solution" and result.passed:
            error(question, where, "passes the tests: the tests are too weak to catch it")
        elif where != "solution" and result.status in ("timeout", "crashed"):
            error(question, where, f"fails by {result.status}, not by a test: {result.message}")


# --- coverage ----------------------------------------------------------------------------


def coverage(course: Course) -> dict:
    """Counts for the coverage matrix (JSON-able): topic x type x difficulty, lessons, positions."""
    matrix: dict[str, dict[str, dict[str, int]]] = {}
    for topic in range(1, 16):
        matrix[str(topic)] = {kind: {level: 0 for level in DIFFICULTIES} for kind in TYPES}
    for question in course.questions:
        matrix[str(question.topic)][question.type][question.difficulty] += 1
    weeks = course.manifest.weeks if course.manifest else []
    return {
        "questions": len(course.questions),
        "matrix": matrix,
        "by_type": dict(Counter(q.type for q in course.questions)),
        "by_difficulty": {level: sum(q.difficulty == level for q in course.questions) for level in DIFFICULTIES},
        "targets": {str(t.id): t.target for t in course.topics},
        "topic_names": {str(t.id): t.title.en for t in course.topics},
        "topic_slugs": {str(t.id): t.slug for t in course.topics},
        "questions_per_week": {str(w.week): sum(q.week == w.week for q in course.questions) for w in weeks},
        "lessons_per_week": {str(w.week): len(course.lessons_in_week(w.week)) for w in weeks},
        "questions_per_lesson": {lesson.id: len(course.questions_for_lesson(lesson.id)) for lesson in course.lessons},
        "correct_positions": {str(k): v for k, v in sorted(correct_positions(course.questions).items())},
        "tags": {tag: sum(tag in q.tags for q in course.questions) for tag in ("spot-the-bug", "bridge")},
        "length_cues": cues.summary(cues.length_cues(course.questions)),
        "clusters": clusters.cluster_counts(course.questions),
    }
