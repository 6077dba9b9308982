"""The library's argument names in each command's own words: a message from the data loaders or the configs
names `download=True` or `image_size`; a user of `dcgan-train`, `dcgan-data` or the runner typed an option. And
`refuse_repeated`: an option given twice (the data, the run folder, the epochs) is refused, not silently taken
from its last use."""
from __future__ import annotations

import argparse
import re

Words = list[tuple[str, str]]

# dcgan-train
TRAIN: Words = [(r"\bn=(\d+)", r"--n-images \1"), (r"a smaller n\b", "a smaller --n-images"),
                (r"\b[Pp]ass download=True \(needs internet\)", "pass --download (needs internet)"),
                (r"with torchvision \(download=True\)", "with --download (needs internet)"),
                (r"data_dir=<folder( that holds them)?>", r"--data-root <folder\1>"),
                (r"batch_size", "--batch-size"), (r"image_size", "--size"),
                (r"TrainConfig\.(lr|beta1|seed|nz|ngf|ndf|epochs)=", r"--\1 ")]
# dcgan-data
DATA: Words = [(r"\b[Pp]ass download=True \(needs internet\)", "run dcgan-data get (needs internet)"),
               (r"with torchvision \(download=True\)", "with dcgan-data get (needs internet)"),
               (r"dcgan-train --data <folder>, or data_dir=<folder>", "dcgan-data check folder --root <folder>"),
               (r"data_dir=<folder( that holds them)?>", r"--root <folder\1>"), (r"image_size", "--size")]
# python -m dcgan_lib.tooling.run (the chapters' runner)
RUN: Words = [(r"\b[Pp]ass download=True \(needs internet\)", "fetch them with dcgan-data get (needs internet)"),
              (r"with torchvision \(download=True\)", "with dcgan-data get (needs internet)"),
              (r"dcgan-train --data <folder>, or data_dir=<folder>", "--data-dir <folder>"),
              (r"data_dir=<folder( that holds them)?>", r"--data-dir <folder\1>"),
              (r"image_size", "the chapter's image size"),
              (r", or pass a judge to frechet_distance;", ";")]


def reword(message: str, words: Words) -> str:
    """`message` with each library word of `words` replaced by the command's own."""
    for pattern, replacement in words:
        message = re.sub(pattern, replacement, message)
    return message


def refuse_repeated(options: argparse.ArgumentParser, argv: list[str], flags: tuple[str, ...] | None = None) -> None:
    """Stop (exit 2) when one of `flags` (default: every option of `options` that takes one value) is given more
    than once: the last silently winning would train on other data, into another folder, or for other epochs
    (`--data a --data b`, `--epochs 1 ... --epochs 3`)."""
    if flags is None:
        flags = tuple(flag for action in options._actions if isinstance(action, argparse._StoreAction)
                      for flag in action.option_strings)
    given: dict[str, list[str]] = {}
    for i, word in enumerate(argv):
        flag, _, value = word.partition("=")
        if flag in flags:
            given.setdefault(flag, []).append(value if "=" in word else (argv[i + 1] if i + 1 < len(argv) else ""))
    for flag, values in given.items():
        if len(values) > 1:
            options.error(f"{flag} is given {len(values)} times ({', '.join(values)}): give it once")
