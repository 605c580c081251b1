"""The checker's gates on answer-length cues and on each lesson's Chinese body, on small copies of the fixtures."""

from __future__ import annotations

import shutil
from pathlib import Path

from pathway.content.cues import cue_problems, length_cues
from pathway.content.lesson_checks import check_translations
from pathway.content.loader import load_course
from pathway.content.questions import SingleQuestion

FIXTURE = Path(__file__).parent / "fixtures" / "content"


def single(i: int, key: str, distractors: list[str], topic: int = 1) -> SingleQuestion:
    text = lambda s: {"en": s, "zh": s}  # noqa: E731
    return SingleQuestion.model_validate({
        "id": f"t01-cue-{i}", "topic": topic, "phase": 1, "week": 1, "difficulty": "E", "type": "single", "tags": [],
        "prompt": text("Which one?"), "explanation": text("Because."), "references": [],
        "choices": [{"text": text(key), "correct": True, "why": text("right")}]
        + [{"text": text(d), "correct": False, "why": text("wrong")} for d in distractors],
    })


def test_a_bank_whose_keys_are_the_longest_fails_and_a_balanced_one_passes():
    giveaway = [single(i, "the long and careful right answer", ["short", "brief", "tiny"]) for i in range(24)]
    problems = cue_problems(length_cues(giveaway))
    assert any("strictly longest option in 24 of 24" in p for p in problems)
    assert any("median key is" in p for p in problems)
    balanced = [single(i, "answer one", ["answer two", "option 3rd", "choice 4th"]) for i in range(24)]  # all ten characters
    assert cue_problems(length_cues(balanced)) == []


def translated_copy(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(FIXTURE, root)
    return root


def problems_of(root: Path) -> list[str]:
    course = load_course(root)
    return [f"{p.file} {p.field}: {p.reason}" for p in check_translations(course.lessons, [], root)]


def test_matching_chinese_bodies_pass(tmp_path):
    assert problems_of(translated_copy(tmp_path)) == []


def test_a_missing_body_a_changed_code_block_and_a_lost_heading_are_each_named(tmp_path):
    root = translated_copy(tmp_path)
    (root / "lessons/week01/layout.zh.md").unlink()
    shapes = root / "lessons/week02/shapes.zh.md"
    shapes.write_text(shapes.read_text(encoding="utf-8").replace("shape = (4, 3)", "shape = (4, 4)"), encoding="utf-8")
    arrays = root / "lessons/week01/arrays.zh.md"
    arrays.write_text(arrays.read_text(encoding="utf-8").replace("## 代码实践\n", ""), encoding="utf-8")
    found = "\n".join(problems_of(root))
    assert "layout.zh.md : lesson w01-layout has no Chinese body" in found
    assert "shapes.zh.md code blocks: code block 1 differs" in found
    assert "arrays.zh.md heading levels" in found


def test_an_explanation_that_names_an_option_by_position_fails():
    from pathway.content.bank_checks import _check_text

    def reasons(question) -> list[str]:
        found: list[str] = []
        _check_text(question, lambda q, where, reason, file=None: found.append(f"{where}: {reason}"), lambda *a, **k: None)
        return found

    by_content = single(1, "a right answer", ["wrong one", "wrong two"])
    assert not [r for r in reasons(by_content) if "position" in r]
    data = single(2, "a right answer", ["wrong one", "wrong two"]).model_dump()
    data["explanation"]["en"] = "The second option is a common slip."
    data["choices"][1]["why"]["zh"] = "第三个选项也不对。"
    by_position = SingleQuestion.model_validate(data)
    flagged = [r for r in reasons(by_position) if "by its position" in r]
    assert [r.split(":")[0] for r in flagged] == ["explanation", "choices.1.why"]
