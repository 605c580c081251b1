"""The course loader: good content loads in order; each kind of broken file is reported and skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from pathway.content.loader import load_course

GOOD_FRONT = """---
id: {id}
phase: 1
week: 2
order: 5
title: {{en: "Extra", zh: "额外"}}
minutes: 5
objectives: ["x"]
---
Body.
"""


def problems_for(course, name: str) -> list:
    return [p for p in course.problems if p.file.endswith(name)]


def test_fixture_course_loads_in_roadmap_order(content_dir: Path) -> None:
    course = load_course(content_dir)
    assert course.problems == []
    assert [lesson.id for lesson in course.lessons] == ["w01-arrays", "w01-layout", "w02-shapes"]
    assert course.next_lesson("w01-layout").id == "w02-shapes"
    assert course.next_lesson("w01-arrays", -1) is None


def test_code_blocks_are_collected_with_skip_reasons(content_dir: Path) -> None:
    lesson = load_course(content_dir).lesson("w01-arrays")
    runnable, skipped = lesson.code_blocks
    assert "doubled" in runnable.code and runnable.skip is None
    assert skipped.skip == "shows a GPU-only call"
    assert 'skip="' not in lesson.body, "fence options are stripped for display"
    assert "Not run here: shows a GPU-only call" in lesson.body


@pytest.mark.parametrize(
    "content, reason",
    [
        ("", "is empty"),
        ("   \n\n", "is empty"),
        ("# No front matter\n", "missing"),
        ("---\nid: [unclosed\n---\nbody\n", "not valid YAML"),
        ("---\n- a list\n---\nbody\n", "must be a mapping"),
    ],
)
def test_broken_lesson_files_are_reported(content_dir: Path, content: str, reason: str) -> None:
    (content_dir / "lessons" / "week02" / "broken.md").write_text(content)
    course = load_course(content_dir)
    found = problems_for(course, "broken.md")
    assert found and reason in found[0].reason
    assert len(course.lessons) == 3, "the rest still loads"


def test_missing_and_wrong_fields_name_the_field(content_dir: Path) -> None:
    text = GOOD_FRONT.format(id="w02-extra").replace("minutes: 5\n", "").replace("order: 5", "order: zero")
    (content_dir / "lessons" / "week02" / "fields.md").write_text(text)
    fields = {p.field for p in problems_for(load_course(content_dir), "fields.md")}
    assert fields == {"minutes", "order"}


def test_invalid_utf8_is_reported(content_dir: Path) -> None:
    (content_dir / "lessons" / "week02" / "latin1.md").write_bytes(GOOD_FRONT.format(id="w02-latin").encode() + b"caf\xe9\n")
    found = problems_for(load_course(content_dir), "latin1.md")
    assert found and "not valid UTF-8" in found[0].reason


def test_duplicate_id_keeps_the_first_and_names_both(content_dir: Path) -> None:
    (content_dir / "lessons" / "week02" / "zz-dup.md").write_text(GOOD_FRONT.format(id="w01-arrays"))
    course = load_course(content_dir)
    found = problems_for(course, "zz-dup.md")
    assert found and "duplicate id" in found[0].reason and "arrays.md" in found[0].reason
    assert course.lesson("w01-arrays").meta.week == 1


def test_week_outside_manifest_and_wrong_phase(content_dir: Path) -> None:
    (content_dir / "lessons" / "week02" / "late.md").write_text(GOOD_FRONT.format(id="w09-late").replace("week: 2", "week: 9"))
    (content_dir / "lessons" / "week02" / "phase.md").write_text(GOOD_FRONT.format(id="w03-phase").replace("week: 2", "week: 3"))
    course = load_course(content_dir)
    assert "not in the manifest" in problems_for(course, "late.md")[0].reason
    assert "belongs to phase 2" in problems_for(course, "phase.md")[0].reason


def test_unknown_prerequisite_is_reported(content_dir: Path) -> None:
    text = GOOD_FRONT.format(id="w02-extra").replace("objectives", "prerequisites: [w99-nothing]\nobjectives")
    (content_dir / "lessons" / "week02" / "prereq.md").write_text(text)
    found = problems_for(load_course(content_dir), "prereq.md")
    assert found and found[0].field == "prerequisites"


def test_broken_manifest_is_reported_and_lessons_still_load(content_dir: Path) -> None:
    (content_dir / "manifest.yaml").write_text("format_version: 7\ntitle: {en: x}\nphases: []\nweeks: []\n")
    course = load_course(content_dir)
    assert course.manifest is None
    assert {p.file for p in course.problems} == {"manifest.yaml"}
    assert len(course.lessons) == 3


def test_chinese_body_is_used_when_present(content_dir: Path) -> None:
    (content_dir / "lessons" / "week02" / "shapes.zh.md").write_text("## 思路\n\n形状是一个元组。\n")
    (content_dir / "lessons" / "week01" / "arrays.zh.md").unlink()  # without a Chinese body, English is shown
    lesson = load_course(content_dir).lesson("w02-shapes")
    assert "形状是一个元组" in lesson.text("zh")
    assert "A shape is a tuple" in lesson.text("en")
    assert load_course(content_dir).lesson("w01-arrays").text("zh") == load_course(content_dir).lesson("w01-arrays").body


def test_loading_never_runs_code(content_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    (content_dir / "lessons" / "week02" / "evil.md").write_text(
        GOOD_FRONT.format(id="w02-evil") + f"\n```python\nopen({str(marker)!r}, 'w').write('x')\n```\n"
    )
    (content_dir / "lessons" / "week02" / "yaml.md").write_text(
        "---\n!!python/object/apply:os.system ['touch " + str(marker) + "']\n---\n"
    )
    course = load_course(content_dir)
    assert not marker.exists()
    assert problems_for(course, "yaml.md")


def test_shipped_course_loads_without_problems() -> None:
    course = load_course()
    assert course.problems == [], "\n".join(map(str, course.problems))
    assert course.manifest is not None and len(course.manifest.weeks) == 24
    weeks_with_lessons = {lesson.meta.week for lesson in course.lessons}
    assert {1, 2, 3, 4} <= weeks_with_lessons


QUIZ_FIXTURE = Path(__file__).parent / "fixtures" / "quiz_content"


@pytest.fixture
def quiz_content(tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "quiz_content"
    shutil.copytree(QUIZ_FIXTURE, target)
    return target


def test_an_entry_that_is_not_valid_yaml_costs_that_question_not_its_file(quiz_content: Path) -> None:
    path = quiz_content / "questions" / "t01-tensors.yaml"
    text = path.read_text()
    good = {q.id for q in load_course(quiz_content).questions if q.id.startswith("t01-")}
    assert len(good) == 4
    path.write_text(text.replace("tags: [broadcasting]", "tags: [@broadcasting]", 1))  # `@` cannot start a YAML token

    course = load_course(quiz_content)
    loaded = {q.id for q in course.questions if q.id.startswith("t01-")}
    assert loaded == good - {"t01-broadcast-shape"}, "the other questions of the file still load"
    [problem] = problems_for(course, "t01-tensors.yaml")
    assert problem.field == "questions[0] t01-broadcast-shape"
    assert "not valid YAML" in problem.reason and "line 9" in problem.reason and "skipped" in problem.reason


def test_a_broken_file_header_still_reports_the_whole_file(quiz_content: Path) -> None:
    path = quiz_content / "questions" / "t01-tensors.yaml"
    path.write_text(path.read_text().replace("format_version: 1", "format_version: [1", 1))
    course = load_course(quiz_content)
    [problem] = problems_for(course, "t01-tensors.yaml")
    assert problem.field == "" and "is not valid YAML" in problem.reason
    assert not any(q.id.startswith("t01-") for q in course.questions)


def test_validator_messages_lose_pydantics_value_error_prefix(quiz_content: Path) -> None:
    path = quiz_content / "questions" / "t01-tensors.yaml"
    path.write_text(path.read_text().replace("correct: false, why: {en: \"The order", "correct: true, why: {en: \"The order", 1))
    [problem] = problems_for(load_course(quiz_content), "t01-tensors.yaml")
    assert problem.reason.startswith("a single-choice question needs exactly one correct choice"), problem.reason
