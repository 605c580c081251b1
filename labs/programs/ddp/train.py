"""Distributed data parallel: the same MLP trained by N ranks launched through torchrun, checked against one process.

    pathway lab run ddp                                  # 2 ranks, gloo on CPU, a free rendezvous port
    pathway lab run ddp --set set_epoch=false            # the bug: every epoch replays epoch 0's order
    pathway lab run ddp --set strategy=fsdp              # FSDP2 (fully_shard) on CUDA GPUs
    pathway lab run ddp --set nnodes=2 --set node_rank=0 --set rdzv_endpoint=node0:29611   # on node 0, then node 1

What runs where: the runner calls `train()` below, which picks a free port and
starts `torchrun` (`python -m torch.distributed.run`); torchrun starts `nproc`
copies of this file's `main()`, one per rank, and each rank runs `train_rank`.
The global batch is fixed: each of the N ranks takes `global_batch / N` samples
of every step from its `DistributedSampler` shard, computes its gradient, and
DDP all-reduces the gradients (sum / N) during backward, so every rank takes
the same step and the replicas stay identical without ever sending weights.

The equivalence check: rank 0 also trains a plain copy of the model, alone, on
each whole global batch (the union of all ranks' shards of that step). Same
start, same data, same optimizer: the losses must agree to floating-point
noise. The largest difference over the run is a metric (`equiv/max_abs_diff`).

Spark reading: DistributedSampler is the partitioner (shards ~ partitions),
ranks are executors that never leave the job, the all-reduce is the one
shuffle per step, and rank 0 is a peer that also writes the checkpoint.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import signal
import sys
import time
from pathlib import Path

_stop_signalled = False  # set by SIGINT (jobs.stop signals the whole process group); read once per step


def _on_sigint(signum, frame) -> None:
    global _stop_signalled
    _stop_signalled = True


if __name__ == "__main__":  # a rank: catch a stop before the slow torch import, not after
    signal.signal(signal.SIGINT, _on_sigint)

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DistributedSampler, TensorDataset

from pathway.errors import PathwayError
from pathway.labs.programs.common import digits
from pathway.labs.programs.ddp import distkit
from pathway.labs.engine import launch
from pathway.labs.programs.ddp.spec import DDPConfig as Config  # torch-free, so the TUI form can read it
from pathway.labs.programs.ddp.spec import _cpu_cores, fsdp_needs_cuda, too_many_ranks
from pathway.words import count

__all__ = ["Config", "MLP", "train", "train_rank", "main"]

RESULT_NAME = "ddp_result.json"  # rank 0's final metrics, read by the launcher
STOP_NAME = "STOP"  # written by the runner when a stop reached it alone
EQUIV_TOLERANCE = 1e-5


class MLP(nn.Module):
    """64 -> hidden -> hidden -> 10 with ReLU. No dropout and no BatchNorm: both would differ per rank."""

    def __init__(self, n_in: int, hidden: int, n_classes: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, n_in) -> (B, n_classes) logits


def load_digits_split(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """scikit-learn's bundled 8x8 digits (no download): standardized float32, 80/20 split fixed by `seed`."""
    x_tr, y_tr, x_te, y_te = digits.split(seed, 0.2)
    x_tr, x_te = digits.standardize(x_tr, x_te)
    return torch.from_numpy(x_tr), torch.from_numpy(y_tr), torch.from_numpy(x_te), torch.from_numpy(y_te)


# --- the launcher (runs in the runner process) --------------------------------------------------------


def train(config: Config, report) -> dict[str, float]:
    """Check the launch against this machine, start torchrun, wait, return rank 0's final metrics."""
    from pathway.labs.engine.reporter import Diverged
    from pathway.labs.programs.common.torchkit import pick_device

    device = pick_device(config.device)
    on_cuda = device.type == "cuda"
    if config.strategy == "fsdp" and not on_cuda:
        raise PathwayError(fsdp_needs_cuda(f"torch {torch.__version__} sees no CUDA device here"))
    if config.backend == "nccl" and not on_cuda:
        raise PathwayError("backend=nccl needs CUDA, and torch sees no CUDA device here; use backend=gloo (or auto).")
    if on_cuda and config.nproc > torch.cuda.device_count():
        raise PathwayError(f"nproc={config.nproc} is more than the {count(torch.cuda.device_count(), 'CUDA device')} here: "
                           "NCCL needs one GPU per rank. Lower nproc.")
    if not on_cuda and config.nproc > _cpu_cores():
        raise PathwayError(too_many_ranks(config.nproc, _cpu_cores()))

    n_train = len(load_digits_split(config.seed)[1])
    world = config.nproc * config.nnodes
    if config.global_batch // world > n_train // world:
        raise PathwayError(f"global_batch={config.global_batch} is more than the {n_train} training digits can fill "
                           f"(each of {world} ranks gets {n_train // world}); lower it.")

    if config.rdzv_endpoint:
        endpoint = config.rdzv_endpoint
    else:
        endpoint = f"127.0.0.1:{launch.free_port()}"
    backend = config.backend if config.backend != "auto" else ("nccl" if on_cuda else "gloo")
    report.log_text(
        f"ddp: {count(world, 'rank')} ({count(config.nnodes, 'node')} x {config.nproc}), strategy {config.strategy}, backend {backend}, "
        f"rendezvous {endpoint}, global batch {config.global_batch} = {world} x {config.global_batch // world}"
    )
    run_dir = Path(report.run_dir)
    result_file = run_dir / RESULT_NAME
    if not report.resuming or config.node_rank == 0:
        result_file.unlink(missing_ok=True)
    args = ["--db-url", report.engine.url.render_as_string(hide_password=False), "--run-id", str(report.run_id), "--run-dir", str(run_dir),
            "--config", json.dumps(vars(config)), "--device", "cuda" if on_cuda else "cpu", "--backend", backend]
    if report.resuming:
        args.append("--resume")
    cmd = launch.torchrun_command(nproc=config.nproc, nnodes=config.nnodes, node_rank=config.node_rank,
                                  endpoint=endpoint, module="pathway.labs.programs.ddp.train", args=args, run_id=report.run_id)
    report.set_total_steps(config.steps)
    rc = launch.run_ranks(cmd, report, env={"OMP_NUM_THREADS": str(config.threads)}, stop_file=run_dir / STOP_NAME)

    result = launch.read_result(result_file)
    port = float(endpoint.rsplit(":", 1)[1])
    if result is None:
        if report.should_stop:  # stopped before rank 0 got going (e.g. while importing torch): nothing new to save
            return {"step": report.last_step, "rdzv_port": port}
        if rc == 0 and config.node_rank != 0:  # another node: rank 0 and its result live on node 0
            return {"step": report.last_step, "node_rank": config.node_rank, "rdzv_port": port}
        raise PathwayError(f"torchrun exited with code {rc} before rank 0 wrote its result; the ranks' tracebacks "
                           f"are in the run's log (`pathway lab logs {report.run_id}`).", exit_code=1)
    if rc != 0:  # rank 0 finished and wrote its result; a rank failed after that (on the way out)
        report.log_text(f"note: torchrun exited with code {rc} after rank 0 wrote its result; the result stands, "
                        f"the ranks' messages are above")
    if result.get("status") == "diverged":
        raise Diverged("train/loss", float("nan"), int(result.get("step", 0)))
    final = result["final"]
    final["rdzv_port"] = port
    return final


# --- one rank (runs under torchrun) ------------------------------------------------------------------


def _stop_now(report, stop_file: Path, step: int) -> bool:
    """A stop asked by signal (every step), by the stop file, or by the runner's death (every 10th step: a stat each)."""
    if _stop_signalled or report.should_stop:
        return True
    return step % 10 == 0 and (stop_file.exists() or not launch.runner_alive())


def train_rank(config: Config, report, rank: int, world: int, local_rank: int, device: torch.device) -> dict | None:
    """The training loop of one rank; returns rank 0's result (None on other ranks)."""
    run_dir = Path(report.run_dir)
    stop_file = run_dir / STOP_NAME
    torch.set_num_threads(config.threads)
    say = report.log_text if rank == 0 else (lambda message: None)  # one voice in the log

    # --- data: every rank loads the whole (tiny) set; the sampler decides who trains on what ---------------
    x_tr, y_tr, x_te, y_te = (t.to(device) for t in load_digits_split(config.seed))
    n_train = len(y_tr)
    dataset = TensorDataset(x_tr, y_tr)
    # drop_last: every shard gets floor(n / world) samples, so shard losses average to the global loss exactly
    sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True, seed=config.seed, drop_last=True)
    per_rank = config.global_batch // world
    steps_per_epoch = len(sampler) // per_rank
    if steps_per_epoch == 0:
        raise PathwayError(f"global_batch={config.global_batch} is larger than the {n_train} training samples; lower it.")

    # --- model: the same seed on every rank gives the same initial weights --------------------------------
    torch.manual_seed(config.seed)
    base = MLP(x_tr.shape[1], config.hidden, 10).to(device)
    reference = copy.deepcopy(base) if (rank == 0 and config.equiv_check) else None  # one process, whole batches
    timer = distkit.CommTimer()
    if config.strategy == "fsdp":
        from torch.distributed.fsdp import fully_shard

        for layer in base.net:  # shard each Linear, then the root: parameters live 1/world per rank
            if isinstance(layer, nn.Linear):
                fully_shard(layer)
        model = fully_shard(base)
    else:
        # DDP broadcasts rank 0's parameters at construction (replicas start identical even with different seeds)
        model = DDP(base, device_ids=[local_rank] if device.type == "cuda" else None)
        model.register_comm_hook(None, timer.hook)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    ref_optimizer = torch.optim.Adam(reference.parameters(), lr=config.lr) if reference is not None else None

    # --- resume: rank 0 reads the checkpoint and broadcasts it ---------------------------------------
    step, max_diff = 0, 0.0
    if report.resuming:
        state = torch.load(report.checkpoint_path, map_location="cpu", weights_only=False) if rank == 0 and report.checkpoint_path.exists() else None
        meta = [None if state is None else {"step": state["step"], "max_diff": state["max_diff"]}]
        dist.broadcast_object_list(meta, src=0)
        if meta[0] is not None:
            distkit.load_full_state(model, optimizer, state["model"] if state else {}, state["optimizer"] if state else {})
            step, max_diff = meta[0]["step"], meta[0]["max_diff"]
            if reference is not None and state.get("reference"):
                reference.load_state_dict(state["reference"])
                ref_optimizer.load_state_dict(state["ref_optimizer"])
            say(f"resumed from checkpoint at step {step}")
        if local_rank == 0:
            report.rewind_to(step)  # each node's database drops rows logged after the checkpoint

    def checkpoint() -> None:
        model_state, optim_state = distkit.full_state(model, optimizer)  # collective: every rank calls
        if rank == 0:
            from pathway.labs.programs.common.torchkit import save_checkpoint

            save_checkpoint(report.checkpoint_path, {
                "step": step, "model": model_state, "optimizer": optim_state, "max_diff": max_diff, "config": vars(config),
                "reference": reference.state_dict() if reference is not None else None,
                "ref_optimizer": ref_optimizer.state_dict() if ref_optimizer is not None else None,
            })

    @torch.no_grad()
    def evaluate() -> tuple[float, float]:
        model.eval()  # FSDP: every rank runs the forward (it all-gathers the shards); all get the same answer
        logits = model(x_te)
        model.train()
        return F.cross_entropy(logits, y_te).item(), (logits.argmax(1) == y_te).float().mean().item()

    # --- the loop -------------------------------------------------------------------------------------
    say(f"{world} ranks on {device} ({dist.get_backend()}); each rank: {len(sampler)} samples per epoch, "
        f"{per_rank} per step, {steps_per_epoch} steps per epoch; set_epoch {'on' if config.set_epoch else 'OFF'}; "
        f"equivalence check {'on (rank 0 also trains alone)' if reference is not None else 'off'}")
    epoch, order, ref_orders = -1, None, None
    sums = {"step": 0.0, "comm": 0.0, "ref": 0.0, "n": 0}
    totals = {"step": 0.0, "comm": 0.0, "n": 0}
    stopped = diverged = False
    interval_t0 = time.perf_counter()
    while step < config.steps:
        e, k = divmod(step, steps_per_epoch)
        if e != epoch:
            epoch = e
            # set_epoch reseeds the sampler's shuffle with seed + epoch. Every rank makes the same call, so all
            # ranks compute the same permutation and their shards stay disjoint; without it every epoch is epoch 0.
            if config.set_epoch:
                sampler.set_epoch(epoch)
            order = torch.tensor(list(sampler))
            if reference is not None:
                ref_orders = [distkit.shard_order(n_train, world, r, config.seed, epoch if config.set_epoch else None) for r in range(world)]
            say(f"epoch {epoch}: rank 0's shard starts {order[:6].tolist()}")
        idx = order[k * per_rank:(k + 1) * per_rank].to(device)

        # one DDP step: forward on the shard, backward (gradients all-reduced inside), identical updates
        t0 = time.perf_counter()
        comm0 = timer.seconds
        loss = F.cross_entropy(model(x_tr[idx]), y_tr[idx])  # mean over this rank's shard
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()  # honest step time: wait for the GPU (costs the overlap with the next step)
        step_s = time.perf_counter() - t0
        step += 1

        # the reference: one process, the union of every rank's shard of this step (outside the timed region)
        ref_loss = None
        if reference is not None:
            t_ref = time.perf_counter()
            gidx = torch.cat([o[k * per_rank:(k + 1) * per_rank] for o in ref_orders]).to(device)
            r_loss = F.cross_entropy(reference(x_tr[gidx]), y_tr[gidx])
            ref_optimizer.zero_grad(set_to_none=True)
            r_loss.backward()
            ref_optimizer.step()
            ref_loss = r_loss.item()
            sums["ref"] += time.perf_counter() - t_ref

        # bookkeeping all-reduce: the global loss, and whether anyone wants to stop (all ranks must agree,
        # or the ones that go on wait forever in their next all-reduce). Also the barrier after rank 0's reference.
        flags = torch.tensor([loss.item(), float(_stop_now(report, stop_file, step))], device=device)
        dist.all_reduce(flags)
        global_loss = flags[0].item() / world  # equal shards: the mean of shard means is the global mean
        stopping = flags[1].item() > 0
        if ref_loss is not None:
            max_diff = max(max_diff, abs(global_loss - ref_loss))
        sums["step"] += step_s
        sums["comm"] += timer.seconds - comm0
        sums["n"] += 1

        if not math.isfinite(global_loss):
            diverged = True
            break
        if step % config.log_interval == 0 or step == config.steps or stopping:  # the curve ends at the checkpoint
            n = sums["n"]
            step_ms, comm_ms = 1000 * sums["step"] / n, 1000 * sums["comm"] / n
            metrics = {
                f"rank{rank}/step_ms": step_ms,  # forward + backward (with the all-reduce) + optimizer step
                f"rank{rank}/compute_ms": step_ms - comm_ms,
                f"rank{rank}/samples_per_s": per_rank / max(step_ms / 1000, 1e-9),
            }
            if config.strategy == "ddp":
                metrics[f"rank{rank}/allreduce_ms"] = comm_ms  # launch to completion, waiting for peers included
            if rank == 0:
                metrics["train/loss"] = global_loss
                metrics["train/samples_per_s"] = config.global_batch / max(sums["step"] / n, 1e-9)
                metrics["train/epoch"] = epoch
                if ref_loss is not None:
                    metrics.update({"ref/loss": ref_loss, "equiv/abs_diff": abs(global_loss - ref_loss),
                                    "equiv/max_abs_diff": max_diff, "ref/step_ms": 1000 * sums["ref"] / n})
            report.step(step, **metrics)
            totals["step"] += sums["step"]
            totals["comm"] += sums["comm"]
            totals["n"] += n
            sums = {"step": 0.0, "comm": 0.0, "ref": 0.0, "n": 0}
        if step % config.eval_interval == 0 or step == config.steps:
            eval_loss, eval_acc = evaluate()
            if rank == 0:
                report.step(step, **{"eval/loss": eval_loss, "eval/acc": eval_acc})
                diff = f", max |ddp - single| {max_diff:.2e}" if reference is not None else ""
                say(f"step {step}/{config.steps}: loss {global_loss:.4f}, eval loss {eval_loss:.4f}, acc {eval_acc:.2%}{diff} "
                    f"({time.perf_counter() - interval_t0:.1f} s of training)")
            distkit.write_rank_table(report, rank, world, step, totals, config.strategy)
        if step % config.ckpt_interval == 0:
            checkpoint()
        if stopping:
            stopped = True
            break

    # --- stop or finish: checkpoint (rank 0 writes), final evaluation, the result file -------------------
    if diverged:
        if rank == 0:
            say(f"loss became {global_loss} at step {step}: diverged")
            launch.write_result(run_dir / RESULT_NAME, {"status": "diverged", "step": step})
        return None
    checkpoint()
    eval_loss, eval_acc = evaluate()
    table = distkit.write_rank_table(report, rank, world, step, totals, config.strategy)
    if rank != 0:
        return None
    final = {"step": step, "train/loss": global_loss, "eval/loss": eval_loss, "eval/acc": eval_acc, "world_size": world}
    for r, (step_ms, comm_ms) in enumerate(table):
        final[f"rank{r}/step_ms_mean"] = step_ms
        if config.strategy == "ddp":
            final[f"rank{r}/allreduce_ms_mean"] = comm_ms
    if reference is not None:
        ok = max_diff <= EQUIV_TOLERANCE
        final["equiv/max_abs_diff"] = max_diff
        final["check/equivalence"] = float(ok)  # 1.0 or 0.0: the lab's goal (spec.py) judges it
        say(f"equivalence: max |loss({world} ranks) - loss(1 process, same global batch)| over {step} steps = {max_diff:.2e} "
            f"({'<=' if ok else 'EXCEEDS'} {EQUIV_TOLERANCE:g}{': the same training' if ok else ': the shards or the averaging are wrong'})")
    if stopped:
        say(f"stopped at step {step}; rank 0 saved the checkpoint, `pathway lab resume` continues from here")
    launch.write_result(run_dir / RESULT_NAME, {"status": "stopped" if stopped else "succeeded", "final": final})
    return final


def main(argv: list[str] | None = None) -> int:
    """Entry point of one rank; torchrun sets RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT."""
    ap = argparse.ArgumentParser(prog="python -m pathway.labs.programs.ddp.train", description="one rank of the ddp lab (started by torchrun)")
    ap.add_argument("--db-url", required=True)
    ap.add_argument("--run-id", type=int, required=True)  # not --run: torchrun would take it for its --run-path
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--config", required=True, help="the effective config as JSON")
    ap.add_argument("--device", choices=["cpu", "cuda"], required=True)
    ap.add_argument("--backend", choices=["gloo", "nccl"], required=True)
    ap.add_argument("--resume", action="store_true")
    args = ap.parse_args(argv)

    from pathway.db.engine import make_engine
    from pathway.labs.engine.reporter import Reporter

    rank, world, local_rank = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ["LOCAL_RANK"])
    config = Config(**json.loads(args.config))
    if args.device == "cuda":
        torch.cuda.set_device(local_rank)  # before any CUDA work or NCCL init, or every rank lands on GPU 0
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    engine = make_engine(args.db_url)
    report = Reporter(engine, args.run_id, Path(args.run_dir), resuming=args.resume, device=str(device), rank=rank, heartbeat=False)
    report.start()
    dist.init_process_group(args.backend, device_id=device if device.type == "cuda" else None)
    try:
        train_rank(config, report, rank, world, local_rank, device)
    finally:
        dist.destroy_process_group()
        report.close()
        engine.dispose()
    return 0


if __name__ == "__main__":
    code = main()  # the process group is destroyed, the reporter flushed and closed
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip the interpreter's teardown. Once, in a CI run, a rank that had finished cleanly aborted
    # after its work ("terminate called without an active exception", SIGABRT), most likely while
    # gloo/FSDP objects were freed, and torchrun then failed the job. Nothing is left but freeing memory.
    os._exit(code)
