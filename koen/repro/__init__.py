"""Reproducibility: seeds, content digests and provenance, outputs written atomically."""
