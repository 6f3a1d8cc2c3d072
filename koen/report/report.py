"""Every evaluated system in the layout of Jang et al.'s main table, with plots: the `report`
stage's work, from the evaluate stages' metrics and runs to the Markdown report, its JSON
metrics, the plots and the MLflow runs."""

from __future__ import annotations

from pathlib import Path

from koen.config.schema import ReportParams, seed_system
from koen.formats.benchmark import load_task
from koen.report.evidence import evidence_json, gather_evidence
from koen.report.frontier import sweep_markdown, write_sweeps_csv
from koen.report.load import load_metrics, load_points
from koen.report.machines import machines_markdown
from koen.report.mlflow_runs import log_report
from koen.report.plots import write_csvs, write_pngs
from koen.report.seeds import load_seed_metrics, seed_summary, seeds_markdown
from koen.report.systems import Systems, inclination_rows, system_kinds
from koen.report.tables import markdown
from koen.repro.atomic import atomic_file, write_json

OVERALL = ("clir_ovr", "mono_ovr")  # with the AVGs: `report.overall`, what register ranks by


def report(p: ReportParams, systems: Systems, pending: Path, runs_dir: Path,
           bench_dirs: dict[str, Path], seed: int) -> str:
    """Write the report, its tests and plots; log them to MLflow; returns the logging status.
    `bench_dirs`: each converted benchmark's folder, in the report's order."""
    benchmarks = list(bench_dirs)
    tasks = {b: load_task(d, systems.pair) for b, d in bench_dirs.items()}
    pooled = [b for b, t in tasks.items() if t.multi]  # benchmarks with a Multi pool
    metrics = load_metrics(p.eval_dir, systems.names, p.first, benchmarks)
    points = load_points(p.eval_dir, systems.sweeps, benchmarks)
    focus = inclination_rows(metrics, systems)
    evidence = gather_evidence(metrics, systems, p.base, runs_dir, tasks, p.resamples, p.alpha,
                               seed, points)
    seeded = [n for n in [*systems.grid, *systems.merges] if n in metrics]
    per_seed = load_seed_metrics(p.eval_dir, systems.seeds, seeded, metrics, benchmarks)
    spreads = seed_summary(per_seed, systems.merges,
                           {n: m for n, m in metrics.items() if n not in seeded})
    text = markdown(metrics, p.base, focus, evidence, benchmarks, pooled,
                    [n for n in systems.names if n not in metrics],
                    sweep_markdown(systems.sweeps, metrics | points, evidence.comparisons,
                                   p.alpha),
                    seeds_markdown(spreads, systems.seeds, seeded, systems.merges), systems.pair,
                    p.title)
    evaluated = [*metrics, *points, *(seed_system(s, n) for s in systems.seeds for n in seeded)]
    text += "\n" + "\n".join(machines_markdown(p.eval_dir, evaluated, benchmarks))
    with atomic_file(p.out) as f:
        f.write(text)
    tests = evidence_json(evidence)
    write_json(p.significance, tests)
    write_json(p.seeds, {"seeds": systems.seeds, "spread": spreads})
    overall = {n: {k: v for k, v in m.items() if k in OVERALL or k.startswith("avg_")}
               for n, m in metrics.items()}
    write_json(p.overall, overall)
    kinds = system_kinds(metrics, systems)
    files = [p.out, p.overall, p.significance, p.seeds,
             *write_csvs(metrics, p.plots_dir, focus, evidence, pooled, systems.pair),
             write_sweeps_csv(systems.sweeps, metrics | points, p.plots_dir),
             *write_pngs(metrics, p.plots_dir, focus, kinds, evidence, pooled, systems.sweeps,
                         points, per_seed, systems.pair)]
    return log_report(text, overall, kinds, tests, spreads, bench_dirs, files, pending)
