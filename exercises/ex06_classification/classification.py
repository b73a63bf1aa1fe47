"""Exercise set 6: classification (statements in README.md beside this file).

Replace each ``raise NotImplementedError(...)`` with your code, then grade your work:

    make grade EX=ex06_classification

You may use torch and numpy, but not ``torch.logsumexp``, ``torch.softmax``,
``torch.log_softmax``, ``torch.nn.functional`` or ``torch.autograd``: the point is to
write the maths yourself. The dlbook function each exercise is graded against is switched
off while your code runs.
"""

from __future__ import annotations

import torch  # noqa: F401 (you will want it)
from torch import Tensor


def logsumexp(z: Tensor, dim: int = -1) -> Tensor:
    """Exercise 6.1: log(sum(exp(z))) along ``dim``, without overflow; ``dim`` is removed."""
    raise NotImplementedError("Exercise 6.1: logsumexp")


def softmax_regression_loss_grad(
    W: Tensor, b: Tensor, X: Tensor, y: Tensor, lam: float = 0.0
) -> tuple[Tensor, Tensor, Tensor]:
    """Exercise 6.2: the regularised softmax cross-entropy and its gradients (loss, dW, db)."""
    raise NotImplementedError("Exercise 6.2: softmax_regression_loss_grad")


def newton_step(theta: Tensor, X: Tensor, y: Tensor, lam: float = 0.0) -> Tensor:
    """Exercise 6.3: one Newton (IRLS) step for L2-regularised logistic regression."""
    raise NotImplementedError("Exercise 6.3: newton_step")


def temperature_scale(val_logits: Tensor, val_labels: Tensor, logits: Tensor) -> Tensor:
    """Exercise 6.4 (open): calibrated probabilities for ``logits``, shape (N, K)."""
    raise NotImplementedError("Exercise 6.4: temperature_scale")
