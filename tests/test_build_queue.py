"""`make book`'s one queue (dcgan_lib.tooling.build_queue): models train beside the chapters that do not wait for
them, and a chapter starts only once the models it reads are stored."""
import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_book_build import tiny_book

from dcgan_lib.tooling import book_build
from dcgan_lib.tooling.build_queue import Task, chain_lengths


@dataclass(frozen=True)
class SlowModel:
    """A stand-in for a `BookModel`: it takes a few seconds to train, then leaves a file."""

    label: str
    chapters: tuple[str, ...]
    marker: str
    seconds: float = 6.0

    def train(self, profile: str) -> None:
        if self.label == "broken":
            raise RuntimeError("the model's data is missing")
        time.sleep(self.seconds)
        Path(self.marker).write_text(f"{time.time()}")


def book_with_a_model(root: Path, marker: Path) -> Path:
    """Two chapters: 01 reads no model and notes whether the model was there; 02 reads it (and fails without it)."""
    tiny_book(root, second_cell=f"import time\nfrom pathlib import Path\nassert Path({str(marker)!r}).exists()\n"
                                f"Path({str(marker)!r} + '.read').write_text(f'{{time.time()}}')")
    first = root / "book" / "01_first.ipynb"
    first.write_text(first.read_text().replace(
        "x = 1", f"from pathlib import Path\\nPath({str(marker)!r} + '.first').write_text("
                 f"str(Path({str(marker)!r}).exists()))"))
    return root


def test_a_chapter_waits_for_its_model_and_the_others_run_beside_it(tmp_cache, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DCGAN_PROFILE", "ci")
    monkeypatch.setattr(book_build.os, "cpu_count", lambda: 2)
    marker = tmp_path / "model.done"
    root, out = book_with_a_model(tmp_path / "root", marker), tmp_path / "executed"
    model = SlowModel("a slow model", ("second",), str(marker))
    ran = book_build.execute_chapters(root, out, "ci", lanes=2, models=[model])
    assert sorted(ran) == ["01_first", "02_second"]
    assert Path(f"{marker}.first").read_text() == "False"   # 01 ran beside the model, not after it
    assert float(Path(f"{marker}.read").read_text()) >= float(marker.read_text())   # 02 started once it was stored
    said = capsys.readouterr().out
    assert "done a slow model in 6 s; 0 model(s) still to start" in said
    assert "a slow model" in json.loads((tmp_cache / "runs" / "model_times.json").read_text())["ci"]   # kept
    assert json.loads((out / "02_second.ipynb").read_text())["metadata"]["dcgan_book_build"]["threads"] == 1


def test_a_failing_model_stops_the_build_and_its_chapter_never_starts(tmp_cache, tmp_path, monkeypatch,
                                                                       capsys):
    monkeypatch.setenv("DCGAN_PROFILE", "ci")
    monkeypatch.setattr(book_build.os, "cpu_count", lambda: 2)
    marker = tmp_path / "model.done"
    root, out = book_with_a_model(tmp_path / "root", marker), tmp_path / "executed"
    with pytest.raises(SystemExit) as stopped:
        book_build.execute_chapters(root, out, "ci", lanes=2, models=[SlowModel("broken", ("second",), str(marker))])
    assert stopped.value.code == 1
    said = capsys.readouterr().err
    assert "training broken failed: RuntimeError: the model's data is missing" in said and "failed: broken" in said
    assert not (out / "02_second.ipynb").exists()


def test_the_longest_chain_goes_first():
    chapter = Task("08_classification", 1000.0, 1, needs=frozenset({"objects"}))
    small = Task("objects", 150.0, 1, model=object())
    large = Task("faces", 400.0, 1, model=object())
    alone = Task("10_speed", 50.0, 2)
    chain_lengths([chapter, small, large, alone])
    assert (small.chain, large.chain, chapter.chain) == (1150.0, 400.0, 1000.0)   # the small model unlocks 1,000 s
