"""The paper's classifier on top of frozen features: a regularised linear L2-SVM (§5.1, §5.2).

"L2-SVM" is a linear SVM with the *squared* hinge loss and an L2 penalty, one-vs-rest over the classes:

    min_{w_k, b_k}  ½‖w_k‖² + ½b_k² + C Σ_i max(0, 1 − y_ik (w_k·x_i + b_k))²      (y_ik = ±1)

which is exactly what scikit-learn's ``LinearSVC(loss="squared_hinge", penalty="l2")`` solves (liblinear
regularises the intercept too, as a weight on a constant feature). Two solvers of the same objective:

* ``solver="liblinear"``: scikit-learn's ``LinearSVC`` (float64 in memory: small problems);
* ``solver="torch"``: full-batch L-BFGS in torch, streaming float16 features chunk by chunk and standardising
  each chunk on the fly, on the GPU when there is one, so 50,000 × 28,672 features (2.9 GB in float16) never
  exist in float32 or float64.

Protocol (`select_and_fit`): the features are standardised with a scaler fitted on the *training* features
only, C is chosen on a separate validation split only, and the test set is touched once, by the chosen model.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from dcgan_lib.core.memo import Remembered

SOLVERS = ("auto", "liblinear", "torch")


def _device(device: torch.device | str | None) -> torch.device:
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# What an L2SVM is besides its weights and scaler: its settings and how its fit ended (`L2SVM.state`).
_SETTINGS = ("C", "solver", "max_iter", "tol", "chunk_rows", "seed", "gap_tol", "check_every", "gap", "n_iter",
             "hit_limit", "converged")


class Standardizer:
    """Per-feature standardisation (x − mean) / std, fitted chunk by chunk with float64 sums (any size of X)."""

    def __init__(self, eps: float = 1e-6):
        self.eps = eps
        self.mean: torch.Tensor | None = None
        self.std: torch.Tensor | None = None
        self.n_fit = 0

    def fit(self, X: torch.Tensor, chunk: int | None = None) -> Standardizer:
        """Fit the mean and standard deviation of each column of X (training features only), `chunk` rows at a
        time (default: about 128 MB of float64 per chunk)."""
        chunk = chunk or max(64, (1 << 24) // max(X.shape[1], 1))
        total = torch.zeros(X.shape[1], dtype=torch.float64)
        squares = torch.zeros(X.shape[1], dtype=torch.float64)
        for start in range(0, len(X), chunk):
            x = X[start:start + chunk].to(torch.float64)
            total += x.sum(0)
            squares += x.pow(2).sum(0)
        mean = total / len(X)
        var = (squares / len(X) - mean.pow(2)).clamp(min=0)
        self.mean, self.std, self.n_fit = mean.float(), var.sqrt().float().clamp(min=self.eps), len(X)
        return self

    def transform(self, X: torch.Tensor, device: torch.device | str | None = None) -> torch.Tensor:
        """Standardised float32 copy of X (or of one chunk of it) on `device` (default: X's)."""
        if self.mean is None:
            raise RuntimeError("Standardizer.transform called before fit")
        device = X.device if device is None else torch.device(device)
        x = X.to(device, torch.float32)
        return (x - self.mean.to(device)) / self.std.to(device)


# The two products of every L-BFGS step, written in the order that BLAS runs fastest for a handful of classes
# (on a 2-core CPU, 6,000 × 3,584 features × 10 classes: 12 ms each, against 32 ms for x @ W and 56 ms for x.T @ g).
def _scores(x: torch.Tensor, W: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """x @ W + b: the [n, K] class scores."""
    return (W.T @ x.T).T + b


def _transposed_times(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """x.T @ g: the [d, K] gradient of the scores' loss with respect to W."""
    return (g.T @ x).T


@torch.no_grad()
def _duality_gap(chunks: Callable[[], Iterator[tuple[torch.Tensor, torch.Tensor]]], W: torch.Tensor,
                 b: torch.Tensor, C: float) -> float:
    """Relative duality gap (P − D) / P of the one-vs-rest L2-SVM at (W, b), summed over the classes.

    Primal P = ½‖w‖² + ½b² + C Σ ξ², ξ = max(0, 1 − y(w·x + b)); dual D(α) = Σα − ½‖Σ α y x̃‖² − Σα² / 4C
    (x̃ = [x, 1]), evaluated at α = 2Cξ, which is the optimal α at the optimum: the gap is 0 exactly there."""
    primal, alpha_sum, alpha_sq = 0.5 * (W.pow(2).sum() + b.pow(2).sum()).item(), 0.0, 0.0
    w_alpha, b_alpha = torch.zeros_like(W), torch.zeros_like(b)
    for x, y in chunks():
        xi = (1 - y * _scores(x, W, b)).clamp(min=0)
        primal += C * xi.pow(2).sum().item()
        alpha = 2 * C * xi
        alpha_sum += alpha.sum().item()
        alpha_sq += alpha.pow(2).sum().item()
        w_alpha += _transposed_times(x, alpha * y)
        b_alpha += (alpha * y).sum(0)
    dual = alpha_sum - 0.5 * (w_alpha.pow(2).sum() + b_alpha.pow(2).sum()).item() - alpha_sq / (4 * C)
    return (primal - dual) / max(primal, 1e-12)


def _as_tensor(X) -> torch.Tensor:
    return X if isinstance(X, torch.Tensor) else torch.as_tensor(np.asarray(X))


class L2SVM:
    """Standardiser (fitted on the training features) + one-vs-rest linear L2-SVM with constant C."""

    def __init__(self, C: float = 1.0, solver: str = "liblinear", max_iter: int = 200, tol: float = 1e-4,
                 device: torch.device | str | None = None, chunk: int | None = None, seed: int = 0,
                 gap_tol: float = 1e-3, check_every: int = 25):
        if solver not in ("liblinear", "torch"):
            raise ValueError(f"solver={solver!r}: choose 'liblinear' or 'torch'")
        # rows per streamed chunk; None: about 128 MB of float32 per chunk, whatever the feature dimension
        self.C, self.solver, self.max_iter, self.tol, self.chunk_rows, self.seed = C, solver, max_iter, tol, chunk, seed
        # torch solver: stop at this relative duality gap (P - D) / P, checked every `check_every` iterations
        self.gap_tol, self.check_every = gap_tol, check_every
        self.gap = math.nan                  # the torch fit's relative duality gap at its end
        self.device = _device(device) if solver == "torch" else torch.device("cpu")
        self.scaler = Standardizer()
        self.classes: torch.Tensor | None = None
        self.W: torch.Tensor | None = None   # [d, K]
        self.b: torch.Tensor | None = None   # [K]
        self.n_iter = 0                      # solver iterations the fit used
        self.hit_limit = False               # whether it stopped on max_iter instead of its tolerance
        self.converged = False               # torch: gap ≤ gap_tol at the end; liblinear: stopped on its tol

    @property
    def chunk(self) -> int:
        """Rows per streamed chunk."""
        d = self.W.shape[0] if self.W is not None else (self.scaler.mean.numel() if self.scaler.mean is not None else 1)
        return self.chunk_rows or max(256, (1 << 25) // max(d, 1))

    # ---- fitting ---------------------------------------------------------------------------------------------
    def fit(self, X, y, scaler: Standardizer | None = None, init: L2SVM | None = None) -> L2SVM:
        """Fit the scaler on X (unless a fitted `scaler` of the same X is given) and the SVM on the scaled X."""
        X, y = _as_tensor(X), _as_tensor(y).long()
        self.scaler = scaler if scaler is not None else Standardizer().fit(X)
        self.classes = torch.unique(y)
        Y = torch.where(y[:, None] == self.classes[None, :], 1.0, -1.0)            # [n, K] in ±1
        if self.solver == "liblinear":
            self._fit_liblinear(X, y)
        else:
            self._fit_torch(X, Y, init)
        return self

    def _fit_liblinear(self, X: torch.Tensor, y: torch.Tensor) -> None:
        from sklearn.svm import LinearSVC

        Xs, limit = self.scaler.transform(X, "cpu").numpy(), max(self.max_iter * 10, 1000)
        svm = LinearSVC(C=self.C, loss="squared_hinge", penalty="l2", dual=Xs.shape[0] < Xs.shape[1],
                        tol=self.tol, max_iter=limit, random_state=self.seed)
        svm.fit(Xs, y.numpy())
        self.n_iter = int(np.max(svm.n_iter_))
        self.hit_limit = self.n_iter >= limit
        self.converged = not self.hit_limit
        coef = torch.as_tensor(svm.coef_, dtype=torch.float32)
        intercept = torch.as_tensor(svm.intercept_, dtype=torch.float32)
        if len(self.classes) == 2:      # scikit-learn keeps one hyperplane for two classes: class 1 vs class 0
            coef, intercept = torch.cat([-coef, coef]), torch.cat([-intercept, intercept])
        self.W, self.b = coef.T.contiguous(), intercept

    def _fit_torch(self, X: torch.Tensor, Y: torch.Tensor, init: L2SVM | None) -> None:
        device, n, d, K = self.device, len(X), X.shape[1], Y.shape[1]
        # Small problems: standardise once and keep on the device; large ones: stream chunks every pass.
        resident = n * d * 4 <= 1 << 30
        Xs = self.scaler.transform(X, device) if resident else None
        if not resident and device.type == "cuda" and X.numel() * X.element_size() < torch.cuda.mem_get_info()[0] // 2:
            X = X.to(device)       # the (float16) features fit on the GPU: stream chunks from there
        chunk = self.chunk
        Yd = Y.to(device)
        W = torch.zeros(d, K, device=device) if init is None else init.W.to(device).clone()
        b = torch.zeros(K, device=device) if init is None else init.b.to(device).clone()
        # Objective divided by C·n (same minimiser, better scaled for L-BFGS's tolerances).
        reg = 1.0 / (2.0 * self.C * n)
        rounds = min(self.check_every, self.max_iter)
        opt = torch.optim.LBFGS([W, b], lr=1, max_iter=rounds, history_size=20, tolerance_grad=self.tol * 1e-2,
                                tolerance_change=1e-10, line_search_fn="strong_wolfe")

        def chunks():
            for start in range(0, n, chunk):
                x = Xs[start:start + chunk] if resident else self.scaler.transform(X[start:start + chunk], device)
                yield x, Yd[start:start + chunk]

        @torch.no_grad()
        def closure() -> torch.Tensor:
            # The objective and its gradient by hand (two matrix products per chunk, no autograd graph):
            # d/dW Σ ξ² / n = x.T @ (−2 y ξ / n), with ξ = max(0, 1 − y (x W + b)).
            value = reg * (W.pow(2).sum() + b.pow(2).sum())
            grad_W, grad_b = 2 * reg * W, 2 * reg * b
            for x, y in chunks():
                xi = (1 - y * _scores(x, W, b)).clamp(min=0)
                value += xi.pow(2).sum() / n
                g = (-2 / n) * y * xi
                grad_W += _transposed_times(x, g)
                grad_b += g.sum(0)
            W.grad, b.grad = grad_W, grad_b
            return value

        # Small CPU problems are many tiny ops: one thread avoids hand-off latency (large ones keep all threads).
        threads = torch.get_num_threads()
        if device.type == "cpu" and n * d <= 2_000_000:
            torch.set_num_threads(1)
        try:
            self._lbfgs_rounds(opt, closure, chunks, W, b, rounds)
        finally:
            torch.set_num_threads(threads)
        self.hit_limit = self.gap > self.gap_tol and self.n_iter >= self.max_iter
        self.converged = self.gap <= self.gap_tol
        self.W, self.b = W.detach().cpu(), b.detach().cpu()

    def _lbfgs_rounds(self, opt: torch.optim.LBFGS, closure: Callable[[], torch.Tensor],
                      chunks: Callable[[], Iterator], W: torch.Tensor, b: torch.Tensor, rounds: int) -> None:
        """L-BFGS in rounds of `check_every` iterations (it keeps its history between them) until the relative
        duality gap is at most `gap_tol`, L-BFGS meets its own tolerance, or max_iter is spent. L-BFGS stopping
        on its own tolerance above the gap sought (a stalled line search) restarts with a fresh history; a round
        that moves no more stops the fit."""
        self.n_iter, self.gap = 0, math.inf
        while self.n_iter < self.max_iter:
            before = int(opt.state[W].get("n_iter", 0))
            opt.step(closure)
            used = int(opt.state[W].get("n_iter", 0)) - before
            self.n_iter += used
            self.gap = _duality_gap(chunks, W.detach(), b.detach(), self.C)
            if self.gap <= self.gap_tol or used <= 1:
                break
            if used < rounds:
                opt.state.clear()

    # ---- using -----------------------------------------------------------------------------------------------
    @torch.no_grad()
    def decision_function(self, X) -> torch.Tensor:
        """Scores [n, K] (one per class), computed chunk by chunk."""
        X = _as_tensor(X)
        device, chunk = self.device, self.chunk
        W, b = self.W.to(device), self.b.to(device)
        return torch.cat([_scores(self.scaler.transform(X[s:s + chunk], device), W, b).cpu()
                          for s in range(0, len(X), chunk)])

    def predict(self, X) -> torch.Tensor:
        """Predicted class labels."""
        return self.classes[self.decision_function(X).argmax(1)]

    def score(self, X, y) -> float:
        """Accuracy on (X, y)."""
        return (self.predict(X) == _as_tensor(y).long()).float().mean().item()

    # ---- storing ------------------------------------------------------------------------------------------------
    def state(self) -> dict:
        """The fitted model as tensors and plain values (what the store keeps; `from_state` rebuilds it)."""
        settings = {k: getattr(self, k) for k in _SETTINGS}
        return {**settings, "device": str(self.device), "mean": self.scaler.mean, "std": self.scaler.std,
                "n_fit": self.scaler.n_fit, "classes": self.classes, "W": self.W, "b": self.b}

    @classmethod
    def from_state(cls, state: dict) -> L2SVM:
        """The model that `state()` described, ready to score (on the device it was fitted on, else the CPU)."""
        model = cls(solver=state["solver"], device=_device(None) if state["device"].startswith("cuda") else "cpu")
        for k in _SETTINGS:  # C, iteration cap, tolerances, and how the fit ended
            setattr(model, k, state[k])
        model.scaler.mean, model.scaler.std, model.scaler.n_fit = state["mean"], state["std"], state["n_fit"]
        model.classes, model.W, model.b = state["classes"], state["W"], state["b"]
        return model

    def objective(self, X, y) -> float:
        """The L2-SVM objective Σ_k ½‖w_k‖² + ½b_k² + C Σ_i hinge² on (X, y) (to compare solvers)."""
        X, y = _as_tensor(X), _as_tensor(y).long()
        Y = torch.where(y[:, None] == self.classes[None, :], 1.0, -1.0)
        margins = (1 - Y * self.decision_function(X)).clamp(min=0)
        return float(0.5 * (self.W.pow(2).sum() + self.b.pow(2).sum()) + self.C * margins.pow(2).sum())


@dataclass
class Selection:
    """The outcome of choosing C on a validation split: the chosen model, every C's validation accuracy, how many
    solver iterations each fit used and which fits stopped on their iteration limit rather than converging."""

    model: L2SVM
    C: float
    val_accuracy: dict[float, float] = field(default_factory=dict)
    iterations: dict[float, int] = field(default_factory=dict)
    hit_limit: dict[float, bool] = field(default_factory=dict)
    gaps: dict[float, float] = field(default_factory=dict)   # relative duality gaps (torch solver; NaN otherwise)

    @property
    def on_edge(self) -> bool:
        """Whether the smallest or the largest C of the grid tried reaches the best validation accuracy (the
        optimum may then lie beyond the grid)."""
        top = max(self.val_accuracy.values())
        return top in (self.val_accuracy[min(self.val_accuracy)], self.val_accuracy[max(self.val_accuracy)])

    @property
    def best_val_accuracy(self) -> float:
        """The chosen model's validation accuracy."""
        return self.val_accuracy[self.C]

    def score(self, X, y) -> float:
        """Accuracy of the chosen model (e.g. on the test set, once)."""
        return self.model.score(X, y)


def selection_state(selection: Selection) -> dict:
    """A Selection as tensors and plain values (for the store)."""
    return {"model": selection.model.state(), "C": selection.C, "val_accuracy": selection.val_accuracy,
            "iterations": selection.iterations, "hit_limit": selection.hit_limit, "gaps": selection.gaps}


def selection_from_state(state: dict) -> Selection:
    """The Selection that `selection_state` described."""
    return Selection(L2SVM.from_state(state["model"]), **{k: v for k, v in state.items() if k != "model"})


def pick_solver(n: int, d: int, solver: str = "auto") -> str:
    """'liblinear' for small problems (n·d ≤ 4M numbers), 'torch' beyond, unless a solver is named."""
    if solver not in SOLVERS:
        raise ValueError(f"solver={solver!r}: choose one of {SOLVERS}")
    if solver != "auto":
        return solver
    return "liblinear" if n * d <= 4_000_000 else "torch"


def select_and_fit(X_train, y_train, X_val, y_val, Cs: Sequence[float], solver: str = "auto",
                   device: torch.device | str | None = None, widen: bool = False,
                   C_limits: tuple[float, float] = (1e-9, 1e3), **kwargs) -> Selection:
    """Fit one L2-SVM per C on the training split (scaler fitted on it alone) and keep the C with the best
    validation accuracy; the test set is not used. Ties go to the C nearest the middle of the grid (in log C).

    With `widen`, the grid grows by one step (its spacing, e.g. a decade) past each edge whose C reaches the best
    validation accuracy, until both edges fall short of it or the grid reaches `C_limits` (then
    `Selection.on_edge` says so)."""
    X_train, X_val = _as_tensor(X_train), _as_tensor(X_val)
    solver = pick_solver(len(X_train), X_train.shape[1], solver)
    scaler = Standardizer().fit(X_train)
    models: dict[float, L2SVM] = {}

    def fit(C: float) -> None:
        nearest = min(models, key=lambda c: abs(math.log(c / C)), default=None)
        init = models[nearest] if solver == "torch" and nearest is not None else None   # warm start along C
        models[C] = L2SVM(C, solver=solver, device=device, **kwargs).fit(X_train, y_train, scaler=scaler, init=init)
        accuracies[C] = models[C].score(X_val, y_val)

    accuracies: dict[float, float] = {}
    for C in sorted(Cs):
        fit(C)
    while widen:  # extend each edge that reaches the best accuracy, until both fall short of it (or the limits)
        grid, top = sorted(accuracies), max(accuracies.values())
        step = grid[1] / grid[0] if len(grid) > 1 else 10.0
        beyond = [float(f"{C:.6g}") for C, edge in ((grid[0] / step, grid[0]), (grid[-1] * step, grid[-1]))
                  if accuracies[edge] == top and C_limits[0] <= C <= C_limits[1]]
        if not beyond:
            break
        for C in beyond:
            fit(C)
    best = _best_C(accuracies)
    iterations = {C: m.n_iter for C, m in sorted(models.items())}
    hit = {C: m.hit_limit for C, m in sorted(models.items())}
    gaps = {C: m.gap for C, m in sorted(models.items())}
    return Selection(models[best], best, dict(sorted(accuracies.items())), iterations, hit, gaps)


def _best_C(accuracies: dict[float, float]) -> float:
    """The C with the best validation accuracy; among ties, the one nearest the grid's middle in log C."""
    grid = sorted(accuracies)
    middle = (math.log(grid[0]) + math.log(grid[-1])) / 2
    top = max(accuracies.values())
    return min((C for C in grid if accuracies[C] == top), key=lambda C: (abs(math.log(C) - middle), C))


# select_and_fit through the store: called again with the same features, labels and settings (a rebuild of the
# book), it loads the Selection instead of fitting every C again.
stored_select_and_fit = Remembered("results/svm", select_and_fit, selection_state, selection_from_state)
