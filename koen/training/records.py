"""What goes into one training and what comes out of it, typed: each also crosses a process
boundary as JSON (torchrun's processes read the spec from a file, rank 0 writes the result
to one)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from koen.formats.train_info import TrainInfo

Method = Literal["contrastive", "align"]


@dataclass(kw_only=True)
class TrainSpec:
    """Everything `run_training` needs, `auto` resolved (`koen.models.profile.resolve_train`)."""

    method: Method
    examples: list[dict[str, str]]
    """The training rows, one column per text (anchor, positive, negative, or align's four)."""
    align: dict[str, Any] | None
    """`CrossLingualAlignmentLoss`'s options; None: the contrastive loss."""
    seed: int
    init: str
    """The model training starts from."""
    output: str
    """Where rank 0 saves the trained model."""
    checkpoints: str
    """Checkpoints a killed run resumes from, outside the DVC output."""
    fingerprint: str
    """The run's inputs: checkpoints of another run are never resumed from."""
    epochs: int
    batch_size: int
    """Examples a step, over all processes."""
    devices: int
    learning_rate: float
    warmup_ratio: float
    scale: float
    max_seq_length: int
    freeze_embeddings: bool
    attention_dropout: float | None
    group_by_length: bool
    gradient_checkpointing: bool | int
    sorted_forward: int | None
    device: str
    precision: str
    attn_implementation: str
    logging_steps: int
    checkpoint_steps: int
    release_memory: bool
    trust_remote_code: bool

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> TrainSpec:
        return cls(**json.loads(text))


@dataclass(kw_only=True)
class TrainResult:
    """How a training went: `TrainInfo`'s fields that `run_training` fills in."""

    steps: int
    resumed: bool
    loss: list[list[float]]
    padding_share: float | None = None
    padding_share_random: float
    forward_padding_share: float
    recomputed_share: float | None = None
    ranks: list[dict[str, int]] | None = None
    """Each process's rank log, when several trained together (`run_distributed`)."""

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> TrainResult:
        return cls(**json.loads(text))

    @classmethod
    def of(cls, info: TrainInfo) -> TrainResult:
        """The result recorded in a model's `train_info.json`, for a model reused as it is."""
        return cls(**{f.name: getattr(info, f.name) for f in fields(cls)})
