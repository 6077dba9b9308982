"""`make book`'s chapter and render steps (dcgan_lib.tooling.book_build) on a tiny book of two chapters."""
import json

import nbformat
import pytest

from dcgan_lib.tooling import book_build
from dcgan_lib.tooling.chapters import book_dir


def tiny_book(root, second_cell="y = 1 + 1"):
    """A book root with a table of contents, a Markdown page and two small chapters."""
    (root / "book").mkdir(parents=True, exist_ok=True)
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nparts:\n  - caption: A\n    chapters:\n"
                                   "      - file: book/01_first\n      - file: book/02_second\n")
    (root / "book" / "intro.md").write_text("# Intro\n")
    for name, source in (("01_first", "x = 1\nprint('first')"), ("02_second", second_cell)):
        nb = nbformat.v4.new_notebook(cells=[  # fixed cell ids: an unchanged chapter is the same file
            nbformat.v4.new_markdown_cell(f"# {name}", id="title"),
            nbformat.v4.new_code_cell("import os\nPROFILE = os.environ['DCGAN_PROFILE']", id="parameters"),
            nbformat.v4.new_code_cell(source, id="work")])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, root / "book" / f"{name}.ipynb")
    return root


def test_the_table_of_contents_gives_the_notebooks_in_reading_order(tmp_path):
    root = tiny_book(tmp_path)
    assert [p.name for p in book_build.toc_notebooks(root)] == ["01_first.ipynb", "02_second.ipynb"]
    root = book_dir().parent  # the real book: every notebook named by a `file:` line, in that order
    listed = [line.split("file:")[1].strip() for line in (root / "_toc.yml").read_text().splitlines()
              if "file:" in line]
    expected = [name.split("/")[-1] for name in listed if (root / f"{name}.ipynb").exists()]
    assert [p.stem for p in book_build.toc_notebooks(root)] == expected and len(expected) >= 5


def test_chapters_run_once_and_a_changed_chapter_runs_again(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DCGAN_PROFILE", "ci")
    root, out = tiny_book(tmp_path / "root"), tmp_path / "executed"
    assert book_build.execute_chapters(root, out, "ci") == ["01_first", "02_second"]
    executed = json.loads((out / "01_first.ipynb").read_text())
    assert "".join(executed["cells"][2]["outputs"][0]["text"]) == "first\n"
    assert executed["metadata"]["dcgan_book_build"]["profile"] == "ci"
    assert len(executed["metadata"]["dcgan_book_build"]["load_avg_after"]) == 3
    assert book_build.execute_chapters(root, out, "ci") == []  # everything current: nothing runs
    tiny_book(root, second_cell="y = 1 + 2")
    assert book_build.execute_chapters(root, out, "ci") == ["02_second"]
    assert sorted(book_build.execute_chapters(root, out, "book")) == ["01_first", "02_second"]  # another profile
    assert "up to date, kept" in capsys.readouterr().out


def test_a_failed_build_names_chapter_and_cell_and_resumes_there(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DCGAN_PROFILE", "ci")
    root, out = tiny_book(tmp_path / "root", second_cell="raise ValueError('the judge is not good enough')"), \
        tmp_path / "executed"
    with pytest.raises(SystemExit) as stopped:
        book_build.execute_chapters(root, out, "ci")
    assert stopped.value.code == 1
    message = capsys.readouterr().err
    assert "stopped in chapter 02_second, cell 3 (In [2]): ValueError: the judge is not good enough" in message
    assert "02_second.partial.ipynb" in message and "again to go on from 02_second" in message
    assert (out / "01_first.ipynb").exists() and not (out / "02_second.ipynb").exists()
    tiny_book(root)  # fixed: the first chapter is kept, the second runs
    assert book_build.execute_chapters(root, out, "ci") == ["02_second"]


def test_the_fingerprint_covers_the_chapter_the_library_and_the_profile(tmp_path):
    root = tiny_book(tmp_path)
    notebook = root / "book" / "01_first.ipynb"
    base = book_build.fingerprint(notebook, "ci", "lib")
    assert base == book_build.fingerprint(notebook, "ci", "lib")
    assert len({base, book_build.fingerprint(notebook, "book", "lib"), book_build.fingerprint(notebook, "ci", "v2"),
                book_build.fingerprint(root / "book" / "02_second.ipynb", "ci", "lib")}) == 4
    assert len(book_build.library_digest()) == 64


def test_a_missing_run_folder_is_refused_before_any_work(tmp_path, capsys, build_env):
    assert book_build.main(["--profile", "ci", "--run", str(tmp_path / "nope")]) == 2
    assert "No run folder" in capsys.readouterr().err


def test_two_lanes_run_the_chapters_side_by_side_each_on_its_share_of_the_cores(tmp_path, monkeypatch):
    monkeypatch.setenv("DCGAN_PROFILE", "ci")
    monkeypatch.setattr(book_build.os, "cpu_count", lambda: 2)
    root, out = tiny_book(tmp_path / "root"), tmp_path / "executed"
    assert sorted(book_build.execute_chapters(root, out, "ci", lanes=2)) == ["01_first", "02_second"]
    for name in ("01_first", "02_second"):
        meta = json.loads((out / f"{name}.ipynb").read_text())["metadata"]["dcgan_book_build"]
        assert meta["threads"] == 1 and meta["seconds"] > 0
        assert book_build.previous_seconds(out / f"{name}.ipynb") == meta["seconds"]
    assert book_build.previous_seconds(out / "nothing.ipynb") == 0.0


def test_a_chapter_that_times_speed_runs_alone_with_every_core(tmp_path, monkeypatch):
    monkeypatch.setenv("DCGAN_PROFILE", "ci")
    monkeypatch.setattr(book_build.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(book_build, "RUNS_ALONE", frozenset({"01_first"}))
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    root, out = tiny_book(tmp_path / "root"), tmp_path / "executed"
    assert book_build.execute_chapters(root, out, "ci", lanes=2) == ["02_second", "01_first"]  # alone goes last
    threads = {name: json.loads((out / f"{name}.ipynb").read_text())["metadata"]["dcgan_book_build"]["threads"]
               for name in ("01_first", "02_second")}
    assert threads == {"01_first": None, "02_second": 1}  # None: PyTorch's own choice, every core


def test_a_failure_in_one_lane_lets_the_other_finish_and_stops_the_build(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DCGAN_PROFILE", "ci")
    root = tiny_book(tmp_path / "root", second_cell="raise ValueError('the judge is not good enough')")
    (root / "book" / "03_third.ipynb").write_text((root / "book" / "01_first.ipynb").read_text())
    first = root / "book" / "01_first.ipynb"  # slow enough that 02 fails while it runs
    first.write_text(first.read_text().replace("x = 1", "import time\\ntime.sleep(8)"))
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nparts:\n  - caption: A\n    chapters:\n"
                                   "      - file: book/02_second\n      - file: book/01_first\n"
                                   "      - file: book/03_third\n")
    out = tmp_path / "executed"
    with pytest.raises(SystemExit):  # 02 fails while 01 runs: 01 finishes, 03 is not started
        book_build.execute_chapters(root, out, "ci", lanes=2)
    assert "stopped in chapter 02_second, cell 3" in capsys.readouterr().err
    assert (out / "01_first.ipynb").exists() and not (out / "02_second.ipynb").exists()
    assert not (out / "03_third.ipynb").exists()


def test_bad_lanes_are_refused(capsys):
    with pytest.raises(SystemExit):
        book_build.main(["--profile", "ci", "--lanes", "0"])
    assert "--lanes 0" in capsys.readouterr().err


def test_the_order_comes_from_the_last_build_else_from_the_recorded_times(tmp_path, monkeypatch):
    from dcgan_lib.tooling import timings

    monkeypatch.setattr(timings, "run_times", lambda: [
        {"chapter": "02_second", "profile": "ci", "cache": "shared", "seconds": 30.0},
        {"chapter": "02_second", "profile": "ci", "cache": "cold", "seconds": 90.0}])
    assert book_build.expected_seconds(tmp_path / "02_second.ipynb", "ci") == 30.0   # a book build's record
    assert book_build.expected_seconds(tmp_path / "02_second.ipynb", "book") == 0.0
    assert book_build.expected_seconds(tmp_path / "01_first.ipynb", "ci") == 0.0


def test_keep_going_executes_every_chapter_after_a_failure(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DCGAN_PROFILE", "ci")
    root = tiny_book(tmp_path / "root", second_cell="raise ValueError('the judge is not good enough')")
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nparts:\n  - caption: A\n    chapters:\n"
                                   "      - file: book/02_second\n      - file: book/01_first\n")
    out = tmp_path / "executed"
    with pytest.raises(SystemExit):
        book_build.execute_chapters(root, out, "ci", keep_going=True)
    assert (out / "01_first.ipynb").exists() and "failed: 02_second" in capsys.readouterr().err


@pytest.fixture
def build_env(monkeypatch):
    """book_build.main sets the chapters' environment in os.environ (its children read it): give it back after."""
    for name, value in (("DCGAN_PROFILE", "ci"), ("DCGAN_SEED", "0"), ("DCGAN_HEADLESS", "1"),
                        ("DCGAN_PROGRESS", "0")):
        monkeypatch.setenv(name, value)


CLAIM_CELL = ("from dcgan_lib.core import results\n"
              "results.claim('tiny', 'answer', 41, '>=', 42, PROFILE, statement='the answer is at least 42',\n"
              "              hard=True)")


@pytest.mark.parametrize("strict", [False, True])
def test_a_claim_that_does_not_hold_renders_the_book_and_fails_only_a_strict_build(tmp_path, monkeypatch, capsys,
                                                                                   strict, build_env):
    monkeypatch.setenv("DCGAN_RUNS_DIR", str(tmp_path / "runs"))
    root = tiny_book(tmp_path / "root", second_cell=CLAIM_CELL)
    rendered = []
    monkeypatch.setattr(book_build, "book_dir", lambda: root / "book")
    monkeypatch.setattr(book_build, "render", lambda root, executed, out: rendered.append(executed) or 0)
    status = book_build.main(["--profile", "book", "--no-models", "--lanes", "1"] + (["--strict"] if strict else []))
    out = capsys.readouterr().out
    assert rendered and (root / "_build" / "executed" / "book" / "02_second.ipynb").exists()
    assert "1 of 1 claims did not hold on this build's models (seed 0)" in out and "tiny/answer: 41 >= 42" in out
    assert status == (1 if strict else 0)


def test_another_seed_keeps_its_executed_chapters_and_claims_apart(tmp_path, monkeypatch, capsys, build_env):
    monkeypatch.setenv("DCGAN_RUNS_DIR", str(tmp_path / "runs"))
    root = tiny_book(tmp_path / "root", second_cell=CLAIM_CELL)
    monkeypatch.setattr(book_build, "book_dir", lambda: root / "book")
    monkeypatch.setattr(book_build, "render", lambda root, executed, out: 0)
    assert book_build.main(["--profile", "book", "--no-models", "--lanes", "1", "--seed", "2"]) == 0
    assert (root / "_build" / "executed" / "book-seed2" / "02_second.ipynb").exists()
    assert not (root / "_build" / "executed" / "book").exists()
    assert (tmp_path / "runs" / "metrics-seed2" / "claims" / "tiny.json").exists()
    assert "(seed 2)" in capsys.readouterr().out


def test_a_cell_that_blocks_forever_is_ended_run_once_more_and_the_build_ends(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DCGAN_PROFILE", "ci")
    root = tiny_book(tmp_path / "root", second_cell="import time\ntime.sleep(10 ** 6)  # a kernel that never answers")
    out = tmp_path / "executed"
    with pytest.raises(SystemExit):
        book_build.execute_chapters(root, out, "ci", idle_timeout=4)
    err = capsys.readouterr().err
    assert "02_second: its kernel and worker processes sat idle for 4 s" in err and "run once more" in err
    assert "02_second hung twice" in err and "failed: 02_second" in err
    assert (out / "01_first.ipynb").exists() and not (out / "02_second.ipynb").exists()


def test_a_busy_cell_is_never_taken_for_a_hung_one(tmp_path, monkeypatch):
    monkeypatch.setenv("DCGAN_PROFILE", "ci")
    root = tiny_book(tmp_path / "root", second_cell="import time\nend = time.time() + 10\nwhile time.time() < end:\n"
                                                    "    sum(range(1000))")
    assert book_build.execute_chapters(root, tmp_path / "executed", "ci", idle_timeout=4) == ["01_first", "02_second"]


def test_an_empty_thread_count_in_the_environment_does_not_lose_a_finished_chapter(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "")
    assert book_build._threads_set() is None
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert book_build._threads_set() == 2
