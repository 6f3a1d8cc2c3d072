"""The statistics of the report, exactly on small hand-made score lists, and against scipy's
`permutation_test` and `bootstrap` on larger ones."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from koen.config.languages import KO_EN
from koen.evaluation.metrics import ir_metrics
from koen.formats.benchmark import Task
from koen.formats.trec import write_trec_run
from koen.report.significance import (
    bootstrap_ci,
    compare,
    holm,
    paired_permutation,
    per_query_ndcg,
    system_scores,
    weighted_mean,
)


def test_paired_permutation_is_exact_for_small_samples():
    a, ones = np.array([1.0, 2.0, 3.0, 4.0, 5.0]), np.ones(5)
    # 2^5 sign patterns; only all-plus and all-minus reach |mean| = 3: p = 2/32
    assert paired_permutation(a, np.zeros(5), ones, 10_000, 0) == pytest.approx(0.0625)
    # differences (1, -1, 2, -2): |mean| >= 0 in every pattern -> p = 1
    assert paired_permutation(np.array([1.0, 0.0, 2.0, 0.0]), np.array([0.0, 1.0, 0.0, 2.0]),
                              np.ones(4), 10_000, 0) == pytest.approx(1.0)
    assert paired_permutation(a, a, ones, 10_000, 0) == 1.0
    # weights: differences (4, -1, -1, -1, -1) weighted (1, 1/4 x 4) -> mean 0 unflipped;
    # |weighted mean| >= 0 always: p = 1; unweighted it is 0 too, but (4, 1, ...) is not
    d = np.array([4.0, -1.0, -1.0, -1.0, -1.0])
    assert paired_permutation(d, np.zeros(5), np.array([1, 0.25, 0.25, 0.25, 0.25]), 10_000,
                              0) == pytest.approx(1.0)


def test_permutation_test_agrees_with_scipy_on_weighted_queries():
    """A Monte Carlo p-value (200 queries, unequal weights) within Monte Carlo error of
    `scipy.stats.permutation_test`'s; one-sided or unweighted p-values would not be."""
    rng = np.random.default_rng(5)
    weights = rng.uniform(0.5, 2.0, 200)
    a = rng.normal(50, 20, 200)
    b = a + rng.normal(-4, 20, 200) * weights

    def statistic(x, y, axis):
        return weighted_mean(x - y, weights, axis)

    scipy_p = stats.permutation_test((a, b), statistic, permutation_type="samples",
                                     vectorized=True, n_resamples=20_000,
                                     random_state=1).pvalue
    ours = paired_permutation(a, b, weights, 20_000, 0)
    assert 0.01 < scipy_p < 0.2
    assert ours == pytest.approx(scipy_p, abs=0.01)
    assert paired_permutation(a, b, np.ones(200), 20_000, 0) != pytest.approx(scipy_p,
                                                                             abs=0.01)


def test_bootstrap_interval_is_scipys_bca_on_a_skewed_sample():
    """BCa bounds within 2.5 % of the interval's width of `scipy.stats.bootstrap`'s on a
    lognormal sample, where plain percentiles are off by more."""
    rng = np.random.default_rng(5)
    values, weights = rng.lognormal(0, 1.2, 200), rng.uniform(0.5, 2.0, 200)
    ours = bootstrap_ci(values, weights, 10_000, 1)
    kwargs = {"paired": True, "vectorized": True, "n_resamples": 10_000, "random_state": 3}
    bca = stats.bootstrap((values, weights), weighted_mean, **kwargs).confidence_interval
    percentile = stats.bootstrap((values, weights), weighted_mean, method="percentile",
                                 **kwargs).confidence_interval
    width = bca.high - bca.low
    assert ours == pytest.approx((bca.low, bca.high), abs=0.025 * width)
    assert (percentile.low, percentile.high) != pytest.approx((bca.low, bca.high),
                                                              abs=0.025 * width)


def test_holm_adjusts_in_step_down_order_and_stays_monotone():
    # sorted: .005*4 = .02, .01*3 = .03, .03*2 = .06, .04*1 = .04 -> raised to .06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []


def test_bootstrap_interval_holds_the_mean_and_a_constant_is_its_own_interval():
    values = np.array([10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0])
    low, high = bootstrap_ci(values, np.ones(8), 2000, 0)
    assert low < 45.0 < high and low >= 10.0 and high <= 80.0
    assert bootstrap_ci(np.full(5, 3.0), np.ones(5), 2000, 0) == (3.0, 3.0)


def test_per_query_ndcg_by_hand_and_its_mean_is_the_reported_figure():
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1}, "q3": {"d3": 1}, "q4": {"dx": 0}}
    run = {"q1": {"d1": 2.0, "d9": 1.0}, "q2": {"d9": 2.0, "d2": 1.0}}  # q3 unranked
    scores = per_query_ndcg(run, qrels)
    assert scores == pytest.approx({"q1": 100.0, "q2": 100 / math.log2(3), "q3": 0.0})
    assert round(np.mean(list(scores.values())), 2) == ir_metrics(run, qrels)["ndcg@10"]


def test_system_scores_pool_benchmarks_with_equal_weight(tmp_path):
    """Two benchmarks of 2 and 1 queries: AVG and OVR weigh each benchmark equally."""
    qrels = {"big": {q: {f"{q}-ko": 1, f"{q}-en": 1} for q in ("a", "b")},
             "small": {"c": {"c-ko": 1, "c-en": 1}}}
    for bench, judged in qrels.items():
        for direction in KO_EN.directions:
            lang = direction.split("-")[1]
            hit = {q: {f"{q}-{lang}": 1.0} for q in judged}
            if bench == "big" and direction == "en-ko":
                hit["a"] = {f"z-{lang}": 1.0}  # a misses in en-ko only
            write_trec_run(tmp_path / bench / f"{direction}.trec", hit, tag="t")
    tasks = {b: Task({q: {"ko": q, "en": q} for q in judged}, judged, list(KO_EN.directions),
                     True, KO_EN) for b, judged in qrels.items()}
    scores = system_scores({b: tmp_path / b for b in qrels}, tasks)
    assert scores["big/en-ko"][0] == pytest.approx([0.0, 100.0])
    values, weights = scores["avg_en-ko"]
    assert values == pytest.approx([0.0, 100.0, 100.0])
    assert weights == pytest.approx([0.25, 0.25, 0.5])
    # AVG en-ko = mean(big 50, small 100) = 75; CLIR OVR = mean(75, AVG ko-en 100)
    assert np.average(values, weights=weights) == pytest.approx(75.0)
    assert weighted_mean(*scores["clir_ovr"]) == pytest.approx(87.5)
    assert weighted_mean(*scores["mono_ovr"]) == pytest.approx(100.0)


def test_compare_corrects_each_family_and_measure_apart():
    n = 12
    rng = np.random.default_rng(0)
    ones = np.ones(n)
    base = {m: (rng.uniform(0, 50, n), ones) for m in ("clir_ovr", "mono_ovr")}
    scores = {"base": base, "better": {m: (v + 30, w) for m, (v, w) in base.items()},
              "same": {m: (v.copy(), w) for m, (v, w) in base.items()}}
    out = compare([("f1", "better", "base"), ("f1", "same", "base"), ("f2", "better", "same")],
                  scores, 5000, 0)  # >= 2^12: the exact test
    assert len(out) == 3 * 2
    got = {(c.family, c.system, c.measure): c for c in out}
    better, same = got[("f1", "better", "clir_ovr")], got[("f1", "same", "clir_ovr")]
    assert better.delta == pytest.approx(30.0) and better.ci == pytest.approx((30.0, 30.0))
    # all 12 differences +30: two of 2^12 sign patterns are as extreme
    assert better.p == pytest.approx(2 / 2**12)
    assert better.p_holm == pytest.approx(2 * better.p) and better.significant(0.05)
    assert same.p == 1.0 and same.p_holm == 1.0 and not same.significant(0.05)
    alone = got[("f2", "better", "clir_ovr")]
    assert alone.p_holm == pytest.approx(alone.p)  # a family of one: no correction


def test_a_direction_a_benchmark_lacks_is_averaged_over_those_that_have_it(tmp_path):
    """A Korean-only benchmark (ko-ko, en-ko) beside a parallel one: AVG ko-en is the parallel
    one's alone, and the OVRs are the means of the AVGs, units weighted to give exactly that."""
    tasks = {"par": Task({q: {"ko": q, "en": q} for q in ("a", "b")},
                         {q: {f"{q}-ko": 1, f"{q}-en": 1} for q in ("a", "b")},
                         list(KO_EN.directions), True, KO_EN),
             "kor": Task({"c": {"ko": "c", "en": "c"}, "d": {"ko": "d"}},
                         {q: {f"{q}-ko": 1} for q in ("c", "d")}, ["ko-ko", "en-ko"], False, KO_EN)}
    for bench, task in tasks.items():
        for direction in task.directions:
            lang = direction.split("-")[1]
            hit = {q: {f"{q}-{lang}": 1.0} for q in task.qrels}
            if direction == "en-ko":
                hit[next(iter(task.qrels))] = {f"z-{lang}": 1.0}  # its first query misses
            write_trec_run(tmp_path / bench / f"{direction}.trec", hit, tag="t")
    scores = system_scores({b: tmp_path / b for b in tasks}, tasks)
    assert "kor/ko-en" not in scores and "kor/en-en" not in scores
    assert scores["kor/en-ko"][0] == pytest.approx([0.0])  # d has no English text
    assert weighted_mean(*scores["avg_ko-en"]) == pytest.approx(100.0)
    assert weighted_mean(*scores["avg_en-ko"]) == pytest.approx((50.0 + 0.0) / 2)
    assert weighted_mean(*scores["clir_ovr"]) == pytest.approx((25.0 + 100.0) / 2)
    assert weighted_mean(*scores["mono_ovr"]) == pytest.approx(100.0)
