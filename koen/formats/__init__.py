"""Formats between stages: tables (Parquet, JSON lines), TREC runs and qrels, a converted
benchmark's folder. The bottom of the library with `config` and `repro`: imports neither."""
