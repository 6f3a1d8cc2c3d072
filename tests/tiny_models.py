"""Tiny sentence-transformers models built on the fly, so training tests run in seconds: the
kinds a user brings (e5's, bge-m3's, a bare encoder, sentencepiece, BPE, remote code)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
from transformers import (
    BertConfig,
    BertModel,
    BertTokenizer,
    PreTrainedTokenizerFast,
    XLMRobertaConfig,
    XLMRobertaModel,
)

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


OTHER_SCRIPTS = ["привет", "テーブル", "表格", "γράφημα"]  # pieces no ko/en text produces


def tiny_model(path: Path, seed: int = 0, hidden: int = 32, layers: int = 1,
               dropout: float = 0.1, pooling: str = "mean", normalize: bool = True,
               prompts: dict[str, str] | None = None, extra: tuple[str, ...] = ()) -> Path:
    """Save a `layers`-layer BERT with a word-level (WordPiece) Korean/English vocabulary, plus
    `extra` words, as a sentence-transformer: e5's kind by default (mean pooling, normalised,
    `query: ` / `passage: ` prompts); `pooling="cls", prompts={}` is bge-m3's kind. The bare
    transformers encoder is at `path / "hf"`."""
    torch.manual_seed(seed)
    hf = path / "hf"
    hf.mkdir(parents=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "query", "passage", ":", *WORDS,
             *extra]
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
    return wrap(hf, path / "model", hidden, pooling, normalize, prompts)


def wrap(hf: Path, out: Path, hidden: int, pooling: str = "mean", normalize: bool = True,
         prompts: dict[str, str] | None = None, **kwargs: object) -> Path:
    """A transformers encoder folder saved as a sentence-transformers model at `out`."""
    encoder = Transformer(str(hf), max_seq_length=32, **kwargs)
    model = SentenceTransformer(
        modules=[encoder, Pooling(hidden, pooling_mode=pooling), *([Normalize()] if normalize
                                                                    else [])],
        device="cpu",
        prompts={"query": "query: ", "passage": "passage: "} if prompts is None else prompts,
    )
    model.save(str(out), safe_serialization=True)
    return out


def tiny_unigram_model(path: Path, hidden: int = 32) -> Path:
    """An XLM-R-like encoder with a sentencepiece (Unigram) vocabulary of WORDS as whole pieces
    and as single characters, plus pieces of other scripts, as a sentence-transformer (e5's
    kind: XLM-R vocabularies are what multilingual-e5 and bge-m3 use)."""
    torch.manual_seed(0)
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    chars = sorted({c for w in WORDS for c in w})
    pieces = [*(f"▁{w}" for w in WORDS), *chars, "▁", *OTHER_SCRIPTS, "▁query", "▁passage", ":"]
    vocab = [(t, 0.0) for t in specials] + [(piece, -1.0 - 0.01 * i)
                                            for i, piece in enumerate(pieces)]
    vocab += [("<mask>", 0.0)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=3, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", 0), ("</s>", 2)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                                   unk_token="<unk>", pad_token="<pad>", cls_token="<s>",
                                   sep_token="</s>", mask_token="<mask>")
    hf = path / "hf"
    fast.save_pretrained(hf)
    config = XLMRobertaConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=1,
                              num_attention_heads=2, intermediate_size=37,
                              max_position_embeddings=64, pad_token_id=1, bos_token_id=0,
                              eos_token_id=2)
    XLMRobertaModel(config).save_pretrained(hf, safe_serialization=True)
    return wrap(hf, path / "model", hidden)


def tiny_bpe_model(path: Path, hidden: int = 32) -> Path:
    """A byte-level BPE vocabulary (GPT-2's kind): its pieces are merges, not trimmable."""
    torch.manual_seed(0)
    tok = Tokenizer(models.BPE(vocab={"<pad>": 0, "<unk>": 1, "a": 2, "b": 3, "ab": 4},
                               merges=[("a", "b")], unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>")
    hf = path / "hf"
    fast.save_pretrained(hf)
    config = BertConfig(vocab_size=5, hidden_size=hidden, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=37, max_position_embeddings=64)
    BertModel(config).save_pretrained(hf, safe_serialization=True)
    return wrap(hf, path / "model", hidden)


REMOTE_CODE = """from transformers import BertConfig, BertModel


class TinyConfig(BertConfig):
    model_type = "koen-tiny"


class TinyModel(BertModel):
    config_class = TinyConfig
"""


def tiny_remote_code_model(path: Path) -> Path:
    """A plain transformers encoder folder whose architecture is code it ships (as
    gte-multilingual-base's `NewModel`): transformers loads it only with trust_remote_code."""
    hf = tiny_model(path, dropout=0.0).parent / "hf"
    (hf / "modeling_tiny.py").write_text(REMOTE_CODE)
    config = json.loads((hf / "config.json").read_text())
    config |= {"model_type": "koen-tiny", "architectures": ["TinyModel"],
               "auto_map": {"AutoConfig": "modeling_tiny.TinyConfig",
                            "AutoModel": "modeling_tiny.TinyModel"}}
    (hf / "config.json").write_text(json.dumps(config))
    return hf
