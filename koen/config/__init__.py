"""Params: the whole of params.yaml, typed and checked before any stage works."""
