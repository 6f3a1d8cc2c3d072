"""Tiny sentence-transformers models built on the fly, so training tests run in seconds."""

from __future__ import annotations

from pathlib import Path

from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
from transformers import BertConfig, BertModel, BertTokenizer

WORDS = [
    "표",
    "삽입",
    "문서",
    "커서",
    "차트",
    "편집",
    "셀",
    "서식",
    "매크로",
    "보안",
    "글꼴",
    "이름",
    "수식",
    "함수",
    "합계",
    "table",
    "insert",
    "document",
    "cursor",
    "chart",
    "edit",
    "cell",
    "format",
    "macro",
    "security",
    "font",
    "name",
    "formula",
    "function",
    "sum",
    "the",
    "a",
    "to",
    "of",
    "in",
    "and",
    "for",
    "how",
    "do",
    "i",
    "you",
    "choose",
    "click",
]


def tiny_model(path: Path, seed: int = 0, hidden: int = 32, layers: int = 1,
               dropout: float = 0.1) -> Path:
    """Save a `layers`-layer BERT with a word-level Korean/English vocabulary as a
    sentence-transformer."""
    import torch

    torch.manual_seed(seed)
    hf = path / "hf"
    hf.mkdir(parents=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "query", "passage", ":", *WORDS]
    # transformers 5 ignores `vocab_file` here; `vocab=` works. No accent stripping: it would
    # break Hangul syllables apart.
    BertTokenizer(
        vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True, strip_accents=False
    ).save_pretrained(hf)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=64,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )
    BertModel(config).save_pretrained(hf, safe_serialization=True)
    encoder = Transformer(str(hf), max_seq_length=32)
    model = SentenceTransformer(
        modules=[encoder, Pooling(hidden, pooling_mode="mean"), Normalize()],
        device="cpu",
        prompts={"query": "query: ", "passage": "passage: "},
    )
    out = path / "model"
    model.save(str(out), safe_serialization=True)
    return out
