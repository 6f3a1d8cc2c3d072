"""The report's plots, as PNG and as CSV for `dvc plots`: CLIR OVR against Mono OVR (the
trade-off merging is meant to fix) with the sweeps and further training seeds, nDCG@10 per
direction, and Max@R_norm in the Multi pools of the systems meant to fix English inclination.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox

from koen.config.languages import LANGUAGES, Pair
from koen.report.evidence import Evidence
from koen.report.frontier import SweepLine, draw_sweeps
from koen.report.load import Metrics
from koen.repro.atomic import atomic_file


def write_csvs(metrics: Metrics, plots_dir: Path, focus: Metrics, evidence: Evidence,
               pooled: list[str], pair: Pair) -> list[Path]:
    """The plots' data for `dvc plots`: one point per system (CLIR OVR, Mono OVR), and one bar
    per system and direction, labelled "<system> <direction>" (DVC's bar template draws one
    bar per label)."""
    tradeoff, directions = plots_dir / "tradeoff.csv", plots_dir / "directions.csv"
    with atomic_file(tradeoff) as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["model", "clir_ovr", "mono_ovr", "clir_ovr_low", "clir_ovr_high",
                    "mono_ovr_low", "mono_ovr_high"])
        w.writerows([n, m["clir_ovr"], m["mono_ovr"],
                     *(round(x, 2) for k in ("clir_ovr", "mono_ovr")
                       for x in evidence.intervals[n][k])] for n, m in metrics.items()
                    if "clir_ovr" in m and "mono_ovr" in m)
    with atomic_file(directions) as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["label", "model", "direction", "ndcg@10"])  # the AVG over benchmarks
        w.writerows([f"{n} {d}", n, d, m[f"avg_{d}"]] for n, m in metrics.items()
                    for d in pair.directions if f"avg_{d}" in m)
    inclination = plots_dir / "inclination.csv"
    with atomic_file(inclination) as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["label", "model", "benchmark", "query_lang", "max@r_norm"])
        w.writerows([f"{n} {b} {lang}", n, b, lang, m[f"{b}/multi/{lang}/max@r_norm"]]
                    for n, m in focus.items() for b in pooled for lang in pair.codes)
    return [tradeoff, directions, inclination]


KIND_STYLE = {"baseline": ("tab:gray", "s"), "composition": ("tab:blue", "o"),
              "merge": ("tab:red", "D"), "other": ("tab:green", "^")}
# Label offsets in points, nearest first: right, left, above, below, then further out.
LABEL_OFFSETS = [(dx * r, dy * r) for r in (1, 2, 3, 4.5, 6)
                 for dx, dy in ((5, 3), (-5, 3), (5, -9), (-5, -9), (0, 8), (0, -14),
                                (5, 8), (-5, 8), (5, -14), (-5, -14))]


def annotate(ax: Axes, name: str, point: tuple[float, float], offset: tuple[float, float],
             line: bool = False) -> Annotation:
    """`name` at `offset` points from `point`, with a leader line back to it if `line`."""
    ha = "left" if offset[0] > 0 else "right" if offset[0] < 0 else "center"
    return ax.annotate(name, point, textcoords="offset points", xytext=offset, fontsize=7, ha=ha,
                       arrowprops={"arrowstyle": "-", "lw": 0.7, "color": "0.3"} if line else None)


def place_labels(ax: Axes, points: list[tuple[str, float, float]]) -> None:
    """Label each point at the nearest offset where it overlaps no label placed before it.

    Systems cluster where the merges land, and labels on top of each other hide exactly the
    comparison the plot is for. A label placed away from its point gets a leader line.
    """
    ax.figure.canvas.draw()  # autoscale first: before it, every extent is a unit box
    renderer = ax.figure.canvas.get_renderer()
    # the markers too: a label beside another system's marker reads as that system's
    taken = [Bbox.from_bounds(px - 5, py - 5, 10, 10)
             for px, py in ax.transData.transform([(x, y) for _, x, y in points])]
    for name, x, y in points:
        # searched without leader lines: a line reaches back into the cluster it leaves
        for dx, dy in LABEL_OFFSETS:
            label = annotate(ax, name, (x, y), (dx, dy))
            box = label.get_window_extent(renderer)
            if not any(box.overlaps(other) for other in taken):
                break
            label.remove()
        else:  # nowhere free: keep the nearest place
            dx, dy = LABEL_OFFSETS[0]
            label = annotate(ax, name, (x, y), (dx, dy))
            box = label.get_window_extent(renderer)
        if abs(dx) > 5 or abs(dy) > 14:
            label.remove()
            annotate(ax, name, (x, y), (dx, dy), line=True)
        taken.append(box)


def whiskers(metrics: Metrics, names: list[str], evidence: Evidence,
             key: str) -> np.ndarray:
    """(2, n) distances from each value down and up to its 95 % interval, for `errorbar`."""
    lows, highs = zip(*(evidence.intervals[n][key] for n in names), strict=True)
    values = np.array([metrics[n][key] for n in names])
    return np.array([(values - np.array(lows)).clip(min=0),
                     (np.array(highs) - values).clip(min=0)])


def draw_seeds(ax: Axes, metrics: Metrics, per_seed: dict[int, Metrics],
               kinds: dict[str, str]) -> None:
    """Each model of the further training seeds as a hollow marker tied to its tested one."""
    further = list(per_seed)[1:]
    for seed in further:
        for name, m in per_seed[seed].items():
            color, marker = KIND_STYLE[kinds.get(name, "other")]
            ax.plot([metrics[name]["clir_ovr"], m["clir_ovr"]],
                    [metrics[name]["mono_ovr"], m["mono_ovr"]], color=color, lw=0.6, alpha=0.5)
            ax.scatter(m["clir_ovr"], m["mono_ovr"], facecolors="none", edgecolors=color,
                       marker=marker, s=28, linewidths=0.8, zorder=2)
    if further:
        ax.scatter([], [], facecolors="none", edgecolors="0.3", marker="o",
                   label=f"training seed {', '.join(map(str, further))} (filled: "
                         f"{next(iter(per_seed))})")


def write_pngs(metrics: Metrics, plots_dir: Path, focus: Metrics, kinds: dict[str, str],
               evidence: Evidence, pooled: list[str], sweeps: list[SweepLine],
               points: Metrics, per_seed: dict[int, Metrics], pair: Pair) -> list[Path]:
    """The trade-off scatter, nDCG@10 per direction and the inclination of the Multi pools of
    the `pooled` (parallel) benchmarks."""
    names = [n for n, m in metrics.items() if "clir_ovr" in m and "mono_ovr" in m]
    fig, ax = new_figure((9.5, 6))
    draw_sweeps(ax, sweeps, metrics | points)
    draw_seeds(ax, metrics, per_seed, kinds)
    for kind, (color, marker) in KIND_STYLE.items():
        members = [n for n in names if kinds.get(n, "other") == kind]
        if members:
            ax.errorbar([metrics[n]["clir_ovr"] for n in members],
                        [metrics[n]["mono_ovr"] for n in members],
                        xerr=whiskers(metrics, members, evidence, "clir_ovr"),
                        yerr=whiskers(metrics, members, evidence, "mono_ovr"),
                        color=color, marker=marker, linestyle="none", elinewidth=0.8,
                        capsize=2, alpha=0.9, label=kind, zorder=3)
    ax.set(xlabel="CLIR OVR (nDCG@10)", ylabel="Mono OVR (nDCG@10)",
           title="Cross-lingual vs mono-lingual retrieval (whiskers: 95 % bootstrap CI)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))  # never over a point
    fig.tight_layout()
    place_labels(ax, [(n, metrics[n]["clir_ovr"], metrics[n]["mono_ovr"]) for n in names])
    tradeoff = plots_dir / "tradeoff.png"
    save(fig, tradeoff)

    fig, ax = new_figure((max(6, 0.8 * len(names) + 2), 4.5))
    width = 0.8 / len(pair.directions)
    for i, d in enumerate(pair.directions):
        ax.bar(np.arange(len(names)) + (i - 1.5) * width,
               [metrics[n].get(f"avg_{d}", np.nan) for n in names], width, label=d)
    ax.set_xticks(np.arange(len(names)), names, rotation=30, ha="right")
    ax.set(ylabel="nDCG@10 (AVG over benchmarks)",
           title="nDCG@10 per direction (query-documents)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))
    ax.grid(axis="y", alpha=0.3)
    directions = plots_dir / "directions.png"
    save(fig, directions)

    labels = list(focus)
    fig, axes = stacked_figure((max(6, 1.1 * len(labels) + 2), 3.5 * max(1, len(pooled))),
                               max(1, len(pooled)))
    if not pooled:
        axes[0].text(0.5, 0.5, "no parallel benchmark: no Multi pool", ha="center")
    for ax, bench in zip(axes, pooled, strict=False):
        m = f"{bench}/multi"
        for i, lang in enumerate(pair.codes):
            ax.bar(np.arange(len(labels)) + (i - 0.5) * 0.4,
                   [focus[n][f"{m}/{lang}/max@r_norm"] for n in labels], 0.4,
                   label=f"{lang} queries")
        for x, n in enumerate(labels):
            top = max(focus[n][f"{m}/{lang}/max@r_norm"] for lang in pair.codes)
            ax.annotate(f"{focus[n][f'{m}/{pair.lang}/inclination']:.0f}%", (x, top), ha="center",
                        va="bottom", fontsize=7)
        ax.set_xticks(np.arange(len(labels)), labels, rotation=30, ha="right")
        ax.set(ylabel="Max@R_norm (Multi pool)",
               title=f"{bench}: {LANGUAGES[pair.lang].name} vs {LANGUAGES[pair.other].name} "
                     "queries (label: inclination share)")
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    inclination = plots_dir / "inclination.png"
    save(fig, inclination)
    return [tradeoff, directions, inclination]


def new_figure(size: tuple[float, float]) -> tuple[Figure, Axes]:
    """A figure drawn by Agg, without pyplot's global state or a display."""
    fig, (ax,) = stacked_figure(size, 1)
    return fig, ax


def stacked_figure(size: tuple[float, float], rows: int) -> tuple[Figure, list[Axes]]:
    """A figure of `rows` Axes one above the other, drawn by Agg."""
    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    return fig, list(fig.subplots(rows, 1, squeeze=False)[:, 0])


def save(fig: Figure, path: Path) -> None:
    fig.tight_layout()
    with atomic_file(path, "wb") as f:
        fig.savefig(f, format="png", dpi=120)
