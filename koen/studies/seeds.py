"""Further training seeds (train.more_seeds): each seed's grid merged by every recipe, and every
one of those models indexed and evaluated on every benchmark like a system, so the report can
give the mean and spread over seeds of what the single-seed tests compare.

A model's system name is `seeds/s<seed>/<name>` (`seed_system`): its index, runs and metrics
sit under the index and evaluate directories' benchmark folders like a system's, and the report
reads them the same way.
"""

from __future__ import annotations

from pathlib import Path

from koen.config.schema import MergeDirs, Params, seed_system
from koen.errors import MissingError
from koen.evaluation.evaluate import headline, index_and_evaluate
from koen.merging.merge import merge_recipe
from koen.models.profile import resolve_merge


def seed_dirs(seed: int, params: Params) -> MergeDirs:
    root = params.train.seed_dir(seed)
    return params.merge.moved(root / "grid", root / "merged")


def merge_seed(seed: int, params: Params) -> list[str]:
    """Merge the grid trained with `seed` by every recipe; returns the recipes."""
    dirs = resolve_merge(seed_dirs(seed, params), params.device)
    missing = [c for c in params.grid if not (dirs.grid_dir / c / "model.safetensors").is_file()]
    if missing:
        raise MissingError(f"seed {seed}: no model at {dirs.grid_dir / missing[0]}; train it first "
                         f"(dvc repro train_seed@{missing[0]}-{seed})")
    for name in params.merges:
        merge_recipe(name, params.merges[name], dirs, params.seed,
                     params.base_model.trust_remote_code, params.pair)
    return list(params.merges)


def seed_models(seed: int, params: Params) -> dict[str, Path]:
    """Every model of a further seed: its grid and its merges."""
    dirs = seed_dirs(seed, params)
    return ({code: dirs.grid_dir / code for code in params.grid}
            | {name: dirs.out_dir / name for name in params.merges})


def evaluate_seed(seed: int, benchmark: str, params: Params) -> dict[str, dict[str, float]]:
    """Index and evaluate every model of a further seed on one benchmark."""
    return {name: headline(index_and_evaluate(seed_system(seed, name), model_dir, benchmark,
                                              params))
            for name, model_dir in seed_models(seed, params).items()}
