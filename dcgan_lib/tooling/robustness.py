"""The robustness table: every claim of the book, per seed of its models, from the builds' recorded claims.

    make book SEED=1 STRICT=1                                 # a build of the book trained from seed 1 (likewise 0, 2)
    python -m dcgan_lib.tooling.robustness --seeds 0 1 2      # = make robustness: the table, from their records

Another CPU, thread count or seed trains another generator, and a claim about *a trained DCGAN* must hold for
any of them. This reads each seed's recorded claims (the store's metrics/ or metrics-seed<s>/ folder), writes
the committed record `dcgan_lib/core/robustness.json` (the appendix *How robust is each claim* shows it, and
`results.claim` reads it to tell a hard claim from a verdict), and prints the table.
`claims_summary` is what a build says at its end of the claims its own models missed, the hard ones apart.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from dcgan_lib.core import results
from dcgan_lib.tooling.timings import cpu_name


def collect(seeds: list[int], profile: str = "book", builds: dict | None = None, earlier: dict | None = None) -> dict:
    """The record: for each claim judged at `profile` in any seed's build, its value, bar and verdict per seed.
    A claim a build recorded without judging it (a timed claim on a busy machine) keeps that seed's entry from
    the `earlier` record, if it has one, marked with why this build did not judge it."""
    claims: dict[str, dict] = {}
    for seed in seeds:
        for c in results.load_claims(seed=seed):
            key = f"{c['chapter']}/{c['name']}"
            if c["profile"] != profile:
                continue
            run = {"value": c["value"], "bar": c["bar"], "holds": c["holds"]} if c["judged"] else \
                _kept(earlier, key, seed, c.get("unjudged_because"))
            if run is None:
                continue
            entry = claims.setdefault(key, {"chapter": c["chapter"], "name": c["name"], "statement": c["statement"],
                                            "op": c["op"], "was": c.get("was"), "seeds": {}})
            entry["seeds"][str(seed)] = run
    for entry in claims.values():
        runs = entry["seeds"].values()
        entry["held"] = sum(r["holds"] for r in runs)
        entry["kind"] = "hard" if results.robust(list(runs)) else "verdict"
    return {"profile": profile, "seeds": seeds, "machine": cpu_name(), "written": time.strftime("%Y-%m-%d"),
            "builds": builds or {}, "claims": dict(sorted(claims.items()))}


def _kept(earlier: dict | None, key: str, seed: int, unjudged_because: str | None) -> dict | None:
    """The earlier record's entry for a claim at a seed, when this build recorded the claim unjudged."""
    run = ((earlier or {}).get("claims", {}).get(key) or {}).get("seeds", {}).get(str(seed))
    if run is None or not unjudged_because:
        return None
    return {**run, "kept": f"from an earlier build: this one did not judge it ({unjudged_because})"}


def table(record: dict) -> str:
    """The record as a Markdown table: a row per claim, a column per seed, the bar, held on k of n, the kind."""
    seeds = [str(s) for s in record["seeds"]]
    rows = ["| claim | bar | " + " | ".join(f"seed {s}" for s in seeds) + " | held | kind |",
            "|---|---|" + "---|" * len(seeds) + "---|---|"]
    for key, c in record["claims"].items():
        bars = {f"{r['bar']:.4g}" for r in c["seeds"].values()}
        bar = f"{c['op']} {bars.pop()}" if len(bars) == 1 else f"{c['op']} a measured control"
        if c.get("was"):
            bar += f" (was {c['was']})"
        cells = []
        for s in seeds:
            r = c["seeds"].get(s)
            cells.append("–" if r is None else f"{r['value']:.4g}" + ("" if r["holds"] else " ✗")
                         + (" (an earlier build)" if r.get("kept") else ""))
        rows.append(f"| {_cell(key + ': ' + c['statement'])} | {_cell(bar)} | " + " | ".join(cells)
                    + f" | {c['held']} of {len(c['seeds'])} | {c['kind']} |")
    return "\n".join(rows)


def _cell(text: str) -> str:
    """Text for a Markdown table cell: a pipe in it (|x|) would end the cell."""
    return text.replace("|", "\\|")


def claims_summary(profile: str, seed: int, strict: bool) -> tuple[str, bool]:
    """(what the build says of its claims at the end, whether `--strict` fails it): the claims that did not hold
    on this build's models, the hard ones apart."""
    failed, judged = results.failed_claims(profile, seed)
    hard = [c for c in failed if results.is_hard(c)]
    if not failed:
        return f"All {judged} claims held on this build's models (seed {seed}).", False
    lines = [f"{len(failed)} of {judged} claims did not hold on this build's models (seed {seed}); "
             f"{len(hard)} of them hard claims:"]
    lines += [f"  {'hard   ' if results.is_hard(c) else 'verdict'} {c['chapter']}/{c['name']}: {c['value']:.4g} "
              f"{c['op']} {c['bar']:.4g} missed ({c['statement']})" for c in failed]
    if hard:
        lines.append("A hard claim held on every seed tried in the robustness table: one that fails here is news; "
                     "see the chapter's page" + ("" if strict else " (--strict or STRICT=1 makes this an error)."))
    return "\n".join(lines), strict and bool(hard)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m dcgan_lib.tooling.robustness",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="the builds' seeds (default 0 1 2)")
    parser.add_argument("--profile", default="book")
    parser.add_argument("--builds", default=None,
                        help="a JSON file of each build's wall time and load, {seed: {...}}, kept in the record")
    parser.add_argument("--print-only", action="store_true", help="print the table; do not write the record")
    args = parser.parse_args(argv)
    if any(s < 0 for s in args.seeds):
        parser.error(f"--seeds {args.seeds}: give whole numbers of at least 0")
    builds = json.loads(open(args.builds).read()) if args.builds else None
    earlier = json.loads(results.ROBUSTNESS_FILE.read_text()) if results.ROBUSTNESS_FILE.exists() else None
    record = collect(args.seeds, args.profile, builds, earlier)
    if not record["claims"]:
        print(f"No claims recorded at the {args.profile} profile for seeds {args.seeds}: run `make book SEED=s` "
              f"for each first.", file=sys.stderr)
        return 1
    print(table(record))
    if not args.print_only:
        results.ROBUSTNESS_FILE.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
        print(f"written: {results.ROBUSTNESS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
