from __future__ import annotations

import csv

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from koen.report.frontier import (
    SweepLine,
    draw_sweeps,
    pick,
    sweep_markdown,
    sweep_pairs,
    write_sweeps_csv,
)
from koen.report.significance import Comparison

SWEEP = SweepLine("a~b", ["a", "b"], {0.25: "sweeps/a~b/w0.25", 0.5: "sweeps/a~b/w0.50",
                                      0.75: "sweeps/a~b/w0.75"})
# a: strong CLIR, weak Mono; b: the better parent in Mono
METRICS = {"a": {"clir_ovr": 60.0, "mono_ovr": 65.0}, "b": {"clir_ovr": 40.0, "mono_ovr": 72.0},
           "sweeps/a~b/w0.25": {"clir_ovr": 48.0, "mono_ovr": 72.5},
           "sweeps/a~b/w0.50": {"clir_ovr": 55.0, "mono_ovr": 71.0},
           "sweeps/a~b/w0.75": {"clir_ovr": 58.0, "mono_ovr": 68.0}}


def mono_results(p_holm: dict[str, float]) -> list[Comparison]:
    return [Comparison(SWEEP.family, system, "b", "mono_ovr",
                       delta=METRICS[system]["mono_ovr"] - 72.0, ci=(-1.0, 1.0), p=p, p_holm=p)
            for system, p in p_holm.items()]


def test_pairs_test_every_weight_against_the_better_parent_in_mono():
    assert sweep_pairs([SWEEP], METRICS) == [(SWEEP.family, s, "b")
                                             for s in SWEEP.points.values()]


def test_pick_is_the_best_clir_among_weights_without_a_significant_mono_loss():
    comparisons = mono_results({"sweeps/a~b/w0.25": 0.8, "sweeps/a~b/w0.50": 0.2,
                         "sweeps/a~b/w0.75": 0.001})
    assert pick(SWEEP, METRICS, comparisons, 0.05) == (0.5, "sweeps/a~b/w0.50")
    # once 0.5 loses significantly too, 0.25 (a gain in Mono) is left
    comparisons = mono_results({"sweeps/a~b/w0.25": 0.8, "sweeps/a~b/w0.50": 0.01,
                         "sweeps/a~b/w0.75": 0.001})
    assert pick(SWEEP, METRICS, comparisons, 0.05) == (0.25, "sweeps/a~b/w0.25")


def test_a_significant_mono_gain_does_not_exclude_a_weight():
    comparisons = mono_results({"sweeps/a~b/w0.25": 0.001, "sweeps/a~b/w0.50": 0.01,
                         "sweeps/a~b/w0.75": 0.001})
    assert pick(SWEEP, METRICS, comparisons, 0.05) == (0.25, "sweeps/a~b/w0.25")


def test_the_better_parent_when_every_weight_loses():
    sweep = SweepLine("a~b", ["a", "b"], {0.75: "sweeps/a~b/w0.75"})
    assert pick(sweep, METRICS, mono_results({"sweeps/a~b/w0.75": 0.001}), 0.05) == (0.0, "b")


def test_markdown_table_runs_from_w0_to_w1_with_the_pick_in_bold(tmp_path):
    comparisons = mono_results({"sweeps/a~b/w0.25": 0.8, "sweeps/a~b/w0.50": 0.2,
                         "sweeps/a~b/w0.75": 0.0001})
    lines = sweep_markdown([SWEEP], METRICS, comparisons, 0.05)
    rows = [line for line in lines if line.startswith("| ") and line[2].isdigit()
            or line.startswith("| **")]
    assert [r.split("|")[1].strip() for r in rows] == ["0.00", "0.25", "**0.50**", "0.75", "1.00"]
    assert "-4.00† [-1.00, +1.00] | <0.001" in rows[3]
    assert "w = 0.50 (CLIR OVR 55.00, Mono OVR 71.00)" in "\n".join(lines)

    out = write_sweeps_csv([SWEEP], METRICS, tmp_path)
    table = list(csv.DictReader(out.open()))
    assert [(r["weight"], r["model"]) for r in table] == [
        ("0.0", "b"), ("0.25", "sweeps/a~b/w0.25"), ("0.5", "sweeps/a~b/w0.50"),
        ("0.75", "sweeps/a~b/w0.75"), ("1.0", "a")]

    fig = Figure()
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    draw_sweeps(ax, [SWEEP], METRICS)
    (line,) = ax.get_lines()
    assert list(line.get_xdata()) == [40.0, 48.0, 55.0, 58.0, 60.0]
