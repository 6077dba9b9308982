"""The chapters themselves: stored clean, and every checked output has a reference."""
import json
import sys
from pathlib import Path

import pytest
import yaml

from dcgan_lib.tooling.chapters import colab_cell_source, run_time_cell_source

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
sys.path.insert(0, str(ROOT / "tools"))


def test_there_are_chapters():
    assert len(CHAPTERS) >= 2


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"])
             if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, (f"{path.name}: cells {dirty} have stored outputs; clear them "
                       "(e.g. `jupyter nbconvert --clear-output --inplace`)")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_code_fits_the_books_code_boxes(path):
    """88 columns show in a code box at 1440 pixels, 87 in a collapsed one (solutions); the browser test
    measures the rendered boxes, this catches a long line without building the book."""
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        collapsed = any(t.startswith("hide") for t in cell.get("metadata", {}).get("tags", []))
        limit = 87 if collapsed else 88
        long = [line for line in "".join(cell["source"]).splitlines() if len(line) > limit]
        assert not long, f"{path.name}, cell {cell.get('id')}: over {limit} columns: {long[0]!r}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_checked_cells_have_reference_outputs(path):
    nb = json.loads(path.read_text())
    checked = [c["id"] for c in nb["cells"]
               if c["cell_type"] == "code" and "NBVAL_CHECK_OUTPUT" in "".join(c["source"])]
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


# Chapters the lead is still editing: they get the standard cells with `python tools/standard_cells.py <notebook>`.
# strict: once a chapter conforms, its xfail turns into a failure until it is taken off this list.
PENDING_STANDARD_CELLS: set[str] = set()


def standard(path):
    """The chapter as a test parameter, expected to fail the standard-cell checks while it is pending."""
    marks = [pytest.mark.xfail(strict=True, reason="standard cells not applied yet")] \
        if path.name in PENDING_STANDARD_CELLS else []
    return pytest.param(path, marks=marks, id=path.name)


@pytest.mark.parametrize("path", [standard(p) for p in CHAPTERS])
def test_first_code_cell_installs_from_the_configured_repository(path):
    nb = json.loads(path.read_text())
    first = next(c for c in nb["cells"] if c["cell_type"] == "code")
    assert "".join(first["source"]) == colab_cell_source(), \
        f"{path.name}: the first code cell must be the Colab cell: run `python tools/standard_cells.py {path}`"
    assert "remove-cell" in first.get("metadata", {}).get("tags", [])


def test_the_colab_cell_takes_the_repository_from_the_config():
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    source = colab_cell_source()
    assert f'"git+{url}"' in source and '"dcgan_lib[full] @ "' in source and source.count("git+") == 1
    assert "from dcgan_lib.tooling.colab import setup" in colab_cell_source()


@pytest.mark.parametrize("path", [standard(p) for p in CHAPTERS if p.stem[:2].isdigit()])
def test_chapter_shows_its_run_time_under_the_parameters_cell(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    params = next(i for i, c in enumerate(code) if "parameters" in c.get("metadata", {}).get("tags", []))
    after = code[params + 1]
    assert "".join(after["source"]) == run_time_cell_source(path), \
        f"{path.name}: no run-time cell after the parameters cell: run `python tools/standard_cells.py {path}`"
    assert after["metadata"].get("tags") == ["remove-input"]


def test_standard_cells_tool_is_idempotent_and_moves_references(tmp_path, monkeypatch):
    import standard_cells

    chapter = tmp_path / "01_architecture.ipynb"
    nb = json.loads((ROOT / "book" / "01_architecture.ipynb").read_text())
    nb["cells"] = [c for c in nb["cells"] if not "".join(c["source"]).startswith(standard_cells.RUN_TIME_MARKER)]
    checked = next(c for c in nb["cells"] if "NBVAL_CHECK_OUTPUT" in "".join(c["source"]))
    chapter.write_text(json.dumps(nb))
    (tmp_path / "tests" / "notebook_outputs").mkdir(parents=True)
    (tmp_path / "tests" / "notebook_outputs" / chapter.name).with_suffix(".json").write_text(
        json.dumps({checked["id"]: ["expected"]}))
    monkeypatch.setattr(standard_cells, "ROOT", tmp_path)
    assert "run-time cell inserted, ids renumbered" in standard_cells.standardise(chapter)
    assert standard_cells.standardise(chapter) == []
    after = json.loads(chapter.read_text())["cells"]
    new_id = next(c["id"] for c in after if c["source"] == checked["source"])
    assert json.loads((tmp_path / "tests" / "notebook_outputs" / "01_architecture.json").read_text()) == \
        {new_id: ["expected"]}
    assert [c["id"] for c in after] == [f"architecture-{i:02d}" for i in range(len(after))]


def _toc_files() -> list[str]:
    """Every file the book's table of contents lists, as a path relative to the repository root."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [chapter["file"] for part in toc["parts"] for chapter in part["chapters"]]


def test_instructors_guide_lists_every_chapter_and_what_is_outside_the_book():
    guide = (ROOT / "book" / "instructors.md").read_text()
    numbered = [p for p in CHAPTERS if p.stem[:2].isdigit()]
    in_toc = {Path(f).name for f in _toc_files()}
    unlisted = [p.name for p in numbered if p.stem in in_toc and f"]({p.name})" not in guide]
    assert not unlisted, f"book/instructors.md has no row for {unlisted}: add them to its chapter table"
    outside = [p.name for p in numbered if p.stem not in in_toc]
    unmentioned = [name for name in outside if f"book/{name}" not in guide]
    assert not unmentioned, f"book/instructors.md should say that {unmentioned} are outside the rendered book"
    stale = [p.name for p in numbered if p.stem in in_toc and f"book/{p.name}" in guide]
    assert not stale, f"book/instructors.md still calls {stale} outside the book, but _toc.yml lists them"
