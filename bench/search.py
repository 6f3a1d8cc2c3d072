"""Search throughput: dense (ours, `koen.retrieval.dense.search`: FAISS over the layout
Pyserini's FaissSearcher opens, against FaissSearcher's own batch search turned into the same
run) and BM25 (Pyserini LuceneSearcher), batch against one query at a time.

    python bench/search.py [--queries 600] [--k 100] [--threads 2] [--out search]

The pool is the Multi pool of the test split (both languages). Dense search takes
precomputed query vectors, so the vectors here are random unit vectors of the base model's
size (384): exact inner-product search costs the same whatever the values; encoding is
measured by bench/encode.py. Dense runs at `--k` and over the whole pool (`multi_k: null`,
as the evaluate stage ranks Multi). BM25 searches the real test queries, Korean and English,
over a `multi` index built here with the index stage's analyzer. Prints queries/s and ratios
and writes them to metrics/bench/<out>.json.
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

import record  # noqa: E402  (bench/record.py)


def timed(n: int, fn: Callable[[], object]) -> tuple[float, object]:
    """Items a second, and what `fn` returned."""
    start = time.perf_counter()
    out = fn()
    return n / (time.perf_counter() - start), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--queries", type=int, default=600, help="queries per language")
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--out", default="search", help="metrics/bench/<out>.json")
    args = ap.parse_args()

    import numpy as np
    from datasets import Dataset

    from koen.config.languages import KO_EN
    from koen.retrieval import bm25, dense  # bm25 first points Pyserini's JVM at Java 21
    from koen.retrieval.indexes import analyzers, in_pool, load_passages

    # isort: split
    from pyserini.search.faiss import FaissSearcher

    bench = ROOT / "data/benchmarks/lohelp"  # dvc repro benchmark@lohelp
    passages = [p for p in load_passages(bench / "corpus.parquet") if in_pool(p, "multi")]
    queries = Dataset.from_parquet(str(bench / "queries.parquet")).to_list()[: args.queries]
    texts = {f"{r['qid']}-{lang}": r[lang] for r in queries for lang in ("ko", "en")}
    qids = list(texts)
    rng = np.random.default_rng(0)

    def unit(n: int) -> np.ndarray:
        x = rng.normal(size=(n, args.dim)).astype(np.float32)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    figures: dict[str, float] = {"passages": len(passages), "queries": len(qids)}
    with tempfile.TemporaryDirectory() as tmp:
        ix = Path(tmp) / "dense"
        dense.write_index(ix, [p.doc_id for p in passages], unit(len(passages)))
        vectors = unit(len(qids))
        pyserini = FaissSearcher(str(ix), None)

        def theirs(k: int) -> dict[str, dict[str, float]]:
            hits = pyserini.batch_search(vectors, qids, k, args.threads)
            return {q: {h.docid: float(h.score) for h in hits[q]} for q in qids}

        for name, k in ((f"k{args.k}", args.k), ("pool", len(passages))):
            ours, mine = timed(len(qids), lambda k=k: dense.search(ix, qids, vectors, k,
                                                                   args.threads))
            plain, their = timed(len(qids), lambda k=k: theirs(k))
            same = mine == their and all(list(mine[q]) == list(their[q]) for q in qids)
            print(f"dense, {len(passages)} passages, {len(qids)} queries, k={k}: ours "
                  f"{ours:,.0f} q/s, FaissSearcher {plain:,.0f} q/s: {ours / plain:.2f}x; "
                  f"the same runs: {same}")
            figures |= {f"dense_{name}_ours_q_per_s": round(ours, 1),
                        f"dense_{name}_faiss_searcher_q_per_s": round(plain, 1),
                        f"dense_{name}_ratio": round(ours / plain, 2),
                        f"dense_{name}_same_runs": same}

        index = Path(tmp) / "bm25"
        multi = analyzers(KO_EN)["multi"]
        bm25.build_index(((p.doc_id, p.text) for p in passages), index, multi)
        lucene = bm25.searcher(index, multi)
        lucene.batch_search(list(texts.values())[:20], qids[:20], k=args.k)  # warm-up
        batch, _ = timed(len(qids), lambda: lucene.batch_search(list(texts.values()), qids,
                                                                k=args.k, threads=args.threads))
        single, _ = timed(len(qids), lambda: [lucene.search(t, k=args.k)
                                              for t in texts.values()])
        print(f"bm25: LuceneSearcher batch ({args.threads} threads) {batch:,.0f} q/s, "
              f"one at a time {single:,.0f} q/s; batch / one-at-a-time: {batch / single:.2f}x")
        figures |= {"bm25_batch_q_per_s": round(batch, 1), "bm25_single_q_per_s": round(single, 1)}
    record.write(args.out, figures)


if __name__ == "__main__":
    main()
