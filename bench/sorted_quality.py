"""Retrieval quality of models trained with sorted forwards against the library's forwards.

    python bench/sorted_quality.py --sorted ../sorted-clone --library ../library-clone
                                   [--out sorted_forward_quality]

Two copies of this repository, the same but for `train.sorted_forward` (the default 8 in one,
null in the other), each with `dvc repro` of the systems' evaluate stages
(`evaluate_grid@<code>-<benchmark>`) run for the systems to compare.
Compares every system both copies' dvc.lock show trained with their own setting, indexed and
evaluated in the same precision: nDCG@10 per benchmark and direction, the OVRs (paired
permutation test over queries, Holm over the systems) and the training loss step by step, as
bench/precision_quality.py does for bf16 against fp32. The two trainings run the same math but
draw their dropout masks per forward, so they differ as two dropout draws would. Writes the
figures to metrics/bench/<out>.json.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import record  # noqa: E402  (bench/record.py)
from precision_quality import (  # noqa: E402
    compare_sides,
    figures,
    lock_value,
    show,
    stage_names,
    train_stage,
)


def comparable(sorted_copy: Path, library_copy: Path, name: str, params) -> bool:  # noqa: ANN001
    """Whether `name` was trained with sorted forwards in one copy and the library's in the
    other, and trained, indexed and evaluated in the same precision in both."""
    train = train_stage(name)
    stages = {train: "train"} | {stage: step for step in ("index", "evaluate")
                                 for stage in stage_names(step, name, params)}
    same = all(lock_value(sorted_copy, stage, f"{section}.precision")
               == lock_value(library_copy, stage, f"{section}.precision") is not None
               for stage, section in stages.items())
    return (same and isinstance(lock_value(sorted_copy, train, "train.sorted_forward"), int)
            and lock_value(library_copy, train, "train.sorted_forward") is None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sorted", type=Path, required=True, help="the copy with sorted forwards")
    ap.add_argument("--library", type=Path, required=True,
                    help="the copy with train.sorted_forward: null")
    ap.add_argument("--out", default="sorted_forward_quality")
    args = ap.parse_args()

    from koen.config.schema import load

    params = load()
    systems = [n for n in params.grid if comparable(args.sorted, args.library, n, params)]
    if not systems:
        raise SystemExit(f"no grid model of {args.sorted} and {args.library} was trained with "
                         "sorted and with the library's forwards and evaluated in both")
    rows = compare_sides(params, {"sorted": args.sorted, "library": args.library}, systems)
    overall = show(rows, figures(params), ("sorted", "library"))
    record.write(args.out, {"systems": rows, "mean_abs_diff": round(overall, 3),
                            "figures": figures(params),
                            "sorted_forward": {n: lock_value(args.sorted, train_stage(n),
                                                             "train.sorted_forward")
                                               for n in systems}})


if __name__ == "__main__":
    main()
