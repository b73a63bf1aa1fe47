"""Exercise set 20: robustness, interpretability and fairness (statements in README.md).

Replace each ``raise NotImplementedError(...)`` with your code, then grade your work:

    make grade EX=ex20_robustness

You may use torch, numpy and math. The dlbook function each exercise is graded against is
switched off while your code runs.
"""

from __future__ import annotations

import math  # noqa: F401 (you may want it)

import numpy as np  # noqa: F401 (you will want it)
import torch
from torch import Tensor, nn


def fgsm(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float,
    clamp: tuple[float, float] | None = (0.0, 1.0),
) -> Tensor:
    """Exercise 20.1: the fast gradient sign method."""
    raise NotImplementedError("Exercise 20.1: fgsm")


def project_linf(
    x_adv: Tensor, x: Tensor, eps: float, clamp: tuple[float, float] | None = (0.0, 1.0)
) -> Tensor:
    """Exercise 20.2: projection onto the L-infinity ball around x and the pixel box."""
    raise NotImplementedError("Exercise 20.2: project_linf")


def pgd(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float,
    alpha: float,
    steps: int,
    random_start: bool = True,
    clamp: tuple[float, float] | None = (0.0, 1.0),
    generator: torch.Generator | None = None,
) -> Tensor:
    """Exercise 20.2: projected gradient descent (ascent on the loss)."""
    raise NotImplementedError("Exercise 20.2: pgd")


def integrated_gradients(
    model: nn.Module,
    inputs: Tensor,
    baselines: Tensor | float | None = None,
    target: int | Tensor | None = None,
    n_steps: int = 50,
    method: str = "gausslegendre",
) -> Tensor:
    """Exercise 20.3: integrated gradients along the straight path from the baseline."""
    raise NotImplementedError("Exercise 20.3: integrated_gradients")


def equalized_odds_difference(
    y_true: object, y_pred: object, *, sensitive_features: object
) -> float:
    """Exercise 20.4: the larger of the between-group TPR gap and FPR gap."""
    raise NotImplementedError("Exercise 20.4: equalized_odds_difference")


def make_robust_classifier(seed: int) -> nn.Module:
    """Exercise 20.5 (open): an untrained network that adversarial training makes robust."""
    raise NotImplementedError("Exercise 20.5: make_robust_classifier")
