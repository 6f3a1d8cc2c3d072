"""DVC stages `sweep@<name>` and `sweep_eval@<name>-<benchmark>` (params `sweeps`).

    python -m stages.sweep merge <name>                 # -> <sweep.out_dir>/<name>/w<weight>
    python -m stages.sweep evaluate <name> <benchmark>  # each weight indexed and evaluated
"""

from __future__ import annotations

import json

from koen.config.schema import load
from koen.studies.sweep import evaluate_sweep, merge_sweep
from koen.tracking.mlflow_log import begin_stage
from stages import parser, run


def main(argv: list[str] | None = None) -> None:
    begin_stage()  # the MLflow runs span the stage, with its system metrics
    cli = parser("stages.sweep", "an interpolation sweep of params.yaml sweeps")
    steps = cli.add_subparsers(dest="step", required=True)
    steps.add_parser("merge", help="one linear merge per weight").add_argument("name")
    evaluate = steps.add_parser("evaluate", help="each weight indexed and evaluated")
    evaluate.add_argument("name")
    evaluate.add_argument("benchmark")
    args = cli.parse_args(argv)
    params = load()
    if args.name not in params.sweeps:
        cli.error(f"no sweep {args.name!r} in params.yaml sweeps "
                  f"(have: {', '.join(params.sweeps) or 'none'})")
    sweep = params.sweeps[args.name]
    if args.step == "merge":
        print(json.dumps(merge_sweep(args.name, sweep, params)))
    else:
        print(json.dumps(evaluate_sweep(args.name, sweep, args.benchmark, params)))


if __name__ == "__main__":
    run(main)
