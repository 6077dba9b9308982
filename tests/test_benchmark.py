"""The throughput benchmark (benchmarks/train_throughput.py) and the code behind it (dcgan_lib.analysis.speed)."""
import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch

from dcgan_lib.analysis import speed
from dcgan_lib.models import Discriminator, Generator
from dcgan_lib.train.loop import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
TINY = TrainConfig(image_size=32, ngf=8, ndf=8, batch_size=8)


def load_benchmark():
    spec = importlib.util.spec_from_file_location("train_throughput", ROOT / "benchmarks" / "train_throughput.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def conv_flops(batch, c_in, c_out, kernel, spatial):
    """2 FLOPs per multiply-add: every one of `spatial` positions multiplies c_in*kernel² inputs into c_out maps.
    (For a transposed convolution the positions are the input's, for an ordinary one the output's.)"""
    return 2 * batch * c_in * c_out * kernel * kernel * spatial


def hand_count(b, nz=100, width=8, nc=3):
    """FLOPs of one step at 32×32 by hand: forward F, and backward = gradient for the weights (F) plus for the
    input (F, except where the input needs none: z, and the real or detached images entering D's first layer)."""
    g_widths, d_widths = [4 * width, 2 * width, width], [width, 2 * width, 4 * width]
    project = 2 * b * nz * g_widths[0] * 16
    g = (project + conv_flops(b, g_widths[0], g_widths[1], 4, 4 * 4)
         + conv_flops(b, g_widths[1], g_widths[2], 4, 8 * 8) + conv_flops(b, g_widths[2], nc, 4, 16 * 16))
    d_first = conv_flops(b, nc, d_widths[0], 4, 16 * 16)
    d = (d_first + conv_flops(b, d_widths[0], d_widths[1], 4, 8 * 8)
         + conv_flops(b, d_widths[1], d_widths[2], 4, 4 * 4) + conv_flops(b, d_widths[2], 1, 4, 1))
    g_backward = 2 * g - project
    d_step = g + 2 * (d + 2 * d - d_first)             # G(z); D on real and fake, weights and inputs but the first
    g_step_library = d + d + g_backward                # D frozen: input gradients only; then G's backward
    g_step_plain = d + 2 * d + g_backward              # D's weight gradients computed as well (then discarded)
    return d_step + g_step_library, d_step + g_step_plain


def test_flop_count_matches_a_hand_count():
    library, plain = hand_count(TINY.batch_size)
    assert speed.step_flops(TINY).get_total_flops() == pytest.approx(library, rel=0.01)
    assert speed.step_flops(TINY, loop="plain").get_total_flops() == pytest.approx(plain, rel=0.01)
    assert speed.step_flops(TINY, batch_size=16).get_total_flops() == pytest.approx(2 * library, rel=0.01)


def test_forward_flops_by_layer():
    layers = speed.forward_flops_by_layer(Generator(32, ngf=8), torch.zeros(2, 100))
    assert list(layers) == ["project", "blocks.1.0", "blocks.2.0", "to_image.0"]
    assert layers["to_image.0"] == conv_flops(2, 8, 3, 4, 16 * 16)
    assert sum(speed.forward_flops_by_layer(Discriminator(32, ndf=8), torch.zeros(2, 3, 32, 32)).values()) > 0


def test_settings_are_checked():
    assert [s.loop for s in speed.ladder("bf16", compile=True)] == ["plain"] + ["library"] * 4
    assert speed.ladder()[-1].channels_last and not speed.ladder()[1].channels_last
    assert speed.trainer_setting("cpu") == speed.ladder()[2]  # what train() runs on a CPU: channels_last, fp32
    with pytest.raises(ValueError, match="precision"):
        speed.ladder("fp16")
    with pytest.raises(ValueError, match="reference"):
        speed.Setting("plain bf16", "plain", precision="bf16")


@pytest.mark.timeout(300)
def test_benchmark_runs_on_cpu_and_reports_every_field(capsys):
    benchmark = load_benchmark()
    report = benchmark.main(["--device", "cpu", "--image-size", "32", "--width", "8", "--batch-size", "8",
                             "--steps", "1", "--rounds", "1", "--warmup", "1", "--precision", "bf16"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert json.loads(lines[-1]) == json.loads(json.dumps(report))
    assert len(lines) == 2 + 4 + 1  # header, column names, 4 settings, JSON
    assert report["flops_per_step"] == speed.step_flops(TINY).get_total_flops()
    assert report["flops_per_image"] * 8 == report["flops_per_step"]
    assert report["ceiling_flops_per_second"] > 0 and report["ceiling_dtype"] in ("fp32", "bf16")
    names = [row["name"] for row in report["settings"]]
    assert names == [s.name for s in speed.ladder("bf16")]
    for row in report["settings"]:
        assert math.isfinite(row["images_per_second"]) and row["images_per_second"] > 0
        assert 0 < row["fraction_of_ceiling"] < 1.5  # against the faster of fp32 and bf16
        assert len(row["round_seconds"]) == 1 and row["seconds_per_step"] == row["round_seconds"][0]
    assert report["settings"][0]["speedup"] == 1.0


def test_benchmark_refuses_bad_arguments(capsys):
    benchmark = load_benchmark()
    with pytest.raises(SystemExit):
        benchmark.parse_args(["--steps", "0"])
    assert "--steps must be positive" in capsys.readouterr().err


def test_profile_and_loading_rates_on_tiny_sizes():
    kinds = speed.time_by_kind(speed.ladder()[1], TINY, "cpu", steps=1)
    assert set(kinds["seconds_per_step"]) == {"convolution", "matrix multiply", "batch norm", "optimizer", "other"}
    assert kinds["seconds_per_step"]["convolution"] > 0 and kinds["calls_per_step"] > 10
    data = speed.random_dataset(32, 32)
    assert speed.in_memory_images_per_second(data, 8, "cpu", batches=4) > 0
    assert speed.image_folder_images_per_second(data, 8, batches=2) > 0


def test_the_ceiling_is_the_faster_of_fp32_and_bf16(monkeypatch):
    rates = {torch.float32: 3e11, torch.bfloat16: 8e8}                          # a CPU without fast bf16
    monkeypatch.setattr(speed, "matmul_flops_per_second", lambda device, dtype: rates[dtype])
    assert speed.matmul_ceiling("cpu") == (3e11, "fp32")
    rates[torch.bfloat16] = 9e14                                                 # a GPU's tensor cores
    assert speed.matmul_ceiling("cpu") == (9e14, "bf16")


def test_the_decode_once_benchmark_reports_every_path(monkeypatch, capsys, tmp_cache):
    spec = importlib.util.spec_from_file_location("decode_once", ROOT / "benchmarks" / "decode_once.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr("sys.argv", ["decode_once.py", "--images", "48", "--batch-size", "16", "--workers", "1"])
    module.main()
    out = capsys.readouterr().out
    rows = {line.split("  ")[1].strip(): line for line in out.splitlines() if "images/s" in line}
    assert set(rows) == {"files, in-process", "files, 1 workers", "decoding once (1 workers)",
                         "decoded file, later epochs"}
    assert "48 JPEGs of 178×218" in out and "later epochs from the decoded file" in out


def test_the_ideal_cold_build_packs_the_models_and_chapters_longest_first(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("book_profile", ROOT / "benchmarks" / "book_profile.py")
    profile = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(profile)
    assert profile.packed([5, 4, 3, 3, 3], 2) == 10 and profile.packed([10, 1, 1], 2) == 10   # longest first
    build = tmp_path / "executed"
    build.mkdir()
    for name, seconds, threads in (("02_a", 30, 1), ("03_b", 20, 2)):
        (build / f"{name}.ipynb").write_text(json.dumps({"cells": [], "metadata": {"dcgan_book_build": {
            "seconds": seconds, "threads": threads}}}))
    models = tmp_path / "model_times.json"
    models.write_text(json.dumps({"book": {"rooms DCGAN (02, 04, 05, 07, 08)": 50, "faces DCGAN, seed * (06)": 10}}))
    assert profile.main([str(build), "--models", str(models)]) == 0   # the book trains three faces DCGANs
    assert "ideal cold build 80 s on 2 cores (the work / cores: 75 s)" in capsys.readouterr().out
