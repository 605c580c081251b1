"""Progress: mastery per topic, the review heatmap, the streak, the week ahead, past mock interviews."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from pathway.i18n import N_, _, ngettext
from pathway.tui.screens.base import ModeScreen
from pathway.tui.widgets.heatmap import bar, heatmap_lines


WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))  # strftime would follow the C locale


@dataclass
class Snapshot:
    """Everything Progress shows, read from the database in one go."""

    today: date
    mastery: dict  # topic -> db.quiz_stats.TopicMastery
    heatmap: dict[str, int]
    streak: int
    forecast: list[tuple[str, int]]
    due_now: int
    scheduled: int
    mocks: list


class ProgressScreen(ModeScreen):
    MODE = "progress"
    CSS_PATH = "../quiz.tcss"
    BINDINGS = [
        Binding("r", "reload", N_("Refresh")),
        Binding("x", "reset", N_("Reset…")),
        Binding("q,escape", "app.mode('home')", N_("Home")),
    ]

    @dataclass
    class Loaded(Message):
        """The worker read a fresh snapshot."""

        snapshot: Snapshot

    def compose(self) -> ComposeResult:
        yield from self.compose_tabs()
        with VerticalScroll(id="progress-body"):
            yield Static(_("Reading your progress…"), id="progress-summary")
            yield Static("", id="progress-mastery")
            yield Static("", id="progress-heatmap")
            yield Static("", id="progress-forecast")
            yield Static("", id="progress-mocks")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        if self.data is not None:
            self.action_reload()

    def on_pathway_app_data_ready(self) -> None:
        self.action_reload()

    def on_screen_resume(self) -> None:  # ModeScreen's handler (the language) runs too
        if self.data is not None:
            self.action_reload()

    def language_changed(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self.load(self.data.engine, self.data.course.questions)

    @work(thread=True, exclusive=True, exit_on_error=False, group="progress")
    def load(self, engine, questions) -> None:
        from pathway.quiz import stats as quiz_stats, scheduling as reviews
        from pathway.quiz.mock import list_mocks

        ids = [q.id for q in questions]
        snapshot = Snapshot(
            today=datetime.now().date(),
            mastery=quiz_stats.topic_mastery(engine, questions),
            heatmap=quiz_stats.review_heatmap(engine),
            streak=quiz_stats.review_streak(engine),
            forecast=quiz_stats.due_forecast(engine, ids),
            due_now=reviews.due_count(engine, ids),
            scheduled=len(set(reviews.cards(engine)) & set(ids)),
            mocks=list_mocks(engine)[:5],
        )
        self.post_message(self.Loaded(snapshot))

    def on_progress_screen_loaded(self, event: Loaded) -> None:
        s = event.snapshot
        course = self.data.course
        answers = sum(s.heatmap.values())
        self.query_one("#progress-summary", Static).update(
            "[b]" + ngettext("Review streak {n} day", "Review streak {n} days", s.streak).format(n=s.streak) + "[/b] · "
            + ngettext("{n} answer this year", "{n} answers this year", answers).format(n=answers) + " · "
            + _("{due} due now · {started}/{total} questions started").format(due=s.due_now, started=s.scheduled, total=len(course.questions))
        )
        lines = ["[b]" + _("Mastery by topic") + "[/b]  [dim]" + _("coverage × (recall now + recent accuracy) / 2") + "[/]"]
        for topic, m in s.mastery.items():
            found = course.topic(topic)
            name = (found.slug if found else _("topic {n}").format(n=topic))[:16]
            accuracy = f"{m.accuracy:.0%}" if m.accuracy is not None else "–"
            lines.append(
                f"{topic:>2} {name:<16} {bar(m.mastery, width=12)} {m.mastery:>4.0%}  "  # 12 wide: a row fits 80 columns
                "[dim]" + _("{seen}/{total} seen · recall {recall:.0%} · right {accuracy}").format(
                    seen=m.seen, total=m.questions, recall=m.retrievability, accuracy=accuracy
                ) + "[/]"
            )
        if not s.mastery:
            lines.append("[dim]" + _("No questions in the bank yet.") + "[/]")
        self.query_one("#progress-mastery", Static).update("\n".join(lines))
        heat = heatmap_lines(s.heatmap, s.today)
        self.query_one("#progress-heatmap", Static).update("[b]" + _("Reviews, last 12 months") + "[/b]\n" + "\n".join(heat))
        days = "  ".join(f"{_(WEEKDAYS[datetime.fromisoformat(day).weekday()])} {n}" for day, n in s.forecast)
        heading = "[b]" + _("Due in the next 7 days") + "[/b]  [dim]" + _("(today includes overdue)") + "[/]"
        self.query_one("#progress-forecast", Static).update(f"{heading}\n{days}")
        mocks = ["[b]" + _("Mock interviews") + "[/b]"]
        for mock in s.mocks:
            when = mock.started_at.astimezone().strftime("%Y-%m-%d")
            score = f"{mock.percent:g}%" if mock.percent is not None else _("unfinished")
            weak = " · " + _("weak topics {topics}").format(topics=", ".join(map(str, mock.weak_topics))) if mock.weak_topics else ""
            questions = _("{n} questions").format(n=mock.length)
            mocks.append(f"#{mock.id} {when} · {questions} · {score}{weak}")
        if not s.mocks:
            mocks.append("[dim]" + _("None yet: Quiz (F4) → Mock interview.") + "[/]")
        self.query_one("#progress-mocks", Static).update("\n".join(mocks))

    def action_reset(self) -> None:
        """Reset a topic's or all quiz progress, after picking and confirming."""
        from pathway.quiz import scheduling as reviews
        from pathway.tui.screens.confirm import ConfirmScreen, PickScreen

        course, engine = self.data.course, self.data.engine
        started = set(reviews.cards(engine))
        options = [("all", _("All quiz progress: every question becomes new"))]
        for topic in sorted({q.topic for q in course.questions}):
            started_here = sum(1 for q in course.questions if q.topic == topic and q.id in started)
            found = course.topic(topic)
            from pathway.i18n import current_language

            name = found.title.get(current_language()) if found else _("topic {n}").format(n=topic)
            if started_here:
                options.append((str(topic), _("Topic {n}: {name} ({started} started)").format(n=topic, name=name, started=started_here)))

        def reset(choice: str | None) -> None:
            if choice is None:
                return
            if choice == "all":
                question = _("Forget all your quiz progress? Those questions become new again; this cannot be undone.")
            else:
                question = _("Forget your progress on topic {n}? Those questions become new again; this cannot be undone.").format(n=choice)

            def confirmed(yes: bool | None) -> None:
                if not yes:
                    return
                if choice == "all":
                    removed = reviews.reset_all(engine)
                else:
                    removed = reviews.reset_topic(engine, course.questions, int(choice))
                reset_words = ngettext("Reset {n} question. The answer history stays in the heatmap.", "Reset {n} questions. The answer history stays in the heatmap.", removed)
                self.notify(reset_words.format(n=removed), timeout=4)
                self.action_reload()

            self.app.push_screen(
                ConfirmScreen(question), confirmed
            )

        self.app.push_screen(PickScreen("[b]" + _("Reset quiz progress") + "[/b]", options), reset)
