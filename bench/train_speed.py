"""Training throughput of the train stage against a plain sentence-transformers loop, in fp32
and in its best setting on the device.

    python bench/train_speed.py [--model models/base] [--steps 16] [--batch 32]
                                [--gradient-checkpointing true|false|N] [--sorted-forward N|null]
                                [--device cpu|cuda|...] [--out train_speed]

Every variant trains the same model on the same kokoen examples with
MultipleNegativesRankingLoss, the same batch size and maximum length, word embeddings frozen,
each in its own process (so peak memory is per variant), on the same device. The plain loop is
the textbook one: tokenize, forward through the loss, AdamW step, in the order the examples were
drawn; `plain` runs it in fp32, `plain_best` under bf16 autocast where the device computes bf16
natively (fp16 on an older CUDA GPU; a CPU without native bf16 has no better setting: fp32) -
what a user would pick. The stage runs with params.yaml's `train`, every `auto` resolved for
the device by the device profile (koen/models/profile.py), recorded as `settings`. Prints
triplets/s, peak RSS (and on CUDA peak GPU memory), the padding share of the tokens each
variant's forwards ran (the stage's own `ForwardPadding` hook) and the ratios stage / plain and
stage / plain_best, and writes them to metrics/bench/<out>.json.
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


def examples(n: int) -> list[dict]:
    from datasets import Dataset

    from koen.config.languages import KO_EN
    from koen.training.examples import draw

    triplets = Dataset.from_parquet(str(ROOT / "data/prepared/triplets.parquet")).to_list()
    return draw(triplets, "kokoen", n, seed=13, pair=KO_EN)


def plain(model_dir: str, steps: int, batch: int, max_len: int, device: str,
          best: bool) -> dict:
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.losses import MultipleNegativesRankingLoss
    from sentence_transformers.util import batch_to_device

    from koen.models.precision import autocast, resolve
    from koen.training.trainer import ForwardPadding

    precision = resolve("auto", device) if best else "fp32"

    data = examples(steps * batch)
    model = SentenceTransformer(model_dir, device=device)
    model.max_seq_length = max_len
    model[0].auto_model.get_input_embeddings().weight.requires_grad_(False)
    loss = MultipleNegativesRankingLoss(model)
    forwards = ForwardPadding()
    model.register_forward_pre_hook(forwards)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-5)
    model.train()
    start = time.perf_counter()
    for i in range(steps):
        rows = data[i * batch:(i + 1) * batch]
        texts = [[model.prompts["query"] + r["anchor"] for r in rows],
                 [model.prompts["passage"] + r["positive"] for r in rows],
                 [model.prompts["passage"] + r["negative"] for r in rows]]
        feats = [batch_to_device(model.preprocess(t), model.device) for t in texts]
        opt.zero_grad()
        with autocast(device, precision):
            value = loss(feats, None)
        value.backward()
        opt.step()
    if model.device.type == "cuda":
        torch.cuda.synchronize()  # the steps were queued, not necessarily done
    return {"triplets_per_s": steps * batch / (time.perf_counter() - start),
            "precision": precision, "forward_padding_share": round(forwards.share(), 4)}


def stage(model_dir: str, steps: int, batch: int, max_len: int, device: str,
          overrides: dict) -> dict:
    from dataclasses import replace

    from koen.config.schema import load
    from koen.models.profile import resolve_train
    from koen.training.run import train_spec
    from koen.training.trainer import run_training

    params = load()
    p = resolve_train(params.train, device)  # every `auto` as the stage resolves it there
    with tempfile.TemporaryDirectory() as tmp:
        spec = replace(train_spec(p, "contrastive", "kokoen", 13, Path(model_dir),
                                  Path(tmp) / "out", Path(tmp) / "ckpt", "bench", False,
                                  params.pair),
                       examples=examples(steps * batch), checkpoint_steps=10_000, epochs=1,
                       batch_size=batch, max_seq_length=max_len, freeze_embeddings=True,
                       device=device, **overrides)
        start = time.perf_counter()
        result = run_training(spec)
        # the stage's time includes its final save; the plain loop saves nothing
        rate = steps * batch / (time.perf_counter() - start)
    return {"triplets_per_s": rate, "forward_padding_share": result.forward_padding_share,
            "settings": {k: getattr(spec, k) for k in ("precision", "group_by_length",
                                                       "attention_dropout",
                                                       "gradient_checkpointing",
                                                       "sorted_forward", "attn_implementation",
                                                       "logging_steps", "devices")}}


def checkpointing_value(text: str) -> bool | int:
    """`true`, `false` or a token budget, as train.gradient_checkpointing takes them."""
    if text.isdigit() and int(text) > 0:
        return int(text)
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    raise argparse.ArgumentTypeError(f"expected true, false or a token count >= 1, got {text!r}")


def sorted_forward_value(text: str) -> int | None:
    """A number of texts >= 1 or `null`, as train.sorted_forward takes them."""
    if text.isdigit() and int(text) > 0:
        return int(text)
    if text.lower() == "null":
        return None
    raise argparse.ArgumentTypeError(f"expected null or a number of texts >= 1, got {text!r}")


def child(args: argparse.Namespace) -> None:
    import torch

    if args.variant in ("plain", "plain_best"):
        out = plain(args.model, args.steps, args.batch, args.max_len, args.device,
                    args.variant == "plain_best")
    else:
        out = stage(args.model, args.steps, args.batch, args.max_len, args.device,
                    json.loads(args.overrides))
    out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    if torch.device(args.device).type == "cuda":
        out["peak_cuda_gb"] = torch.cuda.max_memory_allocated() / 1024 ** 3
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", default=str(ROOT / "models/base"))
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--gradient-checkpointing", type=checkpointing_value, metavar="true|false|N",
                    help="the stage with this train.gradient_checkpointing, not params.yaml's")
    ap.add_argument("--sorted-forward", type=sorted_forward_value, metavar="N|null",
                    default=argparse.SUPPRESS,
                    help="the stage with this train.sorted_forward, not params.yaml's")
    ap.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ... (every variant)")
    ap.add_argument("--out", default="train_speed", help="metrics/bench/<out>.json")
    ap.add_argument("--variant", choices=["plain", "plain_best", "stage"])
    ap.add_argument("--overrides", default="{}", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.variant:
        return child(args)
    overrides = {} if args.gradient_checkpointing is None else {
        "gradient_checkpointing": args.gradient_checkpointing}
    if "sorted_forward" in vars(args):  # given: a number or null
        overrides["sorted_forward"] = args.sorted_forward
    results = {}
    for variant in ("plain", "plain_best", "stage"):
        cmd = [sys.executable, __file__, "--variant", variant, "--model", args.model,
               "--steps", str(args.steps), "--batch", str(args.batch),
               "--max-len", str(args.max_len), "--device", args.device,
               "--overrides", json.dumps(overrides)]
        # the child's stderr (warnings, the Trainer's progress, a traceback) passes through
        out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
        results[variant] = json.loads(out.strip().splitlines()[-1])
        print(variant, results[variant])
    ratio = results["stage"]["triplets_per_s"] / results["plain"]["triplets_per_s"]
    best = results["stage"]["triplets_per_s"] / results["plain_best"]["triplets_per_s"]
    print(f"stage / plain fp32: {ratio:.2f}x; stage / plain "
          f"{results['plain_best']['precision']}: {best:.2f}x")
    record.write(args.out, {"steps": args.steps, "batch": args.batch,
                            "max_len": args.max_len, "device": args.device, **results,
                            "ratio_stage_over_plain": round(ratio, 3),
                            "ratio_stage_over_plain_best": round(best, 3)})


if __name__ == "__main__":
    main()
