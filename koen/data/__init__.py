"""Data: the parallel Korean-English help corpus, compositions of training triplets, benchmarks."""
