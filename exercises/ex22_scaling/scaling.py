"""Exercise set 22: scaling up (statements in README.md beside this file).

Replace each ``raise NotImplementedError(...)`` with your code, then grade your work:

    make grade EX=ex22_scaling

You may use torch and math. The dlbook function each exercise is graded against is
switched off while your code runs.
"""

from __future__ import annotations

import math  # noqa: F401 (you will want it)
from collections.abc import Callable, Sequence

import torch  # noqa: F401 (you will want it)
from torch import Tensor, nn

from dlbook.lm import GPT, GPTConfig


def gpt_forward_flops(config: GPTConfig, seq_len: int) -> int:
    """Exercise 22.1: matrix-product FLOPs of one forward pass over one sequence."""
    raise NotImplementedError("Exercise 22.1: gpt_forward_flops")


def ring_allreduce(tensors: Sequence[Tensor]) -> list[Tensor]:
    """Exercise 22.2: every worker's copy of the sum, by the ring algorithm."""
    raise NotImplementedError("Exercise 22.2: ring_allreduce")


def accumulate_gradients(
    model: nn.Module,
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    inputs: Tensor,
    targets: Tensor,
    micro_batches: int,
) -> tuple[float, list[Tensor | None]]:
    """Exercise 22.3: fill p.grad with the big-batch gradient; return (loss, gradients)."""
    raise NotImplementedError("Exercise 22.3: accumulate_gradients")


def scaled_sgd_step(
    params: Sequence[Tensor],
    scaled_grads: Sequence[Tensor],
    scale: float,
    growth_tracker: int,
    *,
    lr: float,
    growth_factor: float = 2.0,
    backoff_factor: float = 0.5,
    growth_interval: int = 2000,
) -> tuple[list[Tensor], float, int, bool]:
    """Exercise 22.4: one SGD step from loss-scaled gradients, skipped on overflow."""
    raise NotImplementedError("Exercise 22.4: scaled_sgd_step")


def checkpointed_lm_loss(model: GPT, tokens: Tensor, targets: Tensor) -> Tensor:
    """Exercise 22.5 (open): the GPT's mean cross-entropy, keeping little memory."""
    raise NotImplementedError("Exercise 22.5: checkpointed_lm_loss")
