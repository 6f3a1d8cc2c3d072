"""Training: one sentence-transformers model per composition, or the alignment loss."""
