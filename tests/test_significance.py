"""The statistics of the report, exactly, on small hand-made score lists."""

from __future__ import annotations

import math

import numpy as np
import pytest

from koen.evaluation.metrics import ir_metrics, write_trec_run
from koen.evaluation.significance import (
    MEASURES,
    bootstrap_ci,
    compare,
    holm,
    paired_permutation,
    per_query_ndcg,
    system_scores,
)


def test_paired_permutation_is_exact_for_small_samples():
    a = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    # 2^5 sign patterns; only all-plus and all-minus reach |mean| = 3: p = 2/32
    assert paired_permutation(a, np.zeros(5), 10_000, 0) == pytest.approx(0.0625)
    # differences (1, -1, 2, -2): |mean| >= 0 in every pattern -> p = 1
    assert paired_permutation(np.array([1.0, 0.0, 2.0, 0.0]), np.array([0.0, 1.0, 0.0, 2.0]),
                              10_000, 0) == pytest.approx(1.0)
    assert paired_permutation(a, a, 10_000, 0) == 1.0


def test_holm_adjusts_in_step_down_order_and_stays_monotone():
    # sorted: .005*4 = .02, .01*3 = .03, .03*2 = .06, .04*1 = .04 -> raised to .06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []


def test_bootstrap_interval_holds_the_mean_and_a_constant_is_its_own_interval():
    values = np.array([10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0])
    low, high = bootstrap_ci(values, 2000, 0)
    assert low < 45.0 < high and low >= 10.0 and high <= 80.0
    assert bootstrap_ci(np.full(5, 3.0), 2000, 0) == (3.0, 3.0)


def test_per_query_ndcg_by_hand_and_its_mean_is_the_reported_figure():
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1}, "q3": {"d3": 1}, "q4": {"dx": 0}}
    run = {"q1": {"d1": 2.0, "d9": 1.0}, "q2": {"d9": 2.0, "d2": 1.0}}  # q3 unranked
    scores = per_query_ndcg(run, qrels)
    assert scores == pytest.approx({"q1": 100.0, "q2": 100 / math.log2(3), "q3": 0.0})
    assert round(np.mean(list(scores.values())), 2) == ir_metrics(run, qrels)["ndcg@10"]


def test_system_scores_reads_runs_and_averages_directions_per_query(tmp_path):
    qrels = {q: {f"{q}-ko": 1, f"{q}-en": 1} for q in ("a", "b")}
    for direction in MEASURES[:4]:
        lang = direction.split("-")[1]
        hit = {"a": {f"a-{lang}": 1.0}, "b": {f"x-{lang}": 1.0, f"b-{lang}": 0.5}}
        if direction == "en-ko":
            hit["a"] = {f"z-{lang}": 1.0}  # a misses in en-ko only
        write_trec_run(tmp_path / f"{direction}.trec", hit, tag="t")
    scores = system_scores(tmp_path, qrels)
    second = 100 / math.log2(3)
    assert scores["en-ko"] == pytest.approx([0.0, second])
    assert scores["ko-en"] == pytest.approx([100.0, second])
    assert scores["clir_ovr"] == pytest.approx([50.0, second])
    assert scores["mono_ovr"] == pytest.approx([100.0, second])


def test_compare_corrects_each_family_and_measure_apart():
    n = 12
    rng = np.random.default_rng(0)
    base = {m: rng.uniform(0, 50, n) for m in MEASURES}
    scores = {"base": base, "better": {m: v + 30 for m, v in base.items()},
              "same": {m: v.copy() for m, v in base.items()}}
    out = compare([("f1", "better", "base"), ("f1", "same", "base"), ("f2", "better", "same")],
                  scores, 5000, 0)  # >= 2^12: the exact test
    assert len(out) == 3 * len(MEASURES)
    got = {(c.family, c.system, c.measure): c for c in out}
    better, same = got[("f1", "better", "clir_ovr")], got[("f1", "same", "clir_ovr")]
    assert better.delta == pytest.approx(30.0) and better.ci == pytest.approx((30.0, 30.0))
    # all 12 differences +30: two of 2^12 sign patterns are as extreme
    assert better.p == pytest.approx(2 / 2**12)
    assert better.p_holm == pytest.approx(2 * better.p) and better.significant(0.05)
    assert same.p == 1.0 and same.p_holm == 1.0 and not same.significant(0.05)
    alone = got[("f2", "better", "clir_ovr")]
    assert alone.p_holm == pytest.approx(alone.p)  # a family of one: no correction
