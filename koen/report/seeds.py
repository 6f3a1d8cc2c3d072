"""Mean and spread over training seeds, beside the single-seed tests.

The tests of the report compare the models of one training seed (train.seed) query by query;
they say nothing of how much a model moves when only its training seed changes. With further
seeds (train.more_seeds) every grid model and every merge exists once per seed, and this module
gives each one's CLIR and Mono OVR per seed with mean and sample standard deviation, and each
merge's change against its parents per seed: a gain that one seed's test calls significant
but that flips sign on another seed is not one to build on.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from koen.config.schema import seed_system
from koen.errors import MissingError
from koen.evaluation.metrics import load_system

Metrics = dict[str, dict[str, float]]
MEASURES = {"clir_ovr": "CLIR OVR", "mono_ovr": "Mono OVR"}
Spread = dict[str, object]  # {"values": {seed: value}, "mean": float, "sd": float | None}


def load_seed_metrics(eval_dir: Path, seeds: list[int], names: list[str], first: Metrics,
                      benchmarks: list[str]) -> dict[int, Metrics]:
    """seed -> system -> metrics: the first seed's are the report's own (`first`), further
    seeds' are read from `<eval_dir>/<benchmark>/seeds/s<seed>/<name>.json`."""
    out = {seeds[0]: {n: first[n] for n in names}}
    for seed in seeds[1:]:
        found = {}
        for name in names:
            metrics = load_system(eval_dir, seed_system(seed, name), benchmarks)
            if metrics is None:
                raise MissingError(f"no metrics of {name} with training seed {seed} in "
                                 f"{eval_dir}: run its stages (dvc repro seed_eval@{seed}-"
                                 f"{benchmarks[0]})")
            found[name] = metrics
        out[seed] = found
    return out


def spread(values: dict[int, float]) -> Spread:
    """Mean and sample standard deviation (None for one seed: nothing to spread)."""
    xs = list(values.values())
    return {"values": values, "mean": statistics.fmean(xs),
            "sd": statistics.stdev(xs) if len(xs) > 1 else None}


def seed_summary(per_seed: dict[int, Metrics], merges: dict[str, list[str]],
                 fixed: Metrics) -> dict[str, Spread]:
    """`<system>/<measure>` for every model, and `<merge> vs <parent>/<measure>` for the change
    of each merge against each of its parents, each with its per-seed values, mean and sd.
    A parent trained per seed is compared within its seed; one that is not (base, in `fixed`)
    is the same model in every seed's difference."""
    names = list(next(iter(per_seed.values())))
    out = {f"{n}/{k}": spread({s: m[n][k] for s, m in per_seed.items()})
           for n in names for k in MEASURES}
    for merge in (m for m in merges if m in names):
        for parent in merges[merge]:
            if parent not in names and parent not in fixed:
                continue
            for k in MEASURES:
                out[f"{merge} vs {parent}/{k}"] = spread({
                    s: m[merge][k] - (m[parent] if parent in names else fixed[parent])[k]
                    for s, m in per_seed.items()})
    return out


def cell(s: Spread, signed: bool = False) -> str:
    fmt = "{:+.2f}" if signed else "{:.2f}"
    mean = fmt.format(s["mean"])
    return mean if s["sd"] is None else f"{mean} ± {s['sd']:.2f}"


def seeds_markdown(summary: dict[str, Spread], seeds: list[int], names: list[str],
                   merges: dict[str, list[str]]) -> list[str]:
    """The report's section on training seeds: one sentence with one seed, else two tables."""
    if len(seeds) == 1:
        return [f"One training seed (train.seed {seeds[0]}): how much the models move with "
                "another seed is not measured. `train.more_seeds` trains the grid again with "
                "each further seed, merges and evaluates it (`dvc exp run -S "
                "'train.more_seeds=[42]'`).", ""]
    heads = " | ".join(f"s{s}" for s in seeds)
    lines = [f"Every grid model and merge trained with seeds {', '.join(map(str, seeds))} "
             f"(train.seed {seeds[0]} is the one the tests above compare): per seed, and mean "
             f"± sample standard deviation over the {len(seeds)} seeds.", ""]
    for key, label in MEASURES.items():
        lines += [f"### {label}", "", f"| Model | {heads} | mean ± sd |",
                  "|---|" + "---:|" * (len(seeds) + 1)]
        for n in names:
            s = summary[f"{n}/{key}"]
            lines.append(f"| {n} | " + " | ".join(f"{s['values'][x]:.2f}" for x in seeds)
                         + f" | {cell(s)} |")
        lines.append("")
    pairs = [(m, p) for m in merges for p in merges[m] if f"{m} vs {p}/clir_ovr" in summary]
    if pairs:
        lines += ["### Merges against their parents, per seed", "",
                  "Change in OVR; a parent trained per seed is compared within its seed, base "
                  "(not trained) is the same in every seed.", "",
                  "| Merge | against | " + " | ".join(f"Δ CLIR s{s}" for s in seeds)
                  + " | Δ CLIR mean ± sd | " + " | ".join(f"Δ Mono s{s}" for s in seeds)
                  + " | Δ Mono mean ± sd |", "|---|---|" + "---:|" * (2 * len(seeds) + 2)]
        for m, p in pairs:
            row = []
            for key in MEASURES:
                s = summary[f"{m} vs {p}/{key}"]
                row += [f"{s['values'][x]:+.2f}" for x in seeds] + [cell(s, signed=True)]
            lines.append(f"| {m} | {p} | " + " | ".join(row) + " |")
        lines.append("")
    return lines
