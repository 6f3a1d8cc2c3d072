"""One source for every key: an evaluation's MLflow key and a training's fingerprint change
with every param its dvc.yaml stage declares and every code file its command imports, the
inputs DVC hashes for it, so no rerun can be mistaken for the run before it."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from project_deps import stages

from koen.config.parse import ParamsError, parse
from koen.config.schema import Params, snapshot
from koen.evaluation.evaluate import run_key
from koen.models.profile import resolve_train
from koen.repro.closure import closure, code_digest
from koen.training.run import KEYED, fingerprint

ROOT = Path(__file__).resolve().parents[1]
RAW = yaml.safe_load((ROOT / "params.yaml").read_text())
EVALUATE = ("evaluate_base@lohelp", "evaluate_grid@koenen-belebele", "evaluate_shift@lohelp",
            "evaluate_bm25@lohelp", "evaluate_hybrid@belebele", "evaluate_merge@grid-avg-lohelp")
TRAIN = ("train@koenen", "train_experiment")
# train_experiment's second command merges: `merge` and `experiment_merge` key that merge, not
# the training; `grid` only says which grid models the experiment may reuse
NOT_TRAINING = {"merge", "experiment_merge", "grid"}
WORDS = ["cpu", "fp32", "bf16", "fp16", "auto", "eager", "sdpa", "align", "contrastive", "ko",
         "kokoko+enenen"]


def get(tree: dict, key: str) -> Any:
    for part in key.split("."):
        tree = tree[part]
    return tree


def put(tree: dict, key: str, value: Any) -> dict:
    out = copy.deepcopy(tree)
    *path, last = key.split(".")
    node = out
    for part in path:
        node = node[part]
    node[last] = value
    return out


def candidates(value: Any) -> list[Any]:
    """Other values of the same kind, the likeliest to be valid first."""
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, value * 2, value - 1]
    if isinstance(value, float):
        return [x for x in (value / 2, value + 0.1) if x != value]
    if isinstance(value, str):
        if "/" in value:  # a path
            return [value + "-x"]
        return [w for w in WORDS if w != value] + [value + "-x", 8, True, None]
    if isinstance(value, list):
        return [value[:-1], value[::-1]]
    if value is None:
        return [1, 1000, 0.5, "cpu", "fp32", True, ["ko"]]
    return []


def changed(raw: dict, key: str) -> list[tuple[str, Params]]:
    """Valid params files that differ from `raw` in one leaf under `key` each (a section: its
    first leaf that can change)."""
    value = get(raw, key)
    if isinstance(value, dict):
        for sub in value:
            if found := changed(raw, f"{key}.{sub}"):
                return found[:1]
        return []
    for other in candidates(value):
        try:
            return [(f"{key}={other!r}", parse(Params, put(raw, key, other), ""))]
        except (ParamsError, ValueError, KeyError, TypeError):
            continue
    return []


@pytest.fixture(scope="module")
def declared_params() -> dict[str, list[str]]:
    found = stages(ROOT)
    return {name: found[name]["params"] for name in (*EVALUATE, *TRAIN)}


@pytest.mark.parametrize("stage", EVALUATE)
def test_every_param_an_evaluate_stage_declares_changes_its_mlflow_key(stage, declared_params,
                                                                       tmp_path):
    inputs = [tmp_path / "manifest.json"]
    inputs[0].write_text("{}")

    def key(params: Params) -> str:
        return run_key(params, "koenen", "lohelp", inputs)

    before = key(parse(Params, RAW, ""))
    for name in declared_params[stage]:
        variants = changed(RAW, name)
        assert variants, f"{stage}: no valid change of {name} found to try"
        for what, params in variants:
            assert key(params) != before, f"{stage}: {what} leaves the MLflow key as it was"


@pytest.mark.parametrize("stage", TRAIN)
def test_every_param_a_train_stage_declares_changes_its_fingerprint(stage, declared_params,
                                                                    tmp_path):
    raw = copy.deepcopy(RAW)
    # what the fingerprint reads (the triplets, the initial weights), at their paths and at
    # the changed ones
    for key, file in (("prepare.out", "triplets.parquet"), ("base_model.out", "model.safetensors")):
        for folder in (tmp_path / get(raw, key), tmp_path / (get(raw, key) + "-x")):
            folder.mkdir(parents=True)
            (folder / file).write_bytes(b"x")
        raw = put(raw, key, str(tmp_path / get(raw, key)))

    def key(params: Params) -> str:
        p = resolve_train(params.train, params.device)
        if stage == "train_experiment":
            return fingerprint(params.composition, p.method, p, p.seed, p.base,
                               snapshot(params, KEYED), params.pair)
        return fingerprint("koenen", "contrastive", p, p.seed, p.base, snapshot(params, KEYED),
                           params.pair)

    before = key(parse(Params, raw, ""))
    for name in set(declared_params[stage]) - NOT_TRAINING:
        variants = changed(raw, name)
        assert variants, f"{stage}: no valid change of {name} found to try"
        for what, params in variants:
            assert key(params) != before, f"{stage}: {what} leaves the fingerprint as it was"


@pytest.mark.parametrize("module", ["stages.evaluate", "stages.train"])
def test_every_code_file_a_stage_imports_changes_its_key(module, tmp_path):
    for folder in ("koen", "stages"):
        shutil.copytree(ROOT / folder, tmp_path / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    before = code_digest(module, tmp_path)
    files = closure(tmp_path, module)
    assert len(files) > 20
    for rel in files:
        path = tmp_path / rel
        text = path.read_bytes()
        path.write_bytes(text + b"\n# edited\n")
        assert code_digest(module, tmp_path) != before, rel
        path.write_bytes(text)
    assert code_digest(module, tmp_path) == before
