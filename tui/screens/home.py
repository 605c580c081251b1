"""Home: the roadmap, where to continue, today's activity, reviews and labs at a glance."""

from __future__ import annotations

from datetime import date, timedelta

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.markup import escape
from textual.widgets import Static

from pathway.i18n import N_, _, ngettext
from pathway.tui.screens.base import ModeScreen
from pathway.tui.widgets.roadmap import Roadmap

LABS_POLL_SECONDS = 2.0
# What Today counts, in the order it lists them: activity kind -> a phrase with the count.
TODAY_KINDS = {
    "lesson_opened": lambda n: ngettext("{n} lesson opened", "{n} lessons opened", n),
    "lesson_completed": lambda n: ngettext("{n} lesson completed", "{n} lessons completed", n),
    "review": lambda n: ngettext("{n} question answered", "{n} questions answered", n),
    "lab_started": lambda n: ngettext("{n} lab started", "{n} labs started", n),
    "mock_finished": lambda n: ngettext("{n} mock interview", "{n} mock interviews", n),
}


def today_text(kinds: dict[str, int], streak: int) -> str:
    """`Today  2 lessons opened · 5 questions answered  ·  study streak 3 days` (what was done, by kind)."""
    parts = [phrase(kinds[kind]).format(n=kinds[kind]) for kind, phrase in TODAY_KINDS.items() if kinds.get(kind)]
    done = " · ".join(parts) if parts else _("nothing done yet")
    streak_text = ngettext("study streak {n} day", "study streak {n} days", streak).format(n=streak)
    return "[b]" + _("Today") + f"[/b]  {done}  ·  {streak_text}"


# state -> (its words, its colour)
PACE_STATES = {
    "ahead": (N_("ahead"), "$success"),
    "on track": (N_("on track"), "$success"),
    "behind": (N_("behind"), "$warning"),
    "done": (N_("done"), "$success"),
}


def pace_text(pace) -> str:
    """`Pace  week 6 of 24 · at week 4, behind · 2.5 of 15 h this week (p)`, then what to do this week."""
    week = _("week {n} of 24").format(n=pace.calendar_week) if pace.calendar_week <= 24 else _("24 weeks over")
    reached = _("all lessons done") if pace.state == "done" else _("at week {n}").format(n=pace.progress_week)
    words, hue = PACE_STATES[pace.state]
    hours = _("{hours} of {goal} h this week").format(hours=f"{pace.hours_this_week:.1f}", goal=pace.weekly_hours)
    line = _("{week} · {reached}, {state} · {hours}").format(week=week, reached=reached, state=f"[{hue}]{_(words)}[/]", hours=hours)
    return "[b]" + _("Pace") + f"[/b]  {line}  [dim](p)[/]\n  {escape(pace.advice())}"


def activity_today(engine, day: str) -> dict[str, int]:
    """How many of each kind of action happened on `day` (YYYY-MM-DD)."""
    from sqlmodel import Session, func, select

    from pathway.db.models import Activity

    with Session(engine) as session:
        rows = session.exec(select(Activity.kind, func.count()).where(Activity.day == day).group_by(Activity.kind))
        return {kind: n for kind, n in rows}


class HomeScreen(ModeScreen):
    MODE = "home"
    AUTO_FOCUS = "#home-body"  # arrow keys scroll the cards on a short terminal
    BINDINGS = [
        Binding("enter,c", "continue", N_("Continue"), tooltip=N_("continue where you left off (the first lesson on a new start)")),
        Binding("l", "app.mode('learn')", N_("Learn"), tooltip=N_("lessons (the same as F3)")),
        Binding("r", "app.mode('quiz')", N_("Review"), tooltip=N_("today's reviews and new questions (Quiz, F4)")),
        Binding("b", "app.mode('labs')", N_("Labs"), tooltip=N_("PyTorch labs (the same as F5)")),
        Binding("p", "plan", N_("Plan"), tooltip=N_("the plan's start date and your weekly hours")),
        Binding("q", "app.quit", N_("Quit"), tooltip=N_("quit pathway (Ctrl+Q quits anywhere)")),
    ]

    def compose(self) -> ComposeResult:
        yield from self.compose_tabs()
        with VerticalScroll(id="home-body"):
            yield Static(_("Loading your progress…"), id="home-title")
            yield Roadmap(id="roadmap")
            with Vertical(id="home-cards"):
                yield Static("", id="continue", classes="card")
                yield Static("", id="today", classes="card")
                yield Static("", id="pace", classes="card")
                yield Static("", id="reviews", classes="card")
                yield Static("", id="labs", classes="card")
        yield from self.compose_footer()

    def on_pathway_app_progress_glanced(self, message) -> None:
        if self.data is None:  # the full load has not overtaken it
            glance = message.glance
            last = message.course.lesson(glance.last_lesson_id) if glance.last_lesson_id else None
            self.show_progress(message.course, set(glance.completed), last, glance.language)

    def on_pathway_app_data_ready(self) -> None:
        self.refresh_view()
        self.set_interval(LABS_POLL_SECONDS, self.poll_labs)

    @work(thread=True, exclusive=True, exit_on_error=False, group="home-labs")
    def poll_labs(self) -> None:
        import numpy as np  # not on the first frame's import path

        from pathway.labs.engine import jobs
        from pathway.tui.widgets.spark import sparkline

        engine = self.data.engine
        lines = []
        for run in jobs.running_runs(engine)[:3]:
            losses = jobs.recent_values(engine, run.id, "train/loss", limit=240)
            progress = jobs.progress(engine, run)
            done = f" {progress.fraction:.0%}" if progress.fraction is not None else ""
            last = f" loss {losses[-1]:.3g}" if losses else ""
            lines.append(f"  #{run.id} {escape(run.lab)}{done} {sparkline(np.array(losses), 24)}{last}")  # loss: kept in English
        head = _("no lab running") if not lines else _("{n} running").format(n=len(lines))
        text = "[b]" + _("Labs") + f"[/b]  {head}  [dim](b)[/]" + "".join("\n" + line for line in lines)
        self.app.call_from_thread(self.query_one("#labs", Static).update, text)

    def language_changed(self) -> None:
        self.refresh_view()

    def on_screen_resume(self) -> None:  # ModeScreen's handler (the language) runs too
        if self.data is not None:
            self.refresh_view()

    def show_progress(self, course, done: set[str], last, language: str) -> None:
        """The title line ("N / M lessons done") and the roadmap."""
        if course.manifest is None:
            return
        counts: dict[int, tuple[int, int]] = {}
        for lesson in course.lessons:
            finished, total = counts.get(lesson.meta.week, (0, 0))
            counts[lesson.meta.week] = (finished + (lesson.id in done), total + 1)
        self.query_one("#home-title", Static).update(
            f"[b]{course.manifest.title.get(language)}[/b]  ·  "
            + _("{done} / {total} lessons done").format(done=len(done & {l.id for l in course.lessons}), total=len(course.lessons))
        )
        self.query_one(Roadmap).show(course.manifest, counts, last.meta.week if last else 1, language)

    def refresh_view(self) -> None:
        from pathway.db import progress
        from pathway.pace import compute_pace

        data = self.data
        course, engine = data.course, data.engine
        learner = progress.get_learner(engine)
        language = learner.language
        rows = progress.lesson_progress(engine)
        done = {lesson_id for lesson_id, row in rows.items() if row.status == "completed"}
        last = course.lesson(learner.last_lesson_id) if learner.last_lesson_id else None
        self.show_progress(course, done, last, language)
        self.query_one("#continue", Static).update(self.continue_text(course, last, done, language))
        today = date.today()
        days = progress.activity_by_day(engine, today - timedelta(days=60))
        streak = progress.streak(set(days), today)
        self.query_one("#today", Static).update(today_text(activity_today(engine, today.isoformat()), streak))
        self.query_one("#pace", Static).update(pace_text(compute_pace(engine, course, today)))
        self.query_one("#reviews", Static).update(self.reviews_text(course, learner))
        self.poll_labs()

    def action_plan(self) -> None:
        if self.data is None:
            return
        from pathway.db import progress
        from pathway.pace import plan_start
        from pathway.tui.screens.plan_settings import PlanScreen

        learner = progress.get_learner(self.data.engine)

        def saved(values) -> None:
            if values is None:
                return
            from pathway.db.failures import DatabaseWriteError

            start, hours = values
            try:
                progress.update_learner(self.data.engine, plan_start=start, weekly_hours=hours)
            except DatabaseWriteError as exc:
                self.app.write_failed("The plan", exc)
                return
            self.refresh_view()

        self.app.push_screen(PlanScreen(plan_start(learner).isoformat(), learner.weekly_hours), saved)

    def reviews_text(self, course, learner) -> str:
        from pathway.quiz import scheduling as reviews

        if not course.questions:
            return "[b]" + _("Reviews") + "[/b]  " + _("no questions loaded")
        weeks = {lesson.id: lesson.meta.week for lesson in course.lessons}
        queue = reviews.today_queue(self.data.engine, course.questions, reviews.study_week(self.data.engine, weeks))
        text = "[b]" + _("Reviews") + "[/b]  " + _("{due} due · {new} new from week {week}  ·  {total} questions  [dim](r to start)[/]").format(
            due=len(queue.reviews), new=len(queue.new), week=queue.week, total=len(course.questions)
        )
        warning = queue.backlog_warning()
        return text + (f"\n  [yellow]{escape(warning)}[/]" if warning else "")

    @staticmethod
    def continue_text(course, last, done: set[str], language: str) -> str:
        if last is None:
            first = course.lessons[0] if course.lessons else None
            if first is None:
                return "[b]" + _("Continue") + "[/b]  " + _("no lessons loaded")
            # The same word as the footer's Enter key, so the learner sees one action under one name.
            first_lesson = _("(first lesson)")
            return "[b]" + _("Continue") + f"[/b]  W{first.meta.week:02d} · {first.meta.title.get(language)} [dim]{first_lesson}  Enter[/]"
        mark = "✓ " if last.id in done else ""
        return "[b]" + _("Continue") + f"[/b]  W{last.meta.week:02d} · {mark}{last.meta.title.get(language)}  [dim]Enter[/]"

    def action_continue(self) -> None:
        if self.data is None:
            return
        from pathway.db import progress

        course = self.data.course
        learner = progress.get_learner(self.data.engine)
        target = learner.last_lesson_id if course.lesson(learner.last_lesson_id or "") else None
        if target is None and course.lessons:
            target = course.lessons[0].id
        if target:
            self.app.open_lesson(target)
