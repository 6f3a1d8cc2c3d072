"""Cross-lingual alignment loss (JSD + InfoNCE) against English inclination.

From "Improving Semantic Proximity in Information Retrieval through Cross-Lingual Alignment"
(ICLR 2026): pull a passage and its translation to the same distribution over embedding
dimensions (JSD), and make the target-language passage find its English query among the other
English queries of the batch (InfoNCE). Here Korean is the target language.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer
from sentence_transformers.util.distributed import all_gather_with_grad, get_rank
from torch import Tensor, nn

from koen.training.unpadding import sorted_forward

Direction = Literal["other", "lang", "both"]


def sqrt_jsd(a: Tensor, b: Tensor, eps: float = 1e-8) -> Tensor:
    """sqrt(JSD(softmax(a) || softmax(b))) per row; eps under the root keeps the gradient finite."""
    p, q = F.softmax(a, dim=-1), F.softmax(b, dim=-1)  # (batch, dim) distributions over dims
    m = 0.5 * (p + q)
    log_m = torch.log(m.clamp_min(1e-30))
    jsd = 0.5 * (p * (F.log_softmax(a, dim=-1) - log_m)).sum(-1) + \
        0.5 * (q * (F.log_softmax(b, dim=-1) - log_m)).sum(-1)
    return torch.sqrt(jsd.clamp_min(0) + eps)  # (batch,)


def info_nce(anchors: Tensor, candidates: Tensor, scale: float, offset: int = 0) -> Tensor:
    """InfoNCE with cosine similarity: row i's positive is candidate `offset + i` (`offset`:
    where this process's rows start among candidates gathered from all), the rest are
    negatives."""
    scores = F.normalize(anchors, dim=-1) @ F.normalize(candidates, dim=-1).T * scale  # (b, B)
    labels = torch.arange(offset, offset + len(scores), device=scores.device)
    return F.cross_entropy(scores, labels)


class CrossLingualAlignmentLoss(nn.Module):
    """`L = jsd_weight * L_JSD + nce_weight * L_NCE` on (q_en, p_en, p_ko, q_ko) columns.

    Written for ko-en (the paper's); for another pair, `ko` is the pair's first language
    (`lang`) and `en` the second (`other`).

    Args:
        model: the SentenceTransformer being trained.
        jsd_weight: weight of sqrt-JSD between the English and Korean passage embeddings.
        nce_weight: weight of InfoNCE.
        direction: `other` (the paper: Korean passage anchors, its English query is the
            positive, the other in-batch English queries are negatives), `lang` (the reverse:
            English passage anchors, Korean queries are candidates), or `both` (mean of the
            two).
        pairs: `query` as above, or `passage` (ablation: InfoNCE between passages only, the
            Korean passage finding its English translation).
        scale: inverse temperature of InfoNCE.
        chunk: embed the step's texts `chunk` at a time, sorted by length (`sorted_forward`);
            None: one forward per column.
        gather_across_devices: with several processes, the InfoNCE candidates of all of them,
            so a batch's negatives are the whole step's (as MultipleNegativesRankingLoss's flag).

    Inputs:
        Four text columns, in order: query_en, passage_en, passage_ko, query_ko.

    Example::

        loss = CrossLingualAlignmentLoss(model, direction="both")
        trainer = SentenceTransformerTrainer(model=model, train_dataset=ds, loss=loss)
    """

    def __init__(self, model: SentenceTransformer, jsd_weight: float = 1.0,
                 nce_weight: float = 1.0, direction: Direction = "other",
                 pairs: Literal["query", "passage"] = "query", scale: float = 20.0,
                 chunk: int | None = None, gather_across_devices: bool = False) -> None:
        super().__init__()
        if direction not in ("other", "lang", "both") or pairs not in ("query", "passage"):
            raise ValueError(f"direction must be other|lang|both, pairs query|passage; "
                             f"got {direction!r}, {pairs!r}")
        self.model, self.jsd_weight, self.nce_weight = model, jsd_weight, nce_weight
        self.direction, self.pairs, self.scale = direction, pairs, scale
        self.chunk, self.gather_across_devices = chunk, gather_across_devices

    def forward(self, sentence_features: Iterable[dict[str, Tensor]],
                labels: Tensor | None = None) -> Tensor:
        features = list(sentence_features)
        embeddings = sorted_forward(self.model, features, self.chunk) if self.chunk else \
            [self.model(f)["sentence_embedding"] for f in features]
        return self.compute_loss_from_embeddings(embeddings, labels)

    def compute_loss_from_embeddings(self, embeddings: list[Tensor],
                                     labels: Tensor | None = None) -> Tensor:
        q_en, p_en, p_ko, q_ko = embeddings  # each (batch, dim)
        loss = self.jsd_weight * sqrt_jsd(p_en, p_ko).mean() if self.jsd_weight else 0.0
        if self.nce_weight:
            gather, offset = (all_gather_with_grad, get_rank() * len(q_en)) \
                if self.gather_across_devices else ((lambda x: x), 0)
            terms = []
            if self.direction in ("other", "both"):
                terms.append(info_nce(p_ko, gather(q_en if self.pairs == "query" else p_en),
                                      self.scale, offset))
            if self.direction in ("lang", "both"):
                terms.append(info_nce(p_en, gather(q_ko if self.pairs == "query" else p_ko),
                                      self.scale, offset))
            loss = loss + self.nce_weight * torch.stack(terms).mean()
        return loss

    @property
    def citation(self) -> str:
        return "arXiv:2604.05684"
