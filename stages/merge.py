"""DVC stages `merge@<recipe>` (params `merges`) and the merge step of `train_experiment`.

    python -m stages.merge <recipe>      # -> <merge.out_dir>/<recipe>
    python -m stages.merge --experiment  # params `experiment_merge`: the experiment model, in place
"""

from __future__ import annotations

import json

from koen.config.schema import load
from koen.merging.merge import merge_experiment, merge_recipe
from koen.models.profile import resolve_merge
from stages import parser, run


def main(argv: list[str] | None = None) -> None:
    cli = parser("stages.merge", "merge models by a recipe of params.yaml merges")
    which = cli.add_mutually_exclusive_group(required=True)
    which.add_argument("recipe", nargs="?", help="a recipe of params.yaml merges")
    which.add_argument("--experiment", action="store_true",
                       help="merge the experiment model by experiment_merge (null: nothing)")
    args = cli.parse_args(argv)
    params = load()
    if args.experiment:
        recipe = params.experiment_merge  # null: nothing to merge
        info = None if recipe is None else merge_experiment(
            recipe, params.train.experiment_dir, resolve_merge(params.merge, params.device))
    else:
        if args.recipe not in params.merges:
            cli.error(f"no recipe {args.recipe!r} in params.yaml merges "
                      f"(have: {', '.join(params.merges)})")
        info = merge_recipe(args.recipe, params.merges[args.recipe],
                            resolve_merge(params.merge, params.device), params.seed,
                            params.base_model.trust_remote_code, params.pair)
    print(json.dumps(info))


if __name__ == "__main__":
    run(main)
