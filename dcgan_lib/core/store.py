"""Atomic checkpoint files and the random-number states that make a resumed run exact."""
from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable

import numpy as np
import torch


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by another user
        pass
    return True


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Delete the temporary files that killed saves of `path` left beside it (their process is gone)."""
    path, removed = Path(path), []
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        pid = tmp.name[len(path.name) + 2:].split(".")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def write_atomic(path: str | Path, write: Callable[[BinaryIO], None]) -> None:
    """Write a file through `write(f)` into a temporary file beside it, fsync it and rename it into place.

    A crash or a kill never leaves half a file: readers see the old file or the new one. The file gets the
    permissions of any file the user creates (not mkstemp's private 0600), so a shared run folder stays
    readable; a temporary file left by an earlier killed save is removed first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_atomic(obj: Any, path: str | Path) -> None:
    """torch.save `obj` to `path` atomically (`write_atomic`): a crash never leaves half a checkpoint."""
    write_atomic(path, lambda f: torch.save(obj, f))


def write_text_atomic(text: str, path: str | Path) -> None:
    """Write a text file (e.g. JSON records) atomically, like `save_atomic`."""
    write_atomic(path, lambda f: f.write(text.encode()))


def load(path: str | Path, map_location: str | torch.device = "cpu") -> Any:
    """Load a checkpoint written by `save_atomic` (tensors and plain Python only: weights_only=True)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No checkpoint at {path}: train first (or check the run directory).")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # unpickling errors, truncated files
        first_line = (str(err).strip().splitlines() or [""])[0][:200]
        raise RuntimeError(f"Checkpoint {path} could not be read ({err.__class__.__name__}: {first_line}). "
                           f"Delete it to retrain from scratch.") from err


def rng_state(*generators: torch.Generator) -> dict[str, Any]:
    """Every random state a training run draws from: Python, NumPy, torch (CPU and CUDA) and `generators`."""
    np_state = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": (np_state[0], torch.from_numpy(np_state[1].copy()), *np_state[2:]),
        "torch": torch.get_rng_state(),
        "generators": [g.get_state() for g in generators],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any], *generators: torch.Generator) -> None:
    """Restore the states saved by `rng_state` (same generators in the same order)."""
    random.setstate(_as_tuple(state["python"]))
    kind, keys, *rest = state["numpy"]
    np.random.set_state((kind, keys.numpy(), *rest))
    torch.set_rng_state(state["torch"])
    for g, s in zip(generators, state["generators"], strict=True):
        g.set_state(s)
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _as_tuple(x: Any) -> Any:
    return tuple(_as_tuple(v) for v in x) if isinstance(x, (list, tuple)) else x
