from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import free_port
from mlflow import MlflowClient

from koen.repro.atomic import write_json
from koen.tracking.__main__ import main
from koen.tracking.mlflow_log import log_run, pending_file, sync


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch) -> None:
    """Local artifacts (./mlruns) and default settings land in tmp_path."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)


def record(key: str = "stagehash1-e5", group: str = "commit-abc") -> dict:
    Path("scores.json").write_text('{"ndcg@10": 51.2}\n')
    return {"key": key, "name": f"eval {key}", "group": group,
            "params": {"train": {"lr": 2e-5, "composition": "koenen"}},
            "metrics": {"ndcg@10": 51.2, "recall@100": 90.0},
            "tags": {"stage": "evaluate"}, "artifacts": ["scores.json", "missing.json"],
            "steps": {"train_loss": [[0, 2.5], [10, 1.25]]}}


def runs(uri: str) -> list:
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("koen-retrieval")
    return client.search_runs([experiment.experiment_id]) if experiment else []


def children(uri: str) -> list:
    return [r for r in runs(uri) if "koen.key" in r.data.tags]


def check_logged(uri: str) -> None:
    client = MlflowClient(uri)
    (child,) = children(uri)
    (parent,) = [r for r in runs(uri) if "koen.group" in r.data.tags]
    assert parent.info.run_name == "commit-abc"
    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert child.data.tags["koen.key"] == "stagehash1-e5"
    assert child.data.tags["stage"] == "evaluate"
    assert child.data.params == {"train.lr": "2e-05", "train.composition": "koenen"}
    # data.metrics holds the latest value of a per-step metric too.
    assert child.data.metrics == {"ndcg_at_10": 51.2, "recall_at_100": 90.0, "train_loss": 1.25}
    history = client.get_metric_history(child.info.run_id, "train_loss")
    assert sorted((m.step, m.value) for m in history) == [(0, 2.5), (10, 1.25)]
    assert [a.path for a in client.list_artifacts(child.info.run_id)] == ["scores.json"]
    assert child.info.status == parent.info.status == "FINISHED"


def test_log_to_sqlite_and_read_back(tmp_path):
    pending = tmp_path / "pending"
    assert log_run(record(), pending) == "logged"
    check_logged("sqlite:///mlflow.db")  # the default URI, in the working directory
    assert list(pending.iterdir()) == []


def test_same_key_twice_logs_one_run_and_a_group_shares_one_parent(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path}/other.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert log_run(record(), tmp_path / "pending") == "logged"
    assert log_run(record(), tmp_path / "pending") == "exists"
    assert log_run(record(key="stagehash2-e5"), tmp_path / "pending") == "logged"
    assert len(children(uri)) == 2
    assert len(runs(uri)) == 3  # one parent for both


@pytest.mark.slow
def test_log_to_a_real_server(tmp_path, monkeypatch, mlflow_server):
    url = mlflow_server()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    assert log_run(record(), tmp_path / "pending") == "logged"
    check_logged(url)


@pytest.mark.slow
def test_unreachable_server_keeps_the_run_until_sync(tmp_path, monkeypatch, capsys,
                                                     mlflow_server):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    pending = tmp_path / "pending"
    start = time.monotonic()
    assert log_run(record(), pending) == "pending"
    assert time.monotonic() - start < 30
    kept = pending_file(pending, "stagehash1-e5")
    assert kept.is_file()
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("mlflow:")]
    assert len(lines) == 1
    assert url in lines[0] and str(kept) in lines[0]
    assert "python -m koen.tracking sync" in lines[0]

    mlflow_server(port)
    assert main(["sync", "--pending", str(pending)]) == 0
    assert not kept.exists()
    write_json(kept, record())  # as if a crash came between logging and deleting the file
    assert sync(pending) == {"logged": 0, "exists": 1, "pending": 0}
    assert sync(pending) == {"logged": 0, "exists": 0, "pending": 0}
    check_logged(url)
