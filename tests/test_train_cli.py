"""`dcgan-train`: a DCGAN on a user's folder of images or a real-format dataset, with checkpoints and samples."""
import subprocess
import sys

import pytest
from real_fixtures import write_image_folder, write_mnist

from dcgan_lib.core import store
from dcgan_lib.tooling.data_cli import main as data_main
from dcgan_lib.tooling.train_cli import main

TINY = ["--size", "32", "--ngf", "8", "--ndf", "8", "--batch-size", "4", "--quiet"]

pytestmark = pytest.mark.usefixtures("tmp_cache")   # decoded files and runs in a temporary folder


def test_a_users_mixed_size_photos_train_resume_and_leave_samples(tmp_path, capsys):
    photos = write_image_folder(tmp_path / "my photos", per_class=4)
    run = tmp_path / "run"
    assert main(["--data", str(photos), "--epochs", "2", "--out", str(run), *TINY]) == 0
    assert (run / "samples_epoch001.png").is_file() and (run / "samples_epoch002.png").is_file()
    state = store.load(run / "checkpoint.pt")
    assert state["epoch"] == 2 and len(state["history"]["loss_d"]) == 2 * 1   # 5 images, batches of 4
    out = capsys.readouterr().out                                     # 8 photos, 3 held out for measuring
    assert "folder: 5 training images" in out and "3 of 8 images (about 10%, chosen by file name) are held out" in out
    assert main(["--data", str(photos), "--epochs", "2", "--out", str(run), *TINY]) == 0   # finished: nothing to do
    assert store.load(run / "checkpoint.pt")["history"] == state["history"]
    assert main(["--data", str(photos), "--epochs", "2", "--seed", "1", "--out", str(run), *TINY]) == 2
    err = capsys.readouterr().err
    assert "other options (--seed 1 here, 0 in the run)" in err and "--fresh" in err and "resume=False" not in err
    assert main(["--data", str(photos), "--epochs", "3", "--out", str(run), *TINY]) == 0   # more epochs: extended
    extended = store.load(run / "checkpoint.pt")
    assert extended["epoch"] == 3 and extended["history"]["loss_d"][:2] == state["history"]["loss_d"]
    assert main(["--data", str(photos), "--epochs", "2", "--out", str(run), *TINY]) == 2     # fewer: refused
    assert "--epochs 2 here, 3 in the run" in capsys.readouterr().err


def test_ctrl_c_says_how_far_the_run_got_and_how_to_resume(tmp_path, capsys, monkeypatch):
    from dcgan_lib.tooling import train_cli

    photos = write_image_folder(tmp_path / "photos", per_class=4)
    run = tmp_path / "run"
    assert main(["--data", str(photos), "--epochs", "1", "--out", str(run), *TINY]) == 0

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(train_cli, "train", interrupted)
    handlers = []
    monkeypatch.setattr(train_cli.signal, "signal", lambda signum, handler: handlers.append((signum, handler)))
    assert main(["--data", str(photos), "--epochs", "4", "--out", str(run), *TINY]) == 130
    assert "stopped after epoch 1 of 1: run the same command to resume" in capsys.readouterr().err
    assert handlers == [(train_cli.signal.SIGINT, train_cli.signal.SIG_IGN)]   # a second Ctrl-C: no traceback


def test_an_empty_data_option_or_a_name_that_is_also_a_folder_is_refused(tmp_path, capsys, monkeypatch):
    assert main(["--data", "", *TINY]) == 2
    assert "--data is empty" in capsys.readouterr().err
    (tmp_path / "digits").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["--data", "digits", *TINY]) == 2
    assert "both a dataset name and a folder here: write --data ./digits" in capsys.readouterr().err


def test_a_named_dataset_from_its_folder_in_torchvision_layout(tmp_path):
    write_mnist(tmp_path / "datasets", n_train=8)
    run = tmp_path / "mnist-run"
    assert main(["--data", "mnist", "--data-root", str(tmp_path / "datasets"), "--epochs", "1",
                 "--out", str(run), *TINY]) == 0
    assert store.load(run / "checkpoint.pt")["config"]["nc"] == 1


def test_the_console_script_lists_every_option_and_refuses_bad_ones(tmp_path):
    helped = subprocess.run([sys.executable, "-m", "dcgan_lib.tooling.train_cli", "--help"], capture_output=True,
                            text=True)
    assert helped.returncode == 0 and all(f"--{o}" in helped.stdout for o in ("data", "size", "epochs", "out",
                                                                               "checkpoint-every", "fresh"))
    assert "SUPPRESS" not in helped.stdout
    refused = subprocess.run([sys.executable, "-m", "dcgan_lib.tooling.train_cli", "--data", str(tmp_path / "no"),
                              "--out", str(tmp_path / "run")], capture_output=True, text=True)
    assert refused.returncode == 2 and "neither a folder" in refused.stderr and not (tmp_path / "run").exists()


def test_dcgan_data_checks_a_folder_and_names_what_is_missing(tmp_path, capsys):
    write_mnist(tmp_path / "datasets", n_train=8, n_test=4)
    assert data_main(["check", "mnist", "--root", str(tmp_path / "datasets")]) == 0
    assert "mnist: 8 train, 4 test images, every one decoded at 64×64, in" in capsys.readouterr().out
    assert data_main(["check", "cifar10", "--root", str(tmp_path / "datasets")]) == 2
    err = capsys.readouterr().err
    assert "cifar-10-batches-py/data_batch_1 not found" in err and "with dcgan-data get" in err
    assert "download=True" not in err and "data_dir=" not in err               # this command's words
    assert data_main(["get", "lsun", "--root", str(tmp_path / "datasets")]) == 2
    assert "github.com/fyu/lsun" in capsys.readouterr().err
    assert data_main(["check", "rooms"]) == 2
    assert "not a real dataset" in capsys.readouterr().err


def test_a_second_run_into_a_folder_in_use_is_refused_and_fresh_leaves_no_old_epochs(tmp_path, capsys):
    import os

    photos = write_image_folder(tmp_path / "photos", per_class=4)
    run = tmp_path / "run"
    assert main(["--data", str(photos), "--epochs", "2", "--out", str(run), *TINY]) == 0
    assert (run / "generator_epoch002.pt").exists()
    with store.sole_writer(run):   # as a first run still training would hold it
        assert main(["--data", str(photos), "--epochs", "3", "--out", str(run), *TINY]) == 2
    assert f"is in use: process {os.getpid()} is training into it" in capsys.readouterr().err
    assert store.load(run / "checkpoint.pt")["epoch"] == 2                 # nothing written by the refused run
    assert main(["--data", str(photos), "--epochs", "1", "--fresh", "--out", str(run), *TINY]) == 0
    assert not (run / "generator_epoch002.pt").exists() and not (run / "samples_epoch002.png").exists()
    assert store.load(run / "checkpoint.pt")["epoch"] == 1


def test_dcgan_data_check_decodes_every_file_and_lists_the_bad_ones(tmp_path, capsys):
    photos = write_image_folder(tmp_path / "photos", per_class=4)
    assert data_main(["check", "folder", "--root", str(photos), "--quiet"]) == 0
    assert "every one decoded" in capsys.readouterr().out
    bad = next(photos.rglob("*.jpg")).parent
    (bad / "notes.jpg").write_text("a text file named like a picture")
    (bad / "cut.png").write_bytes(next(photos.rglob("*.png")).read_bytes()[:60])     # truncated
    (bad / "empty.png").write_bytes(b"")
    assert data_main(["check", "folder", "--root", str(photos), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "3 of the 11 images (train and test) of folder" in err
    assert all(name in err for name in ("notes.jpg", "cut.png", "empty.png"))


def test_dcgan_data_checks_at_the_size_training_will_use(tmp_path, capsys):
    """Images of 20×20 train at --size 32 but are refused at 64: the check says so before training does."""
    from PIL import Image

    photos = tmp_path / "icons"
    photos.mkdir()
    for i in range(12):
        Image.new("RGB", (20, 20), (20 * i, 100, 0)).save(photos / f"icon{i}.png")
    assert data_main(["check", "folder", "--root", str(photos), "--quiet"]) == 2      # dcgan-train's default 64
    err = capsys.readouterr().err
    assert "icon" in err and "20×20" in err and "at a smaller --size" in err and "image_size" not in err
    assert data_main(["check", "folder", "--root", str(photos), "--quiet", "--size", "32"]) == 0
    assert "decoded at 32×32" in capsys.readouterr().out


def test_a_small_folder_gets_a_batch_and_epochs_that_fit_it_and_says_so(tmp_path, capsys):
    from dcgan_lib.tooling.train_cli import schedule

    assert schedule(202_599, None, None)[:2] == (128, 5) and schedule(60_000, None, None)[2] == ""   # the paper's
    batch, epochs, note = schedule(400, None, None)
    assert batch == 16 and (400 // batch) * epochs >= 1500 and "--batch-size 16 and --epochs" in note
    assert schedule(400, 32, 3) == (32, 3, "")                                        # what the user typed stays
    assert schedule(5, None, None)[0] == 5                                            # never more than the images
    run = tmp_path / "run"
    assert main(["--data", "digits", "--n-images", "64", "--size", "32", "--ngf", "8", "--ndf", "8", "--quiet",
                 "--epochs", "20", "--out", str(run)]) == 0
    assert "chose --batch-size 16 for 64 images (80 steps)" in capsys.readouterr().out
    kept = sorted(p.name for p in run.glob("generator_epoch*.pt"))                    # about ten, and the last
    assert len(kept) == 11 and kept[0] == "generator_epoch000.pt" and kept[-1] == "generator_epoch020.pt"
    assert len(list(run.glob("samples_epoch*.png"))) == 20                            # a grid after every epoch


def test_a_device_that_is_not_here_is_refused_before_the_data_is_read(tmp_path, capsys, monkeypatch):
    from dcgan_lib.tooling import train_cli

    monkeypatch.setattr(train_cli, "decoded", lambda *a, **k: pytest.fail("the data was read"))
    for device, said in (("cuda", "no CUDA GPU"), ("gpu", "not a device name"), ("tpu", "not a device name")):
        assert main(["--data", "digits", "--device", device, "--out", str(tmp_path / "r"), *TINY]) == 2
        err = capsys.readouterr().err
        assert f"--device {device}: " in err and said in err and "Leave --device out" in err


def test_an_unexpected_error_is_one_line_unless_debug_asks(tmp_path, capsys, monkeypatch):
    from dcgan_lib.tooling import train_cli

    def broken(*args, **kwargs):
        raise OSError("something odd happened\nwith a second line")

    monkeypatch.setattr(train_cli, "train", broken)
    command = ["--data", "digits", "--epochs", "1", "--out", str(tmp_path / "r"), *TINY]
    assert main(command) == 1
    err = capsys.readouterr().err
    assert err.strip() == ("error: OSError: something odd happened with a second line (run again with --debug for "
                           "the details)")   # the whole message, on one line
    with pytest.raises(OSError, match="something odd"):
        main([*command, "--debug"])


def test_a_resumed_run_says_where_it_resumes(tmp_path, capsys):
    command = ["--data", "digits", "--n-images", "32", "--out", str(tmp_path / "r"), *TINY]
    assert main([*command, "--epochs", "1"]) == 0
    capsys.readouterr()
    assert main([*command, "--epochs", "2"]) == 0
    out = capsys.readouterr().out
    assert "resuming the run in" in out and "after epoch 1 of 1" in out


def test_two_folders_of_one_name_never_share_a_run(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)                                      # the default --out: runs/<folder name>
    first = write_image_folder(tmp_path / "a" / "photos", per_class=4)
    other = write_image_folder(tmp_path / "b" / "photos", per_class=4, seed=1)
    assert main(["--data", str(first), "--epochs", "1", *TINY]) == 0
    before = store.load(tmp_path / "runs" / "photos" / "checkpoint.pt")["history"]
    assert main(["--data", str(other), "--epochs", "2", *TINY]) == 2
    err = capsys.readouterr().err
    assert f"holds a run trained on {first.resolve()}, not on {other.resolve()}" in err and "--fresh" in err
    assert store.load(tmp_path / "runs" / "photos" / "checkpoint.pt")["history"] == before   # untouched


def test_a_batch_larger_than_the_data_is_refused_before_anything_is_deleted(tmp_path, capsys):
    photos = write_image_folder(tmp_path / "photos", per_class=4)   # 5 training images
    run = tmp_path / "run"
    assert main(["--data", str(photos), "--epochs", "1", "--out", str(run), *TINY]) == 0
    kept = sorted(p.name for p in run.iterdir())
    assert main(["--data", str(photos), "--out", str(run), "--fresh", *TINY[:-3], "--batch-size", "64",
                 "--quiet"]) == 2
    assert "--batch-size 64 is more than the 5 training images: pass --batch-size 5 or less" in \
        capsys.readouterr().err
    assert sorted(p.name for p in run.iterdir()) == kept


def test_a_bad_image_read_in_a_worker_is_one_line_in_the_tools_words(tmp_path, capsys):
    photos = write_image_folder(tmp_path / "photos", per_class=4)
    (photos / "cats" / "0.png").write_bytes(b"")                         # a 0-byte picture, decoded by a worker
    assert main(["--data", str(photos), "--epochs", "1", "--out", str(tmp_path / "run"), *TINY]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "0.png" in err and "Traceback" not in err and len(err.splitlines()) <= 2


def test_dcgan_data_check_celeba_names_a_missing_attribute_table(tmp_path, capsys):
    from real_fixtures import write_celeba

    write_celeba(tmp_path, n=40)
    assert data_main(["check", "celeba", "--root", str(tmp_path), "--quiet"]) == 0
    (tmp_path / "celeba" / "list_attr_celeba.txt").unlink()
    assert data_main(["check", "celeba", "--root", str(tmp_path), "--quiet"]) == 2
    assert "list_attr_celeba.txt: missing (chapter 06's faces judge reads it)" in capsys.readouterr().err


def test_a_second_run_into_a_folder_in_use_changes_nothing_there(tmp_cache, tmp_path, capsys):
    """While one process trains into --out, a second command into it (other data, --fresh) is refused before it
    writes anything there: the run's record of its data stays the first run's."""
    first, other, out = tmp_path / "first", tmp_path / "other", tmp_path / "run"
    write_image_folder(first, per_class=10)
    write_image_folder(other, per_class=10, seed=1)
    out.mkdir()
    (out / "data.json").write_text('{"data": "the first run"}\n')
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pathlib import Path; "
                               "from dcgan_lib.core import store\nwith store.sole_writer(Path(sys.argv[1])):\n"
                               "    print('held', flush=True); time.sleep(60)", str(out)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        status = main(["--data", str(other), "--size", "32", "--ngf", "8", "--ndf", "8", "--epochs", "1",
                       "--batch-size", "4", "--fresh", "--quiet", "--out", str(out)])
    finally:
        holder.kill()
        holder.wait()
    assert status == 2 and "is in use: process" in capsys.readouterr().err
    assert (out / "data.json").read_text() == '{"data": "the first run"}\n'


def test_a_run_follows_its_images_when_they_move_and_says_when_they_changed(tmp_path, capsys):
    """Probe B07/B09: the same files in another folder resume the run, with a line that says so; images added
    since the run began are named in a note (the record then describes the new set), never taken in silently."""
    photos, run = write_image_folder(tmp_path / "photos", per_class=6), tmp_path / "run"
    assert main(["--data", str(photos), "--epochs", "1", "--out", str(run), *TINY]) == 0
    moved = photos.rename(tmp_path / "moved")
    assert main(["--data", str(moved), "--epochs", "2", "--out", str(run), *TINY]) == 0
    assert f"moved from {photos.resolve()} to {moved.resolve()} (the same files)" in capsys.readouterr().out
    write_image_folder(tmp_path / "more", per_class=6, seed=3).rename(moved / "more")
    assert main(["--data", str(moved), "--epochs", "3", "--out", str(run), *TINY]) == 0
    out = capsys.readouterr().out
    assert f"note: {moved.resolve()} changed since this run began" in out and "--fresh starts over" in out
    assert main(["--data", str(moved), "--epochs", "3", "--out", str(run), *TINY]) == 0
    assert "changed since" not in capsys.readouterr().out          # recorded: said once


def test_other_options_are_refused_before_the_runs_record_changes(tmp_path, capsys):
    """A resume with another --n-images is refused in the options' words ("all" for one left out), and the run's
    data.json is left as it was; a larger --epochs is not named as a difference."""
    photos, run = write_image_folder(tmp_path / "photos", per_class=6), tmp_path / "run"
    assert main(["--data", str(photos), "--epochs", "1", "--n-images", "8", "--out", str(run), *TINY]) == 0
    record = (run / "data.json").read_text()
    write_image_folder(tmp_path / "more", per_class=3, seed=3).rename(photos / "more")
    assert main(["--data", str(photos), "--epochs", "2", "--out", str(run), *TINY]) == 2
    err = capsys.readouterr().err
    assert "(--n-images all here, 8 in the run)" in err and "--epochs" not in err.split("):")[0]
    assert (run / "data.json").read_text() == record


def test_a_network_that_cannot_fit_in_memory_is_refused_before_training(tmp_path, capsys, monkeypatch):
    """Probe O07: a width that needs tens of gigabytes is refused with the estimate and the fix, and leaves no
    run folder; the estimate is of the weights, Adam's state and a batch's activations."""
    from dcgan_lib.tooling import train_cli
    from dcgan_lib.train.configs import TrainConfig, training_memory

    small = TrainConfig(dataset="rooms", image_size=32, nc=3, ngf=8, ndf=8, batch_size=4)
    assert 0 < training_memory(small) < 10 ** 7 < training_memory(TrainConfig(
        dataset="rooms", image_size=32, nc=3, ngf=4096, ndf=8, batch_size=4))
    monkeypatch.setattr(train_cli, "free_memory", lambda device: 2 * 10 ** 9)
    photos = write_image_folder(tmp_path / "photos", per_class=4)
    argv = ["--data", str(photos), "--out", str(tmp_path / "run"), "--size", "32", "--ngf", "4096", "--ndf", "8",
            "--batch-size", "4", "--quiet", "--epochs", "1"]
    assert main(argv) == 2
    assert "--ngf 4096 --ndf 8 at --size 32 with --batch-size 4 need about 43.5 GB to train, and 2.0 GB is free" \
        in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_download_into_a_data_root_that_is_not_there_yet_makes_it(tmp_path, monkeypatch):
    """Probe O09: --download with a new --data-root is what a first download looks like: the folder is made."""
    from dcgan_lib.tooling.train_cli import check_args, parser

    root = tmp_path / "datasets"
    check_args(parser().parse_args(["--data", "mnist", "--data-root", str(root), "--download"]))
    write_mnist(root)
    assert main(["--data", "mnist", "--data-root", str(root), "--download", "--epochs", "1", "--n-images", "8",
                 "--out", str(tmp_path / "run"), *TINY]) == 0
    new_root = tmp_path / "new"
    monkeypatch.setattr("dcgan_lib.tooling.train_cli.decoded", lambda *a, **k: (_ for _ in ()).throw(
        ValueError("offline")))
    main(["--data", "mnist", "--data-root", str(new_root), "--download", "--out", str(tmp_path / "r2"), *TINY])
    assert new_root.is_dir()


def test_ctrl_c_while_the_library_loads_is_one_line(capsys, monkeypatch):
    """Probe 3 B07: the console scripts catch a Ctrl-C raised inside `import torch`, before any work."""
    from dcgan_lib.tooling import entry

    def interrupted(name):
        raise KeyboardInterrupt

    monkeypatch.setattr(entry.importlib, "import_module", interrupted)
    assert entry.train() == 130 and entry.data() == 130
    assert capsys.readouterr().err.count("stopped while starting, before any work") == 2
