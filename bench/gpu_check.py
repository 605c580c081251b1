"""Run the labs briefly on CUDA through the real runner and print their metrics and the GPU metrics the sampler stored.

    .venv/bin/python bench/gpu_check.py [--lab LAB ...] [--steps 20000] [--home DIR]
    PATHWAY_GPU=fake:1 .venv/bin/python bench/gpu_check.py --device cpu --lab ddp   # dry run of the script on CPU

ddp runs min(2, GPUs) ranks with NCCL; ddp-fsdp is the same lab with strategy=fsdp.

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


# lab -> settings for a brief CUDA run (on top of the lab's cuda_defaults); --steps sets mlp-digits' steps
BRIEF_RUNS: dict[str, dict] = {
    "mlp-digits": {"eval_interval": 1000},
    "char-transformer": {"steps": 600, "eval_interval": 200, "sample_chars": 200},
    "inference-opt": {"sentences": 1024, "repeats": 3},
    "cifar-cnn": {"steps": 400, "eval_interval": 200},
    "ddp": {"steps": 300, "eval_interval": 100},  # nproc: min(2, GPUs), set below
    "ddp-fsdp": {"lab": "ddp", "strategy": "fsdp", "steps": 300, "eval_interval": 100},  # FSDP2 fully_shard on NCCL
    "mixed-precision": {"steps": 400},  # auto variants on CUDA: fp32, bf16, fp16 + GradScaler, fp16 without
}
# lab metrics worth a line each in the summary, besides gpu*/ and sys/
LAB_METRICS = ("train/samples_per_s", "train/tokens_per_s", "eval/loss", "eval/nats_per_char",
               "sorted/sentences_per_s", "sorted/p95_ms", "compare/", "check/",
               "eval/acc", "equiv/", "ref/loss", "rank", "fp32/", "bf16/", "fp16")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20_000, help="mlp-digits steps: long enough for ~10 one-second samples")
    ap.add_argument("--lab", action="append", choices=list(BRIEF_RUNS), help="lab to run (repeat for more); default all")
    ap.add_argument("--home", help="pathway home to use (default: a temporary one)")
    ap.add_argument("--device", default="cuda", help="cuda, cuda:N; cpu only to dry-run this script (with PATHWAY_GPU=fake:1)")
    args = ap.parse_args()

    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"No CUDA device visible to torch {torch.__version__} (CUDA build: {torch.version.cuda}). "
              "Run this on a machine with an NVIDIA GPU and a CUDA build of torch.")
        return 1
    from pathway.db.engine import open_database
    from pathway.labs.engine import jobs
    from pathway.labs.engine.gpu import default_provider

    snap = default_provider().sample()
    print("NVML:", snap.reason or ", ".join(f"gpu{d.index} {d.name} {d.mem_total_mb:.0f} MB" for d in snap.devices))

    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(args.home or tmp)
        engine = open_database(home)
        for lab in args.lab or list(BRIEF_RUNS):
            settings = {"device": args.device, **BRIEF_RUNS[lab]}
            lab_id = settings.pop("lab", lab)  # a variant of a lab under its own name (ddp-fsdp)
            if lab == "mlp-digits":
                settings["steps"] = args.steps
            if lab_id == "ddp":  # one rank per GPU; the device knob takes cuda or cpu, not cuda:N
                settings["device"] = "cuda" if args.device.startswith("cuda") else "cpu"
                settings["nproc"] = max(1, min(2, torch.cuda.device_count())) if args.device.startswith("cuda") else 2
                if settings.get("strategy") == "fsdp" and settings["device"] == "cpu":
                    print(f"\n== {lab}: skipped in a CPU dry run: strategy=fsdp needs CUDA (the lab rejects it on CPU)")
                    continue
            t0 = time.time()
            run_id = jobs.start(engine, home, lab_id, settings)
            run = jobs.wait_for(engine, run_id, lambda r: r.status not in ("queued", "running"), timeout=900)
            wall = time.time() - t0
            print(f"\n== {lab}: run {run_id} {run.status} on {run.device} in {wall:.1f} s; final {jobs.final_metrics(run)}")
            if run.error:
                print(run.error)
            print("config:", json.loads(run.config))
            series = defaultdict(list)
            for point in jobs.metrics_since(engine, run_id):
                if point.name.startswith(("gpu", "sys/")) or point.name.startswith(LAB_METRICS):
                    series[point.name].append(point.value)
            print(f"{'metric':<34} {'n':>4} {'min':>10} {'max':>10} {'last':>10}")
            for name in sorted(series):
                v = series[name]
                print(f"{name:<34} {len(v):>4} {min(v):>10.4g} {max(v):>10.4g} {v[-1]:>10.4g}")
            if not any(name.startswith("gpu") for name in series):
                print("No GPU metrics were stored: the sampler found no NVML device.")
            failed += run.status != "succeeded"
        engine.dispose()
    return 1 if failed else 0

if __name__ == "__main__":
    sys.exit(main())
