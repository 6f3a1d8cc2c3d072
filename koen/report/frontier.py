"""The trade-off frontier of interpolation sweeps: each sweep as a line through its merged
models from one parent (w = 0) to the other (w = 1), and the weight to pick.

The pick is the weight with the best CLIR OVR whose Mono OVR is not significantly below the
better (in Mono OVR) of the two parents: a paired permutation test over queries, Holm-corrected
over the sweep's weights. The better parent itself (no loss by definition) is a candidate too,
so "no interior weight" is a possible answer.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from matplotlib.axes import Axes

from koen.report.significance import Comparison
from koen.repro.atomic import atomic_file

Metrics = dict[str, dict[str, float]]
MONO = "mono_ovr"


@dataclass
class SweepLine:
    """One sweep: `(1 - w) * models[1] + w * models[0]`; `points`: weight -> system name."""

    name: str
    models: list[str]
    points: dict[float, str]

    @property
    def family(self) -> str:
        return f"sweep {self.name} against its better parent"

    def better_parent(self, metrics: Metrics) -> str:
        return max(self.models, key=lambda m: metrics[m][MONO])

    def curve(self) -> list[tuple[float, str]]:
        """(weight, system) from w = 0 (models[1]) to w = 1 (models[0])."""
        return [(0.0, self.models[1]), *sorted(self.points.items()), (1.0, self.models[0])]


def sweep_pairs(sweeps: list[SweepLine], metrics: Metrics) -> list[tuple[str, str, str]]:
    """(family, point, better parent) for the significance tests."""
    return [(s.family, system, s.better_parent(metrics)) for s in sweeps
            for system in s.points.values()]


def mono_tests(sweep: SweepLine, comparisons: list[Comparison]) -> dict[str, Comparison]:
    return {c.system: c for c in comparisons if c.family == sweep.family and c.measure == MONO}


def pick(sweep: SweepLine, metrics: Metrics, comparisons: list[Comparison],
         alpha: float) -> tuple[float, str]:
    """(weight, system) with the best CLIR OVR and no significant Mono loss against the better
    parent; the better parent itself when no interior weight qualifies."""
    better = sweep.better_parent(metrics)
    tests = mono_tests(sweep, comparisons)
    weight_of = {system: w for w, system in sweep.curve()}
    candidates = [better] + [system for system in sweep.points.values()
                             if not (tests[system].significant(alpha)
                                     and tests[system].delta < 0)]
    best = max(candidates, key=lambda system: metrics[system]["clir_ovr"])
    return weight_of[best], best


def sweep_markdown(sweeps: list[SweepLine], metrics: Metrics, comparisons: list[Comparison],
                   alpha: float) -> list[str]:
    if not sweeps:
        return ["(no sweeps in params.yaml)"]
    lines = []
    for sweep in sweeps:
        better = sweep.better_parent(metrics)
        tests = mono_tests(sweep, comparisons)
        weight, chosen = pick(sweep, metrics, comparisons, alpha)
        a, b = sweep.models
        lines += [f"### {sweep.name}: (1 − w) · {b} + w · {a}", "",
                  f"| w | CLIR OVR | Mono OVR | Δ Mono vs {better} [95 % CI] | p (Holm) |",
                  "|---:|---:|---:|---:|---:|"]
        for w, system in sweep.curve():
            m = metrics[system]
            label = f"**{w:.2f}**" if system == chosen else f"{w:.2f}"
            if system in tests:
                c = tests[system]
                mark = "†" if c.significant(alpha) else ""
                p = f"{c.p_holm:.3f}" if c.p_holm >= 0.001 else "<0.001"
                test = f"{c.delta:+.2f}{mark} [{c.ci[0]:+.2f}, {c.ci[1]:+.2f}] | {p}"
            else:  # a parent
                test = f"{system} | "
            lines.append(f"| {label} | {m['clir_ovr']:.2f} | {m[MONO]:.2f} | {test}")
        lines += ["", f"Best CLIR OVR without a significant Mono loss against {better}: "
                  f"w = {weight:.2f} (CLIR OVR {metrics[chosen]['clir_ovr']:.2f}, Mono OVR "
                  f"{metrics[chosen][MONO]:.2f}).", ""]
    return lines


def write_sweeps_csv(sweeps: list[SweepLine], metrics: Metrics, plots_dir: Path) -> Path:
    """One row per sweep and weight (parents at 0 and 1), for `dvc plots` (a line per sweep)."""
    out = plots_dir / "sweeps.csv"
    with atomic_file(out) as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["sweep", "weight", "model", "clir_ovr", "mono_ovr"])
        w.writerows([s.name, weight, system, metrics[system]["clir_ovr"],
                     metrics[system][MONO]] for s in sweeps for weight, system in s.curve())
    return out


def draw_sweeps(ax: Axes, sweeps: list[SweepLine], metrics: Metrics) -> None:
    """Each sweep as a line from w = 0 to w = 1 on the trade-off axes, weights labelled."""
    for sweep in sweeps:
        curve = sweep.curve()
        xs = [metrics[s]["clir_ovr"] for _, s in curve]
        ys = [metrics[s][MONO] for _, s in curve]
        ax.plot(xs, ys, "-", marker=".", color="tab:purple", alpha=0.7, linewidth=1,
                label=f"sweep {sweep.name}", zorder=2)
        for (w, _), x, y in zip(curve[1:-1], xs[1:-1], ys[1:-1], strict=True):
            ax.annotate(f"{w:g}", (x, y), textcoords="offset points", xytext=(3, -8),
                        fontsize=6, color="tab:purple")
