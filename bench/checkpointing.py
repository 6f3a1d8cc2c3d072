"""Time, peak memory and weights of a whole grid training per `train.gradient_checkpointing`.

    python bench/checkpointing.py [--composition kokoen] [--settings false 2000 true]

Each setting trains the composition exactly as its train stage does (`train_spec` and
`run_training` with params.yaml's `train`, all its triplets), in its own process so peak RSS is
per setting. Prints the training time, peak RSS, the share of layer forwards run twice, the
ratio of time to the first setting's and whether the weights equal the first setting's bit for
bit; writes them to metrics/bench/checkpointing.json.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import record  # noqa: E402  (bench/record.py)
from train_speed import checkpointing_value  # noqa: E402  (bench/train_speed.py)


def child(composition: str, setting: bool | int, out: Path) -> dict:
    from koen.config.schema import load
    from koen.training.run import train_spec
    from koen.training.trainer import run_training

    p = load().train
    p.gradient_checkpointing = setting
    with tempfile.TemporaryDirectory() as tmp:
        spec = train_spec(p, "contrastive", composition, p.seed, p.base, out, Path(tmp), "bench")
        start = time.perf_counter()
        result = run_training(spec)
        seconds = time.perf_counter() - start
    return {"setting": setting, "train_s": round(seconds, 1), "steps": result["steps"],
            "recomputed_share": result.get("recomputed_share"),
            "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2, 3)}


def same_weights(a: Path, b: Path) -> bool:
    import torch
    from safetensors.torch import load_file

    x, y = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--composition", default="kokoen")
    ap.add_argument("--settings", nargs="+", type=checkpointing_value,
                    default=[False, 2000, True], metavar="true|false|N")
    ap.add_argument("--child", type=checkpointing_value, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.composition, args.child, args.out)))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, setting in enumerate(args.settings):
            out = Path(tmp) / str(i)
            cmd = [sys.executable, __file__, "--composition", args.composition,
                   "--child", str(setting).lower(), "--out", str(out)]
            done = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
            row = json.loads(done.stdout.strip().splitlines()[-1])
            row["time_ratio"] = round(row["train_s"] / rows[0]["train_s"], 3) if rows else 1.0
            row["same_weights_as_first"] = same_weights(Path(tmp) / "0", out)
            rows.append(row)
            print(row, flush=True)
    record.write("checkpointing", {"composition": args.composition, "runs": rows})


if __name__ == "__main__":
    main()
