"""Merging: weight-space merges of models that share architecture and tokenizer."""
