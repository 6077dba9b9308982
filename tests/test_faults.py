"""Faults: an interruption, a kill, a full disk, a damaged or hostile file, a diverging run, a second process.
Each trial provokes one and asserts the state it must leave: nothing lost, nothing unsafe, a message that names
the way on. `python tests/test_bad_input.py` counts how many are survived, with the bad inputs.
"""
from __future__ import annotations

import errno
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable
from unittest import mock

import pytest
import torch

from dcgan_lib.core import results, store
from dcgan_lib.data import load_dataset
from dcgan_lib.train import loop
from dcgan_lib.train.configs import ConditionalConfig
from dcgan_lib.train.loop import TrainConfig, TrainingDiverged, load_trained, train

CONFIG = TrainConfig(dataset="rooms", image_size=32, n_train=128, ngf=8, ndf=8, batch_size=32, epochs=2, n_fixed=16)
FAULTS: list[Callable[[Path], None]] = []


def fault(trial: Callable[[Path], None]) -> Callable[[Path], None]:
    """Register a fault trial: a function of a fresh folder that provokes the fault and asserts what survives."""
    FAULTS.append(trial)
    return trial


def survives(trial: Callable[[Path], None], tmp: Path) -> tuple[bool, str]:
    """Run one trial; (True, '') if the state it asserts held, else (False, what went wrong)."""
    try:
        trial(tmp)
    except BaseException as err:  # noqa: BLE001 - a tally counts every outcome
        return False, f"{type(err).__name__}: {str(err)[:300]}"
    return True, ""


def random_images(n: int = 128, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def states_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def same_run(a: loop.TrainResult, b: loop.TrainResult) -> bool:
    return (states_equal(a.generator.state_dict(), b.generator.state_dict()) and a.history == b.history
            and states_equal(a.discriminator.state_dict(), b.discriminator.state_dict()))


def step_breaking_at(n: int, how: Callable) -> Callable:
    """A training step that behaves until its n-th call, where `how(stats, G)` breaks something."""
    real_step, calls = loop.train_step, {"n": 0}

    def step(G, D, *rest):
        stats = real_step(G, D, *rest)
        calls["n"] += 1
        return how(stats, G) if calls["n"] >= n else stats
    return step


# ---- interruptions --------------------------------------------------------------------------------------------------
@fault
def fault_ctrl_c_between_epochs(tmp: Path) -> None:
    """Ctrl-C after an epoch: the resumed run is bit-identical to one never stopped."""
    straight = train(CONFIG, tmp / "straight", device="cpu", data=random_images(), progress=False)
    first = train(CONFIG, tmp / "resumed", device="cpu", data=random_images(), progress=False, stop_after_epoch=1)
    assert first.epochs_done == 1
    assert same_run(straight, train(CONFIG, tmp / "resumed", device="cpu", data=random_images(), progress=False))


@fault
def fault_ctrl_c_within_an_epoch(tmp: Path) -> None:
    """Ctrl-C in the middle of an epoch: resumed from the mid-epoch checkpoint, bit-identical."""
    straight = train(CONFIG, tmp / "straight", data=random_images(), progress=False)

    def interrupt(stats, G):
        raise KeyboardInterrupt

    with mock.patch.object(loop, "train_step", step_breaking_at(3, interrupt)):  # 4 steps an epoch
        try:
            train(CONFIG, tmp / "resumed", data=random_images(), progress=False, checkpoint_every=2)
            raise AssertionError("the interruption did not stop training")
        except KeyboardInterrupt:
            pass
    assert store.load(tmp / "resumed" / "checkpoint.pt")["step_in_epoch"] == 2
    assert same_run(straight, train(CONFIG, tmp / "resumed", data=random_images(), progress=False,
                                    checkpoint_every=2))


@fault
def fault_full_disk_at_a_checkpoint(tmp: Path) -> None:
    """The disk fills during a checkpoint: the message says so, the previous checkpoint is intact, and the run
    resumes from it bit-identically once there is room."""
    straight = train(CONFIG, tmp / "straight", data=random_images(), progress=False)
    train(CONFIG, tmp / "run", data=random_images(), progress=False, stop_after_epoch=1)
    full = RuntimeError("[enforce fail at inline_container.cc:626] . unexpected pos 64 vs 0")
    with mock.patch.object(torch, "save", side_effect=full):
        with pytest.raises(OSError, match="disk of .* is full.*was not written.*is intact.*Free some space") as err:
            train(CONFIG, tmp / "run", data=random_images(), progress=False)
    assert err.value.errno == errno.ENOSPC and store.load(tmp / "run" / "checkpoint.pt")["epoch"] == 1
    assert same_run(straight, train(CONFIG, tmp / "run", data=random_images(), progress=False))


# ---- saves that do not finish ---------------------------------------------------------------------------------------
KILLED_SAVE = """
import os, signal, sys
from dcgan_lib.core import store
def write(f):
    f.write(b"half a checkpoint")
    f.flush()
    os.kill(os.getpid(), signal.SIGKILL)
store.write_atomic(sys.argv[1], write)
"""


@fault
def fault_process_killed_while_saving(tmp: Path) -> None:
    """A process killed (SIGKILL) in the middle of a save: the previous file is intact, and its temporary file is
    removed by the next save."""
    path = tmp / "checkpoint.pt"
    store.save_atomic({"epoch": 1}, path)
    done = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(path)], capture_output=True)
    assert done.returncode == -signal.SIGKILL
    assert store.load(path) == {"epoch": 1} and len(list(tmp.glob(".checkpoint.pt.*.tmp"))) == 1
    store.save_atomic({"epoch": 2}, path)
    assert store.load(path) == {"epoch": 2} and [p.name for p in tmp.iterdir()] == ["checkpoint.pt"]


KILLED_RUN = """
import os, signal, sys, torch
from dcgan_lib.train import loop
from test_faults import CONFIG, random_images, step_breaking_at
def kill(stats, G):
    os.kill(os.getpid(), signal.SIGKILL)
loop.train_step = step_breaking_at(6, kill)       # the second epoch's second step: after a mid-epoch checkpoint
loop.train(CONFIG, sys.argv[1], data=random_images(), progress=False, checkpoint_every=1)
"""


@fault
def fault_process_killed_while_training(tmp: Path) -> None:
    """A training process killed (SIGKILL) mid-epoch: the run resumes from its last checkpoint, bit-identical
    to one never stopped."""
    straight = train(CONFIG, tmp / "straight", data=random_images(), progress=False, checkpoint_every=1)
    done = subprocess.run([sys.executable, "-c", KILLED_RUN, str(tmp / "killed")], capture_output=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)})
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-500:]
    assert store.load(tmp / "killed" / "checkpoint.pt")["epoch"] == 1
    assert same_run(straight, train(CONFIG, tmp / "killed", data=random_images(), progress=False,
                                    checkpoint_every=1))


@fault
def fault_temporaries_of_other_saves_are_left_alone(tmp: Path) -> None:
    """Cleaning up after killed saves removes only dead processes' temporaries of the same file."""
    dead = tmp / ".c.pt.999999999.x1.tmp"         # no process has this id
    alive = tmp / f".c.pt.{os.getppid()}.x2.tmp"  # a save still running in another process: kept
    other = tmp / ".d.pt.999999999.x3.tmp"        # another file's: not ours to touch
    for f in (dead, alive, other):
        f.write_bytes(b"half a checkpoint")
    store.save_atomic({"a": torch.ones(2)}, tmp / "c.pt")
    assert not dead.exists() and alive.exists() and other.exists()


@fault
def fault_an_object_that_cannot_be_saved(tmp: Path) -> None:
    """An error while pickling: the previous file is intact and no temporary file is left."""
    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("boom")

    store.save_atomic({"a": torch.ones(2)}, tmp / "c.pt")
    with pytest.raises(RuntimeError, match="boom"):
        store.save_atomic({"a": Unpicklable()}, tmp / "c.pt")
    assert torch.equal(store.load(tmp / "c.pt")["a"], torch.ones(2)) and [p.name for p in tmp.iterdir()] == ["c.pt"]


@fault
def fault_a_write_that_fails_half_way(tmp: Path) -> None:
    """A write that fails after some bytes (no space left): the old file is intact, no temporary is left."""
    def broken(f):
        f.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    store.save_atomic({"a": torch.zeros(1)}, tmp / "c.pt")
    with pytest.raises(OSError, match="disk of .* is full.*previous c.pt .* is intact"):
        store.write_atomic(tmp / "c.pt", broken)
    assert torch.equal(store.load(tmp / "c.pt")["a"], torch.zeros(1)) and [p.name for p in tmp.iterdir()] == ["c.pt"]


@fault
def fault_files_get_the_users_permissions(tmp: Path) -> None:
    """Checkpoints and records get the umask's permissions (0644), not mkstemp's private 0600, so a shared run
    folder works."""
    old = os.umask(0o022)
    try:
        store.save_atomic({"a": torch.ones(2)}, tmp / "c.pt")
        store.write_text_atomic("[]", tmp / "r.json")
    finally:
        os.umask(old)
    assert {(tmp / f).stat().st_mode & 0o777 for f in ("c.pt", "r.json")} == {0o644}


# ---- damaged and hostile files --------------------------------------------------------------------------------------
@fault
def fault_a_corrupt_checkpoint(tmp: Path) -> None:
    """A checkpoint that is not one, or is cut short: a message that names it and says to delete it."""
    (tmp / "junk.pt").write_bytes(b"not a checkpoint")
    store.save_atomic({"a": torch.ones(1000)}, tmp / "cut.pt")
    (tmp / "cut.pt").write_bytes((tmp / "cut.pt").read_bytes()[:2000])
    for name in ("junk.pt", "cut.pt"):
        with pytest.raises(RuntimeError, match=f"{name} could not be read.*Delete it"):
            store.load(tmp / name)


@fault
def fault_a_hostile_checkpoint_is_never_unpickled(tmp: Path) -> None:
    """A file whose pickle would run code when loaded is refused, and the code does not run."""
    marker = tmp / "pwned"
    torch.save({"x": _Hostile(str(marker))}, tmp / "evil.pt")
    with pytest.raises(RuntimeError, match="evil.pt could not be read.*not only weights.*never unpickled"):
        store.load(tmp / "evil.pt")
    assert not marker.exists()


class _Hostile:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


@fault
def fault_no_loading_path_unpickles(tmp: Path) -> None:
    """No module of the library and no chapter calls torch.load without weights_only=True (the declared torch
    2.2 to 2.5 default to unsafe loading)."""
    root = Path(__file__).parents[1]
    unsafe = [f"{path.relative_to(root)}: {call}"
              for path in [*root.glob("dcgan_lib/**/*.py"), *root.glob("book/*.ipynb")]
              for call in _calls(path.read_text().replace("\\n", " "), "torch.load(")
              if "weights_only=True" not in call]
    assert not unsafe, unsafe


def _calls(text: str, opening: str) -> list[str]:
    """Every call in `text` that starts with `opening`, up to its matching parenthesis."""
    found = []
    for match in re.finditer(re.escape(opening), text):
        depth, end = 1, match.end()
        while depth and end < len(text):
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            end += 1
        found.append(text[match.start():end])
    return found


@fault
def fault_a_missing_checkpoint(tmp: Path) -> None:
    """Loading a run that was never trained says to train first."""
    with pytest.raises(FileNotFoundError, match="No checkpoint at .*train first"):
        load_trained(tmp / "never")


@fault
def fault_a_damaged_generated_dataset_is_drawn_again(tmp: Path) -> None:
    """A generated dataset's file damaged on disk: the images are drawn again, the same as before."""
    first = load_dataset("rooms", 32, n=16, data_dir=tmp)
    (damaged,) = tmp.glob("generated/*/images.pt")
    damaged.write_bytes(b"garbage")
    assert torch.equal(load_dataset("rooms", 32, n=16, data_dir=tmp).images, first.images)


@fault
def fault_a_damaged_store_record(tmp: Path) -> None:
    """A store folder whose record (artefact.json) was damaged by hand: a message naming it and the fix."""
    store.load_or_train("things", Thing(), lambda f: 1, lambda f: 1, root=tmp)
    (store.artefact_dir("things", Thing(), root=tmp) / "artefact.json").write_text("{broken")
    with pytest.raises(ValueError, match="artefact.json could not be read.*delete the folder"):
        store.load_or_train("things", Thing(), lambda f: 1, lambda f: 1, root=tmp)


@fault
def fault_a_damaged_results_record(tmp: Path) -> None:
    """A chapter's record of figures damaged by hand: recording and reading name the file and the fix."""
    with mock.patch.dict(os.environ, {"DCGAN_RUNS_DIR": str(tmp)}):
        results.record("training", "fid", 1.0, profile="ci", dataset="rooms")
        (results.results_dir() / "training.json").write_text("[{")
        for attempt in (lambda: results.record("training", "fid", 2.0, profile="ci", dataset="rooms"),
                        results.load_all):
            with pytest.raises(ValueError, match="training.json could not be read.*delete it"):
                attempt()


@fault
def fault_a_store_folder_renamed_by_hand(tmp: Path) -> None:
    """A finished folder moved to another config's place is refused, never handed out as that config's model."""
    store.load_or_train("things", Thing(), lambda f: 1, lambda f: 1, root=tmp)
    store.artefact_dir("things", Thing(), root=tmp).rename(store.artefact_dir("things", Thing(size=5), root=tmp))
    with pytest.raises(ValueError, match="another config.*delete the folder"):
        store.load_or_train("things", Thing(size=5), lambda f: 1, lambda f: 1, root=tmp)


@dataclass(frozen=True)
class Thing:
    size: int = 4


# ---- runs that diverge ----------------------------------------------------------------------------------------------
def _nan(stats, G):
    return stats * float("nan")


@fault
def fault_a_loss_becomes_nan(tmp: Path) -> None:
    """A loss turns NaN: training stops, names the last good checkpoint, and that checkpoint is kept."""
    good = train(CONFIG, tmp, device="cpu", data=random_images(), progress=False, stop_after_epoch=1)
    with mock.patch.object(loop, "train_step", step_breaking_at(1, _nan)):
        with pytest.raises(TrainingDiverged, match=r"NaN or infinite.*last good checkpoint, 1 epochs and 4 steps"):
            train(CONFIG, tmp, device="cpu", data=random_images(), progress=False)
    state = store.load(tmp / "checkpoint.pt")
    assert state["epoch"] == 1 and states_equal(state["generator"], good.generator.state_dict())


@fault
def fault_a_run_diverges_before_its_first_checkpoint(tmp: Path) -> None:
    """Divergence before any checkpoint: the message says none was written (instead of claiming one is kept)."""
    with mock.patch.object(loop, "train_step", step_breaking_at(1, _nan)):
        with pytest.raises(TrainingDiverged, match="No checkpoint was written yet"):
            train(CONFIG, tmp, device="cpu", data=random_images(), progress=False)
    assert not (tmp / "checkpoint.pt").exists()


@fault
def fault_the_weights_become_infinite(tmp: Path) -> None:
    """An update makes the weights infinite while its losses were finite: no checkpoint of them is written."""
    good = train(CONFIG, tmp, device="cpu", data=random_images(), progress=False, stop_after_epoch=1)

    def poison(stats, G):
        with torch.no_grad():
            next(G.parameters()).fill_(float("inf"))
        return stats

    with mock.patch.object(loop, "train_step", step_breaking_at(4, poison)):  # the epoch's last update
        with pytest.raises(TrainingDiverged, match="weights became NaN or infinite.*last good checkpoint, 1 epochs"):
            train(CONFIG, tmp, device="cpu", data=random_images(), progress=False)
    assert states_equal(store.load(tmp / "checkpoint.pt")["generator"], good.generator.state_dict())


@fault
def fault_a_checkpoint_with_infinite_weights_is_not_sampled(tmp: Path) -> None:
    """A checkpoint that holds non-finite weights (written by another tool or an older version) is refused when
    loaded for sampling, instead of drawing NaN images."""
    train(CONFIG, tmp, device="cpu", data=random_images(), progress=False, stop_after_epoch=1)
    state = store.load(tmp / "checkpoint.pt")
    next(iter(state["generator"].values())).fill_(float("nan"))
    store.save_atomic(state, tmp / "checkpoint.pt")
    with pytest.raises(TrainingDiverged, match="checkpoint.pt holds NaN or infinite weights.*train again"):
        load_trained(tmp)


@fault
def fault_a_conditional_run_diverges(tmp: Path) -> None:
    """The conditional models stop with the same error as the unconditional ones."""
    digits = load_dataset("digits", 32, n=64, data_dir=tmp / "data")
    config = ConditionalConfig(dataset="digits", width=4, batch_size=16, epochs=1, n_fixed=10)
    with mock.patch.object(loop, "train_step", step_breaking_at(1, _nan)):
        with pytest.raises(TrainingDiverged, match="NaN or infinite.*No checkpoint was written yet"):
            train(config, tmp / "nan", data=digits, progress=False)


# ---- a second run, a second process ---------------------------------------------------------------------------------
@fault
def fault_resuming_with_another_config(tmp: Path) -> None:
    """A run folder resumed with another config is refused, and its checkpoint is left as it was."""
    train(CONFIG, tmp, device="cpu", data=random_images(), progress=False, stop_after_epoch=1)
    before = (tmp / "checkpoint.pt").read_bytes()
    with pytest.raises(ValueError, match="another config"):
        train(replace(CONFIG, lr=1e-3), tmp, device="cpu", data=random_images(), progress=False)
    assert (tmp / "checkpoint.pt").read_bytes() == before


@fault
def fault_an_interrupted_fit_is_not_taken_for_a_finished_one(tmp: Path) -> None:
    """An artefact whose making was interrupted is made again from what it left, never loaded half-made."""
    def interrupted(folder):
        (folder / "half.txt").write_text("partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.load_or_train("things", Thing(), lambda f: pytest.fail("nothing to build"), interrupted, root=tmp)
    resumed = store.load_or_train("things", Thing(), lambda f: pytest.fail("should fit"),
                                  lambda f: (f / "half.txt").read_text() + " then done", root=tmp)
    assert resumed == "partial then done"


@fault
def fault_two_askers_of_one_artefact(tmp: Path) -> None:
    """Two askers of one artefact at once: it is made once, and both get it."""
    fits, got = [], []

    def fit(folder):
        fits.append(1)
        time.sleep(0.5)                       # long enough for the second asker to arrive while this one works
        (folder / "value.txt").write_text("7")
        return 7

    def ask():
        got.append(store.load_or_train("things", Thing(), lambda f: int((f / "value.txt").read_text()), fit,
                                       root=tmp))

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fits == [1] and got == [7, 7]


@fault
def fault_a_store_folder_deleted_while_its_artefact_is_made(tmp: Path) -> None:
    """The store folder deleted mid-fit (the later files recreate it): never marked finished, made again next."""
    def fit_then_lose_the_folder(folder):
        (folder / "epoch1.txt").write_text("1")
        shutil.rmtree(folder)                 # the user deletes it while training goes on
        store.write_text_atomic("2", folder / "epoch2.txt")   # the next checkpoint makes the folder again
        return "partial"

    with pytest.raises(store.StoreFolderLost, match="deleted while .* Run again"):
        store.load_or_train("things", Thing(), lambda f: pytest.fail("nothing to build"), fit_then_lose_the_folder,
                            root=tmp)
    assert not any((tmp / "things").glob("*/" + store.FINISHED))
    again = store.load_or_train("things", Thing(), lambda f: pytest.fail("should fit"), lambda f: "whole", root=tmp)
    assert again == "whole"


@fault
def fault_two_runs_into_one_folder(tmp: Path) -> None:
    """A second run into a folder another process is training into is refused, naming it; the first's files stay."""
    first = train(CONFIG, tmp / "run", device="cpu", data=random_images(), progress=False, stop_after_epoch=1)
    before = (tmp / "run" / "checkpoint.pt").read_bytes()
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'a+'); "
                               "fcntl.flock(f, fcntl.LOCK_EX); f.write('4242'); f.flush(); print('held', flush=True);"
                               " time.sleep(60)", str(tmp / "run" / "writer.lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(store.RunInUse, match="in use: process .* is training into it"):
            train(CONFIG, tmp / "run", device="cpu", data=random_images(), progress=False, resume=False)
    finally:
        holder.kill()
        holder.wait()
    assert (tmp / "run" / "checkpoint.pt").read_bytes() == before and first.epochs_done == 1
    assert train(CONFIG, tmp / "run", device="cpu", data=random_images(), progress=False).epochs_done == 2


def _decoded_folder(tmp: Path):
    from real_fixtures import write_image_folder

    from dcgan_lib.data import decoded
    source = write_image_folder(tmp / "photos", per_class=3)
    return source, lambda: decoded("folder", 32, data_dir=source, progress=False, cache_root=tmp / "cache")


@fault
def fault_a_stale_decoded_cache(tmp: Path) -> None:
    """Images added three folders down with the folder's times restored (tar, rsync -t): decoded again."""
    source, images = _decoded_folder(tmp)
    before = len(images())
    deep = source / "cats" / "2019" / "june"
    times = (source / "cats").stat().st_atime_ns, (source / "cats").stat().st_mtime_ns
    deep.mkdir(parents=True)
    shutil.copy(next((source / "dogs").glob("*.png")), deep / "new.png")
    os.utime(source / "cats", ns=times)
    assert len(images()) == before + 1


@fault
def fault_a_damaged_decoded_cache(tmp: Path) -> None:
    """The decoded images file zeroed in place: found by its checksum and decoded again, never trained as black."""
    from dcgan_lib.data.decode_once import IMAGES_FILE
    _, images = _decoded_folder(tmp)
    first = images().images.clone()
    path = next((tmp / "cache").rglob(IMAGES_FILE))
    path.write_bytes(bytes(path.stat().st_size))
    assert torch.equal(images().images, first)


# ---- the test: after every trial is registered ----------------------------------------------------------------------
@pytest.mark.parametrize("trial", FAULTS, ids=[t.__name__ for t in FAULTS])
def test_a_fault_is_survived(trial, tmp_cache):
    (tmp_cache / "work").mkdir()
    trial(tmp_cache / "work")
