"""Exercise set 21: deep reinforcement learning (statements in README.md beside this file).

Replace each ``raise NotImplementedError(...)`` with your code, then grade your work:

    make grade EX=ex21_rl

You may use torch, numpy and math, and for Exercise 21.5 also ``dlbook.rl.CartPole``,
``dlbook.rl.discounted_returns`` and ``dlbook.rl.reinforce_loss``. The dlbook function each
exercise is graded against is switched off while your code runs.
"""

from __future__ import annotations

import math  # noqa: F401 (you may want it)

import torch  # noqa: F401 (you will want it)
from torch import Tensor, nn


def discounted_returns(rewards: Tensor, gamma: float, *, mask: Tensor | None = None) -> Tensor:
    """Exercise 21.1: returns-to-go G_t = r_t + gamma G_{t+1} along the last dimension."""
    raise NotImplementedError("Exercise 21.1: discounted_returns")


def value_iteration(
    P: Tensor, R: Tensor, gamma: float, *, tol: float = 1e-12, max_iter: int = 100_000
) -> tuple[Tensor, Tensor, int]:
    """Exercise 21.2: optimal values, a greedy optimal policy and the number of sweeps."""
    raise NotImplementedError("Exercise 21.2: value_iteration")


def q_learning_update(
    q: Tensor,
    state: int,
    action: int,
    reward: float,
    next_state: int,
    terminated: bool,
    *,
    alpha: float,
    gamma: float,
) -> Tensor:
    """Exercise 21.3: one tabular Q-learning step; return a new table."""
    raise NotImplementedError("Exercise 21.3: q_learning_update")


def reinforce_loss(
    log_probs: Tensor,
    returns: Tensor,
    baseline: Tensor | None = None,
    mask: Tensor | None = None,
) -> Tensor:
    """Exercise 21.4: the REINFORCE surrogate loss for N episodes of up to T steps."""
    raise NotImplementedError("Exercise 21.4: reinforce_loss")


def solve_cartpole(seed: int = 0) -> nn.Module:
    """Exercise 21.5 (open): train a CartPole-v1 policy that averages at least 475."""
    raise NotImplementedError("Exercise 21.5: solve_cartpole")
