"""Put the book's standard cells into chapters: the Colab cell first, the run-time note under the parameters cell.

    python tools/standard_cells.py book/03_deduplication.ipynb book/06_vector_arithmetic.ipynb

Safe to re-run: cells already there are rewritten in place. When the run-time cell is inserted, cell ids are
renumbered "<stem>-NN" (as /tmp/nbtools-style round trips do) and the reference outputs of the chapter's
`# NBVAL_CHECK_OUTPUT` cells in tests/notebook_outputs/ follow their cells to the new ids.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from dcgan_lib.tooling.chapters import colab_cell_source, run_time_cell_source  # noqa: E402

RUN_TIME_MARKER = "from dcgan_lib.tooling.timings import run_time_note"


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + [lines[-1]]


def _code_cell(cell_id: str, source: str, tags: list[str]) -> dict:
    return {"cell_type": "code", "execution_count": None, "id": cell_id, "metadata": {"tags": tags},
            "outputs": [], "source": _lines(source)}


def standardise(path: Path) -> list[str]:
    """Rewrite one notebook's standard cells; returns what changed (empty when it already conformed)."""
    nb = json.loads(path.read_text())
    stem = re.sub(r"^\d+_", "", path.stem)
    cells, changes = nb["cells"], []
    code = [i for i, c in enumerate(cells) if c["cell_type"] == "code"]
    first = cells[code[0]]
    if "".join(first["source"]) != colab_cell_source() or "remove-cell" not in first["metadata"].get("tags", []):
        first["source"] = _lines(colab_cell_source())
        first["metadata"]["tags"] = sorted(set(first["metadata"].get("tags", [])) | {"remove-cell"})
        changes.append("Colab cell")
    if path.stem[:2].isdigit():  # numbered chapters show their run times
        params = next(i for i in code if "parameters" in cells[i]["metadata"].get("tags", []))
        after = next((i for i in code if i > params), None)
        if after is not None and "".join(cells[after]["source"]).startswith(RUN_TIME_MARKER):
            if "".join(cells[after]["source"]) != run_time_cell_source(path) or \
                    cells[after]["metadata"].get("tags") != ["remove-input"]:
                cells[after].update(source=_lines(run_time_cell_source(path)), metadata={"tags": ["remove-input"]})
                changes.append("run-time cell")
        else:
            cells.insert(params + 1, _code_cell("new", run_time_cell_source(path), ["remove-input"]))
            renamed = {c["id"]: f"{stem}-{i:02d}" for i, c in enumerate(cells)}
            for i, c in enumerate(cells):
                c["id"] = f"{stem}-{i:02d}"
            _rename_references(path, renamed)
            changes.append("run-time cell inserted, ids renumbered")
    if changes:
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    return changes


def _rename_references(path: Path, renamed: dict[str, str]) -> None:
    """Move the chapter's reference outputs to the cells' new ids."""
    reference = ROOT / "tests" / "notebook_outputs" / f"{path.stem}.json"
    if reference.exists():
        outputs = json.loads(reference.read_text())
        moved = {renamed.get(cid, cid): value for cid, value in outputs.items()}
        reference.write_text(json.dumps(moved, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for arg in sys.argv[1:]:
        print(f"{arg}: {', '.join(standardise(Path(arg))) or 'already standard'}")
