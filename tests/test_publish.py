import json
import shutil

import pytest
import yaml

from dcgan_lib.tooling.chapters import book_dir
from dcgan_lib.tooling.publish import check_executed, main, stage

ROOT = book_dir().parent


def executed_copy(name: str, folder, error: bool = False):
    """A chapter as papermill leaves it: every code cell run (here with a made-up output)."""
    nb = json.loads((ROOT / "book" / name).read_text())
    for i, cell in enumerate(c for c in nb["cells"] if c["cell_type"] == "code"):
        cell["execution_count"] = i + 1
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "ran at the full profile\n"}]
    if error:
        cell["outputs"] = [{"output_type": "error", "ename": "RuntimeError", "evalue": "boom", "traceback": []}]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(nb))
    return folder / name


def test_staging_puts_the_run_in_place_and_keeps_the_other_chapters(tmp_path):
    run = tmp_path / "runs" / "full"
    executed_copy("02_training.ipynb", run)
    (run / "notes.ipynb").write_text("{}")  # not a chapter: ignored
    staging = tmp_path / "staging"
    assert stage(run, staging) == ["02_training.ipynb"]
    assert (staging / "book" / "02_training.ipynb").read_text() == (run / "02_training.ipynb").read_text()
    for path in (ROOT / "book").iterdir():
        if path.is_file() and path.name != "02_training.ipynb":
            assert (staging / "book" / path.name).read_bytes() == path.read_bytes(), path.name
    assert not (staging / "book" / "notes.ipynb").exists()
    assert (staging / "_toc.yml").read_bytes() == (ROOT / "_toc.yml").read_bytes() and (staging / "_ext").is_dir()
    config = yaml.safe_load((staging / "_config.yml").read_text())
    assert config["execute"]["exclude_patterns"] == ["book/02_training.ipynb"]
    assert config["execute"]["cache"] == str(ROOT / "_build" / ".jupyter_cache")
    assert config["repository"] == yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]


def test_a_second_staging_starts_clean(tmp_path):
    executed_copy("02_training.ipynb", tmp_path / "a")
    executed_copy("01_architecture.ipynb", tmp_path / "b")
    stage(tmp_path / "a", tmp_path / "staging")
    assert stage(tmp_path / "b", tmp_path / "staging") == ["01_architecture.ipynb"]
    assert (tmp_path / "staging" / "book" / "02_training.ipynb").read_bytes() == \
        (ROOT / "book" / "02_training.ipynb").read_bytes()


def test_unexecuted_or_failed_notebooks_are_refused(tmp_path):
    shutil.copy(ROOT / "book" / "02_training.ipynb", tmp_path)  # stored without outputs: never ran
    with pytest.raises(ValueError, match="not a fully executed notebook"):
        check_executed(tmp_path / "02_training.ipynb")
    with pytest.raises(ValueError, match="cells with errors"):
        check_executed(executed_copy("01_architecture.ipynb", tmp_path / "failed", error=True))


def test_command_line_explains_a_missing_or_empty_run(tmp_path, capsys):
    assert main([str(tmp_path / "nope"), str(tmp_path / "staging")]) == 2
    assert "No run folder" in capsys.readouterr().err
    assert main([str(tmp_path), str(tmp_path / "staging")]) == 2
    assert "no executed chapter notebook" in capsys.readouterr().err
