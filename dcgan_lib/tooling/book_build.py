"""Build the HTML book in two steps: train its models and run its chapters in one queue, then render.

    python -m dcgan_lib.tooling.book_build --profile book          # = make book; the HTML lands in _build/html
    python -m dcgan_lib.tooling.book_build --profile ci --path-output /tmp/site   # the browser test's build
    python -m dcgan_lib.tooling.book_build --run runs/full --path-output _build/book-from   # = make book-from RUN=...
    python -m dcgan_lib.tooling.book_build --profile book --seed 1 --strict   # = make book SEED=1 STRICT=1

Step 1 (`dcgan_lib.tooling.build_queue`) trains every stored model the chapters ask for that is not stored yet
(`zoo.book_models`; not with `--no-models` or `--run`), one per core on one thread each, and executes each chapter
of `_toc.yml` in its own papermill process with **no cell timeout** (training on a slow or busy machine takes as
long as it needs), `--lanes` at a time (default two, each with its share of the cores). A chapter starts once the
models it reads are stored; of what can start, the longest chain of work goes first, so that no core waits while
another finishes. A chapter that times training speed runs alone, and the pages that gather results run last,
in every build. A finished chapter is kept in `_build/executed/<profile>/` with a fingerprint
of its source, the library and the profile, and a later build skips it while that still matches: an interrupted or
failed build resumes at the chapter where it stopped (and a model from its last checkpoint). Step 2 stages the
executed notebooks in place of the chapters (`dcgan_lib.tooling.publish`) and has jupyter-book render them without
executing. With `--run`, the notebooks of a run folder (`python -m dcgan_lib.tooling.run`, e.g. at the paper's scale)
replace their chapters, and only the other chapters are executed.

A claim that does not hold on this build's models does not stop the build (`dcgan_lib.core.results.claim`): the
book renders, and the build ends by listing the claims that did not hold (exit 0, or 1 with `--strict` when a hard
claim failed). An error that is not a claim stops it. A watchdog ends a chapter whose kernel (with its worker
processes) sits idle with a cell unfinished for `--idle-timeout` seconds, and runs that chapter once more.
`--seed` trains every model of the book from another seed (`DCGAN_SEED`); its chapters are kept in
`_build/executed/<profile>-seed<s>/` and its figures in the store's `metrics-seed<s>/`.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from dcgan_lib.core.profiles import PROFILE_NAMES
from dcgan_lib.tooling.chapters import FINGERPRINT_KEY, book_dir, short_name

if TYPE_CHECKING:
    from dcgan_lib.zoo import BookModel


def toc_notebooks(root: Path) -> list[Path]:
    """The notebooks listed in `_toc.yml`, in reading order (Markdown pages need no execution)."""
    import yaml

    def files(node) -> list[str]:
        if isinstance(node, dict):
            found = [node["file"]] if "file" in node else []
            return found + [f for key in ("parts", "chapters", "sections") for child in node.get(key, [])
                            for f in files(child)]
        return []

    toc = yaml.safe_load((root / "_toc.yml").read_text())
    paths = [root / f"{name}.ipynb" for name in [toc["root"], *files(toc)]]
    return [p for p in paths if p.exists()]


def library_digest() -> str:
    """A hash of the library's sources: a chapter's outputs depend on them as much as on its own cells."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]  # dcgan_lib, every subpackage included
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def fingerprint(notebook: Path, profile: str, library: str, seed: int = 0) -> str:
    """What an executed copy must match to be reused: the chapter's file, the library, the profile and the seed."""
    salt = profile.encode() + (f"seed{seed}".encode() if seed else b"")
    return hashlib.sha256(notebook.read_bytes() + library.encode() + salt).hexdigest()


def executed_dir(root: Path, profile: str, seed: int = 0) -> Path:
    """Where a build keeps its executed chapters: _build/executed/<profile>, or <profile>-seed<s> for another seed."""
    return root / "_build" / "executed" / (profile if seed == 0 else f"{profile}-seed{seed}")


def is_current(executed: Path, expected: str) -> bool:
    """Whether `executed` is a finished run of the chapter with the expected fingerprint."""
    if not executed.exists():
        return False
    try:
        metadata = json.loads(executed.read_text()).get("metadata", {})
    except (OSError, ValueError):
        return False
    return metadata.get(FINGERPRINT_KEY, {}).get("fingerprint") == expected


def failure_message(chapter: str, error: BaseException, failed_copy: Path, profile: str) -> str:
    """What went wrong, where, and how to go on."""
    where = f"chapter {chapter}"
    if hasattr(error, "cell_index"):  # papermill.PapermillExecutionError
        where += f", cell {error.cell_index + 1} (In [{error.exec_count}])"
        what = f"{error.ename}: {error.evalue}"
    elif isinstance(error, KeyboardInterrupt):
        what = "interrupted"
    else:
        what = f"{error.__class__.__name__}: {str(error).strip()[:500]}"
    again = "make book" if profile == "book" else f"python -m dcgan_lib.tooling.book_build --profile {profile}"
    return (f"\nThe book build stopped in {where}: {what}\n"
            f"The notebook as far as it ran: {failed_copy}\n"
            f"Chapters finished before it are kept, and a model in training resumes from its last checkpoint:\n"
            f"fix the cause (or just retry) and run `{again}` again to go on from {chapter}.")


IDLE_TIMEOUT = 300.0  # seconds a chapter's processes may sit idle with a cell unfinished (--idle-timeout)


# Pages that gather what the chapters recorded (their figures and claims, and the committed robustness table):
# executed in every build, after the chapters, in a few seconds.
GATHERING_PAGES = frozenset({"results", "robustness"})

# Chapters that time training speed run alone, with every core: another chapter beside them would change the
# figures they measure.
RUNS_ALONE = frozenset({"10_training_at_scale"})


def execute_chapters(root: Path, out: Path, profile: str, skip: frozenset[str] = frozenset(),
                     lanes: int = 1, keep_going: bool = False, seed: int = 0,
                     idle_timeout: float = IDLE_TIMEOUT, models: list[BookModel] = ()) -> list[str]:
    """Step 1: run each chapter that has no current executed copy (except those named in `skip`, file names),
    `lanes` at a time (each in its own process, with its share of the cores), the longest first by the last
    build's times, and train `models` beside them, one per core (`build_queue`: a chapter starts once the models
    it reads are stored); the results page last. A failure stops the build once the running chapters are done,
    or with `keep_going` only once every chapter has run; a chapter idle for `idle_timeout` seconds is ended and
    run once more. Returns the names it ran."""
    from dcgan_lib.tooling.book_models import model_key, recorded_times
    from dcgan_lib.tooling.build_queue import Task, run_tasks

    out.mkdir(parents=True, exist_ok=True)
    library = library_digest()
    notebooks = toc_notebooks(root)
    numbered = {notebook: i for i, notebook in enumerate(notebooks, 1)}
    fingerprints = {notebook: fingerprint(notebook, profile, library, seed) for notebook in notebooks}
    todo = []
    for notebook in notebooks:
        i = numbered[notebook]
        if notebook.name in skip:
            print(f"[{i}/{len(notebooks)}] {notebook.stem}: taken from the run", flush=True)
        elif is_current(out / notebook.name, fingerprints[notebook]) and notebook.stem not in GATHERING_PAGES:
            print(f"[{i}/{len(notebooks)}] {notebook.stem}: up to date, kept", flush=True)
        else:
            todo.append(notebook)
    cpus = os.cpu_count() or 1
    share = max(1, cpus // lanes) if lanes > 1 else cpus
    recorded = recorded_times(profile)
    tasks = [Task(model.label, recorded.get(model_key(model.label), 0.0), 1, model=model) for model in models]
    tasks += [Task(n.stem, expected_seconds(out / n.name, profile), share, None if lanes <= 1 else share,
                   notebook=n, alone=n.stem in RUNS_ALONE,
                   needs=frozenset(m.label for m in models if short_name(n.stem) in m.chapters))
              for n in todo if n.stem not in GATHERING_PAGES]
    lane = dict(out=out, profile=profile, numbered=numbered, fingerprints=fingerprints, keep_going=keep_going,
                idle_timeout=idle_timeout)
    ran = run_tasks(tasks, capacity=cpus, **lane)
    gathering = [Task(n.stem, 0.0, cpus, notebook=n) for n in todo if n.stem in GATHERING_PAGES]
    return ran + run_tasks(gathering, capacity=cpus, **lane)


def previous_seconds(executed: Path) -> float:
    """How long the last build's copy of a chapter took to execute (0 if there is none): the order of a build."""
    try:
        return float(json.loads(executed.read_text())["metadata"][FINGERPRINT_KEY].get("seconds", 0))
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0


def expected_seconds(executed: Path, profile: str) -> float:
    """How long a chapter is expected to take: the last build's time, else the recorded time of a book build
    (`make book-times`, in dcgan_lib/tooling/run_times.json), else 0."""
    from dcgan_lib.tooling.timings import run_times

    recorded = [r["seconds"] for r in run_times() if r["chapter"] == executed.stem and r["profile"] == profile
                and r.get("cache") == "shared"]
    return previous_seconds(executed) or max(recorded, default=0.0)


def execute_chapter(notebook: Path, out: Path, profile: str, expected: str) -> None:
    """Run one chapter with papermill (no cell timeout) into <out>/<name>, marked with its fingerprint, the load
    average and its execution time; on failure say where and how to go on, keep the partial copy, exit 1."""
    import papermill

    partial = out / f"{notebook.stem}.partial.ipynb"
    start, load_before = time.time(), os.getloadavg()
    try:
        papermill.execute_notebook(str(notebook), str(partial), cwd=str(notebook.parent),
                                   progress_bar=sys.stderr.isatty(), execution_timeout=None)
    except (Exception, KeyboardInterrupt) as error:
        print(failure_message(notebook.stem, error, partial, profile), file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    nb = json.loads(partial.read_text())
    nb["metadata"][FINGERPRINT_KEY] = {"fingerprint": expected, "profile": profile,
                                       "load_avg_before": [round(x, 2) for x in load_before],
                                       "load_avg_after": [round(x, 2) for x in os.getloadavg()],
                                       "seconds": round(time.time() - start, 1),
                                       "threads": _threads_set()}
    partial.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    partial.replace(out / notebook.name)


def _threads_set() -> int | None:
    """The threads a lane gave this chapter ($OMP_NUM_THREADS), or None where unset or not a number."""
    text = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def render(root: Path, executed: list[Path], path_output: Path) -> int:
    """Step 2: jupyter-book renders the executed chapters as they are (a later folder's notebook replacing an
    earlier one's); returns its exit status."""
    from dcgan_lib.tooling.publish import stage

    staging = path_output / "_build" / "staging"
    stage(executed, staging, root=root, execute=False)
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    command = [str(jupyter_book), "build", str(staging), "--path-output", str(path_output),
               "--warningiserror", "--keep-going"]
    return subprocess.run(command).returncode


def _whole(option: str, minimum: int, number: type = int):
    """An argparse type: a number of at least `minimum`, or an error that names the option and the fix."""
    def parse(text: str):
        try:
            value = number(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"{option} {text}: give a number of at least {minimum}")
        return value
    return parse


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dcgan_lib.tooling.book_build", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=PROFILE_NAMES, default="book")
    parser.add_argument("--path-output", default=None,
                        help="folder whose _build/html receives the book (default: the repository root)")
    parser.add_argument("--run", default=None, help="a run folder whose executed chapters replace the book's")
    parser.add_argument("--lanes", type=_whole("--lanes", 1), default=min(2, os.cpu_count() or 1),
                        help="chapters executed at once, each with its share of the cores (default: 2)")
    parser.add_argument("--seed", type=_whole("--seed (make book SEED=...)", 0), default=None,
                        help="train every model of the book from this seed (default: $DCGAN_SEED, else 0)")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 when a hard claim did not hold on this build's models (make book STRICT=1)")
    parser.add_argument("--idle-timeout", type=_whole("--idle-timeout", 30, float), default=IDLE_TIMEOUT,
                        help="seconds a chapter may sit idle with a cell unfinished before it is ended and run once "
                             "more (default: 300)")
    parser.add_argument("--keep-going", action="store_true",
                        help="after a failing chapter, still execute the others (then exit 1)")
    parser.add_argument("--no-models", action="store_true",
                        help="skip training the book's models up front (the chapters then train them)")
    parser.add_argument("--chapter", help=argparse.SUPPRESS)   # a child process: execute this one chapter
    parser.add_argument("--executed", help=argparse.SUPPRESS)
    parser.add_argument("--expected", help=argparse.SUPPRESS)
    return parser


def _models_to_train(profile: str) -> list[BookModel]:
    """The book's models not stored yet, said in a line (the build trains them beside the chapters)."""
    from dcgan_lib.tooling.book_models import missing, recorded_times, time_left

    models = missing(profile)
    print(f"the book's models at the {profile} profile: " + (
        "all stored" if not models else f"{len(models)} to train, one per core, beside the chapters that do not "
        f"wait for them{time_left(profile, [m.label for m in models], os.cpu_count() or 1, recorded_times(profile))}"),
        flush=True)
    return models


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.chapter:
        execute_chapter(Path(args.chapter), Path(args.executed), args.profile, args.expected)
        return 0
    if args.seed is not None:
        os.environ["DCGAN_SEED"] = str(args.seed)   # every chapter, and every worker, trains from it
    from dcgan_lib.core.profiles import book_seed

    seed = book_seed()
    root = book_dir().parent
    path_output = Path(args.path_output or root).resolve()
    executed = executed_dir(root, args.profile, seed)
    from dcgan_lib.tooling.publish import executed_notebooks

    try:
        run = executed_notebooks(Path(args.run), [p.name for p in toc_notebooks(root)]) if args.run else {}
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    os.environ["DCGAN_PROFILE"] = args.profile  # every chapter's parameters cell reads it
    os.environ.setdefault("DCGAN_PROGRESS", "0")  # progress widgets would be dead noise in the rendered pages
    os.environ["DCGAN_HEADLESS"] = "1"  # no live widgets: nobody can move them, and they can hang the kernel
    start = time.time()
    models = [] if args.no_models or run else _models_to_train(args.profile)  # with --run, chapters train theirs
    ran = execute_chapters(root, executed, args.profile, skip=frozenset(run), lanes=args.lanes,
                           keep_going=args.keep_going, seed=seed, idle_timeout=args.idle_timeout, models=models)
    print(f"models and {len(ran)} chapter(s) in {time.time() - start:.0f} s; rendering ...", flush=True)
    status = render(root, [executed] + ([Path(args.run)] if run else []), path_output)
    if status == 0:
        print(f"The book: {path_output / '_build' / 'html' / 'index.html'}")
    else:
        print("jupyter-book could not render the executed chapters (see its messages above); the chapters "
              f"stay executed in {executed}, so running the build again only renders.", file=sys.stderr)
    from dcgan_lib.tooling.robustness import claims_summary

    summary, strict_failure = claims_summary(args.profile, seed, args.strict)
    print(summary, flush=True)
    return status or int(strict_failure)


if __name__ == "__main__":
    sys.exit(main())
