"""A watchdog for a chapter's process tree: how long it has sat idle, and ending it.

A kernel can hang with a cell unfinished and nothing running (nbclient#312: the client waits on the shell channel
for a reply that never comes once live widgets are about). Nothing then uses the CPU: not the papermill process,
not the kernel, not a worker process of the cell. `IdleWatch` measures that from the CPU time of the whole tree,
so a long training cell (busy) or a cell waiting on its workers (they are busy) is never taken for a hang.
"""
from __future__ import annotations

import time

import psutil


class IdleWatch:
    """Tracks how long a process and all its descendants have together used (almost) no CPU."""

    def __init__(self, pid: int, busy_share: float = 0.02):
        self.root = psutil.Process(pid)
        self.busy_share = busy_share          # of one core, between two checks: above it the tree is working
        self.cpu: dict[int, float] = {}
        self.last_check = self.last_busy = time.monotonic()

    def idle_seconds(self) -> float:
        """Seconds since the tree last worked (call it every few seconds; each call takes one sample)."""
        now, cpu = time.monotonic(), {}
        for process in self._tree():
            try:
                times = process.cpu_times()
                cpu[process.pid] = times.user + times.system
            except psutil.Error:     # ended between the listing and the reading
                continue
        work = sum(t - self.cpu.get(pid, 0.0) for pid, t in cpu.items())  # a new process: all its time counts
        if work > self.busy_share * (now - self.last_check):
            self.last_busy = now
        self.cpu, self.last_check = cpu, now
        return now - self.last_busy

    def kill(self) -> None:
        """End the whole tree, the descendants first (a kernel, its workers), then the root."""
        for process in reversed(self._tree()):
            try:
                process.kill()
            except psutil.Error:
                pass

    def _tree(self) -> list[psutil.Process]:
        try:
            return [self.root] + self.root.children(recursive=True)
        except psutil.Error:
            return []
