"""Render a run's executed notebooks (e.g. paper scale, from `python -m dcgan_lib.tooling.run`) as the book.

    python -m dcgan_lib.tooling.publish runs/full _build/staging  # stage; then jupyter-book build it

`stage` copies the book's sources into a staging folder, puts each executed notebook of the run in place of its
chapter, and tells jupyter-book not to execute those: they are rendered with the outputs of the run. Chapters
not in the run execute through jupyter-book's cache, unless `execute=False`. `make book` and `make book-from`
(dcgan_lib.tooling.book_build) stage every chapter already executed, so jupyter-book only renders.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from dcgan_lib.tooling.chapters import book_dir

SOURCES = ("_config.yml", "_toc.yml", "_ext", "book")  # what jupyter-book reads to build the book


def check_executed(path: Path) -> None:
    """Raise ValueError unless the notebook ran to the end without an error (every code cell executed)."""
    nb = json.loads(path.read_text())
    if nb.get("metadata", {}).get("papermill", {}).get("exception"):
        raise ValueError(f"{path} stopped with an error during its run: fix it and run the chapter again.")
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    unexecuted = [c.get("id", "?") for c in code if c.get("execution_count") is None]
    errors = [c.get("id", "?") for c in code if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    if unexecuted or errors or not code:
        raise ValueError(f"{path} is not a fully executed notebook (cells not run: {unexecuted or 'none'}, "
                         f"cells with errors: {errors or 'none'}): run it with `python -m dcgan_lib.tooling.run`.")


def executed_notebooks(run: Path, chapters: list[str]) -> dict[str, Path]:
    """The run's notebooks that are chapters of the book, by file name, each checked to have run cleanly."""
    if not run.is_dir():
        raise FileNotFoundError(f"No run folder {run}: run chapters first, e.g. "
                                "`python -m dcgan_lib.tooling.run --profile full --chapters training`.")
    found = {p.name: p for p in sorted(run.glob("*.ipynb")) if p.name in chapters}
    if not found:
        raise ValueError(f"{run} holds no executed chapter notebook (expected names like {chapters[0]}).")
    for path in found.values():
        check_executed(path)
    return found


def stage(run: str | Path | list[str | Path], staging: str | Path, root: Path | None = None,
          execute: bool = True) -> list[str]:
    """Copy the book into `staging` with the run's executed notebooks in place; returns the replaced names.

    `run` may be a list of run folders: a later folder's notebook replaces an earlier one's. With
    `execute=False` jupyter-book executes nothing, and every page shows what the runs left (`make book`)."""
    import yaml

    root = root or book_dir().parent
    runs = [Path(r).resolve() for r in (run if isinstance(run, list) else [run])]
    staging = Path(staging).resolve()
    names = sorted(p.name for p in (root / "book").glob("*.ipynb"))
    replaced = {}
    for folder in runs:
        replaced.update(executed_notebooks(folder, names))
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    for name in SOURCES:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, staging / name, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        elif source.exists():
            shutil.copy2(source, staging / name)
    for name, path in replaced.items():
        shutil.copy2(path, staging / "book" / name)
    config = yaml.safe_load((root / "_config.yml").read_text())
    execution = config.setdefault("execute", {})
    execution["exclude_patterns"] = sorted(set(execution.get("exclude_patterns", []))
                                           | {f"book/{n}" for n in replaced})
    execution["cache"] = str(root / "_build" / ".jupyter_cache")  # share the execution cache of earlier builds
    if not execute:
        execution["execute_notebooks"] = "off"
    sources = ", ".join(map(str, runs))
    (staging / "_config.yml").write_text(f"# Staged by dcgan_lib.tooling.publish from {sources}: do not edit.\n"
                                         + yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return sorted(replaced)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m dcgan_lib.tooling.publish", description=__doc__.splitlines()[0])
    parser.add_argument("run", help="run folder with executed notebooks (e.g. runs/full)")
    parser.add_argument("staging", help="folder to stage the book in (replaced)")
    args = parser.parse_args(argv)
    try:
        replaced = stage(args.run, args.staging)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"staged the book in {args.staging}, rendering the run's {', '.join(replaced)} without executing them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
