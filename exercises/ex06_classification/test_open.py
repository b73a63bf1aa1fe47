"""Grader for the open Exercise 6.4 (README.md beside this file). Do not edit.

The answer is not compared with a reference value: the grader measures a property. It
hands you validation logits with their labels and a separate set of test logits, keeps
the test labels, and measures the expected calibration error of the probabilities you
return on them (with its own computation, 15 equal-width bins). Four classifiers are
graded, two overconfident and two underconfident.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor

from dlbook import logistic
from dlbook.grading import with_references_hidden

SUBMISSION = "classification.py"
REFERENCES = {"temperature_scale": logistic.temperature_scale}
ECE_BOUND = 0.02
# (seed, factor the true logits are multiplied by): > 1 overconfident, < 1 underconfident
CLASSIFIERS = [(0, 2.5), (1, 0.4), (2, 1.7), (3, 0.6)]


# Off while the student's code runs, under any name it was imported as.
HIDDEN: list[Callable[..., Any]] = [logistic.fit_temperature, logistic.temperature_scale]


def logits_and_labels(
    seed: int, factor: float, k: int = 10, n_val: int = 3000, n_test: int = 20000
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Labels drawn from softmax(z) for true logits z; the classifier reports factor * z."""
    g = torch.Generator().manual_seed(seed)
    means = 1.5 * torch.randn(k, 8, generator=g, dtype=torch.float64)
    h = torch.randn(n_val + n_test, 8, generator=g, dtype=torch.float64)
    z = h @ means.T  # (n, k) true logits
    y = torch.multinomial(torch.softmax(z, dim=1), 1, generator=g)[:, 0]
    return factor * z[:n_val], y[:n_val], factor * z[n_val:], y[n_val:]


def ece(probs: np.ndarray, labels: np.ndarray, n_bins: int = 15) -> float:
    """Guo et al.'s expected calibration error, bins (m-1)/M < confidence <= m/M."""
    confidence, predicted = probs.max(axis=1), probs.argmax(axis=1)
    total = 0.0
    for m in range(1, n_bins + 1):
        inside = (confidence > (m - 1) / n_bins) & (confidence <= m / n_bins)
        if inside.any():
            gap = (predicted[inside] == labels[inside]).mean() - confidence[inside].mean()
            total += inside.mean() * abs(gap)
    return total


def _call(fn: Callable[..., Any], *args: Any) -> Any:
    return with_references_hidden(fn, HIDDEN, exercise="Exercise 6.4")(*args)


# ---------------------------------------------------------------------- Exercise 6.4
@pytest.mark.points(3)
def test_held_out_calibration_error_is_small_and_predictions_unchanged(
    submission: types.ModuleType, device: torch.device
) -> None:
    dtype = torch.float32 if device.type == "mps" else torch.float64
    problems = []
    for seed, factor in CLASSIFIERS:
        z_val, y_val, z_test, y_test = (
            t.to(device, dtype) if t.dtype.is_floating_point else t.to(device)
            for t in logits_and_labels(seed, factor)
        )
        before = ece(torch.softmax(z_test, dim=1).cpu().double().numpy(), y_test.cpu().numpy())
        got = _call(submission.temperature_scale, z_val.clone(), y_val.clone(), z_test.clone())
        assert isinstance(got, Tensor), (
            f"Exercise 6.4: return a tensor of probabilities, got {type(got).__name__}"
        )
        assert tuple(got.shape) == tuple(z_test.shape), (
            f"Exercise 6.4: the result must have the shape {tuple(z_test.shape)} of `logits`, "
            f"got {tuple(got.shape)}"
        )
        assert got.dtype == dtype and got.device == z_test.device, (
            f"Exercise 6.4: the result must be {dtype} on {z_test.device} like `logits`, got "
            f"{got.dtype} on {got.device}"
        )
        P = got.detach().cpu().double().numpy()
        assert np.isfinite(P).all() and (P >= 0).all(), "Exercise 6.4: probabilities must be >= 0"
        assert np.allclose(P.sum(axis=1), 1.0, atol=1e-5), "Exercise 6.4: each row must sum to one"
        changed = int((got.argmax(dim=1) != z_test.argmax(dim=1)).sum())
        assert changed == 0, (
            f"Exercise 6.4: calibration must not change a prediction, but {changed} test "
            "rows now have another argmax"
        )
        after = ece(P, y_test.cpu().numpy())
        if not after < ECE_BOUND:
            problems.append(
                f"classifier {seed} (logits x{factor}): held-out ECE {after:.4f} (it was "
                f"{before:.4f} before calibration), needs < {ECE_BOUND}"
            )
    assert not problems, "Exercise 6.4: " + "; ".join(problems)
