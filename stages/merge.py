"""DVC stages `merge@<recipe>` (params `merges`) and the merge step of `train_experiment`.

    python -m stages.merge <recipe>      # -> <merge.out_dir>/<recipe>
    python -m stages.merge --experiment  # params `experiment_merge`: the experiment model, in place
"""

from __future__ import annotations

import json
import sys

from koen.config.schema import load
from koen.merging.merge import merge_experiment, merge_recipe
from koen.models.profile import resolve_merge

USAGE = "usage: python -m stages.merge <recipe> | --experiment"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit(USAGE)
    params = load()
    if args == ["--experiment"]:
        recipe = params.experiment_merge  # null: nothing to merge
        info = None if recipe is None else merge_experiment(
            recipe, params.train.experiment_dir, resolve_merge(params.merge, params.device))
    else:
        try:
            recipe = params.merges[args[0]]
        except KeyError:
            raise SystemExit(f"merge: no recipe {args[0]!r} in params.yaml merges "
                             f"(have: {', '.join(params.merges)})") from None
        info = merge_recipe(args[0], recipe, resolve_merge(params.merge, params.device),
                            params.seed, params.base_model.trust_remote_code)
    print(json.dumps(info))


if __name__ == "__main__":
    main()
