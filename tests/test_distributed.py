"""Data-parallel training (dcgan_lib.train.distributed) on the CPU: two Gloo processes against one.

What is honestly comparable. DDP averages gradients, so two processes with half the batch each compute the
step of one process on the whole batch *except for BatchNorm*: each process normalises with the statistics of
its own half (the paper's per-GPU BatchNorm; SyncBatchNorm, which would remove the difference, is CUDA-only in
PyTorch). The single-process reference is therefore the library's loop with a step that runs G and D on each
half of the batch separately and averages the losses (`half_batch_step` below). Same weights, data order and
noise: the learned *parameters* must agree to float32 rounding: relative difference ||a - b|| / ||a|| over all of
G's and D's parameters below TOLERANCE = 1e-4 (measured 4e-7 to 2e-6 after 4 steps, depending on the threads;
the largest single difference was 8e-6 on weights of size ~0.02).
The runs are 4 steps long (2 epochs of 2 batches) because the game amplifies rounding: Adam divides each
gradient by its own running size, so a parameter with a near-zero gradient can take a step of either sign, and
after 8 steps the same comparison showed 0.7% relative differences in a few BatchNorm biases. BatchNorm's
running statistics are left out: DDP keeps process 0's, the reference updates them once per half. A plain
one-process run with BatchNorm over the whole batch is shown to differ by far more than TOLERANCE, so the
comparison can fail.

The two-process runs are started once per module (starting Python processes that import torch takes seconds).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from dcgan_lib.core import store
from dcgan_lib.core.runtime import frozen
from dcgan_lib.tooling.launch import check_args, parser
from dcgan_lib.train import loop as training
from dcgan_lib.train.distributed import World, spawn
from dcgan_lib.train.loop import TrainConfig, train

CONFIG = TrainConfig(dataset="rooms", image_size=32, n_train=64, ngf=8, ndf=8, batch_size=32, epochs=2, n_fixed=4)
TOLERANCE = 1e-4  # largest ||a - b|| / ||a|| allowed over all parameters of G and D together
ROOT = Path(__file__).resolve().parents[1]


def random_images(n=64, seed=0):
    return torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------------------------------------------------
# Sharding: the same global batches whatever the number of processes
# --------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [1, 2, 4])
def test_the_shares_of_all_processes_make_up_each_global_batch(size):
    order = torch.randperm(100, generator=torch.Generator().manual_seed(0))
    shards = [World(rank, size).shard(order, 16) for rank in range(size)]
    for step in range(100 // 16):
        pieces = [s[step * 16 // size:(step + 1) * 16 // size] for s in shards]
        assert torch.equal(torch.cat(pieces), order[step * 16:(step + 1) * 16])
    z = torch.arange(16.0)
    assert torch.equal(torch.cat([World(rank, size).part(z) for rank in range(size)]), z)


def test_a_batch_that_does_not_split_evenly_is_refused():
    with pytest.raises(ValueError, match="multiple of 3"):
        World(0, 3).local_batch(32)


# --------------------------------------------------------------------------------------------------------------------
# The runs: in two processes, once for the module
# --------------------------------------------------------------------------------------------------------------------
def _two_process_runs(out: str, data: torch.Tensor) -> None:
    """In each of two processes: an uninterrupted run, and one stopped after an epoch, copied, then resumed."""
    out = Path(out)
    world = World.current()
    writes = []
    save_atomic, save_grid = store.save_atomic, training.save_sample_grid
    store.save_atomic = lambda obj, path: (writes.append(str(path)), save_atomic(obj, path))[1]
    training.save_sample_grid = lambda G, z, path, labels=None: (writes.append(str(path)),
                                                                 save_grid(G, z, path, labels))[1]
    train(CONFIG, out / "straight", device="cpu", data=data, progress=False)
    train(CONFIG, out / "resumed", device="cpu", data=data, progress=False, stop_after_epoch=1)
    if world.is_main:
        shutil.copytree(out / "resumed", out / "stopped")  # to resume elsewhere, on another number of processes
    world.barrier()
    train(CONFIG, out / "resumed", device="cpu", data=data, progress=False)
    (out / f"writes_rank{world.rank}.txt").write_text("\n".join(writes))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    spawn(2, _two_process_runs, str(out), random_images(), timeout_s=120)
    return out


def half_batch_step(G, D, opt_g, opt_d, real, z, autocast, parts=2):
    """train_step, but G and D see the batch in `parts` pieces, each with its own BatchNorm statistics, and the
    losses are averaged: what `parts` DDP processes compute between them."""
    bce = F.binary_cross_entropy_with_logits
    fakes = [G(piece) for piece in z.chunk(parts)]
    logits = [(D(r), D(f.detach())) for r, f in zip(real.chunk(parts), fakes)]
    loss_d = sum(bce(lr, torch.ones_like(lr)) + bce(lf, torch.zeros_like(lf)) for lr, lf in logits) / parts
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    with frozen(D):
        gen = [D(f) for f in fakes]
        loss_g = sum(bce(lg, torch.ones_like(lg)) for lg in gen) / parts
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
    opt_g.step()
    d_real = sum(lr.sigmoid().mean() for lr, _ in logits) / parts
    d_fake = sum(lf.sigmoid().mean() for _, lf in logits) / parts
    return torch.stack([loss_d, loss_g, d_real, d_fake]).detach().float()


def parameters(run_dir: Path) -> dict[str, torch.Tensor]:
    """The learned parameters (not BatchNorm's running statistics) of G and D in a run's checkpoint."""
    state = store.load(run_dir / "checkpoint.pt")
    keep = lambda k: not k.endswith(("running_mean", "running_var", "num_batches_tracked"))  # noqa: E731
    return {f"{net}.{k}": v for net in ("generator", "discriminator") for k, v in state[net].items() if keep(k)}


def relative_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    """||a - b|| / ||a|| over all the tensors together."""
    assert a.keys() == b.keys()
    x, y = torch.cat([a[k].flatten() for k in a]), torch.cat([b[k].flatten() for k in a])
    return ((x - y).norm() / x.norm()).item()


@pytest.mark.timeout(600)
def test_two_processes_match_one_process_with_the_same_global_batch(runs, tmp_path, monkeypatch):
    plain = train(CONFIG, tmp_path / "plain", device="cpu", data=random_images(), progress=False)
    monkeypatch.setattr(training, "train_step", half_batch_step)
    halves = train(CONFIG, tmp_path / "halves", device="cpu", data=random_images(), progress=False)
    ddp = parameters(runs / "straight")
    assert store.load(runs / "straight" / "checkpoint.pt")["step"] == 4
    same = relative_difference(ddp, parameters(tmp_path / "halves"))
    other = relative_difference(ddp, parameters(tmp_path / "plain"))
    print(f"two processes vs one: {same:.1e} with BatchNorm per half-batch, {other:.1e} over the whole batch")
    assert same < TOLERANCE
    assert other > 10 * TOLERANCE  # BatchNorm per half-batch matters (measured 5.6e-3)
    history = store.load(runs / "straight" / "checkpoint.pt")["history"]
    assert torch.allclose(torch.tensor(history["loss_d"]), torch.tensor(halves.history["loss_d"]), atol=1e-5)
    assert len(plain.history["loss_d"]) == 4


@pytest.mark.timeout(600)
def test_a_resumed_two_process_run_continues_bit_for_bit(runs):
    straight = store.load(runs / "straight" / "checkpoint.pt")
    resumed = store.load(runs / "resumed" / "checkpoint.pt")
    assert store.load(runs / "stopped" / "checkpoint.pt")["epoch"] == 1
    for net in ("generator", "discriminator", "opt_g", "opt_d"):
        if net.startswith("opt"):
            a, b = straight[net]["state"], resumed[net]["state"]
            assert all(torch.equal(a[i][k], b[i][k]) for i in a for k in a[i])
        else:
            assert all(torch.equal(straight[net][k], resumed[net][k]) for k in straight[net])
    assert straight["history"] == resumed["history"]


@pytest.mark.timeout(600)
def test_a_two_process_checkpoint_resumes_on_one_process(runs, tmp_path, monkeypatch):
    """Stopped after epoch 1 on two processes, finished on one: with the half-batch step (the two processes'
    BatchNorm) it ends where the uninterrupted two-process run ends; with the plain step it simply goes on."""
    shutil.copytree(runs / "stopped", tmp_path / "plain")
    plain = train(CONFIG, tmp_path / "plain", device="cpu", data=random_images(), progress=False)
    assert plain.epochs_done == 2 and len(plain.history["loss_d"]) == 4
    assert all(torch.isfinite(torch.tensor(plain.history["loss_g"])))
    shutil.copytree(runs / "stopped", tmp_path / "halves")
    monkeypatch.setattr(training, "train_step", half_batch_step)
    train(CONFIG, tmp_path / "halves", device="cpu", data=random_images(), progress=False)
    assert relative_difference(parameters(runs / "straight"), parameters(tmp_path / "halves")) < TOLERANCE


@pytest.mark.timeout(600)
def test_only_process_zero_writes_files(runs):
    written = (runs / "writes_rank0.txt").read_text().splitlines()
    assert (runs / "writes_rank1.txt").read_text() == ""
    names = {Path(p).name for p in written}
    assert {"checkpoint.pt", "generator_epoch000.pt", "generator_epoch002.pt", "samples_epoch002.png"} <= names
    assert sorted(p.name for p in (runs / "straight").iterdir() if p.name.startswith(".")) == []  # no temp files


# --------------------------------------------------------------------------------------------------------------------
# The command line, through torchrun
# --------------------------------------------------------------------------------------------------------------------
def cli(*args: str) -> list[str]:
    return ["--profile", "ci", "--model", "digits", "--n-train", "128", "--batch-size", "32", "--epochs", "2",
            "--device", "cpu", "--quiet", *args]


@pytest.mark.timeout(600)
def test_torchrun_resumes_a_one_process_run_on_two_processes(tmp_cache):
    run_dir = tmp_cache / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    alone = subprocess.run([sys.executable, "-m", "dcgan_lib.tooling.launch", *cli("--run-dir", str(run_dir),
                            "--stop-after-epoch", "1")], capture_output=True, text=True, env=env, timeout=300)
    assert alone.returncode == 0, alone.stderr
    assert "1 process(es) × 32 images = global batch 32" in alone.stdout
    assert store.load(run_dir / "checkpoint.pt")["epoch"] == 1
    launched = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                               "-m", "dcgan_lib.tooling.launch", *cli("--run-dir", str(run_dir))],
                              capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    assert launched.returncode == 0, launched.stderr[-3000:]
    assert "2 process(es) × 16 images = global batch 32" in launched.stdout
    state = store.load(run_dir / "checkpoint.pt")
    assert state["epoch"] == 2 and state["step"] == 8
    assert all(torch.isfinite(v).all() for v in state["generator"].values())


@pytest.mark.parametrize("args, message", [
    (["--batch-size", "33"], "multiple of 2"),
    (["--sync-batchnorm", "--device", "cpu"], "SyncBatchNorm"),
    (["--dataset", "bedrooms"], "Unknown --dataset"),
    (["--epochs", "0"], "--epochs must be a positive"),
])
def test_bad_arguments_are_refused_before_any_work(args, message, monkeypatch, capsys):
    from dcgan_lib.tooling.launch import main

    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(SystemExit):
        main(["--profile", "ci", *args])
    assert message in capsys.readouterr().err


def test_the_parser_documents_the_global_batch():
    assert "GLOBAL batch" in parser().format_help()
    check_args(parser().parse_args(["--profile", "ci"]), world_size=2)  # good arguments pass


# --------------------------------------------------------------------------------------------------------------------
# The conditional models go through the same data-parallel loop
# --------------------------------------------------------------------------------------------------------------------
def _conditional_runs(out: str) -> None:
    """In each of two processes: the conditional model trained on its share of every batch, with the labels."""
    from dcgan_lib.data import ImageDataset
    from dcgan_lib.train.configs import ConditionalConfig

    config = ConditionalConfig(dataset="random", n_train=64, width=4, batch_size=16, epochs=1, n_fixed=10)
    images = torch.randint(0, 256, (64, 1, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    data = ImageDataset("random", images, labels=torch.arange(64) % 10)
    result = train(config, Path(out) / "conditional", device="cpu", data=data, progress=False)
    weights = torch.cat([p.detach().flatten() for p in result.generator.parameters()])
    torch.save(weights, Path(out) / f"weights{World.current().rank}.pt")


@pytest.mark.timeout(600)
def test_a_conditional_model_trains_data_parallel_with_its_labels(tmp_path):
    spawn(2, _conditional_runs, str(tmp_path), timeout_s=120)
    first, second = (torch.load(tmp_path / f"weights{rank}.pt", weights_only=True) for rank in (0, 1))
    assert torch.equal(first, second)                                             # DDP kept the replicas equal
    state = store.load(tmp_path / "conditional" / "checkpoint.pt")
    assert state["epoch"] == 1 and state["step"] == 4 and state["config"]["type"] == "ConditionalConfig"
    assert all(torch.isfinite(torch.tensor(state["history"]["loss_d"])))
