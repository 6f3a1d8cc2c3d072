"""One seed for every source of randomness a stage touches."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    # Deterministic mode also fills every new tensor with NaN, to expose reads of unset memory;
    # the same kernels run without that, at no cost to the determinism of the results.
    torch.utils.deterministic.fill_uninitialized_memory = False
