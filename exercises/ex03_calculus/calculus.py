"""Exercise set 3: calculus and optimisation (statements in README.md beside this file).

Replace each ``raise NotImplementedError(...)`` with your code, then grade your work:

    make grade EX=ex03_calculus

You may use torch and numpy. The dlbook function each exercise is graded against is
switched off while your code runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch  # noqa: F401 (you will want it)
from torch import Tensor


def numerical_gradient(f: Callable[[Tensor], Tensor], x: Tensor, eps: float = 1e-6) -> Tensor:
    """Exercise 3.1: central-difference gradient of the scalar function ``f`` at ``x``."""
    raise NotImplementedError("Exercise 3.1: numerical_gradient")


def gradient_descent(
    grad_fn: Callable[[Tensor], Tensor], x0: Tensor, lr: float, steps: int
) -> Tensor:
    """Exercise 3.2: gradient descent from ``x0``; return the trajectory, shape (T + 1, ...)."""
    raise NotImplementedError("Exercise 3.2: gradient_descent")


def newton(
    grad_fn: Callable[[Tensor], Tensor],
    hess_fn: Callable[[Tensor], Tensor],
    x0: Tensor,
    steps: int,
) -> Tensor:
    """Exercise 3.3: Newton's method from ``x0``; return the trajectory, shape (T + 1, n)."""
    raise NotImplementedError("Exercise 3.3: newton")


def mlp_jacobian(x: Tensor, weights: Sequence[Tensor], biases: Sequence[Tensor]) -> Tensor:
    """Exercise 3.4: Jacobian of a stack of tanh layers at ``x``, by the chain rule."""
    raise NotImplementedError("Exercise 3.4: mlp_jacobian")


def line_search_descent(
    f: Callable[[Tensor], Tensor],
    grad_fn: Callable[[Tensor], Tensor],
    x0: Tensor,
    tol: float,
) -> Tensor:
    """Exercise 3.5 (open): descend until ||grad f(x)|| <= tol * ||grad f(x0)||; return x."""
    raise NotImplementedError("Exercise 3.5: line_search_descent")
