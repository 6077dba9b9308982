"""The one store: atomic files, safe loads, the random states that make a resumed run exact, and load or train.

Every cached artefact (GAN runs, conditional runs, judges, locators, autoencoders, generated datasets) lives in
a folder named by its kind and a hash of its config (`artefact_dir`), made once by `load_or_train`.
"""
from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import random
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Callable, TypeVar

import numpy as np
import torch

from dcgan_lib.core.paths import runs_dir

T = TypeVar("T")
FINISHED = "artefact.json"  # written when an artefact's fit has returned: the folder then holds a finished one


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
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    except PermissionError:
        raise _read_only(path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, Exception) and _disk_full(err, path.parent):
            raise OSError(errno.ENOSPC, f"The disk of {path.parent} is full: {path.name} was not written, and the "
                          f"previous {path.name} (if there is one) is intact. Free some space, or point "
                          f"DCGAN_RUNS_DIR / DCGAN_DATA_DIR at a larger disk, then run again.") from err
        raise


def _read_only(path: Path) -> PermissionError:
    return PermissionError(f"Cannot write {path}: its folder is read-only. Set DCGAN_RUNS_DIR (trained models and "
                           f"metrics) or DCGAN_DATA_DIR (datasets) to a folder you can write to.")


def _disk_full(err: Exception, folder: Path) -> bool:
    """Whether a failed write failed for lack of space (torch.save says only 'unexpected pos' then)."""
    if getattr(err, "errno", None) == errno.ENOSPC or "unexpected pos" in str(err):
        return True
    try:
        return shutil.disk_usage(folder).free < 1 << 20
    except OSError:
        return False


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
    except Exception as err:
        if not re.search(r"Unsupported global|not an allowed global", str(err)):  # a truncated or damaged file
            first_line = (str(err).strip().splitlines() or [""])[0][:200]
            raise RuntimeError(f"Checkpoint {path} could not be read ({err.__class__.__name__}: {first_line}). "
                               f"Delete it to retrain from scratch.") from err
        raise RuntimeError(f"Checkpoint {path} could not be read: it holds not only weights but Python objects, "
                           f"which are never unpickled (that could run any code). Delete it, or load it yourself "
                           f"with weights_only=False only if you trust where it came from.") from err


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


# ---- load or train ------------------------------------------------------------------------------------------------
def config_key(config: Any, salt: str = "") -> str:
    """A short stable hash of a config dataclass (its class name and every field), plus `salt`: the name of a
    cached artefact, so that any change of config trains a new one and no hand-made suffix is ever needed."""
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise TypeError(f"config_key needs a dataclass instance, not {type(config).__name__}")
    payload = {"type": type(config).__name__, "fields": dataclasses.asdict(config), "salt": salt}
    return hashlib.sha1(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:12]


def artefact_dir(kind: str, config: Any, root: str | Path | None = None, salt: str = "", label: str = "") -> Path:
    """The folder of the artefact of `kind` made from `config`: <root>/<kind>/[<label>-]<config_key>, where root
    defaults to `runs_dir()` and `label` (e.g. the model's name) only makes the folder easier to recognise."""
    name = f"{label}-{config_key(config, salt)}" if label else config_key(config, salt)
    return Path(root if root is not None else runs_dir()) / kind / name


def is_finished(folder: str | Path) -> bool:
    """Whether `folder` holds a finished artefact (its fit returned and the store marked it)."""
    return (Path(folder) / FINISHED).exists()


def load_or_train(kind: str, config: Any, build: Callable[[Path], T], fit: Callable[[Path], T],
                  root: str | Path | None = None, salt: str = "", label: str = "") -> T:
    """The artefact of `kind` made from `config`: `build(folder)` loads it if it was made before, otherwise
    `fit(folder)` makes it there now (resuming from whatever an interrupted fit left in the folder).

    `fit` writes its files into the folder (atomically, e.g. with `save_atomic`) and returns the artefact; once
    it has returned, the store marks the folder finished (`artefact.json`: kind, config type and fields), so a
    fit killed half-way is never mistaken for a finished one, and a finished folder whose record does not match
    the config asked for (copied or renamed by hand) is refused.
    """
    folder = artefact_dir(kind, config, root, salt, label)
    record = {"kind": kind, "type": type(config).__name__, "config": dataclasses.asdict(config), "salt": salt}
    text = json.dumps(record, indent=1, sort_keys=True, default=str) + "\n"
    if not is_finished(folder):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / ".lock").touch()
        except PermissionError:
            raise _read_only(folder / FINISHED) from None
        with _claimed(folder):  # a second process asking for the same artefact waits, then loads it
            if not is_finished(folder):
                made_in = _identity(folder)
                artefact = fit(folder)
                if _identity(folder) != made_in:  # deleted (or replaced) while fit ran: never mark a partial one
                    shutil.rmtree(folder, ignore_errors=True)
                    raise StoreFolderLost(f"{folder} was deleted while its {kind} was being made, so what was "
                                          f"written after that is incomplete and was removed too; nothing was "
                                          f"marked finished. Run again to make it from the start.")
                write_text_atomic(text, folder / FINISHED)
                return artefact
    stored = _read_record(folder / FINISHED)
    if stored != json.loads(text):  # a folder copied or renamed by hand: never hand out another model
        raise ValueError(f"{folder} holds a {stored.get('type')} made from another config than the one asked "
                         f"for ({type(config).__name__}): delete the folder to make this one again.")
    return build(folder)


class StoreFolderLost(RuntimeError):
    """A store folder was deleted while its artefact was being made."""


def _identity(folder: Path) -> tuple[int, int] | None:
    """The folder's (device, inode), None when it is gone: a folder deleted and made again has another."""
    try:
        stat = folder.stat()
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


def _read_record(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} could not be read ({err}): it was changed by hand or damaged; delete the folder "
                         f"{path.parent} to make its artefact again.") from None


@contextmanager
def _claimed(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on the folder (flock on <folder>/.lock) while its artefact is made; where the
    platform has no flock (Windows), no lock."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(folder / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class RunInUse(RuntimeError):
    """Another process is writing into a run folder."""


_HELD: set[str] = set()   # the run folders held with `sole_writer(..., inner=True)` by this process


@contextmanager
def sole_writer(folder: Path, inner: bool = False) -> Iterator[None]:
    """Hold <folder>/writer.lock, with this process's id in it, while a run writes into the folder: a second
    process is refused at once, naming the holder, instead of mixing its checkpoints with the first one's (where
    the platform has no flock, Windows, no lock). With `inner=True`, a `sole_writer` of the same folder inside this
    one (the training loop's, under a command that first checks and records the run's data) passes through."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    key = str(Path(folder).resolve())
    if key in _HELD:                    # held by this code with inner=True: its own training loop passes through
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "writer.lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            raise RunInUse(f"{folder} is in use: process {holder} is training into it. Wait for it to finish, or "
                           f"choose another folder (dcgan-train --out).") from None
        handle.truncate(0)
        handle.write(str(os.getpid()))
        handle.flush()
        if inner:
            _HELD.add(key)
        try:
            yield
        finally:
            _HELD.discard(key)
            fcntl.flock(handle, fcntl.LOCK_UN)


def save_weights(module: torch.nn.Module, path: str | Path, **extra: Any) -> None:
    """Save a module's weights (on the CPU) with plain extra values (sizes, scores) atomically."""
    save_atomic({"weights": {k: v.detach().cpu() for k, v in module.state_dict().items()}, **extra}, path)


def load_weights(module: torch.nn.Module, path: str | Path) -> dict[str, Any]:
    """Load weights saved by `save_weights` into `module`; returns the extra values saved with them."""
    state = load(path)
    module.load_state_dict(state.pop("weights"))
    return state
