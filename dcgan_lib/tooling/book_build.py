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
from dcgan_lib.tooling.chapters import book_dir

FINGERPRINT_KEY = "dcgan_book_build"  # notebook metadata written by this module


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


def execute_chapters(root: Path, out: Path, profile: str, skip: frozenset[str] = frozenset()) -> list[str]:
    """Step 1: run each chapter that has no current executed copy (except those named in `skip`, file names);
    returns the names it ran."""
    import papermill

    out.mkdir(parents=True, exist_ok=True)
    library = library_digest()
    notebooks = toc_notebooks(root)
    ran: list[str] = []
    for i, notebook in enumerate(notebooks, 1):
        if notebook.name in skip:
            print(f"[{i}/{len(notebooks)}] {notebook.stem}: taken from the run", flush=True)
            continue
        executed, expected = out / notebook.name, fingerprint(notebook, profile, library)
        # The results page gathers every chapter's records: run it again whenever a chapter ran.
        if is_current(executed, expected) and not (ran and notebook.stem == "results"):
            print(f"[{i}/{len(notebooks)}] {notebook.stem}: up to date, kept", flush=True)
            continue
        print(f"[{i}/{len(notebooks)}] {notebook.stem} at the {profile} profile ...", flush=True)
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
                                           "load_avg_after": [round(x, 2) for x in os.getloadavg()]}
        partial.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
        partial.replace(executed)
        ran.append(notebook.stem)
        print(f"[{i}/{len(notebooks)}] {notebook.stem} done in {time.time() - start:.0f} s", flush=True)
    return ran


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
    args = parser.parse_args(argv)
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
    ran = execute_chapters(root, executed, args.profile, skip=frozenset(run))
    print(f"executed {len(ran)} chapter(s) in {time.time() - start:.0f} s; rendering ...", flush=True)
    status = render(root, [executed] + ([Path(args.run)] if run else []), path_output)
    if status == 0:
        print(f"The book: {path_output / '_build' / 'html' / 'index.html'}")
    else:
        print("jupyter-book could not render the executed chapters (see its messages above); the chapters "
              f"stay executed in {executed}, so running the build again only renders.", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
