"""Shift: a training-free, index-side correction of the language gap (arXiv 2606.18801).

The language vector `V_ko = mean_i (f(D_i^ko) - f(D_i^en))` is estimated on parallel passage
pairs from the TRAINING split with unnormalised embeddings; at indexing every Korean passage
becomes `z - alpha * V_ko` (then L2-normalised for cosine search). Queries are untouched.
"""

from __future__ import annotations

import numpy as np
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Normalize


def unnormalised(model: SentenceTransformer) -> SentenceTransformer:
    """The same model (shared weights) without its final L2 normalisation."""
    modules = [m for m in model if not isinstance(m, Normalize)]
    return SentenceTransformer(modules=modules, prompts=model.prompts, device=model.device)


def shifted(raw: np.ndarray, vector: np.ndarray, alpha: float) -> np.ndarray:
    """`z - alpha * V`, L2-normalised: the vectors indexed for target-language passages."""
    z = raw - alpha * vector[None, :]
    return z / np.linalg.norm(z, axis=1, keepdims=True).clip(min=1e-12)
