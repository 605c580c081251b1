"""Bank-wide consistency checks: near-duplicate questions and the glossary."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from pathway.content import consistency
from pathway.content.bank_checks import check_bank
from pathway.content.loader import load_course

FIXTURE = Path(__file__).parent / "fixtures" / "quiz_content"


def copy_fixture(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(FIXTURE, root)
    return root


def test_reworded_copy_is_a_near_duplicate(tmp_path: Path) -> None:
    root = copy_fixture(tmp_path)
    path = root / "questions" / "t01-tensors.yaml"
    data = yaml.safe_load(path.read_text())
    copy = dict(data["questions"][0])
    copy["id"] = "t01-broadcast-shape-again"
    copy["prompt"] = {"en": "So what is the shape of `torch.ones(3, 1) + torch.ones(4)`, then?", "zh": "那么 `torch.ones(3, 1) + torch.ones(4)` 的 shape 是什么？"}
    data["questions"].append(copy)
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    report = check_bank(load_course(root), run_code=False)
    found = [p for p in report.errors if "near duplicate" in p.reason]
    assert len(found) == 1 and "t01-broadcast-shape-again" in found[0].field and "t01-broadcast-shape" in found[0].reason


def test_different_questions_with_the_same_template_are_not_duplicates() -> None:
    course = load_course()
    pairs = consistency.near_duplicates(course.questions)
    assert pairs == [], [(round(s, 2), a.id, b.id) for s, a, b in pairs]


def test_glossary_with_two_translations_of_a_term_is_an_error(tmp_path: Path) -> None:
    root = copy_fixture(tmp_path)
    (root / "glossary.yaml").write_text(
        "format_version: 1\nterms:\n  - {en: gradient accumulation, zh: 梯度累加}\n  - {en: Gradient Accumulation, zh: 梯度累积}\n",
        encoding="utf-8",
    )
    report = check_bank(load_course(root), run_code=False)
    assert any("translated twice" in p.reason and p.file == "glossary.yaml" for p in report.errors)


def test_term_rendered_differently_is_a_warning(tmp_path: Path) -> None:
    root = copy_fixture(tmp_path)
    (root / "glossary.yaml").write_text("format_version: 1\nterms:\n  - {en: memory, zh: 内存}\n", encoding="utf-8")
    path = root / "questions" / "t01-tensors.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("clone allocates new memory.", "clone allocates new memory.").replace("clone 会分配新内存。", "clone 会分配新的存储。"), encoding="utf-8")
    report = check_bank(load_course(root), run_code=False)
    warnings = [p for p in report.warnings if p.file == "glossary.yaml"]
    assert warnings and "'memory'" in warnings[0].reason and "t01-view-contiguous" in warnings[0].reason


def test_shipped_glossary_has_no_conflicts() -> None:
    terms, problems = consistency.load_glossary(Path(load_course().root) / "glossary.yaml")
    assert problems == [] and len(terms) >= 120


def test_alt_rendering_silences_the_warning_and_other_renderings_still_warn(tmp_path: Path) -> None:
    root = copy_fixture(tmp_path)
    path = root / "questions" / "t01-tensors.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("clone 会分配新内存。", "clone 会分配新的存储。"), encoding="utf-8")
    glossary = root / "glossary.yaml"

    glossary.write_text("format_version: 1\nterms:\n  - {en: memory, zh: 内存, alt: [存储]}\n", encoding="utf-8")
    report = check_bank(load_course(root), run_code=False)
    assert [p for p in report.errors + report.warnings if p.file == "glossary.yaml"] == []

    glossary.write_text("format_version: 1\nterms:\n  - {en: memory, zh: 内存, alt: [显存]}\n", encoding="utf-8")
    report = check_bank(load_course(root), run_code=False)
    warnings = [p for p in report.warnings if p.file == "glossary.yaml"]
    assert warnings and "'memory'" in warnings[0].reason and "t01-view-contiguous" in warnings[0].reason


def test_alt_that_is_blank_repeats_zh_or_is_part_of_zh_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "glossary.yaml"
    path.write_text("format_version: 1\nterms:\n  - {en: memory, zh: 内存, alt: ['']}\n", encoding="utf-8")
    assert consistency.load_glossary(path)[1]
    path.write_text("format_version: 1\nterms:\n  - {en: activations, zh: 激活值, alt: [激活值, 激活]}\n", encoding="utf-8")
    reasons = [p.reason for p in consistency.load_glossary(path)[1]]
    assert len(reasons) == 2 and "repeats zh" in reasons[0] and "part of zh" in reasons[1]
    path.write_text("format_version: 1\nterms:\n  - {en: recall, zh: 召回率, alt: [记住]}\n", encoding="utf-8")
    assert consistency.load_glossary(path)[1] == []
