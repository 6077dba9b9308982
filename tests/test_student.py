import nbformat
import pytest
from nbclient import NotebookClient

from dcgan_lib.tooling.chapters import chapters
from dcgan_lib.tooling.student import PROMPT, main, write_student_versions


@pytest.mark.parametrize("name", list(chapters()))
def test_student_version_replaces_only_the_solutions(name, tmp_path):
    (student_path,) = write_student_versions([name], tmp_path)
    original = nbformat.read(chapters()[name], as_version=4)
    student = nbformat.read(student_path, as_version=4)
    assert len(original.cells) == len(student.cells)
    solutions = 0
    for before, after in zip(original.cells, student.cells):
        if "solution" in before.metadata.get("tags", []):
            solutions += 1
            assert after.source == PROMPT and "solution" not in after.metadata["tags"]
        else:
            assert after.source == before.source
    assert solutions >= 1


@pytest.mark.parametrize("name", ["architecture", "training"])
def test_student_version_runs_up_to_the_first_exercise(name, tmp_path, monkeypatch):
    monkeypatch.setenv("DCGAN_PROFILE", "ci")
    (student_path,) = write_student_versions([name], tmp_path)
    nb = nbformat.read(student_path, as_version=4)
    first_exercise = next(i for i, c in enumerate(nb.cells) if "exercise" in c.metadata.get("tags", []))
    nb.cells = nb.cells[:first_exercise + 1]
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(chapters()[name].parent)}}).execute()
    assert nb.cells[-1].source == PROMPT


def test_unknown_chapter_is_refused(capsys, tmp_path):
    assert main(["nope", "--out", str(tmp_path)]) == 2
    assert "Unknown chapter" in capsys.readouterr().err
