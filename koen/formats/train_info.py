"""A trained model's record, `train_info.json` in its folder: what the train stage writes and
the evaluate, tracking and merge stages read.

Here rather than in `koen.training`, so that its readers need not depend on training. Models
committed to DVC carry the file: the same values must keep giving the same bytes (the keys in
this order, the optional ones only where they hold a value).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from koen.formats.tables import DataError


@dataclass(kw_only=True)
class TrainInfo:
    """One trained model: what it was trained from, and how the training went. The fields are
    in the file's key order; those defaulting to None are left out of the file when None."""

    name: str
    """The model's folder name (`kokoen`, `experiment`)."""
    composition: str
    """The composition as params.yaml names it."""
    canonical: str
    """The composition's canonical code."""
    fingerprint: str
    """Everything the weights are made of (`koen.training.run.fingerprint`)."""
    init: str
    """The model training started from."""
    seed: int
    params: dict[str, Any]
    """The hyperparameters, `auto` resolved (`koen.training.run.hyper`)."""
    computed_on: dict[str, str]
    """The device, precision and CPU vector paths or GPU (`koen.models.machine.computed_on`)."""
    steps: int
    resumed: bool
    """Whether the training went on from a killed run's checkpoint."""
    loss: list[list[float]]
    """[step, loss] pairs, every `logging_steps`."""
    padding_share: float | None = None
    """Padding of the length-grouped batches trained on; None: random batches."""
    padding_share_random: float
    """Padding random batches of the same rows would have had."""
    forward_padding_share: float
    """Padding the model's forwards paid."""
    recomputed_share: float | None = None
    """Share of layer forwards run twice under a token budget; None: no budget."""
    reused_from: str | None = None
    """The grid model this one was copied from, trained from the very same inputs."""
    ranks: list[dict[str, int]] | None = None
    """Each process's rank log, when several trained together."""
    merge: dict[str, Any] | None = None
    """The merge record, when the experiment model was merged in place."""

    def as_dict(self) -> dict[str, Any]:
        """The file's keys and values, in order."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) is not None or f.default is not None}

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.as_dict(), indent=2, default=str))

    @classmethod
    def read(cls, path: Path) -> TrainInfo:
        """The record at `path`; one missing a key, or holding an unknown one, fails naming it."""
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except (TypeError, json.JSONDecodeError) as err:
            raise DataError(f"{path}: not a training record ({err})") from None
