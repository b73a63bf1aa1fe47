"""Exercise set 17: normalizing flows and diffusion (statements in README.md beside this file).

Replace each ``raise NotImplementedError(...)`` with your code, then grade your work:

    make grade EX=ex17_flows_diffusion

You may use torch and math. The dlbook function each exercise is graded against is
switched off while your code runs.
"""

from __future__ import annotations

import math  # noqa: F401 (you will want it)
from collections.abc import Callable
from typing import Any

import torch  # noqa: F401 (you will want it)
from torch import Tensor

Conditioner = Callable[[Tensor], tuple[Tensor, Tensor]]


def affine_coupling(x: Tensor, mask: Tensor, conditioner: Conditioner) -> tuple[Tensor, Tensor]:
    """Exercise 17.1: one affine coupling layer; return (y, log_det)."""
    raise NotImplementedError("Exercise 17.1: affine_coupling")


def affine_coupling_inverse(
    y: Tensor, mask: Tensor, conditioner: Conditioner
) -> tuple[Tensor, Tensor]:
    """Exercise 17.2: the exact inverse of the layer; return (x, log_det of the inverse)."""
    raise NotImplementedError("Exercise 17.2: affine_coupling_inverse")


def q_sample(x0: Tensor, t: Tensor | int, alpha_bar: Tensor, noise: Tensor) -> Tensor:
    """Exercise 17.3: sample q(x_t | x_0) by the closed form, with the given noise."""
    raise NotImplementedError("Exercise 17.3: q_sample")


def q_posterior(x0: Tensor, x_t: Tensor, t: Tensor | int, schedule: Any) -> tuple[Tensor, Tensor]:
    """Exercise 17.4: mean (shape of x0) and variance (shape (N,)) of q(x_{t-1} | x_t, x_0)."""
    raise NotImplementedError("Exercise 17.4: q_posterior")


def ddim_step(
    x_t: Tensor,
    t: int,
    t_prev: int,
    eps: Tensor,
    alpha_bar: Tensor,
    *,
    eta: float = 0.0,
    noise: Tensor | None = None,
) -> Tensor:
    """Exercise 17.5: one DDIM step from step t to step t_prev (-1: the data)."""
    raise NotImplementedError("Exercise 17.5: ddim_step")


def few_step_timesteps(T: int, num_steps: int) -> list[int]:
    """Exercise 17.6 (open): the steps a few-step DDIM sampler should visit."""
    raise NotImplementedError("Exercise 17.6: few_step_timesteps")
