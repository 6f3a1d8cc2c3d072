"""Reciprocal rank fusion (Cormack et al., SIGIR 2009) of rankings, through Pyserini's fusion."""

from __future__ import annotations

from pyserini.fusion import reciprocal_rank_fusion
from pyserini.trectools import TrecRun

from koen.formats.trec import Run, ranked


def rrf(runs: list[Run], rrf_k: int = 60, depth: int | None = None,
        k: int | None = None) -> Run:
    """Fuse runs: score(d) = sum over runs of 1 / (rrf_k + rank of d), with ranks from 1 in
    our deterministic order (score, then docid); the top `depth` of each run count and the
    top `k` of the fusion are kept. Every query of any run is in the result."""
    def trec(run: Run) -> TrecRun:
        rows = [(q, "Q0", d, rank, docs[d], "run") for q, docs in run.items()
                for rank, d in enumerate(ranked(docs), start=1)]
        return TrecRun.from_list(rows) if rows else TrecRun()  # from_list fails on no rows

    fused = reciprocal_rank_fusion([trec(r) for r in runs], rrf_k=rrf_k, depth=depth, k=k)
    out: Run = {q: {} for run in runs for q in run}
    for qid, docid, score in fused.run_data[["topic", "docid", "score"]].itertuples(index=False):
        out[str(qid)][str(docid)] = float(score)
    return out
