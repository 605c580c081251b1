"""Pacing: the plan's calendar week against the week progress reached, hours measured from use, and
the settings on Home (p) and on the command line."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from sqlmodel import Session, select
from textual.widgets import Input, Static

from pathway.cli import main
from pathway.content.loader import load_course
from pathway.db import progress
from pathway.db.engine import open_database
from pathway.db.models import Activity, utcnow
from pathway.pace import PLAN_WEEKS, compute_pace
from pathway.tui.app import make_app
from pathway.tui.screens.plan_settings import PlanScreen
from pathway.tui.study_clock import StudyClock
from tui_helpers import until, wait_ready

COURSE = load_course()
TODAY = date(2026, 12, 2)


def study(engine, day: date, seconds: float, mode: str = "learn") -> None:
    with Session(engine) as session:
        session.add(Activity(at=utcnow(), day=day.isoformat(), kind="study_time", item_id=mode, detail=json.dumps({"seconds": seconds})))
        session.commit()


def finish_weeks(engine, last_week: int) -> None:
    for lesson in COURSE.lessons:
        if lesson.meta.week <= last_week:
            progress.set_lesson_complete(engine, lesson.id)


class TestStudyClock:
    def test_gaps_up_to_the_idle_limit_count_toward_the_mode_they_start_in(self) -> None:
        now = [0.0]
        clock = StudyClock(idle_seconds=300, now=lambda: now[0])
        for at, mode in [(0, "learn"), (120, "learn"), (200, "quiz"), (260, "quiz"), (900, "labs"), (960, "labs")]:
            now[0] = at
            clock.touch(mode)
        # learn 0->120->200 (200 s), quiz 200->260 (60 s), 260->900 is time away, labs 900->960 (60 s)
        assert clock.take() == {"learn": 200.0, "quiz": 60.0, "labs": 60.0}
        assert clock.take() == {}


class TestPace:
    def test_behind_names_the_lessons_to_catch_up_and_sums_this_week_s_hours(self, home: Path) -> None:
        engine = open_database(home)
        start = TODAY - timedelta(weeks=5, days=2)  # today is in week 6
        progress.update_learner(engine, plan_start=start.isoformat(), weekly_hours=18)
        finish_weeks(engine, 2)
        week_start = start + timedelta(weeks=5)
        study(engine, week_start, 3600)
        study(engine, TODAY, 1800, "quiz")
        study(engine, week_start - timedelta(days=1), 7200)  # last week's: not this week
        pace = compute_pace(engine, COURSE, TODAY)
        assert (pace.calendar_week, pace.progress_week, pace.state) == (6, 3, "behind")
        assert pace.hours_this_week == 1.5 and pace.weekly_hours == 18
        behind = [lesson for lesson in COURSE.lessons if 3 <= lesson.meta.week <= 6]
        assert [title.en for _, title, _ in pace.behind_lessons] == [lesson.meta.title.en for lesson in behind]
        assert pace.advice().startswith(f"This week: W03 {behind[0].meta.title.en}, +{len(behind) - 1} more")
        engine.dispose()

    def test_on_track_ahead_and_done(self, home: Path) -> None:
        engine = open_database(home)
        progress.update_learner(engine, plan_start=(TODAY - timedelta(weeks=1)).isoformat())  # week 2
        finish_weeks(engine, 1)
        assert compute_pace(engine, COURSE, TODAY).state == "on track"
        finish_weeks(engine, 4)
        pace = compute_pace(engine, COURSE, TODAY)
        assert pace.state == "ahead" and pace.behind_lessons == [] and "Ahead by 3 weeks" in pace.advice()
        finish_weeks(engine, PLAN_WEEKS)
        assert compute_pace(engine, COURSE, TODAY).state == "done"
        engine.dispose()

    def test_study_time_is_not_counted_as_an_action(self, home: Path) -> None:
        engine = open_database(home)
        study(engine, date.today(), 600)
        assert progress.activity_by_day(engine, date.today() - timedelta(days=1)) == {}
        engine.dispose()


class TestCommandLine:
    def test_plan_sets_and_stats_reports(self, home: Path, capsys) -> None:
        assert main(["--home", str(home), "plan", "--start", "2026-10-01", "--hours", "18"]) == 0
        assert "since 2026-10-01" in capsys.readouterr().out
        assert main(["--home", str(home), "stats", "--json"]) == 0
        pace = json.loads(capsys.readouterr().out)["pace"]
        assert pace["start"] == "2026-10-01" and pace["weekly_hours"] == 18 and pace["progress_week"] == 1

    def test_bad_settings_are_named_and_change_nothing(self, home: Path, capsys) -> None:
        assert main(["--home", str(home), "plan", "--start", "1 Oct", "--hours", "18"]) == 2
        assert "is not a date: write it as YYYY-MM-DD" in capsys.readouterr().err
        assert main(["--home", str(home), "plan", "--hours", "200"]) == 2
        assert "Weekly hours '200'" in capsys.readouterr().err
        engine = open_database(home)
        assert progress.get_learner(engine).weekly_hours == 15
        engine.dispose()


async def test_home_shows_the_pace_and_p_changes_the_plan(home: Path) -> None:
    app = make_app(home=home)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_ready(pilot)
        await until(pilot, lambda: "Pace" in str(app.screen.query_one("#pace", Static).render()), what="the pace card")
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, PlanScreen), what="the plan dialog")
        start = app.screen.query_one("#plan-start", Input)
        start.value = "2026-13-40"
        await pilot.pause(0.2)
        await pilot.press("enter")
        assert isinstance(app.screen, PlanScreen)  # a bad date is named, nothing saved
        assert "not a date" in str(app.screen.query_one("#plan-problem", Static).render())
        start.value = (date.today() - timedelta(weeks=2)).isoformat()
        app.screen.query_one("#plan-hours", Input).value = "20"
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, PlanScreen), what="the dialog closing")
        card = str(app.screen.query_one("#pace", Static).render())
        assert "week 3 of 24" in card and "of 20 h this week" in card and "behind" in card
    engine = open_database(home)
    assert progress.get_learner(engine).weekly_hours == 20
    engine.dispose()


async def test_the_app_logs_the_time_it_is_used_by_mode(home: Path) -> None:
    app = make_app(home=home)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_ready(pilot)
        await pilot.press("down", "down")  # input on Home
        await pilot.pause(0.3)
        await pilot.press("f3")  # and in Learn: a gap counts toward the mode of the input that opens it
        await pilot.pause(0.3)
        await pilot.press("down")
        await pilot.pause(0.3)
        await pilot.press("down")
    engine = open_database(home)  # the app has quit: what it measured is saved
    with Session(engine) as session:
        rows = session.exec(select(Activity).where(Activity.kind == "study_time")).all()
    engine.dispose()
    seconds = {row.item_id: json.loads(row.detail)["seconds"] for row in rows}
    assert set(seconds) == {"home", "learn"} and all(0 < s < 60 for s in seconds.values()), seconds
