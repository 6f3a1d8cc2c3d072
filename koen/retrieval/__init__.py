"""Retrieval: dense (FAISS through Pyserini), BM25 (Lucene through Pyserini), fusion, Shift.

The Lucene side starts a JVM; `koen.retrieval.jvm` prepares it, and only `bm25` imports that,
so the dense side imports neither Java nor Pyserini's JVM bridge.
"""
