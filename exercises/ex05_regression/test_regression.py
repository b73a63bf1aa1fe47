"""Grader for exercise set 5 (README.md beside this file). Do not edit."""

from __future__ import annotations

import types
from typing import Any

import torch

from dlbook import linalg, linear
from dlbook.grading import Case, check, check_raises

SUBMISSION = "regression.py"
REFERENCES = {
    "gaussian_features": linear.gaussian_features,
    "fit_ridge": linear.fit_ridge,
    "soft_threshold": linear.soft_threshold,
    "lasso_ista": linear.lasso_ista,
}


def ridge_solves(submission: types.ModuleType) -> list[Any]:
    """Exercise 2.4's ridge solve would do 5.2's work: switched off like the reference (but
    not for the copies of the references, whose fit_ridge calls it, in CI's proof)."""
    return [] if submission.__name__ == "reference_solutions" else [linalg.ridge]


def float_type(device: torch.device) -> torch.dtype:
    """float64 everywhere except Apple's MPS, which has no float64."""
    return torch.float32 if device.type == "mps" else torch.float64


def regression_data(
    n: int, d: int, m: int | None, seed: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """A noisy linear model with an offset, on ``device``."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64) + torch.randn(d, generator=g)
    shape = (d,) if m is None else (d, m)
    w = torch.randn(shape, generator=g, dtype=torch.float64)
    y = X @ w + 2.0 + 0.3 * torch.randn(X.shape[0], *shape[1:], generator=g)
    dtype = float_type(device)
    return X.to(device, dtype), y.to(device, dtype)


# ---------------------------------------------------------------------- Exercise 5.1
def test_gaussian_features_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    dt = float_type(device)

    def t(values: list[float] | list[list[float]]) -> torch.Tensor:
        return torch.tensor(values, dtype=dt, device=device)

    cases = [
        Case("a point on a centre", (t([0.0]), t([0.0]), 1.0)),
        Case("scalars, two centres", (t([0.0, 1.0, 2.5]), t([0.0, 2.0]), 1.0)),
        Case("a narrow width", (t([-1.0, 0.0, 0.1]), t([0.0]), 0.1)),
        Case("2-D inputs", (t([[0.0, 0.0], [1.0, -1.0]]), t([[1.0, 0.0], [0.0, 2.0]]), 0.5)),
    ]
    check(
        submission.gaussian_features,
        linear.gaussian_features,
        cases,
        exercise="Exercise 5.1",
        rtol=1e-6,
        atol=1e-9,
    )


def test_gaussian_features_random_inputs(
    submission: types.ModuleType, device: torch.device
) -> None:
    g = torch.Generator().manual_seed(51)
    dt = float_type(device)
    cases = []
    for i in range(10):
        n, m = (int(v) for v in torch.randint(1, 30, (2,), generator=g))
        width = float(torch.rand(1, generator=g)) + 0.1
        shape_x: tuple[int, ...] = (n,) if i % 2 == 0 else (n, 1 + i % 4)
        shape_c: tuple[int, ...] = (m,) if i % 2 == 0 else (m, 1 + i % 4)
        x = torch.randn(shape_x, generator=g).to(device, dt)
        c = torch.randn(shape_c, generator=g).to(device, dt)
        cases.append(Case(f"random #{i}: x {shape_x}, centres {shape_c}", (x, c, width)))
    check(
        submission.gaussian_features,
        linear.gaussian_features,
        cases,
        exercise="Exercise 5.1",
        rtol=1e-6,
        atol=1e-9,
    )


def test_gaussian_features_rejects_bad_input(submission: types.ModuleType) -> None:
    x = torch.zeros(3, dtype=torch.float64)
    cases = [
        Case("width zero", (x, x, 0.0)),
        Case("negative width", (x, x, -1.0)),
        Case("1-D x with 2-D centres", (x, torch.zeros(2, 1, dtype=torch.float64), 1.0)),
        Case(
            "different d",
            (torch.zeros(3, 2, dtype=torch.float64), torch.zeros(4, 3, dtype=torch.float64), 1.0),
        ),
    ]
    check_raises(
        submission.gaussian_features,
        linear.gaussian_features,
        cases,
        ValueError,
        exercise="Exercise 5.1",
    )


# ---------------------------------------------------------------------- Exercise 5.2
def test_fit_ridge_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    dt = float_type(device)
    X1 = torch.tensor([[1.0], [-1.0]], dtype=dt, device=device)
    y1 = torch.tensor([2.0, -2.0], dtype=dt, device=device)
    cases = [
        Case("two points, no intercept", (X1, y1, 2.0), {"fit_intercept": False}),
        Case("two points, an offset to remove", (X1, y1 + 5.0, 2.0)),
        Case("a line, tiny lambda", (*regression_data(20, 1, None, 1, device), 1e-6)),
        Case("wide data (D > N)", (*regression_data(5, 12, None, 2, device), 0.5)),
    ]
    check(
        submission.fit_ridge,
        linear.fit_ridge,
        cases,
        exercise="Exercise 5.2",
        also_hidden=ridge_solves(submission),
        rtol=1e-6,
        atol=1e-8,
    )


def test_fit_ridge_random_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(52)
    cases = []
    for i in range(10):
        n = int(torch.randint(10, 60, (1,), generator=g))
        d = int(torch.randint(1, 8, (1,), generator=g))
        m = None if i % 3 else int(torch.randint(2, 4, (1,), generator=g))
        lam = float(10 ** (4 * torch.rand(1, generator=g) - 2))
        X, y = regression_data(n, d, m, 100 + i, device)
        intercept = i % 4 != 1
        cases.append(
            Case(
                f"random #{i}: N={n}, D={d}, outputs={m or 1}, lam={lam:.3g}, "
                f"fit_intercept={intercept}",
                (X, y, lam),
                {"fit_intercept": intercept},
            )
        )
    check(
        submission.fit_ridge,
        linear.fit_ridge,
        cases,
        exercise="Exercise 5.2",
        also_hidden=ridge_solves(submission),
        rtol=1e-6,
        atol=1e-8,
    )


def test_fit_ridge_rejects_bad_input(submission: types.ModuleType) -> None:
    X, y = torch.randn(6, 2, dtype=torch.float64), torch.randn(6, dtype=torch.float64)
    cases = [
        Case("negative lambda", (X, y, -1.0)),
        Case("y with too few rows", (X, y[:5], 1.0)),
    ]
    check_raises(
        submission.fit_ridge,
        linear.fit_ridge,
        cases,
        ValueError,
        exercise="Exercise 5.2",
        also_hidden=ridge_solves(submission),
    )


# ---------------------------------------------------------------------- Exercise 5.3
def test_soft_threshold_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    dt = float_type(device)
    v = torch.tensor([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0], dtype=dt, device=device)
    cases = [
        Case("t = 1 across the corner", (v, 1.0)),
        Case("t = 0 is the identity", (v, 0.0)),
        Case("a huge threshold zeroes everything", (v, 100.0)),
        Case("a 2-D tensor", (v[:6].reshape(2, 3), 0.25)),
    ]
    check(submission.soft_threshold, linear.soft_threshold, cases, exercise="Exercise 5.3")


def test_soft_threshold_random_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(53)
    cases = []
    for i in range(10):
        shape = tuple(int(s) for s in torch.randint(1, 6, (1 + i % 3,), generator=g))
        x = (3 * torch.randn(shape, generator=g)).to(device, float_type(device))
        t = float(2 * torch.rand(1, generator=g))
        cases.append(Case(f"random #{i}: shape {shape}, t={t:.3f}", (x, t)))
    check(submission.soft_threshold, linear.soft_threshold, cases, exercise="Exercise 5.3")


def test_soft_threshold_rejects_a_negative_threshold(submission: types.ModuleType) -> None:
    check_raises(
        submission.soft_threshold,
        linear.soft_threshold,
        [Case("t = -0.1", (torch.ones(3), -0.1))],
        ValueError,
        exercise="Exercise 5.3",
    )


# ---------------------------------------------------------------------- Exercise 5.4
def test_lasso_ista_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    dt = float_type(device)
    X1 = torch.tensor([[1.0], [-1.0]], dtype=dt, device=device)
    y1 = torch.tensor([3.0, -3.0], dtype=dt, device=device)
    X, y = regression_data(30, 5, None, 3, device)
    cases = [
        Case("one feature, one step", (X1, y1, 1.0), {"steps": 1}),
        Case("one step on five features", (X, y, 0.2), {"steps": 1}),
        Case("lambda = 0 is gradient descent", (X, y, 0.0), {"steps": 50}),
        Case("a strong penalty", (X, y, 5.0), {"steps": 20}),
        Case("a given step size", (X, y, 0.1), {"steps": 30, "lr": 0.05}),
        Case("no intercept", (X, y, 0.1), {"steps": 30, "fit_intercept": False}),
        Case(
            "constant features: L = 0, so the step size is 1",
            (torch.ones(6, 2, dtype=dt, device=device) * 3.0, y[:6], 0.1),
            {"steps": 5},
        ),
    ]
    check(
        submission.lasso_ista,
        linear.lasso_ista,
        cases,
        exercise="Exercise 5.4",
        rtol=1e-6,
        atol=1e-8,
    )


def test_lasso_ista_random_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(54)
    cases = []
    for i in range(8):
        n = int(torch.randint(5, 50, (1,), generator=g))
        d = int(torch.randint(1, 12, (1,), generator=g))
        lam = float(torch.rand(1, generator=g))
        X, y = regression_data(n, d, None, 200 + i, device)
        cases.append(Case(f"random #{i}: N={n}, D={d}, lam={lam:.3f}", (X, y, lam), {"steps": 100}))
    check(
        submission.lasso_ista,
        linear.lasso_ista,
        cases,
        exercise="Exercise 5.4",
        rtol=1e-6,
        atol=1e-8,
    )


def test_lasso_ista_rejects_bad_input(submission: types.ModuleType) -> None:
    X, y = torch.randn(6, 2, dtype=torch.float64), torch.randn(6, dtype=torch.float64)
    cases = [
        Case("negative lambda", (X, y, -0.5)),
        Case("zero steps", (X, y, 0.5), {"steps": 0}),
    ]
    check_raises(
        submission.lasso_ista, linear.lasso_ista, cases, ValueError, exercise="Exercise 5.4"
    )
