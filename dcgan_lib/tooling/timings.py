"""Measured run times of the chapters, per profile and hardware, and the note each chapter shows near its top.

    python -m dcgan_lib.tooling.timings --profile ci                   # every chapter alone, from an empty cache
    python -m dcgan_lib.tooling.timings --profile book --chapters training,latent_walks
    python -m dcgan_lib.tooling.timings --from-build _build/executed/book --profile book  # last book build
    python -m dcgan_lib.tooling.timings --show      # the table; --table rewrites book/_run_times.md from the records

Records live in dcgan_lib/tooling/run_times.json (shipped with the library, so that Colab sees them too); one record per
chapter, profile, hardware (cpu or gpu) and cache state, the latest measurement replacing the previous one.
Each record keeps the wall time with the machine it was taken on: CPU count, load average, device and date.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

from dcgan_lib.core.paths import repo_root
from dcgan_lib.core.profiles import PROFILE_NAMES
from dcgan_lib.tooling.chapters import FINGERPRINT_KEY, chapters, resolve

RUN_TIMES_FILE = Path(__file__).with_name("run_times.json")
TABLE_FILE = "book/_run_times.md"  # the table the instructor's guide includes, regenerated with every update
CACHE_STATES = {
    "cold": "alone, from an empty cache (as on a fresh Colab runtime: it trains every model it needs)",
    "shared": "in a book build, reusing the models that earlier chapters and builds trained",
}


def run_times(path: Path = RUN_TIMES_FILE) -> list[dict]:
    """Every recorded measurement (a list of dicts), or [] when none was recorded yet."""
    return json.loads(path.read_text())["records"] if path.exists() else []


def save_records(new: list[dict], path: Path = RUN_TIMES_FILE) -> list[dict]:
    """Merge new records into the file, replacing those with the same chapter/profile/hardware/cache."""
    key = lambda r: (r["chapter"], r["profile"], r["hardware"], r["cache"])  # noqa: E731
    merged = {key(r): r for r in run_times(path)}
    merged.update({key(r): r for r in new})
    records = sorted(merged.values(), key=lambda r: (r["chapter"], PROFILE_NAMES.index(r["profile"]), r["hardware"],
                                                      r["cache"]))
    path.write_text(json.dumps({"records": records}, indent=1) + "\n")
    return records


def format_seconds(seconds: float) -> str:
    """A duration as a reader reads it: '25 s', '3.2 min', '1.5 h'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _best(records: list[dict], chapter: str, profile: str, hardware: str) -> dict | None:
    """The record a reader should see: alone from an empty cache if measured, else from a book build."""
    found = {r["cache"]: r for r in records
             if (r["chapter"], r["profile"], r["hardware"]) == (chapter, profile, hardware)}
    return found.get("cold") or found.get("shared")


def _entry(record: dict | None, profile: str) -> str:
    if record is None:
        return f"`{profile}` not measured yet"
    text = f"`{profile}` {format_seconds(record['seconds'])}"
    if record["cache"] == "shared":
        text += " (in a book build, reusing trained models)"
    if busy(record):
        text += f" (machine busy: load {record['load_avg'][0]:.1f})"
    return text


def busy(record: dict) -> bool:
    """Whether the machine was busy with other work while measuring (1-minute load above 1.5× its CPUs)."""
    load = record.get("load_avg")
    return bool(load and record.get("cpu_count") and load[0] > 1.5 * record["cpu_count"])


def chapter_note(chapter: str, records: list[dict] | None = None) -> str:
    """One markdown paragraph: this chapter's measured run time per profile on a CPU and on a GPU."""
    records = run_times() if records is None else records
    lines = []
    for hardware, profiles in (("cpu", ("ci", "book")), ("gpu", PROFILE_NAMES)):
        found = [_best(records, chapter, p, hardware) for p in profiles]
        measured = [r for r in found if r is not None]
        if hardware == "cpu":
            cores = sorted({r["cpu_count"] for r in measured})
            where = f"on a {cores[0]}-core CPU" if len(cores) == 1 else "on a CPU"
        else:
            names = sorted({r["device"] for r in measured})
            where = f"on a GPU ({', '.join(names)})" if names else "on a GPU"
        if not measured:
            lines.append(f"{where}: not measured yet")
        else:
            lines.append(f"{where}: " + ", ".join(_entry(r, p) for r, p in zip(found, profiles)))
    return ("**Run time**, measured with this chapter alone from an empty cache unless noted — "
            + "; ".join(lines) + ". (`python -m dcgan_lib.tooling.timings` measures it.)")


class RunTimeNote(str):
    """The chapter note as a string that notebooks render as markdown."""

    def _repr_markdown_(self) -> str:
        return str(self)


def run_time_note(notebook: str) -> RunTimeNote:
    """The note a chapter shows under its parameters cell, e.g. run_time_note("02_training")."""
    return RunTimeNote(chapter_note(Path(notebook).stem))


def markdown_table(records: list[dict] | None = None, stems: list[str] | None = None) -> str:
    """The measured chapters' run times as a markdown table (the instructor's guide includes it)."""
    records = run_times() if records is None else records
    stems = stems or sorted({r["chapter"] for r in records})
    rows = ["| chapter | CPU, `ci` | CPU, `book` | GPU, `book` | GPU, `full` |", "|---|---|---|---|---|"]
    for stem in stems:
        cells = []
        for hardware, profile in (("cpu", "ci"), ("cpu", "book"), ("gpu", "book"), ("gpu", "full")):
            r = _best(records, stem, profile, hardware)
            cells.append("–" if r is None else format_seconds(r["seconds"]) + ("" if r["cache"] == "cold" else " *")
                         + (" †" if r is not None and busy(r) else ""))
        rows.append(f"| {stem} | " + " | ".join(cells) + " |")
    machines = sorted({f"{r['cpu_count']}-core CPU" if r["hardware"] == "cpu" else r["device"] for r in records})
    return ("\n".join(rows) + "\n\nMeasured each chapter alone from an empty cache, except * (in a book build, "
            "reusing trained models: `make book` trains them first, then runs two chapters at a time, one thread "
            "each); † on a busy machine (load above 1.5× its CPUs: slower than on a quiet one); "
            "– not measured yet. Machines: " + (", ".join(machines) or "none yet") + ".\n")


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), else the platform's processor or architecture."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine() -> dict:
    """What a measurement ran on: hardware class, device name, CPU count and the load at that moment."""
    import torch

    gpu = torch.cuda.is_available()
    return {"hardware": "gpu" if gpu else "cpu",
            "device": torch.cuda.get_device_name(0) if gpu else cpu_name(),
            "cpu_count": os.cpu_count(), "load_avg": [round(x, 2) for x in os.getloadavg()],
            "torch": torch.__version__}


@contextlib.contextmanager
def _environment(cache: str) -> Iterator[None]:
    """No progress bars; with cache='cold', empty data and runs folders (deleted afterwards)."""
    saved = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="dcgan-timing-") as tmp:
        os.environ["DCGAN_PROGRESS"] = "0"
        if cache == "cold":
            os.environ["DCGAN_DATA_DIR"] = str(Path(tmp) / "data")
            os.environ["DCGAN_RUNS_DIR"] = str(Path(tmp) / "data" / "runs")
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)


def measure(notebook: Path, profile: str, cache: str = "cold") -> dict:
    """Execute one chapter with papermill at `profile` and return its timing record."""
    import papermill

    with _environment(cache), tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        papermill.execute_notebook(str(notebook), str(Path(out) / notebook.name), parameters={"PROFILE": profile},
                                   cwd=str(notebook.parent), progress_bar=False, kernel_name="python3")
        seconds = time.perf_counter() - start
    return {"chapter": notebook.stem, "profile": profile, "cache": cache, "seconds": round(seconds, 1),
            "source": "papermill", "date": dt.datetime.now().isoformat(timespec="seconds"), **machine()}


def from_build(executed_dir: str | Path, profile: str, stems: list[str] | None = None) -> list[dict]:
    """Records from a book build's executed chapters (`make book` keeps them in _build/executed/<profile>):
    each chapter's papermill run time there, with the load average before and after it."""
    if not Path(executed_dir).is_dir():
        raise FileNotFoundError(f"No executed chapters in {executed_dir}: run `make book` first.")
    here = machine()
    records = []
    for path in chapters().values():
        executed = Path(executed_dir) / path.name
        if not path.stem[:2].isdigit() or (stems and path.stem not in stems) or not executed.exists():
            continue
        metadata = json.loads(executed.read_text()).get("metadata", {})
        run, build = metadata.get("papermill", {}), metadata.get(FINGERPRINT_KEY, {})
        if run.get("duration") is None or build.get("profile") != profile:
            continue
        loads = [build[k] for k in ("load_avg_before", "load_avg_after") if build.get(k)]
        records.append({"chapter": path.stem, "profile": profile, "cache": "shared",
                        "seconds": round(run["duration"], 1), "source": "make book",
                        "date": str(run.get("end_time", ""))[:19],
                        **{**here, "load_avg": max(loads, key=lambda x: x[0]) if loads else None}})
    return records


def write_table(records: list[dict]) -> Path | None:
    """Regenerate book/_run_times.md from the records (in a checkout of the book; None elsewhere)."""
    root = repo_root()
    if root is None:
        return None
    (root / TABLE_FILE).write_text(markdown_table(records))
    return root / TABLE_FILE


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m dcgan_lib.tooling.timings", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=PROFILE_NAMES, default="ci")
    parser.add_argument("--chapters", default="", help="comma-separated chapter names (default: every chapter)")
    parser.add_argument("--cache", choices=sorted(CACHE_STATES), default="cold",
                        help="cold: each chapter alone with empty data/runs folders; shared: the usual data/ cache")
    parser.add_argument("--from-build", metavar="EXECUTED_DIR",
                        help="read the executed chapters of a book build (_build/executed/book) instead")
    parser.add_argument("--show", action="store_true", help="print the recorded table and exit")
    parser.add_argument("--table", action="store_true", help="regenerate book/_run_times.md from the records")
    args = parser.parse_args(argv)
    if args.show or args.table:
        print(markdown_table() if args.show else f"wrote {write_table(run_times())}")
        return 0
    try:
        notebooks = resolve([c for c in args.chapters.split(",") if c]) if args.chapters else \
            [p for p in chapters().values() if p.stem[:2].isdigit()]
        if args.from_build:
            new = from_build(args.from_build, args.profile, [p.stem for p in notebooks])
            write_table(save_records(new))
            print(f"recorded {len(new)} run times from {args.from_build} in {RUN_TIMES_FILE}")
            return 0
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    failed = []
    for i, notebook in enumerate(notebooks, 1):
        print(f"[{i}/{len(notebooks)}] {notebook.stem} at {args.profile} ({args.cache} cache) ...", flush=True)
        try:
            record = measure(notebook, args.profile, args.cache)
        except Exception as err:  # a failing chapter is reported, and the others are still measured
            print(f"[{i}/{len(notebooks)}] {notebook.stem} failed, not recorded: {type(err).__name__}: "
                  f"{str(err).strip().splitlines()[-1] if str(err).strip() else ''}", file=sys.stderr, flush=True)
            failed.append(notebook.stem)
            continue
        write_table(save_records([record]))  # saved chapter by chapter: an interrupted run keeps what it measured
        print(f"[{i}/{len(notebooks)}] {notebook.stem}: {format_seconds(record['seconds'])} "
              f"(load average {record['load_avg']} on {record['cpu_count']} CPUs)", flush=True)
    print(f"recorded {len(notebooks) - len(failed)} run times in {RUN_TIMES_FILE}"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
