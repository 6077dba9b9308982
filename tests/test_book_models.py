"""`make models` (dcgan_lib.tooling.book_models): every stored model of the book trained up front, side by side,
under the keys the chapters ask for, so that a chapter executed afterwards trains nothing."""
import papermill
import pytest

from dcgan_lib import zoo
from dcgan_lib.core.paths import runs_dir
from dcgan_lib.models.variants import VARIANTS
from dcgan_lib.tooling import book_models
from dcgan_lib.tooling.chapters import book_dir


def stored_folders() -> set[str]:
    return {str(p.parent.relative_to(runs_dir())) for p in runs_dir().glob("*/*/artefact.json")}


def test_the_models_train_once_up_front_and_the_chapters_then_train_nothing(tmp_cache, tmp_path, monkeypatch,
                                                                            capfd):
    monkeypatch.setenv("DCGAN_PROFILE", "ci")
    labels = [model.label for model in zoo.book_models("ci")]
    assert [model.label for model in book_models.missing("ci")] == labels
    took = book_models.prepare("ci", workers=2)
    assert list(took) == labels and all(s > 0 for s in took.values())
    said = capfd.readouterr().out                                  # a line as each model starts and ends
    assert all(f"started {label}" in said and f"done {label} in" in said for label in labels)
    assert "0 left" in said and set(book_models.recorded_times("ci")) == {book_models.model_key(x) for x in labels}
    assert book_models.missing("ci") == [] and book_models.prepare("ci") == {}
    before = stored_folders()
    assert len(before) == len(labels)
    for chapter in ("06_vector_arithmetic", "09_conditional_nearest_neighbour"):  # the chapters with own sizes
        papermill.execute_notebook(str(book_dir() / f"{chapter}.ipynb"), str(tmp_path / f"{chapter}.ipynb"),
                                   cwd=str(book_dir()), progress_bar=False, parameters={"PROFILE": "ci"},
                                   execution_timeout=900)  # a bound on every cell: a hung kernel fails the test
    assert stored_folders() == before, stored_folders() - before


def test_an_unknown_kind_of_model_is_refused():
    with pytest.raises(ValueError, match="'load_dataset' is not a kind of the book's models: DCGAN, judge"):
        zoo.BookModel("a model", "load_dataset", {})


def test_each_kind_finds_the_folder_it_trains_into(tmp_cache):
    """The one table: a model of each kind, once trained through it, is found stored through it."""
    for model in [m for m in zoo.book_models("ci") if m.kind in {"judge", "locator", "autoencoder"}][:3]:
        assert not model.is_stored("ci")
        model.train("ci")
        assert model.is_stored("ci"), model.label


def test_the_list_names_every_chapter_model_at_each_profile():
    for profile in ("ci", "book"):
        jobs = zoo.book_models(profile)
        assert len({job.label for job in jobs}) == len(jobs) and {job.kind for job in jobs} == set(zoo.BOOK_MODEL_KINDS)
        assert sum("faces DCGAN" in job.label for job in jobs) == zoo.chapter_sizes(
            "vector_arithmetic", profile).n_generators
        guide = zoo.chapter_sizes("guidelines", profile)   # the guidelines ablation on digits and on drawn objects
        runs = [job.kwargs for job in jobs if job.kind == "guideline" and "epochs" not in job.kwargs]
        for drawn in (False, True):
            assert sum(run.get("drawn", False) == drawn for run in runs) == len(VARIANTS) * guide.n_seeds
        assert f"{guide.drawn} judge (guidelines)" in {job.label for job in jobs}
    assert all("judge" not in job.label and "locator" not in job.label for job in zoo.book_models("full"))


def test_this_machines_times_replace_the_committed_ones_model_by_model(tmp_cache, tmp_path, monkeypatch):
    committed = tmp_path / "model_times.json"
    committed.write_text('{"book": {"rooms DCGAN": 1200.0, "faces judge": 140.0}}')
    monkeypatch.setattr(book_models, "MODEL_TIMES_FILE", committed)
    book_models.save_times("book", {"rooms DCGAN": 800.0})          # one model timed here so far
    assert book_models.recorded_times("book") == {"rooms DCGAN": 800.0, "faces judge": 140.0}
    assert book_models.time_left("book", ["rooms DCGAN", "faces judge"], cores=2) == \
        ", about 8 min more by the recorded times"
    assert book_models.time_left("book", ["a model never timed"], cores=2) == ""
