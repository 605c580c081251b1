"""What does reporting cost a training loop? The MLP lab's plain loop, bare and reporting, side by side.

    .venv/bin/python bench/report_overhead.py [--steps 1000] [--repeats 21]

Both variants run in this process, alternating, on the same model and data.
The bare block is the seed's loop and nothing else: no `.item()`, no threads.
The reporting block does what a lab under the runner does: `.item()` on the
loss and `report.step(...)` every log_interval steps, with a real Reporter
writing to a real SQLite file from its background thread and the system
sampler thread running; both are started and closed inside the timed block, so
their whole cost is charged. Prints each pair and the median ratios of wall
time and of process CPU time (all threads); goal <= 1.03. On a shared machine
the CPU ratio is the steadier one: other processes stretch wall time more.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn as nn

from pathway.db.engine import open_database
from pathway.labs.engine import records
from pathway.labs.programs.mlp_digits.spec import MLPDigitsConfig
from pathway.labs.engine.gpu import default_provider
from pathway.labs.programs.mlp_digits.train import SimpleNN, load_data
from pathway.labs.engine.reporter import Reporter
from pathway.labs.engine.sampler import Sampler


def loop(model, optimizer, x, y, steps: int, batch: int, report=None, log_interval: int = 10) -> None:
    """The lab's inner loop. `report=None` is the bare loop: no .item(), nothing recorded."""
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(0)
    t_mark = time.perf_counter()
    for step in range(1, steps + 1):
        idx = torch.randint(0, len(x), (batch,), generator=gen)
        loss = loss_fn(model(x[idx]), y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if report is not None and step % log_interval == 0:
            now = time.perf_counter()
            report.step(step, **{"train/loss": loss.item(), "train/lr": 1e-3, "train/samples_per_s": batch * log_interval / (now - t_mark)})
            t_mark = now
            if report.should_stop:
                break


def timed(fn) -> tuple[float, float]:
    """(wall s, process CPU s) of fn(); CPU time covers every thread of this process."""
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1000, help="steps per timed block")
    ap.add_argument("--repeats", type=int, default=21, help="pairs of blocks (bare, reporting), order alternating")
    args = ap.parse_args()

    config = MLPDigitsConfig()
    x_tr, y_tr, _, _ = load_data(config)
    x, y = torch.from_numpy(x_tr), torch.from_numpy(y_tr)
    torch.set_num_threads(config.threads)  # as the lab does
    torch.manual_seed(0)
    model = SimpleNN(x.shape[1], config.hidden, 10)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        engine = open_database(home)
        run_id = records.create(engine, "mlp-digits", {})
        written = errors = 0

        def bare() -> None:
            loop(model, optimizer, x, y, args.steps, config.batch_size)

        def reporting() -> None:
            nonlocal written, errors
            reporter = Reporter(engine, run_id, home)
            sampler = Sampler(reporter, default_provider())
            reporter.start()
            sampler.start()
            loop(model, optimizer, x, y, args.steps, config.batch_size, report=reporter)
            sampler.stop()
            reporter.close()  # the last flush is part of the cost
            written += reporter.rows_written
            errors += reporter.write_errors

        loop(model, optimizer, x, y, 200, config.batch_size)  # warm-up: allocator, dynamo import, caches
        walls, cpus = [], []
        print(f"{'bare s':>8} {'reporting s':>12} {'wall ratio':>11} {'CPU ratio':>10}")
        for i in range(args.repeats):
            # alternate the order so drift on a shared machine hits both sides alike
            if i % 2 == 0:
                b, r = timed(bare), timed(reporting)
            else:
                r, b = timed(reporting), timed(bare)
            walls.append(r[0] / b[0])
            cpus.append(r[1] / b[1])
            print(f"{b[0]:8.3f} {r[0]:12.3f} {walls[-1]:11.3f} {cpus[-1]:10.3f}")
        engine.dispose()
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    print(f"median over {args.repeats} pairs of {args.steps} steps: wall {wall:.3f} ({(wall - 1) * 100:+.1f}%), "
          f"process CPU {cpu:.3f} ({(cpu - 1) * 100:+.1f}%); goal <= +3%")
    print(f"rows written: {written}, write errors: {errors}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
