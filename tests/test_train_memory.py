"""bench/train_memory.py: how it sums up a trace."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from train_memory import summary  # noqa: E402  (bench/ on the path first)


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
