from __future__ import annotations

from math import log2

import pytest

from koen.evaluation.metrics import (
    english_inclination,
    ir_metrics,
    multi_metrics,
    paper_summary,
    round2,
)
from koen.formats.trec import doc_lang, ranked, read_qrels, read_trec_run, write_trec_run

# q1: relevant a (rank 2) and c (rank 4); q2: graded, e (rel 1) above d (rel 2).
QRELS = {"q1": {"a": 1, "b": 0, "c": 1}, "q2": {"d": 2, "e": 1}}
RUN = {"q1": {"x": 0.9, "a": 0.8, "y": 0.7, "c": 0.6}, "q2": {"e": 0.5, "d": 0.4}}
NDCG_Q1 = (1 / log2(3) + 1 / log2(5)) / (1 + 1 / log2(3))
NDCG_Q2 = (1 + 2 / log2(3)) / (2 + 1 / log2(3))


def test_ir_metrics_match_hand_computation():
    m = ir_metrics(RUN, QRELS)
    assert m == {"ndcg@10": round2(100 * (NDCG_Q1 + NDCG_Q2) / 2),
                 "recall@100": 100.0, "mrr@10": 75.0}


def test_query_missing_from_run_counts_zero_and_unjudged_queries_are_ignored():
    qrels = {**QRELS, "q3": {"z": 1}, "q4": {"w": 0}}
    run = {**RUN, "q5": {"v": 1.0}}
    m = ir_metrics(run, qrels)
    assert m["mrr@10"] == 50.0  # (0.5 + 1 + 0) / 3
    assert m["ndcg@10"] == round2(100 * (NDCG_Q1 + NDCG_Q2) / 3)


def test_ties_broken_by_docid_ascending():
    qrels = {"q": {"b": 1}}
    for run in ({"q": {"a": 1.0, "b": 1.0}}, {"q": {"b": 1.0, "a": 1.0}}):
        assert ir_metrics(run, qrels)["mrr@10"] == 50.0
        assert multi_metrics(run, qrels, pool_size=2)["max@r"] == 2
    # whatever order the run holds them in; -0.0 and 0.0 tie
    docs = {"c": 0.5, "f": 0.0, "b": 1.0, "e": -0.0, "a": 0.5, "d": 1.0, "g": -2.0}
    for items in (docs.items(), reversed(docs.items())):
        assert ranked(dict(items)) == ["b", "d", "a", "c", "e", "f", "g"]


def test_run_file_round_trip(tmp_path):
    path = tmp_path / "run.trec"
    run = {"q2": {"b": 0.5, "a": 0.5, "c": 0.25}, "q1": {"d": -1.0}}
    write_trec_run(path, run, "e5")
    assert path.read_text().splitlines() == [
        "q1 Q0 d 1 -1.0 e5", "q2 Q0 a 1 0.5 e5", "q2 Q0 b 2 0.5 e5", "q2 Q0 c 3 0.25 e5"]
    assert read_trec_run(path) == run
    assert not (tmp_path / "run.trec.part").exists()


def test_read_qrels(tmp_path):
    path = tmp_path / "qrels.txt"
    path.write_text("q1 0 p1-ko 1\nq1 0 p2-en 0\n\nq2 0 p3-en 2\n")
    assert read_qrels(path) == {"q1": {"p1-ko": 1, "p2-en": 0}, "q2": {"p3-en": 2}}


def test_multi_metrics_relevant_at_ranks_1_and_3_in_pool_of_8():
    qrels = {"q1": {"p1-ko": 1, "p1-en": 1}}
    run = {"q1": {"p1-ko": 0.9, "p2-en": 0.8, "p1-en": 0.7, "p3-ko": 0.1}}
    assert multi_metrics(run, qrels, pool_size=8) == {
        "max@r": 3, "max@r_norm": round2(100 * (3 - log2(3)) / (3 - 1)), "comp@10": 100.0}


def test_multi_metrics_missing_relevant_doc_sits_at_bottom_of_pool():
    qrels = {"q1": {"p1-ko": 1, "p1-en": 1}, "q2": {"p2-ko": 1, "p2-en": 1}}
    run = {"q1": {"p1-ko": 0.9, "p2-en": 0.8, "p1-en": 0.7}, "q2": {"p2-ko": 0.9}}
    assert multi_metrics(run, qrels, pool_size=8) == {
        "max@r": 5.5, "max@r_norm": round2(100 * (3 - log2(3)) / (3 - 1) / 2),
        "comp@10": 50.0}


def test_multi_metrics_pool_of_only_relevant_docs_is_perfect():
    qrels = {"q": {"a": 1, "b": 1}}
    assert multi_metrics({"q": {"a": 1.0, "b": 0.5}}, qrels, pool_size=2)["max@r_norm"] == 100


def test_english_inclination():
    qrels = {"q1": {"p1-ko": 1, "p1-en": 1}, "q2": {"p3-ko": 1, "p3-en": 1},
             "q3": {"p4-ko": 1, "p4-en": 1}, "q4": {"p6-ko": 1, "p6-en": 1},
             "q5": {"p7-en": 1}}
    run = {
        "q1": {"p2-en": 0.9, "p1-ko": 0.8},  # unrelated English doc first: inclined
        "q2": {"p3-ko": 0.9, "p2-en": 0.8},
        "q3": {"p4-en": 0.9, "p4-ko": 0.8},  # the relevant English parallel does not count
        "q4": {"p5-ko": 0.9, "p6-ko": 0.8},  # an unrelated Korean doc does not count
        "q5": {"p2-en": 0.9},  # no relevant Korean doc: not counted
    }
    assert english_inclination(run, qrels, doc_lang, "ko") == {"inclination": 25.0}


def test_round2_rounds_half_up():
    assert (round2(85.535), round2(70.38499999999999), round2(1 / 3)) == (85.54, 70.39, 0.33)


def test_doc_lang():
    assert doc_lang("p01234-ko") == "ko"
    assert doc_lang("help-page-7-en") == "en"


# multilingual-e5-base rows of Jang et al.'s main table:
# BB en-ko, BB ko-en, SQA en-ko, SQA ko-en, CLIR OVR, BB ko-ko, BB en-en, SQA ko-ko, SQA en-en,
# Mono OVR.
PAPER_ROWS = {
    "base": (82.28, 77.52, 77.94, 54.44, 73.05, 92.87, 95.79, 76.36, 83.21, 87.06),
    "kokoen": (85.26, 79.34, 79.19, 57.89, 75.42, 90.55, 95.81, 75.80, 84.01, 86.54),
    "koenko": (75.30, 83.35, 60.05, 62.84, 70.39, 83.31, 93.75, 62.48, 82.68, 80.56),
    "koenen": (89.02, 83.29, 80.06, 63.23, 78.90, 89.61, 94.17, 74.71, 83.65, 85.54),
    "enenko": (85.17, 80.31, 76.93, 58.59, 75.25, 90.92, 95.22, 75.48, 84.20, 86.46),
    "enkoen": (88.94, 77.93, 80.29, 55.28, 75.61, 87.37, 94.74, 73.90, 82.35, 84.59),
    "enkoko": (89.43, 82.50, 80.60, 61.83, 78.59, 88.10, 94.79, 73.76, 83.90, 85.14),
}


@pytest.mark.parametrize("row", PAPER_ROWS)
def test_paper_summary_reproduces_main_table(row):
    bb_enko, bb_koen, sqa_enko, sqa_koen, clir, bb_koko, bb_enen, sqa_koko, sqa_enen, mono = (
        PAPER_ROWS[row])
    scores = {"belebele": {"en-ko": bb_enko, "ko-en": bb_koen, "ko-ko": bb_koko, "en-en": bb_enen},
              "strategyqa": {"en-ko": sqa_enko, "ko-en": sqa_koen, "ko-ko": sqa_koko,
                             "en-en": sqa_enen}}
    s = paper_summary(scores)
    assert (s["clir_ovr"], s["mono_ovr"]) == (clir, mono)  # exact, thanks to half-up rounding
    assert s["avg_ko-en"] == round2((bb_koen + sqa_koen) / 2)


def test_paper_summary_skips_missing_directions():
    s = paper_summary({"belebele": {"en-ko": 80.0, "ko-en": 70.0}, "sqa": {"en-ko": 60.0}})
    assert s == {"avg_en-ko": 70.0, "avg_ko-en": 70.0, "clir_ovr": 70.0}
