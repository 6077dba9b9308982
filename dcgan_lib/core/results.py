"""The metrics record: every chapter writes its headline figures here, so a page can set them beside the paper's,
and states its claims here (`claim`), so that a build can say which held on its models."""
from __future__ import annotations

import json
import operator
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from dcgan_lib.core.paths import runs_dir
from dcgan_lib.core.profiles import book_seed
from dcgan_lib.core.store import write_text_atomic


def results_dir(seed: int | None = None) -> Path:
    """Folder of the per-chapter JSON records: <runs_dir>/metrics for the book's seed 0, <runs_dir>/metrics-seed<s>
    for another (`seed`, default $DCGAN_SEED), so that the builds of several seeds keep their figures apart."""
    seed = book_seed() if seed is None else seed
    path = runs_dir() / ("metrics" if seed == 0 else f"metrics-seed{seed}")
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


# ---- claims -----------------------------------------------------------------------------------------------------
# A claim's bar is set for the book profile: at `ci` (seconds of training) and at `full` (another scale) the value
# is recorded and printed, not judged.
BAR_PROFILE = "book"
COMPARISONS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
ROBUSTNESS_FILE = Path(__file__).with_name("robustness.json")  # `python -m dcgan_lib.tooling.robustness` writes it


@dataclass(frozen=True)
class Claim:
    """One claim of a chapter as measured on this build's models: value `op` bar, and whether it holds."""

    chapter: str
    name: str
    statement: str           # what is claimed, in words
    value: float
    op: str                  # "<", "<=", ">" or ">="
    bar: float
    holds: bool
    hard: bool | None        # forced hard (True) or verdict (False); None: as the robustness table says
    judged: bool             # measured at the profile its bar is set for
    profile: str
    seed: int
    was: str | None = None   # the bar before the robustness runs, where it changed
    unjudged_because: str | None = None  # why a value measured at the bar's profile was not judged


def claim(chapter: str, name: str, value: float, op: str, bar: float, profile: str, *, statement: str,
          hard: bool | None = None, was: str | None = None, unjudged_because: str | None = None) -> Claim:
    """State and record one claim: `value op bar` (e.g. a Fréchet ratio "<=" 0.2), judged at the book profile.

    Nothing is raised when it does not hold: the build renders and lists it at its end (`make book STRICT=1` fails
    on a hard claim that did not hold). Whether a claim is hard is read from the committed robustness table when
    the build ends (`is_robust`: it held on every one of at least MIN_SEEDS builds' models), so that a new table
    does not re-execute the chapters; `hard` forces it. `was` gives the bar before the robustness runs where it
    changed; `unjudged_because` records a value without judging it (a timed claim on a busy machine), saying why."""
    if op not in COMPARISONS:
        raise ValueError(f"claim {name!r}: op {op!r} is not one of {sorted(COMPARISONS)}")
    value, bar = float(value), float(bar)
    found = Claim(chapter, name, statement, value, op, bar, bool(COMPARISONS[op](value, bar)), hard,
                  profile == BAR_PROFILE and unjudged_because is None, profile, book_seed(), was,
                  unjudged_because)
    entries = [c for c in load_claims(chapter) if not (c["name"] == name and c["profile"] == profile)]
    claims_dir().mkdir(parents=True, exist_ok=True)
    write_text_atomic(json.dumps(entries + [asdict(found)], indent=1), claims_dir() / f"{chapter}.json")
    print(describe(found))
    return found


def describe(found: Claim) -> str:
    """One line on a claim: what it says, the measured value against its bar, and whether it holds."""
    numbers = f"{_fmt(found.value)} {found.op} {_fmt(found.bar)}"
    if not found.judged:
        why = found.unjudged_because or f"the bar is set for the {BAR_PROFILE} profile, not judged at {found.profile}"
        return (f"Claim ({found.name}), {found.statement}: {numbers} would be "
                f"{'met' if found.holds else 'missed'} ({why})")
    verdict = "yes" if found.holds else "NO"
    return (f"Claim ({found.name}), {found.statement}: holds on this build's models: {verdict} ({numbers}); "
            f"how often it held over seeds: the appendix How robust is each claim")


def is_hard(entry: dict) -> bool:
    """Whether a recorded claim is hard: as forced where it was stated, else by the robustness table."""
    return entry["hard"] if entry.get("hard") is not None else is_robust(entry["chapter"], entry["name"])


def held_on(chapter: str, name: str) -> str:
    """How often a claim held over the generators of the robustness table, in words ("held on 2 of 3 ...")."""
    runs = _seed_runs(chapter, name)
    if not runs:
        return "not yet in the robustness table"
    held = sum(bool(r["holds"]) for r in runs.values())
    return f"held on {held} of {len(runs)} builds' models in the robustness table (seeds {', '.join(sorted(runs))})"


MIN_SEEDS = 3  # a claim is hard only where it held on every seed tried, and on at least this many


def is_robust(chapter: str, name: str) -> bool:
    """Whether the robustness table shows the claim holding on every seed, over at least MIN_SEEDS seeds."""
    return robust(list(_seed_runs(chapter, name).values()))


def robust(runs: list[dict]) -> bool:
    """The rule for a hard claim, over its runs ({"holds": ...} per seed): held on all, and on MIN_SEEDS at least."""
    return len(runs) >= MIN_SEEDS and all(r["holds"] for r in runs)


def _seed_runs(chapter: str, name: str) -> dict:
    return robustness_record().get("claims", {}).get(f"{chapter}/{name}", {}).get("seeds", {})


def robustness_record() -> dict:
    """The committed robustness record (claim x seed), or an empty one."""
    return json.loads(ROBUSTNESS_FILE.read_text()) if ROBUSTNESS_FILE.exists() else {}


def claims_dir(seed: int | None = None) -> Path:
    """Folder of the per-chapter claim records of a seed's build."""
    return results_dir(seed) / "claims"


def load_claims(chapter: str | None = None, seed: int | None = None) -> list[dict]:
    """The claims recorded by a chapter (all chapters when None) at a seed's build, as dicts."""
    folder = claims_dir(seed)
    paths = [folder / f"{chapter}.json"] if chapter else sorted(folder.glob("*.json"))
    return [entry for path in paths if path.exists() for entry in _read(path)]


def failed_claims(profile: str, seed: int | None = None, hard_only: bool = False) -> tuple[list[dict], int]:
    """(the judged claims at `profile` that did not hold, how many were judged) of a seed's build."""
    judged = [c for c in load_claims(seed=seed) if c["profile"] == profile and c["judged"]]
    failed = [c for c in judged if not c["holds"] and (is_hard(c) or not hard_only)]
    return failed, len(judged)


def _fmt(x: float) -> str:
    return f"{x:.4g}"
