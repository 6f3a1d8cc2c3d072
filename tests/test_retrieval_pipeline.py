"""A real `dvc repro` of the retrieval stages (index, evaluate, report) as proposed for
dvc.yaml, in a throwaway copy of the repository with a tiny model and collection."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import yaml
from conftest import copy_project
from tiny_data import PARAMS, write_collection
from tiny_models import tiny_model

pytestmark = pytest.mark.slow

# The proposed stages for base, bm25 and hybrid (the grid, experiment and merged models repeat
# the base stages under foreach).
STAGES = """
index_base:
  cmd: python -m stages.index base ${base_model.out}
  deps: [stages/index.py, stages/dense.py, stages/provenance.py, "${index.corpus}"]
  params: [index.split, index.batch_size]
  outs: ["${index.out_dir}/base"]
index_bm25:
  cmd: python -m stages.index bm25
  deps: [stages/index.py, stages/bm25.py, stages/provenance.py, "${index.corpus}"]
  params: [index.split]
  outs: ["${index.out_dir}/bm25"]
evaluate_base:
  cmd: python -m stages.evaluate base
  deps: [stages/evaluate.py, stages/index.py, stages/dense.py, stages/retrieval_metrics.py,
         stages/provenance.py, stages/tracking.py, "${evaluate.queries}", "${evaluate.qrels}",
         "${evaluate.indexes}/base", "${base_model.out}"]
  params: [evaluate.k, evaluate.multi_k, evaluate.benchmark]
  outs: ["${evaluate.runs_dir}/base"]
  metrics: [{"${evaluate.out_dir}/base.json": {cache: false}}]
evaluate_bm25:
  cmd: python -m stages.evaluate bm25
  deps: [stages/evaluate.py, stages/index.py, stages/bm25.py, stages/retrieval_metrics.py,
         stages/provenance.py, stages/tracking.py, "${evaluate.queries}", "${evaluate.qrels}",
         "${evaluate.indexes}/bm25"]
  params: [evaluate.k, evaluate.multi_k, evaluate.benchmark]
  outs: ["${evaluate.runs_dir}/bm25"]
  metrics: [{"${evaluate.out_dir}/bm25.json": {cache: false}}]
evaluate_hybrid:
  cmd: python -m stages.evaluate hybrid
  deps: [stages/evaluate.py, stages/index.py, stages/dense.py, stages/bm25.py, stages/fusion.py,
         stages/retrieval_metrics.py, stages/provenance.py, stages/tracking.py,
         "${evaluate.queries}", "${evaluate.qrels}",
         "${evaluate.indexes}/${evaluate.hybrid.dense}",
         "${evaluate.indexes}/${evaluate.hybrid.sparse}", "${base_model.out}"]
  params: [evaluate.k, evaluate.multi_k, evaluate.benchmark, evaluate.hybrid]
  outs: ["${evaluate.runs_dir}/hybrid"]
  metrics: [{"${evaluate.out_dir}/hybrid.json": {cache: false}}]
report:
  cmd: python -m stages.report
  deps: [stages/report.py, stages/provenance.py, stages/tracking.py, "${report.eval_dir}"]
  params: [report]
  outs: [{"${report.out}": {cache: false}}]
  plots:
    - "${report.plots_dir}/tradeoff.csv": {cache: false, template: scatter, x: clir_ovr,
                                           y: mono_ovr}
    - "${report.plots_dir}/directions.csv": {cache: false, template: bar_horizontal,
                                             x: ndcg@10, y: label}
    - "${report.plots_dir}/tradeoff.png": {cache: false}
    - "${report.plots_dir}/directions.png": {cache: false}
"""


def ran(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


def test_dvc_repro_indexes_evaluates_reports_then_skips(tmp_path):
    project = copy_project(tmp_path / "repo")
    root = project.root
    shutil.copytree(tiny_model(tmp_path / "tiny"), root / "models/base")
    write_collection(root)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params |= {k: PARAMS[k] for k in ("index", "evaluate", "report")}
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": yaml.safe_load(STAGES)}))
    project.env["HF_HUB_OFFLINE"] = "1"
    project.commit("retrieval stages")

    first = project.dvc("repro")
    assert ran(first.stdout) == {"index_base", "index_bm25", "evaluate_base", "evaluate_bm25",
                                 "evaluate_hybrid", "report"}
    shown = json.loads(project.dvc("metrics", "show", "--json").stdout)
    (workspace,) = shown.values()
    files = workspace["data"]
    assert files["metrics/eval/hybrid.json"]["data"]["queries"] == 6
    assert "| hybrid |" in (root / "metrics/report.md").read_text()
    plots = json.loads(project.dvc("plots", "show", "--json").stdout)
    assert "errors" not in plots
    assert {"metrics/plots/tradeoff.csv", "metrics/plots/directions.csv",
            "metrics/plots/tradeoff.png"} <= set(plots["data"])

    again = project.dvc("repro")
    assert not ran(again.stdout) and "up to date" in project.dvc("status").stdout
