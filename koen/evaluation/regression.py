"""Expected headline figures of the default run, checked with a tolerance.

In the spirit of Pyserini's two-click reproductions: `metrics/regression.yaml` holds, per system,
nDCG@10 per benchmark and direction, the AVGs and OVRs, and the Multi metrics, each with the
tolerance the check allows. A change that moves a number fails the check until the file is
updated (`--update`), so the commit that moves it says so.

    python -m koen.evaluation.regression            # check metrics/eval/<benchmark>/*.json
    python -m koen.evaluation.regression --update   # write the file from them
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

from koen.evaluation.metrics import load_system
from koen.repro.atomic import atomic_file

DEFAULT_FILE = Path("metrics/regression.yaml")
DEFAULT_EVAL = Path("metrics/eval")
HEADLINE = re.compile(r"^(avg_[a-z-]+|clir_ovr|mono_ovr|[^/]+/(en-ko|ko-en|ko-ko|en-en)/ndcg@10|"
                      r"[^/]+/multi/(ko|en)/(max@r_norm|comp@10|inclination)|[^/]+/multi/gap)$")
TOLERANCE = 0.01  # metrics are rounded to 2 decimals; a rerun agrees to this


def headline(metrics: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in sorted(metrics.items()) if HEADLINE.match(k)}


def evaluated(eval_dir: Path) -> tuple[list[str], list[str]]:
    """The benchmarks (folders of `eval_dir`) and the systems evaluated on them."""
    benchmarks = sorted(d.name for d in eval_dir.iterdir() if d.is_dir())
    systems = sorted({p.stem for b in benchmarks for p in (eval_dir / b).glob("*.json")})
    return benchmarks, systems


def expected_from(eval_dir: Path) -> dict:
    benchmarks, names = evaluated(eval_dir)
    systems = {n: headline(load_system(eval_dir, n, benchmarks) or {}) for n in names}
    return {"tolerance": TOLERANCE, "systems": systems}


def check(expected: dict, eval_dir: Path) -> list[str]:
    """Every difference beyond the tolerance, a missing system or figure, as lines."""
    tolerance = expected["tolerance"]
    benchmarks, _ = evaluated(eval_dir)
    problems = []
    for system, figures in expected["systems"].items():
        got = load_system(eval_dir, system, benchmarks)
        if got is None:
            problems.append(f"{system}: not evaluated in {eval_dir}")
            continue
        for key, want in figures.items():
            if key not in got:
                problems.append(f"{system} {key}: missing (expected {want})")
            elif abs(got[key] - want) > tolerance + 1e-9:
                problems.append(f"{system} {key}: {got[key]} (expected {want} ± {tolerance})")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m koen.evaluation.regression",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL)
    parser.add_argument("--update", action="store_true", help="write the file from the metrics")
    args = parser.parse_args(argv)
    if args.update:
        with atomic_file(args.file) as f:
            f.write("# Expected headline figures of the default run (python -m "
                    "koen.evaluation.regression --update)\n")
            yaml.safe_dump(expected_from(args.eval_dir), f, sort_keys=False)
        print(f"wrote {args.file}")
        return 0
    problems = check(yaml.safe_load(args.file.read_text(encoding="utf-8")), args.eval_dir)
    for line in problems:
        print(line)
    n = sum(len(v) for v in yaml.safe_load(args.file.read_text())["systems"].values())
    print(f"regression: {n - len(problems)} of {n} figures as expected")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
