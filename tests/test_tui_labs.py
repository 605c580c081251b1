"""Pilot tests of the Labs mode and the run view, with synthetic runs written straight to the DB."""

from __future__ import annotations

import math
import os
from datetime import timedelta
from pathlib import Path

import psutil
import pytest
from sqlmodel import Session
from textual.widgets import DataTable, Static

from pathway.db.engine import open_database
from pathway.db.models import Metric, Run, utcnow
from pathway.tui.app import make_app
from pathway.tui.screens.run_view import RunScreen
from pathway.tui.widgets.line_chart import LineChart
from tui_helpers import until, wait_ready

T0 = 1_700_000_000.0


def add_run(home: Path, *, steps: int = 200, status: str = "succeeded", spike_at: int | None = None, gpu: bool = False,
            lab: str = "mlp-digits", error: str | None = None) -> int:
    """A finished run of `steps` reports with a falling loss, CPU samples and optional GPU samples."""
    engine = open_database(home)
    started = utcnow() - timedelta(seconds=120)
    with Session(engine) as session:
        run = Run(
            lab=lab, status=status, created_at=started, started_at=started,
            finished_at=started + timedelta(seconds=steps / 10), run_dir=str(home / "runs" / "x"),
            step=steps, total_steps=steps, device="cpu", error=error,
        )
        if status == "running":  # alive as far as reconcile can tell: this test process stands in for the runner
            run.pid, run.pid_create_time, run.heartbeat_at = os.getpid(), psutil.Process().create_time(), utcnow()
        session.add(run)
        session.commit()
        run_id = run.id
        rows = []
        for step in range(1, steps + 1):
            t = T0 + step / 10
            loss = 2.3 * math.exp(-step / 40) + 0.05
            if step == spike_at:
                loss = 50.0
            rows.append(Metric(run_id=run_id, step=step, t=t, name="train/loss", value=loss))
            if step % 20 == 0:
                rows.append(Metric(run_id=run_id, step=step, t=t, name="eval/loss", value=loss + 0.1))
                rows.append(Metric(run_id=run_id, step=step, t=t, name="eval/acc", value=1 - loss / 3))
                rows.append(Metric(run_id=run_id, step=step, t=t, name="sys/cpu_percent", value=150 + step % 40))
                rows.append(Metric(run_id=run_id, step=step, t=t, name="sys/rss_mb", value=400 + step / 10))
                if gpu:
                    for name, value in [("util", 80), ("mem_used_mb", 12000), ("mem_total_mb", 81559), ("temp_c", 61),
                                        ("power_w", 300), ("power_cap_w", 700), ("job_mem_mb", 9000)]:
                        rows.append(Metric(run_id=run_id, step=step, t=t, name=f"gpu0/{name}", value=value))
        session.add_all(rows)
        session.commit()
    engine.dispose()
    return run_id


async def open_labs(pilot) -> None:
    await wait_ready(pilot)
    await pilot.press("f5")
    for _ in range(40):
        await pilot.pause(0.05)
        if pilot.app.screen.query(DataTable) and pilot.app.screen.query_one(DataTable).row_count:
            break


class TestLabsScreen:
    async def test_runs_table_lists_runs_and_opens_one(self, home: Path, content_dir: Path) -> None:
        run_id = add_run(home)
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test(size=(100, 30)) as pilot:
            await open_labs(pilot)
            table = app.screen.query_one(DataTable)
            assert table.row_count == 1
            offered = {b.binding.key for b in app.screen.active_bindings.values() if b.binding.show}
            assert "s" in offered and not {"x", "r"} & offered  # a finished run: nothing to stop or resume
            table.focus()
            await pilot.press("enter")
            await pilot.pause(0.5)
            assert isinstance(app.screen, RunScreen) and app.screen.run_ids == [run_id]

    async def test_the_form_checks_as_you_type_and_starts_from_any_field(self, home: Path, content_dir: Path) -> None:
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test(size=(80, 24)) as pilot:
            await open_labs(pilot)
            await pilot.press("e")
            await pilot.pause(0.2)
            form = app.screen
            footer = " ".join(b.binding.description for b in form.active_bindings.values() if b.binding.show)
            assert "Start run" in footer and "Compare" not in footer, footer  # the dialog's own keys, not Labs'
            form.query_one("#knob-steps").focus()
            await until(pilot, lambda: str(form.query_one("#settings-help", Static).render()).startswith("steps"), what="the field's help")
            shown = form.query_one("#settings-fields").region
            rows = [row for row in form.query(".setting-row") if row.region.y < shown.bottom]
            assert 8 <= len(rows) < len(form.query(".setting-row")), len(rows)  # one row a field: most show at 80x24
            await pilot.press("end", "x")  # "1000x" is not a whole number: said under the field, before any Start
            await pilot.pause(0.1)
            message = form.query_one("#error-steps", Static)
            assert message.display and "steps must be a whole number" in str(message.render())
            await pilot.press("backspace")
            await pilot.pause(0.1)
            assert not form.query_one("#error-steps", Static).display
            form.query_one("#knob-hidden").value = "999999"  # out of range: the message names the range
            # the whole-form check runs 0.3 s after the last keystroke: wait for it, not a fixed time
            await until(pilot, lambda: "hidden" in str(form.query_one("#settings-error", Static).render()),
                        what="the whole-form check naming hidden")
            assert "1 to 16384" in str(form.query_one("#error-hidden", Static).render())
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert app.screen is form and app.screen.focused is form.query_one("#knob-hidden")

    async def test_bad_setting_in_the_form_names_the_key(self, home: Path, content_dir: Path) -> None:
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test(size=(100, 40)) as pilot:
            await open_labs(pilot)
            await pilot.press("e")
            await pilot.pause(0.2)
            form = app.screen
            form.query_one("#knob-lr").value = "-1"
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert "lr" in str(form.query_one("#settings-error", Static).render())
            assert app.screen is form, "the form stays open until the settings are valid"


class TestRunView:
    async def test_draws_curves_and_toggles(self, home: Path, content_dir: Path) -> None:
        run_id = add_run(home, steps=300, spike_at=150)
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_ready(pilot)
            app.push_screen(RunScreen([run_id]))
            await pilot.pause(1.0)
            chart = app.screen.query_one(LineChart)
            labels = [s.label for s in chart.series]
            assert labels == ["train/loss", "eval/loss"]
            assert len(chart.series[0].values) == 300
            header = str(app.screen.query_one("#run-header", Static).render())
            assert "succeeded" in header and "step 300/300" in header
            assert "50" in str(chart.render()), "the spike sets the top of the y axis"
            await pilot.press("l", "plus", "x")
            assert chart.log_y and chart.smoothing == pytest.approx(0.7) and chart.x_axis == "time"
            assert "no NVIDIA GPU" in str(app.screen.query_one("#gpu-pane", Static).render())
            await pilot.press("q")
            assert not isinstance(app.screen, RunScreen)

    async def test_gpu_pane_shows_readings(self, home: Path, content_dir: Path) -> None:
        run_id = add_run(home, gpu=True)
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_ready(pilot)
            app.push_screen(RunScreen([run_id]))
            await pilot.pause(1.0)
            pane = str(app.screen.query_one("#gpu-pane", Static).render())
            assert "GPU0" in pane and "80%" in pane and "300W/700W" in pane and "8.8 GB" in pane

    async def test_compare_overlays_runs(self, home: Path, content_dir: Path) -> None:
        first, second = add_run(home), add_run(home, steps=100)
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test(size=(100, 30)) as pilot:
            await open_labs(pilot)
            table = app.screen.query_one(DataTable)
            table.focus()
            await pilot.press("space", "down", "space", "c")
            await pilot.pause(1.0)
            assert isinstance(app.screen, RunScreen)
            assert sorted(app.screen.run_ids) == [first, second]
            labels = [s.label for s in app.screen.query_one(LineChart).series]
            assert labels == [f"#{first} train/loss", f"#{second} train/loss"]


@pytest.mark.parametrize("width", [80, 120])
async def test_the_run_header_fits_one_line(home: Path, content_dir: Path, width: int) -> None:
    from rich.text import Text

    run_id = add_run(home)
    app = make_app(home=home, content_dir=content_dir)
    async with app.run_test(size=(width, 30)) as pilot:
        await wait_ready(pilot)
        app.push_screen(RunScreen([run_id]))
        await until(pilot, lambda: app.screen.query("#run-header")
                    and "step 200/200" in str(app.screen.query_one("#run-header", Static).render()), what="the header")
        first = str(app.screen.query_one("#run-header", Static).render()).splitlines()[0]
        assert Text(first).cell_len <= width - 2, first
        assert ("100%" in first and "elapsed" in first) == (width == 120), first  # the wide one keeps everything


class TestRunEndings:
    async def show(self, app, pilot, run_id: int) -> RunScreen:
        await wait_ready(pilot)
        app.push_screen(RunScreen([run_id]))
        await pilot.pause(1.0)
        return app.screen

    @staticmethod
    def offered(screen) -> set[str]:
        return {b.binding.key for b in screen.active_bindings.values() if b.binding.show}

    async def test_a_finished_run_offers_neither_stop_nor_resume(self, home: Path, content_dir: Path) -> None:
        run_id = add_run(home)
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test(size=(100, 30)) as pilot:
            screen = await self.show(app, pilot, run_id)
            assert not {"s", "r"} & self.offered(screen)
            pane = str(screen.query_one("#cpu-pane", Static).render())
            assert "Run ended: no live readings" in pane and "peak RSS 420 MB" in pane

    async def test_an_interrupted_run_offers_r_in_the_tui_words_and_no_eta(self, home: Path, content_dir: Path) -> None:
        run_id = add_run(home, status="interrupted", error="The runner stopped reporting (its process is gone); resume the run to continue from its last checkpoint.")
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test(size=(100, 30)) as pilot:
            screen = await self.show(app, pilot, run_id)
            assert "r" in self.offered(screen) and "s" not in self.offered(screen)
            header = str(screen.query_one("#run-header", Static).render())
            assert "Press r to resume" in header and "pathway lab" not in header and "ETA" not in header

    async def test_a_run_that_failed_before_its_first_loss_says_why(self, home: Path, content_dir: Path) -> None:
        run_id = add_run(home, steps=0, status="failed", lab="mixed-precision",
                         error="The run ran out of memory: the model, the batch and its activations do not fit in this machine's RAM. Lower dim, then start again.")
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test(size=(100, 30)) as pilot:
            screen = await self.show(app, pilot, run_id)
            chart = str(screen.query_one("#loss-chart", LineChart).render())
            assert "waiting" not in chart and "failed before its first report" in chart
            header = str(screen.query_one("#run-header", Static).render())
            assert "ran out of memory" in header and "Lower dim" in header

    async def test_check_failed_shows_the_reason_and_accuracy_gets_its_own_chart(self, home: Path, content_dir: Path) -> None:
        reason = "The run finished, but its result fails the lab's check: eval/acc = 0.1, needs > 0.3. Chance is 10%."
        run_id = add_run(home, status="check failed", lab="cifar-cnn", error=reason)
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await self.show(app, pilot, run_id)
            header = str(screen.query_one("#run-header", Static).render())
            assert "check failed" in header and "eval/acc = 0.1, needs > 0.3" in header and not {"s", "r"} & self.offered(screen)
            assert [s.label for s in screen.query_one("#loss-chart", LineChart).series] == ["train/loss", "eval/loss"]
            accuracy = screen.query_one("#acc-chart", LineChart)
            assert accuracy.display and [s.label for s in accuracy.series] == ["eval/acc"]


def test_dashboard_snapshot_with_fake_gpu(snap_compare, home: Path, content_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATHWAY_GPU", "fake:1")
    run_id = add_run(home, steps=300, spike_at=150, gpu=True)

    async def show(pilot) -> None:
        await wait_ready(pilot)
        pilot.app.push_screen(RunScreen([run_id]))
        await pilot.pause(1.0)

    assert snap_compare(make_app(home=home, content_dir=content_dir), terminal_size=(100, 30), run_before=show)


async def test_home_shows_a_running_lab_with_its_sparkline(home: Path, content_dir: Path) -> None:
    add_run(home, status="running")
    app = make_app(home=home, content_dir=content_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_ready(pilot)
        for _ in range(100):
            await pilot.pause(0.05)
            text = str(app.screen.query_one("#labs", Static).render())
            if "running" in text and "#" in text:
                break
        assert "1 running" in text and "mlp-digits" in text
        assert any(bar in text for bar in "▁▂▃▄▅▆▇█")
