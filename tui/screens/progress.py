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

from pathway.tui.screens.base import ModeScreen
from pathway.tui.widgets.heatmap import bar, heatmap_lines
from pathway.words import count


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
        Binding("r", "reload", "Refresh"),
        Binding("x", "reset", "Reset…"),
        Binding("q,escape", "app.mode('home')", "Home"),
    ]

    @dataclass
    class Loaded(Message):
        """The worker read a fresh snapshot."""

        snapshot: Snapshot

    def compose(self) -> ComposeResult:
        yield from self.compose_tabs()
        with VerticalScroll(id="progress-body"):
            yield Static("Reading your progress…", id="progress-summary")
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

    def on_screen_resume(self) -> None:
        if self.data is not None:
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
            f"[b]Review streak {s.streak} day{'' if s.streak == 1 else 's'}[/b] · {answers} answer{'' if answers == 1 else 's'} this year · "
            f"{s.due_now} due now · {s.scheduled}/{len(course.questions)} questions started"
        )
        lines = ["[b]Mastery by topic[/b]  [dim]coverage × (recall now + recent accuracy) / 2[/]"]
        for topic, m in s.mastery.items():
            found = course.topic(topic)
            name = (found.slug if found else f"topic {topic}")[:16]
            accuracy = f"{m.accuracy:.0%}" if m.accuracy is not None else "–"
            lines.append(
                f"{topic:>2} {name:<16} {bar(m.mastery, width=12)} {m.mastery:>4.0%}  "  # 12 wide: a row fits 80 columns
                f"[dim]{m.seen}/{m.questions} seen · recall {m.retrievability:.0%} · right {accuracy}[/]"
            )
        if not s.mastery:
            lines.append("[dim]No questions in the bank yet.[/]")
        self.query_one("#progress-mastery", Static).update("\n".join(lines))
        heat = heatmap_lines(s.heatmap, s.today)
        self.query_one("#progress-heatmap", Static).update("[b]Reviews, last 12 months[/b]\n" + "\n".join(heat))
        days = "  ".join(f"{datetime.fromisoformat(day).strftime('%a')} {n}" for day, n in s.forecast)
        self.query_one("#progress-forecast", Static).update(f"[b]Due in the next 7 days[/b]  [dim](today includes overdue)[/]\n{days}")
        mocks = ["[b]Mock interviews[/b]"]
        for mock in s.mocks:
            when = mock.started_at.astimezone().strftime("%Y-%m-%d")
            score = f"{mock.percent:g}%" if mock.percent is not None else "unfinished"
            weak = f" · weak topics {', '.join(map(str, mock.weak_topics))}" if mock.weak_topics else ""
            mocks.append(f"#{mock.id} {when} · {mock.length} questions · {score}{weak}")
        if not s.mocks:
            mocks.append("[dim]None yet: Quiz (F4) → Mock interview.[/]")
        self.query_one("#progress-mocks", Static).update("\n".join(mocks))

    def action_reset(self) -> None:
        """Reset a topic's or all quiz progress, after picking and confirming."""
        from pathway.quiz import scheduling as reviews
        from pathway.tui.screens.confirm import ConfirmScreen, PickScreen

        course, engine = self.data.course, self.data.engine
        started = set(reviews.cards(engine))
        options = [("all", "All quiz progress: every question becomes new")]
        for topic in sorted({q.topic for q in course.questions}):
            started_here = sum(1 for q in course.questions if q.topic == topic and q.id in started)
            found = course.topic(topic)
            name = found.title.get("en") if found else f"topic {topic}"
            if started_here:
                options.append((str(topic), f"Topic {topic}: {name} ({started_here} started)"))

        def reset(choice: str | None) -> None:
            if choice is None:
                return
            what = "all your quiz progress" if choice == "all" else f"your progress on topic {choice}"

            def confirmed(yes: bool | None) -> None:
                if not yes:
                    return
                if choice == "all":
                    removed = reviews.reset_all(engine)
                else:
                    removed = reviews.reset_topic(engine, course.questions, int(choice))
                self.notify(f"Reset {count(removed, 'question')}. The answer history stays in the heatmap.", timeout=4)
                self.action_reload()

            self.app.push_screen(
                ConfirmScreen(f"Forget {what}? Those questions become new again; this cannot be undone."), confirmed
            )

        self.app.push_screen(PickScreen("[b]Reset quiz progress[/b]", options), reset)
