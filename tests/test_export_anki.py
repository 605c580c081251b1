"""`pathway export --anki`: the deck imports into Anki's real backend, and a newer export updates it."""

from __future__ import annotations

import time
from pathlib import Path

import genanki
import pytest

from pathway.cli import main
from pathway.content.loader import load_course

anki_collection = pytest.importorskip("anki.collection", reason="the anki package (test-only, AGPL) imports the deck")
from anki import import_export_pb2 as pb  # noqa: E402

FIXTURE = Path(__file__).parent / "fixtures" / "quiz_content"


def import_into(collection_dir: Path, package: Path):
    """Import like Anki's File > Import: update a note when the file's copy is newer."""
    col = anki_collection.Collection(str(collection_dir / "collection.anki2"))
    newer = pb.ImportAnkiPackageUpdateCondition.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER
    options = pb.ImportAnkiPackageOptions(update_notes=newer, update_notetypes=newer, with_scheduling=False)
    log = col.import_anki_package(pb.ImportAnkiPackageRequest(package_path=str(package), options=options)).log
    return col, log


def export(*args: str, content: Path = FIXTURE) -> None:
    assert main(["--content-dir", str(content), "export", *args]) == 0


def test_every_question_becomes_a_note_with_a_card_per_language(tmp_path: Path) -> None:
    deck = tmp_path / "pathway.apkg"
    export("--anki", str(deck))
    col, log = import_into(tmp_path, deck)
    course = load_course(FIXTURE)
    assert len(log.new) == len(course.questions) == col.note_count() == 7
    assert col.card_count() == 2 * 7  # an English and a Chinese card each

    single = col.get_note(col.find_notes('"QuestionId:t01-broadcast-shape"')[0])
    assert single.guid == genanki.guid_for("pathway", "t01-broadcast-shape")
    assert "torch.ones(3, 1)" in single["Front_en"] and "(4, 3)" in single["Front_en"] and "报错" in single["Front_zh"]
    assert "✓</span> <b>A</b> (3, 4)" in single["Back_en"]  # the key marked, each option's why beside it
    assert "The order is not swapped." in single["Back_en"]
    assert "broadcasting-semantics" in single["References"] or "broadcasting.html" in single["References"]
    assert {"pathway::phase1::python-tensors", "pathway::difficulty::E", "pathway::type::single", "pathway::tag::broadcasting"} <= set(single.tags)

    code = col.get_note(col.find_notes('"QuestionId:t02-softmax-stable"')[0])
    solution = course.question("t02-softmax-stable").solution
    assert solution.splitlines()[0].replace('"', "&quot;") in code["Back_en"]  # the reference solution on the back


def test_a_newer_export_updates_the_notes_instead_of_adding_copies(tmp_path: Path) -> None:
    first, second = tmp_path / "first.apkg", tmp_path / "second.apkg"
    export("--anki", str(first))
    col, log = import_into(tmp_path, first)
    assert len(log.new) == 7
    time.sleep(1.1)  # Anki's modification times are whole seconds: the second file must be newer
    export("--anki", str(second))
    col.close()
    col, log = import_into(tmp_path, second)
    assert len(log.new) == 0 and len(log.updated) == 7
    assert col.note_count() == 7


def test_one_language_and_filters(tmp_path: Path) -> None:
    content = Path(__file__).parent.parent / "content"
    course = load_course(content)
    expected = [q for q in course.questions if q.topic == 9 and 13 <= q.week <= 14]
    deck = tmp_path / "distributed.apkg"
    export("--anki", str(deck), "--lang", "zh", "--topics", "distributed", "--weeks", "13-14", content=content)
    col, _ = import_into(tmp_path, deck)
    assert col.note_count() == len(expected) > 0
    assert col.card_count() == len(expected)  # the English fronts are blank: no English cards
    note = col.get_note(col.find_notes("")[0])
    assert note["Front_en"] == "" and note["Front_zh"]
    assert any(tag.startswith("pathway::phase2::distributed") for tag in note.tags)


def test_bad_filters_are_named(tmp_path: Path, capsys) -> None:
    assert main(["export", "--anki", str(tmp_path / "x.apkg"), "--weeks", "30"]) == 2
    assert "--weeks: '30' is outside weeks 1-24" in capsys.readouterr().err
    assert not (tmp_path / "x.apkg").exists()
