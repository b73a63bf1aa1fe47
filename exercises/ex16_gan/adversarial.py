"""Exercise set 16: generative adversarial networks (statements in README.md beside this file).

Replace each ``raise NotImplementedError(...)`` with your code, then grade your work:

    make grade EX=ex16_gan

You may use torch, math and torch.nn.functional. The dlbook function each exercise is
graded against is switched off while your code runs.
"""

from __future__ import annotations

import math  # noqa: F401 (you will want it)

import torch  # noqa: F401 (you will want it)
import torch.nn.functional as F  # noqa: F401 (you may want it)
from torch import Tensor

from dlbook.generative.metrics import ModeCoverage


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Exercise 16.1: the mean softplus(-a) over real logits plus the mean softplus(a')
    over generated ones, exact for logits of any size."""
    raise NotImplementedError("Exercise 16.1")


def generator_loss(fake_logits: Tensor, *, kind: str = "non_saturating") -> Tensor:
    """Exercise 16.2: the non-saturating or the saturating generator loss."""
    raise NotImplementedError("Exercise 16.2")


def optimal_discriminator(p: Tensor, q: Tensor) -> Tensor:
    """Exercise 16.3: p / (p + q) elementwise, 0.5 where both are zero."""
    raise NotImplementedError("Exercise 16.3")


def mode_coverage(
    samples: Tensor, centres: Tensor, std: float, *, num_std: float = 3.0
) -> ModeCoverage:
    """Exercise 16.4: modes captured and the fraction of high-quality samples."""
    raise NotImplementedError("Exercise 16.4")


def pack(x: Tensor, num_packed: int) -> Tensor:
    """Exercise 16.5: (N, D) -> (N / m, m D), groups of m consecutive rows."""
    raise NotImplementedError("Exercise 16.5")


def fit_and_sample(data: Tensor, *, seed: int) -> Tensor:
    """Exercise 16.6 (open): train a generator on the ring, return 2,500 samples."""
    raise NotImplementedError("Exercise 16.6")
