"""DVC stage `report`: <report.eval_dir>/<benchmark>/*.json and the evaluate stages' runs ->
<report.out>, <report.overall>, <report.significance>, <report.seeds> and <report.plots_dir>/."""

from __future__ import annotations

from pathlib import Path

from koen.config.compositions import parse
from koen.config.schema import NON_MODEL_SYSTEMS, Params, load
from koen.report.frontier import SweepLine
from koen.report.report import report
from koen.report.systems import Systems
from koen.tracking.mlflow_log import begin_stage
from stages import parser, run


def systems(params: Params) -> Systems:
    """What the systems are: grid, merge parents, and labels for the experiment and Shift."""
    method = params.train.method
    if method == "align":
        experiment = f"align, init {params.train.align.init}"
        neighbours = [params.train.align.init] if params.train.align.init != "base" else []
    else:
        experiment = f"{params.composition}, {method}"
        neighbours = [c for c in parse(params.composition, params.pair) if c in params.grid]
    merges = {name: list(params.merges[name].models) for name in params.merges}
    shift = params.index.shift
    names = [*params.system_names(), *NON_MODEL_SYSTEMS]
    return Systems(names=names, benchmarks=list(params.benchmarks), grid=list(params.grid),
                   merges=merges,
                   experiment=experiment,
                   shift=f"alpha {shift.alpha}, {Path(shift.model).name}", neighbours=neighbours,
                   sweeps=[SweepLine(name, list(sw.models),
                                     {w: sw.system(name, w) for w in sw.weights})
                           for name, sw in params.sweeps.items()],
                   seeds=params.train.seeds, pair=params.pair)


def main(argv: list[str] | None = None) -> None:
    parser("stages.report", "tables, significance tests and plots of every system"
           ).parse_args(argv)
    begin_stage()  # the MLflow runs span the stage, with its system metrics
    params = load()
    p = params.report
    bench_dirs = {b: params.benchmark.out_dir / b for b in params.benchmarks}
    status = report(p, systems(params), params.tracking.pending, params.evaluate.runs_dir,
                    bench_dirs, params.seed)
    print(f"mlflow: {status}")
    print(p.out.read_text(encoding="utf-8"))


if __name__ == "__main__":
    run(main)
