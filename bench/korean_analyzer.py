"""Korean BM25 analysis: why the index stage uses Anserini's `-language ko` (CJK bigrams).

    python bench/korean_analyzer.py          # needs data/prepared (dvc repro prepare)

Builds the Korean test-passage index three ways and scores ko-ko retrieval (Korean queries,
Korean passages) with the same qrels as the evaluate stage:
- `cjk bigrams`: the index stage's analyzer (`koen.retrieval.bm25.build_index(..., "ko")`);
- `whitespace`: words as written, Anserini's `-pretokenized` (Lucene's WhitespaceAnalyzer);
- `kiwi morphemes`: kiwipiepy's morphological analysis, pre-tokenised, then whitespace; only
  when `kiwipiepy` is installed (`pip install kiwipiepy`: it is not a project dependency).
Prints nDCG@10, Recall@100 and the index + search time of each.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from koen.config.languages import KO_EN  # noqa: E402
from koen.evaluation.metrics import ir_metrics  # noqa: E402
from koen.formats.benchmark import CORPUS, load_task  # noqa: E402
from koen.formats.trec import Run, in_language  # noqa: E402
from koen.retrieval import bm25  # noqa: E402  (sets up the Java 21 runtime before pyserini)
from koen.retrieval.indexes import load_passages  # noqa: E402


def pretokenized_run(docs: dict[str, str], queries: dict[str, str], out: Path,
                     tokens: Callable[[str], str]) -> Run:
    """Index and search text already split into space-separated tokens."""
    from pyserini.analysis import JWhiteSpaceAnalyzer
    from pyserini.index.lucene import LuceneIndexer
    from pyserini.search.lucene import LuceneSearcher

    indexer = LuceneIndexer(args=["-index", str(out.resolve()), "-pretokenized", "-storeRaw"],
                            threads=1)
    for doc_id, text in docs.items():
        indexer.add_doc_dict({"id": doc_id, "contents": tokens(text)})
    indexer.close()
    searcher = LuceneSearcher(str(out.resolve()))
    searcher.set_analyzer(JWhiteSpaceAnalyzer())
    qids = list(queries)
    hits = searcher.batch_search([tokens(queries[q]) for q in qids], qids, k=100, threads=2)
    return {q: {h.docid: float(h.score) for h in hits.get(q, [])} for q in qids}


def cjk_run(docs: dict[str, str], queries: dict[str, str], out: Path) -> Run:
    bm25.build_index(docs.items(), out, "ko")
    return {q: dict(h) for q, h in bm25.search(out, queries, 100, "ko").items()}


def main() -> None:
    bench = ROOT / "data/benchmarks/lohelp"  # dvc repro benchmark@lohelp
    task = load_task(bench, KO_EN)
    qrels = task.qrels
    queries = task.texts("ko")
    docs = {p.doc_id: p.text for p in load_passages(bench / CORPUS) if p.lang == "ko"}
    variants: dict[str, Callable[[Path], Run]] = {
        "cjk bigrams": lambda out: cjk_run(docs, queries, out),
        "whitespace": lambda out: pretokenized_run(docs, queries, out, lambda t: t),
    }
    try:
        from kiwipiepy import Kiwi

        kiwi = Kiwi()
        variants["kiwi morphemes"] = lambda out: pretokenized_run(
            docs, queries, out, lambda t: " ".join(tok.form for tok in kiwi.tokenize(t)))
    except ImportError:
        print("kiwipiepy not installed: the morphological variant is skipped")
    print(f"{len(docs)} Korean passages, {len(queries)} Korean queries (ko-ko)")
    print(f"{'analysis':<16}{'nDCG@10':>9}{'R@100':>8}{'seconds':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, run_of in variants.items():
            start = time.perf_counter()
            run = run_of(Path(tmp) / name.replace(" ", "-"))
            seconds = time.perf_counter() - start
            m = ir_metrics(run, in_language(qrels, "ko"))
            print(f"{name:<16}{m['ndcg@10']:>9.2f}{m['recall@100']:>8.2f}{seconds:>9.1f}")


if __name__ == "__main__":
    main()
