from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from datasets import Dataset
from safetensors.torch import load_file
from sentence_transformers import SentenceTransformer
from tiny_data import QUERIES, section, write_collection
from tiny_models import tiny_model

from koen.config.languages import KO_EN
from koen.config.parse import parse
from koen.config.schema import CocktailData, Recipe
from koen.errors import KoenError
from koen.merging.cocktail import contrastive_loss, dev_examples, softmax_weights
from koen.merging.merge import merge_recipe
from koen.models.machine import computed_on
from koen.models.profile import resolve_cocktail, resolve_merge

DEV = range(3)  # the tiny collection's first three queries stand in for the dev split


@pytest.fixture
def collection(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    write_collection(tmp_path)
    (tmp_path / "data/prepared/qrels.dev.txt").write_text(
        "".join(f"q{i:05d} 0 p{i:05d}-{lang} 1\n" for i in DEV for lang in ("ko", "en"))
        + f"q{QUERIES - 1:05d} 0 p{QUERIES - 1:05d}-ko 1\n")  # Korean only: not an example
    return tmp_path


def data() -> CocktailData:
    return resolve_cocktail(section("merge.cocktail", {"batch_size": 2, "precision": "fp32"}),
                            "cpu")


def test_softmax_of_negative_losses_over_temperature():
    e1, e2 = math.exp(-1), math.exp(-2)
    assert softmax_weights([1.0, 2.0], 1.0) == pytest.approx([e1 / (e1 + e2), e2 / (e1 + e2)])
    assert softmax_weights([1.0, 2.0], 1e6) == pytest.approx([0.5, 0.5])  # hot: uniform


def test_examples_are_dev_queries_judged_in_both_languages(collection):
    examples = dev_examples(data(), 3, seed=13, pair=KO_EN)
    assert sorted(e["query_ko"] for e in examples) == sorted(
        Dataset.from_parquet("data/prepared/queries.parquet").select(DEV)["ko"])
    assert all(e["passage_en"].startswith("the ") and not e["passage_ko"].startswith("the ")
               for e in examples)
    with pytest.raises(KoenError, match="wants 4 examples but .*qrels.dev.txt has only 3"):
        dev_examples(data(), 4, seed=13, pair=KO_EN)


def test_contrastive_loss_is_in_batch_cross_entropy_by_hand(collection):
    model = SentenceTransformer(str(tiny_model(collection / "m")), device="cpu")
    queries = ["표 삽입", "문서 커서", "차트"]
    passages = ["표 삽입 문서", "문서 커서 편집", "차트 셀"]
    q = model.encode(queries, prompt_name="query", normalize_embeddings=True)
    p = model.encode(passages, prompt_name="passage", normalize_embeddings=True)
    logits = 20 * q @ p.T
    by_hand = float(np.mean([np.log(np.exp(row).sum()) - row[i] for i, row in enumerate(logits)]))
    assert contrastive_loss(model, queries, passages, 2, "fp32") == pytest.approx(by_hand,
                                                                                 rel=1e-5)


def test_cocktail_merge_is_the_linear_merge_with_the_weights_it_reports(collection):
    grid = collection / "models/grid"
    grid.mkdir(parents=True)
    one = tiny_model(collection / "t1", seed=1).rename(grid / "kokoen")
    two = tiny_model(collection / "t2", seed=2).rename(grid / "koenen")
    dirs = resolve_merge(section("merge", {"cocktail": {"batch_size": 2}}), "cpu")
    recipe = parse(Recipe, {"method": "cocktail", "models": ["kokoen", "koenen"], "examples": 3,
                            "temperature": 0.5}, "merges.ck")
    info = merge_recipe("ck", recipe, dirs, 13, False, KO_EN)
    w = info["weights"]
    assert sum(w) == pytest.approx(1.0) and info["method"] == "cocktail"
    losses = [float(np.mean(list(x.values()))) for x in info["losses"]]
    assert set(info["losses"][0]) == {"clir", "mono"}
    assert w == pytest.approx(softmax_weights(losses, 0.5))
    got = load_file(str(dirs.out_dir / "ck/model.safetensors"))
    a, b = load_file(str(one / "model.safetensors")), load_file(str(two / "model.safetensors"))
    for k, v in got.items():
        if v.is_floating_point():
            assert torch.allclose(v, (w[0] * a[k].double() + w[1] * b[k].double()).float(),
                                  atol=1e-6), k
    recorded = json.loads((dirs.out_dir / "ck/merge_info.json").read_text())
    assert recorded["weights"] == w and recorded["temperature"] == 0.5
    # the weights come from the models' losses, computed in the resolved precision
    assert recorded["computed_on"] == computed_on("cpu", dirs.cocktail.precision)
