"""Exercise set 0: tools warm-up (statements in README.md beside this file).

Replace each ``raise NotImplementedError(...)`` with your code, then grade your work:

    make grade EX=ex00_tools

You may use torch and numpy. The dlbook function each exercise is graded against is
switched off while your code runs.
"""

from __future__ import annotations

import numpy as np
import torch  # noqa: F401 (you will want it)
from torch import Tensor


def one_hot(labels: Tensor, num_classes: int) -> Tensor:
    """Exercise 0.1: float32 one-hot encoding of integer ``labels``, shape (..., K)."""
    raise NotImplementedError("Exercise 0.1: one_hot")


def accuracy(logits: Tensor, targets: Tensor) -> Tensor:
    """Exercise 0.2: fraction of rows of ``logits`` whose argmax equals ``targets``."""
    raise NotImplementedError("Exercise 0.2: accuracy")


def parse_idx(data: bytes) -> np.ndarray:
    """Exercise 0.3: decode the bytes of an IDX file into an array of the stored shape."""
    raise NotImplementedError("Exercise 0.3: parse_idx")
