"""Search throughput: dense (Pyserini FaissSearcher over our FAISS layout) and BM25 (Pyserini
LuceneSearcher), batch against one query at a time, and FaissSearcher against raw FAISS.

    python bench/search.py [--queries 600] [--k 100] [--threads 2]

The pool is the Multi pool of the test split (both languages). Dense search takes
precomputed query vectors, so the vectors here are random unit vectors of the base model's
size (384): exact inner-product search costs the same whatever the values; encoding is
measured by bench/encode.py. BM25 searches the real test queries, Korean and English, over a
`multi` index built here with the index stage's analyzer. Prints queries/s and ratios.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def rate(n: int, fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--queries", type=int, default=600, help="queries per language")
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dim", type=int, default=384)
    args = ap.parse_args()

    import faiss
    import numpy as np
    from datasets import Dataset

    from koen.retrieval import bm25, dense
    from koen.retrieval.indexes import BM25_ANALYZER, in_pool, load_passages

    passages = [p for p in load_passages(ROOT / "data/prepared/corpus.parquet", "test")
                if in_pool(p, "multi")]
    queries = Dataset.from_parquet(str(ROOT / "data/prepared/queries.parquet"))
    queries = [r for r in queries if r["split"] == "test"][: args.queries]
    texts = {f"{r['qid']}-{lang}": r[lang] for r in queries for lang in ("ko", "en")}
    qids = list(texts)
    rng = np.random.default_rng(0)

    def unit(n: int) -> np.ndarray:
        x = rng.normal(size=(n, args.dim)).astype(np.float32)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    with tempfile.TemporaryDirectory() as tmp:
        dense.write_index(Path(tmp) / "dense", [p.doc_id for p in passages], unit(len(passages)))
        vectors = unit(len(qids))
        s = dense.searcher(Path(tmp) / "dense")
        faiss.omp_set_num_threads(args.threads)
        raw = rate(len(qids), lambda: s.index.search(vectors, args.k))
        batch = rate(len(qids), lambda: s.batch_search(vectors, qids, args.k, args.threads))
        single = rate(len(qids), lambda: [s.search(v.reshape(1, -1), args.k, args.threads)
                                          for v in vectors])
        print(f"dense, {len(passages)} passages, {len(qids)} queries, k={args.k}: "
              f"FaissSearcher batch {batch:,.0f} q/s, one at a time {single:,.0f} q/s, "
              f"raw faiss batch {raw:,.0f} q/s")
        print(f"dense batch / one-at-a-time: {batch / single:.2f}x; "
              f"FaissSearcher / raw faiss: {batch / raw:.2f}x")

        index = Path(tmp) / "bm25"
        bm25.build_index(((p.doc_id, p.text) for p in passages), index, BM25_ANALYZER["multi"])
        lucene = bm25.searcher(index, BM25_ANALYZER["multi"])
        lucene.batch_search(list(texts.values())[:20], qids[:20], k=args.k)  # warm-up
        batch = rate(len(qids), lambda: lucene.batch_search(list(texts.values()), qids,
                                                            k=args.k, threads=args.threads))
        single = rate(len(qids), lambda: [lucene.search(t, k=args.k) for t in texts.values()])
        print(f"bm25: LuceneSearcher batch ({args.threads} threads) {batch:,.0f} q/s, "
              f"one at a time {single:,.0f} q/s; batch / one-at-a-time: {batch / single:.2f}x")


if __name__ == "__main__":
    main()
