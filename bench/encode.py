"""Passage encoding of the index stage against plain `SentenceTransformer.encode`, in fp32
and in its best setting on the device.

    python bench/encode.py [--model models/base] [--n 512] [--batch B] [--rounds 2]
                           [--queries] [--device cpu|cuda|...] [--precision P] [--out encode]

Same model, same texts (the first n/2 test passages of each language, interleaved, as the
index stage encodes its mixed pool; with --queries the test queries and the query prompt, as
the evaluate stage encodes them), same batch size and prompt, same device, one process. Ours
runs as the stage does there: `index.precision` and `index.batch_size` of params.yaml with
`auto` resolved by the device profile (--precision and --batch override them; --batch sets the
plain side's too). `plain` is `encode` in fp32, `plain_best` `encode` under bf16 autocast where
the device computes bf16 natively (fp16 on an older CUDA GPU; fp32 on a CPU without native bf16):
what a user would pick. "recasting" is ours without `dense.lowered_linears`, autocast alone
casting every linear weight again each batch. The rounds alternate the variants so background
load hits all alike; the best round of each counts. Prints passages/s, the ratios ours / plain
and ours / plain_best, the largest embedding difference to plain, and writes them to
metrics/bench/<out>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path
from unittest.mock import patch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import record  # noqa: E402  (bench/record.py)


def texts(n: int, queries: bool) -> list[str]:
    """The first n/2 test passages (or queries) of each language, interleaved."""
    from datasets import Dataset

    table = "queries" if queries else "corpus"
    rows = Dataset.from_parquet(str(ROOT / f"data/prepared/{table}.parquet"))
    test = rows.filter(lambda r: r["split"] == "test")
    if queries:  # one row a query, both languages
        ko, en = (test[lang][: n // 2] for lang in ("ko", "en"))
    else:  # one row a passage, its language in `lang`
        ko, en = ([t for t, lang in zip(test["text"], test["lang"], strict=True) if lang == want]
                  [: n // 2] for want in ("ko", "en"))
    return [t for pair in zip(ko, en, strict=True) for t in pair]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", default=str(ROOT / "models/base"))
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--batch", type=int, help="the stage's resolved index.batch_size if not given")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--queries", action="store_true",
                    help="test queries with the query prompt, as the evaluate stage encodes them")
    ap.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ... (all three paths)")
    ap.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"],
                    help="ours at this precision, not params.yaml's index.precision")
    ap.add_argument("--out", default="encode", help="metrics/bench/<out>.json")
    args = ap.parse_args()

    import numpy as np
    from sentence_transformers import SentenceTransformer

    from koen.config.schema import load
    from koen.models.precision import autocast, resolve
    from koen.models.profile import resolve_evaluate, resolve_index
    from koen.retrieval import dense

    params = load()
    # as the stage resolves `auto` there: the index stage's passages, the evaluate stage's queries
    stage = (resolve_evaluate(params.evaluate, args.device) if args.queries
             else resolve_index(params.index, args.device))
    precision = resolve(args.precision, args.device) if args.precision else stage.precision
    args.batch = args.batch or stage.batch_size
    best = resolve("auto", args.device)  # plain `encode` in its best precision here

    def plain_best() -> np.ndarray:
        with autocast(args.device, best):
            return model.encode(data, prompt_name=prompt, batch_size=args.batch,
                                normalize_embeddings=True)

    def recasting(*a, **kw):  # noqa: ANN002, ANN003
        """Ours with autocast alone: every batch casts the linear weights again."""
        with patch.object(dense, "lowered_linears", lambda *_: contextlib.nullcontext()):
            return dense.encode(*a, **kw)

    data = texts(args.n, args.queries)
    prompt, noun = ("query", "queries") if args.queries else ("passage", "passages")
    model = SentenceTransformer(args.model, device=args.device)
    model.encode(data[:8], prompt_name=prompt)  # warm-up
    runs = {
        "plain": lambda: model.encode(data, prompt_name=prompt, batch_size=args.batch,
                                      normalize_embeddings=True),
        "plain_best": plain_best,
        "recasting": lambda: recasting(model, data, prompt, args.batch, precision,
                                       progress=False),
        "ours": lambda: dense.encode(model, data, prompt, args.batch, precision,
                                     progress=False),
    }
    rates = dict.fromkeys(runs, 0.0)
    out = {}
    for _ in range(args.rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            out[name] = run()
            rate = len(data) / (time.perf_counter() - start)
            rates[name] = max(rates[name], rate)
            print(f"{name}: {rate:.1f} {noun}/s")
    print(f"best plain {rates['plain']:.1f}, plain {best} {rates['plain_best']:.1f}, recasting "
          f"{rates['recasting']:.1f}, ours {rates['ours']:.1f} {noun}/s ({len(data)} {noun}, "
          f"batch {args.batch})")
    ratio, over_recasting = rates["ours"] / rates["plain"], rates["ours"] / rates["recasting"]
    over_best = rates["ours"] / rates["plain_best"]
    same = bool(np.array_equal(out["ours"], out["recasting"]))
    diff = float(np.abs(out["ours"] - out["plain"]).max())
    cosine = float(np.sum(out["ours"] * out["plain"], axis=1).min())
    print(f"ours ({precision}) / plain (fp32): {ratio:.2f}x; / plain ({best}): {over_best:.2f}x; "
          f"max |diff| {diff:.1e}, lowest cosine {cosine:.5f}")
    print(f"ours / recasting: {over_recasting:.2f}x, the same vectors: {same}")
    record.write(args.out, {noun: len(data), "batch": args.batch, "device": args.device,
                            "precision": precision, "plain_best_precision": best,
                            f"plain_{noun}_per_s": round(rates["plain"], 2),
                            f"plain_best_{noun}_per_s": round(rates["plain_best"], 2),
                            f"recasting_{noun}_per_s": round(rates["recasting"], 2),
                            f"ours_{noun}_per_s": round(rates["ours"], 2),
                            "ratio_ours_over_plain": round(ratio, 3),
                            "ratio_ours_over_plain_best": round(over_best, 3),
                            "ratio_ours_over_recasting": round(over_recasting, 3),
                            "same_as_recasting": same,
                            "max_abs_diff": diff, "lowest_cosine": cosine})


if __name__ == "__main__":
    main()
