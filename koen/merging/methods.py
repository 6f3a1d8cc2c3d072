"""Weight-space merging of fine-tuned encoders that share one architecture and tokenizer.

A registry of methods, each `fn(states, weights, base, options) -> state`:
- `linear`: weighted average (Wortsman et al., 2022, "Model soups"); the paper's merge.
- `task_arithmetic`: base + lambda * sum_i w_i (theta_i - base) (Ilharco et al., 2023).
- `cocktail`: `linear` with weights from each model's contrastive loss on a few dev examples
  (LM-Cocktail, Xiao et al., 2023; the weights come from koen/merging/cocktail.py).
- `ties`: trim each task vector to its top-`density` magnitudes, elect a sign per parameter,
  average the agreeing entries (Yadav et al., 2023, "TIES-Merging").
Written here because mergekit 0.1.5's `BertModel` definition is broken for its file-based
`run_merge` (see REFERENCE.md); these are a few lines each, tested exactly.

`LIBRARY` methods are done by sentence-transformers' `SentenceTransformer.merge` over mergekit's
in-memory API, which works on this BERT encoder (its linear and task arithmetic agree with the
ones here to 1e-8): SLERP and friends, Model Stock, DARE, DELLA, breadcrumbs, SCE; a recipe's
`parameters` are mergekit's.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

State = dict[str, torch.Tensor]
MergeFn = Callable[[list[State], list[float], State | None, dict[str, float]], State]


def _float_keys(state: State) -> list[str]:
    return [k for k, v in state.items() if v.is_floating_point()]


def linear(states: list[State], weights: list[float], base: State | None,
           options: dict[str, float]) -> State:
    merged = dict(states[0])
    for k in _float_keys(states[0]):
        merged[k] = sum(w * s[k].double() for s, w in zip(states, weights, strict=True)).to(
            states[0][k].dtype)
    return merged


def task_arithmetic(states: list[State], weights: list[float], base: State | None,
                    options: dict[str, float]) -> State:
    assert base is not None
    lam = options.get("lambda", 1.0)
    merged = dict(base)
    for k in _float_keys(base):
        delta = sum(w * (s[k].double() - base[k].double())
                    for s, w in zip(states, weights, strict=True))
        merged[k] = (base[k].double() + lam * delta).to(base[k].dtype)
    return merged


def trim(delta: torch.Tensor, density: float) -> torch.Tensor:
    """Keep the `density` share of entries with the largest magnitude, zero the rest."""
    n = delta.numel()
    keep = max(1, int(round(density * n)))
    if keep >= n:
        return delta
    threshold = delta.abs().flatten().kthvalue(n - keep + 1).values
    return torch.where(delta.abs() >= threshold, delta, torch.zeros_like(delta))


def ties(states: list[State], weights: list[float], base: State | None,
         options: dict[str, float]) -> State:
    assert base is not None
    lam, density = options.get("lambda", 1.0), options.get("density", 0.2)
    merged = dict(base)
    for k in _float_keys(base):
        deltas = torch.stack([w * trim(s[k].double() - base[k].double(), density)
                              for s, w in zip(states, weights, strict=True)])
        sign = torch.sign(deltas.sum(dim=0))
        agree = (torch.sign(deltas) == sign) & (deltas != 0)
        count = agree.sum(dim=0).clamp(min=1)
        merged[k] = (base[k].double() + lam * (deltas * agree).sum(dim=0) / count).to(
            base[k].dtype)
    return merged


METHODS: dict[str, MergeFn] = {"linear": linear, "task_arithmetic": task_arithmetic,
                               "ties": ties, "cocktail": linear}
