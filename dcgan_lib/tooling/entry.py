"""The console scripts' entry points (`dcgan-train`, `dcgan-data`): a Ctrl-C in the seconds while the library and
torch load, before any work starts, stops with one line instead of a traceback from inside `import torch`."""
from __future__ import annotations

import importlib
import sys


def _run(module: str) -> int:
    try:
        main = importlib.import_module(module).main
    except KeyboardInterrupt:
        print("\nstopped while starting, before any work: run the same command again.", file=sys.stderr)
        return 130
    return main()


def train() -> int:
    """`dcgan-train` (dcgan_lib.tooling.train_cli)."""
    return _run("dcgan_lib.tooling.train_cli")


def data() -> int:
    """`dcgan-data` (dcgan_lib.tooling.data_cli)."""
    return _run("dcgan_lib.tooling.data_cli")
