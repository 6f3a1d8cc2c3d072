"""Expected headline figures of the default run, one set per precision, checked with a tolerance.

In the spirit of Pyserini's two-click reproductions: `metrics/regression/<precision>.yaml` holds,
per system, nDCG@10 per benchmark and direction, the AVGs and OVRs, and the Multi metrics of a
real run in that precision, with the machine that made it and, per kind of figure, the tolerance
that reruns on other machines of that precision measured. A run is checked against the set of
the precision it ran in (its metrics files' `computed_on`), so a bf16 machine is not held to fp32
figures. A change that moves a number fails the check until the set is updated (`--update`), so
the commit that moves it says so.

    python -m koen.report.regression                  # this run against its precision's set
    python -m koen.report.regression --spread A B     # largest differences of two runs
    python -m koen.report.regression --update --precision bf16 --made-by "..." \
        --tolerance-from A B                              # write a set from --eval-dir
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

import yaml

from koen.errors import KoenError
from koen.evaluation.metrics import load_system, read_metrics
from koen.repro.atomic import atomic_file

SETS = Path("metrics/regression")
DEFAULT_EVAL = Path("metrics/eval")
HEADLINE = re.compile(r"^(avg_[a-z-]+|clir_ovr|mono_ovr|[^/]+/[a-z]{2}-[a-z]{2}/ndcg@10|"
                      r"[^/]+/multi/[a-z]{2}/(max@r_norm|comp@10|inclination)|[^/]+/multi/gap)$")
ROUNDING = 0.01  # metrics are rounded to 2 decimals: a rerun on the same kind agrees to this


class RegressionError(KoenError, ValueError):
    """No set for a run's precision, or a run whose precision cannot be told."""


def kind(key: str) -> str:
    """The kind of a headline figure, each with its own tolerance: Multi figures move most."""
    if "/multi/" in key:
        return "multi"
    return "ndcg" if key.endswith("/ndcg@10") else "ovr"


def headline(metrics: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in sorted(metrics.items()) if HEADLINE.match(k)}


def evaluated(eval_dir: Path) -> tuple[list[str], list[str]]:
    """The benchmarks (folders of `eval_dir`) and the systems evaluated on them."""
    benchmarks = sorted(d.name for d in eval_dir.iterdir() if d.is_dir())
    systems = sorted({p.stem for b in benchmarks for p in (eval_dir / b).glob("*.json")})
    return benchmarks, systems


def figures(eval_dir: Path) -> dict[str, dict[str, float]]:
    """Every system's headline figures in a run's evaluation folder."""
    benchmarks, names = evaluated(eval_dir)
    return {n: headline(load_system(eval_dir, n, benchmarks) or {}) for n in names}


def spread(a: Path, b: Path) -> dict[str, float]:
    """The largest difference of each kind of figure between two runs' evaluation folders."""
    fa, fb = figures(a), figures(b)
    out = {"ndcg": 0.0, "ovr": 0.0, "multi": 0.0}
    for system in fa.keys() & fb.keys():
        for key in fa[system].keys() & fb[system].keys():
            out[kind(key)] = max(out[kind(key)], abs(fa[system][key] - fb[system][key]))
    return {k: round(v, 2) for k, v in out.items()}


def tolerance_from(runs: list[Path]) -> dict[str, float]:
    """What reruns gave: the largest difference between any two of `runs`, per kind of figure,
    never below the rounding."""
    tol = dict.fromkeys(("ndcg", "ovr", "multi"), ROUNDING)
    for i, a in enumerate(runs):
        for b in runs[i + 1:]:
            for k, v in spread(a, b).items():
                tol[k] = max(tol[k], math.ceil(v * 100 - 1e-6) / 100)
    return tol


def expected_from(eval_dir: Path, precision: str, made_by: str, reruns: list[Path]) -> dict:
    """The set of a run, its tolerance measured against `reruns` of the same precision."""
    return {"precision": precision, "made_by": made_by, "eval_dir": str(eval_dir),
            "reruns": [str(r) for r in reruns], "tolerance": tolerance_from([eval_dir, *reruns]),
            "systems": figures(eval_dir)}


def check(expected: dict, eval_dir: Path) -> list[str]:
    """Every difference beyond the tolerance, a missing system or figure, as lines."""
    tolerance = expected["tolerance"]
    benchmarks, _ = evaluated(eval_dir)
    problems = []
    for system, want_figures in expected["systems"].items():
        got = load_system(eval_dir, system, benchmarks)
        if got is None:
            problems.append(f"{system}: not evaluated in {eval_dir}")
            continue
        for key, want in want_figures.items():
            tol = tolerance[kind(key)]
            if key not in got:
                problems.append(f"{system} {key}: missing (expected {want})")
            elif abs(got[key] - want) > tol + 1e-9:
                problems.append(f"{system} {key}: {got[key]} (expected {want} ± {tol})")
    return problems


def recorded_precision(eval_dir: Path) -> str:
    """The precision a run's figures came from, as its metrics files record it (`computed_on`;
    BM25's record none)."""
    records = [read_metrics(m)[1] for m in eval_dir.glob("*/*.json")]
    found = {r["precision"] for r in records if r and "precision" in r}
    if len(found) != 1:
        what = (f"figures in {sorted(found)}" if found else
                "no metrics file records its precision (none yet, or made by older code)")
        raise RegressionError(f"{eval_dir}: {what}; run `dvc repro` first, or name the set "
                              "with --precision")
    return found.pop()


def load_set(sets: Path, precision: str) -> dict:
    file = sets / f"{precision}.yaml"
    if not file.is_file():
        have = sorted(p.stem for p in sets.glob("*.yaml"))
        raise RegressionError(f"no expected figures for {precision} runs ({file}); sets: {have}")
    return yaml.safe_load(file.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m koen.report.regression",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", type=Path, default=SETS, help="folder of <precision>.yaml")
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL)
    parser.add_argument("--precision", default="auto",
                        help="the set to check against: auto (the run's own), fp32, bf16, ...")
    parser.add_argument("--spread", type=Path, nargs=2, metavar=("A", "B"),
                        help="print the largest differences of two evaluation folders")
    parser.add_argument("--update", action="store_true", help="write the set from --eval-dir")
    parser.add_argument("--made-by", default="", help="--update: the machine and command")
    parser.add_argument("--tolerance-from", type=Path, nargs="+", default=[],
                        help="--update: evaluation folders of reruns of this precision")
    args = parser.parse_args(argv)
    if args.spread:
        print(yaml.safe_dump(spread(*args.spread), sort_keys=False), end="")
        return 0
    try:
        precision = (recorded_precision(args.eval_dir) if args.precision == "auto"
                     else args.precision)
        if args.update:
            return update(args, precision)
        expected = load_set(args.sets, precision)
    except RegressionError as err:
        print(f"regression: {err}", file=sys.stderr)
        return 2
    problems = check(expected, args.eval_dir)
    for line in problems:
        print(line)
    n = sum(len(v) for v in expected["systems"].values())
    print(f"regression ({precision}, {expected['made_by']}): {n - len(problems)} of {n} "
          "figures as expected")
    return 1 if problems else 0


def update(args: argparse.Namespace, precision: str) -> int:
    out = args.sets / f"{precision}.yaml"
    with atomic_file(out) as f:
        f.write(f"# Expected headline figures of a {precision} run (python -m "
                "koen.report.regression --update)\n")
        yaml.safe_dump(expected_from(args.eval_dir, precision, args.made_by,
                                     args.tolerance_from), f, sort_keys=False)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
