"""What the evaluated systems are: the grid, the merges, the experiment model and Shift; the
kind of each (for the plots' colours and the MLflow tags); and the systems meant to fix English
inclination, which the inclination table and plot follow: base, the best grid composition (by
CLIR OVR), the merges, the experiment model (the `composition` and `train.method` params say
what it is, e.g. align) and Shift."""

from __future__ import annotations

from dataclasses import dataclass

from koen.config.languages import Pair
from koen.report.frontier import SweepLine
from koen.report.load import Metrics


@dataclass
class Systems:
    """What the systems are, for labels and colours: the grid codes, the merge recipes, and
    one-line descriptions of the experiment model and the Shift system."""

    names: list[str]  # every system evaluated: the report's rows
    benchmarks: list[str]
    grid: list[str]
    merges: dict[str, list[str]]  # recipe -> the models it merges
    experiment: str
    shift: str
    neighbours: list[str]  # grid models the experiment is compared with
    sweeps: list[SweepLine]
    seeds: list[int]  # training seeds: train.seed (the tested models' one), then further ones
    pair: Pair  # the study's languages: column names, headings


def system_kinds(metrics: Metrics, systems: Systems) -> dict[str, str]:
    """baseline (not trained here), composition (grid), merge, or other (experiment, Shift)."""
    grid, merges = set(systems.grid), set(systems.merges)
    return {n: "composition" if n in grid else "merge" if n in merges
            else "baseline" if n in ("base", "bm25", "hybrid") else "other" for n in metrics}


def inclination_rows(metrics: Metrics, systems: Systems) -> Metrics:
    """The systems of the inclination table, labelled by what they are, in a fixed order."""
    grid = [n for n in systems.grid if n in metrics]
    rows = {}
    if "base" in metrics:
        rows["base"] = metrics["base"]
    if grid:
        top = max(grid, key=lambda n: metrics[n]["clir_ovr"])
        rows[f"{top} (best composition)"] = metrics[top]
    for name in systems.merges:
        if name in metrics:
            rows[f"{name} (merge)"] = metrics[name]
    if "experiment" in metrics:
        rows[f"experiment ({systems.experiment})"] = metrics["experiment"]
    if "shift" in metrics:
        rows[f"shift ({systems.shift})"] = metrics["shift"]
    return rows
