"""DVC stages `seed@<seed>` and `seed_eval@<seed>-<benchmark>` (params train.more_seeds).

    python -m stages.seed merge 42               # -> <train.seeds_dir>/s42/merged/<recipe>
    python -m stages.seed evaluate 42 <benchmark>  # every grid model and merge of seed 42
"""

from __future__ import annotations

import json
import sys

from koen.config.schema import load
from koen.merging.seeds import evaluate_seed, merge_seed
from koen.tracking.mlflow_log import begin_stage

USAGE = "usage: python -m stages.seed merge <seed> | evaluate <seed> <benchmark>"


def main(argv: list[str] | None = None) -> None:
    begin_stage()  # the MLflow runs span the stage, with its system metrics
    args = sys.argv[1:] if argv is None else argv
    shape = (args[:1] == ["merge"] and len(args) == 2
             or args[:1] == ["evaluate"] and len(args) == 3)
    if not shape or not args[1].isdigit():
        raise SystemExit(USAGE)
    params = load()
    if args[0] == "merge":
        print(json.dumps(merge_seed(int(args[1]), params)))
    else:
        print(json.dumps(evaluate_seed(int(args[1]), args[2], params)))


if __name__ == "__main__":
    main()
