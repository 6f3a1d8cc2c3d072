"""Merge weights from a few examples, in the manner of LM-Cocktail (Xiao et al., 2023,
FlagEmbedding's `mix_models_with_data`): each candidate model's in-batch contrastive loss on
the examples of every target, weights = softmax(-loss / temperature).

The targets are the two kinds of retrieval the study trades off: CLIR (for ko-en: Korean query,
English passage and the reverse) and Mono (ko-ko, en-en), each the mean of its two directions,
on the same `examples` dev queries; a model's loss is the mean over the targets. Unlike
LM-Cocktail's own code (CLS pooling), the models encode as they were trained and are used: e5's mean
pooling and its query/passage prompts, through sentence-transformers.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch
from sentence_transformers import SentenceTransformer

from koen.config.languages import Pair
from koen.config.schema import CocktailData
from koen.errors import KoenError
from koen.formats.tables import read_table
from koen.formats.trec import read_qrels
from koen.models.load import load_model
from koen.models.precision import autocast

SCALE = 20.0  # 1 / 0.05, LM-Cocktail's and the training loss's
Examples = list[dict[str, str]]  # query_ko, query_en, passage_ko, passage_en (for ko-en)


def targets(pair: Pair) -> dict[str, tuple[tuple[str, str], ...]]:
    """Each target's two (query, passage) language directions."""
    a, b = pair.codes
    return {"clir": ((a, b), (b, a)), "mono": ((a, a), (b, b))}


def dev_examples(data: CocktailData, n: int, seed: int, pair: Pair) -> Examples:
    """`n` dev queries (seeded draw) with their relevant passage in each language."""
    qrels = read_qrels(data.qrels)
    texts = {r["doc_id"]: r["text"] for r in read_table(data.corpus, ("doc_id", "text"))}
    queries = {r["qid"]: r for r in read_table(data.queries, ("qid", *pair.codes))}
    rows = []
    for qid in sorted(qrels):
        pos = {d.rsplit("-", 1)[1]: d for d, rel in qrels[qid].items() if rel > 0}
        if set(pair.codes) <= set(pos) and qid in queries:
            rows.append({f"{kind}_{x}": queries[qid][x] if kind == "query" else texts[pos[x]]
                         for kind in ("query", "passage") for x in pair.codes})
    if len(rows) < n:
        raise KoenError(f"merge: cocktail wants {n} examples but {data.qrels} has only "
                         f"{len(rows)} queries judged in both languages")
    return random.Random(seed).sample(rows, n)


def contrastive_loss(model: SentenceTransformer, queries: list[str], passages: list[str],
                     batch_size: int, precision: str) -> float:
    """In-batch cross-entropy of each query against all the passages (its own is the label)."""
    with autocast(str(model.device), precision):
        q = model.encode(queries, prompt=model.prompts.get("query", ""), batch_size=batch_size,
                         convert_to_tensor=True, normalize_embeddings=True).float()
        p = model.encode(passages, prompt=model.prompts.get("passage", ""),
                         batch_size=batch_size,
                         convert_to_tensor=True, normalize_embeddings=True).float()
    scores = SCALE * q @ p.T  # (queries, passages)
    labels = torch.arange(len(queries), device=scores.device)
    return float(torch.nn.functional.cross_entropy(scores, labels))


def model_losses(model_dir: Path, examples: Examples, data: CocktailData,
                 trust_remote_code: bool, pair: Pair) -> dict[str, float]:
    """The model's loss per target (mean of the target's two directions)."""
    model = load_model(model_dir, data.device, trust_remote_code)
    precision = data.precision  # resolved (koen.models.profile)
    return {target: float(np.mean([
        contrastive_loss(model, [e[f"query_{q}"] for e in examples],
                         [e[f"passage_{d}"] for e in examples], data.batch_size, precision)
        for q, d in directions])) for target, directions in targets(pair).items()}


def softmax_weights(losses: list[float], temperature: float) -> list[float]:
    """LM-Cocktail's weights: softmax(-loss / temperature)."""
    return torch.softmax(-torch.tensor(losses, dtype=torch.float64) / temperature, 0).tolist()


def cocktail_weights(paths: list[Path], data: CocktailData, examples: int, temperature: float,
                     seed: int, trust_remote_code: bool,
                     pair: Pair) -> tuple[list[float], list[dict[str, float]]]:
    """Each model's weight and its losses per target."""
    chosen = dev_examples(data, examples, seed, pair)
    losses = [model_losses(p, chosen, data, trust_remote_code, pair) for p in paths]
    return softmax_weights([float(np.mean(list(x.values()))) for x in losses],
                           temperature), losses
