"""DVC stages `sweep@<name>` and `sweep_eval@<name>-<benchmark>` (params `sweeps`).

    python -m stages.sweep merge <name>                 # -> <sweep.out_dir>/<name>/w<weight>
    python -m stages.sweep evaluate <name> <benchmark>  # each weight indexed and evaluated
"""

from __future__ import annotations

import json
import sys

from koen.config.schema import load
from koen.merging.sweep import evaluate_sweep, merge_sweep
from koen.tracking.mlflow_log import begin_stage

USAGE = "usage: python -m stages.sweep merge <name> | evaluate <name> <benchmark>"


def main(argv: list[str] | None = None) -> None:
    begin_stage()  # the MLflow runs span the stage, with its system metrics
    args = sys.argv[1:] if argv is None else argv
    if not (args[:1] == ["merge"] and len(args) == 2 or args[:1] == ["evaluate"]
            and len(args) == 3):
        raise SystemExit(USAGE)
    params = load()
    if args[1] not in params.sweeps:
        raise SystemExit(f"sweep: no sweep {args[1]!r} in params.yaml sweeps "
                         f"(have: {', '.join(params.sweeps) or 'none'})")
    sweep = params.sweeps[args[1]]
    if args[0] == "merge":
        print(json.dumps(merge_sweep(args[1], sweep, params)))
    else:
        print(json.dumps(evaluate_sweep(args[1], sweep, args[2], params)))


if __name__ == "__main__":
    main()
