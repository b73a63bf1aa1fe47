"""Exercise set 14: energy-based models (statements in README.md beside this file).

Replace each ``raise NotImplementedError(...)`` with your code, then grade your work:

    make grade EX=ex14_ebm

You may use torch and math. The dlbook function each exercise is graded against is
switched off while your code runs.
"""

from __future__ import annotations

import math  # noqa: F401 (you will want it)
from collections.abc import Callable

import torch
from torch import Tensor


def hebbian_weights(patterns: Tensor) -> Tensor:
    """Exercise 14.1: Hebb's rule, W = patterns.T @ patterns / N with a zero diagonal."""
    raise NotImplementedError("Exercise 14.1: hebbian_weights")


def hopfield_energy(W: Tensor, s: Tensor, b: Tensor | None = None) -> Tensor:
    """Exercise 14.2: E(s) = -1/2 s^T W s - b^T s for one state (N,) or a batch (B, N)."""
    raise NotImplementedError("Exercise 14.2: hopfield_energy")


def hopfield_sweep(W: Tensor, s: Tensor, order: Tensor, b: Tensor | None = None) -> Tensor:
    """Exercise 14.3: asynchronous updates of the units in `order`, one at a time."""
    raise NotImplementedError("Exercise 14.3: hopfield_sweep")


def rbm_free_energy(v: Tensor, weight: Tensor, visible_bias: Tensor, hidden_bias: Tensor) -> Tensor:
    """Exercise 14.4: F(v) = -b^T v - sum_j softplus(c_j + W_j v), shape (B,)."""
    raise NotImplementedError("Exercise 14.4: rbm_free_energy")


def cd_gradient(
    v_data: Tensor, v_model: Tensor, weight: Tensor, visible_bias: Tensor, hidden_bias: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Exercise 14.5: the CD estimate of the gradient of -log p for (weight, b, c)."""
    raise NotImplementedError("Exercise 14.5: cd_gradient")


def langevin_step(
    energy: Callable[[Tensor], Tensor],
    x: Tensor,
    step_size: float,
    noise: Tensor,
    *,
    noise_scale: float | None = None,
) -> Tensor:
    """Exercise 14.6: x - step_size * grad E(x) + sqrt(2 step_size) * noise."""
    raise NotImplementedError("Exercise 14.6: langevin_step")


def sample_energy(
    energy: Callable[[Tensor], Tensor], num_samples: int, *, generator: torch.Generator
) -> Tensor:
    """Exercise 14.7 (open): num_samples independent draws of p(x) ~ exp(-E(x)) on R^2."""
    raise NotImplementedError("Exercise 14.7: sample_energy")
