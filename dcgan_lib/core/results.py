"""The metrics record: every chapter writes its headline figures here, so a page can set them beside the paper's."""
from __future__ import annotations

import json
import time
from pathlib import Path

from dcgan_lib.core.paths import runs_dir
from dcgan_lib.core.store import write_text_atomic


def results_dir() -> Path:
    """Folder of the per-chapter JSON records (<runs_dir>/metrics)."""
    path = runs_dir() / "metrics"
    path.mkdir(parents=True, exist_ok=True)
    return path


def record(chapter: str, name: str, value: float, profile: str, dataset: str, **extra) -> dict:
    """Record one headline figure of a chapter (overwrites the same name at the same profile); returns the entry."""
    path = results_dir() / f"{chapter}.json"
    entries = load(chapter)
    entry = {"name": name, "value": float(value), "profile": profile, "dataset": dataset,
             "time": time.strftime("%Y-%m-%dT%H:%M:%S"), **extra}
    entries = [e for e in entries if not (e["name"] == name and e["profile"] == profile)] + [entry]
    write_text_atomic(json.dumps(entries, indent=1), path)
    return entry


def load(chapter: str) -> list[dict]:
    """All figures recorded by a chapter (empty list if none yet)."""
    path = results_dir() / f"{chapter}.json"
    return _read(path) if path.exists() else []


def load_all() -> dict[str, list[dict]]:
    """Every chapter's record, keyed by chapter name."""
    return {p.stem: _read(p) for p in sorted(results_dir().glob("*.json"))}


def _read(path: Path) -> list[dict]:
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"The record of figures {path} could not be read ({err}): it was changed by hand or "
                         f"damaged; delete it, and run its chapter again to record them anew.") from None
