"""What start-up reads before SQLAlchemy loads: the parsed-course cache and the progress glance."""

from __future__ import annotations

import shutil
from pathlib import Path

from pathway.content.cache import load_course_cached
from pathway.content.loader import load_course
from pathway.db import progress
from pathway.db.engine import DB_FILENAME, open_database
from pathway.db.glance import progress_glance

FIXTURE = Path(__file__).parent / "fixtures" / "quiz_content"


def test_the_cache_gives_the_parsed_course_and_notices_an_edit(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(FIXTURE, content)
    cache = tmp_path / "cache"
    first = load_course_cached(content, cache)
    assert len(list(cache.glob("course-*.pickle"))) == 1
    again = load_course_cached(content, cache)
    fresh = load_course(content)
    assert [q.id for q in again.questions] == [q.id for q in fresh.questions] == [q.id for q in first.questions]
    assert again.lessons[0].body == fresh.lessons[0].body

    lesson = content / "lessons" / "week01" / "tensors.md"
    lesson.write_text(lesson.read_text(encoding="utf-8") + "\nEdited: one more line.\n", encoding="utf-8")
    edited = load_course_cached(content, cache)
    assert any("Edited: " in l.body for l in edited.lessons)
    assert len(list(cache.glob("course-*.pickle"))) == 1  # the stale entry is gone


def test_a_torn_cache_file_costs_one_parse_and_is_rewritten(tmp_path):
    cache = tmp_path / "cache"
    load_course_cached(FIXTURE, cache)
    (entry,) = cache.glob("course-*.pickle")
    entry.write_bytes(b"\x80\x05 not a pickle")
    course = load_course_cached(FIXTURE, cache)
    assert course.questions and entry.read_bytes()[:2] != b"\x80\x05 "


def test_the_glance_reads_progress_from_a_database_at_the_newest_schema(home):
    assert progress_glance(home) is None  # no database yet: Home waits for the full load
    engine = open_database(home)
    progress.set_lesson_complete(engine, "w01-tensors")
    progress.update_learner(engine, language="zh", last_lesson_id="w01-tensors")
    engine.dispose()
    glance = progress_glance(home)
    assert glance is not None and glance.completed == {"w01-tensors"}
    assert (glance.language, glance.last_lesson_id) == ("zh", "w01-tensors")


def test_the_glance_leaves_a_database_that_needs_migrating_to_the_full_load(home):
    import sqlite3

    open_database(home).dispose()
    with sqlite3.connect(home / DB_FILENAME) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0002'")
    assert progress_glance(home) is None
