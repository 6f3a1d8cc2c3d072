"""Retrieval quality of the bf16 default run against the same systems run in fp32.

    python bench/precision_quality.py --fp32 ../fp32-clone [--out precision_quality]

The fp32 side is a copy of this repository with `train.precision`, `index.precision` and
`evaluate.precision` set to fp32 in params.yaml, and `dvc repro evaluate@<system>` run for each
system to compare (training, indexing and evaluation all in fp32; same data, seeds and code).
For every system evaluated on both sides: nDCG@10 per benchmark and direction, the OVRs, the
mean absolute difference over the benchmark-direction figures (goal of #11: <= 0.5 points),
each grid model's training loss step by step (same batches on both sides), and a paired
permutation test of each OVR over queries (Holm over the systems), from the two
sides' TREC runs. Writes the figures to metrics/bench/<out>.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import record  # noqa: E402  (bench/record.py)

OVRS = ("clir_ovr", "mono_ovr")


def ran_in_fp32(copy: Path, name: str) -> bool:
    """Whether the copy's dvc.lock says `name` was trained (if it is), weighted (an LM-Cocktail
    merge), indexed and evaluated in fp32: its metrics file alone may still be the bf16 one
    from git."""
    lock = copy / "dvc.lock"
    stages = yaml.safe_load(lock.read_text())["stages"] if lock.exists() else {}

    def value(stage: str, key: str) -> object:
        """A param as the lock holds it: under its own key or inside a section's."""
        declared = stages.get(stage, {}).get("params", {}).get("params.yaml", {})
        parts = key.split(".")
        for cut in range(len(parts), 0, -1):
            if ".".join(parts[:cut]) in declared:
                found = declared[".".join(parts[:cut])]
                for part in parts[cut:]:
                    found = found.get(part) if isinstance(found, dict) else None
                return found
        return None

    needed = {f"index@{name}": "index.precision", f"evaluate@{name}": "evaluate.precision"}
    train = "train_experiment" if name == "experiment" else f"train@{name}"
    if train in stages:
        needed[train] = "train.precision"
    if value(f"merge@{name}", f"merges.{name}.method") == "cocktail":
        needed[f"merge@{name}"] = "merge.cocktail.precision"
    return all(value(stage, key) == "fp32" for stage, key in needed.items())


def losses(logs: Path, name: str) -> np.ndarray | None:
    """A grid model's per-step training loss (the train stage's `<logs>/grid-<code>.csv`)."""
    path = logs / f"grid-{name}.csv"
    if not path.exists():
        return None
    return np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)[:, 1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--fp32", type=Path, required=True, help="the fp32 copy of the repository")
    ap.add_argument("--out", default="precision_quality")
    args = ap.parse_args()

    from koen.config.schema import load
    from koen.evaluation.metrics import read_qrels
    from koen.evaluation.significance import compare, system_scores

    params = load()
    eval_dir, runs_dir = params.evaluate.out_dir, params.evaluate.runs_dir
    systems = [n for n in params.systems
               if (ROOT / eval_dir / f"{n}.json").exists() and ran_in_fp32(args.fp32, n)]
    if not systems:
        raise SystemExit(f"no system of {args.fp32 / 'dvc.lock'} was trained, indexed and "
                         "evaluated in fp32 and evaluated here")
    keys = [f"{b}/{d}/ndcg@10" for b in params.benchmarks
            for d in ("ko-en", "en-ko", "ko-ko", "en-en")]
    qrels = {b: read_qrels(ROOT / params.benchmarks[b].qrels) for b in params.benchmarks}
    scores, rows = {}, {}
    for name in systems:
        bf16 = json.loads((ROOT / eval_dir / f"{name}.json").read_text())
        fp32 = json.loads((args.fp32 / eval_dir / f"{name}.json").read_text())
        diffs = [bf16[k] - fp32[k] for k in keys]
        rows[name] = {"bf16": {k: bf16[k] for k in [*keys, *OVRS]},
                      "fp32": {k: fp32[k] for k in [*keys, *OVRS]},
                      "mean_abs_diff": round(float(np.mean(np.abs(diffs))), 3),
                      "max_abs_diff": round(float(np.max(np.abs(diffs))), 3)}
        bf16_loss = losses(ROOT / params.train.logs, name)
        fp32_loss = losses(args.fp32 / params.train.logs, name)
        if bf16_loss is not None and fp32_loss is not None and len(bf16_loss) == len(fp32_loss):
            # same batches in the same order: the losses differ by precision alone
            last = -(-len(bf16_loss) // 4)  # a quarter of the steps, rounded up
            rows[name]["loss"] = {
                "mean_abs_step_diff": round(float(np.mean(np.abs(bf16_loss - fp32_loss))), 4),
                "bf16_last_quarter": round(float(np.mean(bf16_loss[-last:])), 4),
                "fp32_last_quarter": round(float(np.mean(fp32_loss[-last:])), 4)}
        scores[f"bf16:{name}"] = system_scores(ROOT / runs_dir / name, qrels)
        scores[f"fp32:{name}"] = system_scores(args.fp32 / runs_dir / name, qrels)
    tests = compare([("bf16 vs fp32", f"bf16:{n}", f"fp32:{n}") for n in systems],
                    {k: {m: v[m] for m in OVRS} for k, v in scores.items()},
                    params.report.resamples, params.seed)
    for t in tests:
        rows[t.system.split(":", 1)[1]][f"{t.measure}_p_holm"] = round(t.p_holm, 4)

    heads = [k.removesuffix("/ndcg@10").replace("/", " ") for k in keys]
    print(f"| system | {' | '.join(heads)} | mean abs diff | CLIR OVR (Holm p) | "
          "Mono OVR (Holm p) |")
    print(f"|---|{'---:|' * (len(keys) + 3)}")
    for name, row in rows.items():
        cells = [f"{row['bf16'][k]:.2f} ({row['bf16'][k] - row['fp32'][k]:+.2f})" for k in keys]
        ovrs = [f"{row['bf16'][m]:.2f} ({row['bf16'][m] - row['fp32'][m]:+.2f}, "
                f"{row[f'{m}_p_holm']:.2f})" for m in OVRS]
        print(f"| {name} | {' | '.join(cells)} | {row['mean_abs_diff']:.2f} | "
              f"{' | '.join(ovrs)} |")
    for name, row in rows.items():
        if "loss" in row:
            print(f"{name}: training loss, mean |bf16 - fp32| per step "
                  f"{row['loss']['mean_abs_step_diff']:.4f}; last quarter of the steps "
                  f"{row['loss']['bf16_last_quarter']:.4f} (bf16) vs "
                  f"{row['loss']['fp32_last_quarter']:.4f} (fp32)")
    overall = float(np.mean([row["mean_abs_diff"] for row in rows.values()]))
    print(f"mean absolute difference over {len(rows)} systems x {len(keys)} figures: "
          f"{overall:.3f} points (goal <= 0.5)")
    record.write(args.out, {"systems": rows, "mean_abs_diff": round(overall, 3),
                            "figures": keys})


if __name__ == "__main__":
    main()
