"""Student versions of chapters: every cell tagged `solution` becomes a prompt to fill in.

    python -m dcgan_lib.tooling.student training latent_walks --out students/
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from dcgan_lib.tooling.chapters import chapters, resolve

PROMPT = "# YOUR CODE HERE\n"


def student_version(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of the notebook whose solution cells hold only the prompt (and show, not hide, in the book)."""
    copy = nbformat.from_dict(notebook)
    for cell in copy.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "solution" in tags:
            cell.source = PROMPT
            cell.metadata["tags"] = [t for t in tags if t not in ("solution", "hide-cell")] + ["exercise"]
    return copy


def write_student_versions(names: list[str], out: str | Path) -> list[Path]:
    """Write student versions of the named chapters (all if none) into `out`; returns the written paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in resolve(names) if names else list(chapters().values()):
        target = out / path.name
        nbformat.write(student_version(nbformat.read(path, as_version=4)), target)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m dcgan_lib.tooling.student", description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help="chapter names (default: all)")
    parser.add_argument("--out", default="students", help="folder for the student notebooks")
    args = parser.parse_args(argv)
    try:
        for path in write_student_versions(args.chapters, args.out):
            print(f"wrote {path}")
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
