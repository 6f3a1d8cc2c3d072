"""Rows of a tokenized batch: the texts of one forward, cut to their own longest."""

from __future__ import annotations

from torch import Tensor


def chunk_features(features: dict, idx: Tensor, width: int) -> dict:
    """The rows `idx` of every per-row tensor of `features`, token tensors (right-padded) cut
    to `width` columns; other entries (e.g. `prompt_length`) as they are."""
    rows, seq = features["attention_mask"].shape
    out = {}
    for key, value in features.items():
        if isinstance(value, Tensor) and key != "prompt_length" and value.ndim and \
                value.shape[0] == rows:
            value = value[idx]
            if value.ndim == 2 and value.shape[1] == seq:
                value = value[:, :width]
        out[key] = value
    return out
