"""The chapters themselves: stored clean, and every checked output has a reference."""
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))


def test_there_are_chapters():
    assert len(CHAPTERS) >= 2


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, f"{path.name}: cells {dirty} have stored outputs; clear them (e.g. `jupyter nbconvert --clear-output --inplace`)"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_checked_cells_have_reference_outputs(path):
    nb = json.loads(path.read_text())
    checked = [c["id"] for c in nb["cells"] if c["cell_type"] == "code" and "NBVAL_CHECK_OUTPUT" in "".join(c["source"])]
    reference = ROOT / "tests" / "notebook_outputs" / f"{path.stem}.json"
    recorded = json.loads(reference.read_text()) if reference.exists() else {}
    missing = [cid for cid in checked if cid not in recorded]
    assert not missing, f"{path.name}: no reference output for cells {missing}; run `make references`"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_has_parameters_cell_and_exercises(path):
    nb = json.loads(path.read_text())
    tags = [c.get("metadata", {}).get("tags", []) for c in nb["cells"]]
    assert any("parameters" in t for t in tags), "papermill needs a cell tagged 'parameters'"
    parameters = "".join(next(c["source"] for c, t in zip(nb["cells"], tags) if "parameters" in t))
    assert "DCGAN_PROFILE" in parameters and "PROFILE" in parameters
    text = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "## Summary" in text and "## Exercises" in text
    assert any("solution" in t for t in tags), "solutions go in cells tagged 'solution'"


def colab_cell_source() -> str:
    """The first code cell every chapter must have: install dcgan_lib from the repository in _config.yml."""
    url = next(line.split("url:")[1].strip() for line in (ROOT / "_config.yml").read_text().splitlines()
               if line.strip().startswith("url:"))
    return ("# Colab only: install the book's library (does nothing elsewhere).\n"
            "import sys\n\n"
            'if "google.colab" in sys.modules:\n'
            "    import subprocess\n"
            '    subprocess.run([sys.executable, "-m", "pip", "install", "-q",\n'
            f'                    "git+{url}"], check=True)')


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_first_code_cell_installs_from_the_configured_repository(path):
    nb = json.loads(path.read_text())
    first = next(c for c in nb["cells"] if c["cell_type"] == "code")
    assert "".join(first["source"]) == colab_cell_source(), \
        f"{path.name}: the first code cell must be the Colab install cell for the repository in _config.yml"
    assert "remove-cell" in first.get("metadata", {}).get("tags", [])
