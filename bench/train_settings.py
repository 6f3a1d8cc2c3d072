"""Time, peak memory, padding and weights of a whole grid training per value of one train key.

    python bench/train_settings.py --key gradient_checkpointing --values false 2000 true
    python bench/train_settings.py --key sorted_forward --values null 8 [--composition kokoen]
                                   [--record train_settings_sorted_forward]
    python bench/train_settings.py --key checkpoint_steps --values 10 25

Each value trains the composition exactly as its train stage does (`train_spec` and
`run_training` with params.yaml's `train`, all its triplets, that one key changed), in its own
process so peak RSS is per value. Prints the training time, peak RSS, the padding share of the
forwards, the share of layer forwards run twice, the ratio of time to the first value's, and how
far the weights and the per-step training loss are from the first value's (0: bit for bit);
writes them to metrics/bench/<record>.json (default train_settings_<key>).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import record  # noqa: E402  (bench/record.py)

KEYS = ("gradient_checkpointing", "sorted_forward", "group_by_length", "attention_dropout",
        "attn_implementation", "precision", "checkpoint_steps")


def child(composition: str, key: str, value: object, out: Path) -> dict:
    from koen.config.schema import load
    from koen.models.profile import resolve_train
    from koen.training.run import train_spec
    from koen.training.trainer import run_training

    params = load()
    p = params.train
    setattr(p, key, value)
    p = resolve_train(p, params.device)  # the key's value wins over its `auto`
    with tempfile.TemporaryDirectory() as tmp:
        spec = train_spec(p, "contrastive", composition, p.seed, p.base, out, Path(tmp), "bench",
                          False, params.pair)
        start = time.perf_counter()
        result = run_training(spec)
        seconds = time.perf_counter() - start
    return {"value": value, "train_s": round(seconds, 1), "steps": result.steps,
            "loss": [loss for _, loss in result.loss],
            "forward_padding_share": result.forward_padding_share,
            "recomputed_share": result.recomputed_share,
            "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2, 3)}


def max_weight_diff(a: Path, b: Path) -> float:
    from safetensors.torch import load_file

    x, y = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    if x.keys() != y.keys():
        raise ValueError(f"{a} and {b} hold different tensors")
    return max(float((x[k].float() - y[k].float()).abs().max()) for k in x)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--composition", default="kokoen")
    ap.add_argument("--key", choices=KEYS, required=True)
    ap.add_argument("--values", nargs="+", required=True, type=yaml_value,
                    help="as params.yaml writes them: false, 2000, null, bf16, ...")
    ap.add_argument("--record", help="name of the figures file (default train_settings_<key>)")
    ap.add_argument("--child", type=yaml_value, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if "--child" in sys.argv:
        print(json.dumps(child(args.composition, args.key, args.child, args.out)))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, value in enumerate(args.values):
            out = Path(tmp) / str(i)
            cmd = [sys.executable, __file__, "--composition", args.composition, "--key", args.key,
                   "--values", "x", "--child", json.dumps(value), "--out", str(out)]
            done = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
            row = json.loads(done.stdout.strip().splitlines()[-1])
            first = rows[0] if rows else row
            row["time_ratio"] = round(row["train_s"] / first["train_s"], 3)
            row["max_weight_diff_to_first"] = max_weight_diff(Path(tmp) / "0", out)
            row["max_loss_diff_to_first"] = max(abs(a - b) for a, b in zip(
                row["loss"], first["loss"], strict=True))
            rows.append(row)
            print({k: v for k, v in row.items() if k != "loss"}, flush=True)
    record.write(args.record or f"train_settings_{args.key}",
                 {"composition": args.composition, "key": args.key, "runs": rows})


def yaml_value(text: str) -> object:
    """A params.yaml scalar: `false`, `2000`, `null`, `0.0`, `bf16`."""
    return yaml.safe_load(text)


if __name__ == "__main__":
    main()
