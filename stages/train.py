"""DVC stages `train@<composition>`, `train_seed@<composition>-<seed>` and `train_experiment`.

    python -m stages.train grid kokoen     # -> <train.grid_dir>/kokoen, always contrastive
    python -m stages.train seed kokoen 42  # -> <train.seeds_dir>/s42/grid/kokoen (train.more_seeds)
    python -m stages.train experiment      # -> <train.experiment_dir>: `composition`, train.method
"""

from __future__ import annotations

import json

from koen.config.schema import load, seed_system, snapshot
from koen.models.profile import resolve_train
from koen.tracking.mlflow_log import begin_stage
from koen.training.run import KEYED, train
from stages import parser, run


def main(argv: list[str] | None = None) -> None:
    begin_stage()  # the MLflow runs span the stage, with its system metrics
    cli = parser("stages.train", "train one model")
    slots = cli.add_subparsers(dest="slot", required=True)
    slots.add_parser("grid", help="a composition of the grid, contrastive").add_argument(
        "composition")
    seeded = slots.add_parser("seed", help="a grid composition with a further seed")
    seeded.add_argument("composition")
    seeded.add_argument("seed", type=int)
    slots.add_parser("experiment", help="`composition` by train.method")
    args = cli.parse_args(argv)
    params = load()
    p = resolve_train(params.train, params.device)  # every `auto` for this machine
    if args.slot == "grid":
        # the grid is the composition study: always contrastive, never reused
        method, composition, seed, grid = "contrastive", args.composition, p.seed, []
        slot, out = f"grid/{composition}", p.grid_dir / composition
    elif args.slot == "seed":
        method, composition, seed, grid = "contrastive", args.composition, args.seed, []
        slot, out = seed_system(seed, composition), p.seed_dir(seed) / "grid" / composition
    else:
        method, composition, seed, grid = p.method, params.composition, p.seed, params.grid
        slot, out = "experiment", p.experiment_dir
    info = train(p, method, composition, seed, out, slot, grid, params.tracking.pending,
                 params.base_model.trust_remote_code, snapshot(params, KEYED), params.pair)
    print(json.dumps({"name": info.name, "composition": info.composition, "steps": info.steps,
                      "resumed": info.resumed, "reused_from": info.reused_from}))


if __name__ == "__main__":
    run(main)
