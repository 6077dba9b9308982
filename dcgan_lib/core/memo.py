"""Results computed from tensors, kept in the store under a digest of their inputs, so that a rebuild loads them.

A chapter's classifiers (an SVM's choice of C, a supervised CNN, K-means features) take minutes and are not models
of the zoo: their inputs are features and labels computed in the chapter. `Remembered(kind, function, ...)` is
`function` whose result is stored under a hash of every argument (tensors by their bytes, shape and dtype), so the
same call in a later build (another sentence changed, the library edited) loads the result in a moment, and any
change of its inputs (another seed's D, other sizes) computes it anew. It pickles, so it runs in worker processes
(`runtime.side_by_side`), and two processes asking for the same result compute it once (the store's lock).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import torch

from dcgan_lib.core import store

T = TypeVar("T")


def digest(value: Any) -> str:
    """A stable hash of tensors and plain values, nested in dicts, lists and tuples (a tensor by its dtype, shape
    and bytes; a float by its exact repr): the key of a result computed from them."""
    h = hashlib.sha1()
    _feed(h, value)
    return h.hexdigest()[:16]


def _feed(h, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        h.update(f"tensor {t.dtype} {tuple(t.shape)};".encode())
        h.update(t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    elif isinstance(value, dict):
        h.update(f"dict {len(value)};".encode())
        for key in sorted(value, key=repr):
            _feed(h, key)
            _feed(h, value[key])
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__} {len(value)};".encode())
        for item in value:
            _feed(h, item)
    elif value is None or isinstance(value, (bool, int, float, str, torch.device)):
        h.update(f"{type(value).__name__} {value!r};".encode())
    else:
        raise TypeError(f"digest: cannot hash a {type(value).__name__} (give tensors and plain values)")


@dataclass(frozen=True)
class ResultKey:
    """What names a stored result: the function that computed it and the digest of its arguments."""

    function: str
    inputs: str


@dataclass(frozen=True)
class Remembered(Generic[T]):
    """`function(**kwargs)`, stored under the digest of kwargs: computed once, then loaded. `to_state` turns its
    result into tensors and plain values (the store never unpickles objects), `from_state` back."""

    kind: str                                   # the store's folder for these results, e.g. "results/svm"
    function: Callable[..., T]
    to_state: Callable[[T], dict]
    from_state: Callable[[dict], T]

    def __call__(self, **kwargs: Any) -> T:
        def compute(folder) -> T:
            result = self.function(**kwargs)
            store.save_atomic(self.to_state(result), folder / "result.pt")
            return result

        return store.load_or_train(**self._key(kwargs), build=lambda folder: self.from_state(
            store.load(folder / "result.pt")), fit=compute)

    def is_stored(self, **kwargs: Any) -> bool:
        """Whether the result of these arguments is stored (nothing is computed or loaded)."""
        return store.is_finished(store.artefact_dir(**self._key(kwargs)))

    def _key(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The store's key of the result of `function(**kwargs)`, spelled once for loading and for finding it."""
        name = f"{self.function.__module__}.{self.function.__qualname__}"
        return {"kind": self.kind, "config": ResultKey(name, digest(kwargs)), "label": self.function.__name__}
