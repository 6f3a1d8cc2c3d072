"""Batches of similar token length, without duplicate texts in a batch.

The Trainer pads every column of a batch to its longest text, so random batches of help-page
passages pay for 128 tokens almost every time. `LengthGroupedBatchSampler` shuffles, cuts the
shuffled rows into windows of `WINDOW` batches, orders each window so that neighbours are alike
in every column's length (`grouped_order`), fills batches greedily in that order the way
sentence-transformers' `NoDuplicatesBatchSampler` does (a row sharing a text with the batch
waits for the next one, so in-batch negatives stay true negatives), and shuffles the order of
the batches, as `group_by_length` in transformers does with one sort key. A positive and its
negative are different passages whose lengths are unrelated, so no order makes both columns
uniform: on 2,000 kokoen triplets the padding share goes from 47 % to about 28 %.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from datasets import Dataset
from sentence_transformers.base.sampler import DefaultBatchSampler
from transformers import PreTrainedTokenizerBase

WINDOW = 50  # batches grouped together, as transformers' group_by_length megabatches


def token_lengths(dataset: Dataset, tokenizer: PreTrainedTokenizerBase, prompts: dict[str, str],
                  max_length: int) -> np.ndarray:
    """(rows, columns) token counts of each text with its prompt, as the model truncates it."""
    columns = [tokenizer([prompts.get(c, "") + t for t in dataset[c]], truncation=True,
                         max_length=max_length)["input_ids"] for c in dataset.column_names]
    return np.array([[len(ids) for ids in col] for col in columns]).T


def row_texts(dataset: Dataset, columns: Sequence[str]) -> list[frozenset[str]]:
    """Each row's texts: two rows that share one cannot share a batch."""
    return [frozenset(str(row[c]) for c in columns) for row in dataset]


def no_duplicate_batches(order: Sequence[int], texts: Sequence[frozenset[str]],
                         batch_size: int) -> list[list[int]]:
    """Greedy batches in `order`; a row that shares a text with the batch waits for the next."""
    pending, batches = list(order), []
    while pending:
        batch: list[int] = []
        seen: set[str] = set()
        rest: list[int] = []
        for i in pending:
            if len(batch) < batch_size and texts[i].isdisjoint(seen):
                batch.append(i)
                seen |= texts[i]
            else:
                rest.append(i)
        batches.append(batch)
        pending = rest
    return batches


def grouped_order(rows: Sequence[int], lengths: np.ndarray, batches: int) -> list[int]:
    """`rows` ordered so that consecutive runs of a batch are alike in every column's length.

    Each column is padded on its own, so one sort key cannot serve them all: sort by the
    longest column, cut into strata, sort each stratum by the next column, and so on (a k-d
    split with about `batches ** (1 / columns)` strata a level).
    """
    if batches <= 1 or lengths.shape[1] == 0:
        return list(rows)
    col = int(np.argmax(lengths[list(rows)].mean(axis=0)))
    ordered = sorted(rows, key=lambda i: lengths[i, col])
    strata = max(1, round(batches ** (1 / lengths.shape[1])))
    size = -(-batches // strata) * (len(ordered) // batches or 1)
    rest = np.delete(lengths, col, axis=1)
    return [i for start in range(0, len(ordered), size)
            for i in grouped_order(ordered[start:start + size], rest, -(-batches // strata))]


def length_grouped_batches(texts: Sequence[frozenset[str]], lengths: np.ndarray, batch_size: int,
                           generator: torch.Generator, window: int = WINDOW) -> list[list[int]]:
    """One epoch's batches: shuffled, grouped by length within windows of `window` batches
    (`grouped_order`), no duplicate texts in a batch, batch order shuffled."""
    perm = torch.randperm(len(texts), generator=generator).tolist()
    span = window * batch_size
    order = [i for start in range(0, len(perm), span)
             for i in grouped_order(perm[start:start + span], lengths,
                                    -(-len(perm[start:start + span]) // batch_size))]
    batches = no_duplicate_batches(order, texts, batch_size)
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def padding_share(batches: Sequence[Sequence[int]], lengths: np.ndarray) -> float:
    """Share of the tokens the model runs that are padding (every column padded per batch)."""
    real = padded = 0
    for batch in batches:
        cols = lengths[list(batch)]  # (batch, columns)
        real += int(cols.sum())
        padded += int(cols.max(axis=0).sum()) * len(batch)
    return 1.0 - real / padded if padded else 0.0


class LengthGroupedBatchSampler(DefaultBatchSampler):
    """The Trainer's batch sampler: `length_grouped_batches`, reseeded every epoch."""

    def __init__(self, dataset: Dataset, batch_size: int, drop_last: bool, lengths: np.ndarray,
                 valid_label_columns: list[str] | None = None,
                 generator: torch.Generator | None = None, seed: int = 0) -> None:
        super().__init__(dataset, batch_size=batch_size, drop_last=drop_last,
                         valid_label_columns=valid_label_columns, generator=generator, seed=seed)
        if len(lengths) != len(dataset):
            raise ValueError(f"{len(lengths)} token lengths for {len(dataset)} rows")
        columns = [c for c in dataset.column_names if c not in (valid_label_columns or [])]
        self.texts = row_texts(dataset, columns)
        self.lengths = lengths
        self._epoch_batches: tuple[int, list[list[int]]] | None = None

    def batches(self) -> list[list[int]]:
        """This epoch's batches (computed once: the DataLoader asks for the length first)."""
        if self._epoch_batches is None or self._epoch_batches[0] != self.epoch:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            batches = length_grouped_batches(self.texts, self.lengths, self.batch_size, generator)
            if self.drop_last:
                batches = [b for b in batches if len(b) == self.batch_size]
            self._epoch_batches = (self.epoch, batches)
        return self._epoch_batches[1]

    def __iter__(self) -> Iterator[list[int]]:
        yield from self.batches()

    def __len__(self) -> int:
        return len(self.batches())


class GroupedSamplers:
    """The Trainer's `batch_sampler` factory (picklable: the Trainer saves its arguments with
    each checkpoint); keeps the samplers it made so the caller can report their padding."""

    def __init__(self, lengths: np.ndarray):
        self.lengths, self.made = lengths, []

    def __call__(self, dataset: Dataset, **kwargs) -> LengthGroupedBatchSampler:  # noqa: ANN003
        self.made.append(LengthGroupedBatchSampler(dataset, lengths=self.lengths, **kwargs))
        return self.made[-1]

    def __getstate__(self) -> dict:
        return {"lengths": self.lengths, "made": []}
