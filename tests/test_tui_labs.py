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
from tui_helpers import wait_ready

T0 = 1_700_000_000.0


def add_run(home: Path, *, steps: int = 200, status: str = "succeeded", spike_at: int | None = None, gpu: bool = False) -> int:
    """A finished run of `steps` reports with a falling loss, CPU samples and optional GPU samples."""
    engine = open_database(home)
    started = utcnow() - timedelta(seconds=120)
    with Session(engine) as session:
        run = Run(
            lab="mlp-digits", status=status, created_at=started, started_at=started,
            finished_at=started + timedelta(seconds=steps / 10), run_dir=str(home / "runs" / "x"),
            step=steps, total_steps=steps, device="cpu",
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
            table.focus()
            await pilot.press("enter")
            await pilot.pause(0.5)
            assert isinstance(app.screen, RunScreen) and app.screen.run_ids == [run_id]

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
