"""Embed a training step's texts in length-sorted chunks, each padded only to its own longest.

The Trainer's collator pads every column of a batch to its longest text, and the library's
MultipleNegativesRankingLoss runs the positives and negatives as one forward padded to the
longer of the two: on the default kokoen triplets 40 % of the tokens a step runs are padding,
even with length-grouped batches. `sorted_forward` pools the texts of the columns that can
share a forward (the same prompt), sorts them by token length and runs them `chunk` at a time,
so a chunk holds texts of about one length (padding about 7 % with chunks of 8). The attention
mask hides padding, so embeddings, loss and gradients are those of the padded forwards up to
float rounding, except that dropout draws its masks per forward."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.losses.merged_forward import embed_columns, merge_feature_batches
from sentence_transformers.losses import MultipleNegativesRankingLoss
from torch import Tensor

from koen.config.parse import ParamsError
from koen.models.features import chunk_features


def chunks(lengths: Tensor, chunk: int) -> list[Tensor]:
    """Row indices of each forward: rows sorted by token length, `chunk` at a time."""
    order = torch.argsort(lengths, stable=True)
    return list(order.split(chunk))


def forward_tokens(lengths: Tensor, chunk: int) -> int:
    """Padded tokens the chunks of `lengths` run: per chunk, its rows times its longest row."""
    return sum(int(lengths[rows].max()) * len(rows) for rows in chunks(lengths, chunk))


def step_lengths(features_list: list[dict[str, Tensor]]) -> Tensor:
    """Token count of every text of `features_list`, column after column, on the CPU (one
    read-back: planning the chunks from device tensors would wait on the device per chunk)."""
    return torch.cat([f["attention_mask"].sum(dim=1) for f in features_list]).cpu()


def step_tokens(features_list: list[dict[str, Tensor]], chunk: int) -> int:
    """Padded tokens `sorted_forward` runs for a step: the chunks of each group of columns."""
    return sum(forward_tokens(step_lengths([features_list[i] for i in group]), chunk)
               for group in metadata_groups(features_list))


def metadata_groups(features_list: list[dict[str, Tensor]]) -> list[list[int]]:
    """Columns whose entries besides the token tensors agree (e.g. `prompt_length`, which
    differs between query and passage prompts): the model reads those once per forward, so
    only such columns can share one."""
    groups: dict[str, list[int]] = {}
    for i, features in enumerate(features_list):
        meta = sorted((k, v.tolist() if isinstance(v, Tensor) else v) for k, v in features.items()
                      if not (isinstance(v, Tensor) and v.ndim == 2))
        groups.setdefault(repr(meta), []).append(i)
    return list(groups.values())


def sorted_forward(model: SentenceTransformer, features_list: list[dict[str, Tensor]],
                   chunk: int | None) -> list[Tensor]:
    """`sentence_embedding` of each column, computed `chunk` texts of similar length at a time
    within each group of columns that can share a forward (`metadata_groups`).

    `chunk=None` takes the library's own forwards (`embed_columns`). Needs right-padded inputs,
    as BERT-style tokenizers give: a chunk keeps the first columns its longest text needs.
    """
    if chunk is None:
        return embed_columns(model, features_list)
    out: list[Tensor] = [torch.empty(0)] * len(features_list)
    for group in metadata_groups(features_list):
        columns = [features_list[i] for i in group]
        for i, embeddings in zip(group, sorted_group(model, columns, chunk), strict=True):
            out[i] = embeddings
    return out


def sorted_group(model: SentenceTransformer, columns: list[dict[str, Tensor]],
                 chunk: int) -> list[Tensor]:
    """`sorted_forward` over columns that agree on everything but their tokens."""
    merged = merge_feature_batches(columns) if len(columns) > 1 else dict(columns[0])
    if merged is None:  # the library refuses to merge them (shapes, float tensors, ...)
        return [model(f)["sentence_embedding"] for f in columns]
    device = merged["attention_mask"].device
    mask = merged["attention_mask"].cpu()  # the plan is made on the CPU: one read-back a group
    lengths = mask.sum(dim=1)
    positions = torch.arange(mask.shape[1])
    if not torch.equal(mask.bool(), positions < lengths[:, None]):
        raise ParamsError("train.sorted_forward needs right-padded inputs (the tokenizer pads on "
                         "the left); set it to null")
    rows = chunks(lengths, chunk)
    parts = [model(chunk_features(merged, idx.to(device), int(lengths[idx].max())))
             ["sentence_embedding"] for idx in rows]
    back = torch.argsort(torch.cat(rows)).to(device)
    embeddings = torch.cat(parts)[back]  # back to column order
    return list(embeddings.split([len(f["attention_mask"]) for f in columns]))


class SortedMultipleNegativesRankingLoss(MultipleNegativesRankingLoss):
    """The library's MultipleNegativesRankingLoss, its columns embedded by `sorted_forward`.

    Args:
        model: the SentenceTransformer being trained.
        chunk: texts per forward (`None`: the library's own forwards, bit for bit).
        **kwargs: MultipleNegativesRankingLoss's (scale, ...).
    """

    def __init__(self, model: SentenceTransformer, chunk: int | None, **kwargs) -> None:  # noqa: ANN003
        super().__init__(model, **kwargs)
        self.chunk = chunk

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor) -> Tensor:
        embeddings = sorted_forward(self.model, list(sentence_features), self.chunk)
        return self.compute_loss_from_embeddings(embeddings, labels)
