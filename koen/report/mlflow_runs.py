"""The report's MLflow runs: one keyed by the report's content, so the same report is logged
once, with the tests, the seeds' spread and every file written; and one per system with its AVGs
and OVRs, for the runs table."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from koen.report.load import Metrics
from koen.report.seeds import Spread
from koen.tracking import mlflow_log

HEADLINE = ("clir_ovr", "mono_ovr")  # per system, on the parent run


def log_report(text: str, overall: Metrics, kinds: dict[str, str],
               tests: dict[str, dict[str, float]], spreads: dict[str, Spread],
               bench_dirs: dict[str, Path], files: list[Path], pending: Path) -> str:
    """Log the per-system runs, then the report's run; returns the report run's status.
    `overall`: every system's AVGs and OVRs, in the report's order; `tests`: `evidence_json`.
    The headline figures (each system's CLIR and Mono OVR) also go on the parent run, so the
    runs table's first, collapsed row reads like the README's table."""
    benchmarks = list(bench_dirs)
    record = mlflow_log.stage_record(
        f"report/{hashlib.sha256(text.encode()).hexdigest()[:16]}", "report", {"stage": "report"},
        params={"models": ",".join(overall), "benchmarks": ",".join(benchmarks)},
        metrics={**{f"{k}/{field}": v for k, values in tests.items()
                    for field, v in values.items() if field in ("p_holm", "delta")},
                 **{f"seeds/{k}/{field}": v[field] for k, v in spreads.items()
                    for field in ("mean", "sd") if v[field] is not None}},
        group_metrics={f"{name}/{m}": figures[m] for name, figures in overall.items()
                       for m in HEADLINE if m in figures},
        datasets=[mlflow_log.dataset(d, "evaluation") for d in bench_dirs.values()],
        artifacts=[str(x) for x in files])
    log_overall(overall, kinds, benchmarks, pending)
    return mlflow_log.log_run(record, pending)


def log_overall(overall: Metrics, kinds: dict[str, str], benchmarks: list[str],
                pending: Path) -> None:
    """One MLflow run per system with its AVGs and OVRs over the benchmarks, for the runs table
    (filter `tags.stage = 'overall'`, plot clir_ovr against mono_ovr)."""
    for name, figures in overall.items():
        digest = hashlib.sha256(json.dumps([benchmarks, figures], sort_keys=True).encode())
        mlflow_log.log_run(mlflow_log.stage_record(
            f"overall/{name}/{digest.hexdigest()[:16]}", f"overall {name}",
            {"stage": "overall", "model": name, "kind": kinds[name]},
            metrics=figures, params={"benchmarks": ",".join(benchmarks)}), pending)
