"""Exercise set 15: variational autoencoders (statements in README.md beside this file).

Replace each ``raise NotImplementedError(...)`` with your code, then grade your work:

    make grade EX=ex15_vae

You may use torch and math. The dlbook function each exercise is graded against (and the
dlbook functions that would do its work) are switched off while your code runs.
"""

from __future__ import annotations

import math  # noqa: F401 (you will want it)
from collections.abc import Callable

import torch
from torch import Tensor


def gaussian_kl_diagonal(
    mu: Tensor,
    log_var: Tensor,
    mu_p: Tensor | None = None,
    log_var_p: Tensor | None = None,
    *,
    reduce: bool = True,
) -> Tensor:
    """Exercise 15.1: KL(q || p) of diagonal Gaussians; p is N(0, I) by default."""
    raise NotImplementedError("Exercise 15.1: gaussian_kl_diagonal")


def reparameterize(
    mu: Tensor, log_var: Tensor, *, generator: torch.Generator, num_samples: int | None = None
) -> Tensor:
    """Exercise 15.2: z = mu + exp(log_var / 2) * eps with eps drawn from ``generator``."""
    raise NotImplementedError("Exercise 15.2: reparameterize")


def bernoulli_elbo(x: Tensor, logits: Tensor, mu: Tensor, log_var: Tensor) -> Tensor:
    """Exercise 15.3: the ELBO estimate of each example, shape (N,), for a Bernoulli decoder."""
    raise NotImplementedError("Exercise 15.3: bernoulli_elbo")


def iwae_bound_from_samples(
    log_likelihood: Tensor, z: Tensor, mu: Tensor, log_var: Tensor
) -> Tensor:
    """Exercise 15.4: the importance-weighted bound L_k of each example, shape (N,)."""
    raise NotImplementedError("Exercise 15.4: iwae_bound_from_samples")


def score_gradient_with_baseline(
    f: Callable[[Tensor], Tensor],
    mu: Tensor,
    log_var: Tensor,
    *,
    num_samples: int,
    generator: torch.Generator,
) -> tuple[Tensor, Tensor]:
    """Exercise 15.5 (open): an unbiased, low-variance estimate of the gradient of E_q[f(z)]."""
    raise NotImplementedError("Exercise 15.5: score_gradient_with_baseline")
