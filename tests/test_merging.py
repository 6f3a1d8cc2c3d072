from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file
from sentence_transformers import SentenceTransformer
from tiny_data import section, train_record
from tiny_models import tiny_model

from koen.config.languages import KO_EN
from koen.config.parse import ParamsError, parse
from koen.config.schema import Recipe
from koen.errors import KoenError
from koen.merging.merge import check_compatible, merge, merge_experiment, merge_recipe
from koen.merging.methods import linear, task_arithmetic, ties, trim


def states():
    a = {"w": torch.tensor([1.0, 2.0, -3.0, 4.0]), "ids": torch.tensor([0, 1])}
    b = {"w": torch.tensor([3.0, -2.0, 1.0, 0.0]), "ids": torch.tensor([0, 1])}
    base = {"w": torch.tensor([1.0, 1.0, 1.0, 1.0]), "ids": torch.tensor([0, 1])}
    return a, b, base


def test_linear_weights_one_zero_reproduce_the_first_model_exactly():
    a, b, _ = states()
    assert torch.equal(linear([a, b], [1.0, 0.0], None, {})["w"], a["w"])
    assert torch.equal(linear([a, b], [0.25, 0.75], None, {})["w"],
                       torch.tensor([2.5, -1.0, 0.0, 1.0]))
    assert torch.equal(linear([a, b], [0.5, 0.5], None, {})["ids"], a["ids"])


def test_task_arithmetic_and_ties_by_hand():
    a, b, base = states()
    # deltas: a-base = [0, 1, -4, 3], b-base = [2, -3, 0, -1]
    ta = task_arithmetic([a, b], [1.0, 1.0], base, {"lambda": 0.5})
    assert torch.allclose(ta["w"], torch.tensor([2.0, 0.0, -1.0, 2.0]))
    assert torch.equal(trim(torch.tensor([0.0, 1.0, -4.0, 3.0]), 0.5),
                       torch.tensor([0.0, 0.0, -4.0, 3.0]))
    # trimmed (density .5): a [0,0,-4,3], b [2,-3,0,0]; signs of sums: [+,-,-,+];
    # agreeing means: [2, -3, -4, 3]
    t = ties([a, b], [1.0, 1.0], base, {"density": 0.5, "lambda": 1.0})
    assert torch.allclose(t["w"], torch.tensor([3.0, -2.0, -3.0, 4.0]))


@pytest.mark.parametrize("recipe, message", [
    ({"method": "linear", "models": ["a", "b"], "weights": [0.6, 0.6]}, "must sum to 1"),
    ({"method": "linear", "models": ["a", "b"], "weights": [1.0]}, "has 1 values for 2 models"),
    ({"method": "frankenmerge", "models": ["a", "b"]},
     "allowed: linear, task_arithmetic, ties, cocktail, slerp"),
    ({"method": "slerp", "models": ["a", "b"], "weights": [0.5, 0.5]}, "takes its options as "
     "`parameters`"),
    ({"method": "model_stock", "models": ["a", "base"]}, "relative to base"),
    ({"method": "linear", "models": ["a", "b"], "parameters": {"t": 0.5}},
     "'merges.x.parameters' are for sentence-transformers/mergekit methods"),
    ({"method": "cocktail", "models": ["a", "b"], "examples": 8}, "'merges.x.temperature' must be "
     "given"),
    ({"method": "cocktail", "models": ["a", "b"], "examples": 8, "temperature": 1.0,
      "weights": [0.5, 0.5]}, "are what method cocktail computes"),
    ({"method": "linear", "models": ["a", "b"], "temperature": 1.0}, "not used by method linear"),
    ({"method": "ties", "models": ["a", "base"]}, "relative to base"),
    ({"method": "linear", "models": ["a"], "weight": [1.0]}, "unknown key 'merges.x.weight'"),
    ({"method": "linear", "models": ["a", "b"], "weights": [1.5, -0.5]}, "must be >= 0"),
    ({"method": "linear", "models": ["a", "b"], "density": 0.5}, "not used by method linear"),
    ({"method": "task_arithmetic", "models": ["a"], "density": 0.5}, "it takes scale"),
    ({"method": "ties", "models": ["a", "b"], "density": 1.5}, r"must be in \(0, 1\]"),
    ({"method": "linear", "models": ["a", "a"]}, "distinct models"),
])
def test_bad_recipes_are_refused_before_any_work(recipe, message):
    with pytest.raises(ParamsError, match=message):
        parse(Recipe, recipe, "merges.x")


def test_merged_directory_loads_and_equals_the_average(tmp_path):
    one = tiny_model(tmp_path / "one", seed=1)
    two = tiny_model(tmp_path / "two", seed=2)
    recipe = parse(Recipe, {"method": "linear", "models": ["one", "two"]}, "merges.avg")
    merge(recipe, [one, two], None, tmp_path / "avg")
    got = load_file(str(tmp_path / "avg/model.safetensors"))
    a, b = load_file(str(one / "model.safetensors")), load_file(str(two / "model.safetensors"))
    for k, v in got.items():
        if v.is_floating_point():
            assert torch.allclose(v, (a[k] + b[k]) / 2, atol=1e-7), k
    model = SentenceTransformer(str(tmp_path / "avg"), device="cpu")
    assert model.encode(["표 삽입"], prompt_name="query").shape == (1, 32)
    assert json.loads((tmp_path / "avg/merge_info.json").read_text())["weights"] == [0.5, 0.5]


def test_mismatched_architecture_or_tokenizer_is_refused(tmp_path):
    one = tiny_model(tmp_path / "one", seed=1)
    wide = tiny_model(tmp_path / "wide", seed=1, hidden=64)
    with pytest.raises(KoenError, match="another architecture"):
        check_compatible([one, wide])
    other = tmp_path / "other"
    shutil.copytree(one, other)
    tok = json.loads((other / "tokenizer.json").read_text())
    tok["model"]["vocab"]["extra"] = len(tok["model"]["vocab"])
    (other / "tokenizer.json").write_text(json.dumps(tok))
    with pytest.raises(KoenError, match="another tokenizer"):
        check_compatible([one, other])
    # a trained copy whose config gained generation token ids (as the Trainer writes) still fits
    trained = tmp_path / "trained"
    shutil.copytree(one, trained)
    config = json.loads((trained / "config.json").read_text())
    (trained / "config.json").write_text(json.dumps(config | {"bos_token_id": 0,
                                                              "eos_token_id": 2}))
    check_compatible([one, trained])


def test_experiment_merge_averages_the_trained_model_in_place_and_keeps_its_record(tmp_path):
    exp = tiny_model(tmp_path / "tiny1", seed=1).rename(tmp_path / "experiment")
    train_record(name="experiment").write(exp / "train_info.json")
    before = load_file(str(exp / "model.safetensors"))
    (tmp_path / "grid").mkdir()
    grid_model = tiny_model(tmp_path / "tiny2", seed=2).rename(tmp_path / "grid/kokoen")
    kokoen = load_file(str(grid_model / "model.safetensors"))
    dirs = section("merge", {"out_dir": str(tmp_path / "merged")}, base=tmp_path / "base",
                   grid_dir=tmp_path / "grid")
    recipe = parse(Recipe, {"method": "linear", "models": ["experiment", "kokoen"],
                            "weights": [0.25, 0.75]}, "experiment_merge")
    assert merge_experiment(recipe, exp, dirs)["weights"] == [0.25, 0.75]
    after = load_file(str(exp / "model.safetensors"))
    for k, v in after.items():
        if v.is_floating_point():
            assert torch.allclose(v, 0.25 * before[k] + 0.75 * kokoen[k])
    info = json.loads((exp / "train_info.json").read_text())
    assert info["steps"] == 3 and info["merge"]["models"] == ["experiment", "kokoen"]
    SentenceTransformer(str(exp), device="cpu")
    with pytest.raises(KoenError, match="already merged"):
        merge_experiment(recipe, exp, dirs)


def test_library_methods_run_through_sentence_transformers_merge(tmp_path):
    """SentenceTransformer.merge (mergekit): SLERP at t = 0 is its first model exactly and at
    0.5 neither; Model Stock relative to base loads and encodes."""
    grid = tmp_path / "grid"
    grid.mkdir()
    a = tiny_model(tmp_path / "t1", seed=1).rename(grid / "kokoen")
    tiny_model(tmp_path / "t2", seed=2).rename(grid / "koenen")
    base = tiny_model(tmp_path / "base", seed=3)
    # as in the real models: training filled in generation ids that base has as null
    config = json.loads((base / "config.json").read_text())
    (base / "config.json").write_text(json.dumps(config | {"bos_token_id": None,
                                                           "eos_token_id": None}))
    for d in (a, grid / "koenen"):
        config = json.loads((d / "config.json").read_text())
        (d / "config.json").write_text(json.dumps(config | {"bos_token_id": 0,
                                                            "eos_token_id": 2}))
    dirs = section("merge", {"out_dir": str(tmp_path / "merged")}, base=base, grid_dir=grid)
    first = load_file(str(a / "model.safetensors"))
    for t, same in ((0.0, True), (0.5, False)):
        recipe = parse(Recipe, {"method": "slerp", "models": ["kokoen", "koenen"],
                                "parameters": {"t": t}}, "merges.s")
        info = merge_recipe("s", recipe, dirs, 13, False, KO_EN)
        assert info["parameters"] == {"t": t} and "mergekit 0.1.5" in info["library"]
        got = load_file(str(tmp_path / "merged/s/model.safetensors"))
        floats = [k for k, v in got.items() if v.is_floating_point()]
        assert len(floats) == len([v for v in first.values() if v.is_floating_point()])
        assert all(torch.allclose(got[k], first[k]) for k in floats) == same
    recipe = parse(Recipe, {"method": "model_stock", "models": ["kokoen", "koenen"]}, "merges.m")
    merge_recipe("m", recipe, dirs, 13, False, KO_EN)
    model = SentenceTransformer(str(tmp_path / "merged/m"), device="cpu")
    assert model.encode(["표 삽입"], prompt_name="query").shape == (1, 32)
