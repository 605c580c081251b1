"""SFT, then DPO and GRPO from the same SFT checkpoint: held-out accuracy before and after, format rate, wall time.

    .venv/bin/python bench/post_training.py                         # the three labs' defaults, in a temporary cache
    .venv/bin/python bench/post_training.py --cache /tmp/pt         # keep the cache: a second call reuses its SFT model
    .venv/bin/python bench/post_training.py --sft-set steps=300 --grpo-set steps=40 --dpo-set beta=0.5

Each lab runs its own training program in this process (`train(config, report)`
with an in-memory report), on the CPU by default, one thread each as the labs
default to. The SFT run publishes its model into the cache; DPO and GRPO both
start from that file and measure "before" themselves on the same held-out
problems (greedy), so the three rows compare like with like. With --cache and
an SFT model already published there, SFT is not rerun (its row then shows the
published run's figures, without a wall time).

Wall times depend on the machine's load: the 1-minute load average is printed
before and after.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from pathway.labs import catalog
from pathway.labs.engine.local_report import LocalReport


class EchoReport(LocalReport):
    """An in-memory report that also prints the lab's log lines, prefixed with the lab."""

    def __init__(self, lab: str, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lab = lab

    def log_text(self, message: str) -> None:
        super().log_text(message)
        print(f"  [{self.lab}] {message}", flush=True)


def run_lab(lab: str, sets: list[str], cache: Path, device: str) -> dict[str, float]:
    from importlib import import_module

    config = catalog.build_config(lab, {"device": device, **catalog.parse_set(lab, sets, cuda=device.startswith("cuda"))},
                                  cuda=device.startswith("cuda"))
    report = EchoReport(lab, cache / "bench-runs" / lab, cache_dir=cache, device=device)
    final = import_module(catalog.get_lab(lab).module).train(config, report)
    missed = catalog.get_lab(lab).judge(config, final)
    return {**final, "goals": "met" if not missed else "missed: " + "; ".join(m.split(". ")[0] for m in missed)}


def wall(seconds: float) -> str:
    return "-" if seconds != seconds else f"{seconds:.0f}s"  # NaN: SFT was published earlier, not timed here


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, help="cache folder to use and keep (default: a temporary one)")
    parser.add_argument("--device", default="cpu")
    for lab in ("sft", "dpo", "grpo"):
        parser.add_argument(f"--{lab}-set", action="append", default=[], metavar="KEY=VALUE", help=f"a setting of the {lab} lab")
    opts = parser.parse_args(argv)
    tmp = None
    if opts.cache is None:
        tmp = tempfile.TemporaryDirectory(prefix="pathway-post-training-")
        opts.cache = Path(tmp.name)
    print(f"cache {opts.cache}; device {opts.device}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")

    from pathway.labs.programs.post_training.checkpoint import load_policy

    rows: dict[str, dict] = {}
    published = load_policy(opts.cache, "cpu")
    if published is None or opts.sft_set:
        t0 = time.perf_counter()
        final = run_lab("sft", opts.sft_set, opts.cache, opts.device)
        rows["sft"] = {**final, "wall_s": time.perf_counter() - t0}
    else:
        m = published.metrics
        rows["sft"] = {"before/exact_match": m.get("before/exact_match", float("nan")), "eval/exact_match": m.get("eval/exact_match"),
                       "before/format_rate": m.get("before/format_rate", float("nan")), "eval/format_rate": m.get("eval/format_rate"),
                       "wall_s": float("nan"), "goals": f"(published by run {published.run_id})"}
    for lab in ("dpo", "grpo"):
        t0 = time.perf_counter()
        final = run_lab(lab, getattr(opts, f"{lab}_set"), opts.cache, opts.device)
        rows[lab] = {**final, "wall_s": time.perf_counter() - t0}

    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    print(f"{'lab':<5} {'exact before':>12} {'exact after':>11} {'format before':>13} {'format after':>12} {'wall':>7}  goals")
    for lab, r in rows.items():
        print(f"{lab:<5} {r['before/exact_match']:>12.1%} {r['eval/exact_match']:>11.1%} {r['before/format_rate']:>13.1%} "
              f"{r['eval/format_rate']:>12.1%} {wall(r['wall_s']):>7}  {r['goals']}")
    if "eval/gap_closed" in rows["grpo"]:
        print(f"grpo closed {rows['grpo']['eval/gap_closed']:.0%} of the SFT model's gap to 100% (goal > 50%)")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
