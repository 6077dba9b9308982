"""A user's folder of images, as people really have them: flat or with class folders, with `train/` and
`test/` (or `val/`) or neither, nested, with junk among the pictures, in every image mode PIL reads.

`scan_folder` finds every image at any depth (following a symbolic link to a folder once, never round a loop),
skips what is not a picture (counted, with the reasons), and names the classes: the first folder level under the
root, or one class for a flat folder. `open_image` decodes any mode right (16-bit greyscale scaled, not clipped;
palette and alpha laid on white; CMYK converted; an animation's first frame). `folder_fingerprint` sees every
file at any depth, so that a decoded copy of the folder knows when it is stale.
"""
from __future__ import annotations

import hashlib
import os
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

JUNK_FOLDERS = frozenset({"__MACOSX", ".git", ".ipynb_checkpoints", "@eaDir", "$RECYCLE.BIN"})
TRAIN_FOLDERS = ("train", "training")                                 # any case: Train/, TRAINING/ ...
HELD_OUT_FOLDERS = ("test", "val", "validation", "valid", "testing")  # the same
HELD_OUT_PERCENT = 10    # of a folder without test/ or val/, chosen by file name (see `held_out_paths`)


def split_folders(root: Path) -> tuple[Path | None, Path | None]:
    """(the training folder, the held-out folder) directly under `root`, matched by name in any case
    (train/Train/training; test/val/validation/testing), or None where there is none."""
    subfolders = {d.name.lower(): d for d in sorted(Path(root).iterdir()) if d.is_dir()} if Path(root).is_dir() else {}
    train = next((subfolders[n] for n in TRAIN_FOLDERS if n in subfolders), None)
    return train, next((subfolders[n] for n in HELD_OUT_FOLDERS if n in subfolders), None)


def split_root(root: Path) -> Path:
    """The folder whose train/ and test/ (or val/) split `root`: `root` itself, or the one folder under it that
    holds them (a Kaggle zip's top folder, `dogs-vs-cats/train`; YOLO's `images/train` beside `labels/`), so
    that held-out images one level down are never trained on. Two such folders are refused (ValueError)."""
    if any(split_folders(root)) or not Path(root).is_dir():
        return root
    inner = [d for d in sorted(Path(root).iterdir()) if d.is_dir() and not _junk_folder(d.name)
             and split_folders(d)[1] is not None]
    if len(inner) > 1:
        raise ValueError(f"{root} holds {len(inner)} folders with their own train/ and test/ or val/ "
                         f"({', '.join(d.name for d in inner[:4])}): pass one of them as the folder of images")
    return inner[0] if inner else root


def outside_splits(root: Path, train: Path | None, held_out: Path | None) -> tuple[int, str]:
    """(how many images, one of them) lie under `root` but in neither its training nor its held-out folder:
    loose files beside train/, or class folders next to it. They are not read, so they are counted and named."""
    suffixes, count, example = image_suffixes(), 0, ""
    for entry in sorted(Path(root).iterdir()):
        if entry in (train, held_out) or _junk_folder(entry.name):
            continue
        paths = scan_folder(entry).paths if entry.is_dir() else \
            [entry] if _skip_reason(entry.name, suffixes, Path(root)) is None else []
        count, example = count + len(paths), example or (str(paths[0]) if paths else "")
    return count, example


# Formats PIL registers but cannot read as a picture here: it only writes PDF, it identifies MPEG and HDF5 files
# without decoding them, and EPS needs Ghostscript. A document or a video among the photos is skipped, not fatal.
NOT_PICTURES = frozenset({"PDF", "EPS", "MPEG", "HDF5", "BUFR", "GRIB", "FITS", "WMF"})
CAMERA_RAW = frozenset({".cr2", ".cr3", ".nef", ".arw", ".dng", ".raf", ".orf", ".rw2", ".pef", ".srw"})
ARCHIVES = frozenset({".zip", ".tar", ".gz", ".tgz", ".7z", ".rar", ".bz2", ".xz"})


def image_suffixes() -> frozenset[str]:
    """The file name endings of the pictures PIL can read (.jpg, .png, .gif, .webp, .tif, .bmp, ...), lower
    case: not the formats it only writes or only identifies (`NOT_PICTURES`)."""
    Image.init()
    return frozenset(ext.lower() for ext, kind in Image.registered_extensions().items()
                     if kind in Image.OPEN and kind not in NOT_PICTURES)


@dataclass
class FolderScan:
    """What a folder holds: image paths with their class labels, the class names, and what was skipped."""

    root: Path
    paths: list[Path] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)     # reason -> how many files
    examples: dict[str, str] = field(default_factory=dict)  # reason -> one path, to show
    partly: Counter = field(default_factory=Counter)      # files read in part (a multi-page TIFF's first page)

    held_out: str = ""    # how the held-out images were taken, when the folder has no test/ or val/

    def note(self) -> str:
        """One line: how many images in how many classes, and what was skipped and why."""
        classes = "one class (a flat folder)" if len(self.classes) <= 1 else f"{len(self.classes)} classes"
        line = f"{self.root}: {len(self.paths):,} images, {classes}"
        if self.held_out:
            line += f" ({self.held_out})"
        if self.skipped:
            line += "; skipped " + ", ".join(f"{reason}: {n} (e.g. {self.examples[reason]})"
                                             for reason, n in self.skipped.items())
        if self.partly:
            line += "; read in part " + ", ".join(f"{reason}: {n} (e.g. {self.examples[reason]})"
                                                  for reason, n in self.partly.items())
        return line


def _held_out_rank(root: Path, path: Path) -> int:
    """A number from a hash of `path` under `root`: the same on every machine, in every run (any bytes a file
    name holds, not only UTF-8)."""
    name = os.fsencode(path.relative_to(root).as_posix())
    return int.from_bytes(hashlib.blake2b(name, digest_size=8).digest(), "big")


def held_out_paths(root: Path, paths: list[Path]) -> set[Path]:
    """The `HELD_OUT_PERCENT`% of a folder without test/ that are kept for measuring: those whose hash falls in
    that share, so that an image added later never moves another one between the splits. A folder of ten images
    or more whose hashes happen to give none holds out its one image of smallest hash, so that it has a held-out
    split at all."""
    held = {p for p in paths if _held_out_rank(root, p) % 100 < HELD_OUT_PERCENT}
    if not held and len(paths) >= 100 // HELD_OUT_PERCENT:
        held = {min(paths, key=lambda p: _held_out_rank(root, p))}
    return held


def split_scan(scan: FolderScan, split: str) -> FolderScan:
    """The training or the held-out part of a scanned folder that has no test/ or val/ (`held_out_paths`), with
    the note saying how it was split."""
    held_out = held_out_paths(scan.root, scan.paths)
    keep = [(p in held_out) == (split != "train") for p in scan.paths]
    part = FolderScan(scan.root, [p for p, k in zip(scan.paths, keep) if k],
                      [y for y, k in zip(scan.labels, keep) if k], scan.classes, scan.skipped, scan.examples,
                      scan.partly)
    verb = "is" if len(held_out) == 1 else "are"
    part.held_out = (f"{split}: {len(held_out):,} of {len(scan.paths):,} images (about {HELD_OUT_PERCENT}%, chosen "
                     f"by file name) {verb} held out for measuring, never trained on; put your own choice in test/ "
                     f"to change it")
    return part


def scan_folder(root: Path) -> FolderScan:
    """Every image file under `root` at any depth, in a fixed order, with its class: the first folder level
    under `root` (images lying directly in `root` form one class, named after `root`); hidden files, macOS
    metadata and files that are not images are skipped and counted."""
    scan, suffixes, seen = FolderScan(Path(root)), image_suffixes(), set()
    found: list[tuple[str, Path]] = []
    def unreadable(error: OSError) -> None:   # a folder os.walk cannot list: counted, never dropped silently
        scan.skipped["folders that could not be read (permissions?)"] += 1
        scan.examples.setdefault("folders that could not be read (permissions?)", str(error.filename))

    for folder, dirs, files in os.walk(root, followlinks=True, onerror=unreadable):
        real = os.path.realpath(folder)
        if real in seen:                      # a link back to a folder already walked: a loop, or a duplicate
            dirs[:] = []
            scan.skipped["folders reached twice through a link"] += 1
            scan.examples.setdefault("folders reached twice through a link", folder)
            continue
        seen.add(real)
        relative = Path(folder).relative_to(root)
        for junk in sorted(d for d in dirs if _junk_folder(d)):   # hidden folders and macOS metadata: counted
            scan.skipped["hidden or system folders (their files are not read)"] += 1
            scan.examples.setdefault("hidden or system folders (their files are not read)", str(Path(folder) / junk))
        dirs[:] = sorted(d for d in dirs if not _junk_folder(d))
        for name in sorted(files):
            path = Path(folder) / name
            reason = "broken links (a drive not mounted?)" if _broken_link(path) else \
                _skip_reason(name, suffixes, Path(folder))
            if reason:
                scan.skipped[reason] += 1
                scan.examples.setdefault(reason, str(path))
                continue
            found.append((relative.parts[0] if relative.parts else Path(root).name, path))
            if path.suffix.lower() in (".tif", ".tiff") and _pages(path) > 1:   # PIL decodes the first page
                scan.partly[MULTI_PAGE] += 1
                scan.examples.setdefault(MULTI_PAGE, str(path))
    scan.classes = sorted({c for c, _ in found})
    index = {c: i for i, c in enumerate(scan.classes)}
    scan.paths = [p for _, p in found]
    scan.labels = [index[c] for c, _ in found]
    return scan


MULTI_PAGE = "multi-page TIFFs (their first page only)"


def _pages(path: Path) -> int:
    """How many pages (frames) a TIFF holds, from its header; 1 where it cannot be read (the decode says why)."""
    try:
        with warnings.catch_warnings(), Image.open(path) as image:
            warnings.simplefilter("ignore")
            return getattr(image, "n_frames", 1)
    except Exception:  # noqa: BLE001 - an unreadable file is named when it is decoded
        return 1


def _broken_link(path: Path) -> bool:
    """Whether `path` is a link to nothing; False where it cannot even be looked at (a folder without search
    permission: reading the file then names the permissions)."""
    try:
        return path.is_symlink() and not path.exists()
    except OSError:
        return False


def _junk_folder(name: str) -> bool:
    return name in JUNK_FOLDERS or name.startswith(".")


def _head(path: Path, n: int) -> bytes:
    """The first `n` bytes of a file (empty where it cannot be read: the decode then says why)."""
    try:
        with open(path, "rb") as f:
            return f.read(n)
    except OSError:
        return b""


def is_heif(path: Path) -> bool:
    """Whether the file holds a HEIC/HEIF photo (an ISO box 'ftyp' of a HEIF brand), whatever its name says."""
    head = _head(path, 12)
    return head[4:8] == b"ftyp" and head[8:12] in {b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis"}


def _jpeg_or_png(path: Path) -> bool:
    """Whether the file starts as a JPEG or a PNG does (some phone exports name a JPEG .heic): PIL reads it."""
    return _head(path, 8).startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"))


def _skip_reason(name: str, suffixes: frozenset[str], folder: Path | None = None) -> str | None:
    if name.startswith("._"):
        return "macOS metadata files"
    if name.startswith(".") or name in {"Thumbs.db", "desktop.ini"}:
        return "hidden or system files"
    if Path(name).suffix.lower() in CAMERA_RAW:
        return "camera RAW files (export them as JPEG or PNG first, e.g. with the camera's software)"
    if Path(name).suffix.lower() in ARCHIVES:
        return "archives (unpack them into the folder first)"
    if Path(name).suffix.lower() in (".heic", ".heif") and not (folder and _jpeg_or_png(folder / name)):
        return "HEIC photos (PIL cannot read them: convert them to JPEG, e.g. with the Photos app or heif-convert)"
    if Path(name).suffix.lower() not in suffixes | {".heic", ".heif"}:
        return "files that are not images"
    return None


def header_problems(paths: list[Path], min_side: int = 0, progress: bool = False) -> list[str]:
    """One line per image file whose header PIL cannot read (a HEIC photo under another name, a damaged file) or
    whose smaller side is under `min_side` pixels: what would stop a chapter on the folder after it started. Only
    headers are read, so a large folder is checked in a fraction of the time a decode takes."""
    from tqdm.auto import tqdm

    problems = []
    for path in tqdm(paths, desc="reading image headers", unit="file", disable=not progress, leave=False):
        try:
            with warnings.catch_warnings(), Image.open(path) as image:
                warnings.simplefilter("ignore")
                size = image.size
        except Exception as err:  # noqa: BLE001 - PIL raises several error types for what it cannot read
            problems.append(f"{path}: " + ("a HEIC photo under another name: convert it to JPEG" if is_heif(path)
                                           else f"cannot be read ({err})"))
            continue
        if min(size) < min_side:
            problems.append(f"{path}: {size[0]}×{size[1]} pixels, under {min_side}: remove it")
    return problems


def open_image(path: str | Path) -> Image.Image:
    """An image file as an 8-bit RGB PIL image, whatever its mode: 16- and 32-bit greyscale scaled to 8 bits
    (not clipped to white), palette and transparency laid on white, CMYK converted, an animation's first frame."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)   # a large scan is a photo, not an attack
        warnings.filterwarnings("ignore", category=UserWarning, module="PIL")   # damaged EXIF or TIFF tags: the
        #                                                                         pixels still decode
        with Image.open(path) as image:
            image.seek(0)
            image.load()
            return to_rgb(ImageOps.exif_transpose(image))   # a portrait phone photo the way every viewer shows it


def to_rgb(image: Image.Image) -> Image.Image:
    """`image` as 8-bit RGB (see `open_image`)."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        # the range the values were written for: 8 bits, 16 bits, 32-bit integers (or [0, 1] for floats)
        ranges = ((1.0,) if image.mode == "F" else ()) + (255.0, 65535.0, 2.0 ** 31 - 1)
        top = 65535.0 if image.mode.startswith("I;16") else next(
            (r for r in ranges if values.max() <= r), float(values.max()))
        grey = np.clip(values / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if image.mode == "P" or (image.mode in ("L", "RGB") and "transparency" in image.info):
        image = image.convert("RGBA")                      # a palette's or a colour key's transparency
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def folder_fingerprint(root: Path, images_only: bool = False) -> str:
    """A hash of the path, size and modification time of every file under `root`, at any depth: any image added,
    removed, replaced or touched changes it (a restored modification time still changes the size or the name).
    With `images_only`, exactly the files `scan_folder` reads: a cache or a run folder kept inside a folder of
    images, or its hidden folders, never change it."""
    digest, seen, suffixes = hashlib.sha1(), set(), image_suffixes()
    for folder, dirs, files in os.walk(root, followlinks=True):   # as `scan_folder` walks: through folder links
        real = os.path.realpath(folder)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not (images_only and _junk_folder(d)))
        for name in sorted(files):
            path = Path(folder) / name
            if images_only and _skip_reason(name, suffixes, Path(folder)):
                continue
            try:
                stat = path.stat()
            except OSError:
                continue
            digest.update(os.fsencode(f"{path.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns}\n"))
    return digest.hexdigest()[:16]
