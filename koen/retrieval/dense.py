"""Dense retrieval: encode with a sentence-transformers model, search exact FAISS indexes.

An index directory holds `index` (a `faiss.IndexFlatIP` over unit-length embeddings, so a score
is a cosine similarity and the ranking is exact) and `docid` (one docid a line, in FAISS id
order). That is the layout Pyserini's `FaissSearcher(dir, None)` opens; searching it with
precomputed query vectors lets a stage encode each query set once and reuse it on every index.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import faiss
import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.util import batch_to_device
from tqdm import tqdm

from koen.formats.tables import DataError
from koen.formats.trec import Run
from koen.models.features import chunk_features
from koen.models.precision import DTYPES, autocast


def encode(model: SentenceTransformer, texts: Sequence[str], prompt_name: str, batch_size: int,
           precision: str, progress: bool = True, normalize: bool = True) -> np.ndarray:
    """Float32 embeddings (n, dim) of `texts`, in their order (unit length unless `normalize`
    is off), with the model's prompt `prompt_name` ("query" or "passage") prepended (none if
    the model has no such prompt, as bge-m3).

    `precision` (resolved: fp32, bf16, fp16) is the autocast of the forward pass; the vectors
    are returned, and normalised, in fp32.

    Every text is tokenized once, by the model's own preprocessing, and the batches are cut
    from the texts sorted by token count: `SentenceTransformer.encode` sorts by characters, but
    a Korean passage has about half the characters of its English twin for the same number of
    tokens, so in a mixed pool character order pads far more. A batch is its rows of the
    tokenized texts, cut to its own longest (the same tensors the library's batch would be).
    """
    if not texts:
        raise ValueError("nothing to encode")
    model.eval()
    out = np.empty((len(texts), model.get_sentence_embedding_dimension()), dtype=np.float32)
    with (torch.inference_mode(), tqdm(total=len(texts), desc=f"encode {prompt_name}",
                                       unit="text", disable=not progress) as bar,
          lowered_linears(model, precision), autocast(str(model.device), precision)):
        features = model.preprocess(list(texts), prompt=model.prompts.get(prompt_name) or None)
        if model.tokenizer.padding_side != "right":
            raise ValueError(f"{type(model.tokenizer).__name__} pads on the left; encoding "
                             "cuts batches from right-padded texts")
        lengths = features["attention_mask"].sum(dim=1)
        order = torch.argsort(-lengths, stable=True)
        for start in range(0, len(texts), batch_size):
            idx = order[start:start + batch_size]
            batch = batch_to_device(chunk_features(features, idx, int(lengths[idx].max())),
                                    model.device)
            emb = model(batch)["sentence_embedding"].float().cpu().numpy()  # (batch, dim)
            if normalize:
                emb /= np.linalg.norm(emb, axis=1, keepdims=True).clip(min=1e-12)
            out[idx.numpy()] = emb
            bar.update(len(idx))
    return out


@contextlib.contextmanager
def lowered_linears(model: torch.nn.Module, precision: str) -> Iterator[None]:
    """The weights and biases of `model`'s linear layers cast to `precision` (fp32: left as they
    are) for the duration, the fp32 originals put back on exit.

    Autocast casts them at every call and keeps the casts for the rest of its context, except
    under `torch.inference_mode`, which `SentenceTransformer.encode` runs in: there every batch
    casts every weight again. Cast once, autocast finds them in its dtype; the same numbers."""
    if precision not in DTYPES:
        yield
        return
    saved = [(m, m.weight, m.bias) for m in model.modules() if isinstance(m, torch.nn.Linear)]
    try:
        for m, weight, bias in saved:
            m.weight = torch.nn.Parameter(weight.detach().to(DTYPES[precision]),
                                          requires_grad=False)
            if bias is not None:
                m.bias = torch.nn.Parameter(bias.detach().to(DTYPES[precision]),
                                            requires_grad=False)
        yield
    finally:
        for m, weight, bias in saved:
            m.weight, m.bias = weight, bias


def write_index(out: Path, docids: Sequence[str], vectors: np.ndarray) -> None:
    """Write an exact inner-product index that `FaissSearcher(out, None)` opens."""
    if len(docids) != len(vectors):
        raise ValueError(f"{len(docids)} docids for {len(vectors)} vectors")
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    out.mkdir(parents=True, exist_ok=True)
    faiss.write_index(index, str(out / "index"))
    (out / "docid").write_text("".join(f"{d}\n" for d in docids), encoding="utf-8")


def search(index_dir: Path, qids: Sequence[str], vectors: np.ndarray, k: int | None,
           threads: int = 1) -> Run:
    """Top-`k` docid -> score per query id, best first (`k=None`: the whole pool, ranked).

    FAISS's own search over the layout `FaissSearcher` opens: the same call Pyserini makes,
    without its result objects, one Python object a hit, which cost seven to ten times the
    search when Multi ranks the whole pool (bench/search.py)."""
    index = faiss.read_index(str(index_dir / "index"))
    docids = np.array((index_dir / "docid").read_text(encoding="utf-8").splitlines(),
                      dtype=object)
    if len(docids) != index.ntotal:
        raise DataError(f"{index_dir}: {len(docids)} docids for {index.ntotal} vectors; "
                        "rebuild it with its evaluate stage (dvc repro)")
    faiss.omp_set_num_threads(threads)
    scores, ids = index.search(np.ascontiguousarray(vectors, dtype=np.float32),
                               index.ntotal if k is None else min(k, index.ntotal))
    return {q: dict(zip(docids[row].tolist(), score.tolist(), strict=True))
            for q, row, score in zip(qids, ids, scores, strict=True)}
