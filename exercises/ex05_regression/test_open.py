"""Grader for the open Exercise 5.5 (README.md beside this file). Do not edit.

The answer is not compared with a reference value: the grader measures a property. It
computes, independently of your code and of dlbook (with scikit-learn), the 5-fold
cross-validation error of ridge for every candidate lambda with its standard error, and
requires the lambda you choose to lie in the one-standard-error band around the minimum,
on eight data sets whose best lambda ranges over six orders of magnitude.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import torch
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold, cross_val_score

from dlbook import linear
from dlbook.grading import with_references_hidden

SUBMISSION = "regression.py"
REFERENCES = {"choose_ridge_lambda": linear.choose_ridge_lambda}
LAMS = np.logspace(-3, 4, 15).tolist()  # the candidates, 1e-3 to 1e4
# (seed, size of the true weights): small weights want a large lambda, and vice versa
DATASETS = [(0, 0.05), (1, 0.1), (2, 0.3), (3, 1.0), (4, 3.0), (5, 0.05), (6, 0.3), (7, 3.0)]


# Off while the student's code runs, under any name it was imported as: the book's
# cross-validation, and scikit-learn's ridge and cross-validation scorers (the grader's own
# computation; the statement allows dlbook.linear.fit_ridge, torch and numpy).
HIDDEN: list[Callable[..., Any]] = [linear.cross_validate_ridge, linear.choose_ridge_lambda]
FORBID = [
    "sklearn.linear_model",
    *(
        f"sklearn.model_selection.{name}"
        for name in ("cross_val_score", "cross_validate", "cross_val_predict", "GridSearchCV")
    ),
]


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # hundreds of tiny solves: more threads only contend
    yield
    torch.set_num_threads(threads)


def dataset(seed: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """50 examples, 30 features on different scales and offsets, noise of variance 1."""
    g = torch.Generator().manual_seed(seed)
    n, d = 50, 30
    X = torch.randn(n, d, generator=g, dtype=torch.float64) * (
        0.5 + torch.rand(d, generator=g, dtype=torch.float64)
    ) + torch.randn(d, generator=g, dtype=torch.float64)
    w = scale * torch.randn(d, generator=g, dtype=torch.float64)
    y = X @ w + 1.0 + torch.randn(n, generator=g, dtype=torch.float64)
    return X.numpy(), y.numpy()


def one_se_band(X: np.ndarray, y: np.ndarray) -> list[float]:
    """The lambdas whose 5-fold CV error is within one standard error of the smallest."""
    errors = np.array(
        [
            -cross_val_score(Ridge(alpha=lam), X, y, cv=KFold(5), scoring="neg_mean_squared_error")
            for lam in LAMS
        ]
    )  # (L, 5)
    mean, se = errors.mean(axis=1), errors.std(axis=1, ddof=1) / np.sqrt(5)
    best = int(np.argmin(mean))
    return [lam for lam, m in zip(LAMS, mean, strict=True) if m <= mean[best] + se[best]]


def _call(fn: Callable[..., Any], *args: Any) -> Any:
    return with_references_hidden(fn, HIDDEN, exercise="Exercise 5.5", forbid=FORBID)(*args)


# ---------------------------------------------------------------------- Exercise 5.5
@pytest.mark.points(3)
def test_chosen_lambda_lies_in_the_one_standard_error_band(
    submission: types.ModuleType, device: torch.device
) -> None:
    dtype = torch.float32 if device.type == "mps" else torch.float64
    misses = []
    for seed, scale in DATASETS:
        X, y = dataset(seed, scale)
        Xt, yt = (
            torch.tensor(X, dtype=dtype, device=device),
            torch.tensor(y, dtype=dtype, device=device),
        )
        got = _call(submission.choose_ridge_lambda, Xt.clone(), yt.clone(), list(LAMS))
        assert isinstance(got, float), (
            f"Exercise 5.5: return a Python float (one of `lams`), got {type(got).__name__}"
        )
        assert any(abs(got - lam) <= 1e-9 * lam for lam in LAMS), (
            f"Exercise 5.5: the chosen lambda {got!r} is not one of the candidates `lams`"
        )
        band = one_se_band(X, y)
        if not any(abs(got - lam) <= 1e-9 * lam for lam in band):
            misses.append(
                f"data set {seed}: chose {got:.3g}, but the 5-fold CV error is within one "
                f"standard error of its minimum only for lambda in {[f'{b:.3g}' for b in band]}"
            )
    assert not misses, (
        "Exercise 5.5: "
        + "; ".join(misses)
        + (". Is each fold's error measured on data the fit never saw (centring included)?")
    )
