"""Exercise set 9: training deep networks (statements in README.md beside this file).

Replace each ``raise NotImplementedError(...)`` with your code, then grade your work:

    make grade EX=ex09_training

You may use torch and math. The dlbook function each exercise is graded against is
switched off while your code runs.
"""

from __future__ import annotations

import math  # noqa: F401 (you will want it)
from collections.abc import Callable, Sequence

import torch  # you will want it
from torch import Tensor


def adam_update(
    param: Tensor,
    grad: Tensor,
    m: Tensor,
    v: Tensor,
    step: int,
    *,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    decoupled: bool = False,
) -> tuple[Tensor, Tensor, Tensor]:
    """Exercise 9.1: one Adam (or AdamW) step; return (new param, new m, new v)."""
    raise NotImplementedError("Exercise 9.1: adam_update")


def batch_norm(
    x: Tensor,
    gamma: Tensor,
    beta: Tensor,
    running_mean: Tensor,
    running_var: Tensor,
    *,
    training: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> tuple[Tensor, Tensor, Tensor]:
    """Exercise 9.2: batch norm of (N, C) or (N, C, L) inputs; return (y, mean, var)."""
    raise NotImplementedError("Exercise 9.2: batch_norm")


def warmup_cosine_lr(
    step: int,
    *,
    lr: float,
    warmup_steps: int,
    total_steps: int,
    lr_min: float = 0.0,
    start_factor: float = 0.1,
) -> float:
    """Exercise 9.3: the learning rate at ``step`` of a linear warm-up then cosine decay."""
    raise NotImplementedError("Exercise 9.3: warmup_cosine_lr")


def layer_norm(x: Tensor, gamma: Tensor, beta: Tensor, *, eps: float = 1e-5) -> Tensor:
    """Exercise 9.4: layer norm over the trailing axes that ``gamma`` spans."""
    raise NotImplementedError("Exercise 9.4: layer_norm")


def fit_early_stopping(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    batches: Sequence[tuple[Tensor, Tensor]],
    val: tuple[Tensor, Tensor],
    *,
    max_epochs: int,
    patience: int,
) -> list[float]:
    """Exercise 9.5 (open): train with early stopping; return the validation losses."""
    raise NotImplementedError("Exercise 9.5: fit_early_stopping")
