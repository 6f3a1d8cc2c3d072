"""Every evaluated system in the layout of Jang et al.'s main table, with plots.

Tables: nDCG@10 per direction, CLIR (en-ko, ko-en, OVR) then Mono (ko-ko, en-en, OVR); the one
benchmark `lohelp` makes each direction's AVG its own value. Then the Multi scenario of the
second study. Best value per column in bold, change against the base model in parentheses.
Plots: CLIR OVR against Mono OVR (the trade-off merging is meant to fix) and nDCG@10 per
direction, as PNG and as CSV for `dvc plots`. A last table and plot follow English inclination
through the systems meant to fix it: base, the best grid composition (by CLIR OVR), the merges,
the experiment model (the `composition` and `train.method` params say what it is, e.g. align)
and Shift. The report and plots are logged to MLflow as one run keyed by the report's content.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox

from koen.config.schema import ReportParams
from koen.errors import MissingError
from koen.evaluation.metrics import load_system
from koen.formats.benchmark import Task, load_task
from koen.report.frontier import (
    SweepLine,
    draw_sweeps,
    sweep_markdown,
    sweep_pairs,
    write_sweeps_csv,
)
from koen.report.seeds import load_seed_metrics, seed_summary, seeds_markdown
from koen.report.significance import Comparison, bootstrap_ci, compare, system_scores
from koen.repro.atomic import atomic_file, write_json
from koen.repro.provenance import git_commit, run_group
from koen.tracking import mlflow_log

Metrics = dict[str, dict[str, float]]  # system -> flat metrics
OVERALL = ("clir_ovr", "mono_ovr")  # with the AVGs: `report.overall`, what register ranks by
Better = Literal["max", "min", "abs"]  # highest, lowest, closest to zero


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    better: Better = "max"


DIRECTIONS = ("en-ko", "ko-en", "ko-ko", "en-en")
CLIR, MONO = ("en-ko", "ko-en"), ("ko-ko", "en-en")


def paper_columns(benchmarks: list[str], kind: str) -> tuple[Column, ...]:
    """Jang et al.'s layout: per benchmark the two directions, their AVG, then the OVR."""
    pair = CLIR if kind == "CLIR" else MONO
    return (*(Column(f"{b} {d}", f"{b}/{d}/ndcg@10") for b in benchmarks for d in pair),
            *(Column(f"AVG {d}", f"avg_{d}") for d in pair),
            Column(f"{kind} OVR", f"{kind.lower()}_ovr"))


def multi_columns(bench: str) -> tuple[Column, ...]:
    m = f"{bench}/multi"
    return (Column("Max@R_norm ko", f"{m}/ko/max@r_norm"),
            Column("Max@R_norm en", f"{m}/en/max@r_norm"),
            Column("Comp@10 ko", f"{m}/ko/comp@10"), Column("Comp@10 en", f"{m}/en/comp@10"),
            Column("Inclination ko ↓", f"{m}/ko/inclination", "min"),
            Column("Gap en−ko →0", f"{m}/gap", "abs"))


def inclination_columns(benchmarks: list[str]) -> tuple[Column, ...]:
    return (Column("CLIR OVR", "clir_ovr"), Column("Mono OVR", "mono_ovr"),
            *(Column(f"{head} ({b})", f"{b}/multi/{key}", better) for b in benchmarks
              for head, key, better in (("Max@R_norm ko", "ko/max@r_norm", "max"),
                                        ("Max@R_norm en", "en/max@r_norm", "max"),
                                        ("Inclination ko ↓", "ko/inclination", "min"),
                                        ("Gap en−ko →0", "gap", "abs"))))


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


@dataclass
class Evidence:
    """Paired tests over queries, and 95 % intervals of each system's OVRs."""

    comparisons: list[Comparison]
    intervals: dict[str, dict[str, tuple[float, float]]]  # system -> measure -> interval
    alpha: float
    queries: dict[str, int]  # benchmark -> queries

    def marked(self, system: str, key: str) -> bool:
        """Is `system` significantly different from base on the table column `key`?"""
        measure = key.removesuffix("/ndcg@10")
        return any(c.family == AGAINST_BASE and c.system == system and c.measure == measure
                   and c.significant(self.alpha) for c in self.comparisons)


AGAINST_BASE, MERGE_PARENT, EXPERIMENT_GRID = ("against base", "merge against parent",
                                               "experiment against grid")


def load_metrics(eval_dir: Path, names: list[str], first: list[str],
                 benchmarks: list[str]) -> Metrics:
    """The metrics of those systems of `names` that were evaluated (other files there are stale),
    each combined over the benchmarks: those named in `first` in that order, then the rest by
    name; each must hold results for every benchmark."""
    found = {n: m for n in names if (m := load_system(eval_dir, n, benchmarks)) is not None}
    if not found:
        raise MissingError(f"no metrics in {eval_dir}: run the evaluate stages first")
    order = [n for n in first if n in found] + sorted(n for n in found if n not in first)
    return {n: found[n] for n in order}


def load_points(eval_dir: Path, sweeps: list[SweepLine], benchmarks: list[str]) -> Metrics:
    """Every sweep's merged models' metrics (all of them: the sweep stages write them at once)."""
    out = {}
    for sweep in sweeps:
        for name in sweep.points.values():
            if (m := load_system(eval_dir, name, benchmarks)) is None:
                raise MissingError(f"no metrics of {name} in {eval_dir}: run its stages (dvc "
                                 f"repro sweep_eval@{sweep.name}-{benchmarks[0]})")
            out[name] = m
    return out


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


def best(values: list[float], better: Better) -> float:
    if better == "max":
        return max(values)
    if better == "min":
        return min(values)
    return min(values, key=abs)


def is_best(value: float, top: float, better: Better) -> bool:
    return abs(value) == abs(top) if better == "abs" else value == top


def table(metrics: Metrics, columns: tuple[Column, ...], base: str,
          evidence: Evidence | None = None) -> list[str]:
    """Markdown rows: value, bold where best in its column, (delta vs `base`, with † where
    `evidence` finds it significant)."""
    lines = ["| Model | " + " | ".join(c.header for c in columns) + " |",
             "|---|" + "---:|" * len(columns)]
    tops = {}
    for c in columns:
        values = [m[c.key] for m in metrics.values() if c.key in m]
        if values:
            tops[c.key] = best(values, c.better)
    for name, m in metrics.items():
        cells = []
        for c in columns:
            if c.key not in m:
                cells.append("–")
                continue
            cell = f"{m[c.key]:.2f}"
            if is_best(m[c.key], tops[c.key], c.better):
                cell = f"**{cell}**"
            if name != base and c.key in metrics.get(base, {}):
                mark = "†" if evidence is not None and evidence.marked(name, c.key) else ""
                cell += f" ({m[c.key] - metrics[base][c.key]:+.2f}{mark})"
            cells.append(cell)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def p_value(p: float) -> str:
    return f"{p:.3f}" if p >= 0.001 else "<0.001"


def comparison_table(evidence: Evidence, family: str) -> list[str]:
    """One row per pair: the change in CLIR and Mono OVR with its 95 % interval and p."""
    rows = {}
    for c in evidence.comparisons:
        if c.family == family and c.measure in ("clir_ovr", "mono_ovr"):
            mark = "†" if c.significant(evidence.alpha) else ""
            rows.setdefault((c.system, c.reference), {})[c.measure] = (
                f"{c.delta:+.2f}{mark} [{c.ci[0]:+.2f}, {c.ci[1]:+.2f}] | {p_value(c.p_holm)}")
    if not rows:
        return ["(none evaluated)"]
    return ["| System | against | Δ CLIR OVR [95 % CI] | p (Holm) | Δ Mono OVR [95 % CI] "
            "| p (Holm) |", "|---|---|---:|---:|---:|---:|",
            *(f"| {s} | {r} | {m['clir_ovr']} | {m['mono_ovr']} |" for (s, r), m in rows.items())]


def markdown(metrics: Metrics, base: str, focus: Metrics, evidence: Evidence,
             benchmarks: list[str], pooled: list[str], missing: list[str], sweeps: list[str],
             seeds: list[str]) -> str:
    """`pooled`: the benchmarks with a Multi pool (parallel ones)."""
    counts = ", ".join(f"{b} {n}" for b, n in evidence.queries.items())
    legend = (f"† significant at p < {evidence.alpha} in a paired two-sided permutation test over "
              "queries (per-query nDCG@10; an OVR per query is the mean of its two directions; "
              "AVG and OVR weigh each benchmark equally), Holm-corrected over the systems of the "
              "table; no mark: no significant difference. 95 % intervals: bootstrap over "
              "queries.")
    multi = []
    for bench in pooled:
        multi += [f"### {bench}", "", *table(metrics, multi_columns(bench), base), ""]
    if not pooled:
        multi = ["(no parallel benchmark: a Multi pool needs both languages of each passage)",
                 ""]
    return "\n".join([
        "# Retrieval report",
        "",
        f"Test queries: {counts}. Best per column in **bold**; in parentheses the change "
        f"against `{base}`."
        + (f" Not evaluated yet: {', '.join(missing)}." if missing else ""),
        "",
        f"## Cross-lingual retrieval (nDCG@10; benchmarks: {', '.join(benchmarks)})",
        "",
        "AVG: a direction's mean over the benchmarks that measure it (– where a benchmark "
        "cannot: a one-language benchmark has no direction into the other language); OVR: the "
        "mean of the two AVGs (Jang et al.'s layout).",
        "",
        *table(metrics, paper_columns(benchmarks, "CLIR"), base, evidence),
        "",
        "## Mono-lingual retrieval (nDCG@10)",
        "",
        *table(metrics, paper_columns(benchmarks, "Mono"), base, evidence),
        "",
        legend,
        "",
        "## Multi scenario (Korean and English passages in one pool)",
        "",
        "Max@R_norm and Comp@10 for Korean and English queries (higher is better); "
        "inclination: share of Korean queries whose relevant Korean passage is outranked by "
        "an unrelated English one; gap: English minus Korean Max@R_norm, in points.",
        "",
        *multi,
        "## English inclination: base, best composition, merges, experiment, Shift",
        "",
        *table(focus, inclination_columns(pooled), base),
        "",
        "## Merges against their parents",
        "",
        *comparison_table(evidence, MERGE_PARENT),
        "",
        "## The experiment model against its grid neighbours",
        "",
        *comparison_table(evidence, EXPERIMENT_GRID),
        "",
        "## Interpolation sweeps",
        "",
        "Each weight's merged model, indexed and evaluated like the others; Δ Mono against the "
        "better parent in Mono OVR, Holm-corrected over the sweep's weights; in bold the weight "
        "with the best CLIR OVR whose Mono OVR is not significantly lower.",
        "",
        *sweeps,
        legend,
        "",
        "## Training seeds",
        "",
        *seeds,
    ])


def write_csvs(metrics: Metrics, plots_dir: Path, focus: Metrics, evidence: Evidence,
               pooled: list[str]) -> list[Path]:
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
                    for d in DIRECTIONS if f"avg_{d}" in m)
    inclination = plots_dir / "inclination.csv"
    with atomic_file(inclination) as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["label", "model", "benchmark", "query_lang", "max@r_norm"])
        w.writerows([f"{n} {b} {lang}", n, b, lang, m[f"{b}/multi/{lang}/max@r_norm"]]
                    for n, m in focus.items() for b in pooled for lang in ("ko", "en"))
    return [tradeoff, directions, inclination]


KIND_STYLE = {"baseline": ("tab:gray", "s"), "composition": ("tab:blue", "o"),
              "merge": ("tab:red", "D"), "other": ("tab:green", "^")}
# Label offsets in points, nearest first: right, left, above, below, then further out.
LABEL_OFFSETS = [(dx * r, dy * r) for r in (1, 2, 3, 4.5, 6)
                 for dx, dy in ((5, 3), (-5, 3), (5, -9), (-5, -9), (0, 8), (0, -14),
                                (5, 8), (-5, 8), (5, -14), (-5, -14))]


def system_kinds(metrics: Metrics, systems: Systems) -> dict[str, str]:
    """baseline (not trained here), composition (grid), merge, or other (experiment, Shift)."""
    grid, merges = set(systems.grid), set(systems.merges)
    return {n: "composition" if n in grid else "merge" if n in merges
            else "baseline" if n in ("base", "bm25", "hybrid") else "other" for n in metrics}


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
               points: Metrics, per_seed: dict[int, Metrics]) -> list[Path]:
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
    width = 0.8 / len(DIRECTIONS)
    for i, d in enumerate(DIRECTIONS):
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
        for i, lang in enumerate(("ko", "en")):
            ax.bar(np.arange(len(labels)) + (i - 0.5) * 0.4,
                   [focus[n][f"{m}/{lang}/max@r_norm"] for n in labels], 0.4,
                   label=f"{lang} queries")
        for x, n in enumerate(labels):
            top = max(focus[n][f"{m}/{lang}/max@r_norm"] for lang in ("ko", "en"))
            ax.annotate(f"{focus[n][f'{m}/ko/inclination']:.0f}%", (x, top), ha="center",
                        va="bottom", fontsize=7)
        ax.set_xticks(np.arange(len(labels)), labels, rotation=30, ha="right")
        ax.set(ylabel="Max@R_norm (Multi pool)",
               title=f"{bench}: Korean vs English queries (label: inclination share)")
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


def gather_evidence(metrics: Metrics, systems: Systems, base: str, runs_dir: Path,
                    tasks: dict[str, Task], resamples: int, alpha: float,
                    seed: int, points: Metrics) -> Evidence:
    """Tests of every comparison the report prints, from the evaluate stages' TREC runs
    (`points`: the sweeps' merged models, tested against their better parent)."""
    names = [*metrics, *points]
    for n in names:
        for b in tasks:
            if not (runs_dir / b / n).is_dir():
                raise MissingError(f"no runs of {n} under {runs_dir / b}: run its evaluate stage")
    scores = {n: system_scores({b: runs_dir / b / n for b in tasks}, tasks) for n in names}
    pairs = [(AGAINST_BASE, n, base) for n in metrics if n != base and base in metrics]
    pairs += [(MERGE_PARENT, m, parent) for m, parents in systems.merges.items()
              if m in metrics for parent in parents if parent in metrics]
    if "experiment" in metrics:
        pairs += [(EXPERIMENT_GRID, "experiment", g) for g in systems.neighbours if g in metrics]
    pairs += sweep_pairs(systems.sweeps, metrics)
    intervals = {n: {k: bootstrap_ci(*scores[n][k], resamples, seed)
                     for k in ("clir_ovr", "mono_ovr") if k in scores[n]} for n in metrics}
    return Evidence(compare(pairs, scores, resamples, seed), intervals, alpha,
                    {b: len(t.queries) for b, t in tasks.items()})


def evidence_json(evidence: Evidence) -> dict[str, dict[str, float]]:
    """Flat records for the metrics file and MLflow: `<family>/<system> vs <reference>/<measure>`
    and `interval/<system>/<measure>`."""
    out = {f"{c.family}/{c.system} vs {c.reference}/{c.measure}": {
        "delta": round(c.delta, 4), "ci_low": round(c.ci[0], 4), "ci_high": round(c.ci[1], 4),
        "p": round(c.p, 6), "p_holm": round(c.p_holm, 6)} for c in evidence.comparisons}
    for name, measures in evidence.intervals.items():
        for key, (low, high) in measures.items():
            out[f"interval/{name}/{key}"] = {"ci_low": round(low, 4), "ci_high": round(high, 4)}
    return out


def report(p: ReportParams, systems: Systems, pending: Path, runs_dir: Path,
           bench_dirs: dict[str, Path], seed: int) -> str:
    """Write the report, its tests and plots; log them to MLflow; returns the logging status.
    `bench_dirs`: each converted benchmark's folder, in the report's order."""
    benchmarks = list(bench_dirs)
    tasks = {b: load_task(d) for b, d in bench_dirs.items()}
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
                    seeds_markdown(spreads, systems.seeds, seeded, systems.merges))
    with atomic_file(p.out) as f:
        f.write(text)
    tests = evidence_json(evidence)
    write_json(p.significance, tests)
    write_json(p.seeds, {"seeds": systems.seeds, "spread": spreads})
    overall = {n: {k: v for k, v in m.items() if k in OVERALL or k.startswith("avg_")}
               for n, m in metrics.items()}
    write_json(p.overall, overall)
    files = [p.out, p.overall, p.significance, p.seeds,
             *write_csvs(metrics, p.plots_dir, focus, evidence, pooled),
             write_sweeps_csv(systems.sweeps, metrics | points, p.plots_dir),
             *write_pngs(metrics, p.plots_dir, focus, system_kinds(metrics, systems), evidence,
                         pooled, systems.sweeps, points, per_seed)]
    commit = git_commit()
    record = {"key": f"report/{hashlib.sha256(text.encode()).hexdigest()[:16]}",
              "name": "report", "params": {"models": ",".join(metrics),
                                           "benchmarks": ",".join(benchmarks)},
              "metrics": {**{f"{k}/{field}": v for k, values in tests.items()
                             for field, v in values.items() if field in ("p_holm", "delta")},
                          **{f"seeds/{k}/{field}": v[field] for k, v in spreads.items()
                             for field in ("mean", "sd") if v[field] is not None}},
              "tags": {"stage": "report", **({"git_commit": commit} if commit else {})},
              "datasets": [mlflow_log.dataset(d, "evaluation") for d in bench_dirs.values()],
              "artifacts": [str(x) for x in files]}
    group = run_group(commit)
    if group:
        record["group"] = group
    log_overall(overall, system_kinds(metrics, systems), benchmarks, group, pending)
    return mlflow_log.log_run(record, pending)


def log_overall(overall: Metrics, kinds: dict[str, str], benchmarks: list[str],
                group: str | None, pending: Path) -> None:
    """One MLflow run per system with its AVGs and OVRs over the benchmarks, for the runs table
    (filter `tags.stage = 'overall'`, plot clir_ovr against mono_ovr)."""
    for name, figures in overall.items():
        digest = hashlib.sha256(json.dumps([benchmarks, figures], sort_keys=True).encode())
        record = {"key": f"overall/{name}/{digest.hexdigest()[:16]}", "name": f"overall {name}",
                  "metrics": figures, "params": {"benchmarks": ",".join(benchmarks)},
                  "tags": {"stage": "overall", "model": name, "kind": kinds[name]}}
        if group:
            record["group"] = group
        mlflow_log.log_run(record, pending)
