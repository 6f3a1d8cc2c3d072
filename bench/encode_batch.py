"""Encoding speed by batch size, ours and plain `SentenceTransformer.encode` (fp32 or as
`index.precision` resolves), on the texts the index and evaluate stages encode: where
`index.batch_size` and `evaluate.batch_size` come from.

    python bench/encode_batch.py [--model models/base] [--batches 8 16 32 64] [--rounds 2]
                                 [--out encode_batch]

Texts: the first 256 lohelp test passages, 128 Belebele passages (longer), the first 400 lohelp
queries (training split) in each language. Samples overstate a whole stage's gain: a batch of
long texts costs the most, and in a whole set the longest fill only its first batches (the
stages' own times: bench/stage_times.py). Rounds alternate the cells so background load hits
all alike; the best of each counts. Prints texts/s per cell and the mean tokens of a text, and
writes metrics/bench/<out>.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from datasets import Dataset
from sentence_transformers import SentenceTransformer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import record  # noqa: E402  (bench/record.py)

from koen.config.schema import load  # noqa: E402
from koen.models.precision import resolve  # noqa: E402
from koen.retrieval.dense import encode  # noqa: E402
from koen.retrieval.indexes import load_passages  # noqa: E402


def text_sets() -> dict[str, tuple[str, list[str]]]:
    """name -> (prompt name, texts)."""
    lohelp = [p.text for p in load_passages(ROOT / "data/prepared/corpus.parquet", "test")]
    belebele = [p.text for p in load_passages(ROOT / "data/benchmarks/belebele/corpus.parquet",
                                              "test")]
    queries = Dataset.from_parquet(str(ROOT / "data/prepared/queries.parquet"))
    return {"lohelp passages": ("passage", lohelp[:256]),
            "belebele passages": ("passage", belebele[:128]),
            "queries": ("query", queries["ko"][:400] + queries["en"][:400])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", default=str(ROOT / "models/base"))
    ap.add_argument("--batches", type=int, nargs="+", default=[8, 16, 32, 64])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", default="encode_batch", help="metrics/bench/<out>.json")
    args = ap.parse_args()

    precision = resolve(load().index.precision, "cpu")
    model = SentenceTransformer(args.model, device="cpu")
    sets = text_sets()
    encode(model, sets["queries"][1][:64], "query", 64, precision, progress=False)  # warm-up
    best: dict[str, dict[str, dict[int, float]]] = {
        s: {"plain": {}, "ours": {}} for s in sets}
    for _ in range(args.rounds):
        for name, (prompt, texts) in sets.items():
            for batch in args.batches:
                for who in ("plain", "ours"):
                    start = time.perf_counter()
                    if who == "plain":
                        model.encode(texts, prompt_name=prompt, batch_size=batch,
                                     normalize_embeddings=True)
                    else:
                        encode(model, texts, prompt, batch, precision, progress=False)
                    rate = len(texts) / (time.perf_counter() - start)
                    cell = best[name][who]
                    cell[batch] = max(cell.get(batch, 0.0), rate)
    figures: dict = {"precision": precision, "sets": {}}
    for name, (prompt, texts) in sets.items():
        ids = model.tokenizer([model.prompts[prompt] + t for t in texts], truncation=True,
                              max_length=model.max_seq_length)["input_ids"]
        tokens = sum(map(len, ids)) / len(ids)
        figures["sets"][name] = {"texts": len(texts), "mean_tokens": round(tokens, 1),
                                 **{who: {str(b): round(r, 1) for b, r in cells.items()}
                                    for who, cells in best[name].items()}}
        print(f"{name} ({len(texts)} texts, {tokens:.1f} tokens each), texts/s:")
        for batch in args.batches:
            print(f"  batch {batch:>3} (~{batch * tokens:,.0f} tokens): "
                  f"ours {best[name]['ours'][batch]:6.1f}  plain {best[name]['plain'][batch]:6.1f}")
    record.write(args.out, figures)


if __name__ == "__main__":
    main()
