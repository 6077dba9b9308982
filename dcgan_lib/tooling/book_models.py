"""Train every stored model of the book up front, side by side: `make models` (`make book` queues them beside
its chapters, `build_queue`).

    python -m dcgan_lib.tooling.book_models --profile book     # = make models
    python -m dcgan_lib.tooling.book_models --list              # what would be trained, and what is stored

The chapters ask the zoo for their models one at a time, each trained on all the cores. Small networks keep one
core busy much better than they share two, so on a CPU this step trains the models of `zoo.book_models` in one
worker process per core, one thread each, the longest first: the same configs, the same store, so the chapters
then load them. On a GPU they train one after the other. A model already stored is only loaded. A line says
when each model starts and ends, with an estimate of the time left from the times recorded in `model_times.json`
(this machine's last run of the step where there is one, else the committed record).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from dcgan_lib.core.profiles import PROFILE_NAMES

if TYPE_CHECKING:
    from dcgan_lib.zoo import BookModel

MODEL_TIMES_FILE = Path(__file__).with_name("model_times.json")   # {profile: {model: seconds}}, one thread each


def train_one(model: BookModel, profile: str) -> float:
    """Load or train one model (in a worker), saying when it starts; returns the seconds it took."""
    print(f"  [{time.strftime('%H:%M:%S')}] started {model.label}", flush=True)
    start = time.perf_counter()
    model.train(profile)
    return time.perf_counter() - start


def model_key(label: str) -> str:
    """A model's label without its seed ("faces DCGAN, seed 4 (06)" -> "faces DCGAN, seed * (06)"): the models
    of every seed take about the same time."""
    return re.sub(r"seed \d+", "seed *", label)


def recorded_times(profile: str) -> dict[str, float]:
    """{model: seconds} of the models at `profile`: this machine's last time for each (in the runs folder) where
    there is one, else the committed record's; empty when neither has it."""
    times: dict[str, float] = {}
    for path in (MODEL_TIMES_FILE, _local_times_file()):   # this machine's times replace the committed ones
        try:
            times.update(json.loads(path.read_text()).get(profile) or {})
        except (OSError, ValueError):
            continue
    return times


def _local_times_file() -> Path:
    """This machine's record of model times: in the runs folder, beside the models it timed."""
    from dcgan_lib.core.paths import runs_dir

    return runs_dir() / MODEL_TIMES_FILE.name


def save_times(profile: str, took: dict[str, float]) -> None:
    """Keep these models' times (by `model_key`) in the runs folder, for the next estimate."""
    from dcgan_lib.core.store import write_text_atomic

    path = _local_times_file()
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        record = {}
    record.setdefault(profile, {}).update({model_key(label): round(s, 1) for label, s in took.items()})
    write_text_atomic(json.dumps(record, indent=1, sort_keys=True) + "\n", path)


def time_left(profile: str, labels: list[str], cores: int, recorded: dict[str, float] | None = None) -> str:
    """", about N min more by the recorded times" for the models `labels` on `cores` cores ("" where a model has no
    recorded time): the line each finished model prints."""
    recorded = recorded_times(profile) if recorded is None else recorded
    known = [recorded[model_key(label)] for label in labels if model_key(label) in recorded]
    return f", about {sum(known) / max(1, cores) / 60:.0f} min more by the recorded times" \
        if len(known) == len(labels) else ""


def missing(profile: str) -> list[BookModel]:
    """The models of `zoo.book_models(profile)` not stored yet."""
    from dcgan_lib import zoo

    return [model for model in zoo.book_models(profile) if not model.is_stored(profile)]


def prepare(profile: str, workers: int | None = None, device: str | None = None) -> dict[str, float]:
    """Train the book's models not stored yet (side by side on a CPU); returns {label: seconds} of those trained."""
    from dcgan_lib.core.runtime import cores_here, side_by_side

    jobs = missing(profile)
    if not jobs:
        print(f"the book's models at the {profile} profile: all stored", flush=True)
        return {}
    known = recorded_times(profile)
    total = sum(known.get(model_key(job.label), 0) for job in jobs)
    print(f"training {len(jobs)} of the book's models at the {profile} profile, side by side: "
          + ", ".join(job.label for job in jobs)
          + (f" (about {total / (workers or cores_here()) / 60:.0f} min by the recorded times)" if total else ""),
          flush=True)
    start, before, took = time.perf_counter(), recorded_times(profile), {}
    lanes = 1 if (device or "cpu") != "cpu" else (workers or cores_here())

    def done(index: int, seconds: float) -> None:
        took[jobs[index].label] = seconds
        left = [job.label for job in jobs if job.label not in took]
        print(f"  [{time.strftime('%H:%M:%S')}] done {jobs[index].label} in {seconds:.0f} s; {len(left)} left"
              f"{time_left(profile, left, lanes, before)}", flush=True)

    side_by_side(train_one, [{"model": job, "profile": profile} for job in jobs],
                 device=device or "cpu", workers=workers, desc="the book's models", on_done=done)
    save_times(profile, took)
    print(f"the book's models trained in {time.perf_counter() - start:.0f} s", flush=True)
    return {job.label: took[job.label] for job in jobs}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m dcgan_lib.tooling.book_models",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=PROFILE_NAMES, default="book")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    parser.add_argument("--list", action="store_true", help="list the models and whether each is stored")
    parser.add_argument("--seed", type=int, default=None,
                        help="train the models from this seed (default: $DCGAN_SEED, else 0), as make models SEED=1")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error(f"--workers {args.workers}: give a whole number of at least 1")
    if args.seed is not None:
        if args.seed < 0:
            parser.error(f"--seed {args.seed}: give a whole number of at least 0")
        os.environ["DCGAN_SEED"] = str(args.seed)   # the workers read it through get_profile
    if args.list:
        from dcgan_lib import zoo

        for model in zoo.book_models(args.profile):
            print(f"{'stored ' if model.is_stored(args.profile) else 'missing'}  {model.label}")
        return 0
    prepare(args.profile, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
