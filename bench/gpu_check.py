"""Run the MLP lab on CUDA through the real runner and print the GPU metrics the sampler stored.

    .venv/bin/python bench/gpu_check.py [--steps 20000] [--home DIR]

Exits with a message (status 1) where torch sees no CUDA device. Uses a
temporary home unless --home is given, so it leaves the learner's runs alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20_000, help="long enough for ~10 one-second samples")
    ap.add_argument("--home", help="pathway home to use (default: a temporary one)")
    ap.add_argument("--device", default="cuda", help="cuda, cuda:N; cpu only to dry-run this script (with PATHWAY_GPU=fake:1)")
    args = ap.parse_args()

    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"No CUDA device visible to torch {torch.__version__} (CUDA build: {torch.version.cuda}). "
              "Run this on a machine with an NVIDIA GPU and a CUDA build of torch.")
        return 1
    from pathway.db.engine import open_database
    from pathway.labs import jobs
    from pathway.labs.gpu import default_provider

    snap = default_provider().sample()
    print("NVML:", snap.reason or ", ".join(f"gpu{d.index} {d.name} {d.mem_total_mb:.0f} MB" for d in snap.devices))

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(args.home or tmp)
        engine = open_database(home)
        t0 = time.time()
        run_id = jobs.start(engine, home, "mlp-digits", {"device": args.device, "steps": args.steps, "eval_interval": 1000})
        run = jobs.wait_for(engine, run_id, lambda r: r.status not in ("queued", "running"), timeout=600)
        wall = time.time() - t0
        print(f"run {run_id}: {run.status} on {run.device} in {wall:.1f} s; final {jobs.final_metrics(run)}")
        if run.error:
            print(run.error)
        print("config:", json.loads(run.config))
        series = defaultdict(list)
        for point in jobs.metrics_since(engine, run_id):
            if point.name.startswith(("gpu", "sys/")) or point.name == "train/samples_per_s":
                series[point.name].append(point.value)
        print(f"{'metric':<22} {'n':>4} {'min':>10} {'max':>10} {'last':>10}")
        for name in sorted(series):
            v = series[name]
            print(f"{name:<22} {len(v):>4} {min(v):>10.1f} {max(v):>10.1f} {v[-1]:>10.1f}")
        if not any(name.startswith("gpu") for name in series):
            print("No GPU metrics were stored: the sampler found no NVML device.")
        engine.dispose()
        return 0 if run.status == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
