"""The question bank: loading every type, reporting each kind of bad question, the checker and its matrix."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from pathway.cli import main
from pathway.content.bank_checks import check_bank
from pathway.content.loader import load_course
from pathway.content.questions import TYPES

FIXTURES = Path(__file__).parent / "fixtures"
GOOD = FIXTURES / "quiz_content"
BAD = FIXTURES / "questions_bad"


def fields(problems, file: str | None = None) -> dict[str, str]:
    """field -> reason for the problems (of one file)."""
    return {p.field: p.reason for p in problems if file is None or p.file.endswith(file)}


def test_every_type_loads_from_the_good_fixture() -> None:
    course = load_course(GOOD)
    assert course.problems == []
    assert sorted({q.type for q in course.questions}) == sorted(TYPES)
    assert len(course.topics) == 15 and course.topic(7).slug == "transformer"
    single = course.question("t01-broadcast-shape")
    assert single.prompt.get("zh").startswith("`torch.ones")
    assert single.hints[0].get("en") == "Align the shapes from the right."
    assert course.question_files["t02-softmax-stable"] == "questions/t02-autograd.yaml"
    assert [q.id for q in course.questions_for_lesson("tensors-basics")] == ["t01-broadcast-shape", "t01-view-contiguous"]


def test_good_fixture_passes_the_full_check() -> None:
    report = check_bank(load_course(GOOD))
    assert report.errors == []
    matrix = report.coverage["matrix"]
    assert matrix["1"]["single"] == {"E": 1, "M": 0, "H": 0}
    assert matrix["2"]["code"]["H"] == 1
    assert report.coverage["questions_per_lesson"] == {"tensors-basics": 2, "autograd-basics": 0}
    assert report.coverage["tags"]["spot-the-bug"] == 1


def test_bad_questions_are_reported_and_skipped_while_the_rest_loads() -> None:
    course = load_course(BAD)
    loaded = {q.id for q in course.questions}
    assert "t01-good-single" in loaded, "a good question in a file with bad ones still loads"
    assert {"t01-missing-zh", "t01-wrong-answer", "t01-weak-tests"} <= loaded
    mixed = fields(course.problems, "t01-mixed.yaml")
    assert "exactly one correct choice, found 2" in mixed["questions[1] t01-two-correct"]
    assert "at least two correct and one wrong choice, found 1 and 2" in mixed["questions[2] t01-multi-one-correct"]
    assert "at least 3 items" in mixed["questions[3] t01-two-choices.choices"]
    assert mixed["questions[4] t01-no-explanation.explanation"] == "Field required"
    assert "'essay' is not one of" in mixed["questions[5] t01-unknown-type.type"]
    assert mixed["questions[6]"] == "must be a mapping of fields"
    assert "duplicate id (also in questions/t01-bank.yaml)" in mixed["t01-missing-zh.id"]
    assert not loaded & {"t01-two-correct", "t01-multi-one-correct", "t01-two-choices", "t01-no-explanation"}
    assert "not valid YAML" in fields(course.problems, "broken-yaml.yaml")[""]
    assert "99 is not supported" in fields(course.problems, "old-version.yaml")["format_version"]


@pytest.fixture(scope="module")
def bad_report():
    return check_bank(load_course(BAD))


@pytest.mark.parametrize(
    "field, reason",
    [
        ("t01-missing-zh.choices.0.why", "has no zh text"),
        ("t01-all-of-the-above.choices.2.text", "no 'all/none of the above'"),
        ("t01-dup-prompt.prompt.en", "same prompt as t01-missing-zh"),
        ("t01-dup-prompt.prompt.zh", "same prompt as t01-missing-zh"),
        ("t01-wrong-answer.answer", "is 40 but the derivation gives 20"),
        ("t01-broken-derivation.derivation", "ZeroDivisionError"),
        ("t02-wrong-prefix.id", "start with 't01-'"),
        ("t02-wrong-prefix.week", "week 9 is not in the manifest"),
        ("t02-wrong-prefix.lesson_ids", "unknown lesson id 'no-such-lesson'"),
        ("t01-phase-mismatch.phase", "belongs to phase 1, not 4"),
        ("question_ids", "unknown question id 't01-no-such-question'"),
        ("t01-solution-fails.solution", "does not pass its tests"),
        ("t01-starter-passes.starter", "would start solved"),
        ("t01-weak-tests.buggy_variants.0", "too weak to catch it"),
        ("t01-no-variants.buggy_variants", "at least one buggy variant"),
    ],
)
def test_checker_reports_each_kind_of_bank_error(bad_report, field: str, reason: str) -> None:
    found = [p for p in bad_report.errors if p.field == field]
    assert found, f"no problem for {field}: {[str(p) for p in bad_report.errors]}"
    assert any(reason in p.reason for p in found), found


def test_failing_solution_names_the_failed_assertion(bad_report) -> None:
    reason = fields(bad_report.errors)["t01-solution-fails.solution"]
    assert "assert double(3) == 6" in reason


def write_bank(root: Path, questions: list[dict]) -> None:
    (root / "questions").mkdir(parents=True, exist_ok=True)
    shutil.copy(GOOD / "manifest.yaml", root / "manifest.yaml")
    text = yaml.safe_dump({"format_version": 1, "questions": questions}, allow_unicode=True)
    (root / "questions" / "bank.yaml").write_text(text, encoding="utf-8")


def single(index: int, correct_at: int) -> dict:
    return {
        "id": f"t05-q{index}",
        "topic": 5,
        "phase": 1,
        "week": 1,
        "difficulty": "EMH"[index % 3],
        "type": "single",
        "prompt": {"en": f"Question number {index}?", "zh": f"第 {index} 题？"},
        "explanation": {"en": "e", "zh": "解"},
        "references": [{"title": "t", "url": "https://example.org"}],
        "choices": [
            # distinct wording per question, so the near-duplicate check leaves them alone
            {"text": {"en": f"answer {index}.{k}", "zh": f"答案 {index}.{k}"}, "correct": k == correct_at, "why": {"en": "w", "zh": "因"}}
            for k in range(4)
        ],
    }


def test_correct_position_balance(tmp_path: Path) -> None:
    write_bank(tmp_path, [single(i, correct_at=0 if i < 4 else i % 4) for i in range(12)])
    errors = check_bank(load_course(tmp_path), run_code=False).errors
    assert [p.reason for p in errors if "position 1" in p.reason], "5 of 12 at position 1 is 42%"
    write_bank(tmp_path, [single(i, correct_at=i % 4) for i in range(12)])
    assert check_bank(load_course(tmp_path), run_code=False).errors == []


def test_difficulty_mix_is_a_warning_not_an_error(tmp_path: Path) -> None:
    bank = [single(i, correct_at=i % 4) for i in range(12)]
    for question in bank:
        question["difficulty"] = "E"
    write_bank(tmp_path, bank)
    report = check_bank(load_course(tmp_path), run_code=False)
    assert report.errors == []
    assert any("E is 100% of the bank" in p.reason for p in report.warnings)


def test_cli_check_exit_codes_and_json(capsys) -> None:
    assert main(["--content-dir", str(GOOD), "content", "check", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["problems"] == [] and report["ran_code"] is True
    assert report["questions"]["questions"] == 7
    assert main(["--content-dir", str(BAD), "content", "check", "--fast"]) == 1
    out = capsys.readouterr().out
    assert "Code exercises were not run (--fast)" in out
    assert "t01-two-correct" in out and "t01-solution-fails" not in out


def test_cli_prints_the_coverage_matrix(capsys) -> None:
    assert main(["--content-dir", str(GOOD), "content", "check"]) == 0
    out = capsys.readouterr().out
    assert "Questions by topic x type (cells: E/M/H)" in out
    assert "python-tensors" in out and "4/40" in out
    assert "Questions per lesson: tensors-basics 2" in out


def test_loading_never_runs_content_code(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    bank = [single(0, 0)]
    bank[0]["type"] = "numeric"
    del bank[0]["choices"]
    bank[0].update(answer=1, tolerance=0, unit="", derivation=f"open({str(marker)!r}, 'w').write('x') and 1")
    write_bank(tmp_path, bank)
    course = load_course(tmp_path)
    assert course.problems == [] and not marker.exists()
