"""Stage `merge`: build one merged model from a recipe in `params.yaml` `merges`.

    python -m stages.merge <recipe>      # -> models/merged/<recipe>  (dvc.yaml: merge@<recipe>)
    python -m stages.merge --experiment  # params `experiment_merge`: models/experiment, in place

Recipes name models (`base` or grid compositions) with weights. Everything is checked before
any tensor is loaded: method, names, weights, and that all models share architecture and
tokenizer.

`experiment_merge` (null: nothing to do) is a recipe whose models name `experiment`: the
train_experiment stage runs it after training, so an aligned or composition model can be
averaged with base or grid models (`dvc exp run -S 'experiment_merge={...}'`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from safetensors.torch import load_file, save_file

from stages.atomic import atomic_dir
from stages.merging import METHODS, NEEDS_BASE
from stages.params import ParamsError, load_params, parse, section

WEIGHTS = "model.safetensors"


@dataclass
class MergeDirs:
    base: Path
    grid_dir: Path
    out_dir: Path


@dataclass
class Recipe:
    method: str
    models: list[str]
    weights: list[float] = field(default_factory=list)
    density: float = 0.2
    scale: float = 1.0  # lambda of task arithmetic / TIES

    def validate(self, where: str) -> None:
        if self.method not in METHODS:
            raise ParamsError(f"params.yaml: '{where}.method' is {self.method!r}; allowed: "
                              f"{', '.join(METHODS)}")
        if len(self.models) < 1 or len(set(self.models)) != len(self.models):
            raise ParamsError(f"params.yaml: '{where}.models' must list distinct models")
        if not self.weights:
            self.weights = [1 / len(self.models)] * len(self.models)
        if len(self.weights) != len(self.models):
            raise ParamsError(f"params.yaml: '{where}.weights' has {len(self.weights)} values "
                              f"for {len(self.models)} models")
        if self.method == "linear" and abs(sum(self.weights) - 1) > 1e-6:
            raise ParamsError(f"params.yaml: '{where}.weights' of a linear merge must sum to 1, "
                              f"got {sum(self.weights):g}")
        if self.method in NEEDS_BASE and "base" in self.models:
            raise ParamsError(f"params.yaml: '{where}': {self.method} is relative to base; "
                              "do not list base among its models")
        if not 0 < self.density <= 1:
            raise ParamsError(f"params.yaml: '{where}.density' must be in (0, 1]")


def resolve(name: str, dirs: MergeDirs, grid: list[str], where: str) -> Path:
    if name == "base":
        return dirs.base
    if name not in grid:
        raise ParamsError(f"params.yaml: '{where}.models' names unknown model {name!r}; "
                          f"known: base, {', '.join(grid)}")
    return dirs.grid_dir / name


def signature(model_dir: Path) -> tuple[str, str]:
    """(architecture config, tokenizer) digests: models merge only when both agree."""
    config = json.loads((model_dir / "config.json").read_text())
    # not architecture: provenance, storage dtype, and generation ids that training fills in
    for volatile in ("_name_or_path", "transformers_version", "dtype", "torch_dtype",
                     "bos_token_id", "eos_token_id"):
        config.pop(volatile, None)
    tok = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
    for runtime in ("truncation", "padding"):  # set by whoever saved last, not the vocabulary
        tok.pop(runtime, None)
    tok_digest = hashlib.sha256(json.dumps(tok, sort_keys=True).encode()).hexdigest()
    return json.dumps(config, sort_keys=True), tok_digest


def check_compatible(paths: list[Path]) -> None:
    missing = [p for p in paths if not (p / WEIGHTS).is_file()]
    if missing:
        raise SystemExit(f"merge: no {WEIGHTS} in {missing[0]}; build it first (dvc repro)")
    first = signature(paths[0])
    for p in paths[1:]:
        config, tok = signature(p)
        if config != first[0]:
            raise SystemExit(f"merge: {p} has another architecture than {paths[0]}")
        if tok != first[1]:
            raise SystemExit(f"merge: {p} has another tokenizer than {paths[0]}")


def merge(recipe: Recipe, paths: list[Path], base: Path | None, out: Path,
          keep_train_info: bool = False) -> dict:
    """Write the merge of `paths` to `out` (tokenizer and config from the first model). With
    `keep_train_info`, the first model's training record is kept, with the merge added."""
    check_compatible(paths + ([base] if base else []))
    states = [load_file(str(p / WEIGHTS)) for p in paths]
    base_state = load_file(str(base / WEIGHTS)) if base else None
    merged = METHODS[recipe.method](states, recipe.weights, base_state,
                                    {"density": recipe.density, "lambda": recipe.scale})
    with atomic_dir(out) as tmp:
        shutil.copytree(paths[0], tmp, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
            "train_info.json", WEIGHTS))
        save_file({k: v.contiguous() for k, v in merged.items()}, str(tmp / WEIGHTS),
                  metadata={"format": "pt"})
        info = {"name": out.name, "method": recipe.method, "models": recipe.models,
                "weights": recipe.weights, "density": recipe.density, "scale": recipe.scale}
        (tmp / "merge_info.json").write_text(json.dumps(info, indent=2))
        if keep_train_info:
            train_info = json.loads((paths[0] / "train_info.json").read_text())
            (tmp / "train_info.json").write_text(json.dumps(train_info | {"merge": info},
                                                            indent=2))
    return info


def merge_experiment(params: dict) -> dict | None:
    """Merge the experiment model in place by the `experiment_merge` recipe, if there is one."""
    spec = params.get("experiment_merge")
    if spec is None:
        return None
    recipe = parse(Recipe, spec, "experiment_merge")
    if recipe.models[0] != "experiment":
        raise ParamsError("params.yaml: 'experiment_merge.models' must start with `experiment` "
                          "(the model the train_experiment stage trains)")
    exp = Path(params["train"]["experiment_dir"])
    if "merge" in json.loads((exp / "train_info.json").read_text()):
        raise SystemExit(f"merge: {exp} is already merged; rerun its training (dvc repro -f "
                         "train_experiment)")
    dirs = section(MergeDirs, params, "merge")
    grid = [str(g) for g in params.get("grid", [])]
    paths = [exp] + [resolve(m, dirs, grid, "experiment_merge") for m in recipe.models[1:]]
    base = dirs.base if recipe.method in NEEDS_BASE else None
    return merge(recipe, paths, base, exp, keep_train_info=True)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m stages.merge <recipe> | --experiment")
    params = load_params()
    if args == ["--experiment"]:
        print(json.dumps(merge_experiment(params)))
        return
    dirs = section(MergeDirs, params, "merge")
    recipes = params.get("merges") or {}
    if args[0] not in recipes:
        raise SystemExit(f"merge: no recipe {args[0]!r} in params.yaml merges "
                         f"(have: {', '.join(recipes)})")
    where = f"merges.{args[0]}"
    recipe = parse(Recipe, recipes[args[0]], where)
    grid = [str(g) for g in params.get("grid", [])]
    paths = [resolve(m, dirs, grid, where) for m in recipe.models]
    base = dirs.base if recipe.method in NEEDS_BASE else None
    print(json.dumps(merge(recipe, paths, base, dirs.out_dir / args[0])))


if __name__ == "__main__":
    main()
