"""Loading a sentence-transformers model: one place for what every stage passes."""

from __future__ import annotations

from pathlib import Path

from sentence_transformers import SentenceTransformer


def load_model(source: str | Path, device: str, trust_remote_code: bool,
               **kwargs: object) -> SentenceTransformer:
    """A model folder or hub id on `device`; `trust_remote_code` lets a model that ships its own
    code (e.g. gte-multilingual-base) run it, as transformers' flag does."""
    return SentenceTransformer(str(source), device=device, trust_remote_code=trust_remote_code,
                               **kwargs)
