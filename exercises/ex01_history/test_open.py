"""Grader for the open Exercise 1.4 (README.md beside this file). Do not edit.

Graded on measured properties, not on equality with a reference: on linearly separable
sets the returned separator must classify every training example correctly and keep at
least ``FRACTION`` of the largest possible margin (computed here by quadratic programming);
on sets that no hyperplane separates, the function must stop after ``max_epochs`` passes
and report that it did not converge.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from scipy.optimize import minimize
from torch import Tensor

from dlbook import history
from dlbook.grading import NotImplementedYetError, run_with_timeout, with_references_hidden

SUBMISSION = "history.py"
REFERENCES = {"margin_perceptron": history.margin_perceptron}
F64 = torch.float64
FRACTION = 0.5  # of the optimal margin; the plain perceptron often keeps a tenth
EXERCISE = "Exercise 1.4"
# Switched off while the student's code runs, under any name it was imported as.
HIDDEN: list[Callable[..., Any]] = [
    history.margin_perceptron,
    history.perceptron,
    history.perceptron_epoch,
]


def run(function: Callable[..., Any], *args: Any) -> Any:
    try:
        hidden = with_references_hidden(function, HIDDEN, exercise=EXERCISE)
        return run_with_timeout(hidden, args, seconds=60.0, what=EXERCISE)
    except NotImplementedError:
        raise NotImplementedYetError(
            f"{EXERCISE}: `margin_perceptron` is not implemented yet (it raises "
            "NotImplementedError). Replace the `raise NotImplementedError` line in "
            "history.py with your code."
        ) from None


def optimal_margin(X: Tensor, y: Tensor) -> float:
    """The largest margin of (w, b) with ||(w, b)|| = 1: min ||w~||^2 s.t. y w~.x~ >= 1."""
    Xn, yn = X.cpu().double().numpy(), y.cpu().double().numpy()
    Y = yn[:, None] * np.hstack([Xn, np.ones((len(Xn), 1))])  # (N, d + 1)
    start = 10 * np.linalg.lstsq(Y, np.ones(len(Xn)), rcond=None)[0]
    res = minimize(
        lambda w: w @ w,
        start,
        jac=lambda w: 2 * w,
        constraints=[{"type": "ineq", "fun": lambda w: Y @ w - 1, "jac": lambda w: Y}],
        method="SLSQP",
        options={"maxiter": 1000, "ftol": 1e-12},
    )
    return float((Y @ res.x).min() / np.linalg.norm(res.x))


def unpack(result: Any, d: int, device: torch.device) -> tuple[Tensor, Tensor, bool]:
    assert isinstance(result, tuple) and len(result) >= 3, (
        f"{EXERCISE}: return a tuple (w, b, converged), got {type(result).__name__}"
    )
    w, b, converged = result[0], result[1], result[2]
    assert isinstance(w, Tensor) and w.shape == (d,) and w.device.type == device.type, (
        f"{EXERCISE}: w must be a tensor of shape ({d},) on {device}, got {history_kind(w)}"
    )
    assert isinstance(b, Tensor) and b.shape == () and b.device.type == device.type, (
        f"{EXERCISE}: b must be a 0-d tensor on {device}, got {history_kind(b)}"
    )
    assert isinstance(converged, bool), f"{EXERCISE}: converged must be a bool"
    return w, b, converged


def history_kind(x: object) -> str:
    if isinstance(x, Tensor):
        return f"shape {tuple(x.shape)} on {x.device}"
    return type(x).__name__


def _switched_off(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError(f"{EXERCISE}: dlbook's perceptrons are switched off: write your own")


SEPARABLE = [  # (name, n, gamma, d, seed, scale, shift)
    ("200 points, margin 0.1", 200, 0.1, 2, 1, 1.0, 0.0),
    ("100 points, margin 0.05", 100, 0.05, 2, 0, 1.0, 0.0),
    ("100 points, margin 0.1", 100, 0.1, 2, 0, 1.0, 0.0),
    ("100 points, margin 0.2", 100, 0.2, 2, 1, 1.0, 0.0),
    ("150 points in 5-D, margin 0.1", 150, 0.1, 5, 3, 1.0, 0.0),
    ("100 points scaled by 20 and shifted by 3", 100, 0.1, 2, 2, 20.0, 3.0),
]


@pytest.mark.points(3)
@pytest.mark.parametrize("case", SEPARABLE, ids=[c[0] for c in SEPARABLE])
def test_separable_sets_get_a_wide_margin_and_no_training_error(
    submission: types.ModuleType,
    device: torch.device,
    case: tuple[str, int, float, int, int, float, float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name, n, gamma, d, seed, scale, shift = case
    student = submission.margin_perceptron
    assert student is not history.margin_perceptron, "write the function yourself"
    monkeypatch.setattr(history, "margin_perceptron", _switched_off)
    monkeypatch.setattr(history, "perceptron", _switched_off)
    X, y, _ = history.separable_data(n, gamma, d, seed=seed)
    X = (scale * X.double() + shift).to(device)
    y = y.double().to(device)
    w, b, converged = unpack(run(student, X.clone(), y.clone(), 20_000), d, device)
    assert converged, f"{EXERCISE}: {name} are separable, but you report no convergence"
    wrong = int((y * (X @ w.to(F64) + b.to(F64)) <= 0).sum())
    assert wrong == 0, f"{EXERCISE}: {name}: {wrong} training examples on the wrong side"
    best = optimal_margin(X, y)
    norm = float(torch.sqrt(w.to(F64) @ w.to(F64) + b.to(F64) ** 2))
    got = float((y * (X @ w.to(F64) + b.to(F64))).min()) / norm
    assert got >= FRACTION * best, (
        f"{EXERCISE}: {name}: your separator's margin {got:.4g} is {got / best:.1%} of the "
        f"best possible {best:.4g}; at least {FRACTION:.0%} is required. A plain perceptron "
        "stops at the first separator it finds, however close to the examples it passes."
    )


def nonseparable(device: torch.device) -> list[tuple[str, Tensor, Tensor]]:
    X, y, _ = history.separable_data(100, 0.1, seed=5)
    X, y = X.double(), y.double()
    far = (X @ torch.ones(2, dtype=F64)).abs().argsort(descending=True)[:3]
    flipped = y.clone()
    flipped[far] = -flipped[far]  # three labels flipped: no line separates them now
    xor = history.boolean_inputs(2).double()
    cases = [
        ("XOR", xor, torch.tensor([-1.0, 1.0, 1.0, -1.0], dtype=F64)),
        ("100 points with 3 labels flipped", X, flipped),
        (
            "a point with both labels",
            torch.tensor([[0.5, 0.5], [0.5, 0.5], [1.0, 0.0]]),
            torch.tensor([1.0, -1.0, 1.0]),
        ),
    ]
    return [(name, A.to(F64).to(device), b.to(F64).to(device)) for name, A, b in cases]


@pytest.mark.points(2)
def test_non_separable_sets_stop_and_report_it(
    submission: types.ModuleType, device: torch.device
) -> None:
    for name, X, y in nonseparable(device):
        assert optimal_margin(X, y) <= 1e-6  # no separator exists (checked by the grader)
        _, _, converged = unpack(run(submission.margin_perceptron, X, y, 300), X.shape[1], device)
        assert not converged, (
            f"{EXERCISE}: {name}: no hyperplane separates these examples, but you report "
            "convergence"
        )
