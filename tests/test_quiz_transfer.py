"""`pathway export` / `pathway import`: all progress round-trips; a bad file changes nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from pathway.cli import main
from pathway.quiz.grading import correct_answer, grade_any
from pathway.content.loader import load_course
from pathway.quiz import scheduling as reviews
from pathway.db.engine import open_database
from pathway.quiz.mock import MockSession, MockSettings
from pathway.db.models import utcnow
from pathway.db.progress import open_lesson, save_scroll, set_lesson_complete, update_learner
from pathway.db.transfer import export_data

CONTENT = Path(__file__).parent / "fixtures" / "quiz_content"


def open_home(home: Path):
    home.mkdir(parents=True, exist_ok=True)
    return open_database(home)


def make_runs(engine, home: Path) -> None:
    """Two lab runs with metrics: one finished, one still going (a live pid of this machine)."""
    import os

    import sqlalchemy as sa

    from pathway.db.models import Metric, Run

    now = utcnow()
    with engine.begin() as conn:
        for run_id, status, pid in ((1, "succeeded", None), (2, "running", os.getpid())):
            conn.execute(sa.insert(Run.__table__).values(
                id=run_id, lab="mlp-digits", config=json.dumps({"epochs": 2}), status=status, pid=pid, pid_create_time=1.0 if pid else None,
                created_at=now, started_at=now, finished_at=now if status == "succeeded" else None,
                run_dir=str(home / "runs" / str(run_id)), step=20, total_steps=20,
                final_metrics=json.dumps({"eval/acc": 0.93}) if status == "succeeded" else None,
            ))
            conn.execute(sa.insert(Metric.__table__), [
                {"run_id": run_id, "step": step, "t": 1.7e9 + step, "name": "train/loss", "value": 2.3 / (step + 1), "rank": 0}
                for step in range(20)
            ])


def make_progress(home: Path, runs: bool = False) -> None:
    engine = open_home(home)
    if runs:
        make_runs(engine, home)
    update_learner(engine, language="zh", desired_retention=0.85, daily_new_limit=7, theme="textual-light")
    open_lesson(engine, "tensors-basics")
    save_scroll(engine, "tensors-basics", 12.5)
    set_lesson_complete(engine, "tensors-basics")
    now = utcnow()
    reviews.record_review(engine, "t01-broadcast-shape", 3, "today", True, 0, 5000, now=now - timedelta(days=2))
    reviews.record_review(engine, "t01-broadcast-shape", 4, "drill", True, 0, 3000, now=now - timedelta(days=1))
    reviews.record_review(engine, "t01-float32-bytes", 1, "today", False, "8", 9000, now=now - timedelta(days=1))
    reviews.record_review(engine, "t02-leaf-tensor", 2, "cram", None, "leaves…", 20000, now=now)
    session = MockSession.start(
        engine, load_course(CONTENT).questions, MockSettings(length=2, seed=3), grade=grade_any, expected=correct_answer
    )
    while session.current is not None:
        session.answer(correct_answer(session.current) if session.current.type != "recall" else "x")
    session.finish({q: 3 for q in session.needs_self_rating()})
    engine.dispose()


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["--content-dir", str(CONTENT), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def stats(capsys, home: Path) -> dict:
    code, out, _ = cli(capsys, "--home", str(home), "stats", "--json")
    assert code == 0
    return json.loads(out)


def tables(home: Path) -> dict:
    engine = open_home(home)
    data = export_data(engine)["tables"]
    engine.dispose()
    return data


def test_round_trip_into_a_fresh_home(tmp_path: Path, capsys) -> None:
    source, target, file = tmp_path / "a", tmp_path / "b", tmp_path / "progress.json"
    make_progress(source)
    code, out, _ = cli(capsys, "--home", str(source), "export", str(file))
    assert code == 0 and "1 learner" in out and "1 mockinterview" in out
    code, out, err = cli(capsys, "--home", str(target), "import", str(file))
    assert code == 0, err
    assert tables(target) == tables(source)
    before, after = stats(capsys, source), stats(capsys, target)
    assert after == before
    assert before["lessons_completed"] == 1 and before["questions_scheduled"] == 2 and before["reviews_total"] >= 6


def test_learner_settings_and_memory_state_survive(tmp_path: Path, capsys) -> None:
    source, target, file = tmp_path / "a", tmp_path / "b", tmp_path / "p.json"
    make_progress(source)
    cli(capsys, "--home", str(source), "export", str(file))
    cli(capsys, "--home", str(target), "import", str(file))
    a, b = open_home(source), open_home(target)
    assert reviews.memory_state(a, "t01-broadcast-shape") == reviews.memory_state(b, "t01-broadcast-shape")
    from pathway.db.progress import get_learner

    assert get_learner(b).desired_retention == 0.85 and get_learner(b).language == "zh"
    a.dispose(), b.dispose()


def break_file(file: Path, how: str) -> None:
    data = json.loads(file.read_text())
    if how == "not-json":
        file.write_text("{ this is not json")
        return
    if how == "format":
        data["format"] = "anki"
    elif how == "version":
        data["version"] = 99
    elif how == "type":
        data["tables"]["card"][0]["stability"] = "high"
    elif how == "naive-time":
        data["tables"]["reviewlog"][0]["reviewed_at"] = "2025-01-01T10:00:00"
    elif how == "unknown-field":
        data["tables"]["learner"][0]["favourite_colour"] = "blue"
    elif how == "unknown-table":
        data["tables"]["runs"] = []
    elif how == "dangling-mock":
        data["tables"]["reviewlog"][-1]["mock_id"] = 999
    elif how == "duplicate-key":
        data["tables"]["card"].append(dict(data["tables"]["card"][0]))
    elif how == "missing-required":
        del data["tables"]["reviewlog"][0]["rating"]
    elif how == "rating":
        data["tables"]["reviewlog"][1]["rating"] = 99
    elif how == "unknown-question":
        data["tables"]["card"][0]["question_id"] = "t99-no-such-question"
    elif how == "unknown-review-question":
        data["tables"]["reviewlog"][0]["question_id"] = "t99-no-such-question"
    elif how == "unknown-lesson":
        data["tables"]["lessonprogress"][0]["lesson_id"] = "w99-no-such-lesson"
    elif how == "unknown-last-lesson":
        data["tables"]["learner"][0]["last_lesson_id"] = "w99-no-such-lesson"
    elif how == "language":
        data["tables"]["learner"][0]["language"] = "fr"
    elif how == "retention":
        data["tables"]["learner"][0]["desired_retention"] = 1.5
    elif how == "status":
        data["tables"]["lessonprogress"][0]["status"] = "done"
    elif how == "difficulty":
        data["tables"]["card"][0]["difficulty"] = 0.0
    elif how == "negative-duration":
        data["tables"]["reviewlog"][0]["duration_ms"] = -5
    elif how == "review-mode":
        data["tables"]["reviewlog"][0]["mode"] = "exam"
    elif how == "activity-kind":
        data["tables"]["activity"][0]["kind"] = "party"
    elif how == "bad-json":
        data["tables"]["mockinterview"][0]["settings"] = "{not json"
    elif how == "run-lab":
        data["tables"]["run"][0]["lab"] = "no-such-lab"
    elif how == "run-status":
        data["tables"]["run"][0]["status"] = "exploded"
    elif how == "dangling-metric":
        data["tables"]["metric"][0]["run_id"] = 999
    file.write_text(json.dumps(data))


@pytest.mark.parametrize(
    "how, words",
    [
        ("not-json", "not valid JSON"),
        ("format", '"format": "pathway-progress"'),
        ("version", "version 99"),
        ("type", "tables.card[0].stability must be of type float"),
        ("naive-time", "has no time zone"),
        ("unknown-field", "unknown fields favourite_colour"),
        ("unknown-table", "unknown tables runs"),
        ("dangling-mock", "names no mock interview"),
        ("duplicate-key", "repeats the key"),
        ("missing-required", "rating is missing"),
        ("rating", "tables.reviewlog[1].rating must be one of 1, 2, 3, 4, not 99"),
        ("unknown-question", "tables.card[0].question_id is 't99-no-such-question', which names no question"),
        ("unknown-review-question", "tables.reviewlog[0].question_id is 't99-no-such-question'"),
        ("unknown-lesson", "tables.lessonprogress[0].lesson_id is 'w99-no-such-lesson', which names no lesson"),
        ("unknown-last-lesson", "tables.learner[0].last_lesson_id is 'w99-no-such-lesson'"),
        ("language", "tables.learner[0].language must be one of 'en', 'zh', not 'fr'"),
        ("retention", "tables.learner[0].desired_retention must be between 0 and 1, both excluded, not 1.5"),
        ("status", "tables.lessonprogress[0].status must be one of 'started', 'completed', not 'done'"),
        ("difficulty", "tables.card[0].difficulty must be from 1 to 10, not 0.0"),
        ("negative-duration", "tables.reviewlog[0].duration_ms must be at least 0, not -5"),
        ("review-mode", "tables.reviewlog[0].mode must be one of 'today', 'drill', 'cram', 'mock', not 'exam'"),
        ("activity-kind", "tables.activity[0].kind must be one of"),
        ("bad-json", "tables.mockinterview[0].settings must be JSON text"),
        ("run-lab", "tables.run[0].lab is 'no-such-lab', which names no lab"),
        ("run-status", "tables.run[0].status must be one of queued, running"),
        ("dangling-metric", "tables.metric[0].run_id 999 names no run in the file"),
    ],
)
def test_bad_file_is_refused_naming_it_and_nothing_changes(tmp_path: Path, capsys, how: str, words: str) -> None:
    source, target, file = tmp_path / "a", tmp_path / "b", tmp_path / "p.json"
    make_progress(source, runs=True)
    cli(capsys, "--home", str(source), "export", str(file))
    open_home(target).dispose()
    before = tables(target)
    break_file(file, how)
    code, out, err = cli(capsys, "--home", str(target), "import", str(file))
    assert code == 2
    assert str(file) in err and words in err and "Nothing was changed" in err
    assert "Traceback" not in err
    assert tables(target) == before


def test_missing_file(tmp_path: Path, capsys) -> None:
    code, _, err = cli(capsys, "--home", str(tmp_path / "h"), "import", str(tmp_path / "nope.json"))
    assert code == 2 and "nope.json" in err


def test_import_into_a_home_with_progress_needs_replace(tmp_path: Path, capsys) -> None:
    source, target, file = tmp_path / "a", tmp_path / "b", tmp_path / "p.json"
    make_progress(source)
    cli(capsys, "--home", str(source), "export", str(file))
    engine = open_home(target)
    reviews.record_review(engine, "t01-tensor-steps", 3, "today", True, [0, 1, 2, 3, 4], 1000)
    engine.dispose()
    before = tables(target)
    code, _, err = cli(capsys, "--home", str(target), "import", str(file))
    assert code == 2 and "already holds progress" in err and "--replace" in err
    assert tables(target) == before
    code, out, _ = cli(capsys, "--home", str(target), "import", "--replace", str(file))
    assert code == 0 and "Backed up" in out
    assert tables(target) == tables(source)
    assert list(target.glob("pathway.db.bak-import-*"))


def test_lab_runs_and_metrics_travel_with_the_progress(tmp_path: Path, capsys) -> None:
    source, target, file = tmp_path / "a", tmp_path / "b", tmp_path / "p.json"
    make_progress(source, runs=True)
    code, out, _ = cli(capsys, "--home", str(source), "export", str(file))
    assert code == 0 and "2 run" in out and "40 metric" in out
    code, out, err = cli(capsys, "--home", str(target), "import", str(file))
    assert code == 0, err
    assert "without their files" in out and str(target / "runs") in out
    before, after = tables(source), tables(target)
    assert after["metric"] == before["metric"]
    finished, going = after["run"]
    assert {k: v for k, v in finished.items() if k != "run_dir"} == {k: v for k, v in before["run"][0].items() if k != "run_dir"}
    assert finished["run_dir"] == str(target / "runs" / "1")  # where its copied folder would be
    # A run still going on the old machine has no process here: it arrives interrupted, never "running".
    assert going["status"] == "interrupted" and going["pid"] is None and "still going" in going["error"]
    code, out, err = cli(capsys, "--home", str(target), "lab", "status", "--json")
    assert code == 0, err
    assert sorted((run["id"], run["status"]) for run in json.loads(out)) == [(1, "succeeded"), (2, "interrupted")]


def test_replace_is_refused_while_a_run_is_going(tmp_path: Path, capsys) -> None:
    source, target, file = tmp_path / "a", tmp_path / "b", tmp_path / "p.json"
    make_progress(source)
    cli(capsys, "--home", str(source), "export", str(file))
    engine = open_home(target)
    make_runs(engine, target)  # run 2 is "running" with this test's own (live) pid
    engine.dispose()
    before = tables(target)
    code, _, err = cli(capsys, "--home", str(target), "import", "--replace", str(file))
    assert code == 2 and "#2" in err and "still going" in err and "nothing was changed" in err
    assert tables(target) == before


def test_a_version_1_file_without_lab_tables_still_imports(tmp_path: Path, capsys) -> None:
    source, target, file = tmp_path / "a", tmp_path / "b", tmp_path / "p.json"
    make_progress(source)
    cli(capsys, "--home", str(source), "export", str(file))
    data = json.loads(file.read_text())
    data["version"] = 1
    del data["tables"]["run"], data["tables"]["metric"]
    file.write_text(json.dumps(data))
    code, _, err = cli(capsys, "--home", str(target), "import", str(file))
    assert code == 0, err
    assert tables(target) == tables(source)
