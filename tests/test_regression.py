"""The regression file of the default run's headline figures, and its check."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from koen.evaluation.regression import check, main
from koen.repro.atomic import write_json

ROOT = Path(__file__).resolve().parents[1]


def test_a_moved_number_fails_the_check_and_an_update_accepts_it(tmp_path):
    """Per-benchmark files combine into the headline: each benchmark's nDCG@10 and the AVGs and
    OVRs over the benchmarks."""
    eval_dir, file = tmp_path / "eval", tmp_path / "regression.yaml"
    one = {"en-ko/ndcg@10": 18.25, "ko-en/ndcg@10": 13.81, "en-ko/recall@100": 60.0,
           "queries": 600}
    write_json(eval_dir / "lohelp/base.json", one)
    assert main(["--update", "--file", str(file), "--eval-dir", str(eval_dir)]) == 0
    expected = yaml.safe_load(file.read_text())
    assert expected["systems"] == {"base": {"avg_en-ko": 18.25, "avg_ko-en": 13.81,
                                            "clir_ovr": 16.03, "lohelp/en-ko/ndcg@10": 18.25,
                                            "lohelp/ko-en/ndcg@10": 13.81}}
    assert check(expected, eval_dir) == []
    write_json(eval_dir / "lohelp/base.json", one | {"en-ko/ndcg@10": 18.35})
    assert check(expected, eval_dir) == [
        "base avg_en-ko: 18.35 (expected 18.25 ± 0.01)",
        "base clir_ovr: 16.08 (expected 16.03 ± 0.01)",
        "base lohelp/en-ko/ndcg@10: 18.35 (expected 18.25 ± 0.01)"]
    assert main(["--file", str(file), "--eval-dir", str(eval_dir)]) == 1
    write_json(eval_dir / "lohelp/base.json", one | {"en-ko/ndcg@10": 18.26})
    assert check(expected, eval_dir) == []  # 0.01 is within
    (eval_dir / "lohelp/base.json").unlink()
    assert check(expected, eval_dir) == [f"base: not evaluated in {eval_dir}"]


@pytest.mark.slow
def test_the_committed_metrics_match_the_regression_file():
    """The default run's committed metrics against the committed expectations: a commit that
    moves a number without updating metrics/regression.yaml fails here."""
    expected = yaml.safe_load((ROOT / "metrics/regression.yaml").read_text())
    assert len(expected["systems"]) >= 16
    assert check(expected, ROOT / "metrics/eval") == []
