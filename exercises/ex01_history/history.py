"""Exercise set 1: executable history (statements in README.md beside this file).

Replace each ``raise NotImplementedError(...)`` with your code, then grade your work:

    make grade EX=ex01_history

You may use torch. The dlbook function each exercise is graded against is switched off
while your code runs.
"""

from __future__ import annotations

import torch  # noqa: F401 (you will want it)
from torch import Tensor


def threshold_network(x: Tensor, layers: list[tuple[Tensor, Tensor]]) -> Tensor:
    """Exercise 1.1: outputs of the last layer of threshold units, shape (N, d_out)."""
    raise NotImplementedError("Exercise 1.1: threshold_network")


def perceptron_epoch(
    w: Tensor, b: Tensor, X: Tensor, y: Tensor, lr: float = 1.0
) -> tuple[Tensor, Tensor, int]:
    """Exercise 1.2: one in-order pass of the perceptron rule; returns (w, b, mistakes)."""
    raise NotImplementedError("Exercise 1.2: perceptron_epoch")


def parity_deep(n: int) -> list[tuple[Tensor, Tensor]]:
    """Exercise 1.3: the layers (W, theta) of the balanced XOR tree for n-bit parity."""
    raise NotImplementedError("Exercise 1.3: parity_deep")


def margin_perceptron(
    X: Tensor, y: Tensor, max_epochs: int = 1000
) -> tuple[Tensor, Tensor, bool]:
    """Exercise 1.4 (open): a separator with a wide margin, or a report that none was found."""
    raise NotImplementedError("not implemented yet")
