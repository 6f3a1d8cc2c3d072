"""Fine-tune a sentence-transformers model with `SentenceTransformerTrainer`.

One function, `run_training(spec)`, used in-process and, for several devices, in each process
started by `torchrun` (`python -m koen.training.trainer SPEC.json`; accelerate takes the ranks
from the environment, gloo on CPU). Checkpoints go to `spec.checkpoints`, outside the DVC
output, so a killed run resumes from its last complete one; only rank 0 saves the final model.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from datasets import Dataset
from sentence_transformers import (
    SentenceTransformer,
    SentenceTransformerTrainer,
    SentenceTransformerTrainingArguments,
)
from sentence_transformers.training_args import BatchSamplers
from transformers import TrainerCallback
from transformers.modeling_layers import GradientCheckpointingLayer

from koen.config.parse import ParamsError
from koen.models.load import load_model
from koen.repro.seeding import seed_everything
from koen.training.alignment_loss import CrossLingualAlignmentLoss
from koen.training.batching import (
    GroupedSamplers,
    LengthGroupedBatchSampler,
    no_duplicate_batches,
    padding_share,
    row_texts,
    token_lengths,
)
from koen.training.records import TrainResult, TrainSpec
from koen.training.unpadding import SortedMultipleNegativesRankingLoss, step_tokens

FINGERPRINT = "fingerprint.txt"
COMPLETE = "complete"
RESULT = "result.json"  # rank 0's `TrainResult` under torchrun, beside the spec file


class RankLog(TrainerCallback):
    """Counts the batches each process trained on, and their size: the proof that every rank
    took part, and shared each step's batch_size."""

    def __init__(self, path: Path):
        self.path, self.batches = path, 0

    def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001
        self.batches += 1

    def on_train_end(self, args, state, control, **kwargs):  # noqa: ANN001
        rank = int(os.environ.get("RANK", 0))
        (self.path / f"rank{rank}.json").write_text(
            json.dumps(
                {
                    "rank": rank,
                    "world_size": int(os.environ.get("WORLD_SIZE", 1)),
                    "batches": self.batches,
                    "batch": args.per_device_train_batch_size,
                    "global_step": state.global_step,
                }
            )
        )


class MarkCompleteCheckpoints(TrainerCallback):
    """Marks a checkpoint once the Trainer has finished writing it.

    A kill can land while a checkpoint is half-written; the Trainer's own resume would take the
    highest-numbered directory and silently restart from step 0 or without its RNG state.
    """

    def on_save(self, args, state, control, **kwargs):  # noqa: ANN001
        if state.is_world_process_zero:
            (Path(args.output_dir) / f"checkpoint-{state.global_step}" / COMPLETE).touch()


class ReleaseMemory(TrainerCallback):
    """Hands the memory freed by each step back to the kernel, for a lower peak RSS: glibc
    keeps freed pages in its arenas (RSS climbs step after step though live memory stays flat),
    so large buffers are mapped on their own (an mmap threshold of 1 MiB; freed, they go back at
    once) and `malloc_trim(0)` returns the rest at every step's end. The weights stay bit for
    bit the same (bench/train_memory.py); the time grows with the pages faulted in again."""

    MMAP_THRESHOLD = 1 << 20
    M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)

    def __init__(self) -> None:
        libc = ctypes.CDLL(None)
        if not hasattr(libc, "malloc_trim"):
            raise ParamsError("train.release_memory needs glibc's malloc (Linux); set it to false")
        self.trim = libc.malloc_trim
        libc.mallopt(self.M_MMAP_THRESHOLD, self.MMAP_THRESHOLD)

    def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001
        self.trim(0)


def last_complete_checkpoint(checkpoints: Path) -> Path | None:
    """The newest checkpoint that `MarkCompleteCheckpoints` marked, if any."""
    complete = [d for d in checkpoints.glob("checkpoint-*") if (d / COMPLETE).exists()]
    return max(complete, key=lambda d: int(d.name.split("-")[1]), default=None)


def build_loss(model: SentenceTransformer, spec: TrainSpec, distributed: bool) -> torch.nn.Module:
    """The method's loss; with several processes, in-batch negatives are gathered from all of
    them, so a query still competes with the whole `batch_size` of the step."""
    if spec.method == "align":
        return CrossLingualAlignmentLoss(model, **spec.align, chunk=spec.sorted_forward,
                                         gather_across_devices=distributed)
    return SortedMultipleNegativesRankingLoss(model, spec.sorted_forward, scale=spec.scale,
                                              gather_across_devices=distributed)


def prompts_for(columns: list[str], model: SentenceTransformer) -> dict[str, str]:
    """Query prompt for the anchor and query columns, passage prompt for the others."""
    query, passage = model.prompts.get("query", ""), model.prompts.get("passage", "")
    return {c: query if c == "anchor" or c.startswith("query") else passage for c in columns}


def set_attention_dropout(model: SentenceTransformer, p: float | None) -> None:
    """Override the attention-probability dropout for training (None: keep the checkpoint's).

    PyTorch's fused CPU attention has no dropout: with it on, SDPA falls back to the math
    kernel, which keeps every attention matrix for the backward pass. The saved config keeps
    the checkpoint's value.
    """
    if p is None:
        return
    layers = [m for m in model.modules()
              if "Attention" in type(m).__name__ and isinstance(getattr(m, "dropout", None),
                                                                torch.nn.Dropout)]
    if not layers:
        raise ParamsError("train.attention_dropout: no attention dropout found in "
                         f"{type(model[0].auto_model).__name__}; set it to null")
    for layer in layers:
        layer.dropout.p = p


class ActivationBudget:
    """Recomputes the activations of just enough encoder layers to keep a step within `tokens`
    padded tokens' worth of saved activations (a loss forward pre-hook, set every step).

    Length-grouped batches differ a lot in size, so checkpointing every layer of every step
    (`True`) pays the recompute on the short batches too, where memory is plentiful.
    """

    def __init__(self, model: SentenceTransformer, tokens: int, chunk: int | None):
        self.layers = [m for m in model.modules() if isinstance(m, GradientCheckpointingLayer)]
        if not self.layers:
            raise ParamsError("train.gradient_checkpointing: no checkpointable layer in "
                             f"{type(model[0].auto_model).__name__}; set it to true or false")
        self.tokens, self.chunk = tokens, chunk
        self.counts: list[int] = []  # layers recomputed, per loss call

    def recomputed(self, step: int) -> int:
        """Layers to recompute for a step of `step` padded tokens: those over the budget."""
        over = max(0.0, 1.0 - self.tokens / step)
        return min(len(self.layers), math.ceil(len(self.layers) * over))

    def share(self) -> float:
        """Share of the layer forwards run twice so far: the price of the budget."""
        return sum(self.counts) / (len(self.counts) * len(self.layers)) if self.counts else 0.0

    def __call__(self, loss: torch.nn.Module, args: tuple) -> None:  # noqa: ARG002
        features = list(args[0])
        step = step_tokens(features, self.chunk) if self.chunk else \
            sum(f["input_ids"].numel() for f in features)
        k = self.recomputed(step)
        self.counts.append(k)
        for i, layer in enumerate(self.layers):
            layer.gradient_checkpointing = i < k


class ForwardPadding:
    """Counts the real and padded tokens of every training forward of the model (a forward
    pre-hook): the padding the step really paid, whichever way the loss embeds its columns.
    The real count stays on the model's device until the end: reading it every forward would
    make the GPU wait each time."""

    def __init__(self) -> None:
        self.real: torch.Tensor | int = 0
        self.padded = 0

    def __call__(self, model: torch.nn.Module, args: tuple) -> None:
        if model.training:
            mask = args[0]["attention_mask"]
            self.real = self.real + mask.sum()
            self.padded += mask.numel()

    def share(self) -> float:
        return 1.0 - int(self.real) / self.padded if self.padded else 0.0


def padding(dataset: Dataset, lengths: np.ndarray, batch_size: int, seed: int,
            grouped: list[LengthGroupedBatchSampler]) -> tuple[float, float | None]:
    """Padding share of random no-duplicate batches of the rows trained on, as the library's
    sampler makes them, and of the length-grouped batches trained on (None: there were none)."""
    texts = row_texts(dataset, dataset.column_names)
    order = torch.randperm(len(texts), generator=torch.Generator().manual_seed(seed)).tolist()
    random = round(padding_share(no_duplicate_batches(order, texts, batch_size), lengths), 4)
    lengthwise = round(padding_share(grouped[-1].batches(), lengths), 4) if grouped else None
    return random, lengthwise


def resumable(checkpoints: Path, fingerprint: str) -> Path | None:
    """The last complete checkpoint of this very run (same inputs and params), if any."""
    mark = checkpoints / FINGERPRINT
    if mark.exists() and mark.read_text() == fingerprint:
        return last_complete_checkpoint(checkpoints)
    return None


def run_training(spec: TrainSpec, rank_logs: Path | None = None) -> TrainResult:
    """Train `spec.init` on `spec.examples`; rank 0 saves to `spec.output`. Each process logs
    its batches to `rank_logs` (None: the checkpoints folder)."""
    seed_everything(spec.seed)
    checkpoints = Path(spec.checkpoints)
    resume = resumable(checkpoints, spec.fingerprint)
    if int(os.environ.get("RANK", 0)) == 0:
        checkpoints.mkdir(parents=True, exist_ok=True)
        for old in checkpoints.glob("checkpoint-*"):
            if resume is None or not (old / COMPLETE).exists():
                shutil.rmtree(old)  # another run's, or half-written by a killed one
        (checkpoints / FINGERPRINT).write_text(spec.fingerprint)
    device = spec.device
    distributed = int(os.environ.get("WORLD_SIZE", 1)) > 1
    model = load_model(spec.init, device, spec.trust_remote_code,
                       model_kwargs={"attn_implementation": spec.attn_implementation})
    model.max_seq_length = spec.max_seq_length
    if spec.freeze_embeddings:
        model[0].auto_model.get_input_embeddings().weight.requires_grad_(False)
    set_attention_dropout(model, spec.attention_dropout)
    dataset = Dataset.from_list(spec.examples)
    prompts = prompts_for(dataset.column_names, model)
    lengths = token_lengths(dataset, model.tokenizer, prompts, spec.max_seq_length)
    grouped = GroupedSamplers(lengths)

    precision = spec.precision
    args = SentenceTransformerTrainingArguments(
        output_dir=str(checkpoints),
        num_train_epochs=spec.epochs,
        # batch_size is the step's, over all processes
        per_device_train_batch_size=spec.batch_size // spec.devices,
        learning_rate=spec.learning_rate,
        warmup_ratio=spec.warmup_ratio,
        seed=spec.seed,
        data_seed=spec.seed,
        logging_steps=spec.logging_steps,
        logging_nan_inf_filter=False,  # its isnan check reads the loss back every step
        save_strategy="steps",
        save_steps=spec.checkpoint_steps,
        save_total_limit=2,  # a kill while writing one leaves the previous one complete
        report_to="none",
        use_cpu=device == "cpu",
        ddp_backend="gloo" if device == "cpu" and distributed else None,
        dataloader_num_workers=0,
        batch_sampler=grouped if spec.group_by_length else BatchSamplers.NO_DUPLICATES,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        activation_checkpointing=spec.gradient_checkpointing is not False,
        activation_checkpointing_kwargs={"use_reentrant": False},
        prompts=prompts,
        disable_tqdm=False,
    )
    loss = build_loss(model, spec, distributed)
    forwards = ForwardPadding()
    model.register_forward_pre_hook(forwards)
    budget = None
    if not isinstance(spec.gradient_checkpointing, bool):
        budget = ActivationBudget(model, spec.gradient_checkpointing, spec.sorted_forward)
        loss.register_forward_pre_hook(budget)
    trainer = SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        loss=loss,
        callbacks=[RankLog(rank_logs or checkpoints), MarkCompleteCheckpoints(),
                   *([ReleaseMemory()] if spec.release_memory else [])],
    )
    trainer.train(resume_from_checkpoint=None if resume is None else str(resume))
    losses = [[h["step"], h["loss"]] for h in trainer.state.log_history if "loss" in h]
    if trainer.is_world_process_zero():
        # The model card states the wall-clock training time, which would make the model
        # directory's hash (and every stage downstream of it) differ from run to run.
        model.model_card_data._training_start_time = None
        model.save(spec.output, safe_serialization=True)
    random, lengthwise = padding(dataset, lengths, spec.batch_size, spec.seed, grouped.made)
    return TrainResult(steps=trainer.state.global_step, resumed=resume is not None, loss=losses,
                       padding_share=lengthwise, padding_share_random=random,
                       forward_padding_share=round(forwards.share(), 4),
                       recomputed_share=round(budget.share(), 4) if budget else None)


def worker_main(spec_file: Path) -> None:
    """One torchrun process: its rank log, and rank 0's result, go beside `spec_file`."""
    result = run_training(TrainSpec.from_json(spec_file.read_text()), rank_logs=spec_file.parent)
    if int(os.environ.get("RANK", 0)) == 0:
        (spec_file.parent / RESULT).write_text(result.to_json())


if __name__ == "__main__":
    worker_main(Path(sys.argv[1]))
