"""BM25 through Pyserini/Lucene: build an index from (id, text) pairs, search it in batches.

Korean uses Anserini's `-language ko` (Lucene's CJKAnalyzer, overlapping bigrams): Lucene's
Nori morphological analyzer is not in Anserini's fat jar, and bigrams need no extra tokenizer.
English uses Anserini's default analyzer (Porter stemming, stopwords).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import koen.retrieval.jvm  # noqa: F401  (Java 21 for Pyserini, before pyserini starts its JVM)

# isort: split
from pyserini.index.lucene import LuceneIndexer
from pyserini.search.lucene import LuceneSearcher

from koen.repro.atomic import atomic_dir

Hits = dict[str, list[tuple[str, float]]]


def build_index(docs: Iterable[tuple[str, str]], out: Path, language: str) -> int:
    """Index `docs` into `out` (replaced atomically); returns the number of documents."""
    n = 0
    with atomic_dir(out) as tmp:
        # absolute: the JVM resolves relative paths against its own start directory
        args = ["-index", str(tmp.resolve()), "-language", language, "-storeRaw"]
        indexer = LuceneIndexer(args=args, threads=1)
        for doc_id, text in docs:
            indexer.add_doc_dict({"id": doc_id, "contents": text})
            n += 1
        indexer.close()
    return n


def searcher(index: Path, language: str) -> LuceneSearcher:
    s = LuceneSearcher(str(Path(index).resolve()))  # the JVM keeps its own cwd
    s.set_language(language)
    return s


def search(index: Path, queries: Mapping[str, str], k: int, language: str,
           threads: int = 2) -> Hits:
    """Top-`k` (docid, score) per query id, best first, ties broken by docid."""
    s = searcher(index, language)
    qids = list(queries)
    results = s.batch_search([queries[q] for q in qids], qids, k=k, threads=threads)
    return {q: sorted(((h.docid, float(h.score)) for h in results.get(q, [])),
                      key=lambda x: (-x[1], x[0])) for q in qids}
