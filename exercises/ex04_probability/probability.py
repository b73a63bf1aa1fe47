"""Exercise set 4: probability and information theory (statements in README.md beside
this file).

Replace each ``raise NotImplementedError(...)`` with your code, then grade your work:

    make grade EX=ex04_probability

You may use torch and numpy (not torch.distributions or scipy). The dlbook function each
exercise is graded against is switched off while your code runs.
"""

from __future__ import annotations

import math  # noqa: F401 (you will want it)

import torch
from torch import Tensor


def kl_divergence(p: Tensor, q: Tensor, dim: int = -1) -> Tensor:
    """Exercise 4.1: KL(p || q) in nats along ``dim``, with 0 log 0 = 0 and +inf where
    q = 0 < p."""
    raise NotImplementedError("Exercise 4.1: kl_divergence")


def gaussian_log_pdf(x: Tensor, mean: Tensor, cov: Tensor) -> Tensor:
    """Exercise 4.2: log N(x; mean, cov) for each row of ``x``, through a Cholesky factor."""
    raise NotImplementedError("Exercise 4.2: gaussian_log_pdf")


def mutual_information(joint: Tensor) -> Tensor:
    """Exercise 4.3: I(X; Y) in nats of the 2-D joint probability table ``joint``."""
    raise NotImplementedError("Exercise 4.3: mutual_information")


def gmm_log_pdf(x: Tensor, weights: Tensor, means: Tensor, covs: Tensor) -> Tensor:
    """Exercise 4.4: log-density of a Gaussian mixture at each row of ``x``, via logsumexp."""
    raise NotImplementedError("Exercise 4.4: gmm_log_pdf")


def tail_probability(threshold: float, n: int, generator: torch.Generator) -> Tensor:
    """Exercise 4.5 (open): estimate P(Z > threshold), Z ~ N(0, 1), from n samples."""
    raise NotImplementedError("Exercise 4.5: tail_probability")
