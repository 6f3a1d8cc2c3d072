"""The regression file of the default run's headline figures, and its check."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from koen.evaluation.regression import check, main
from koen.repro.atomic import write_json

ROOT = Path(__file__).resolve().parents[1]


def test_a_moved_number_fails_the_check_and_an_update_accepts_it(tmp_path):
    eval_dir, file = tmp_path / "eval", tmp_path / "regression.yaml"
    write_json(eval_dir / "base.json", {"clir_ovr": 16.03, "lohelp/en-ko/ndcg@10": 18.25,
                                        "lohelp/en-ko/recall@100": 60.0, "lohelp/queries": 600})
    assert main(["--update", "--file", str(file), "--eval-dir", str(eval_dir)]) == 0
    expected = yaml.safe_load(file.read_text())
    assert expected["systems"] == {"base": {"clir_ovr": 16.03, "lohelp/en-ko/ndcg@10": 18.25}}
    assert check(expected, eval_dir) == []
    write_json(eval_dir / "base.json", {"clir_ovr": 16.04, "lohelp/en-ko/ndcg@10": 18.35})
    assert check(expected, eval_dir) == [
        "base lohelp/en-ko/ndcg@10: 18.35 (expected 18.25 ± 0.01)"]  # 0.01 is within
    assert main(["--file", str(file), "--eval-dir", str(eval_dir)]) == 1
    (eval_dir / "base.json").unlink()
    assert check(expected, eval_dir) == [f"base: no {eval_dir / 'base.json'}"]


@pytest.mark.slow
def test_the_committed_metrics_match_the_regression_file():
    """The default run's committed metrics against the committed expectations: a commit that
    moves a number without updating metrics/regression.yaml fails here."""
    expected = yaml.safe_load((ROOT / "metrics/regression.yaml").read_text())
    assert len(expected["systems"]) >= 16
    assert check(expected, ROOT / "metrics/eval") == []
