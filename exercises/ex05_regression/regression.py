"""Exercise set 5: regression (statements in README.md beside this file).

Replace each ``raise NotImplementedError(...)`` with your code, then grade your work:

    make grade EX=ex05_regression

You may use torch and numpy. The dlbook function each exercise is graded against is
switched off while your code runs.
"""

from __future__ import annotations

import torch  # noqa: F401 (you will want it)
from torch import Tensor


def gaussian_features(x: Tensor, centres: Tensor, width: float) -> Tensor:
    """Exercise 5.1: exp(-||x_i - m_j||^2 / (2 width^2)), shape (N, M)."""
    raise NotImplementedError("Exercise 5.1: gaussian_features")


def fit_ridge(
    X: Tensor, y: Tensor, lam: float, fit_intercept: bool = True
) -> tuple[Tensor, Tensor]:
    """Exercise 5.2: (weight, bias) minimising ||y - Xw - b||^2 + lam ||w||^2."""
    raise NotImplementedError("Exercise 5.2: fit_ridge")


def soft_threshold(x: Tensor, t: float) -> Tensor:
    """Exercise 5.3: sign(x) * max(|x| - t, 0), entrywise."""
    raise NotImplementedError("Exercise 5.3: soft_threshold")


def lasso_ista(
    X: Tensor,
    y: Tensor,
    lam: float,
    *,
    steps: int = 1000,
    lr: float | None = None,
    fit_intercept: bool = True,
) -> tuple[tuple[Tensor, Tensor], Tensor]:
    """Exercise 5.4: ((weight, bias), objective per step) of ISTA for the lasso."""
    raise NotImplementedError("Exercise 5.4: lasso_ista")


def choose_ridge_lambda(X: Tensor, y: Tensor, lams: list[float]) -> float:
    """Exercise 5.5 (open): the lambda in lams that 5-fold cross-validation chooses."""
    raise NotImplementedError("Exercise 5.5: choose_ridge_lambda")
