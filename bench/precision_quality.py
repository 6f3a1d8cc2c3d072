"""Retrieval quality of the bf16 default run against the same systems run in fp32.

    python bench/precision_quality.py --fp32 ../fp32-clone [--out precision_quality]
    python bench/precision_quality.py --fp32 ../main --fp32-of-record [--out ...]

The fp32 side is a copy of this repository with `train.precision`, `index.precision` and
`evaluate.precision` set to fp32 in params.yaml, and `dvc repro` of each system's evaluate
stages (e.g. `evaluate_grid@koenen-lohelp evaluate_grid@koenen-belebele`) for each system to
compare (training, indexing and evaluation all in fp32; same data, seeds and code).
With `--fp32-of-record` it is a checkout whose committed run is fp32 although its lock says
`auto` (a run of a machine without native bf16): its lock cannot show that, so every system
evaluated here is compared. For every system evaluated on both sides: nDCG@10 per benchmark
and direction, the OVRs, the mean absolute difference over the benchmark-direction figures
(goal: <= 0.5 points), each grid model's training loss step by step (same batches on
both sides), and a paired permutation test of each OVR over queries (Holm over the systems),
from the two sides' TREC runs, where both sides hold them (a checkout's runs are DVC outputs:
a fresh one has only its metrics). Writes the figures to metrics/bench/<out>.json.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import record  # noqa: E402  (bench/record.py)

OVRS = ("clir_ovr", "mono_ovr")


def lock_value(copy: Path, stage: str, key: str) -> object:
    """A param of `stage` as the copy's dvc.lock holds it (under its own key or inside a
    section's); None where the lock has no such stage or key."""
    lock = copy / "dvc.lock"
    stages = yaml.safe_load(lock.read_text())["stages"] if lock.exists() else {}
    declared = stages.get(stage, {}).get("params", {}).get("params.yaml", {})
    parts = key.split(".")
    for cut in range(len(parts), 0, -1):
        if ".".join(parts[:cut]) in declared:
            found = declared[".".join(parts[:cut])]
            for part in parts[cut:]:
                found = found.get(part) if isinstance(found, dict) else None
            return found
    return None


def train_stage(name: str) -> str:
    return "train_experiment" if name == "experiment" else f"train@{name}"


def stage_names(step: str, name: str, params) -> list[str]:  # noqa: ANN001
    """The `index` or `evaluate` stages of system `name`, one per benchmark."""
    kind = ("base" if name == "base" else "experiment" if name == "experiment"
            else "grid" if name in params.grid else "merge")
    fan = "" if kind in ("base", "experiment") else f"{name}-"
    return [f"{step}_{kind}@{fan}{b}" for b in params.benchmarks]


def ran_in_fp32(copy: Path, name: str, params) -> bool:  # noqa: ANN001
    """Whether the copy's dvc.lock says `name` was trained (if it is), weighted (an LM-Cocktail
    merge), indexed and evaluated in fp32: its metrics file alone may still be the bf16 one
    from git."""
    needed = {stage: f"{step}.precision" for step in ("index", "evaluate")
              for stage in stage_names(step, name, params)}
    if lock_value(copy, train_stage(name), "train.precision") is not None:
        needed[train_stage(name)] = "train.precision"
    if lock_value(copy, f"merge@{name}", f"merges.{name}.method") == "cocktail":
        needed[f"merge@{name}"] = "merge.cocktail.precision"
    return all(lock_value(copy, stage, key) == "fp32" for stage, key in needed.items())


def losses(logs: Path, name: str) -> np.ndarray | None:
    """A grid model's per-step training loss (the train stage's `<logs>/grid-<code>.csv`)."""
    path = logs / f"grid-{name}.csv"
    if not path.exists():
        return None
    return np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)[:, 1]


def compare_sides(params, sides: dict[str, Path], systems: list[str]) -> dict[str, dict]:
    """Per system evaluated in both checkouts of `sides` (label -> checkout): nDCG@10 per
    benchmark and direction and the OVRs of each side, their mean and largest absolute
    difference, the per-step training loss of a grid model on both sides (same batches), and
    the Holm-corrected p of a paired permutation test of each OVR over queries (where both
    checkouts hold every system's TREC runs)."""
    from koen.evaluation.metrics import load_system
    from koen.formats.benchmark import load_task
    from koen.report.significance import compare, system_scores

    (a, a_dir), (b, b_dir) = sides.items()
    eval_dir, runs_dir = params.evaluate.out_dir, params.evaluate.runs_dir
    keys = figures(params)
    benchmarks = list(params.benchmarks)
    tasks = {n: load_task(ROOT / params.benchmark.out_dir / n, params.pair) for n in benchmarks}
    scores, rows = {}, {}
    for name in systems:
        first = load_system(a_dir / eval_dir, name, benchmarks)
        second = load_system(b_dir / eval_dir, name, benchmarks)
        diffs = [first[k] - second[k] for k in keys]
        rows[name] = {a: {k: first[k] for k in [*keys, *OVRS]},
                      b: {k: second[k] for k in [*keys, *OVRS]},
                      "mean_abs_diff": round(float(np.mean(np.abs(diffs))), 3),
                      "max_abs_diff": round(float(np.max(np.abs(diffs))), 3)}
        a_loss, b_loss = losses(a_dir / params.train.logs, name), losses(b_dir / params.train.logs,
                                                                         name)
        if a_loss is not None and b_loss is not None and len(a_loss) == len(b_loss):
            last = -(-len(a_loss) // 4)  # a quarter of the steps, rounded up
            rows[name]["loss"] = {
                "mean_abs_step_diff": round(float(np.mean(np.abs(a_loss - b_loss))), 4),
                f"{a}_last_quarter": round(float(np.mean(a_loss[-last:])), 4),
                f"{b}_last_quarter": round(float(np.mean(b_loss[-last:])), 4)}
    if not all((d / runs_dir / t / n).is_dir() for d in (a_dir, b_dir) for n in systems
               for t in tasks):
        print(f"no permutation tests: a side lacks the TREC runs ({runs_dir}) of a system")
        return rows
    for name in systems:
        for label, side in ((a, a_dir), (b, b_dir)):
            scores[f"{label}:{name}"] = system_scores(
                {t: side / runs_dir / t / name for t in tasks}, tasks)
    tests = compare([(f"{a} vs {b}", f"{a}:{n}", f"{b}:{n}") for n in systems],
                    {k: {m: v[m] for m in OVRS} for k, v in scores.items()},
                    params.report.resamples, params.seed)
    for t in tests:
        rows[t.system.split(":", 1)[1]][f"{t.measure}_p_holm"] = round(t.p_holm, 4)
    return rows


def figures(params) -> list[str]:
    """nDCG@10 of every benchmark and direction, as the evaluate stage's metrics name them."""
    return [f"{b}/{d}/ndcg@10" for b in params.benchmarks
            for d in ("ko-en", "en-ko", "ko-ko", "en-en")]


def show(rows: dict[str, dict], keys: list[str], labels: tuple[str, str]) -> float:
    """Prints the first side's figures with the difference to the second's, and the loss
    summaries; returns the mean absolute difference over the systems."""
    a, b = labels
    heads = [k.removesuffix("/ndcg@10").replace("/", " ") for k in keys]
    print(f"| system | {' | '.join(heads)} | mean abs diff | CLIR OVR (Holm p) | "
          "Mono OVR (Holm p) |")
    print(f"|---|{'---:|' * (len(keys) + 3)}")
    for name, row in rows.items():
        cells = [f"{row[a][k]:.2f} ({row[a][k] - row[b][k]:+.2f})" for k in keys]
        ovrs = [f"{row[a][m]:.2f} ({row[a][m] - row[b][m]:+.2f}, "
                f"{row[f'{m}_p_holm']:.2f})" if f"{m}_p_holm" in row
                else f"{row[a][m]:.2f} ({row[a][m] - row[b][m]:+.2f})" for m in OVRS]
        print(f"| {name} | {' | '.join(cells)} | {row['mean_abs_diff']:.2f} | "
              f"{' | '.join(ovrs)} |")
    for name, row in rows.items():
        if "loss" in row:
            print(f"{name}: training loss, mean |{a} - {b}| per step "
                  f"{row['loss']['mean_abs_step_diff']:.4f}; last quarter of the steps "
                  f"{row['loss'][f'{a}_last_quarter']:.4f} ({a}) vs "
                  f"{row['loss'][f'{b}_last_quarter']:.4f} ({b})")
    overall = float(np.mean([row["mean_abs_diff"] for row in rows.values()]))
    print(f"mean absolute difference over {len(rows)} systems x {len(keys)} figures: "
          f"{overall:.3f} points (goal <= 0.5)")
    return overall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--fp32", type=Path, required=True, help="the fp32 copy of the repository")
    ap.add_argument("--fp32-of-record", action="store_true",
                    help="the copy's committed run is fp32 although its lock says auto")
    ap.add_argument("--out", default="precision_quality")
    args = ap.parse_args()

    from koen.config.schema import load
    from koen.evaluation.metrics import load_system

    params = load()
    systems = [n for n in params.system_names()
               if load_system(ROOT / params.evaluate.out_dir, n, list(params.benchmarks))
               and (args.fp32_of_record or ran_in_fp32(args.fp32, n, params))]
    if not systems:
        raise SystemExit(f"no system of {args.fp32 / 'dvc.lock'} was trained, indexed and "
                         "evaluated in fp32 and evaluated here")
    rows = compare_sides(params, {"bf16": ROOT, "fp32": args.fp32}, systems)
    overall = show(rows, figures(params), ("bf16", "fp32"))
    record.write(args.out, {"systems": rows, "mean_abs_diff": round(overall, 3),
                            "figures": figures(params)})


if __name__ == "__main__":
    main()
