"""torch.distributed plumbing for the ddp lab's ranks: timing the all-reduce, whole state dicts, the per-rank table.

Kept apart so `ddp.py` reads as the training story; everything here runs inside
a rank started by torchrun, after `init_process_group`.
"""

from __future__ import annotations

import time

import torch
import torch.distributed as dist
from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
from torch.utils.data import DistributedSampler



class CommTimer:
    """A DDP communication hook: the default all-reduce, plus the wall time from launch to completion.

    The time includes waiting for the slowest rank to reach its all-reduce: a straggler
    shows up as *another* rank's all-reduce time. The tiny MLP fits one gradient bucket,
    so the all-reduce starts after the whole backward (no overlap with compute). With gloo
    (CPU) the callback runs when the reduction is done; with NCCL it can run once the
    collective is queued on the GPU stream, so on CUDA read the step time (which ends
    with a synchronize) rather than this figure.
    """

    def __init__(self) -> None:
        self.seconds = 0.0

    def hook(self, process_group, bucket):
        start = time.perf_counter()

        def done(fut):
            self.seconds += time.perf_counter() - start  # runs when the reduction has finished
            return fut.value()

        return default_hooks.allreduce_hook(process_group, bucket).then(done)


def shard_order(n: int, world: int, rank: int, seed: int, epoch: int | None) -> torch.Tensor:
    """Rank `rank`'s indices for one epoch, exactly as its DistributedSampler yields them."""
    sampler = DistributedSampler(range(n), num_replicas=world, rank=rank, shuffle=True, seed=seed, drop_last=True)
    if epoch is not None:
        sampler.set_epoch(epoch)
    return torch.tensor(list(sampler))


def full_state(model, optimizer) -> tuple[dict, dict]:
    """Whole (unsharded) model and optimizer state on rank 0, on CPU; empty on other ranks. Every rank must call it."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict, get_optimizer_state_dict

    opts = StateDictOptions(full_state_dict=True, cpu_offload=True)  # FSDP: all-gathers the shards onto rank 0
    return get_model_state_dict(model, options=opts), get_optimizer_state_dict(model, optimizer, options=opts)


def load_full_state(model, optimizer, model_state: dict, optim_state: dict) -> None:
    """Rank 0 holds the checkpoint; it broadcasts the tensors and every rank keeps its part (all of it for DDP)."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict, set_optimizer_state_dict

    opts = StateDictOptions(full_state_dict=True, broadcast_from_rank0=True)
    set_model_state_dict(model, model_state, options=opts)
    set_optimizer_state_dict(model, optimizer, optim_state, options=opts)


def write_rank_table(report, rank: int, world: int, step: int, totals: dict, strategy: str) -> list[tuple[float, float]]:
    """Gather every rank's mean step and all-reduce time (a collective); rank 0 writes them for the dashboard."""
    n = max(totals["n"], 1)
    mine = (1000 * totals["step"] / n, 1000 * totals["comm"] / n)
    table: list = [None] * world
    dist.all_gather_object(table, mine)
    if rank == 0:
        lines = [f"per-rank means to step {step} ({strategy}, {world} ranks)", "rank  step ms  all-reduce ms  compute ms"]
        for r, (step_ms, comm_ms) in enumerate(table):
            ar = f"{comm_ms:13.2f}" if strategy == "ddp" else f"{'n/a':>13}"
            lines.append(f"{r:>4} {step_ms:8.2f} {ar} {step_ms - comm_ms:11.2f}")
        report.write_sample("\n".join(lines) + "\n")
    return table
