"""Further training seeds (train.more_seeds): each seed's grid merged by every recipe, and every
one of those models indexed and evaluated on every benchmark like a system, so the report can
give the mean and spread over seeds of what the single-seed tests compare.

A model's system name is `seeds/s<seed>/<name>` (`seed_system`): its index, runs and metrics
sit under the index and evaluate directories like a system's, and the report reads them the
same way.
"""

from __future__ import annotations

from koen.config.schema import Params, seed_system
from koen.merging.merge import merge_recipe
from koen.merging.sweep import index_and_evaluate


def run_seed(seed: int, params: Params) -> dict[str, dict[str, float]]:
    """Merge, index and evaluate the grid trained with `seed`; returns each model's CLIR and
    Mono OVR."""
    root = params.train.seed_dir(seed)
    dirs = params.merge.moved(root / "grid", root / "merged")
    missing = [c for c in params.grid if not (dirs.grid_dir / c / "model.safetensors").is_file()]
    if missing:
        raise SystemExit(f"seed {seed}: no model at {dirs.grid_dir / missing[0]}; train it first "
                         f"(dvc repro train_seed@{missing[0]}-{seed})")
    models = {code: dirs.grid_dir / code for code in params.grid}
    for name in params.merges:
        merge_recipe(name, params.merges[name], dirs, params.seed)
        models[name] = dirs.out_dir / name
    return {name: index_and_evaluate(seed_system(seed, name), model_dir, params)
            for name, model_dir in models.items()}
