"""Chapter 08's two classifiers, timed side by side in one run on random data of the book's sizes.

* the L2-SVM's objective + gradient (one L-BFGS evaluation): autograd on `x @ W` against the two products that
  `dcgan_lib.analysis.svm` writes by hand (`(W.T @ x.T).T` and `(g.T @ x).T`);
* one supervised-CNN training step: NCHW against channels_last (the layout `train_supervised` uses on a CPU).

    python benchmarks/classifier_speed.py --threads 1
"""
from __future__ import annotations

import argparse
import os
import time

import torch
import torch.nn.functional as F

from dcgan_lib.analysis.supervised import SupervisedCNN
from dcgan_lib.analysis.svm import _scores, _transposed_times


def per_call_ms(function, repeats: int) -> float:
    """Median wall time of `function()` over `repeats` calls, after two warm-up calls, in milliseconds."""
    for _ in range(2):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1e3 * sorted(times)[len(times) // 2]


def svm_evaluations(n: int, d: int, k: int) -> dict[str, float]:
    """ms per objective + gradient of the squared-hinge loss, with autograd and by hand."""
    x, y = torch.randn(n, d), torch.where(torch.rand(n, k) < 0.1, 1.0, -1.0)
    W, b = torch.zeros(d, k, requires_grad=True), torch.zeros(k, requires_grad=True)

    def autograd() -> None:
        W.grad = b.grad = None
        (1 - y * (x @ W + b)).clamp(min=0).pow(2).sum().backward()

    @torch.no_grad()
    def by_hand() -> None:
        xi = (1 - y * _scores(x, W, b)).clamp(min=0)
        _transposed_times(x, -2 * y * xi)

    return {"autograd": per_call_ms(autograd, 15), "by hand": per_call_ms(by_hand, 15)}


def _cnn_step_ms(layout: torch.memory_format, ndf: int, batch_size: int) -> float:
    torch.manual_seed(0)
    model = SupervisedCNN(32, ndf, 3, 10).to(memory_format=layout)
    opt = torch.optim.Adam(model.parameters(), 1e-3, betas=(0.5, 0.999))
    x = torch.randn(batch_size, 3, 32, 32).contiguous(memory_format=layout)
    y = torch.randint(0, 10, (batch_size,))

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    return per_call_ms(step, 40)


def cnn_steps(ndf: int, batch_size: int) -> dict[str, float]:
    """ms per Adam training step of the supervised CNN (32×32), NCHW and channels_last."""
    return {"NCHW": _cnn_step_ms(torch.contiguous_format, ndf, batch_size),
            "channels_last": _cnn_step_ms(torch.channels_last, ndf, batch_size)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch CPU threads")
    parser.add_argument("--n", type=int, default=6000, help="training features (rows)")
    parser.add_argument("--d", type=int, default=3584, help="feature dimension (D's pooled features at ndf=32)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{args.threads} thread(s), 1-minute load {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    svm = svm_evaluations(args.n, args.d, 10)
    print(f"L2-SVM evaluation, {args.n:,} × {args.d:,} × 10 classes: autograd {svm['autograd']:.1f} ms, "
          f"by hand {svm['by hand']:.1f} ms ({svm['autograd'] / svm['by hand']:.1f}×)")
    cnn = cnn_steps(32, 64)
    print(f"supervised CNN step, ndf=32, batch 64: NCHW {cnn['NCHW']:.1f} ms, channels_last "
          f"{cnn['channels_last']:.1f} ms ({cnn['NCHW'] / cnn['channels_last']:.1f}×)")


if __name__ == "__main__":
    main()
