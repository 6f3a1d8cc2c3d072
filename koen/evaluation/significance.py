"""Which differences between systems are real: paired tests over queries, Holm, bootstrap CIs.

Per-query nDCG@10 comes from ir_measures over the saved TREC runs (our tie-breaking first, as
in `metrics.ir_metrics`, and a judged query missing from a run counts 0), so the mean of the
per-query scores is the reported figure. A paired two-sided permutation test (randomisation:
each query's pair of scores swapped or not) with `scipy.stats.permutation_test` gives each
comparison's p-value; Holm's step-down method corrects a family of comparisons (one table's
systems on one measure); `scipy.stats.bootstrap` gives 95 % intervals of a system's mean and of
a paired difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ir_measures
import numpy as np
from ir_measures import nDCG
from scipy import stats

from koen.evaluation.metrics import CLIR, MONO, Qrels, Run, doc_lang, ranked, read_trec_run

MEASURES = (*CLIR, *MONO, "clir_ovr", "mono_ovr")  # directions' nDCG@10, then the OVRs


def per_query_ndcg(run: Run, qrels: Qrels) -> dict[str, float]:
    """nDCG@10 in percent of every query of `qrels` with a relevant document (0 if unranked)."""
    judged = {q: docs for q, docs in qrels.items() if any(r > 0 for r in docs.values())}
    by_rank = {}
    for qid in judged.keys() & run.keys():
        order = ranked(run[qid])
        by_rank[qid] = {d: float(len(order) - i) for i, d in enumerate(order)}
    scores = dict.fromkeys(judged, 0.0)
    for m in ir_measures.iter_calc([nDCG @ 10], judged, by_rank):
        scores[m.query_id] = 100 * m.value
    return scores


def system_scores(runs_dir: Path, qrels: Qrels) -> dict[str, np.ndarray]:
    """Per-query scores of one system for every measure of `MEASURES`, queries in one order.

    `runs_dir` holds the evaluate stage's `<direction>.trec` files; an OVR per query is the
    mean of its two directions, so the mean over queries is the reported OVR."""
    qids = sorted(qrels)
    out = {}
    for direction in (*CLIR, *MONO):
        docs_lang = direction.split("-")[1]
        restricted = {q: {d: r for d, r in docs.items() if doc_lang(d) == docs_lang}
                      for q, docs in qrels.items()}
        scores = per_query_ndcg(read_trec_run(runs_dir / f"{direction}.trec"), restricted)
        out[direction] = np.array([scores.get(q, 0.0) for q in qids])
    out["clir_ovr"] = (out[CLIR[0]] + out[CLIR[1]]) / 2
    out["mono_ovr"] = (out[MONO[0]] + out[MONO[1]]) / 2
    return out


def _mean_difference(x: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
    return np.mean(x - y, axis=axis)


def paired_permutation(a: np.ndarray, b: np.ndarray, resamples: int, seed: int) -> float:
    """Two-sided p-value of mean(a - b) = 0, pairs swapped at random (exact for small n)."""
    if np.array_equal(a, b):
        return 1.0
    result = stats.permutation_test((a, b), _mean_difference, permutation_type="samples",
                                    vectorized=True, n_resamples=resamples,
                                    alternative="two-sided", random_state=seed)
    return float(result.pvalue)


def bootstrap_ci(values: np.ndarray, resamples: int, seed: int) -> tuple[float, float]:
    """95 % interval of the mean of `values` (BCa; a constant sample is its own interval)."""
    if np.ptp(values) < 1e-9:  # BCa is undefined without spread
        return float(np.mean(values)), float(np.mean(values))
    ci = stats.bootstrap((values,), np.mean, n_resamples=resamples, confidence_level=0.95,
                         random_state=seed).confidence_interval
    return float(ci.low), float(ci.high)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values, in the input's order: the i-th smallest of m is multiplied by
    m - i (i from 0), made monotone, capped at 1."""
    order = np.argsort(pvalues, kind="stable")
    adjusted = [0.0] * len(pvalues)
    running = 0.0
    for i, idx in enumerate(order):
        running = max(running, min(1.0, (len(pvalues) - i) * pvalues[idx]))
        adjusted[idx] = running
    return adjusted


@dataclass
class Comparison:
    """`system` against `reference` on one measure, within one family of comparisons."""

    family: str
    system: str
    reference: str
    measure: str
    delta: float = 0.0
    ci: tuple[float, float] = (0.0, 0.0)
    p: float = 1.0
    p_holm: float = 1.0

    def significant(self, alpha: float) -> bool:
        return self.p_holm < alpha


def compare(pairs: Sequence[tuple[str, str, str]], scores: dict[str, dict[str, np.ndarray]],
            resamples: int, seed: int) -> list[Comparison]:
    """Test every (family, system, reference) pair on every measure; Holm within each family
    and measure."""
    out = []
    for family, system, reference in pairs:
        for measure in MEASURES:
            a, b = scores[system][measure], scores[reference][measure]
            diff = a - b
            out.append(Comparison(family, system, reference, measure,
                                  delta=float(np.mean(diff)),
                                  ci=bootstrap_ci(diff, resamples, seed),
                                  p=paired_permutation(a, b, resamples, seed)))
    for key in {(c.family, c.measure) for c in out}:
        group = [c for c in out if (c.family, c.measure) == key]
        for c, adjusted in zip(group, holm([c.p for c in group]), strict=True):
            c.p_holm = adjusted
    return out
