from __future__ import annotations

import math

import pytest
import torch
from sentence_transformers import SentenceTransformer
from tiny_models import tiny_model

from koen.training.alignment_loss import CrossLingualAlignmentLoss, info_nce, sqrt_jsd


def test_sqrt_jsd_by_hand():
    a, b = torch.tensor([[1.0, 0.0, 0.0]]), torch.tensor([[0.0, 1.0, 0.0]])
    e = math.e
    p = [e / (e + 2), 1 / (e + 2), 1 / (e + 2)]
    q = [p[1], p[0], p[2]]
    m = [(x + y) / 2 for x, y in zip(p, q, strict=True)]
    kl = lambda x, y: sum(xi * math.log(xi / yi) for xi, yi in zip(x, y, strict=True))  # noqa: E731
    expected = math.sqrt(0.5 * kl(p, m) + 0.5 * kl(q, m) + 1e-8)
    assert sqrt_jsd(a, b).item() == pytest.approx(expected, rel=1e-6)  # 0.2957
    assert sqrt_jsd(a, a).item() == pytest.approx(1e-4, rel=1e-3)  # sqrt(eps)


def test_info_nce_by_hand():
    anchors = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    candidates = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    s = 2.0
    # row 0: cos = [1, 0.7071]; row 1: cos = [0, 0.7071]; positives on the diagonal
    r0 = -math.log(math.exp(s) / (math.exp(s) + math.exp(s * 0.70710678)))
    r1 = -math.log(math.exp(s * 0.70710678) / (1 + math.exp(s * 0.70710678)))
    assert info_nce(anchors, candidates, s).item() == pytest.approx((r0 + r1) / 2, rel=1e-6)


@pytest.fixture
def model(tmp_path):
    return SentenceTransformer(str(tiny_model(tmp_path)), device="cpu")


def embeddings(seed: int, aligned: bool) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    q_en, p_en, q_ko = (torch.randn(4, 8, generator=g) for _ in range(3))
    p_ko = p_en.clone() if aligned else torch.randn(4, 8, generator=g)
    return [q_en, p_en, p_ko, q_ko]


def test_aligned_pairs_cost_less_than_misaligned(model):
    loss = CrossLingualAlignmentLoss(model, nce_weight=0.0)
    assert loss.compute_loss_from_embeddings(embeddings(0, True)) < \
        loss.compute_loss_from_embeddings(embeddings(0, False))
    full = CrossLingualAlignmentLoss(model, direction="both")
    e = embeddings(1, True)
    e[0] = e[2].clone()  # English query equal to its Korean passage: perfect InfoNCE positives
    assert full.compute_loss_from_embeddings(e) < full.compute_loss_from_embeddings(
        embeddings(1, False))


def test_gradient_step_moves_a_passage_and_its_translation_closer(model):
    loss = CrossLingualAlignmentLoss(model)
    texts = [["how to insert a table"], ["insert a table in the document"], ["문서 에 표 삽입"],
             ["표 삽입"]]
    features = [model.preprocess(t) for t in texts]

    def cosine() -> float:
        with torch.no_grad():
            en = model(model.preprocess(texts[1]))["sentence_embedding"]
            ko = model(model.preprocess(texts[2]))["sentence_embedding"]
        return torch.nn.functional.cosine_similarity(en, ko).item()

    before = cosine()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(5):
        optimizer.zero_grad()
        loss([{k: v for k, v in f.items()} for f in features]).backward()
        optimizer.step()
    assert cosine() > before


def test_bad_options_are_refused(model):
    for direction in ("fr", "en"):  # by role now: `en`/`ko` are params.yaml's spellings
        with pytest.raises(ValueError, match=r"direction must be other\|lang\|both"):
            CrossLingualAlignmentLoss(model, direction=direction)
