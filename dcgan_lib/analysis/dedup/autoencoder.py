"""De-duplication, the model: the paper's 3072-128-3072 denoising, dropout-regularised ReLU autoencoder."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dcgan_lib.analysis.dedup.inputs import INPUT_DIM, INPUT_SIZE, iter_batches
from dcgan_lib.analysis.minibatch import fit_minibatches
from dcgan_lib.data.datasets import ImageDataset
from dcgan_lib.data.imagedata import to_uint8


@dataclass(frozen=True)
class AutoencoderConfig:
    """Everything that determines a trained hashing autoencoder (its cache key).

    The paper does not say how its denoising autoencoder corrupts the inputs. Gaussian noise alone gives codes
    that flip many bits under a one-pixel shift, so the default corruption also shifts the input by up to two
    pixels (of 32) and changes its brightness a little: the differences the hash should ignore. (On `rooms`,
    two-pixel shifts and 15 epochs found more planted pairs at precision 0.99 than one-pixel shifts and 6
    epochs; a blur or a per-image standardisation before the encoder did not help.)
    """

    dataset: str = "rooms"
    image_size: int = 64        # resolution the training images are loaded at (then centre-cropped to 32×32)
    n_train: int = 20000
    data_seed: int = 0
    code_size: int = 128
    noise_std: float = 0.2      # std of the Gaussian corruption added to the inputs (images in [-1, 1])
    max_shift: int = 2          # corruption: random translation by up to this many pixels (of the 32×32 input)
    brightness: float = 0.1     # corruption: random brightness offset, uniform in ± this (images in [-1, 1])
    dropout: float = 0.1        # dropout on the code layer while training
    epochs: int = 15
    batch_size: int = 256
    lr: float = 1e-3
    seed: int = 0



class HashAutoencoder(nn.Module):
    """The paper's 3072-128-3072 autoencoder: one ReLU code layer, a linear decoder.

    Trained as a denoising autoencoder (Gaussian noise on the inputs) with dropout on the code, it reconstructs
    the clean 32×32 image; afterwards only the encoder is used: ``encode(x) > 0`` is the semantic hash.
    """

    def __init__(self, code_size: int = 128, noise_std: float = 0.2, dropout: float = 0.1, max_shift: int = 0,
                 brightness: float = 0.0):
        super().__init__()
        self.code_size, self.noise_std, self.max_shift, self.brightness = code_size, noise_std, max_shift, brightness
        self.encoder = nn.Linear(INPUT_DIM, code_size)
        self.dropout = nn.Dropout(dropout)
        self.decoder = nn.Linear(code_size, INPUT_DIM)
        self.register_buffer("mean", torch.zeros(INPUT_DIM))  # the training images' mean, subtracted first
        self.config: AutoencoderConfig | None = None
        self.history: list[float] = []

    def encode(self, x: Tensor) -> Tensor:
        """ReLU code activations [N, code_size] of prepared images ([N, 3, 32, 32] or [N, 3072], in [-1, 1])."""
        return F.relu(self.encoder(x.reshape(len(x), -1) - self.mean))

    def preactivation(self, x: Tensor) -> Tensor:
        """The code units' inputs before the ReLU, with the mean folded into the bias (one matrix product): for
        a threshold t ≥ 0, ``preactivation(x) > t`` gives the same bits as ``encode(x) > t``, faster."""
        bias = self.encoder.bias - self.encoder.weight @ self.mean
        return F.linear(x.reshape(len(x), -1), self.encoder.weight, bias)

    def decode(self, code: Tensor) -> Tensor:
        """Reconstructed images [N, 3, 32, 32] from codes."""
        return (self.decoder(code) + self.mean).view(len(code), 3, INPUT_SIZE, INPUT_SIZE)

    def corrupt(self, x: Tensor) -> Tensor:
        """The denoising corruption of a batch [N, 3, 32, 32]: a random shift of up to `max_shift` pixels (edges
        replicated), a random brightness offset and Gaussian noise."""
        n = len(x)
        if self.max_shift > 0:
            p = self.max_shift
            padded = F.pad(x, (p, p, p, p), mode="replicate")
            dy, dx = torch.randint(0, 2 * p + 1, (2, n), device=x.device)
            rows = (torch.arange(INPUT_SIZE, device=x.device) + dy[:, None])          # [N, 32]
            cols = (torch.arange(INPUT_SIZE, device=x.device) + dx[:, None])
            images, channels = torch.arange(n, device=x.device), torch.arange(3, device=x.device)
            x = padded[images[:, None, None, None], channels[:, None, None],
                       rows[:, None, :, None], cols[:, None, None, :]]
        if self.brightness > 0:
            x = x + (torch.rand(n, 1, 1, 1, device=x.device) * 2 - 1) * self.brightness
        if self.noise_std > 0:
            x = x + self.noise_std * torch.randn_like(x)
        return x

    def forward(self, x: Tensor) -> Tensor:
        """Reconstruction of `x` [N, 3, 32, 32]; in training mode from a corrupted input through a dropped-out code."""
        if self.training:
            x = self.corrupt(x)
        return self.decode(self.dropout(self.encode(x)))


def _prepared_uint8(images, n: int, batch_size: int = 2048) -> Tensor:
    """Up to `n` prepared 32×32 images stored compactly as uint8 (3 KB each), streamed from any dataset."""
    out = []
    for batch in iter_batches(images, batch_size):
        out.append(to_uint8(batch))
        if sum(len(o) for o in out) >= n:
            break
    return torch.cat(out)[:n]


def train_autoencoder(images: Tensor | ImageDataset | torch.utils.data.Dataset, config: AutoencoderConfig,
                      device: str | torch.device = "cpu", progress: bool | None = None) -> HashAutoencoder:
    """Train a :class:`HashAutoencoder` on (the first `config.n_train` of) `images` to minimise the MSE of its
    reconstructions of the clean inputs; the per-epoch mean loss is left in ``model.history``."""
    data = _prepared_uint8(images, config.n_train)
    torch.manual_seed(config.seed)
    model = HashAutoencoder(config.code_size, config.noise_std, config.dropout, config.max_shift,
                            config.brightness).to(device)
    model.mean.copy_(data.flatten(1).float().mean(0).div_(127.5).sub_(1.0))   # centred inputs: no dead units
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    rng = torch.Generator().manual_seed(config.seed)
    steps_per_epoch = max(len(data) // config.batch_size, 1)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs * steps_per_epoch)

    def loss_of_batch(idx: Tensor) -> Tensor:
        x = data[idx].to(device).float().div_(127.5).sub_(1.0).view(-1, 3, INPUT_SIZE, INPUT_SIZE)
        return F.mse_loss(model(x), x)

    history = fit_minibatches(model, loss_of_batch, len(data), config.batch_size, steps_per_epoch, config.epochs,
                              optimizer, schedule, rng, desc="hashing autoencoder", progress=progress, loss_name="mse")
    model.eval()
    model.config, model.history = config, history
    return model
