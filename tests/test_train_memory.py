"""bench/train_memory.py: what it reads from glibc, and how it sums up a trace."""

from __future__ import annotations

import ctypes
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from train_memory import LIBC, heap_gb, summary  # noqa: E402  (bench/ on the path first)

MB = 1024 ** 2


def test_heap_split_follows_allocations_and_frees():
    """Blocks below the mmap threshold come from an arena: in use while held; freed with one
    block kept after them, they stay free inside the arena (what a fragmented heap holds)."""
    LIBC.malloc.restype = ctypes.c_void_p
    LIBC.free.argtypes = [ctypes.c_void_p]
    used0, free0 = heap_gb()
    blocks = [LIBC.malloc(64 * 1024) for _ in range(3201)]  # 200 MB of 64 KB blocks, and a pin
    pin = blocks.pop()  # the last one taken from the top of the heap: no trim past it
    used1, _ = heap_gb()
    for b in blocks:
        LIBC.free(b)
    used2, free2 = heap_gb()
    LIBC.free(pin)
    assert used1 - used0 == pytest.approx(200 * MB / 1024 ** 3, rel=0.05)  # with the pin
    assert used2 - used0 == pytest.approx(0, abs=0.01)
    assert free2 - free0 >= 0.18


def test_summary_takes_each_windows_highest_rss_with_its_heap():
    samples = [(0.0, 1.0, 0.5, 0.1), (10.0, 1.5, 0.7, 0.2), (31.0, 1.2, 0.6, 0.3),
               (59.9, 2.0, 0.9, 0.8), (60.0, 1.1, 0.4, 0.5)]
    s = summary(samples, [(12.0, "checkpoint-10"), (61.0, "checkpoint-20")])
    assert (s["peak_rss_gb"], s["peak_at_s"]) == (2.0, 59.9)
    assert (s["malloc_in_use_gb_at_peak"], s["malloc_free_gb_at_peak"]) == (0.9, 0.8)
    assert s["rss_gb_by_30s"] == {"0": 1.5, "30": 2.0, "60": 1.1}
    assert s["malloc_in_use_gb_by_30s"] == {"0": 0.7, "30": 0.9, "60": 0.4}
    assert s["malloc_free_gb_by_30s"] == {"0": 0.2, "30": 0.8, "60": 0.5}
    assert s["checkpoints"] == {"checkpoint-10": 12.0, "checkpoint-20": 61.0}
    assert s["seconds"] == 60.0
