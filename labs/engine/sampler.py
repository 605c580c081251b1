"""System metrics of a running job, sampled once a second in a thread of the runner.

CPU% and RSS are summed over the job's process tree (the runner and any
children, e.g. torchrun ranks or data-loader workers). CPU% is in "percent of
one core", as `top` shows it, so 2 busy cores read 200. GPU readings come from
a `GpuProvider`; "this job's" GPU memory is the memory NVML attributes to the
tree's pids.

Rows are queued on the reporter at its current step:
  sys/cpu_percent, sys/rss_mb, gpu<i>/util, gpu<i>/mem_used_mb, gpu<i>/mem_total_mb,
  gpu<i>/temp_c, gpu<i>/power_w, gpu<i>/power_cap_w, gpu<i>/job_mem_mb
"""

from __future__ import annotations

import os
import threading
import time

import psutil

from pathway.labs.engine.gpu import GpuProvider, metric_rows

SAMPLE_INTERVAL_S = 1.0


class ProcessTree:
    """CPU% and RSS of a process and its descendants, remembering processes between calls.

    psutil's cpu_percent() measures since the previous call on the same
    Process object, so the objects are kept; a new child reads 0 on its first
    call. Listing children scans all of /proc, the costly part of a sample, so
    the member list is refreshed every `refresh_s` seconds, not every sample.
    """

    def __init__(self, root_pid: int, refresh_s: float = 5.0) -> None:
        self.root = psutil.Process(root_pid)
        self.refresh_s = refresh_s
        self._procs: dict[int, psutil.Process] = {root_pid: self.root}
        self._listed_at = float("-inf")

    def pids(self) -> set[int]:
        """Pids of the tree, re-listed at most every `refresh_s` seconds."""
        now = time.monotonic()
        if now - self._listed_at >= self.refresh_s:
            self._listed_at = now
            try:
                tree = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                tree = [self.root]
            self._procs = {p.pid: self._procs.get(p.pid, p) for p in tree}
        return set(self._procs)

    def read(self) -> tuple[float, float]:
        """(cpu_percent, rss_mb) summed over the tree right now."""
        self.pids()
        cpu = rss = 0.0
        for pid, p in list(self._procs.items()):
            try:
                with p.oneshot():
                    cpu += p.cpu_percent(None)
                    rss += p.memory_info().rss
            except psutil.Error:  # the child ended: forget it
                self._procs.pop(pid, None)
        return cpu, rss / 2**20


class Sampler:
    """A daemon thread that queues system metrics on `reporter` every second."""

    def __init__(self, reporter, provider: GpuProvider, root_pid: int | None = None, interval_s: float = SAMPLE_INTERVAL_S) -> None:
        self.reporter = reporter
        self.provider = provider
        self.tree = ProcessTree(root_pid or os.getpid())
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="system-sampler", daemon=True)

    def start(self) -> None:
        self.tree.read()  # prime cpu_percent so the first stored sample is a real one
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.provider.close()

    def sample_once(self) -> dict[str, float]:
        """Take one sample and queue it; returns what was queued."""
        cpu, rss = self.tree.read()
        values = {"sys/cpu_percent": cpu, "sys/rss_mb": rss}
        try:
            values.update(metric_rows(self.provider.sample(job_pids=self.tree.pids())))
        except Exception as exc:  # a GPU that vanished must not end the job
            print(f"pathway: GPU sampling failed: {exc}", flush=True)
        for name, value in values.items():
            self.reporter.add(name, value)
        return values

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample_once()
