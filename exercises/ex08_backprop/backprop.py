"""Exercise set 8: backpropagation by hand (statements in README.md beside this file).

Replace each ``raise NotImplementedError(...)`` with your code, then grade your work:

    make grade EX=ex08_backprop

You may use torch (but not torch.autograd) and numpy. The dlbook function each exercise
is graded against is switched off while your code runs.
"""

from __future__ import annotations

import math  # noqa: F401 (you will want it)
from collections.abc import Sequence

import torch
from torch import Tensor

from dlbook.autograd import Variable
from dlbook.nn import MLP


def sigmoid_prime(x: Tensor) -> Tensor:
    """Exercise 8.1: the derivative sigma(x) (1 - sigma(x)) of the sigmoid, entrywise."""
    raise NotImplementedError("Exercise 8.1: sigmoid_prime")


def tanh_prime(x: Tensor) -> Tensor:
    """Exercise 8.1: the derivative 1 - tanh(x)^2 of tanh, entrywise."""
    raise NotImplementedError("Exercise 8.1: tanh_prime")


def gelu_prime(x: Tensor) -> Tensor:
    """Exercise 8.1: the derivative Phi(x) + x phi(x) of the exact GELU, entrywise."""
    raise NotImplementedError("Exercise 8.1: gelu_prime")


def linear_backward(X: Tensor, W: Tensor, grad_Z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Exercise 8.2: (grad_X, grad_W, grad_b) for Z = X W^T + b, given grad_Z = dL/dZ."""
    raise NotImplementedError("Exercise 8.2: linear_backward")


def softmax_cross_entropy_backward(logits: Tensor, targets: Tensor) -> Tensor:
    """Exercise 8.3: dL/dZ = (softmax(Z) - Y) / N for the mean cross-entropy L."""
    raise NotImplementedError("Exercise 8.3: softmax_cross_entropy_backward")


def unbroadcast(grad: Tensor, shape: Sequence[int]) -> Tensor:
    """Exercise 8.4: sum ``grad`` down to ``shape`` (the backward pass of broadcasting)."""
    raise NotImplementedError("Exercise 8.4: unbroadcast")


def gradients(
    output: Variable, inputs: Sequence[Variable], grad: Tensor | None = None
) -> list[Tensor]:
    """Exercise 8.5: reverse-mode gradients of ``output`` for each of ``inputs``."""
    raise NotImplementedError("Exercise 8.5: gradients")


def init_for_depth(net: MLP, generator: torch.Generator) -> None:
    """Exercise 8.6 (open): set ``net``'s weights so signals cross all its layers both ways."""
    raise NotImplementedError("Exercise 8.6: init_for_depth")
