"""Results kept in the store under a digest of their inputs (`core.memo`): chapter 08's SVM selections, supervised
CNNs and K-means features are computed once and loaded, equal to the last bit, by a rebuild."""
import pickle

import pytest
import torch

from dcgan_lib.analysis.kmeans_features import kmeans_features, stored_kmeans_features
from dcgan_lib.analysis.supervised import accuracy, stored_train_supervised, train_supervised
from dcgan_lib.analysis.svm import select_and_fit, stored_select_and_fit
from dcgan_lib.core.memo import Remembered, digest
from dcgan_lib.core.paths import runs_dir
from dcgan_lib.core.runtime import side_by_side

CALLS: list[dict] = []


def double(x: torch.Tensor, factor: int = 2) -> dict:
    CALLS.append({"x": x, "factor": factor})
    return {"y": x * factor}


remembered_double = Remembered("results/test", double, dict, dict)


def test_the_digest_follows_every_value_and_nothing_else():
    x = torch.arange(6.0).view(2, 3)
    base = digest({"x": x, "Cs": [1e-4, 1e-3], "widen": True})
    assert digest({"widen": True, "x": x.clone(), "Cs": [1e-4, 1e-3]}) == base          # equal values, any order
    changed = x.clone()
    changed[1, 2] = 5.5
    others = [{"x": changed, "Cs": [1e-4, 1e-3], "widen": True}, {"x": x.half(), "Cs": [1e-4, 1e-3], "widen": True},
              {"x": x.view(3, 2), "Cs": [1e-4, 1e-3], "widen": True}, {"x": x, "Cs": [1e-4, 1e-2], "widen": True},
              {"x": x, "Cs": [1e-4, 1e-3], "widen": False}, {"x": x, "Cs": (1e-4, 1e-3), "widen": True}]
    assert len({digest(o) for o in others} | {base}) == len(others) + 1
    with pytest.raises(TypeError, match="cannot hash a object"):
        digest({"x": object()})


def test_a_result_is_computed_once_then_loaded(tmp_cache):
    CALLS.clear()
    x = torch.randn(5)
    first = remembered_double(x=x, factor=3)
    assert remembered_double.is_stored(x=x, factor=3) and not remembered_double.is_stored(x=x, factor=4)
    again = remembered_double(x=x, factor=3)
    assert len(CALLS) == 1 and torch.equal(first["y"], again["y"])
    remembered_double(x=x + 1, factor=3)                                   # other inputs: computed
    assert len(CALLS) == 2 and len(list((runs_dir() / "results" / "test").iterdir())) == 2


def data(n: int = 120, d: int = 20, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    return torch.randn(n, d, generator=g) + y[:, None].float(), y


def test_a_stored_selection_scores_as_the_fitted_one(tmp_cache):
    (x, y), (xv, yv), (xt, _) = data(), data(seed=1), data(seed=2)
    job = dict(X_train=x.half(), y_train=y, X_val=xv.half(), y_val=yv, Cs=[1e-3, 1e-2], solver="torch",
               widen=True, max_iter=50, device="cpu")
    fitted = select_and_fit(**job)
    stored, loaded = stored_select_and_fit(**job), stored_select_and_fit(**job)
    for sel in (stored, loaded):
        assert sel.C == fitted.C and sel.val_accuracy == fitted.val_accuracy and sel.gaps == fitted.gaps
        assert sel.hit_limit == fitted.hit_limit and sel.on_edge == fitted.on_edge
        assert torch.equal(sel.model.decision_function(xt.half()), fitted.model.decision_function(xt.half()))


def test_a_stored_supervised_cnn_is_the_trained_one(tmp_cache):
    g = torch.Generator().manual_seed(0)
    images, labels = torch.randint(0, 256, (64, 1, 32, 32), dtype=torch.uint8, generator=g), torch.arange(64) % 2
    job = dict(train_images=images[:48], train_labels=labels[:48], val_images=images[48:], val_labels=labels[48:],
               settings=[{"lr": 1e-3}, {"lr": 2e-4}], steps=6, select_steps=3, eval_every=2, ndf=4, batch_size=16,
               n_classes=2, seed=1, device="cpu")
    trained = train_supervised(**job)
    stored_train_supervised(**job)
    loaded = stored_train_supervised(**job)
    assert loaded.setting == trained.setting and loaded.curve == trained.curve
    assert loaded.best_step == trained.best_step and loaded.all_val_accuracies == trained.all_val_accuracies
    assert accuracy(loaded.model, images, labels) == accuracy(trained.model, images, labels)
    for name, weight in trained.model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[name], weight), name


def test_stored_kmeans_features_are_the_computed_ones(tmp_cache):
    g = torch.Generator().manual_seed(0)
    images = {s: torch.randint(0, 256, (n, 3, 16, 16), dtype=torch.uint8, generator=g)
              for s, n in (("train", 40), ("test", 10))}
    computed = kmeans_features(images, n_centroids=4, n_patches=500)
    stored_kmeans_features(images=images, n_centroids=4, n_patches=500)
    loaded = stored_kmeans_features(images=images, n_centroids=4, n_patches=500)
    assert set(loaded) == {"train", "test"} and all(torch.equal(loaded[s], computed[s]) for s in computed)


def test_remembered_runs_in_worker_processes(tmp_cache):
    """side_by_side pickles the function into spawned workers; each stores its result where the parent finds it."""
    assert pickle.loads(pickle.dumps(remembered_double)) == remembered_double
    jobs = [{"x": torch.full((3,), float(i))} for i in range(3)]
    out = side_by_side(remembered_double, jobs, device="cpu", workers=2, desc="test", progress=False)
    assert [o["y"].tolist() for o in out] == [[2.0 * i] * 3 for i in range(3)]
    assert all(remembered_double.is_stored(**job) for job in jobs)
