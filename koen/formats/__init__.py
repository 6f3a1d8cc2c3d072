"""Formats between stages: tables (Parquet, JSON lines), TREC runs and qrels, a converted
benchmark's folder, a trained model's record. The bottom of the library with `config` and
`repro` (whose atomic writes and digests it uses)."""
