"""DVC stage `report`: <report.eval_dir>/*.json -> <report.out> and <report.plots_dir>/."""

from __future__ import annotations

from pathlib import Path

from koen.config.schema import Params, load
from koen.report.report import Systems, report


def systems(params: Params) -> Systems:
    """Labels from the params that say what the experiment model and the Shift system are."""
    method = params.train.method
    experiment = (f"align, init {params.train.align.init}" if method == "align"
                  else f"{params.composition}, {method}")
    shift = params.index.shift
    return Systems(grid=list(params.grid), merges=list(params.merges), experiment=experiment,
                   shift=f"alpha {shift.alpha}, {Path(shift.model).name}")


def main() -> None:
    params = load()
    p = params.report
    print(f"mlflow: {report(p, systems(params), params.tracking.pending)}")
    print(p.out.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
