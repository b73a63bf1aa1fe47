"""Grader for exercise set 6 (README.md beside this file). Do not edit."""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from typing import Any

import torch

from dlbook import logistic
from dlbook.grading import Case, check, check_raises

SUBMISSION = "classification.py"
REFERENCES = {
    "logsumexp": logistic.logsumexp,
    "softmax_regression_loss_grad": logistic.softmax_regression_loss_grad,
    "newton_step": logistic.newton_step,
}
# The statement (README.md) forbids these: unavailable while the submission runs.
FORBID = [
    "torch.logsumexp",
    "torch.Tensor.logsumexp",
    "torch.special.logsumexp",
    "torch.softmax",
    "torch.Tensor.softmax",
    "torch.special.softmax",
    "torch.log_softmax",
    "torch.Tensor.log_softmax",
    "torch.special.log_softmax",
    "torch.logcumsumexp",  # the last entry of a log-cumsum-exp is the log-sum-exp
    "torch.Tensor.logcumsumexp",
    "torch.logaddexp",
    "torch.Tensor.logaddexp",
    "torch.nn.functional",
    "torch.autograd.grad",
    "torch.autograd.backward",
    "torch.Tensor.backward",
    "torch.func",
]
# dlbook functions that would do the exercises' work (the README names them).
# "Solve the linear system rather than forming the inverse" (README.md): inverses are
# unavailable while the submission runs.
INVERSES = [
    *(f"torch.linalg.{f}" for f in ("inv", "inv_ex", "pinv")),
    *(f"torch.{f}" for f in ("inverse", "pinverse", "cholesky_inverse")),
    *(f"torch.Tensor.{f}" for f in ("inverse", "pinverse", "cholesky_inverse")),
]
SAME_WORK: list[Callable[..., Any]] = [
    logistic.logistic_gradient,
    logistic.logistic_hessian,
    logistic.logsumexp,
    logistic.softmax,
    logistic.softmax_cross_entropy,
]


def dtype_for(device: torch.device) -> torch.dtype:
    """float64 where the device has it (MPS does not)."""
    return torch.float32 if device.type == "mps" else torch.float64


# ---------------------------------------------------------------------- Exercise 6.1
def test_logsumexp_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    dt = dtype_for(device)

    def t(values: list[float] | list[list[float]]) -> torch.Tensor:
        return torch.tensor(values, dtype=dt, device=device)

    cases = [
        Case("three small numbers", (t([1.0, 2.0, 3.0]),)),
        Case("one number", (t([-4.0]),)),
        Case("logits of 1e4 (the naive formula overflows)", (t([1e4, 1e4, 0.0]),)),
        Case("logits of -1e4 (the naive formula gives -inf)", (t([-1e4, -1e4 - 1.0]),)),
        Case("a matrix, rows", (t([[1e4, -1e4], [0.0, 0.0], [3.0, -2.0]]),)),
        Case("a matrix, columns (dim=0)", (t([[1e4, -1e4], [0.0, 0.0]]), 0)),
        Case("a row of -inf", (t([[-math.inf, -math.inf], [0.0, -math.inf]]),)),
    ]
    check(
        submission.logsumexp,
        logistic.logsumexp,
        cases,
        forbid=FORBID,
        also_hidden=SAME_WORK,
        exercise="Exercise 6.1",
    )


def test_logsumexp_random_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(61)
    cases = []
    for i in range(12):
        ndim = 1 + i % 3
        shape = tuple(int(s) for s in torch.randint(1, 6, (ndim,), generator=g))
        scale = [1.0, 100.0, 1e4][i % 3]
        z = (scale * torch.randn(shape, generator=g, dtype=torch.float64)).to(
            device, dtype_for(device)
        )
        dim = int(torch.randint(-ndim, ndim, (1,), generator=g))
        cases.append(Case(f"random #{i}: shape {shape}, scale {scale:g}, dim={dim}", (z, dim)))
    check(
        submission.logsumexp,
        logistic.logsumexp,
        cases,
        forbid=FORBID,
        also_hidden=SAME_WORK,
        exercise="Exercise 6.1",
        rtol=1e-6,
    )


def test_logsumexp_rejects_bad_input(submission: types.ModuleType) -> None:
    bad_values = [
        Case("a 0-d tensor", (torch.tensor(1.0),)),
        Case("dim out of range", (torch.zeros(2, 3), 2)),
        Case("empty along dim", (torch.zeros(3, 0),)),
    ]
    check_raises(
        submission.logsumexp,
        logistic.logsumexp,
        bad_values,
        ValueError,
        forbid=FORBID,
        also_hidden=SAME_WORK,
        exercise="Exercise 6.1",
    )
    check_raises(
        submission.logsumexp,
        logistic.logsumexp,
        [Case("integer logits", (torch.tensor([1, 2, 3]),))],
        TypeError,
        forbid=FORBID,
        also_hidden=SAME_WORK,
        exercise="Exercise 6.1",
    )


# ---------------------------------------------------------------------- Exercise 6.2
def softmax_case(
    name: str, n: int, d: int, k: int, lam: float, seed: int, device: torch.device, scale: float
) -> Case:
    g = torch.Generator().manual_seed(seed)
    dt = dtype_for(device)
    W = (scale * torch.randn(k, d, generator=g, dtype=torch.float64)).to(device, dt)
    b = torch.randn(k, generator=g, dtype=torch.float64).to(device, dt)
    X = torch.randn(n, d, generator=g, dtype=torch.float64).to(device, dt)
    y = torch.randint(0, k, (n,), generator=g).to(device)
    return Case(name, (W, b, X, y, lam))


def test_softmax_loss_grad_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    dt = dtype_for(device)
    X = torch.tensor([[1.0], [-1.0]], dtype=dt, device=device)
    zeros_W, zeros_b = (
        torch.zeros(2, 1, dtype=dt, device=device),
        torch.zeros(2, dtype=dt, device=device),
    )
    cases = [
        Case(
            "zero weights, two classes", (zeros_W, zeros_b, X, torch.tensor([1, 0], device=device))
        ),
        Case(
            "zero weights with a penalty",
            (zeros_W, zeros_b, X, torch.tensor([0, 0], device=device), 0.5),
        ),
        softmax_case("N=5, D=3, K=4, no penalty", 5, 3, 4, 0.0, 1, device, 1.0),
        softmax_case("N=8, D=2, K=3, lam=0.1", 8, 2, 3, 0.1, 2, device, 1.0),
        softmax_case("huge logits (weights of 1e3)", 6, 4, 5, 0.0, 3, device, 1e3),
        softmax_case("one example", 1, 3, 2, 0.01, 4, device, 1.0),
    ]
    check(
        submission.softmax_regression_loss_grad,
        logistic.softmax_regression_loss_grad,
        cases,
        forbid=FORBID,
        also_hidden=SAME_WORK,
        exercise="Exercise 6.2",
        rtol=1e-6,
        atol=1e-8,
    )


def test_softmax_loss_grad_random_inputs(
    submission: types.ModuleType, device: torch.device
) -> None:
    g = torch.Generator().manual_seed(62)
    cases = []
    for i in range(10):
        n, d, k = (int(v) for v in torch.randint(1, 12, (3,), generator=g))
        k = max(k, 2)
        lam = [0.0, 1e-3, 0.3][i % 3]
        cases.append(
            softmax_case(f"random #{i}: N={n}, D={d}, K={k}", n, d, k, lam, 100 + i, device, 2.0)
        )
    check(
        submission.softmax_regression_loss_grad,
        logistic.softmax_regression_loss_grad,
        cases,
        forbid=FORBID,
        also_hidden=SAME_WORK,
        exercise="Exercise 6.2",
        rtol=1e-6,
        atol=1e-8,
    )


def test_softmax_loss_grad_rejects_bad_shapes(submission: types.ModuleType) -> None:
    f64 = torch.float64
    X, y = torch.zeros(4, 3, dtype=f64), torch.tensor([0, 1, 2, 0])
    W, b = torch.zeros(3, 3, dtype=f64), torch.zeros(3, dtype=f64)
    cases = [
        Case("W has the wrong number of columns", (torch.zeros(3, 2, dtype=f64), b, X, y)),
        Case("b has the wrong length", (W, torch.zeros(4, dtype=f64), X, y)),
        Case("y has the wrong length", (W, b, X, y[:3])),
        Case("a label equal to K", (W, b, X, torch.tensor([0, 1, 3, 0]))),
        Case("a negative label", (W, b, X, torch.tensor([0, -1, 2, 0]))),
    ]
    check_raises(
        submission.softmax_regression_loss_grad,
        logistic.softmax_regression_loss_grad,
        cases,
        ValueError,
        forbid=FORBID,
        also_hidden=SAME_WORK,
        exercise="Exercise 6.2",
    )


# ---------------------------------------------------------------------- Exercise 6.3
def newton_case(
    name: str, n: int, d: int, lam: float, seed: int, device: torch.device, at_zero: bool = False
) -> Case:
    g = torch.Generator().manual_seed(seed)
    dt = dtype_for(device)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = (torch.rand(n, generator=g, dtype=torch.float64) < torch.sigmoid(X.sum(dim=1))).long()
    theta = torch.zeros(d + 1, dtype=torch.float64)
    if not at_zero:
        theta = 0.5 * torch.randn(d + 1, generator=g, dtype=torch.float64)
    return Case(name, (theta.to(device, dt), X.to(device, dt), y.to(device), lam))


def test_newton_step_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    dt = dtype_for(device)
    X = torch.tensor([[1.0], [-1.0]], dtype=dt, device=device)
    cases = [
        Case(
            "two points, from zero, lam=1",
            (torch.zeros(2, dtype=dt, device=device), X, torch.tensor([1, 0], device=device), 1.0),
        ),
        newton_case("N=20, D=2, from zero, lam=0.1", 20, 2, 0.1, 5, device, at_zero=True),
        newton_case("N=30, D=3, lam=0.01", 30, 3, 0.01, 6, device),
        newton_case("N=50, D=4, no penalty", 50, 4, 0.0, 7, device),
    ]
    check(
        submission.newton_step,
        logistic.newton_step,
        cases,
        forbid=[*FORBID, *INVERSES],
        also_hidden=SAME_WORK,
        exercise="Exercise 6.3",
        rtol=1e-6,
        atol=1e-8,
    )


def test_newton_step_random_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(63)
    cases = []
    for i in range(10):
        d = int(torch.randint(1, 6, (1,), generator=g))
        n = 10 * (d + 1) + int(torch.randint(0, 40, (1,), generator=g))
        lam = [1e-3, 0.1, 1.0][i % 3]
        cases.append(
            newton_case(f"random #{i}: N={n}, D={d}, lam={lam:g}", n, d, lam, 200 + i, device)
        )
    check(
        submission.newton_step,
        logistic.newton_step,
        cases,
        forbid=[*FORBID, *INVERSES],
        also_hidden=SAME_WORK,
        exercise="Exercise 6.3",
        rtol=1e-6,
        atol=1e-8,
    )


def test_newton_step_rejects_bad_input(submission: types.ModuleType) -> None:
    f64 = torch.float64
    X, y = torch.randn(6, 2, dtype=f64), torch.tensor([0, 1, 0, 1, 1, 0])
    theta = torch.zeros(3, dtype=f64)
    cases = [
        Case("theta without the bias", (torch.zeros(2, dtype=f64), X, y, 0.1)),
        Case("X is a vector", (theta, X[:, 0], y, 0.1)),
        Case("y has the wrong length", (theta, X, y[:4], 0.1)),
        Case("a label of 2", (theta, X, torch.tensor([0, 1, 2, 1, 1, 0]), 0.1)),
        Case("a negative lam", (theta, X, y, -1.0)),
    ]
    check_raises(
        submission.newton_step,
        logistic.newton_step,
        cases,
        ValueError,
        forbid=[*FORBID, *INVERSES],
        also_hidden=SAME_WORK,
        exercise="Exercise 6.3",
    )
