"""The report's paired tests and intervals against scipy's own functions doing the same work.

    python bench/significance.py [--system koenen] [--reference base] [--resamples 10000]

For each of the report's measures of one comparison (per benchmark and direction, AVGs, OVRs,
from the evaluate stages' runs under evaluate.runs_dir: `dvc repro evaluate_grid@koenen-lohelp
evaluate_base@lohelp` and the belebele ones first), times our paired permutation test and BCa
interval against `scipy.stats.permutation_test` and `scipy.stats.bootstrap` with the same
resamples, and prints both p-values and intervals beside each other. Ours shares one
resampling plan per query count across tests, as the report does; its first call pays for
drawing it, and so it counts here.
Writes metrics/bench/significance.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import record  # noqa: E402  (bench/record.py)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--system", default="koenen")
    ap.add_argument("--reference", default="base")
    ap.add_argument("--resamples", type=int, default=10_000)
    args = ap.parse_args()

    from scipy import stats

    from koen.config.schema import load
    from koen.formats.benchmark import load_task
    from koen.report.significance import (
        bootstrap_ci,
        paired_permutation,
        system_scores,
        weighted_mean,
    )

    params = load()
    runs = ROOT / params.evaluate.runs_dir
    tasks = {b: load_task(ROOT / params.benchmark.out_dir / b, params.pair)
             for b in params.benchmarks}
    for name in (args.system, args.reference):
        for b in tasks:
            if not (runs / b / name).is_dir():
                raise SystemExit(f"no runs of {name} under {runs / b}: dvc repro (its "
                                 "evaluate_* stages)")
    ours_scores = system_scores({b: runs / b / args.system for b in tasks}, tasks)
    reference = system_scores({b: runs / b / args.reference for b in tasks}, tasks)
    seed, n = params.seed, args.resamples
    spent = {"ours": 0.0, "scipy": 0.0}
    rows = {}
    for measure, (a, weights) in ours_scores.items():
        b, diff = reference[measure][0], ours_scores[measure][0] - reference[measure][0]

        def statistic(x, y, axis, w=weights):
            return weighted_mean(x - y, w, axis)

        start = time.perf_counter()
        p, ci = paired_permutation(a, b, weights, n, seed), bootstrap_ci(diff, weights, n, seed)
        spent["ours"] += time.perf_counter() - start
        start = time.perf_counter()
        scipy_p = stats.permutation_test((a, b), statistic, permutation_type="samples",
                                         vectorized=True, n_resamples=n,
                                         random_state=seed).pvalue
        scipy_ci = stats.bootstrap((diff, weights), weighted_mean, paired=True,
                                   vectorized=True, n_resamples=n,
                                   random_state=seed).confidence_interval
        spent["scipy"] += time.perf_counter() - start
        rows[measure] = {"queries": len(a), "p": round(p, 5), "scipy_p": round(float(scipy_p), 5),
                         "ci": [round(x, 3) for x in ci],
                         "scipy_ci": [round(float(scipy_ci.low), 3),
                                      round(float(scipy_ci.high), 3)]}
        print(f"{measure:22} n={len(a):5}  p {p:.4f} vs scipy {scipy_p:.4f}   "
              f"CI [{ci[0]:+.2f}, {ci[1]:+.2f}] vs scipy [{scipy_ci.low:+.2f}, "
              f"{scipy_ci.high:+.2f}]")
    ratio = spent["scipy"] / spent["ours"]
    print(f"{len(rows)} tests + intervals: ours {spent['ours']:.2f} s, scipy {spent['scipy']:.2f} s"
          f" -> {ratio:.1f}x")
    record.write("significance", {"system": args.system, "reference": args.reference,
                                  "resamples": n, "seconds": {k: round(v, 2)
                                                              for k, v in spent.items()},
                                  "ratio": round(ratio, 1), "measures": rows})


if __name__ == "__main__":
    main()
