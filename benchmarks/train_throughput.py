"""Training throughput of each optimisation, side by side with a plain pytorch/examples-style loop.

Every setting trains the same architecture on the same in-memory uint8 dataset (random pixels: content does not
change speed) for --steps steps per round after a warm-up, in alternating rounds so that all see the same
machine load; each setting's speed is that of its fastest round (other work only ever slows a round down).
The plain loop keeps the dataset in host memory and copies each batch to the device, as a
DataLoader would; the library's settings keep it on the device as uint8 and normalise each batch on the fly.

Reported: images per second per setting and its speed-up over the plain loop; the FLOPs of one training step
(counted with torch.utils.flop_counter on the library's step: convolutions and matrix multiplies, 2 FLOPs per
multiply-add); the achieved fraction of the device's measured matrix-multiply ceiling (the faster of fp32 and
bf16); torch.compile's compile time, separately. A table, then one JSON line.

    python benchmarks/train_throughput.py --device cpu --image-size 64 --batch-size 128 --steps 10
    python benchmarks/train_throughput.py --device cuda --precision bf16 --compile
"""
from __future__ import annotations

import argparse
import json
import os

import torch

from dcgan_lib.analysis import speed
from dcgan_lib.core.runtime import pick_device
from dcgan_lib.train.loop import STEP_PRECISIONS, TrainConfig


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The benchmark's options; --precision defaults to bf16 on a GPU that supports it, else fp32."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--width", type=int, default=64, help="ngf = ndf (64 in the paper)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of every setting")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (compilation happens here)")
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: best available)")
    parser.add_argument("--precision", choices=STEP_PRECISIONS, default=None,
                        help="add a bf16 autocast setting with 'bf16' (default: bf16 on CUDA if supported)")
    parser.add_argument("--compile", action="store_true", help="add a torch.compile setting")
    parser.add_argument("--compile-mode", default="default", choices=["default", "reduce-overhead", "max-autotune"],
                        help="torch.compile mode ('reduce-overhead' uses CUDA graphs)")
    args = parser.parse_args(argv)
    for name in ("batch_size", "width", "steps", "rounds"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda but PyTorch sees no GPU: use --device cpu")
    return args


def run(args: argparse.Namespace) -> dict:
    """Time every setting and count FLOPs; returns the report printed by main."""
    device = pick_device(args.device)
    precision = args.precision or ("bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32")
    config = TrainConfig(image_size=args.image_size, ngf=args.width, ndf=args.width, batch_size=args.batch_size)
    settings = speed.ladder(precision, args.compile, args.compile_mode)
    flops = speed.step_flops(config).get_total_flops()
    plain_flops = speed.step_flops(config, loop="plain").get_total_flops()
    ceiling, ceiling_dtype = speed.matmul_ceiling(device)  # the faster of fp32 and bf16 matmul
    rows = speed.measure(settings, config, device, args.steps, args.rounds, args.warmup)
    plain = rows[0]["images_per_second"]
    for row in rows:
        row["speedup"] = row["images_per_second"] / plain
        row["fraction_of_ceiling"] = flops * row["images_per_second"] / args.batch_size / ceiling
    return {
        "device": str(device),
        "device_name": speed.device_name(device),
        "threads": torch.get_num_threads(), "image_size": args.image_size, "batch_size": args.batch_size,
        "width": args.width, "steps": args.steps * args.rounds, "flops_per_step": flops,
        "flops_per_image": flops / args.batch_size, "plain_flops_per_step": plain_flops,
        "ceiling_flops_per_second": ceiling, "ceiling_dtype": ceiling_dtype, "settings": rows,
        "loadavg": list(os.getloadavg()),
    }


def table(report: dict) -> str:
    """The report as a plain-text table, one line per setting."""
    lines = [f"{report['device']} ({report['device_name']}), "
             f"{report['image_size']}px, batch {report['batch_size']}, width {report['width']}; "
             f"{report['flops_per_step'] / 1e9:.2f} GFLOP per step ({report['flops_per_image'] / 1e6:.1f} MFLOP per "
             f"image; plain loop {report['plain_flops_per_step'] / 1e9:.2f}); ceiling ({report['ceiling_dtype']} "
             f"matmul) {report['ceiling_flops_per_second'] / 1e12:.3f} TFLOP/s; load average "
             f"{report['loadavg'][0]:.1f}",
             f"{'setting':40s} {'images/s':>10s} {'speed-up':>9s} {'of ceiling':>11s} {'compile s':>10s}"]
    for row in report["settings"]:
        compile_s = f"{row['compile_seconds']:.1f}" if "compile_seconds" in row else "-"
        lines.append(f"{row['name']:40s} {row['images_per_second']:10.1f} {row['speedup']:8.2f}x "
                     f"{row['fraction_of_ceiling']:10.1%} {compile_s:>10s}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark and print the table and one JSON line."""
    report = run(parse_args(argv))
    print(table(report))
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
