"""Run chosen chapters with papermill, e.g. at the paper's scale on a GPU machine:

    python -m dcgan_lib.tooling.run --profile full --chapters training,latent_walks \
        --param DATASET=celeba --data-dir /data

Every argument is checked before any work starts. Executed notebooks and the chapters' recorded metrics are
written under --out (default runs/<profile>); `make book-from RUN=<that folder>` renders them as the book
(dcgan_lib.tooling.publish). Include `results` in --chapters for a results page of the run's own figures.
"""
from __future__ import annotations

import argparse
import ast
import os
import sys
import time
from pathlib import Path

from dcgan_lib.analysis.judges import JUDGE_SPECS
from dcgan_lib.core.profiles import PROFILE_NAMES, get_profile
from dcgan_lib.core.runtime import device_unavailable
from dcgan_lib.data.datasets import DATASETS
from dcgan_lib.data.specs import DATASET_SPECS
from dcgan_lib.tooling.chapters import resolve, short_name
from dcgan_lib.tooling.words import RUN, refuse_repeated, reword


def parse_params(pairs: list[str]) -> dict[str, object]:
    """NAME=VALUE pairs into papermill parameters (VALUE read as a Python literal when it is one, else a string)."""
    params = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"--param {pair!r} is not of the form NAME=VALUE (for example --param DATASET=celeba).")
        name, value = (part.strip() for part in pair.split("=", 1))
        if name in params:
            raise ValueError(f"--param {name} is given twice: give each parameter once.")
        try:
            params[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[name] = value
    return params


_ANY = object()  # a parameter whose default is not a literal (any value of the right meaning goes)


def chapter_parameters(notebook: Path) -> dict[str, object]:
    """The names a chapter's `parameters` cell defines, with their literal defaults (`_ANY` where not literal)."""
    import json

    cells = json.loads(Path(notebook).read_text())["cells"]
    source = next(("".join(c["source"]) for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])), "")
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                found[node.targets[0].id] = _ANY
    return found


def check_params(params: dict[str, object], notebooks: list[Path]) -> None:
    """Every --param must be a parameter of a chosen chapter, of the type of its default; PROFILE is --profile's."""
    if "PROFILE" in params:
        raise ValueError("--param PROFILE=... is not accepted: choose the profile with --profile (it is checked, "
                         "and it names the run folder).")
    known: dict[str, list[object]] = {}
    for notebook in notebooks:
        for name, default in chapter_parameters(notebook).items():
            known.setdefault(name, []).append(default)
    for name, value in params.items():
        if name not in known:
            chosen = ", ".join(n.stem for n in notebooks)
            raise ValueError(f"--param {name}: no chosen chapter ({chosen}) has a parameter of that name; theirs are "
                             f"{', '.join(sorted(known))}.")
        typed = [d for d in known[name] if d is not None and d is not _ANY]
        if typed and value is not None and not any(type(value) is type(d) for d in typed):
            raise ValueError(f"--param {name}={value!r} is a {type(value).__name__}, but the chapter's default is "
                             f"{typed[0]!r} ({type(typed[0]).__name__}): pass a value of that type.")


def check(args: argparse.Namespace, gpu_available: bool) -> tuple[list[Path], dict[str, object]]:
    """Validate the request before any work; returns the notebooks and papermill parameters."""
    chapters = [c for given in ([args.chapters] if isinstance(args.chapters, str) else args.chapters)
                for c in given.split(",") if c]
    notebooks = resolve(chapters)
    if not notebooks:
        raise ValueError("No chapter given: pass --chapters training,latent_walks (comma-separated).")
    twice = sorted({n.stem for n in notebooks if notebooks.count(n) > 1})
    if twice:
        raise ValueError(f"--chapters names {', '.join(twice)} more than once: name each chapter once.")
    params = parse_params(args.param)
    check_params(params, notebooks)
    dataset = params.get("DATASET")
    if dataset is not None and dataset not in DATASETS:
        raise ValueError(f"Unknown dataset {dataset!r} in --param DATASET: choose one of {', '.join(DATASETS)}.")
    for option, value in (("--data-dir", args.data_dir), ("--out", args.out)):
        if value is not None and not value.strip():
            raise ValueError(f"{option} is empty (an unset variable?): pass a folder, or leave {option} out.")
    if args.data_dir is not None and args.out is not None and Path(args.data_dir).is_dir() \
            and Path(args.out).resolve().is_relative_to(Path(args.data_dir).resolve()):
        raise ValueError(f"--out {args.out} is inside --data-dir {args.data_dir}: the run's files would be read as "
                         f"data. Put the run elsewhere, e.g. --out runs/{args.profile}.")
    if args.data_dir is not None and not Path(args.data_dir).is_dir():
        what = "is a file, not a folder" if Path(args.data_dir).exists() else "does not exist"
        raise ValueError(f"--data-dir {args.data_dir} {what}: pass the folder that holds the datasets.")
    if dataset == "folder" and args.data_dir is None:
        raise ValueError("--param DATASET=folder needs --data-dir <the folder of your images>.")
    if args.data_dir is not None and dataset is not None and DATASET_SPECS[dataset].offline:
        raise ValueError(f"--data-dir is for a real dataset's files; {dataset} is generated or ships with the "
                         f"library: leave --data-dir out.")
    data_dir = Path(args.data_dir) if args.data_dir is not None else None
    min_side = get_profile(args.profile).image_size // 2   # more than twice blown up: refused by the chapters
    if dataset is not None and not DATASET_SPECS[dataset].offline:   # checked where the chapter will read it
        check_data_dir(dataset, data_dir, min_side=min_side)
    check_choices(params)
    device = params.get("DEVICE")
    if device is not None and (not isinstance(device, str) or device_unavailable(device)):
        why = device_unavailable(device) if isinstance(device, str) else "give a name such as cuda or cpu"
        raise ValueError(f"--param DEVICE={device!r}: {why}; leave DEVICE out to use the best device there is.")
    _check_out(args.out)
    if args.profile == "full" and not gpu_available and not args.force:
        raise ValueError("The full profile is meant for a GPU and none is available here: it would take days on a "
                         "CPU. Run it on a GPU machine, or pass --force to run it anyway.")
    defaults = default_datasets(notebooks, params, args.profile)
    for chapter, real in defaults:
        check_data_dir(real, data_dir, f"--profile {args.profile}: {chapter} reads {real} (its DATASET left out)")
    if data_dir is not None and not defaults and (dataset is None or DATASET_SPECS[dataset].offline):
        raise ValueError(f"--data-dir {args.data_dir} is given, but no chosen chapter reads a real dataset at "
                         f"--profile {args.profile}: name the data with --param DATASET=..., or leave --data-dir out.")
    return notebooks, {"PROFILE": args.profile, **params}


# Chapter parameters whose values are a fixed set, or a file: checked before a chapter starts, not inside it.
CHOICES = {"OBJECT": JUDGE_SPECS["rooms"].binary, "TRANSFER": ("rooms", "faces", "folder")}


def check_choices(params: dict[str, object]) -> None:
    """OBJECT and TRANSFER must be one of their chapter's choices; BOXES_FILE must be a file."""
    for name, choices in CHOICES.items():
        if name in params and params[name] not in choices:
            raise ValueError(f"--param {name}={params[name]!r} is not one of the chapter's choices: "
                             f"{', '.join(choices)}.")
    boxes = params.get("BOXES_FILE")
    if boxes is not None and not (isinstance(boxes, str) and Path(boxes).expanduser().is_file()):
        raise ValueError(f"--param BOXES_FILE={boxes!r} is not a file: pass the path of the torch file of boxes "
                         f"(see chapter 05), or leave BOXES_FILE out.")


def _check_out(out: str | None) -> None:
    """--out must be a folder this user can write, or one that can be made there."""
    if out is None:
        return
    if Path(out).exists() and not Path(out).is_dir():
        raise ValueError(f"--out {out} is a file: pass a folder for the run's notebooks and metrics.")
    existing = next(p for p in (Path(out).resolve(), *Path(out).resolve().parents) if p.exists())
    if not os.access(existing, os.W_OK):
        raise ValueError(f"--out {out}: {existing} is read-only: choose a folder you can write to.")


def default_datasets(notebooks: list[Path], params: dict[str, object], profile: str) -> list[tuple[str, str]]:
    """(chapter, dataset) for each real dataset a chosen chapter reads by default at `profile`: the chapters that
    were not given --param DATASET (e.g. LSUN for the training chapter at full)."""
    from dcgan_lib.zoo.sizes import chapter_datasets

    found = []
    for notebook in notebooks:
        if "DATASET" in params and "DATASET" in chapter_parameters(notebook):
            continue
        transfer = params.get("TRANSFER", "rooms")
        transfer = transfer if isinstance(transfer, str) else "rooms"
        for name in chapter_datasets(short_name(notebook.stem), profile, transfer):
            if name in DATASET_SPECS and not DATASET_SPECS[name].offline:
                found.append((notebook.stem, name))
    return found


def check_data_dir(dataset: str, data_dir: Path | None, why: str | None = None, min_side: int = 0) -> None:
    """The real dataset named by --param DATASET must be in --data-dir (without it, where the chapters look:
    $DCGAN_REAL_DATA or data/<name>), in its on-disk format, before any chapter starts: a folder of PNGs passed
    as mnist is refused here, not an hour into a notebook. A folder of images is checked file by file (headers:
    readable, at least `min_side` pixels), since the chapters would stop on the first bad one."""
    from dcgan_lib.core.paths import real_data_root
    from dcgan_lib.data import DatasetError, load_dataset

    root = data_dir if data_dir is not None else real_data_root(dataset)
    try:
        load_dataset(dataset, DATASET_SPECS[dataset].sizes[0], split="train", data_dir=root, download=False)
    except DatasetError as err:
        where = f"with --data-dir {data_dir}" if data_dir is not None else \
            f"without --data-dir (the chapters would read {root})"
        fix = "pass --data-dir <the folder that holds it>"
        fix += ", or --param DATASET=<the dataset you have>" if why else ""
        raise ValueError(f"{why or f'--param DATASET={dataset}'} {where}: {reword(str(err), RUN)}. (dcgan-data check "
                         f"{dataset} --root {root} lists every problem; {fix}.)") from None
    if dataset == "folder":   # a file the chapter cannot read stops it after it started: found here instead
        from dcgan_lib.data.folders import header_problems
        from dcgan_lib.data.real import folder_split

        try:
            paths = [p for split in ("train", "test") for p in folder_split(root, split).paths]
        except DatasetError as err:
            raise ValueError(f"--data-dir {root}: {reword(str(err), RUN)}") from None
        problems = header_problems(paths, min_side=min_side, progress=len(paths) > 5000)
        if problems:
            raise ValueError(f"--data-dir {root}: {len(problems)} of its {len(paths):,} images cannot be used:\n  "
                             + "\n  ".join(problems[:5]) + ("\n  ..." if len(problems) > 5 else "")
                             + f"\n(dcgan-data check folder --root {root} decodes every file.)")


def check_inception(notebooks: list[Path], dataset: object, profile: str) -> None:
    """Chapter 02 on a real dataset (any dataset at `full` but a generated one) measures the Inception FID: its
    weights must be at hand before training starts, not after it (a ValueError says how to get them)."""
    from dcgan_lib.analysis.metrics import fid_features

    real = (dataset is None and profile == "full") or (dataset in DATASET_SPECS and not DATASET_SPECS[dataset].offline)
    if real and any(n.stem == "02_training" for n in notebooks):
        try:
            fid_features(None)
        except RuntimeError as err:
            raise ValueError(f"the training chapter measures the Inception FID on {dataset or 'lsun'}, and "
                             f"{reword(str(err), RUN)}") from None


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m dcgan_lib.tooling.run", description=__doc__.splitlines()[0],
                                     allow_abbrev=False)
    parser.add_argument("--profile", choices=PROFILE_NAMES, default="full")
    parser.add_argument("--chapters", required=True, action="append",
                        help="comma-separated chapter names, e.g. training,latent_walks (may be given again)")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="a chapter parameter")
    parser.add_argument("--data-dir", default=None,
                        help="the real data: for DATASET=folder the folder of images itself, else the folder that "
                             "holds the torchvision datasets (sets DCGAN_REAL_DATA; the cache stays where it is)")
    parser.add_argument("--out", default=None, help="run folder for executed notebooks and metrics")
    parser.add_argument("--force", action="store_true", help="run the full profile even without a GPU")
    argv = sys.argv[1:] if argv is None else argv
    refuse_repeated(parser, argv)
    args = parser.parse_args(argv)
    for option in ("data_dir", "out"):   # `--data-dir=~/photos`: the shell leaves a ~ after = as it is
        if getattr(args, option):
            setattr(args, option, os.path.expanduser(getattr(args, option)))

    import torch

    try:
        notebooks, params = check(args, torch.cuda.is_available())
        check_inception(notebooks, params.get("DATASET"), args.profile)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    import papermill

    out = Path(args.out or Path("runs") / args.profile).resolve()
    out.mkdir(parents=True, exist_ok=True)
    os.environ["DCGAN_RUNS_DIR"] = str(out / "runs")
    os.environ.setdefault("DCGAN_PROGRESS", "0")  # progress widgets would be dead noise in the executed notebooks
    os.environ.setdefault("DCGAN_HEADLESS", "1")  # no live widgets: nobody moves them, and they can hang a kernel
    if args.data_dir:
        os.environ["DCGAN_REAL_DATA"] = str(Path(args.data_dir).resolve())
    for i, notebook in enumerate(notebooks, 1):
        start = time.time()
        print(f"[{i}/{len(notebooks)}] {notebook.stem} at the {args.profile} profile ...", flush=True)
        papermill.execute_notebook(str(notebook), str(out / notebook.name), parameters=params,
                                   cwd=str(notebook.parent), progress_bar=False)
        print(f"[{i}/{len(notebooks)}] {notebook.stem} done in {time.time() - start:.0f} s -> {out / notebook.name}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
