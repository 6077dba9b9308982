"""Re-record the expected outputs of every `# NBVAL_CHECK_OUTPUT` cell (run at the ci profile).

    DCGAN_PROFILE=ci python tests/update_notebook_references.py [book/chapter.ipynb ...]
"""
import json
import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from conftest import CHECK_MARKER, REFERENCE_DIR  # noqa: E402


def merged_streams(outputs: list) -> list:
    """Join consecutive stream outputs of the same name (how they were chunked depends on timing)."""
    merged = []
    for out in outputs:
        if merged and out.get("output_type") == "stream" and merged[-1].get("output_type") == "stream" \
                and merged[-1]["name"] == out["name"]:
            merged[-1]["text"] += out["text"]
        else:
            merged.append(out)
    return merged


def record(path: Path) -> int:
    """Execute one chapter and save its check cells' outputs; returns how many were recorded."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=1200, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = {c["id"]: merged_streams(c.outputs) for c in nb.cells
               if c.cell_type == "code" and CHECK_MARKER in c.source}
    REFERENCE_DIR.mkdir(exist_ok=True)
    if outputs:
        (REFERENCE_DIR / f"{path.stem}.json").write_text(json.dumps(outputs, indent=1, ensure_ascii=False) + "\n")
    return len(outputs)


if __name__ == "__main__":
    os.environ.setdefault("DCGAN_PROFILE", "ci")
    os.environ.setdefault("DCGAN_PROGRESS", "0")  # a progress bar in a recorded output would never match again
    paths = [Path(p) for p in sys.argv[1:]] or sorted((ROOT / "book").glob("*.ipynb"))
    for p in paths:
        print(f"{p.name}: {record(p)} reference outputs")
