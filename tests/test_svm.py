import torch

from dcgan_lib.analysis.svm import L2SVM, Standardizer, pick_solver, select_and_fit


def _blobs(n, d=20, k=3, seed=0, noise=2.0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(k, d, generator=torch.Generator().manual_seed(99)) * 1.5
    y = torch.arange(n) % k
    X = centres[y] + noise * torch.randn(n, d, generator=g) + 5.0   # offset and scale: the scaler matters
    X[:, 0] *= 100
    return X, y


def test_standardizer_streams_and_matches_numpy():
    X = torch.randn(1000, 7, dtype=torch.float64) * 3 + 2
    s = Standardizer().fit(X.half(), chunk=128)
    assert torch.allclose(s.mean, X.half().double().mean(0).float(), atol=1e-3)
    assert torch.allclose(s.std, X.half().double().std(0, unbiased=False).float(), atol=1e-3)
    assert s.transform(X.half()).dtype == torch.float32


def test_scaler_is_fitted_on_training_features_only():
    X_train, y_train = _blobs(300)
    X_val, y_val = _blobs(300, seed=1)
    X_val = X_val * 10 + 1000          # a very different validation set must not move the scaler
    sel = select_and_fit(X_train, y_train, X_val, y_val, Cs=[0.1, 1.0], solver="liblinear")
    assert torch.allclose(sel.model.scaler.mean, X_train.mean(0), rtol=1e-4)
    assert sel.model.scaler.n_fit == len(X_train)
    assert set(sel.val_accuracy) == {0.1, 1.0}


def test_torch_solver_agrees_with_linearsvc():
    X, y = _blobs(600, d=30, k=4)
    Xt, yt = _blobs(600, d=30, k=4, seed=2)
    lib = L2SVM(C=0.05, solver="liblinear", tol=1e-6).fit(X, y)
    tor = L2SVM(C=0.05, solver="torch", max_iter=500, device="cpu").fit(X, y)
    assert abs(lib.score(Xt, yt) - tor.score(Xt, yt)) <= 0.005
    # the same objective, nearly the same minimum
    assert abs(lib.objective(X, y) - tor.objective(X, y)) <= 1e-3 * lib.objective(X, y)
    agreement = (lib.predict(Xt) == tor.predict(Xt)).float().mean().item()
    assert agreement >= 0.98


def test_torch_solver_streams_float16_chunks():
    X, y = _blobs(500, d=16, k=3)
    a = L2SVM(C=0.1, solver="torch", chunk=64, device="cpu").fit(X.half(), y)
    b = L2SVM(C=0.1, solver="torch", chunk=10_000, device="cpu").fit(X.half(), y)
    assert torch.allclose(a.W, b.W, atol=1e-3)


def test_two_classes_and_solver_choice():
    X, y = _blobs(200, k=2)
    model = L2SVM(C=1.0, solver="liblinear").fit(X, y)
    assert model.score(X, y) > 0.8 and model.W.shape == (20, 2)
    assert pick_solver(1000, 100) == "liblinear" and pick_solver(50_000, 28_672) == "torch"


def test_the_C_grid_widens_past_every_edge_that_reaches_the_best_accuracy():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(400, 2, generator=g)        # the label is z0; the class means point along x0 = z0 + 5 z1,
    X = torch.cat([torch.stack([z[:, 0] + 5 * z[:, 1], 5 * z[:, 1]], 1), torch.randn(400, 8, generator=g)], 1)
    y = (z[:, 0] > 0).long()                    # so a strong penalty (small C) fails and a weak one succeeds
    narrow = select_and_fit(X[:300], y[:300], X[300:], y[300:], Cs=[1e-6, 1e-5], solver="torch", max_iter=300)
    assert narrow.on_edge and narrow.best_val_accuracy < 0.6
    wide = select_and_fit(X[:300], y[:300], X[300:], y[300:], Cs=[1e-6, 1e-5], solver="torch", max_iter=300,
                          widen=True)
    assert wide.C >= 0.1 and wide.best_val_accuracy >= 0.95
    assert min(wide.val_accuracy) <= 1e-7 and max(wide.val_accuracy) == 1e3   # both plateaus, up to the limit
    assert wide.on_edge                                                      # still the best at 1e3: said so
    assert all(gap <= 1e-3 for C, gap in wide.gaps.items() if C <= 100) and not any(wide.hit_limit.values())
    cut = L2SVM(C=100.0, solver="torch", max_iter=3, check_every=3, device="cpu").fit(X, y)
    assert cut.hit_limit and not cut.converged and cut.gap > 1e-3           # stopped on its limit, and says so
