"""A real `dvc repro` of the small profile in a throwaway copy of the repository."""

from __future__ import annotations

import json

import pytest
from datasets import Dataset

pytestmark = pytest.mark.slow


def test_dvc_repro_builds_data_then_skips_everything(project):
    project.dvc("repro")
    prepared = project.root / "data/prepared"
    corpus = Dataset.from_parquet(str(prepared / "corpus.parquet"))
    queries = Dataset.from_parquet(str(prepared / "queries.parquet"))
    triplets = Dataset.from_parquet(str(prepared / "triplets.parquet"))
    assert sorted(set(corpus["lang"])) == ["en", "ko"]
    assert corpus.num_rows > 5000
    assert queries.filter(lambda r: r["split"] == "test").num_rows == 60
    assert 150 <= triplets.num_rows <= 200
    card = json.loads((project.root / "metrics/data.json").read_text())
    assert card["splits"]["test"]["ko"]["passages"] == card["splits"]["test"]["en"]["passages"]
    qrels = (prepared / "qrels.test.txt").read_text().split("\n")
    assert qrels[0].split()[1:] == ["0", qrels[0].split()[2], "1"]

    mtime = (prepared / "corpus.parquet").stat().st_mtime_ns
    again = project.dvc("repro")
    assert "didn't change, skipping" in again.stdout
    assert "Running stage" not in again.stdout
    assert (prepared / "corpus.parquet").stat().st_mtime_ns == mtime
    assert "up to date" in project.dvc("status").stdout
