"""The report's Markdown: every evaluated system in the layout of Jang et al.'s main table.

Tables: nDCG@10 per direction, CLIR (en-ko, ko-en, OVR) then Mono (ko-ko, en-en, OVR), named
by the pair's codes; the one benchmark `lohelp` makes each direction's AVG its own value. Then
the Multi scenario of the second study. Best value per column in bold, change against the base
model in parentheses. A last table follows the inclination towards the second language
(English) through the systems meant to fix it, then the tests of the merges and the experiment
model, the sweeps and the training seeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from koen.config.languages import LANGUAGES, Pair
from koen.report.evidence import EXPERIMENT_GRID, MERGE_PARENT, Evidence
from koen.report.load import Metrics

Better = Literal["max", "min", "abs"]  # highest, lowest, closest to zero


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    better: Better = "max"


def paper_columns(benchmarks: list[str], kind: str, pair: Pair) -> tuple[Column, ...]:
    """Jang et al.'s layout: per benchmark the two directions, their AVG, then the OVR."""
    directions = pair.clir if kind == "CLIR" else pair.mono
    return (*(Column(f"{b} {d}", f"{b}/{d}/ndcg@10") for b in benchmarks for d in directions),
            *(Column(f"AVG {d}", f"avg_{d}") for d in directions),
            Column(f"{kind} OVR", f"{kind.lower()}_ovr"))


def multi_columns(bench: str, pair: Pair) -> tuple[Column, ...]:
    m, (a, b) = f"{bench}/multi", pair.codes
    return (Column(f"Max@R_norm {a}", f"{m}/{a}/max@r_norm"),
            Column(f"Max@R_norm {b}", f"{m}/{b}/max@r_norm"),
            Column(f"Comp@10 {a}", f"{m}/{a}/comp@10"), Column(f"Comp@10 {b}", f"{m}/{b}/comp@10"),
            Column(f"Inclination {a} ↓", f"{m}/{a}/inclination", "min"),
            Column(f"Gap {b}−{a} →0", f"{m}/gap", "abs"))


def inclination_columns(benchmarks: list[str], pair: Pair) -> tuple[Column, ...]:
    a, b = pair.codes
    return (Column("CLIR OVR", "clir_ovr"), Column("Mono OVR", "mono_ovr"),
            *(Column(f"{head} ({bench})", f"{bench}/multi/{key}", better) for bench in benchmarks
              for head, key, better in ((f"Max@R_norm {a}", f"{a}/max@r_norm", "max"),
                                        (f"Max@R_norm {b}", f"{b}/max@r_norm", "max"),
                                        (f"Inclination {a} ↓", f"{a}/inclination", "min"),
                                        (f"Gap {b}−{a} →0", "gap", "abs"))))


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
             seeds: list[str], pair: Pair, title: str) -> str:
    """`pooled`: the benchmarks with a Multi pool (parallel ones)."""
    first, second = (LANGUAGES[x].name for x in pair.codes)
    counts = ", ".join(f"{b} {n}" for b, n in evidence.queries.items())
    legend = (f"† significant at p < {evidence.alpha} in a paired two-sided permutation test over "
              "queries (per-query nDCG@10; an OVR per query is the mean of its two directions; "
              "AVG and OVR weigh each benchmark equally), Holm-corrected over the systems of the "
              "table; no mark: no significant difference. 95 % intervals: bootstrap over "
              "queries.")
    multi = []
    for bench in pooled:
        multi += [f"### {bench}", "", *table(metrics, multi_columns(bench, pair), base), ""]
    if not pooled:
        multi = ["(no parallel benchmark: a Multi pool needs both languages of each passage)",
                 ""]
    return "\n".join([
        f"# {title}",
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
        *table(metrics, paper_columns(benchmarks, "CLIR", pair), base, evidence),
        "",
        "## Mono-lingual retrieval (nDCG@10)",
        "",
        *table(metrics, paper_columns(benchmarks, "Mono", pair), base, evidence),
        "",
        legend,
        "",
        f"## Multi scenario ({first} and {second} passages in one pool)",
        "",
        f"Max@R_norm and Comp@10 for {first} and {second} queries (higher is better); "
        f"inclination: share of {first} queries whose relevant {first} passage is outranked by "
        f"an unrelated {second} one; gap: {second} minus {first} Max@R_norm, in points.",
        "",
        *multi,
        f"## {second} inclination: base, best composition, merges, experiment, Shift",
        "",
        *table(focus, inclination_columns(pooled, pair), base),
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
