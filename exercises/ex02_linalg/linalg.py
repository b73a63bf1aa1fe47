"""Exercise set 2: linear algebra (statements in README.md beside this file).

Replace each ``raise NotImplementedError(...)`` with your code, then grade your work:

    make grade EX=ex02_linalg

You may use torch and numpy. The dlbook function each exercise is graded against is
switched off while your code runs.
"""

from __future__ import annotations

import math  # noqa: F401 (you will want it)

import torch  # noqa: F401 (you will want it)
from torch import Tensor


def lp_norm(x: Tensor, p: float) -> Tensor:
    """Exercise 2.1: the L^p norm (p > 0), quasi-norm (p < 1) or L^0 count of the last axis."""
    raise NotImplementedError("Exercise 2.1: lp_norm")


def convolution_matrix(kernel: Tensor, n: int, mode: str = "full") -> Tensor:
    """Exercise 2.2: the Toeplitz matrix T with T @ x == numpy.convolve(x, kernel, mode)."""
    raise NotImplementedError("Exercise 2.2: convolution_matrix")


def pca(X: Tensor, k: int) -> tuple[Tensor, Tensor, Tensor]:
    """Exercise 2.3: (mean (d,), components (k, d), explained_variance (k,)) by the SVD."""
    raise NotImplementedError("Exercise 2.3: pca")


def ridge(A: Tensor, b: Tensor, lam: float) -> Tensor:
    """Exercise 2.4: argmin ||A x - b||^2 + lam ||x||^2, shape (d,) or (d, m)."""
    raise NotImplementedError("Exercise 2.4: ridge")


def choose_components(X: Tensor, bound: float) -> int:
    """Exercise 2.5 (open): the fewest PCA components for held-out error <= bound."""
    raise NotImplementedError("not implemented yet")
