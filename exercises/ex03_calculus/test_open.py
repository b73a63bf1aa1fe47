"""Grader for the open Exercise 3.5 (README.md beside this file). Do not edit.

Graded on measured properties, not on equality with a reference: on each of three
functions whose curvatures differ ten-thousandfold, the returned point must bring the
gradient norm down by the factor ``TOL`` while the function and its gradient together are
evaluated at most ``BUDGET`` times.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import Tensor

from dlbook import calculus
from dlbook.grading import NotImplementedYetError, run_with_timeout, with_references_hidden

SUBMISSION = "calculus.py"
REFERENCES = {"line_search_descent": calculus.line_search_descent}
F64 = torch.float64
TOL = 1e-6
BUDGET = 1500
# Switched off while the student's code runs, under any name it was imported as.
HIDDEN: list[Callable[..., Any]] = [calculus.line_search_descent, calculus.backtracking_line_search]
EXERCISE = "Exercise 3.5"


class BudgetExceededError(AssertionError):
    """Raised inside the student's code on the first evaluation over the budget."""


class Counted:
    """Wrap ``f`` and ``grad_fn`` so that every call counts against one budget."""

    def __init__(
        self, name: str, f: Callable[[Tensor], Tensor], grad_fn: Callable[[Tensor], Tensor]
    ) -> None:
        self.calls, self.name = 0, name
        self._f, self._grad = f, grad_fn

    def _tick(self) -> None:
        self.calls += 1
        if self.calls > BUDGET:
            raise BudgetExceededError(
                f"{EXERCISE}: more than {BUDGET} evaluations of f and grad_fn together on "
                f"the {self.name}"
            )

    def f(self, x: Tensor) -> Tensor:
        self._tick()
        return self._f(x)

    def grad_fn(self, x: Tensor) -> Tensor:
        self._tick()
        return self._grad(x)


def problems(device: torch.device, seed: int) -> dict[str, tuple[Any, Any, Tensor]]:
    """Three smooth functions (f, grad, x0): steep and flat quadratics, logistic regression."""
    g = torch.Generator().manual_seed(seed)
    out: dict[str, tuple[Any, Any, Tensor]] = {}
    for name, scale in (("steep quadratic (L = 100)", 100.0), ("flat quadratic (L = 0.01)", 0.01)):
        A = scale * calculus.quadratic_matrix(30.0, 20, generator=g, device=device)

        def f(v: Tensor, A: Tensor = A) -> Tensor:
            return 0.5 * v @ A @ v

        def grad(v: Tensor, A: Tensor = A) -> Tensor:
            return A @ v

        x0 = torch.randn(20, generator=g, dtype=F64).to(device)
        out[name] = (f, grad, x0)
    X = torch.randn(200, 10, generator=g, dtype=F64).to(device)
    w_true = torch.randn(10, generator=g, dtype=F64).to(device)
    y = (torch.rand(200, generator=g, dtype=F64).to(device) < torch.sigmoid(X @ w_true)).to(F64)

    def logistic(w: Tensor) -> Tensor:
        logits = X @ w
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, y) + 5e-3 * w @ w

    def logistic_grad(w: Tensor) -> Tensor:
        return X.T @ (torch.sigmoid(X @ w) - y) / 200 + 1e-2 * w

    out["logistic regression with a ridge"] = (
        logistic,
        logistic_grad,
        torch.randn(10, generator=g, dtype=F64).to(device),
    )
    return out


def run(function: Callable[..., Any], *args: Any) -> Any:
    try:
        hidden = with_references_hidden(function, HIDDEN, exercise=EXERCISE)
        return run_with_timeout(hidden, args, seconds=30.0, what=EXERCISE)
    except NotImplementedError:
        raise NotImplementedYetError(
            f"{EXERCISE}: `line_search_descent` is not implemented yet (it raises "
            "NotImplementedError). Replace the `raise NotImplementedError` line in "
            "calculus.py with your code."
        ) from None


def _switched_off(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError(f"{EXERCISE}: dlbook's line searches are switched off: write your own")


@pytest.mark.points(3)
@pytest.mark.parametrize("seed", [0, 1])
def test_line_search_reaches_the_tolerance_within_the_budget(
    submission: types.ModuleType,
    device: torch.device,
    seed: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    student = submission.line_search_descent
    assert student is not calculus.line_search_descent, "write the function yourself"
    monkeypatch.setattr(calculus, "line_search_descent", _switched_off)
    monkeypatch.setattr(calculus, "backtracking_line_search", _switched_off)
    for name, (f, grad, x0) in problems(device, seed).items():
        counter = Counted(name, f, grad)
        start = x0.clone()
        x = run(student, counter.f, counter.grad_fn, x0, TOL)
        assert torch.equal(x0, start), f"{EXERCISE}: your function modified x0 ({name})"
        assert isinstance(x, Tensor), f"{EXERCISE}: return a tensor, got {type(x).__name__}"
        assert x.shape == x0.shape and x.dtype == x0.dtype and x.device == x0.device, (
            f"{EXERCISE}: on {name} the result must have x0's shape {tuple(x0.shape)}, dtype "
            f"{x0.dtype} and device {x0.device}; got {tuple(x.shape)}, {x.dtype}, {x.device}"
        )
        reached = float(torch.linalg.vector_norm(grad(x)) / torch.linalg.vector_norm(grad(x0)))
        assert reached <= TOL, (
            f"{EXERCISE}: on {name} (seed {seed}) the gradient norm fell only by the factor "
            f"{reached:.2e}; the target is {TOL:g} (after {counter.calls} evaluations)"
        )
