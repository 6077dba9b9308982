import json
import os

import nbformat
import pytest

from dcgan_lib.tooling import timings
from dcgan_lib.tooling.chapters import chapters


def record(chapter="01_architecture", profile="ci", hardware="cpu", cache="cold", seconds=25.0, **kw):
    return {"chapter": chapter, "profile": profile, "hardware": hardware, "cache": cache, "seconds": seconds,
            "cpu_count": 2, "load_avg": [1.0, 1.0, 1.0], "device": "x86_64" if hardware == "cpu" else "NVIDIA T4",
            "date": "2026-01-01T00:00:00", **kw}


def test_durations_read_naturally():
    assert [timings.format_seconds(s) for s in (4.2, 89, 192, 5400)] == ["4 s", "89 s", "3.2 min", "1.5 h"]


def test_a_new_measurement_replaces_the_same_key_only(tmp_path):
    path = tmp_path / "times.json"
    timings.save_records([record(seconds=30), record(profile="book", seconds=300)], path)
    timings.save_records([record(seconds=20), record(cache="shared", seconds=10)], path)
    assert sorted((r["profile"], r["cache"], r["seconds"]) for r in timings.run_times(path)) == \
        [("book", "cold", 300), ("ci", "cold", 20), ("ci", "shared", 10)]


def test_note_says_what_is_not_measured():
    note = timings.chapter_note("01_architecture", [])
    assert note.count("not measured yet") == 2 and "GPU" in note and "CPU" in note


def test_note_prefers_a_run_alone_and_flags_a_busy_machine():
    records = [record(seconds=25, load_avg=[4.0, 3.0, 3.0]), record(cache="shared", seconds=5),
               record(profile="book", cache="shared", seconds=192, load_avg=None),
               record(hardware="gpu", profile="book", seconds=40)]
    note = timings.chapter_note("01_architecture", records)
    assert "2-core CPU: `ci` 25 s (machine busy: load 4.0), `book` 3.2 min (in a book build" in note
    assert "GPU (NVIDIA T4): `ci` not measured yet, `book` 40 s, `full` not measured yet" in note
    assert timings.run_time_note("book/01_architecture.ipynb")._repr_markdown_().startswith("**Run time**")


def test_table_marks_book_build_times():
    busy_build = record(profile="book", cache="shared", seconds=600, load_avg=[3.5, 3, 3])
    table = timings.markdown_table([record(), busy_build],
                                   ["01_architecture"])
    assert "| 01_architecture | 25 s | 10.0 min * † | – | – |" in table


def test_recorded_times_name_real_chapters_and_the_table_is_up_to_date():
    stems = {p.stem for p in chapters().values()}
    records = timings.run_times()
    assert {r["chapter"] for r in records} <= stems
    assert all(r["seconds"] > 0 and r["hardware"] in ("cpu", "gpu") and r["cpu_count"] for r in records)
    table = timings.repo_root() / timings.TABLE_FILE
    assert table.read_text() == timings.markdown_table(records), \
        "book/_run_times.md is stale: run `python -m dcgan_lib.tooling.timings --table`"


def test_measure_runs_a_notebook_alone_without_progress_bars(tmp_path, monkeypatch):
    monkeypatch.setenv("DCGAN_PROGRESS", "1")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('PROFILE = "book"', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("import os\nassert PROFILE == 'ci' and os.environ['DCGAN_PROGRESS'] == '0'\n"
                                  f"assert os.environ['DCGAN_DATA_DIR'] != {str(tmp_path)!r}")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "01_tiny.ipynb"
    nbformat.write(nb, path)
    monkeypatch.setenv("DCGAN_DATA_DIR", str(tmp_path))
    r = timings.measure(path, "ci")
    assert r["chapter"] == "01_tiny" and r["profile"] == "ci" and r["cache"] == "cold" and r["seconds"] > 0
    assert len(r["load_avg"]) == 3 and r["cpu_count"] == os.cpu_count()
    assert os.environ["DCGAN_DATA_DIR"] == str(tmp_path) and os.environ["DCGAN_PROGRESS"] == "1"


def test_book_build_times_come_from_the_executed_chapters(tmp_path):
    path = chapters()["architecture"]
    nb = json.loads(path.read_text())
    nb["metadata"]["papermill"] = {"duration": 123.4, "end_time": "2026-12-01T22:00:00.5"}
    nb["metadata"]["dcgan_book_build"] = {"profile": "book", "load_avg_before": [1.0, 1, 1],
                                          "load_avg_after": [2.5, 1, 1]}
    (tmp_path / path.name).write_text(json.dumps(nb))
    other = chapters()["training"]
    (tmp_path / other.name).write_text(json.dumps({**nb, "metadata": {**nb["metadata"], "dcgan_book_build": {
        "profile": "ci"}}}))  # executed at another profile: not a book-profile time
    (r,) = timings.from_build(tmp_path, "book")
    assert (r["chapter"], r["profile"], r["cache"], r["seconds"], r["load_avg"], r["date"]) == \
        ("01_architecture", "book", "shared", 123.4, [2.5, 1, 1], "2026-12-01T22:00:00")
    with pytest.raises(FileNotFoundError, match="make book"):
        timings.from_build(tmp_path / "nothing", "book")


def test_command_line_refuses_unknown_chapters(capsys):
    assert timings.main(["--chapters", "nope"]) == 2
    assert "Unknown chapter 'nope'" in capsys.readouterr().err
