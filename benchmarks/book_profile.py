"""Where a book build's time went: each chapter's execution time and the costliest cells of the whole build.

Reads the executed notebooks of a build (`make book` writes them to _build/executed/book, with papermill's
duration of every cell), and prints per chapter its wall time, the threads it ran on and the load average
around it, then the top cells across the book with their first line. Several folders side by side compare two
builds (e.g. one kept from before a change):

    python benchmarks/book_profile.py _build/executed/book --top 10
    python benchmarks/book_profile.py old/_build/executed/book _build/executed/book

With `--models <model_times.json>` (the models step writes data/runs/model_times.json) it also prints the ideal
cold build beside the actual one: every model's one-thread training time and every chapter's core-seconds
(wall time × its threads), packed longest first on `--cores` cores, ignoring that chapters wait for models; each
model counted as often as the book trains one of its kind (the times are kept per kind, without the seed).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

FINGERPRINT_KEY = "dcgan_book_build"


def cell_times(notebook: Path) -> list[tuple[float, int, str]]:
    """(seconds, cell number, first line) of every executed code cell of a notebook."""
    cells = json.loads(notebook.read_text())["cells"]
    found = []
    for i, cell in enumerate(cells, 1):
        duration = cell.get("metadata", {}).get("papermill", {}).get("duration")
        if cell["cell_type"] == "code" and duration is not None:
            source = "".join(cell["source"]).strip().splitlines()
            found.append((float(duration), i, source[0][:70] if source else ""))
    return found


def chapter_summary(notebook: Path) -> dict:
    """A chapter's wall time (the build's record, else the sum of its cells), threads and load average."""
    meta = json.loads(notebook.read_text())["metadata"].get(FINGERPRINT_KEY, {})
    cells = cell_times(notebook)
    return {"chapter": notebook.stem, "seconds": meta.get("seconds") or sum(c[0] for c in cells),
            "threads": meta.get("threads"), "load_before": meta.get("load_avg_before"), "cells": cells}


def _cell(summary: dict | None) -> str:
    if summary is None:
        return "–"
    return f"{summary['seconds']:.0f} s" + (f" ({summary['threads']} thread)" if summary["threads"] else "")


def packed(jobs: list[float], cores: int) -> float:
    """The wall time of `jobs` (seconds on one core each) packed longest first onto `cores` cores."""
    loads = [0.0] * cores
    for job in sorted(jobs, reverse=True):
        loads[loads.index(min(loads))] += job
    return max(loads)


def ideal_cold(build: dict, models: Path, profile: str, cores: int) -> tuple[float, float]:
    """(the ideal packing of a cold build's work, the sum of that work / cores: no packing can beat it). The
    times are kept per kind of model (`model_key`: the seeds of one model share a time), so each is counted as
    often as `zoo.book_models` lists a model of that kind; chapters count their wall time × threads (all the
    cores for one that ran alone)."""
    from dcgan_lib import zoo
    from dcgan_lib.tooling.book_models import model_key

    times = json.loads(models.read_text()).get(profile, {})
    work = [times[model_key(m.label)] for m in zoo.book_models(profile) if model_key(m.label) in times]
    work += [s["seconds"] * (s["threads"] or cores) for s in build.values()]
    return packed(work, cores), sum(work) / cores


def main(argv: list[str] | None = None) -> int:
    """Print the per-chapter table of each build folder, then its top cells."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="folders of executed notebooks")
    parser.add_argument("--top", type=int, default=10, help="how many of the costliest cells to list")
    parser.add_argument("--models", type=Path, default=None, help="model_times.json of the models step")
    parser.add_argument("--profile", default="book", help="the profile of the builds (for --models)")
    parser.add_argument("--cores", type=int, default=2, help="cores of the machine (for --models)")
    args = parser.parse_args(argv)
    builds = {folder: {s["chapter"]: s for s in map(chapter_summary, sorted(folder.glob("*.ipynb")))
                       if not s["chapter"].endswith(".partial")} for folder in args.folders}
    names = sorted({name for build in builds.values() for name in build})
    print(f"{'chapter':34s}" + "".join(f"{str(f)[-28:]:>30s}" for f in builds))
    for name in names:
        print(f"{name:34s}" + "".join(f"{_cell(builds[f].get(name)):>30s}" for f in builds))
    totals = (sum(s["seconds"] for s in build.values()) for build in builds.values())
    print(f"{'sum of chapters':34s}" + "".join(f"{total:>28.0f} s" for total in totals))
    for folder, build in builds.items() if args.models else ():
        ideal, bound = ideal_cold(build, args.models, args.profile, args.cores)
        print(f"{folder}: ideal cold build {ideal:.0f} s on {args.cores} cores (the work / cores: {bound:.0f} s)")
    for folder, build in builds.items():
        top = sorted(((c[0], name, c[1], c[2]) for name, s in build.items() for c in s["cells"]), reverse=True)
        print(f"\nthe {args.top} costliest cells of {folder}:")
        for seconds, name, i, first in top[:args.top]:
            print(f"  {seconds:7.0f} s  {name} cell {i}: {first}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
