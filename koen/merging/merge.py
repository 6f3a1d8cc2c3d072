"""Build a merged model from a recipe, after checking that its models can be merged.

Everything is checked before any tensor is loaded: that every model exists and that all share
architecture and tokenizer (the recipe itself is checked when params.yaml is loaded).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

import sentence_transformers
from safetensors.torch import load_file, save_file
from sentence_transformers import SentenceTransformer

from koen.config.languages import Pair
from koen.config.methods import LIBRARY, LIBRARY_NEEDS_BASE, NEEDS_BASE
from koen.config.schema import BASE, MergeDirs, Recipe
from koen.errors import KoenError, MissingError
from koen.formats.train_info import TrainInfo
from koen.merging.cocktail import cocktail_weights
from koen.merging.methods import METHODS
from koen.models.load import load_model
from koen.models.machine import computed_on
from koen.repro.atomic import atomic_dir
from koen.repro.provenance import MERGE_INFO, TRAIN_INFO

WEIGHTS = "model.safetensors"
GENERATION_IDS = ("bos_token_id", "eos_token_id")  # set by training, unused by an encoder


def resolve(name: str, dirs: MergeDirs) -> Path:
    """A recipe's model name (base or a grid code, checked with the params) -> its directory."""
    return dirs.base if name == BASE else dirs.grid_dir / name


def signature(model_dir: Path) -> tuple[str, str]:
    """(architecture config, tokenizer) digests: models merge only when both agree."""
    config = json.loads((model_dir / "config.json").read_text())
    # not architecture: provenance, storage dtype, and generation ids that training fills in
    for volatile in ("_name_or_path", "transformers_version", "dtype", "torch_dtype",
                     *GENERATION_IDS):
        config.pop(volatile, None)
    tok = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
    for runtime in ("truncation", "padding"):  # set by whoever saved last, not the vocabulary
        tok.pop(runtime, None)
    tok_digest = hashlib.sha256(json.dumps(tok, sort_keys=True).encode()).hexdigest()
    return json.dumps(config, sort_keys=True), tok_digest


def check_compatible(paths: list[Path]) -> None:
    missing = [p for p in paths if not (p / WEIGHTS).is_file()]
    if missing:
        raise MissingError(f"merge: no {WEIGHTS} in {missing[0]}; build it first (dvc repro)")
    first = signature(paths[0])
    for p in paths[1:]:
        config, tok = signature(p)
        if config != first[0]:
            raise KoenError(f"merge: {p} has another architecture than {paths[0]}")
        if tok != first[1]:
            raise KoenError(f"merge: {p} has another tokenizer than {paths[0]}")


def merge(recipe: Recipe, paths: list[Path], base: Path | None, out: Path,
          keep_train_info: bool = False) -> dict:
    """Write the merge of `paths` by `recipe` to `out` (see `merge_models`)."""
    return merge_models(recipe.method, recipe.models, recipe.merge_weights(), recipe.options(),
                        paths, base, out, keep_train_info)


def merge_models(method: str, models: list[str], weights: list[float],
                 options: dict[str, float], paths: list[Path], base: Path | None, out: Path,
                 keep_train_info: bool = False, record: dict[str, Any] | None = None) -> dict:
    """Write the merge of `paths` (named `models`) to `out` (tokenizer and config from the
    first model); `merge_info.json` holds the recipe and `record` (how the weights were set).
    With `keep_train_info`, the first model's training record is kept, with the merge added."""
    check_compatible(paths + ([base] if base else []))
    states = [load_file(str(p / WEIGHTS)) for p in paths]
    base_state = load_file(str(base / WEIGHTS)) if base else None
    merged = METHODS[method](states, weights, base_state, options)
    with atomic_dir(out) as tmp:
        shutil.copytree(paths[0], tmp, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
            TRAIN_INFO, WEIGHTS))
        save_file({k: v.contiguous() for k, v in merged.items()}, str(tmp / WEIGHTS),
                  metadata={"format": "pt"})
        info = {"name": out.name, "method": method, "models": models, "weights": weights,
                **options, **(record or {})}
        (tmp / MERGE_INFO).write_text(json.dumps(info, indent=2))
        if keep_train_info:
            replace(TrainInfo.read(paths[0] / TRAIN_INFO), merge=info).write(tmp / TRAIN_INFO)
    return info


def library_merge(method: str, models: list[str], parameters: dict[str, Any], paths: list[Path],
                  base: Path | None, out: Path, trust_remote_code: bool) -> dict:
    """A sentence-transformers/mergekit method (`SentenceTransformer.merge`) into `out`."""
    check_compatible(paths + ([base] if base else []))
    loaded = [load_model(p, "cpu", trust_remote_code) for p in [*paths, *([base] if base
                                                                          else [])]]
    # Training fills in generation ids that base lacks (null); sentence-transformers refuses
    # models whose configs differ at all, and an encoder never reads them.
    first = loaded[0][0].auto_model.config
    for model in loaded[1:]:
        for key in GENERATION_IDS:
            setattr(model[0].auto_model.config, key, getattr(first, key, None))
    merged = SentenceTransformer.merge(loaded[:len(paths)], method,
                                       base_model=loaded[-1] if base else None,
                                       parameters=parameters or None)
    with atomic_dir(out) as tmp:
        merged.save(str(tmp), safe_serialization=True)
        info = {"name": out.name, "method": method, "models": models, "parameters": parameters,
                "library": f"sentence-transformers {sentence_transformers.__version__}, "
                           f"mergekit {version('mergekit')}"}
        (tmp / MERGE_INFO).write_text(json.dumps(info, indent=2))
    return info


def merge_experiment(recipe: Recipe, experiment: Path, dirs: MergeDirs) -> dict:
    """Merge the experiment model in place by the `experiment_merge` recipe."""
    if TrainInfo.read(experiment / TRAIN_INFO).merge is not None:
        raise KoenError(f"merge: {experiment} is already merged; rerun its training "
                         "(dvc repro -f -s train_experiment)")
    paths = [experiment] + [resolve(m, dirs) for m in recipe.models[1:]]
    base = dirs.base if recipe.method in NEEDS_BASE else None
    return merge(recipe, paths, base, experiment, keep_train_info=True)


def merge_recipe(name: str, recipe: Recipe, dirs: MergeDirs, seed: int,
                 trust_remote_code: bool, pair: Pair) -> dict:
    """Merge the models of recipe `name` into `dirs.out_dir / name` (cocktail: with the
    weights its examples give, recorded with each model's losses)."""
    paths = [resolve(m, dirs) for m in recipe.models]
    base = dirs.base if recipe.method in NEEDS_BASE | LIBRARY_NEEDS_BASE else None
    if recipe.method in LIBRARY:
        return library_merge(recipe.method, recipe.models, recipe.parameters or {}, paths, base,
                             dirs.out_dir / name, trust_remote_code)
    if recipe.method != "cocktail":
        return merge(recipe, paths, base, dirs.out_dir / name)
    check_compatible(paths)
    weights, losses = cocktail_weights(paths, dirs.cocktail, recipe.examples, recipe.temperature,
                                       seed, trust_remote_code, pair)
    print("cocktail weights: " + ", ".join(f"{m} {w:.3f}" for m, w in
                                           zip(recipe.models, weights, strict=True)))
    machine = computed_on(dirs.cocktail.device, dirs.cocktail.precision)
    return merge_models("cocktail", recipe.models, weights, recipe.options(), paths, None,
                        dirs.out_dir / name, record={"losses": losses, "computed_on": machine})
