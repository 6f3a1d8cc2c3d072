"""Training throughput of the train stage against a plain sentence-transformers loop.

    python bench/train_speed.py [--model models/base] [--steps 8] [--batch 32]

Both variants train the same model on the same kokoen examples with MultipleNegativesRankingLoss
and the same batch size, each in its own process (so peak memory is per variant). The plain loop
is the textbook one: tokenize, forward through the loss, AdamW step. Prints samples/s, peak RSS
and the ratio stage / plain (goal >= 1.0).
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


def examples(n: int) -> list[dict]:
    from datasets import Dataset

    from koen.data.compositions import draw

    triplets = Dataset.from_parquet(str(ROOT / "data/prepared/triplets.parquet")).to_list()
    return draw(triplets, "kokoen", n, seed=13)


def plain(model_dir: str, steps: int, batch: int, max_len: int, freeze: bool) -> float:
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.losses import MultipleNegativesRankingLoss

    data = examples(steps * batch)
    model = SentenceTransformer(model_dir, device="cpu")
    model.max_seq_length = max_len
    if freeze:
        model[0].auto_model.get_input_embeddings().weight.requires_grad_(False)
    loss = MultipleNegativesRankingLoss(model)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-5)
    model.train()
    start = time.perf_counter()
    for i in range(steps):
        rows = data[i * batch:(i + 1) * batch]
        feats = [model.tokenize([model.prompts["query"] + r["anchor"] for r in rows]),
                 model.tokenize([model.prompts["passage"] + r["positive"] for r in rows]),
                 model.tokenize([model.prompts["passage"] + r["negative"] for r in rows])]
        opt.zero_grad()
        loss(feats, None).backward()
        opt.step()
    return steps * batch / (time.perf_counter() - start)


def stage(model_dir: str, steps: int, batch: int, max_len: int, freeze: bool) -> float:
    from koen.training.trainer import run_training

    with tempfile.TemporaryDirectory() as tmp:
        spec = {"method": "contrastive", "examples": examples(steps * batch), "seed": 13,
                "init": model_dir, "output": f"{tmp}/out", "checkpoints": f"{tmp}/ckpt",
                "fingerprint": "bench", "device": "cpu", "checkpoint_steps": 10_000,
                "epochs": 1, "batch_size": batch, "learning_rate": 5e-5, "warmup_ratio": 0.1,
                "scale": 20.0, "max_seq_length": max_len, "freeze_embeddings": freeze}
        start = time.perf_counter()
        run_training(spec)
        # the stage's time includes its final save; the plain loop saves nothing
        return steps * batch / (time.perf_counter() - start)


def child(args: argparse.Namespace) -> None:
    fn = {"plain": plain, "stage": stage}[args.variant]
    rate = fn(args.model, args.steps, args.batch, args.max_len, not args.unfrozen)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"samples_per_s": rate, "peak_rss_mb": peak}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", default=str(ROOT / "models/base"))
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--unfrozen", action="store_true", help="train the word embeddings too")
    ap.add_argument("--variant", choices=["plain", "stage"])
    args = ap.parse_args()
    if args.variant:
        return child(args)
    results = {}
    for variant in ("plain", "stage"):
        cmd = [sys.executable, __file__, "--variant", variant, "--model", args.model,
               "--steps", str(args.steps), "--batch", str(args.batch),
               "--max-len", str(args.max_len)] + (["--unfrozen"] if args.unfrozen else [])
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        results[variant] = json.loads(out.strip().splitlines()[-1])
        print(variant, results[variant])
    ratio = results["stage"]["samples_per_s"] / results["plain"]["samples_per_s"]
    print(f"stage / plain samples/s: {ratio:.2f}x")


if __name__ == "__main__":
    main()
