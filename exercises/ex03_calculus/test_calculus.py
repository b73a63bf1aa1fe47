"""Grader for exercise set 3 (README.md beside this file). Do not edit."""

from __future__ import annotations

import itertools
import math
import types
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from dlbook import calculus
from dlbook.grading import Case, check, check_raises

SUBMISSION = "calculus.py"
REFERENCES = {
    "numerical_gradient": calculus.numerical_gradient,
    "gradient_descent": calculus.gradient_descent,
    "newton": calculus.newton,
    "mlp_jacobian": calculus.mlp_jacobian,
}
F64 = torch.float64
# Exercises 3.1 and 3.4 are derivatives without autograd (README.md): switched off while the
# submission runs, with the dlbook functions that would do the same work.
FORBID = [
    "torch.autograd.grad",
    "torch.autograd.backward",
    "torch.Tensor.backward",
    "torch.func",
    "torch.autograd.functional",
]
SAME_WORK: list[Callable[..., Any]] = [
    calculus.numerical_jacobian,
    calculus.numerical_hessian,
    calculus.gradient_check,
]
# "Solve the linear system rather than forming the inverse" (README.md): inverses are
# unavailable while the submission runs.
INVERSES = [
    *(f"torch.linalg.{f}" for f in ("inv", "inv_ex", "pinv")),
    *(f"torch.{f}" for f in ("inverse", "pinverse", "cholesky_inverse")),
    *(f"torch.Tensor.{f}" for f in ("inverse", "pinverse", "cholesky_inverse")),
]


def rand(*shape: int, g: torch.Generator, device: torch.device) -> Tensor:
    return torch.randn(*shape, generator=g, dtype=F64).to(device)


# ---------------------------------------------------------------------- Exercise 3.1
def test_numerical_gradient_fixed_inputs(
    submission: types.ModuleType, device: torch.device
) -> None:
    x = torch.tensor([0.5, -1.0, 2.0], dtype=F64, device=device)
    M = torch.tensor([[2.0, 1.0], [1.0, 3.0]], dtype=F64, device=device)

    def cube(v: Tensor) -> Tensor:
        return (v**3).sum()

    def quadratic_form(v: Tensor) -> Tensor:
        return v @ M @ v

    def first_entry(v: Tensor) -> Tensor:  # returns a view of its argument
        return v[0]

    def matrix_function(v: Tensor) -> Tensor:
        return torch.sin(v).prod() + (v**2).sum()

    cases = [
        Case("sum of cubes", (cube, x)),
        Case("a quadratic form x^T M x", (quadratic_form, x[:2])),
        Case("f returns a view of x", (first_entry, x)),
        Case("a matrix-shaped input", (matrix_function, x.repeat(2, 1) * 0.5)),
        Case("a transposed (non-contiguous) input", (matrix_function, x.repeat(2, 1).T * 0.5)),
        Case("a 0-d input", (cube, torch.tensor(1.5, dtype=F64, device=device))),
        Case("eps = 1e-4", (cube, x), {"eps": 1e-4}),
        Case(
            "float32 with eps = 1e-3",
            (cube, x.float()),
            {"eps": 1e-3},
        ),
    ]
    check(
        submission.numerical_gradient,
        calculus.numerical_gradient,
        cases,
        exercise="Exercise 3.1",
        forbid=FORBID,
        also_hidden=SAME_WORK,
        rtol=1e-5,
        atol=1e-6,
    )


def test_numerical_gradient_random_inputs(
    submission: types.ModuleType, device: torch.device
) -> None:
    g = torch.Generator().manual_seed(31)
    cases = []
    for i in range(8):
        shape = tuple(int(s) for s in torch.randint(1, 4, (1 + i % 3,), generator=g))
        a, b = rand(*shape, g=g, device=device), rand(*shape, g=g, device=device)

        def f(v: Tensor, a: Tensor = a, b: Tensor = b) -> Tensor:
            return (a * torch.tanh(v) + b * v**2).sum() + torch.log1p((a * v).sum() ** 2)

        cases.append(
            Case(
                f"random smooth function #{i}, shape {shape}", (f, rand(*shape, g=g, device=device))
            )
        )
    check(
        submission.numerical_gradient,
        calculus.numerical_gradient,
        cases,
        exercise="Exercise 3.1",
        forbid=FORBID,
        also_hidden=SAME_WORK,
        rtol=1e-5,
        atol=1e-6,
    )


def test_numerical_gradient_rejects_bad_input(submission: types.ModuleType) -> None:
    def total(v: Tensor) -> Tensor:
        return v.sum()

    def double(v: Tensor) -> Tensor:
        return 2 * v

    x = torch.ones(3, dtype=F64)
    bad_values = [
        Case("f returns a vector", (double, x)),
        Case("eps = 0", (total, x), {"eps": 0.0}),
        Case("negative eps", (total, x), {"eps": -1e-6}),
    ]
    check_raises(
        submission.numerical_gradient,
        calculus.numerical_gradient,
        bad_values,
        ValueError,
        exercise="Exercise 3.1",
        forbid=FORBID,
        also_hidden=SAME_WORK,
    )
    check_raises(
        submission.numerical_gradient,
        calculus.numerical_gradient,
        [Case("integer x", (total, torch.ones(3, dtype=torch.int64)))],
        TypeError,
        exercise="Exercise 3.1",
        forbid=FORBID,
        also_hidden=SAME_WORK,
    )


# ---------------------------------------------------------------------- Exercise 3.2
def test_gradient_descent_on_quadratics(submission: types.ModuleType, device: torch.device) -> None:
    cases = []
    for kappa, lr, steps in [(1.0, 0.5, 5), (10.0, 1.0, 30), (10.0, 1.9, 30), (50.0, 0.3, 0)]:
        A = calculus.quadratic_matrix(
            kappa, 3, generator=torch.Generator().manual_seed(int(kappa)), device=device
        )

        def grad(v: Tensor, A: Tensor = A) -> Tensor:
            return A @ v

        x0 = torch.tensor([1.0, -2.0, 0.5], dtype=F64, device=device)
        cases.append(Case(f"kappa={kappa:g}, lr={lr}/L, {steps} steps", (grad, x0, lr, steps)))
    A2 = calculus.quadratic_matrix(4.0, 2, device=device)

    def grad2(v: Tensor) -> Tensor:
        return A2 @ v

    cases.append(
        Case(
            "a diverging run, lr = 2.5/L", (grad2, torch.ones(2, dtype=F64, device=device), 2.5, 12)
        )
    )

    def grad_matrix(v: Tensor) -> Tensor:  # f(V) = ||V - 1||_F^2 / 2 on a matrix
        return v - 1

    cases.append(
        Case(
            "a matrix-shaped x0", (grad_matrix, torch.zeros(2, 3, dtype=F64, device=device), 0.3, 4)
        )
    )
    check(
        submission.gradient_descent,
        calculus.gradient_descent,
        cases,
        exercise="Exercise 3.2",
        rtol=1e-9,
        atol=1e-12,
    )


def test_gradient_descent_on_a_nonquadratic(
    submission: types.ModuleType, device: torch.device
) -> None:
    g = torch.Generator().manual_seed(32)
    cases = []
    for i in range(5):
        c = rand(4, g=g, device=device)

        def grad(v: Tensor, c: Tensor = c) -> Tensor:  # gradient of sum(log cosh(v - c))
            return torch.tanh(v - c)

        lr = float(torch.rand(1, generator=g)) + 0.2
        cases.append(
            Case(f"log-cosh #{i}, lr={lr:.2f}", (grad, rand(4, g=g, device=device), lr, 15))
        )
    check(
        submission.gradient_descent,
        calculus.gradient_descent,
        cases,
        exercise="Exercise 3.2",
        rtol=1e-9,
        atol=1e-12,
    )


def test_gradient_descent_rejects_bad_input(submission: types.ModuleType) -> None:
    def identity(v: Tensor) -> Tensor:
        return v

    x = torch.ones(2, dtype=F64)
    cases = [
        Case("lr = 0", (identity, x, 0.0, 3)),
        Case("negative lr", (identity, x, -0.1, 3)),
        Case("negative steps", (identity, x, 0.1, -1)),
    ]
    check_raises(
        submission.gradient_descent,
        calculus.gradient_descent,
        cases,
        ValueError,
        exercise="Exercise 3.2",
    )
    check_raises(
        submission.gradient_descent,
        calculus.gradient_descent,
        [Case("integer x0", (identity, torch.ones(2, dtype=torch.int64), 0.1, 3))],
        TypeError,
        exercise="Exercise 3.2",
    )


# ---------------------------------------------------------------------- Exercise 3.3
def test_newton_on_a_quadratic(submission: types.ModuleType, device: torch.device) -> None:
    A = calculus.quadratic_matrix(
        1e3, 4, generator=torch.Generator().manual_seed(33), device=device
    )
    b = torch.tensor([1.0, -1.0, 2.0, 0.5], dtype=F64, device=device)

    def grad(v: Tensor) -> Tensor:
        return A @ v - b

    def hess(v: Tensor) -> Tensor:
        return A

    x0 = torch.zeros(4, dtype=F64, device=device)
    cases = [
        Case("one step on a quadratic", (grad, hess, x0, 1)),
        Case("three steps on a quadratic", (grad, hess, x0 + 1, 3)),
        Case("zero steps", (grad, hess, x0, 0)),
    ]
    check(
        submission.newton,
        calculus.newton,
        cases,
        exercise="Exercise 3.3",
        forbid=INVERSES,
        rtol=1e-7,
        atol=1e-9,
    )


def test_newton_on_smooth_convex_functions(
    submission: types.ModuleType, device: torch.device
) -> None:
    g = torch.Generator().manual_seed(34)
    cases = []
    for i in range(4):
        M, c = rand(8, 3, g=g, device=device), rand(8, g=g, device=device)
        eye = torch.eye(3, dtype=F64, device=device)

        # f(x) = logsumexp(M x + c) + ||x||^2 / 20: gradient and Hessian from Chapter 3
        def grad(v: Tensor, M: Tensor = M, c: Tensor = c) -> Tensor:
            return M.T @ torch.softmax(M @ v + c, 0) + 0.1 * v

        def hess(v: Tensor, M: Tensor = M, c: Tensor = c, eye: Tensor = eye) -> Tensor:
            s = torch.softmax(M @ v + c, 0)
            return M.T @ (torch.diag(s) - torch.outer(s, s)) @ M + 0.1 * eye

        cases.append(
            Case(f"log-sum-exp #{i}", (grad, hess, torch.zeros(3, dtype=F64, device=device), 6))
        )
    check(
        submission.newton,
        calculus.newton,
        cases,
        exercise="Exercise 3.3",
        forbid=INVERSES,
        rtol=1e-7,
        atol=1e-9,
    )


def test_newton_rejects_bad_input(submission: types.ModuleType) -> None:
    def identity(v: Tensor) -> Tensor:
        return v

    def singular(v: Tensor) -> Tensor:
        return torch.ones(2, 2, dtype=F64)

    cases = [
        Case("x0 is a matrix", (identity, identity, torch.ones(2, 2, dtype=F64), 1)),
        Case("a singular Hessian", (identity, singular, torch.ones(2, dtype=F64), 1)),
    ]
    check_raises(
        submission.newton,
        calculus.newton,
        cases,
        ValueError,
        exercise="Exercise 3.3",
        forbid=INVERSES,
    )


# ---------------------------------------------------------------------- Exercise 3.4
def layers(
    widths: list[int], g: torch.Generator, device: torch.device
) -> tuple[list[Tensor], list[Tensor]]:
    weights = [rand(o, i, g=g, device=device) / math.sqrt(i) for i, o in itertools.pairwise(widths)]
    biases = [rand(o, g=g, device=device) for o in widths[1:]]
    return weights, biases


def test_mlp_jacobian(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(35)
    cases = []
    for widths in ([3, 2], [2, 4, 1], [4, 6, 5, 3], [5, 5, 5, 5, 5, 2], [1, 3, 3]):
        weights, biases = layers(widths, g, device)
        x = rand(widths[0], g=g, device=device)
        cases.append(Case(f"widths {widths}", (x, weights, biases)))
    W, b = layers([2, 2], g, device)
    cases.append(
        Case(
            "saturated tanh: large inputs",
            (torch.tensor([30.0, -30.0], dtype=F64, device=device), W + W, b + b),
        )
    )
    check(
        submission.mlp_jacobian,
        calculus.mlp_jacobian,
        cases,
        exercise="Exercise 3.4",
        forbid=FORBID,
        also_hidden=SAME_WORK,
        rtol=1e-9,
        atol=1e-12,
    )


def test_mlp_jacobian_rejects_bad_shapes(submission: types.ModuleType) -> None:
    g = torch.Generator().manual_seed(36)
    weights, biases = layers([3, 4, 2], g, torch.device("cpu"))
    x = torch.zeros(3, dtype=F64)
    cases = [
        Case("x of the wrong length", (torch.zeros(4, dtype=F64), weights, biases)),
        Case("x is a matrix", (torch.zeros(1, 3, dtype=F64), weights, biases)),
        Case("no layers", (x, [], [])),
        Case("one bias missing", (x, weights, biases[:1])),
        Case("weights that do not chain", (x, [weights[0], weights[0]], biases)),
        Case("a bias of the wrong length", (x, weights, [biases[1], biases[0]])),
    ]
    check_raises(
        submission.mlp_jacobian,
        calculus.mlp_jacobian,
        cases,
        ValueError,
        exercise="Exercise 3.4",
        forbid=FORBID,
        also_hidden=SAME_WORK,
    )
