"""Launching a distributed lab through torchrun from the runner process.

    port = free_port()                                # the OS picks: two jobs never share one
    cmd = torchrun_command(nproc=2, nnodes=1, node_rank=0, endpoint=f"127.0.0.1:{port}",
                           module="pathway.labs.programs.ddp.train", args=[...])
    result = run_ranks(cmd, report, env=..., stop_file=..., result_file=...)

The runner stays the job's one owner: it holds the run row's heartbeat, its
sampler sums CPU and memory over the whole tree (torchrun and every rank), and
it waits for torchrun here. Ranks report their own metrics rows (with `rank`)
but never touch the run row.

Stopping: `jobs.stop` sends SIGINT to the runner's process group, which holds
torchrun and the ranks too. Each rank sets a flag, the ranks agree on it in
their per-step all-reduce (a rank that stopped alone would leave the others
waiting in the next all-reduce forever), rank 0 writes the checkpoint, all exit
0. A stop file in the run dir is the second channel, for a SIGINT that reached
the runner alone. Ranks also watch the runner's pid: if it is killed they stop
instead of training on as orphans.

No torch import here: the launcher only builds a command and waits.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from pathway.files import atomic_write

POLL_S = 0.5
RUNNER_PID_ENV = "PATHWAY_RUNNER_PID"  # ranks stop when this process is gone


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago: bind port 0 and let the OS choose.

    torchrun binds it again a second later. Another program could take it in
    between, but the OS hands out ephemeral ports round-robin, so two pathway
    jobs started together get different ones, unlike torchrun's fixed 29500.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def torchrun_command(
    *, nproc: int, nnodes: int, node_rank: int, endpoint: str, module: str, args: Sequence[str], run_id: int | str = "",
) -> list[str]:
    """`python -m torch.distributed.run ... -m MODULE ARGS` with a static rendezvous at `endpoint` (host:port of node 0).

    SIGINT is for the ranks alone: they agree to stop, rank 0 checkpoints, all exit 0,
    and torchrun then ends normally. So torchrun starts with SIGINT ignored (a shell
    `trap "" INT` survives `exec`) and is told not to install its own handler for it,
    which would kill the ranks mid-checkpoint and print a SignalException traceback.
    """
    cmd = [
        sys.executable, "-m", "torch.distributed.run",  # = the `torchrun` script, without relying on PATH
        f"--nnodes={nnodes}", f"--nproc-per-node={nproc}", f"--node-rank={node_rank}",
        "--rdzv-backend=static", f"--rdzv-endpoint={endpoint}", f"--rdzv-id=pathway-run-{run_id}",
        "--max-restarts=0",  # a failed rank fails the run; an elastic restart would hide the bug
    ]
    if _torchrun_has_signal_option():
        cmd.append("--signals-to-handle=SIGTERM,SIGHUP,SIGQUIT")
    cmd += ["-m", module, *args]
    return ["/bin/sh", "-c", 'trap "" INT; exec "$0" "$@"', *cmd]


def _torchrun_has_signal_option() -> bool:
    """torchrun learned --signals-to-handle in recent releases; older ones always handle SIGINT themselves.

    Read from torchrun's source file rather than by importing it: the engine stays torch-free.
    """
    import importlib.util

    spec = importlib.util.find_spec("torch")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return False
    source = Path(next(iter(spec.submodule_search_locations))) / "distributed" / "run.py"
    try:
        return "signals_to_handle" in source.read_text(encoding="utf-8")
    except OSError:
        return False


def latest_step(report, name: str) -> int | None:
    """The newest step of metric `name` in this run (what rank 0 reported), or None before the first."""
    from pathway.labs.engine.queries import latest_metrics

    try:
        point = latest_metrics(report.engine, report.run_id, [name]).get(name)
    except Exception:  # a busy database: keep the old step, ask again next time
        return None
    return None if point is None else point.step


def run_ranks(
    cmd: list[str], report, *, env: Mapping[str, str], stop_file: Path, progress_metric: str = "train/loss",
) -> int:
    """Start torchrun, keep the run's step current while it runs, forward a stop; return its exit code.

    The ranks' output goes to the runner's stdout, which is the run's log.
    """
    stop_file.unlink(missing_ok=True)
    full_env = {**os.environ, **env, RUNNER_PID_ENV: str(os.getpid()), "PYTHONUNBUFFERED": "1"}
    report.log_text("launch: " + " ".join(cmd[cmd.index("-m") + 1:] if "-m" in cmd else cmd))
    proc = subprocess.Popen(cmd, env=full_env, stdin=subprocess.DEVNULL)  # same process group: a stop reaches it
    try:
        while proc.poll() is None:
            time.sleep(POLL_S)
            if report.should_stop and not stop_file.exists():
                stop_file.write_text("stop\n")
            step = latest_step(report, progress_metric)
            if step is not None:
                report.last_step = step  # the heartbeat writes it; the sampler files its rows under it
    finally:
        if proc.poll() is None:  # the runner is being torn down (SIGTERM): take torchrun and its ranks along
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    step = latest_step(report, progress_metric)
    if step is not None:
        report.last_step = step
    return proc.returncode


def read_result(path: Path) -> dict[str, Any] | None:
    """Rank 0's result file, or None if it wrote none."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_result(path: Path, result: Mapping[str, Any]) -> None:
    """Atomic JSON write (rank 0)."""
    atomic_write(path, json.dumps(result))


def runner_alive() -> bool:
    """False once the runner that launched this rank is gone, killed or a zombie (ranks check this every step)."""
    import psutil

    pid = os.environ.get(RUNNER_PID_ENV)
    if not pid:
        return True
    try:
        return psutil.Process(int(pid)).status() != psutil.STATUS_ZOMBIE  # a killed runner stays a zombie until reaped
    except psutil.Error:
        return False
