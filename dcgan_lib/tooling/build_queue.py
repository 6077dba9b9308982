"""The book build's one queue: the book's models and its chapters share the cores, each started as soon as it can.

A model trains in a worker process on one thread (`book_models.train_one`); a chapter executes in its own process
(`book_build --chapter`) on its lane's share of the cores, once every model it reads is stored. Of what can start,
the head of the longest chain goes first: the model a long chapter waits for before a longer model nothing waits
for, so that chapter 08 runs beside the last models instead of alone after them. A chapter that times speed runs
alone, once everything else is done. A watchdog ends a chapter whose processes sit idle with a cell unfinished,
and runs it once more; after a failure nothing new starts (unless `keep_going`) and the build stops.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import IO, Any

from tqdm.auto import tqdm

from dcgan_lib.tooling.watchdog import IdleWatch


@dataclass
class Task:
    """One piece of the build: a chapter (its notebook) or a model (its `BookModel`), what it waits for and how
    long it is expected to take (seconds, from the last build or the recorded times)."""

    name: str
    seconds: float
    cores: int                            # the cores it takes from the build's
    threads: int | None = None            # a chapter's threads (None: PyTorch's own choice, every core)
    notebook: Path | None = None
    model: Any = None
    needs: frozenset[str] = frozenset()   # labels of the models it waits for
    alone: bool = False                   # runs with nothing beside it, after everything else
    chain: float = 0.0                    # its seconds and those of the longest chain of tasks waiting for it


@dataclass
class _Running:
    """A task under way: a chapter's process (its log and the watchdog on it), or a model's future."""

    task: Task
    start: float
    process: subprocess.Popen | None = None
    log: IO[str] | None = None
    watch: IdleWatch | None = None
    future: Future | None = None
    hung: bool = False


def chain_lengths(tasks: list[Task]) -> None:
    """Set each task's `chain`: a chapter's own seconds; a model's own plus the longest chain waiting for it."""
    for task in tasks:
        task.chain = task.seconds
    for task in tasks:
        if task.model is not None:
            waiting = [t.chain for t in tasks if task.name in t.needs]
            task.chain = task.seconds + max(waiting, default=0.0)


def run_tasks(tasks: list[Task], out: Path, profile: str, capacity: int, numbered: dict[Path, int],
              fingerprints: dict[Path, str], keep_going: bool = False, idle_timeout: float = 300.0) -> list[str]:
    """Run `tasks` on `capacity` cores, each as soon as what it needs is done and its cores are free, the
    longest chain first; returns the names of the chapters that ran, in finishing order."""
    chain_lengths(tasks)
    queue, running, done, ran, failed, retried = list(tasks), [], set(), [], [], set()
    pool = None
    bar = tqdm(total=sum(t.model is not None for t in tasks), desc="the book's models", unit="model",
               disable=not sys.stderr.isatty() or not any(t.model is not None for t in tasks))
    try:
        while running or (queue and (keep_going or not failed)):
            while queue and (keep_going or not failed):
                task = _next_ready(queue, running, done, capacity)
                if task is None:
                    break
                queue.remove(task)
                if task.model is not None:
                    pool = pool or ProcessPoolExecutor(capacity, mp_context=get_context("spawn"),
                                                       initializer=_one_thread)
                    running.append(_Running(task, time.time(), future=pool.submit(_train, task.model, profile)))
                else:
                    running.append(_start(task, out, profile, fingerprints[task.notebook], numbered))
            if not running:   # nothing can start and nothing runs: a task waits for a model that is not queued
                failed += [t.name for t in queue]
                break
            job = _wait_any(running, idle_timeout)
            running.remove(job)
            if job.task.model is not None:
                _model_finished(job, profile, capacity, queue, done, failed)
                bar.update()
            else:
                _chapter_finished(job, numbered, idle_timeout, queue, ran, failed, retried)
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr, flush=True)
        raise SystemExit(1)
    return ran


def _next_ready(queue: list[Task], running: list[_Running], done: set[str], capacity: int) -> Task | None:
    """The task to start now: of those whose models are done and whose cores are free, the longest chain."""
    busy = sum(job.task.cores for job in running)
    if any(job.task.alone for job in running):
        return None
    ready = [t for t in queue if t.needs <= done and not t.alone and t.cores <= capacity - busy]
    if ready:
        return max(ready, key=lambda t: t.chain)
    if not running and all(t.alone for t in queue):
        return queue[0] if queue else None
    return None


def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


def _train(model: Any, profile: str) -> float:
    """Load or train one model in a worker; returns the seconds it took."""
    from dcgan_lib.tooling.book_models import train_one

    return train_one(model, profile)


def _model_finished(job: _Running, profile: str, capacity: int, queue: list[Task], done: set[str],
                    failed: list[str]) -> None:
    """Say that a model is done (and how much of the models' work is left) and keep its time, or say why it
    failed (with `keep_going`, the chapters that wait for it then start, and train it themselves or fail)."""
    from dcgan_lib.tooling.book_models import save_times, time_left

    done.add(job.task.name)
    error = job.future.exception()
    if error is not None:
        print(f"  training {job.task.name} failed: {error.__class__.__name__}: {error}", file=sys.stderr, flush=True)
        failed.append(job.task.name)
        return
    seconds = job.future.result()
    save_times(profile, {job.task.name: seconds})
    left = [t.name for t in queue if t.model is not None]
    print(f"  [{time.strftime('%H:%M:%S')}] done {job.task.name} in {seconds:.0f} s; {len(left)} model(s) still "
          f"to start{time_left(profile, left, capacity)}", flush=True)


def _chapter_finished(job: _Running, numbered: dict[Path, int], idle_timeout: float, queue: list[Task],
                      ran: list[str], failed: list[str], retried: set[str]) -> None:
    """A chapter ended: keep it, run it once more at the head of the queue (hung the first time), or fail."""
    job.log.close()
    notebook = job.task.notebook
    n = f"[{numbered[notebook]}/{len(numbered)}]"
    if job.hung:
        with open(job.log.name, "a") as log:
            log.write(f"\nThe watchdog ended it: {hung_message(idle_timeout)}\n")
    if job.hung and notebook.stem not in retried:
        retried.add(notebook.stem)
        print(f"{n} {notebook.stem}: {hung_message(idle_timeout)}; ended, and run once more", file=sys.stderr,
              flush=True)
        queue.insert(0, job.task)
    elif job.process.returncode == 0 and not job.hung:
        ran.append(notebook.stem)
        print(f"{n} {notebook.stem} done in {time.time() - job.start:.0f} s", flush=True)
    else:
        failed.append(notebook.stem)
        print(Path(job.log.name).read_text()[-4000:], file=sys.stderr, flush=True)
        if job.hung:
            print(f"{n} {notebook.stem} hung twice: {hung_message(idle_timeout)}. Its notebook as far as it ran is "
                  f"not kept; run the chapter in Jupyter to see the cell that waits.", file=sys.stderr)


def hung_message(idle_timeout: float) -> str:
    """What the watchdog saw, for the build's messages."""
    return (f"its kernel and worker processes sat idle for {idle_timeout:.0f} s with a cell unfinished (a hung "
            f"kernel; --idle-timeout sets the limit)")


def _start(task: Task, out: Path, profile: str, expected: str, numbered: dict[Path, int]) -> _Running:
    """Start one chapter's execution in a child process (`--chapter`) on its cores (all of them when it runs
    alone: PyTorch's own choice), its output into <out>/<stem>.log."""
    notebook, threads = task.notebook, None if task.alone else task.threads
    print(f"[{numbered[notebook]}/{len(numbered)}] {notebook.stem} at the {profile} profile"
          + (f", {threads} thread{'s' if threads > 1 else ''} ..." if threads else " ..."), flush=True)
    env = {**os.environ, "DCGAN_PROFILE": profile, **({"OMP_NUM_THREADS": str(threads)} if threads else {})}
    log = open(out / f"{notebook.stem}.log", "w")
    command = [sys.executable, "-m", "dcgan_lib.tooling.book_build", "--profile", profile,
               "--chapter", str(notebook), "--executed", str(out), "--expected", expected]
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    return _Running(task, time.time(), process=process, log=log, watch=IdleWatch(process.pid))


def _wait_any(running: list[_Running], idle_timeout: float) -> _Running:
    """The first running task to finish (a chapter the watchdog ended is marked `hung`), checked every
    half second, each chapter's process tree every few seconds."""
    last_check, check_every = time.monotonic(), min(5.0, idle_timeout / 3)
    while True:
        for job in running:
            if (job.future.done() if job.future is not None else job.process.poll() is not None):
                return job
        if time.monotonic() - last_check >= check_every:
            last_check = time.monotonic()
            for job in running:
                if job.watch is not None and job.watch.idle_seconds() > idle_timeout:
                    job.watch.kill()
                    job.process.wait()
                    job.hung = True
                    return job
        time.sleep(0.5)
