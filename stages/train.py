"""DVC stages `train@<composition>`, `train_seed@<composition>-<seed>` and `train_experiment`.

    python -m stages.train grid kokoen     # -> <train.grid_dir>/kokoen, always contrastive
    python -m stages.train seed kokoen 42  # -> <train.seeds_dir>/s42/grid/kokoen (train.more_seeds)
    python -m stages.train experiment      # -> <train.experiment_dir>: `composition`, train.method
"""

from __future__ import annotations

import json
import sys

from koen.config.schema import load, seed_system
from koen.data.compositions import CompositionError
from koen.models.profile import resolve_train
from koen.tracking.mlflow_log import begin_stage
from koen.training.run import train

USAGE = ("usage: python -m stages.train grid <composition> | seed <composition> <seed> | "
         "experiment")


def main(argv: list[str] | None = None) -> None:
    begin_stage()  # the MLflow runs span the stage, with its system metrics
    args = sys.argv[1:] if argv is None else argv
    params = load()
    p = resolve_train(params.train, params.device)  # every `auto` for this machine
    if args[:1] == ["grid"] and len(args) == 2:
        # the grid is the composition study: always contrastive, never reused
        method, composition, slot, out, grid = "contrastive", args[1], f"grid/{args[1]}", \
            p.grid_dir / args[1], []
        seed = p.seed
    elif args[:1] == ["seed"] and len(args) == 3 and args[2].isdigit():
        seed = int(args[2])
        method, composition, grid = "contrastive", args[1], []
        slot, out = seed_system(seed, args[1]), p.seed_dir(seed) / "grid" / args[1]
    elif args == ["experiment"]:
        method, composition, slot, out = p.method, params.composition, "experiment", \
            p.experiment_dir
        grid, seed = params.grid, p.seed
    else:
        raise SystemExit(USAGE)
    try:
        info = train(p, method, composition, seed, out, slot, grid,
                     params.tracking.pending, params.base_model.trust_remote_code)
    except CompositionError as err:
        raise SystemExit(f"train: {err}") from None
    print(json.dumps({k: info.get(k) for k in ("name", "composition", "steps", "resumed",
                                                "reused_from")}))


if __name__ == "__main__":
    main()
