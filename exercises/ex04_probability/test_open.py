"""Grader for the open Exercise 4.5 (README.md beside this file). Do not edit.

Graded on measured properties, not on equality with a reference: over 100 seeded runs of
10,000 draws each, for three thresholds, the estimates of P(Z > t) must have a relative
RMS error below 0.05 and a mean relative error within 0.02 of zero, and they must be
estimates (reproducible for a seed, different across seeds).
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import Tensor

from dlbook import prob
from dlbook.grading import references_hidden, run_with_timeout

SUBMISSION = "probability.py"
REFERENCES = {"tail_probability": prob.gaussian_tail_probability}
EXERCISE = "Exercise 4.5"
RUNS, N = 100, 10_000
# An estimate from n draws has an error that shrinks like 1/sqrt(n): over SMALL_RUNS seeds,
# the spread at n = SMALL_N must be at least SPREAD_RATIO times the spread at n = N (a
# Monte Carlo estimator's is about sqrt(N / SMALL_N) = 10 times; a formula with a little
# noise added keeps the same spread whatever n).
SMALL_RUNS, SMALL_N, SPREAD_RATIO = 30, 100, 3.0
# The closed form is not an estimate: the usual ways to compute it are unavailable while
# the student's code runs, under any name they were imported as (`from math import erfc`).
CLOSED_FORMS = [
    *("math.erf", "math.erfc", "torch.erf", "torch.erfc", "torch.Tensor.erf", "torch.Tensor.erfc"),
    *(f"torch.special.{f}" for f in ("erf", "erfc", "erfcx", "ndtr", "log_ndtr")),
    *(f"scipy.special.{f}" for f in ("erf", "erfc", "erfcx", "ndtr", "log_ndtr", "gammaincc")),
    *("torch.distributions.Normal", "scipy.stats.norm", "statistics.NormalDist"),
]


def exact_tail(t: float) -> float:
    """P(Z > t) for a standard normal, in closed form."""
    return 0.5 * math.erfc(t / math.sqrt(2.0))


def run(call: Callable[..., Any], *args: Any) -> Any:
    return run_with_timeout(call, args, seconds=30.0, what=EXERCISE)


def _switched_off(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError(f"{EXERCISE}: dlbook's estimator is switched off: write your own")


@pytest.mark.points(3)
@pytest.mark.parametrize("threshold", [3.0, 4.0, 5.0])
def test_tail_estimate_is_accurate_and_unbiased_over_seeded_runs(
    submission: types.ModuleType, threshold: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    student = submission.tail_probability
    assert student is not prob.gaussian_tail_probability, "write the function yourself"
    monkeypatch.setattr(prob, "gaussian_tail_probability", _switched_off)
    exact = exact_tail(threshold)

    def one(call: Callable[..., Any], seed: int, n: int = N) -> Tensor:
        out = run(call, threshold, n, torch.Generator().manual_seed(seed))
        assert isinstance(out, Tensor) and out.ndim == 0 and out.dtype == torch.float64, (
            f"{EXERCISE}: return a 0-d float64 tensor, got "
            f"{out.dtype if isinstance(out, Tensor) else type(out).__name__}"
            f"{'' if not isinstance(out, Tensor) else f' of shape {tuple(out.shape)}'}"
        )
        assert out.device.type == "cpu", f"{EXERCISE}: return a CPU tensor, got {out.device}"
        return out

    # The closed forms and dlbook's estimator are off while the student's code runs.
    with references_hidden(
        student, [prob.gaussian_tail_probability], exercise=EXERCISE, forbid=CLOSED_FORMS
    ) as call:
        first, again = one(call, 1000), one(call, 1000)
        estimates = torch.stack([one(call, 1000 + k) for k in range(RUNS)])
        few = torch.stack([one(call, 1000 + k, SMALL_N) for k in range(SMALL_RUNS)])
    assert torch.equal(again, first), (
        f"{EXERCISE}: the same generator seed gave two different answers; draw every random "
        "number from `generator`"
    )
    relative = estimates / exact - 1.0
    assert bool(torch.isfinite(relative).all()), f"{EXERCISE}: an estimate is NaN or infinite"
    distinct = len(torch.unique(estimates))
    assert distinct >= RUNS // 2, (
        f"{EXERCISE}: {RUNS} seeds gave only {distinct} different answers (the first "
        f"{float(first):.4e}): a formula or a handful of values is not an estimate from samples"
    )
    spread, few_spread = float(relative[:SMALL_RUNS].std()), float((few / exact - 1.0).std())
    assert few_spread >= SPREAD_RATIO * spread, (
        f"{EXERCISE}: at t = {threshold:g} the relative spread over {SMALL_RUNS} seeds is "
        f"{few_spread:.2e} with n = {SMALL_N} draws and {spread:.2e} with n = {N:,}: an "
        f"estimate from n draws must get better with n (at least {SPREAD_RATIO:g} times less "
        "spread here); a formula with noise added is not an estimate from samples"
    )
    rmse = float((relative**2).mean().sqrt())
    bias = float(relative.mean())
    assert rmse < 0.05, (
        f"{EXERCISE}: at t = {threshold:g} the relative RMS error over {RUNS} runs of {N:,} "
        f"draws is {rmse:.3f} (must be below 0.05); P(Z > t) = {exact:.4e}, your mean "
        f"{float(estimates.mean()):.4e}"
    )
    assert abs(bias) < 0.02, (
        f"{EXERCISE}: at t = {threshold:g} the mean relative error over {RUNS} runs is "
        f"{bias:+.3f} (must be within 0.02): the estimator is biased"
    )
