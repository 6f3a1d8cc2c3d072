"""Which significance calls hold whatever the machine: the committed run's tests against a run of
the same study in the other precision.

A call is robust when both runs make it the same way: significant in both with the same sign, or
significant in neither. A call that flips is reported as not robust, and so is one whose
Holm-corrected p lies within the band [alpha / 2, 2 alpha] in either run, where a rerun on
another machine can tip it. The README and the results page claim only robust calls.

    python -m koen.evaluation.robustness metrics/significance.json \
        metrics/reference/bf16-avx512/significance.json --out metrics/robustness.md
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
    delta: tuple[float, float]
    p_holm: tuple[float, float]

    def significant(self, i: int) -> bool:
        return self.p_holm[i] < ALPHA

    @property
    def flips(self) -> bool:
        a, b = self.significant(0), self.significant(1)
        return a != b or (a and b and (self.delta[0] > 0) != (self.delta[1] > 0))

    @property
    def borderline(self) -> bool:
        return any(BAND[0] <= p <= BAND[1] for p in self.p_holm)

    @property
    def robust(self) -> bool:
        return not self.flips and not self.borderline


def calls(a: dict, b: dict) -> list[Call]:
    """The tests both runs made (confidence intervals, which have no p, are left out)."""
    return [Call(k, (a[k]["delta"], b[k]["delta"]), (a[k]["p_holm"], b[k]["p_holm"]))
            for k in sorted(a.keys() & b.keys()) if "p_holm" in a[k] and "p_holm" in b[k]]


def mark(call: Call) -> str:
    """The README's mark for a call: † significant in both runs and robust, ° not robust."""
    if not call.robust:
        return "°"
    return "†" if call.significant(0) else ""


def markdown(found: list[Call], names: tuple[str, str]) -> str:
    flips = [c for c in found if c.flips]
    border = [c for c in found if c.borderline and not c.flips]
    lines = [
        "# Significance calls across precisions",
        "",
        f"`python -m koen.evaluation.robustness {names[0]} {names[1]}`: {len(found)} paired "
        f"tests made in both runs; {len(flips)} flip (significant at p < {ALPHA} after Holm "
        f"in one run only, or with opposite signs), {len(border)} more lie in the band "
        f"{BAND[0]} <= p <= {BAND[1]} in a run. The other {len(found) - len(flips) - len(border)} "
        "are robust: the same call on either kind of machine.",
        "",
        "| test | delta (first) | p Holm (first) | delta (second) | p Holm (second) | |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for c in flips + border:
        lines.append(f"| {c.key} | {c.delta[0]:+.2f} | {c.p_holm[0]:.3f} | {c.delta[1]:+.2f} "
                     f"| {c.p_holm[1]:.3f} | {'flips' if c.flips else 'borderline'} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m koen.evaluation.robustness",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("first", type=Path, help="significance.json of one run")
    parser.add_argument("second", type=Path, help="significance.json of the other")
    parser.add_argument("--out", type=Path, help="write the table here (default: print)")
    args = parser.parse_args(argv)
    first, second = (json.loads(p.read_text(encoding="utf-8")) for p in (args.first, args.second))
    text = markdown(calls(first, second),
                    (str(args.first), str(args.second)))
    if args.out is None:
        print(text, end="")
        return 0
    with atomic_file(args.out) as f:
        f.write(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
