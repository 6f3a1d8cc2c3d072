"""Which differences between systems are real: paired tests over queries, Holm, bootstrap CIs.

Per-query nDCG@10 comes from ir_measures over the saved TREC runs (our tie-breaking first, as
in `metrics.ir_metrics`, and a judged query missing from a run counts 0). A measure is a
weighted mean over queries: one benchmark's direction weighs its queries equally; the paper's
AVG of a direction and the OVRs pool the benchmarks' queries with weights 1 / (B * n_b), so
each benchmark counts equally and the weighted mean is the reported figure. A paired two-sided
permutation test (each query's pair of scores swapped or not) gives each comparison's p-value;
Holm's step-down method corrects a family of comparisons (one table's systems on one measure);
BCa bootstrap intervals (queries resampled with their weights) give 95 % intervals of a
system's measure and of a paired difference. Both are `scipy.stats.permutation_test` and
`scipy.stats.bootstrap` done as matrix products over one resampling plan per query count,
shared by every test (scipy draws afresh per call: 0.3 s a test, 10 minutes for the report's
784 tests and 820 intervals); `tests/test_significance.py` holds them to scipy's results.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ir_measures
import numpy as np
from ir_measures import nDCG
from scipy import special

from koen.evaluation.metrics import by_rank
from koen.formats.benchmark import Task
from koen.formats.trec import Qrels, Run, judged, read_trec_run

Scores = dict[str, tuple[np.ndarray, np.ndarray]]  # measure -> (per-query values, weights)


def per_query_ndcg(run: Run, qrels: Qrels) -> dict[str, float]:
    """nDCG@10 in percent of every query of `qrels` with a relevant document (0 if unranked)."""
    relevant = judged(qrels)
    scores = dict.fromkeys(relevant, 0.0)
    for m in ir_measures.iter_calc([nDCG @ 10], relevant, by_rank(run, relevant)):
        scores[m.query_id] = 100 * m.value
    return scores


def system_scores(runs: dict[str, Path], tasks: dict[str, Task]) -> Scores:
    """Per-query scores of one system: `<benchmark>/<direction>` for each direction a benchmark
    measures (`runs[benchmark]/<direction>.trec`, the evaluate stage's runs), and the pooled
    `avg_<direction>`, `clir_ovr` and `mono_ovr`; queries in one fixed order.

    A direction's AVG weighs each benchmark that measures it equally. An OVR is the mean of its
    two AVGs: a benchmark that measures both directions on the same queries contributes one
    unit per query (the two scores averaged with the AVGs' weights), one that measures only one
    of them contributes that direction's queries at half its AVG weight."""
    per_bench: dict[str, dict[str, tuple[list[str], np.ndarray]]] = {}
    for bench, task in tasks.items():
        per_bench[bench] = {}
        for direction in task.directions:
            scores = per_query_ndcg(read_trec_run(runs[bench] / f"{direction}.trec"),
                                    task.judged(direction))
            qids = sorted(scores)
            per_bench[bench][direction] = (qids, np.array([scores[q] for q in qids]))
    out: Scores = {f"{b}/{d}": (v, np.ones(len(v))) for b, ds in per_bench.items()
                   for d, (_, v) in ds.items()}
    pair = next(iter(tasks.values())).pair
    measured = {d: [b for b in per_bench if d in per_bench[b]] for d in pair.directions}
    for d, benches in measured.items():
        if benches:
            values = [per_bench[b][d][1] for b in benches]
            out[f"avg_{d}"] = (np.concatenate(values), np.concatenate(
                [np.full(len(v), 1 / (len(benches) * len(v))) for v in values]))
    for name, (x, y) in (("clir_ovr", pair.clir), ("mono_ovr", pair.mono)):
        if measured[x] and measured[y]:
            out[name] = ovr_units(per_bench, x, y, len(measured[x]), len(measured[y]))
    return out


def ovr_units(per_bench: dict[str, dict[str, tuple[list[str], np.ndarray]]], x: str, y: str,
              bx: int, by: int) -> tuple[np.ndarray, np.ndarray]:
    """The units (values, weights) whose weighted mean is the mean of the AVGs of directions
    `x` and `y`, measured on `bx` and `by` benchmarks."""
    values, weights = [], []
    for ds in per_bench.values():
        if x in ds and y in ds and ds[x][0] == ds[y][0]:
            n = len(ds[x][1])
            if bx == by:  # the mean of the two scores, each benchmark's queries 1 / (B n)
                values.append((ds[x][1] + ds[y][1]) / 2)
            else:
                values.append((ds[x][1] / bx + ds[y][1] / by) / (1 / bx + 1 / by))
            weights.append(np.full(n, (1 / bx + 1 / by) / (2 * n)))
            continue
        for d, b in ((x, bx), (y, by)):
            if d in ds:
                values.append(ds[d][1])
                weights.append(np.full(len(ds[d][1]), 1 / (2 * b * len(ds[d][1]))))
    return np.concatenate(values), np.concatenate(weights)


def weighted_mean(values: np.ndarray, weights: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.sum(values * weights, axis=axis) / np.sum(weights, axis=axis)


@functools.lru_cache(maxsize=4)
def sign_flips(n: int, resamples: int, seed: int) -> np.ndarray:
    """The null's sign patterns for `n` paired queries: all 2^n when 2^n <= resamples (exact),
    else `resamples` random ones. Shared by every test of that size, so a test is one matrix
    product."""
    if n < 63 and 2**n <= resamples:
        bits = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
    else:
        bits = np.random.default_rng(seed).integers(0, 2, (resamples, n))
    signs = (2.0 * bits - 1.0)
    signs.flags.writeable = False
    return signs


@functools.lru_cache(maxsize=4)
def bootstrap_counts(n: int, resamples: int, seed: int) -> np.ndarray:
    """How often each of `n` queries is drawn in each of `resamples` bootstrap samples; shared
    by every interval of that size, so a resampled weighted mean is one matrix product."""
    draws = np.random.default_rng(seed).integers(0, n, (resamples, n))
    rows = np.arange(resamples)[:, None] * n
    counts = np.bincount((draws + rows).ravel(), minlength=resamples * n)
    out = counts.reshape(resamples, n).astype(np.float64)
    out.flags.writeable = False
    return out


def paired_permutation(a: np.ndarray, b: np.ndarray, weights: np.ndarray, resamples: int,
                       seed: int) -> float:
    """Two-sided p-value of the weighted mean of a - b being 0: the share of sign patterns
    (each query's pair swapped or not) whose |mean| reaches the observed one; exact when
    2^n <= resamples, else (hits + 1) / (resamples + 1) (Phipson and Smyth, 2010; scipy
    doubles the smaller tail instead, so its least p-value is twice this one)."""
    if np.array_equal(a, b):
        return 1.0
    terms = weights * (a - b) / np.sum(weights)
    observed = abs(terms.sum())
    signs = sign_flips(len(terms), resamples, seed)
    null = np.abs(signs @ terms)
    hits = int(np.count_nonzero(null >= observed - 1e-12 * np.abs(terms).sum()))
    if len(signs) == 2 ** len(terms):
        return hits / len(signs)
    return (hits + 1) / (resamples + 1)


def bootstrap_ci(values: np.ndarray, weights: np.ndarray, resamples: int,
                 seed: int) -> tuple[float, float]:
    """95 % BCa interval of the weighted mean, queries resampled with their weights (the
    bias-corrected and accelerated percentiles of `scipy.stats.bootstrap`; the acceleration
    from the closed-form jackknife of a weighted mean); a constant sample is its own
    interval."""
    if np.ptp(values) < 1e-9:  # BCa is undefined without spread
        return float(np.mean(values)), float(np.mean(values))
    counts = bootstrap_counts(len(values), resamples, seed)
    estimate = weighted_mean(values, weights)
    resampled = (counts @ (weights * values)) / (counts @ weights)
    bias = special.ndtri((np.count_nonzero(resampled < estimate)
                          + np.count_nonzero(resampled <= estimate)) / (2 * len(resampled)))
    jackknife = (np.sum(weights * values) - weights * values) / (np.sum(weights) - weights)
    spread = jackknife.mean() - jackknife
    acceleration = np.sum(spread**3) / (6 * np.sum(spread**2) ** 1.5)
    z = special.ndtri(np.array([0.025, 0.975])) + bias
    low, high = np.percentile(resampled, 100 * special.ndtr(bias + z / (1 - acceleration * z)))
    return float(low), float(high)


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
