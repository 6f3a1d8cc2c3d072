"""Which significance calls hold whatever the machine: the committed run's tests against runs of
the same study on other kinds of machine (fp32 on another CPU, bf16 on two).

A call is robust when every run makes it the same way: significant in all with the same sign, or
significant in none. A call that flips is reported as not robust, and so is one whose
Holm-corrected p lies within the band [alpha / 2, 2 alpha] in any run, where a rerun on
another machine can tip it. The README and the results page claim only robust calls.

    python -m koen.report.robustness metrics/significance.json \
        metrics/reference/fp32-avx2/significance.json \
        metrics/reference/bf16-avx512/significance.json \
        metrics/reference/bf16-amx/significance.json --out metrics/robustness.md
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from koen.repro.atomic import atomic_file

ALPHA = 0.05
BAND = (ALPHA / 2, 2 * ALPHA)


@dataclass(frozen=True)
class Call:
    key: str
    delta: tuple[float, ...]  # one per run
    p_holm: tuple[float, ...]

    def significant(self, i: int) -> bool:
        return self.p_holm[i] < ALPHA

    @property
    def flips(self) -> bool:
        calls = {(self.significant(i), self.significant(i) and d > 0)
                 for i, d in enumerate(self.delta)}
        return len(calls) > 1

    @property
    def borderline(self) -> bool:
        return any(BAND[0] <= p <= BAND[1] for p in self.p_holm)

    @property
    def robust(self) -> bool:
        return not self.flips and not self.borderline


def calls(*runs: dict) -> list[Call]:
    """The tests every run made (confidence intervals, which have no p, are left out)."""
    keys = set.intersection(*(set(r) for r in runs))
    return [Call(k, tuple(r[k]["delta"] for r in runs), tuple(r[k]["p_holm"] for r in runs))
            for k in sorted(keys) if all("p_holm" in r[k] for r in runs)]


def mark(call: Call) -> str:
    """The README's mark for a call: † significant in every run and robust, ° not robust."""
    if not call.robust:
        return "°"
    return "†" if call.significant(0) else ""


def markdown(found: list[Call], names: list[str]) -> str:
    flips = [c for c in found if c.flips]
    border = [c for c in found if c.borderline and not c.flips]
    runs = " ".join(names)
    lines = [
        "# Significance calls across machines",
        "",
        f"`python -m koen.report.robustness {runs}`: {len(found)} paired tests made in all "
        f"{len(names)} runs; {len(flips)} flip (significant at p < {ALPHA} after Holm in some "
        f"runs only, or with opposite signs), {len(border)} more lie in the band "
        f"{BAND[0]} <= p <= {BAND[1]} in a run. The other {len(found) - len(flips) - len(border)} "
        "are robust: the same call on every kind of machine.",
        "",
        "Runs, in the order of the columns: " + ", ".join(f"({i + 1}) `{n}`"
                                                      for i, n in enumerate(names)) + ".",
        "",
        "| test | delta | p Holm | |",
        "|---|---|---|---|",
    ]
    for c in flips + border:
        deltas = " / ".join(f"{d:+.2f}" for d in c.delta)
        ps = " / ".join(f"{p:.3f}" for p in c.p_holm)
        lines.append(f"| {c.key} | {deltas} | {ps} | {'flips' if c.flips else 'borderline'} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m koen.report.robustness",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, nargs="+",
                        help="significance.json of each run, the committed one first")
    parser.add_argument("--out", type=Path, help="write the table here (default: print)")
    args = parser.parse_args(argv)
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in args.runs]
    text = markdown(calls(*runs), [str(p) for p in args.runs])
    if args.out is None:
        print(text, end="")
        return 0
    with atomic_file(args.out) as f:
        f.write(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
