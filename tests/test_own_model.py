"""Base models are params: any sentence-transformers folder, bare encoder folder or hub id keeps
its own pooling, normalisation and prompts unless params set them; `vocab: ko+en` trims the
vocabularies it can (Unigram, WordPiece) and says what to set for the others; a model that ships
its own code needs `trust_remote_code`, and the error names it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Normalize, Pooling
from tiny_data import PARAMS
from tiny_models import (
    OTHER_SCRIPTS,
    tiny_bpe_model,
    tiny_model,
    tiny_remote_code_model,
    tiny_unigram_model,
)

from koen.basemodel.build import build_base_model
from koen.config.languages import KO_EN
from koen.config.parse import parse
from koen.config.schema import BaseModelParams
from koen.errors import KoenError
from koen.models.load import load_model

TEXTS = ["표 삽입 문서", "insert the table", "차트 편집 chart edit", "셀 서식"]


def params(tmp_path: Path, source: Path, **kw: object) -> BaseModelParams:
    values = {**PARAMS["base_model"], "source": str(source), "out": str(tmp_path / "base"),
              "report": str(tmp_path / "base.json"), "max_seq_length": 32,
              "check_samples": 20, **kw}
    return parse(BaseModelParams, values, "base_model")


def modules(model: SentenceTransformer) -> tuple[str | None, bool]:
    pooling = next((m.pooling_mode for m in model if isinstance(m, Pooling)), None)
    return pooling, any(isinstance(m, Normalize) for m in model)


def same_embeddings(a: SentenceTransformer, b: SentenceTransformer) -> None:
    for name in ("query", "passage"):
        ea, eb = (m.encode(TEXTS, prompt=m.prompts.get(name, "")) for m in (a, b))
        np.testing.assert_allclose(ea, eb, atol=1e-5)


@pytest.mark.parametrize("kind", ["e5", "bge-m3", "bare encoder"])
@pytest.mark.parametrize("vocab", ["full", "ko+en"])
def test_a_models_own_pooling_normalisation_and_prompts_are_kept(tmp_path, kind, vocab):
    made = {"e5": lambda: tiny_model(tmp_path / "m", dropout=0.0),
            "bge-m3": lambda: tiny_model(tmp_path / "m", dropout=0.0, pooling="cls",
                                         prompts={}),
            "bare encoder": lambda: tiny_model(tmp_path / "m", dropout=0.0).parent / "hf"}[kind]()
    report = build_base_model(params(tmp_path, made, vocab=vocab), 13, KO_EN)
    saved = SentenceTransformer(str(tmp_path / "base"), device="cpu")
    expected = {"e5": (("mean", True), {"query": "query: ", "passage": "passage: "}),
                "bge-m3": (("cls", True), {}),
                "bare encoder": (("mean", False), {})}[kind]
    assert modules(saved) == expected[0]
    assert {k: v for k, v in saved.prompts.items() if v} == expected[1]
    same_embeddings(saved, SentenceTransformer(str(made), device="cpu"))
    assert report["saved"]["pooling"] == expected[0][0]
    if vocab == "ko+en":  # every piece of these vocabularies is Korean or English
        assert report["check"]["pieces_kept"] == report["check"]["pieces"]


def test_params_override_pooling_normalisation_and_prompts(tmp_path):
    made = tiny_model(tmp_path / "m", dropout=0.0)
    build_base_model(params(tmp_path, made, vocab="full", pooling="cls", normalize=False,
                            prompts={"query": "q: ", "passage": "p: "}), 13, KO_EN)
    saved = SentenceTransformer(str(tmp_path / "base"), device="cpu")
    assert modules(saved) == ("cls", False)
    assert saved.prompts["query"] == "q: " and saved.prompts["passage"] == "p: "


@pytest.mark.parametrize("make", [
    lambda path: tiny_model(path, dropout=0.0, extra=tuple(OTHER_SCRIPTS)),  # WordPiece
    tiny_unigram_model,  # sentencepiece, as XLM-R (multilingual-e5, bge-m3, gte-multilingual)
])
def test_ko_en_drops_the_pieces_of_other_scripts_and_keeps_the_embeddings(tmp_path, make):
    made = make(tmp_path / "m")
    report = build_base_model(params(tmp_path, made, vocab="ko+en"), 13, KO_EN)
    full = SentenceTransformer(str(made), device="cpu")
    saved = SentenceTransformer(str(tmp_path / "base"), device="cpu")
    vocab = saved.tokenizer.get_vocab()
    assert not any(w in vocab or f"▁{w}" in vocab for w in OTHER_SCRIPTS)
    assert report["check"]["pieces"] - report["check"]["pieces_kept"] == len(OTHER_SCRIPTS)
    assert report["check"]["min_cosine_vs_full"] >= 0.9999
    same_embeddings(saved, full)
    table = saved[0].auto_model.get_input_embeddings().weight
    assert table.shape[0] == len(saved.tokenizer) == report["check"]["pieces_kept"]


def test_a_bpe_vocabulary_is_refused_with_what_to_set(tmp_path):
    made = tiny_bpe_model(tmp_path / "m")
    with pytest.raises(KoenError, match="a BPE vocabulary is built from merges and cannot be "
                                         "restricted piece by piece; set base_model.vocab: full"):
        build_base_model(params(tmp_path, made, vocab="ko+en"), 13, KO_EN)
    assert not (tmp_path / "base").exists()
    build_base_model(params(tmp_path, made, vocab="full"), 13, KO_EN)
    assert (tmp_path / "base/model.safetensors").is_file()


def test_a_model_with_its_own_code_needs_trust_remote_code_and_the_error_says_so(tmp_path):
    made = tiny_remote_code_model(tmp_path / "m")
    with pytest.raises(KoenError, match="runs code of its own .* set base_model."
                                         "trust_remote_code: true if you trust its source"):
        build_base_model(params(tmp_path, made, vocab="full"), 13, KO_EN)
    assert not (tmp_path / "base").exists()
    build_base_model(params(tmp_path, made, vocab="ko+en", trust_remote_code=True), 13, KO_EN)
    saved = load_model(tmp_path / "base", "cpu", True)
    assert type(saved[0].auto_model).__name__ == "TinyModel"
    assert json.loads((tmp_path / "base/config.json").read_text())["auto_map"]
    with pytest.raises(ValueError, match="trust_remote_code"):
        load_model(tmp_path / "base", "cpu", False)  # every later stage passes the param
