"""params.yaml is checked whole before any work: every key required, none unknown, values valid;
and a stage's reads are recorded for the deps test."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tiny_data import PARAMS, merged

from koen.config import docs as config_docs
from koen.config import parse as parse_module
from koen.config import schema
from koen.config.docs import field_docs
from koen.config.parse import ParamsError, Section
from koen.config.schema import load

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, params: dict) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True))
    return path


def without(params: dict, dotted: str) -> dict:
    out = json.loads(json.dumps(params))
    *parents, last = dotted.split(".")
    node = out
    for key in parents:
        node = node[key]
    del node[last]
    return out


def test_the_project_params_load():
    params = load(ROOT / "params.yaml")
    assert params.train.learning_rate == PARAMS["train"]["learning_rate"]
    assert params.merges["grid-avg"].merge_weights() == [1 / 8] * 8


@pytest.mark.parametrize("key", ["train.learning_rate", "seed", "evaluate.hybrid.rrf_k",
                                 "index.device", "tracking"])
def test_a_missing_key_is_named_not_defaulted(tmp_path, key):
    with pytest.raises(ParamsError, match=f"missing key '{key}'"):
        load(write(tmp_path, without(PARAMS, key)))


@pytest.mark.parametrize("changes, message", [
    ({"experimnet_merge": None}, "unknown key 'experimnet_merge'; allowed keys: base_model"),
    ({"train": {"learning_rat": 1e-5}}, "unknown key 'train.learning_rat'"),
    ({"train": {"align": {"jsd": 1.0}}}, "unknown key 'train.align.jsd'"),
    ({"grid": ["kokoen", "kokojp"]}, r"'grid\[1\]' is invalid: unknown composition 'kokojp'"),
    ({"grid": ["kokoen", "ko-ko-en"]}, r"'grid\[1\]' is invalid: write 'ko-ko-en' as 'kokoen'"),
    ({"grid": ["kokoen", "kokoen"]}, "'grid' repeats a composition"),
    ({"train": {"more_seeds": [42, 13]}}, r"'train.more_seeds' repeats train.seed \(13\): "
     "list only the further seeds"),
    ({"train": {"more_seeds": [42, 42]}}, r"'train.more_seeds' repeats a seed: \[42, 42\]"),
    ({"train": {"more_seeds": [-1]}}, r"'train.more_seeds\[0\]' must be >= 0, got -1"),
    ({"train": {"more_seeds": ["s42"]}}, r"'train.more_seeds\[0\]' must be int, got 's42'"),
    ({"merges": {"seeds": {"method": "linear", "models": ["koenen", "base"]}}},
     "'merges.seeds' names a system that exists already"),
    ({"composition": "ko+jp"}, "'composition' is invalid: unknown composition 'jp'"),
    ({"merges": {"m": {"method": "linear", "models": ["koenen", "base"],
                       "weights": [0.7, 0.7]}}}, "'merges.m.weights' of a linear merge must sum"),
    ({"merges": {"m": {"method": "linear", "models": ["koenen", "base"],
                       "weights": [1.5, -0.5]}}}, "'merges.m.weights' must be >= 0"),
    ({"merges": {"m": {"method": "linear", "models": ["koenen", "base"], "scale": 2.0}}},
     "'merges.m.scale' is not used by method linear"),
    ({"merges": {"m": {"method": "linear", "models": ["koenen", "xxyyzz"]}}},
     "names unknown model 'xxyyzz'"),
    ({"merges": {"kokoen": {"method": "linear", "models": ["koenen", "base"]}}},
     "'merges.kokoen' names a system that exists already"),
    ({"prepare": {"split": {"train": 1.2, "dev": -0.1, "test": -0.1}}},
     r"'prepare.split.train' must be in \[0, 1\]"),
    ({"prepare": {"split": {"tst": 0.0}}}, "'prepare.split' needs exactly"),
    ({"train": {"align": {"jsd_weight": 0.0, "nce_weight": 0.0}}},
     "jsd_weight and nce_weight both 0"),
    ({"train": {"align": {"init": "jpjpjp"}}}, "'train.align.init' is 'jpjpjp'"),
    ({"train": {"batch_size": 0}}, "'train.batch_size' must be >= 1"),
    ({"train": {"freeze_embeddings": "yes"}}, "'train.freeze_embeddings' must be bool"),
    ({"experiment_merge": {"method": "linear", "models": ["base", "experiment"]}},
     "'experiment_merge.models' must start with experiment"),
    ({"report": {"first": ["base", "nope"]}}, "'report.first' names unknown system 'nope'"),
    ({"index": {"shift": {"alpha": 2.0}}}, "'index.shift.alpha' is 2.0"),
    ({"index": {"shift": {"split": "test"}}}, "'index.shift.split' is 'test', the split "
                                              "benchmark lohelp indexes"),
    ({"benchmarks": {}}, "'benchmarks' is empty"),
    ({"train": {"precision": "fp8"}}, "'train.precision' is 'fp8'; allowed: fp32, bf16, fp16"),
    ({"index": {"precision": "half"}}, "'index.precision' is 'half'"),
    ({"train": {"attention_dropout": 1.0}}, "'train.attention_dropout' must be null or in"),
    ({"train": {"attn_implementation": "flash"}}, "'train.attn_implementation' is 'flash'"),
    ({"train": {"gradient_checkpointing": 0}}, "'train.gradient_checkpointing' must be true, fal"),
    ({"train": {"gradient_checkpointing": "auto"}}, "'train.gradient_checkpointing' must be bool"),
    ({"train": {"sorted_forward": 0}}, "'train.sorted_forward' must be null or a number of texts"),
    ({"train": {"sorted_forward": 2.5}}, "'train.sorted_forward' must be"),
    ({"sweeps": {"s": {"models": ["koenen"], "weights": [0.5]}}},
     "'sweeps.s.models' must name two different models"),
    ({"sweeps": {"s": {"models": ["koenen", "base"], "weights": [0.0, 0.5]}}},
     "'sweeps.s.weights' must list weights strictly between 0 and 1"),
    ({"sweeps": {"s": {"models": ["koenen", "base"], "weights": [0.5, 0.5]}}},
     "'sweeps.s.weights' repeats a weight"),
    ({"sweeps": {"s": {"models": ["koenen", "grid-avg"], "weights": [0.5]}}},
     "'sweeps.s.models' names unknown model 'grid-avg'"),
    ({"tracking": {"register": {"also": ["bm25"]}}},
     r"'tracking.register.also\[0\]' is 'bm25', not a model system"),
    ({"merges": {"sweeps": {"method": "linear", "models": ["koenen", "base"]}}},
     "'merges.sweeps' names a system that exists already"),
    ({"benchmarks": {"x": {"format": "trec", "source": "data/x", "split": "test"}}},
     "'benchmarks.x.format' is 'trec'; allowed: prepared, beir, belebele"),
    ({"benchmarks": {"x": {"format": "beir", "source": "data/x"}}},
     "missing key 'benchmarks.x.split'"),
    ({"benchmarks": {"my-bench": {"format": "beir", "source": "data/x", "split": "test"}}},
     "'benchmarks.my-bench' is not a usable benchmark name"),
    ({"benchmarks": {"seeds": {"format": "beir", "source": "data/x", "split": "test"}}},
     "'benchmarks.seeds' is a reserved folder name"),
    ({"prepare": {"source": "tsv"}}, "'prepare.source' is 'tsv'; allowed: help, parallel, "
                                     "triplets"),
    ({"base_model": {"pooling": "median"}}, "'base_model.pooling' is 'median'"),
    ({"base_model": {"prompts": {}}}, "'base_model.prompts' is empty"),
    ({"base_model": {"trust_remote_code": "no"}}, "'base_model.trust_remote_code' must be bool"),
    ({"systems": {"base": "models/base"}}, "unknown key 'systems'"),
])
def test_bad_values_fail_naming_the_key(tmp_path, changes, message):
    with pytest.raises(ParamsError, match=message):
        load(write(tmp_path, merged(PARAMS, changes)))


def test_the_systems_follow_from_grid_and_merges(tmp_path):
    """A merge recipe is one params entry: its system (stages, report row) follows from it."""
    params = load(write(tmp_path, merged(PARAMS, {"grid": ["kokoen", "koenen"], "merges": {
        "mine": {"method": "linear", "models": ["koenen", "base"]}}, "sweeps": {}})))
    assert params.model_systems() == {"base": Path("models/base"),
                                      "kokoen": Path("models/grid/kokoen"),
                                      "koenen": Path("models/grid/koenen"),
                                      "experiment": Path("models/experiment"),
                                      "mine": Path("models/merged/mine")}
    assert params.system_names() == list(params.model_systems())


def test_reads_after_loading_are_recorded_by_full_key(tmp_path, monkeypatch):
    monkeypatch.setenv(parse_module.TRACE_ENV, str(tmp_path / "trace"))
    monkeypatch.setattr(parse_module, "_read", None)
    params = load(ROOT / "params.yaml")  # validation reads everything: not recorded
    assert parse_module._read == set()
    assert params.train.triplets > 0 and params.merges["grid-avg"].method == "linear"
    assert params.index.shift.alpha >= 0 and params.seed
    list(params.grid)
    assert parse_module._read == {"train.triplets", "merges.grid-avg.method", "index.shift.alpha",
                                  "seed", "grid"}
    monkeypatch.setattr(parse_module, "_read", None)


def test_a_stage_process_writes_its_reads_at_exit(tmp_path):
    trace = tmp_path / "trace"
    code = ("from koen.config.schema import load; p = load(); "
            "print(p.evaluate.k, p.report.base, list(p.merges))")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True,
                   env={**os.environ, parse_module.TRACE_ENV: str(trace)})
    (record,) = [json.loads(f.read_text()) for f in trace.glob("*.json")]
    assert record["read"] == ["evaluate.k", "merges", "report.base"]


def test_the_configuration_page_is_generated_from_the_schema_and_params(monkeypatch):
    """docs/configuration.md: every key documented, and the page as the schema gives it."""
    monkeypatch.chdir(ROOT)
    sections = {cls for cls in vars(schema).values()
                if isinstance(cls, type) and dataclasses.is_dataclass(cls)
                and issubclass(cls, Section)}
    undocumented = [f"{cls.__name__}.{f.name}" for cls in sections
                    for f in dataclasses.fields(cls) if f.name not in field_docs(cls)]
    assert undocumented == []
    assert config_docs.main(["--check"]) == 0, "run python -m koen.config.docs"
    page = (ROOT / "docs/configuration.md").read_text()
    for key in ("`train.sorted_forward`", "`benchmarks.<name>.format`", "`device`",
                "`merges.<name>.weights`", "`train.align.jsd_weight`"):
        assert key in page
