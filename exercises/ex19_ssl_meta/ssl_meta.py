"""Exercise set 19: self-supervised learning and meta-learning (statements in README.md).

Replace each ``raise NotImplementedError(...)`` with your code, then grade your work:

    make grade EX=ex19_ssl_meta

You may use torch, torch.nn.functional and math. The dlbook function each exercise is
graded against is switched off while your code runs.
"""

from __future__ import annotations

import math  # noqa: F401 (you will want it)

import torch  # noqa: F401 (you will want it)
import torch.nn.functional as F  # noqa: F401 (you may want it)
from torch import Tensor


def nt_xent(z1: Tensor, z2: Tensor, temperature: float = 0.5) -> Tensor:
    """Exercise 19.1: SimCLR's NT-Xent loss over the 2N views; a 0-d tensor."""
    raise NotImplementedError("Exercise 19.1: nt_xent")


def erase(images: Tensor, top: Tensor, left: Tensor, size: int) -> Tensor:
    """Exercise 19.2: zero a size x size square of each image at (top, left), clipped."""
    raise NotImplementedError("Exercise 19.2: erase")


def inner_update(
    params: list[Tensor], loss: Tensor, alpha: float, *, first_order: bool = False
) -> list[Tensor]:
    """Exercise 19.3: one differentiable gradient step, theta - alpha * grad(loss)."""
    raise NotImplementedError("Exercise 19.3: inner_update")


def linear_probe(
    features: Tensor,
    labels: Tensor,
    num_classes: int,
    *,
    weight_decay: float = 1e-3,
    max_iter: int = 500,
) -> tuple[Tensor, Tensor]:
    """Exercise 19.4: the L2-penalised multinomial logistic regression; (weight, bias)."""
    raise NotImplementedError("Exercise 19.4: linear_probe")


def critic_scores(x_train: Tensor, y_train: Tensor, x: Tensor, y: Tensor) -> Tensor:
    """Exercise 19.5 (open): an InfoNCE critic fitted on training pairs; (N, N) scores."""
    raise NotImplementedError("Exercise 19.5: critic_scores")
