"""Ways to encode faster where the CPU has no native bf16, each against fp32 `encode`.

    python bench/encode_backends.py [--model models/base] [--n 512] [--batch 16] [--rounds 2]
                                    [--quality] [--out encode_backends_avx2]
    (needs `onnx`: uv pip install -e '.[bench]')

On the AVX2-only kind `precision: auto` is fp32, and the index stage's encoding runs only about
1.3x plain `SentenceTransformer.encode` (bench/encode.py: its token-count batches, nothing
else). This times, on the texts of bench/encode.py (test passages, ko and en interleaved) and at
one batch size, against plain fp32 `encode`:
- ours: the index stage's `encode` in fp32;
- int8: the same on a copy whose Linear layers PyTorch quantises to int8
  (`torch.ao.quantization.quantize_dynamic`: int8 weights, activations quantised per batch);
- onnxruntime: the transformer exported by `torch.onnx.export` and run by ONNX Runtime with
  all its graph optimisations, and `fused`: the same graph after ONNX Runtime's BERT fusions
  (`onnxruntime.transformers.optimizer`: attention, LayerNorm, GELU), both fed the
  token-count batches of ours and pooled like the model's own modules (mean, unit length).
sentence-transformers' own `backend="onnx"` / `"openvino"` need optimum-onnx or optimum-intel,
which pin transformers 4.57 and 5.5 (this project's is 5.23), hence torch's exporter here.
The rounds alternate the variants; the best round of each counts. Each variant's lowest
cosine and largest difference against plain fp32 say what it costs in the embeddings;
--quality also retrieves with each variant but plain (the evaluate stage's exact FAISS search
of each benchmark's test pools, its four directions) and gives its nDCG@10 against
ours in fp32, with a paired permutation test over queries (Holm over the eight figures).
Writes metrics/bench/<out>.json.
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from onnxruntime.transformers.optimizer import optimize_model
from sentence_transformers import SentenceTransformer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import record  # noqa: E402  (bench/record.py)
from encode import texts  # noqa: E402  (bench/encode.py)

from koen.config.schema import load  # noqa: E402
from koen.evaluation.evaluate import DIRECTIONS, Queries, load_queries  # noqa: E402
from koen.evaluation.metrics import Qrels, in_language, read_qrels  # noqa: E402
from koen.evaluation.significance import holm, paired_permutation, per_query_ndcg  # noqa: E402
from koen.retrieval import dense  # noqa: E402
from koen.retrieval.indexes import LANGS, Passage, load_passages  # noqa: E402

Encoder = Callable[[list[str], str], np.ndarray]  # (texts, prompt name) -> unit vectors


class Hidden(torch.nn.Module):
    """The transformer as (token ids, mask) -> last hidden state: the tracer passes positionally."""

    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net = net

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.net(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


def export(model: SentenceTransformer, path: Path) -> None:
    """The transformer as ONNX, batch size and length free."""
    example = model.tokenizer(["passage: a b c", "passage: d"], padding=True,
                              return_tensors="pt")
    torch.onnx.export(Hidden(model[0].auto_model.eval()),
                      (example["input_ids"], example["attention_mask"]), str(path),
                      input_names=["input_ids", "attention_mask"],
                      output_names=["last_hidden_state"],
                      dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                    "attention_mask": {0: "batch", 1: "tokens"},
                                    "last_hidden_state": {0: "batch", 1: "tokens"}},
                      opset_version=17, dynamo=False)


def session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = torch.get_num_threads()
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def ort_encoder(model: SentenceTransformer, sess: ort.InferenceSession,
                batch_size: int) -> Encoder:
    """Encode as ours does (prompt, token-count batches, mean pooling, unit length) with `sess`."""
    tokenizer = model.tokenizer

    def run(data: list[str], prompt_name: str) -> np.ndarray:
        prompted = [model.prompts[prompt_name] + t for t in data]
        ids = tokenizer(prompted, truncation=True, max_length=model.max_seq_length)["input_ids"]
        order = np.argsort([-len(x) for x in ids], kind="stable")
        out = np.empty((len(data), model.get_embedding_dimension()), dtype=np.float32)
        for start in range(0, len(data), batch_size):
            batch = order[start:start + batch_size]
            feats = tokenizer([prompted[i] for i in batch], padding=True, truncation=True,
                              max_length=model.max_seq_length, return_tensors="np")
            mask = feats["attention_mask"].astype(np.int64)
            hidden = sess.run(None, {"input_ids": feats["input_ids"].astype(np.int64),
                                     "attention_mask": mask})[0]
            emb = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
            out[batch] = emb / np.linalg.norm(emb, axis=1, keepdims=True)
        return out

    return run


Benchmark = tuple[str, list[Passage], Qrels, Queries]  # name, test passages, qrels, queries


def benchmarks() -> list[Benchmark]:
    out = []
    for name, b in load().benchmarks.items():
        qrels = read_qrels(ROOT / b.qrels)
        out.append((name, load_passages(ROOT / b.corpus, b.split), qrels,
                    load_queries(ROOT / b.queries, qrels)))
    return out


def ndcg(run: Encoder, benches: list[Benchmark], k: int,
         threads: int) -> dict[str, np.ndarray]:
    """Per-query nDCG@10 of `run` on each benchmark and direction, searched as the evaluate
    stage searches (exact inner-product FAISS indexes of each language's pool, Pyserini)."""
    out = {}
    for bench, passages, qrels, queries in benches:
        qids = list(queries)
        vectors = {lang: run([queries[q][lang] for q in qids], "query") for lang in LANGS}
        with tempfile.TemporaryDirectory() as tmp:
            for lang in LANGS:
                pool = [x for x in passages if x.lang == lang]
                dense.write_index(Path(tmp) / lang, [x.doc_id for x in pool],
                                  run([x.text for x in pool], "passage"))
            for direction, (q_lang, d_lang) in DIRECTIONS.items():
                ranking = dense.search(Path(tmp) / d_lang, qids, vectors[q_lang], k, threads)
                scores = per_query_ndcg(ranking, in_language(qrels, d_lang))
                out[f"{bench}/{direction}"] = np.array([scores[q] for q in sorted(scores)])
    return out


def quality(variants: dict[str, Encoder]) -> dict:
    """Each variant's nDCG@10 per benchmark/direction against ours in fp32, with Holm p."""
    config = load()
    seed, resamples = config.seed, config.report.resamples
    benches = benchmarks()  # read once for all variants
    per_query = {name: ndcg(run, benches, config.evaluate.k, config.evaluate.threads)
                 for name, run in variants.items() if name != "plain"}
    out = {}
    for name, figures in per_query.items():
        keys = sorted(figures)
        ref = per_query["ours"]
        p = [paired_permutation(figures[k], ref[k], np.ones(len(ref[k])), resamples, seed)
             for k in keys]
        out[name] = {k: {"ndcg@10": round(float(figures[k].mean()), 2),
                         "diff": round(float(figures[k].mean() - ref[k].mean()), 2),
                         "p_holm": round(ph, 4)} for k, ph in zip(keys, holm(p), strict=True)}
        diffs = [abs(v["diff"]) for v in out[name].values()]
        if name != "ours":  # the reference: its own figures are the evaluate stage's of base
            print(f"{name:12s} nDCG@10 mean |diff| to ours {np.mean(diffs):.2f} points, "
                  f"largest {max(diffs):.2f}, significant (Holm p < 0.05): "
                  f"{[k for k, v in out[name].items() if v['p_holm'] < 0.05] or 'none'}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", default=str(ROOT / "models/base"))
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--quality", action="store_true",
                    help="also nDCG@10 of each variant on both benchmarks")
    ap.add_argument("--out", default="encode_backends", help="metrics/bench/<out>.json")
    args = ap.parse_args()

    data = texts(args.n)
    model = SentenceTransformer(args.model, device="cpu")
    int8 = torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear},
                                                  dtype=torch.qint8)
    bert = model[0].auto_model.config
    with tempfile.TemporaryDirectory() as tmp:
        plain_onnx, fused_onnx = Path(tmp) / "model.onnx", Path(tmp) / "fused.onnx"
        export(model, plain_onnx)
        optimize_model(str(plain_onnx), model_type="bert", num_heads=bert.num_attention_heads,
                       hidden_size=bert.hidden_size).save_model_to_file(str(fused_onnx))
        variants: dict[str, Encoder] = {
            "plain": lambda d, pr: model.encode(d, prompt_name=pr, batch_size=args.batch,
                                                normalize_embeddings=True),
            "ours": lambda d, pr: dense.encode(model, d, pr, args.batch, "fp32", progress=False),
            "int8": lambda d, pr: dense.encode(int8, d, pr, args.batch, "fp32", progress=False),
            "onnxruntime": ort_encoder(model, session(plain_onnx), args.batch),
            "fused": ort_encoder(model, session(fused_onnx), args.batch),
        }
        for run in variants.values():
            run(data[:8], "passage")  # warm-up
        best, out = dict.fromkeys(variants, 0.0), {}
        for _ in range(args.rounds):
            for name, run in variants.items():
                start = time.perf_counter()
                out[name] = run(data, "passage")
                rate = len(data) / (time.perf_counter() - start)
                best[name] = max(best[name], rate)
                print(f"{name}: {rate:.1f} passages/s")
        retrieval = quality(variants) if args.quality else None
    figures = {}
    for name in variants:
        figures[name] = {
            "passages_per_s": round(best[name], 2),
            "ratio_over_plain": round(best[name] / best["plain"], 3),
            "max_abs_diff": float(np.abs(out[name] - out["plain"]).max()),
            "lowest_cosine": float(np.sum(out[name] * out["plain"], axis=1).min())}
        print(f"{name:12s} {best[name]:7.1f} passages/s  {figures[name]['ratio_over_plain']:.2f}x"
              f"  max |diff| {figures[name]['max_abs_diff']:.1e}"
              f"  lowest cosine {figures[name]['lowest_cosine']:.5f}")
    record.write(args.out, {"passages": len(data), "batch": args.batch,
                            "onnxruntime": ort.__version__, **figures,
                            **({"ndcg@10": retrieval} if retrieval else {})})


if __name__ == "__main__":
    main()
