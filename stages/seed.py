"""DVC stages `seed@<seed>` and `seed_eval@<seed>-<benchmark>` (params train.more_seeds).

    python -m stages.seed merge 42               # -> <train.seeds_dir>/s42/merged/<recipe>
    python -m stages.seed evaluate 42 <benchmark>  # every grid model and merge of seed 42
"""

from __future__ import annotations

import json

from koen.config.schema import load
from koen.studies.seeds import evaluate_seed, merge_seed
from koen.tracking.mlflow_log import begin_stage
from stages import parser, run


def main(argv: list[str] | None = None) -> None:
    begin_stage()  # the MLflow runs span the stage, with its system metrics
    cli = parser("stages.seed", "a further training seed's grid, merged and evaluated")
    steps = cli.add_subparsers(dest="step", required=True)
    steps.add_parser("merge", help="the seed's grid merged by every recipe").add_argument(
        "seed", type=int)
    evaluate = steps.add_parser("evaluate", help="its grid and merges indexed and evaluated")
    evaluate.add_argument("seed", type=int)
    evaluate.add_argument("benchmark")
    args = cli.parse_args(argv)
    params = load()
    if args.step == "merge":
        print(json.dumps(merge_seed(args.seed, params)))
    else:
        print(json.dumps(evaluate_seed(args.seed, args.benchmark, params)))


if __name__ == "__main__":
    run(main)
