"""Judge networks: small supervised CNNs that score generated images where the paper judged by eye.

One judge per offline dataset, trained on that dataset's generated labels (class, object presence, face
attributes, head yaw). Its penultimate features also define a Fréchet distance in the dataset's own
feature space (see `dcgan_lib.analysis.metrics`).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dcgan_lib.analysis.minibatch import fit_minibatches
from dcgan_lib.data import ImageDataset, load_dataset
from dcgan_lib.models.small_cnn import Judge, JudgeSpec

JUDGE_SPECS = {
    "rooms": JudgeSpec(binary=("bed", "window", "lamp", "door", "picture")),
    "faces": JudgeSpec(binary=("smile", "glasses", "long_hair"), continuous=("yaw",), blend=True),
    "objects10": JudgeSpec(classes=True),
    "digits": JudgeSpec(classes=True),
    "mnist5k": JudgeSpec(classes=True),
}


def blend_pairs(images: torch.Tensor, share: float = 0.25,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Replace a `share` of a batch by superpositions w·x + (1 − w)·x' of two different images of it (w ~
    U(0.3, 0.7)); returns the new batch and a 0/1 mask of the blended rows. The judge's 'blend' head learns from
    them to tell one face from an overlap of several (what arithmetic on pixels gives)."""
    n = len(images)
    k = int(round(n * share)) if n > 1 else 0
    out, mask = images.clone(), torch.zeros(n, device=images.device)
    if k == 0:
        return out, mask
    rows = torch.randperm(n, generator=generator)[:k]
    partners = (rows + 1 + torch.randint(n - 1, (k,), generator=generator)) % n     # never the row itself
    w = (0.3 + 0.4 * torch.rand(k, generator=generator)).view(-1, *([1] * (images.dim() - 1))).to(images)
    out[rows.to(images.device)] = w * images[rows] + (1 - w) * images[partners]
    mask[rows.to(images.device)] = 1
    return out, mask


def _targets(dataset: ImageDataset, spec: JudgeSpec) -> dict[str, torch.Tensor]:
    targets = {}
    if spec.classes:
        targets["class"] = dataset.labels
    if spec.binary:
        targets["binary"] = torch.stack([dataset.attributes[a] for a in spec.binary], 1).float()
    if spec.continuous:
        targets["continuous"] = torch.stack([dataset.attributes[a] for a in spec.continuous], 1).float()
    return targets


def judge_loss(outputs: dict, targets: dict, single: torch.Tensor | None = None) -> torch.Tensor:
    """The heads' summed losses; labels apply to the `single` (unblended) rows only, the blend head to all rows."""
    keep = slice(None) if single is None else single.bool()
    loss = 0.0
    if "class" in outputs:
        loss = loss + F.cross_entropy(outputs["class"][keep], targets["class"][keep])
    if "binary" in outputs:
        loss = loss + F.binary_cross_entropy_with_logits(outputs["binary"][keep], targets["binary"][keep])
    if "continuous" in outputs:
        loss = loss + F.mse_loss(outputs["continuous"][keep], targets["continuous"][keep])
    if "blend" in outputs:
        loss = loss + F.binary_cross_entropy_with_logits(outputs["blend"][:, 0], targets["blend"])
    return loss


def score(judge: Judge, dataset: ImageDataset) -> dict[str, float]:
    """Held-out scores: accuracy for classes and each binary attribute, R² for each continuous one."""
    pred = judge.predict(dataset.as_float())
    scores = {}
    if judge.spec.classes:
        scores["accuracy"] = (pred["label"] == dataset.labels).float().mean().item()
    for name in judge.spec.binary:
        scores[f"{name}_accuracy"] = ((pred[name] > 0.5).float() == dataset.attributes[name]).float().mean().item()
    for name in judge.spec.continuous:
        y = dataset.attributes[name].float()
        scores[f"{name}_r2"] = (1 - ((pred[name] - y) ** 2).mean() / y.var()).item()
    if judge.spec.blend:
        mixed, is_blend = blend_pairs(dataset.as_float(), share=0.5, generator=torch.Generator().manual_seed(0))
        scores["blend_accuracy"] = ((judge.predict(mixed)["blend"] > 0.5).float() == is_blend).float().mean().item()
    return scores


@dataclass(frozen=True)
class JudgeConfig:
    """Everything that determines a trained judge (its key in the store)."""

    dataset: str = "rooms"   # an offline dataset with labels (a key of JUDGE_SPECS)
    image_size: int = 64     # the size its images are loaded at (resized to the judge's 32×32 input)
    n_train: int = 20000     # generated training images (the shipped digits use their whole splits)
    epochs: int = 10
    seed: int = 0


def train_judge(config: JudgeConfig, device: torch.device | str = "cpu", progress: bool | None = None) -> Judge:
    """Train a judge on the dataset's training split; its held-out scores are left in `judge.test_scores`."""
    name, image_size, n_train, seed = config.dataset, config.image_size, config.n_train, config.seed
    if name not in JUDGE_SPECS:
        raise ValueError(f"No judge for {name!r}: judges exist for the offline datasets {sorted(JUDGE_SPECS)}.")
    spec = JUDGE_SPECS[name]
    shipped = name in ("digits", "mnist5k")  # a fixed real dataset: use its whole splits
    train_set = load_dataset(name, image_size, n=None if shipped else n_train, split="train", seed=seed + 100)
    test_set = load_dataset(name, image_size, n=None if shipped else min(2000, n_train), split="test",
                            seed=seed + 100)
    n_classes = len(train_set.class_names) if spec.classes else 0
    torch.manual_seed(seed)
    judge = Judge(image_size, train_set.channels, spec, n_classes).to(device)
    images = judge.resize(train_set.as_float())  # resize once, not every epoch
    targets = _targets(train_set, spec)
    optimizer = torch.optim.Adam(judge.parameters(), lr=2e-3)
    rng, batch_size = torch.Generator().manual_seed(seed), 128
    steps_per_epoch = len(images) // batch_size   # full batches only
    steps = config.epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=4e-3, total_steps=max(steps, 1))

    def loss_of_batch(idx: torch.Tensor) -> torch.Tensor:
        x, batch_targets, single = images[idx], {k: v[idx] for k, v in targets.items()}, None
        if spec.blend:
            x, batch_targets["blend"] = blend_pairs(x, generator=rng)
            single = 1 - batch_targets["blend"]
        return judge_loss(judge(x.to(device)), {k: v.to(device) for k, v in batch_targets.items()},
                          None if single is None else single.to(device))

    fit_minibatches(judge, loss_of_batch, len(images), batch_size, steps_per_epoch, config.epochs,
                    optimizer, schedule, rng, desc=f"judge for {name}", progress=progress)
    judge.eval()
    judge.test_scores = score(judge, test_set)
    return judge


# ---- CelebA (the `full` profile): a faces judge trained on CelebA's own labels ----------------------------------
CELEBA_SPEC = JudgeSpec(binary=("smile", "glasses", "group"), continuous=("yaw",), blend=True)


def celeba_targets(attributes: torch.Tensor, landmarks: torch.Tensor, names: list[str]) -> dict[str, torch.Tensor]:
    """Judge targets from CelebA's labels: Smiling, Eyeglasses, not Male (the 'group', the paper's woman), and a
    yaw: the nose's offset from the eyes' midpoint in half eye-distances, clipped to [-1, 1]."""
    binary = attributes[:, [names.index("Smiling"), names.index("Eyeglasses"), names.index("Male")]].float()
    binary[:, 2] = 1 - binary[:, 2]
    left_eye, right_eye, nose = landmarks[:, 0].float(), landmarks[:, 2].float(), landmarks[:, 4].float()
    yaw = ((nose - (left_eye + right_eye) / 2) / ((right_eye - left_eye).abs() / 2).clamp_min(1)).clamp(-1, 1)
    return {"binary": binary, "continuous": yaw[:, None]}


def train_celeba_judge(image_size: int, n_train: int, epochs: int, device: torch.device | str = "cpu",
                       root: str | None = None, dataset: torch.utils.data.Dataset | None = None,
                       num_workers: int = 4) -> Judge:
    """A faces judge for CelebA (smile, glasses, group, yaw and blend), trained on the first `n_train` images of
    its training split, read from `root` (default: where the real data is, `core.paths.real_data_root`);
    `dataset` replaces it (items: image, (attributes, landmarks), and an `attr_names` list)."""
    if dataset is None:
        from pathlib import Path

        from dcgan_lib.core.paths import real_data_root
        from dcgan_lib.data.formats import CelebAAttributes
        from dcgan_lib.data.real import paper_transform
        dataset = CelebAAttributes(Path(root) if root else real_data_root("celeba"), "train",
                                   paper_transform(image_size, 3))
    names = list(dataset.attr_names)
    subset = torch.utils.data.Subset(dataset, range(min(n_train, len(dataset))))
    loader = torch.utils.data.DataLoader(subset, batch_size=128, shuffle=True, num_workers=num_workers)
    judge = Judge(image_size, 3, CELEBA_SPEC).to(device)
    optimizer = torch.optim.Adam(judge.parameters(), lr=2e-3)
    judge.train()
    for _ in range(epochs):
        for x, (attributes, landmarks) in loader:
            targets = celeba_targets(attributes, landmarks, names)
            x, targets["blend"] = blend_pairs(x)
            loss = judge_loss(judge(x.to(device)), {k: v.to(device) for k, v in targets.items()},
                              (1 - targets["blend"]).to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return judge.eval()
