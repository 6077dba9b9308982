"""Build the HTML book in two steps: run every chapter in a plain papermill process, then render.

    python -m dcgan_lib.tooling.book_build --profile book          # = make book; the HTML lands in _build/html
    python -m dcgan_lib.tooling.book_build --profile ci --path-output /tmp/site   # the browser test's build
    python -m dcgan_lib.tooling.book_build --run runs/full --path-output _build/book-from   # = make book-from RUN=...

Step 1 executes the chapters of `_toc.yml` in order, each alone with papermill and **no cell timeout**, so
that training a model on a slow or busy machine can take as long as it needs. Each finished chapter is kept in
`_build/executed/<profile>/` with a fingerprint of its source, the library and the profile; a later build
skips the chapters whose fingerprint still matches. An interrupted or failed build therefore resumes at the
chapter where it stopped (and the trainer resumes a model from its last checkpoint). Step 2 stages the executed
notebooks in place of the chapters (`dcgan_lib.tooling.publish`) and has jupyter-book render them without executing.
With `--run`, the notebooks of a run folder (`python -m dcgan_lib.tooling.run`, e.g. at the paper's scale) replace
their chapters, and only the other chapters are executed.
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

from dcgan_lib.core.profiles import PROFILE_NAMES
from dcgan_lib.tooling.chapters import FINGERPRINT_KEY, book_dir


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


def fingerprint(notebook: Path, profile: str, library: str) -> str:
    """What an executed copy must match to be reused: the chapter's file, the library and the profile."""
    return hashlib.sha256(notebook.read_bytes() + library.encode() + profile.encode()).hexdigest()


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


# Chapters that time training speed run alone, with every core: another chapter beside them would change the
# figures they measure.
RUNS_ALONE = frozenset({"10_training_at_scale"})


def execute_chapters(root: Path, out: Path, profile: str, skip: frozenset[str] = frozenset(),
                     lanes: int = 1, keep_going: bool = False) -> list[str]:
    """Step 1: run each chapter that has no current executed copy (except those named in `skip`, file names),
    `lanes` at a time (each in its own process, with its share of the cores), the longest first by the last
    build's times; the results page last. A failure stops the build once the running chapters are done, or with
    `keep_going` only once every chapter has run. Returns the names it ran."""
    out.mkdir(parents=True, exist_ok=True)
    library = library_digest()
    notebooks = toc_notebooks(root)
    numbered = {notebook: i for i, notebook in enumerate(notebooks, 1)}
    todo = []
    for notebook in notebooks:
        i = numbered[notebook]
        if notebook.name in skip:
            print(f"[{i}/{len(notebooks)}] {notebook.stem}: taken from the run", flush=True)
        elif is_current(out / notebook.name, fingerprint(notebook, profile, library)) \
                and notebook.stem != "results":
            print(f"[{i}/{len(notebooks)}] {notebook.stem}: up to date, kept", flush=True)
        else:
            todo.append(notebook)
    results_page = [n for n in todo if n.stem == "results"]
    chapters = sorted((n for n in todo if n.stem != "results"),
                      key=lambda n: (n.stem in RUNS_ALONE, -expected_seconds(out / n.name, profile)))
    ran = _run_in_lanes(chapters, out, profile, library, lanes, numbered, keep_going)
    # The results page gathers every chapter's records: run it again whenever a chapter ran.
    results_page = results_page if ran or not results_page \
        or not is_current(out / results_page[0].name, fingerprint(results_page[0], profile, library)) else []
    if results_page:
        ran += _run_in_lanes(results_page, out, profile, library, 1, numbered, keep_going)
    return ran


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


def _run_in_lanes(notebooks: list[Path], out: Path, profile: str, library: str, lanes: int,
                  numbered: dict[Path, int], keep_going: bool = False) -> list[str]:
    """Execute `notebooks` in that order, up to `lanes` at once, each chapter of RUNS_ALONE with nothing beside
    it; after a failure no new chapter starts (unless `keep_going`), the running ones finish, and the build
    stops."""
    cpus = os.cpu_count() or 1
    queue, running, ran, failed = list(notebooks), {}, [], []
    while running or (queue and (keep_going or not failed)):
        while queue and (keep_going or not failed) and len(running) < max(1, lanes) \
                and not any(n.stem in RUNS_ALONE for n in running):
            alone = queue[0].stem in RUNS_ALONE
            if alone and running:
                break
            notebook = queue.pop(0)
            threads = None if alone or lanes <= 1 else max(1, cpus // lanes)  # None: all the cores
            running[notebook] = _start(notebook, out, profile, fingerprint(notebook, profile, library), threads,
                                       numbered[notebook], len(numbered))
            if alone:
                break
        finished = _wait_any(running)
        process, log, start = running.pop(finished)
        log.close()
        n = f"[{numbered[finished]}/{len(numbered)}]"
        if process.returncode == 0:
            ran.append(finished.stem)
            print(f"{n} {finished.stem} done in {time.time() - start:.0f} s", flush=True)
        else:
            failed.append(finished)
            print(Path(log.name).read_text()[-4000:], file=sys.stderr, flush=True)
    if failed:
        print(f"failed: {', '.join(n.stem for n in failed)}", file=sys.stderr, flush=True)
        raise SystemExit(1)
    return ran


def _start(notebook: Path, out: Path, profile: str, expected: str, threads: int | None, i: int, total: int):
    """Start one chapter's execution in a child process (`--chapter`) on `threads` threads (None: as many as
    PyTorch takes by itself), its output into <out>/<stem>.log."""
    print(f"[{i}/{total}] {notebook.stem} at the {profile} profile"
          + (f", {threads} thread{'s' if threads > 1 else ''} ..." if threads else " ..."), flush=True)
    env = {**os.environ, "DCGAN_PROFILE": profile, **({"OMP_NUM_THREADS": str(threads)} if threads else {})}
    log = open(out / f"{notebook.stem}.log", "w")
    command = [sys.executable, "-m", "dcgan_lib.tooling.book_build", "--profile", profile,
               "--chapter", str(notebook), "--executed", str(out), "--expected", expected]
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT), log, time.time()


def _wait_any(running: dict) -> Path:
    """The first of the running chapters to finish (polled every half second)."""
    while True:
        for notebook, (process, _, _) in running.items():
            if process.poll() is not None:
                return notebook
        time.sleep(0.5)


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
                                       "threads": int(os.environ.get("OMP_NUM_THREADS", 0)) or None}
    partial.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    partial.replace(out / notebook.name)


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


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m dcgan_lib.tooling.book_build", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=PROFILE_NAMES, default="book")
    parser.add_argument("--path-output", default=None,
                        help="folder whose _build/html receives the book (default: the repository root)")
    parser.add_argument("--run", default=None, help="a run folder whose executed chapters replace the book's")
    parser.add_argument("--lanes", type=int, default=min(2, os.cpu_count() or 1),
                        help="chapters executed at once, each with its share of the cores (default: 2)")
    parser.add_argument("--keep-going", action="store_true",
                        help="after a failing chapter, still execute the others (then exit 1)")
    parser.add_argument("--no-models", action="store_true",
                        help="skip training the book's models up front (the chapters then train them)")
    parser.add_argument("--chapter", help=argparse.SUPPRESS)   # a child process: execute this one chapter
    parser.add_argument("--executed", help=argparse.SUPPRESS)
    parser.add_argument("--expected", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.chapter:
        execute_chapter(Path(args.chapter), Path(args.executed), args.profile, args.expected)
        return 0
    if args.lanes < 1:
        parser.error(f"--lanes {args.lanes}: give a whole number of at least 1")
    root = book_dir().parent
    path_output = Path(args.path_output or root).resolve()
    executed = root / "_build" / "executed" / args.profile
    from dcgan_lib.tooling.publish import executed_notebooks

    try:
        run = executed_notebooks(Path(args.run), [p.name for p in toc_notebooks(root)]) if args.run else {}
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    os.environ["DCGAN_PROFILE"] = args.profile  # every chapter's parameters cell reads it
    os.environ.setdefault("DCGAN_PROGRESS", "0")  # progress widgets would be dead noise in the rendered pages
    start = time.time()
    if not (args.no_models or run):  # with --run, the chapters left to run train what they need
        from dcgan_lib.tooling.book_models import prepare

        prepare(args.profile)
    ran = execute_chapters(root, executed, args.profile, skip=frozenset(run), lanes=args.lanes,
                           keep_going=args.keep_going)
    print(f"models and {len(ran)} chapter(s) in {time.time() - start:.0f} s; rendering ...", flush=True)
    status = render(root, [executed] + ([Path(args.run)] if run else []), path_output)
    if status == 0:
        print(f"The book: {path_output / '_build' / 'html' / 'index.html'}")
    else:
        print("jupyter-book could not render the executed chapters (see its messages above); the chapters "
              f"stay executed in {executed}, so running the build again only renders.", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
