"""Train every stored model of the book up front, side by side: `make models`, and the first step of `make book`.

    python -m dcgan_lib.tooling.book_models --profile book     # = make models
    python -m dcgan_lib.tooling.book_models --list              # what would be trained, and what is stored

The chapters ask the zoo for their models one at a time, each trained on all the cores. Small networks keep one
core busy much better than they share two, so on a CPU this step trains the models of `zoo.book_models` in one
worker process per core, one thread each, the longest first: the same configs, the same store, so the chapters
then load them. On a GPU they train one after the other. A model already stored is only loaded.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from dcgan_lib.core.profiles import PROFILE_NAMES


def _train_one(function: str, kwargs: dict, profile: str) -> float:
    """Load or train one model (in a worker); returns the seconds it took."""
    from dcgan_lib import zoo

    start = time.perf_counter()
    zoo.train_book_model(function, kwargs, profile)
    return time.perf_counter() - start


def missing(profile: str) -> list[tuple[str, str, dict]]:
    """The entries of `zoo.book_models(profile)` not stored yet."""
    from dcgan_lib import zoo

    return [job for job in zoo.book_models(profile) if not zoo.is_book_model_stored(job[1], job[2], profile)]


def prepare(profile: str, workers: int | None = None, device: str | None = None) -> dict[str, float]:
    """Train the book's models not stored yet (side by side on a CPU); returns {label: seconds} of those trained."""
    from dcgan_lib.core.runtime import side_by_side

    jobs = missing(profile)
    if not jobs:
        print(f"the book's models at the {profile} profile: all stored", flush=True)
        return {}
    print(f"training {len(jobs)} of the book's models at the {profile} profile, side by side: "
          + ", ".join(label for label, _, _ in jobs), flush=True)
    start = time.perf_counter()
    seconds = side_by_side(_train_one, [{"function": f, "kwargs": k, "profile": profile} for _, f, k in jobs],
                           device=device or "cpu", workers=workers, desc="the book's models")
    took = {label: s for (label, _, _), s in zip(jobs, seconds)}
    for label, s in took.items():
        print(f"  {s:6.0f} s  {label}", flush=True)
    print(f"the book's models trained in {time.perf_counter() - start:.0f} s", flush=True)
    return took


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

        for label, function, kwargs in zoo.book_models(args.profile):
            stored = zoo.is_book_model_stored(function, kwargs, args.profile)
            print(f"{'stored ' if stored else 'missing'}  {label}")
        return 0
    prepare(args.profile, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
