"""Length-sorted forwards: the same embeddings, loss and gradients as the padded ones, less
padding."""

from __future__ import annotations

import pytest
import torch
from sentence_transformers import SentenceTransformer
from tiny_models import WORDS, tiny_model

from koen.training.unpadding import (
    SortedMultipleNegativesRankingLoss,
    forward_tokens,
    metadata_groups,
    sorted_forward,
    step_lengths,
    step_tokens,
)

TEXTS = [" ".join(WORDS[i:i + n]) for i, n in enumerate([1, 9, 3, 14, 2, 6, 11, 4])]


@pytest.fixture
def model(tmp_path):
    m = SentenceTransformer(str(tiny_model(tmp_path / "m", layers=2)), device="cpu")
    m.train()
    for module in m.modules():  # dropout would draw differently per chunk
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    return m


def columns(model: SentenceTransformer) -> list[dict[str, torch.Tensor]]:
    """Three columns of four texts, each padded to its own longest, as the collator does; the
    first with a query prompt's length, the others with a passage prompt's."""
    out = [model.preprocess(TEXTS[i::3] + TEXTS[:4 - len(TEXTS[i::3])]) for i in range(3)]
    for i, features in enumerate(out):
        features["prompt_length"] = 2 if i == 0 else 3
    return out


def test_only_columns_that_agree_besides_their_tokens_share_a_forward(model):
    features = columns(model)
    assert metadata_groups(features) == [[0], [1, 2]]
    assert step_tokens(features, 2) == (forward_tokens(step_lengths(features[:1]), 2)
                                        + forward_tokens(step_lengths(features[1:]), 2))


def test_forward_tokens_counts_each_chunk_padded_to_its_longest():
    lengths = torch.tensor([1, 5, 2, 4])
    assert forward_tokens(lengths, 2) == 2 * 2 + 5 * 2  # sorted: (1, 2) and (4, 5)
    assert forward_tokens(lengths, 3) == 3 * 4 + 5 * 1


@pytest.mark.parametrize("chunk", [1, 3, 100])
def test_sorted_chunks_give_the_padded_embeddings_in_column_order(model, chunk):
    features = columns(model)
    padded = [model(dict(f))["sentence_embedding"] for f in features]
    again = sorted_forward(model, [dict(f) for f in features], chunk)
    assert [e.shape for e in again] == [e.shape for e in padded]
    for a, b in zip(again, padded, strict=True):
        assert torch.allclose(a, b, atol=1e-6)
    assert step_tokens(features, 3) < sum(f["input_ids"].numel() for f in features)


def test_loss_and_gradients_match_the_librarys_forwards(model):
    features = columns(model)
    grads = []
    for chunk in (None, 2):
        model.zero_grad()
        loss = SortedMultipleNegativesRankingLoss(model, chunk)
        value = loss([dict(f) for f in features], None)
        value.backward()
        grads.append((value.detach(), {n: p.grad.clone() for n, p in model.named_parameters()
                                       if p.grad is not None}))
    (loss_lib, g_lib), (loss_sorted, g_sorted) = grads
    assert torch.allclose(loss_lib, loss_sorted, atol=1e-6)
    assert g_lib.keys() == g_sorted.keys() and g_lib
    for name in g_lib:
        assert torch.allclose(g_lib[name], g_sorted[name], atol=1e-6), name


def test_left_padded_inputs_are_refused(model):
    features = []
    for f in columns(model):
        f = dict(f)
        f["attention_mask"] = f["attention_mask"].flip(1)
        f["input_ids"] = f["input_ids"].flip(1)
        features.append(f)
    with pytest.raises(ValueError, match="right-padded"):
        sorted_forward(model, features, 2)
