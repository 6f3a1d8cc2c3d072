from __future__ import annotations

import numpy as np
import torch
from datasets import Dataset

from koen.training.batching import (
    LengthGroupedBatchSampler,
    length_grouped_batches,
    no_duplicate_batches,
    padding_share,
    token_lengths,
)


def rows(n: int, seed: int = 0) -> list[dict]:
    """Triplets whose positives repeat (a passage is the positive of several queries) and
    whose lengths vary widely."""
    rng = np.random.default_rng(seed)
    return [{"anchor": f"q{i}", "positive": "p" * int(rng.integers(1, 60)) + str(i % 40),
             "negative": "n" * int(rng.integers(1, 60)) + str(i)} for i in range(n)]


def test_padding_share_counts_every_column_padded_to_its_batch_maximum():
    lengths = np.array([[2, 4], [4, 4], [1, 1]])  # (rows, columns)
    # batch [0, 1]: columns padded to 4 and 4 -> 16 run, 14 real; batch [2]: 2 run, 2 real
    assert padding_share([[0, 1], [2]], lengths) == 1 - 16 / 18


def test_no_duplicate_batches_defer_a_row_that_shares_a_text():
    texts = [frozenset({"a", "x"}), frozenset({"b", "x"}), frozenset({"c"}), frozenset({"d"})]
    assert no_duplicate_batches([0, 1, 2, 3], texts, 2) == [[0, 2], [1, 3]]


def test_grouped_batches_cover_every_row_once_without_duplicates_and_pad_less():
    data = rows(512)
    texts = [frozenset(r.values()) for r in data]
    lengths = np.array([[len(v) for v in r.values()] for r in data])
    grouped = length_grouped_batches(texts, lengths, 16, torch.Generator().manual_seed(1))
    assert sorted(i for b in grouped for i in b) == list(range(512))
    for batch in grouped:
        seen = [t for i in batch for t in texts[i]]
        assert len(seen) == len(set(seen)), "a text twice in one batch"
    plain = no_duplicate_batches(torch.randperm(512, generator=torch.Generator().manual_seed(1))
                                 .tolist(), texts, 16)
    assert padding_share(grouped, lengths) < 0.8 * padding_share(plain, lengths)
    again = length_grouped_batches(texts, lengths, 16, torch.Generator().manual_seed(1))
    other = length_grouped_batches(texts, lengths, 16, torch.Generator().manual_seed(2))
    assert grouped == again and grouped != other


def test_sampler_reshuffles_per_epoch_and_its_length_is_its_batch_count():
    dataset = Dataset.from_list(rows(100))
    lengths = np.ones((100, 3), dtype=int)
    sampler = LengthGroupedBatchSampler(dataset, batch_size=8, drop_last=False, lengths=lengths,
                                        seed=3)
    first = list(sampler)
    assert len(sampler) == len(first) and sorted(i for b in first for i in b) == list(range(100))
    sampler.set_epoch(1)
    assert list(sampler) != first
    dropped = LengthGroupedBatchSampler(dataset, batch_size=8, drop_last=True, lengths=lengths)
    assert all(len(b) == 8 for b in dropped)


def test_token_lengths_include_the_prompt_and_the_truncation(tmp_path):
    from sentence_transformers import SentenceTransformer
    from tiny_models import tiny_model

    model = SentenceTransformer(str(tiny_model(tmp_path)), device="cpu")
    dataset = Dataset.from_list([{"anchor": "표", "positive": "the table " * 50}])
    short = token_lengths(dataset, model.tokenizer, {}, 16)
    prompted = token_lengths(dataset, model.tokenizer, {"anchor": "query: "}, 16)
    assert short.shape == (1, 2) and short[0, 1] == 16
    assert prompted[0, 0] > short[0, 0]
