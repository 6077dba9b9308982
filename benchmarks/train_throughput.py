"""Training throughput of dcgan_lib's trainer against a plain pytorch/examples-style loop, side by side.

Both train the same architecture on the same in-memory random data for --steps full steps (a D step and a
G step) after a warm-up, alternating rounds so that both see the same machine state. Prints one JSON line.

    python benchmarks/train_throughput.py --image-size 64 --batch-size 128 --steps 10 --device cpu
"""
from __future__ import annotations

import argparse
import json
import platform
import time

import torch
from torch import nn

from dcgan_lib.models import count_parameters, num_layers, sample_z
from dcgan_lib.training import TrainConfig, build_models, epoch_batches, make_optimizers, pick_device, train_step


def plain_models(image_size: int, nz: int, width: int, nc: int = 3) -> tuple[nn.Module, nn.Module]:
    """pytorch/examples' netG and netD (Sigmoid output, BCELoss), generalised to 32/64/128 pixels."""
    n = num_layers(image_size)
    g = [nn.ConvTranspose2d(nz, width * 2 ** (n - 1), 4, 1, 0, bias=False), nn.BatchNorm2d(width * 2 ** (n - 1)),
         nn.ReLU(True)]
    for i in range(n - 1, 0, -1):
        g += [nn.ConvTranspose2d(width * 2 ** i, width * 2 ** (i - 1), 4, 2, 1, bias=False),
              nn.BatchNorm2d(width * 2 ** (i - 1)), nn.ReLU(True)]
    g += [nn.ConvTranspose2d(width, nc, 4, 2, 1, bias=False), nn.Tanh()]
    d = [nn.Conv2d(nc, width, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
    for i in range(1, n):
        d += [nn.Conv2d(width * 2 ** (i - 1), width * 2 ** i, 4, 2, 1, bias=False), nn.BatchNorm2d(width * 2 ** i),
              nn.LeakyReLU(0.2, True)]
    d += [nn.Conv2d(width * 2 ** (n - 1), 1, 4, 1, 0, bias=False), nn.Sigmoid()]
    return nn.Sequential(*g), nn.Sequential(*d)


def plain_round(netG, netD, opt_g, opt_d, data: torch.Tensor, steps: int, batch_size: int, nz: int,
                device: torch.device) -> float:
    """`steps` steps of the pytorch/examples loop (fp32, NCHW); returns seconds."""
    criterion = nn.BCELoss()
    _sync(device)
    start = time.perf_counter()
    for i in range(steps):
        real = data[(i * batch_size) % (len(data) - batch_size):][:batch_size].to(device).float().div(127.5).sub(1)
        label = torch.full((batch_size,), 1.0, device=device)
        netD.zero_grad()
        err_real = criterion(netD(real).view(-1), label)
        err_real.backward()
        noise = torch.randn(batch_size, nz, 1, 1, device=device)
        fake = netG(noise)
        label.fill_(0.0)
        err_fake = criterion(netD(fake.detach()).view(-1), label)
        err_fake.backward()
        opt_d.step()
        netG.zero_grad()
        label.fill_(1.0)
        err_g = criterion(netD(fake).view(-1), label)
        err_g.backward()
        opt_g.step()
        err_g.item()  # pytorch/examples prints the losses every step
    _sync(device)
    return time.perf_counter() - start


def library_round(G, D, opt_g, opt_d, data: torch.Tensor, steps: int, config: TrainConfig, device: torch.device,
                  autocast, rng: torch.Generator) -> float:
    """`steps` steps of dcgan_lib's train_step with its data path; returns seconds."""
    _sync(device)
    start = time.perf_counter()
    done = 0
    while done < steps:
        order = torch.randperm(len(data), generator=rng)
        for real in epoch_batches(data, order, config.batch_size, device, channels_last=True):
            z = sample_z(len(real), config.nz, generator=rng).to(device, non_blocking=True)
            train_step(G, D, opt_g, opt_d, real, z, autocast)
            done += 1
            if done == steps:
                break
    _sync(device)
    return time.perf_counter() - start


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--width", type=int, default=64, help="ngf = ndf")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of each loop")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: best available)")
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto")
    args = parser.parse_args()

    device = pick_device(args.device)
    config = TrainConfig(image_size=args.image_size, ngf=args.width, ndf=args.width, batch_size=args.batch_size)
    n_images = args.batch_size * 8
    data = torch.randint(0, 256, (n_images, 3, args.image_size, args.image_size), dtype=torch.uint8)
    data = data.to(device)  # realistic in-memory dataset: uint8 on the device, normalised on the fly

    G, D = (m.to(device, memory_format=torch.channels_last) for m in build_models(config))
    opt_g, opt_d = make_optimizers(G, D, config, fused=device.type == "cuda")
    use_bf16 = args.precision == "bf16" or (
        args.precision == "auto" and device.type == "cuda" and torch.cuda.is_bf16_supported())
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16)
    netG, netD = (m.to(device) for m in plain_models(args.image_size, config.nz, args.width))
    assert count_parameters(netG) == count_parameters(G) and count_parameters(netD) == count_parameters(D)
    popt_g = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    popt_d = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    rng = torch.Generator().manual_seed(0)

    library_round(G, D, opt_g, opt_d, data, args.warmup, config, device, autocast, rng)
    plain_round(netG, netD, popt_g, popt_d, data, args.warmup, args.batch_size, config.nz, device)
    lib_time = plain_time = 0.0
    for _ in range(args.rounds):
        lib_time += library_round(G, D, opt_g, opt_d, data, args.steps, config, device, autocast, rng)
        plain_time += plain_round(netG, netD, popt_g, popt_d, data, args.steps, args.batch_size, config.nz, device)
    images = args.steps * args.rounds * args.batch_size
    print(json.dumps({
        "image_size": args.image_size, "batch_size": args.batch_size, "width": args.width,
        "device": str(device), "device_name": torch.cuda.get_device_name() if device.type == "cuda" else platform.processor(),
        "threads": torch.get_num_threads(), "precision": "bf16" if use_bf16 else "fp32", "channels_last": True,
        "steps": args.steps * args.rounds,
        "images_per_second": round(images / lib_time, 1),
        "plain_images_per_second": round(images / plain_time, 1),
        "speedup": round(plain_time / lib_time, 3),
    }))


if __name__ == "__main__":
    main()
