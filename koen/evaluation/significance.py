"""Which differences between systems are real: paired tests over queries, Holm, bootstrap CIs.

Per-query nDCG@10 comes from ir_measures over the saved TREC runs (our tie-breaking first, as
in `metrics.ir_metrics`, and a judged query missing from a run counts 0). A measure is a
weighted mean over queries: one benchmark's direction weighs its queries equally; the paper's
AVG of a direction and the OVRs pool the benchmarks' queries with weights 1 / (B * n_b), so
each benchmark counts equally and the weighted mean is the reported figure. A paired two-sided
permutation test (each query's pair of scores swapped or not) with
`scipy.stats.permutation_test` gives each comparison's p-value; Holm's step-down method
corrects a family of comparisons (one table's systems on one measure); `scipy.stats.bootstrap`
(queries resampled with their weights) gives 95 % intervals of a system's measure and of a
paired difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ir_measures
import numpy as np
from ir_measures import nDCG
from scipy import stats

from koen.evaluation.metrics import (
    CLIR,
    MONO,
    Qrels,
    Run,
    by_rank,
    in_language,
    judged,
    read_trec_run,
)

DIRECTIONS = (*CLIR, *MONO)
Scores = dict[str, tuple[np.ndarray, np.ndarray]]  # measure -> (per-query values, weights)


def per_query_ndcg(run: Run, qrels: Qrels) -> dict[str, float]:
    """nDCG@10 in percent of every query of `qrels` with a relevant document (0 if unranked)."""
    relevant = judged(qrels)
    scores = dict.fromkeys(relevant, 0.0)
    for m in ir_measures.iter_calc([nDCG @ 10], relevant, by_rank(run, relevant)):
        scores[m.query_id] = 100 * m.value
    return scores


def system_scores(runs_dir: Path, qrels: dict[str, Qrels]) -> Scores:
    """Per-query scores of one system: `<benchmark>/<direction>` for each benchmark of `qrels`
    (`runs_dir/<benchmark>/<direction>.trec`, the evaluate stage's runs), and the pooled
    `avg_<direction>`, `clir_ovr` and `mono_ovr`; queries in one fixed order."""
    out: Scores = {}
    per_bench: dict[str, dict[str, np.ndarray]] = {}
    for bench, qrels_b in qrels.items():
        qids = sorted(qrels_b)
        per_bench[bench] = {}
        for direction in DIRECTIONS:
            run = read_trec_run(runs_dir / bench / f"{direction}.trec")
            scores = per_query_ndcg(run, in_language(qrels_b, direction.split("-")[1]))
            values = np.array([scores[q] for q in qids if q in scores])
            per_bench[bench][direction] = values
            out[f"{bench}/{direction}"] = (values, np.ones(len(values)))
    weights = np.concatenate([np.full(len(v[CLIR[0]]), 1 / (len(per_bench) * len(v[CLIR[0]])))
                              for v in per_bench.values()])
    for direction in DIRECTIONS:
        out[f"avg_{direction}"] = (np.concatenate([v[direction] for v in per_bench.values()]),
                                   weights)
    for name, (x, y) in (("clir_ovr", CLIR), ("mono_ovr", MONO)):
        out[name] = ((out[f"avg_{x}"][0] + out[f"avg_{y}"][0]) / 2, weights)
    return out


def weighted_mean(values: np.ndarray, weights: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.sum(values * weights, axis=axis) / np.sum(weights, axis=axis)


def paired_permutation(a: np.ndarray, b: np.ndarray, weights: np.ndarray, resamples: int,
                       seed: int) -> float:
    """Two-sided p-value of the weighted mean of a - b being 0, each pair swapped at random
    (exact when 2^n <= resamples)."""
    if np.array_equal(a, b):
        return 1.0

    def statistic(x: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
        return weighted_mean(x - y, weights, axis)

    result = stats.permutation_test((a, b), statistic, permutation_type="samples",
                                    vectorized=True, n_resamples=resamples,
                                    alternative="two-sided", random_state=seed)
    return float(result.pvalue)


def bootstrap_ci(values: np.ndarray, weights: np.ndarray, resamples: int,
                 seed: int) -> tuple[float, float]:
    """95 % interval of the weighted mean (BCa over queries resampled with their weights; a
    constant sample is its own interval)."""
    if np.ptp(values) < 1e-9:  # BCa is undefined without spread
        return float(np.mean(values)), float(np.mean(values))
    ci = stats.bootstrap((values, weights), weighted_mean, paired=True, vectorized=True,
                         n_resamples=resamples, confidence_level=0.95,
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


def compare(pairs: Sequence[tuple[str, str, str]], scores: dict[str, Scores], resamples: int,
            seed: int) -> list[Comparison]:
    """Test every (family, system, reference) pair on every measure; Holm within each family
    and measure."""
    out = []
    for family, system, reference in pairs:
        for measure, (a, weights) in scores[system].items():
            b = scores[reference][measure][0]
            diff = a - b
            out.append(Comparison(family, system, reference, measure,
                                  delta=float(weighted_mean(diff, weights)),
                                  ci=bootstrap_ci(diff, weights, resamples, seed),
                                  p=paired_permutation(a, b, weights, resamples, seed)))
    for key in {(c.family, c.measure) for c in out}:
        group = [c for c in out if (c.family, c.measure) == key]
        for c, adjusted in zip(group, holm([c.p for c in group]), strict=True):
            c.p_holm = adjusted
    return out
