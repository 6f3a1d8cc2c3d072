"""bench/train_memory.py: how it sums up a trace, and that --trim-step trims once a step."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer
from tiny_models import WORDS, tiny_model

from koen.training.unpadding import SortedMultipleNegativesRankingLoss

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from train_memory import StepTrim, summary  # noqa: E402  (bench/ on the path first)


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


def test_step_trim_trims_once_a_loss_forward_not_once_a_module(tmp_path):
    model = SentenceTransformer(str(tiny_model(tmp_path / "m", layers=2)), device="cpu")
    loss = SortedMultipleNegativesRankingLoss(model, 2)
    columns = [model.preprocess([" ".join(WORDS[i:i + n]) for i, n in enumerate(lengths)])
               for lengths in ([1, 5, 3], [4, 2, 6])]
    trim = StepTrim()
    hook = torch.nn.modules.module.register_module_forward_pre_hook(trim)
    try:
        for _ in range(3):  # three steps, each many module forwards (chunks of 2, 2 layers)
            loss([dict(c) for c in columns], None).backward()
    finally:
        hook.remove()
    assert trim.trims == 3
    model(dict(columns[0]))  # the hook is gone
    assert trim.trims == 3
