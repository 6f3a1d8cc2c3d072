"""The MLflow UI itself, in headless Chromium: the experiment opens on its runs table."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from mlflow import MlflowClient

from koen.tracking.mlflow_log import log_run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (Debian: apt "
                                 "install chromium); the REST checks are in test_tracking.py")]


def headless(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                           "--virtual-time-budget=15000", "--window-size=1400,900", *args],
                          capture_output=True, text=True, timeout=120)


def test_the_experiment_page_shows_the_runs_table(tmp_path, monkeypatch, mlflow_server):
    url = mlflow_server()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    for name, kind in (("evaluate koenen", "composition"), ("evaluate grid-avg", "merge")):
        log_run({"key": name, "name": name, "metrics": {"clir_ovr": 50.0, "mono_ovr": 70.0},
                 "tags": {"stage": "evaluate", "kind": kind}}, tmp_path / "pending")
    exp_id = MlflowClient(url).get_experiment_by_name("koen-retrieval").experiment_id
    # MLflow 3.17 shows GenAI pages until the UI is switched to "machine learning" (a toggle it
    # keeps in local storage, or this URL parameter); the experiment kind tag is set as well
    page = f"{url}/#/experiments/{exp_id}?workflowType=machine_learning"
    dom = headless("--dump-dom", page).stdout
    # the runs table, not the GenAI overview: both run names are rendered
    assert "evaluate koenen" in dom and "evaluate grid-avg" in dom, dom[-2000:]
    shot = tmp_path / "runs.png"
    headless(f"--screenshot={shot}", page)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
