"""Tests for dlbook.generative.metrics against direct loops, SciPy and known cases."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial.distance import pdist

from dlbook import data
from dlbook.generative import metrics

F64 = torch.float64
SETTINGS = settings(max_examples=25, deadline=None)


def randn(seed: int, *shape: int, device: torch.device | str = "cpu") -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=F64).to(device)


# ------------------------------------------------------------------ direct references
def loop_mode_coverage(
    samples: np.ndarray, centres: np.ndarray, std: float, num_std: float = 3.0
) -> tuple[int, float, list[int]]:
    counts = [0] * len(centres)
    good = 0
    for x in samples:
        d = [math.dist(x, c) for c in centres]
        k = int(np.argmin(d))
        if d[k] <= num_std * std:
            good += 1
            counts[k] += 1
    return sum(c > 0 for c in counts), good / len(samples), counts


def loop_mmd2(x: np.ndarray, y: np.ndarray, sigma: float) -> float:
    def k(a: np.ndarray, b: np.ndarray) -> float:
        return math.exp(-float(np.sum((a - b) ** 2)) / (2 * sigma**2))

    n, m = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
    return xx + yy - 2 * xy


def loop_energy(x: np.ndarray, y: np.ndarray) -> float:
    def mean_dist(a: np.ndarray, b: np.ndarray) -> float:
        return sum(math.dist(u, v) for u in a for v in b) / (len(a) * len(b))

    return math.sqrt(2 * mean_dist(x, y) - mean_dist(x, x) - mean_dist(y, y))


# ------------------------------------------------------------------ mode centres
def test_ring_centres_are_the_means_of_the_data_components() -> None:
    X, y = data.gaussian_ring(20_000, seed=3, dtype=F64)
    centres = metrics.ring_centres()
    assert centres.shape == (8, 2)
    for k in range(8):
        # The mean of ~2,500 points of std 0.02 is within 4 standard errors (0.0016).
        torch.testing.assert_close(X[y == k].mean(0), centres[k], atol=2e-3, rtol=0)
    np.testing.assert_allclose(np.linalg.norm(centres.numpy(), axis=1), 2.0, rtol=1e-15)


def test_grid_centres_are_the_means_of_the_data_components() -> None:
    X, y = data.gaussian_grid(50_000, seed=4, dtype=F64)
    centres = metrics.grid_centres()
    assert centres.shape == (25, 2)
    for k in range(25):
        torch.testing.assert_close(X[y == k].mean(0), centres[k], atol=5e-3, rtol=0)
    expected = {(float(a), float(b)) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}
    assert {tuple(row) for row in centres.tolist()} == expected


# ------------------------------------------------------------------ mode coverage
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mode_coverage_agrees_with_a_direct_loop(seed: int, device: torch.device) -> None:
    centres = metrics.grid_centres(device=device)
    # Points scattered so that some are within 3 std of a mode and some are not.
    g = torch.Generator().manual_seed(seed)
    picks = torch.randint(0, 25, (400,), generator=g)
    samples = centres.cpu()[picks] + 0.12 * torch.randn(400, 2, generator=g, dtype=F64)
    samples = samples.to(device)
    got = metrics.mode_coverage(samples, centres, 0.05)
    modes, fraction, counts = loop_mode_coverage(samples.cpu().numpy(), centres.cpu().numpy(), 0.05)
    assert (got.modes, got.counts.tolist(), got.num_modes) == (modes, counts, 25)
    assert got.high_quality == pytest.approx(fraction, abs=1e-15)
    assert 0 < fraction < 1  # the case tests both sides of the threshold
    assert got.counts.device == samples.device and got.counts.dtype == torch.int64


def test_true_ring_samples_score_the_gaussian_rate() -> None:
    X, _ = data.gaussian_ring(metrics.VEEGAN_NUM_SAMPLES, seed=5)
    result = metrics.mode_coverage(X, metrics.ring_centres(), 0.02)
    assert result.modes == 8
    # P(||e|| <= 3 sigma) for a 2-D isotropic Gaussian is 1 - exp(-9/2) = 0.98889; the
    # binomial standard error at N = 2,500 is 0.0021, so 4 of them is a safe band.
    assert result.high_quality == pytest.approx(1 - math.exp(-4.5), abs=4 * 0.0021)


def test_a_collapsed_sampler_captures_one_mode() -> None:
    centres = metrics.ring_centres()
    samples = centres[3] + 0.01 * randn(0, 2500, 2)
    result = metrics.mode_coverage(samples, centres, 0.02)
    assert result.modes == 1 and result.counts[3] == result.counts.sum()
    assert result.high_quality == pytest.approx(1.0)


def test_mode_coverage_float32_samples_and_the_threshold_edge() -> None:
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0]], dtype=F64)
    samples = torch.tensor([[0.06, 0.0], [0.0601, 0.0], [9.9, 0.0]], dtype=torch.float32)
    got = metrics.mode_coverage(samples, centres.float(), 0.02)
    # 0.06 in float32 is 0.0599999986..., inside 3 * 0.02; 0.0601 is outside.
    assert got.counts.tolist() == [1, 0] and got.high_quality == pytest.approx(1 / 3)


def test_mode_coverage_non_contiguous_samples_work() -> None:
    centres = metrics.ring_centres()
    samples = (centres[[0, 1, 2]] + 0.001).T.contiguous().T  # (3, 2), column-major
    assert not samples.is_contiguous()
    assert metrics.mode_coverage(samples, centres, 0.02).modes == 3


# ------------------------------------------------------------------ MMD
@pytest.mark.parametrize(("n", "m", "d", "sigma"), [(5, 7, 2, 1.0), (9, 4, 3, 0.3), (6, 6, 1, 2.5)])
def test_mmd2_agrees_with_a_double_loop(
    n: int, m: int, d: int, sigma: float, device: torch.device
) -> None:
    x, y = randn(n, n, d, device=device), randn(m + 10, m, d, device=device) + 0.5
    got = metrics.mmd2(x, y, bandwidth=sigma)
    assert got.shape == () and got.dtype == F64 and got.device == x.device
    expected = loop_mmd2(x.cpu().numpy(), y.cpu().numpy(), sigma)
    assert got.item() == pytest.approx(expected, rel=1e-12, abs=1e-14)


def test_median_bandwidth_is_the_lower_median_of_pooled_distances() -> None:
    x, y = randn(0, 30, 3), randn(1, 21, 3)
    distances = np.sort(pdist(np.concatenate([x.numpy(), y.numpy()])))
    expected = distances[(len(distances) - 1) // 2]
    assert metrics.median_bandwidth(x, y).item() == pytest.approx(expected, rel=1e-14)
    # The default bandwidth of mmd2 is this median.
    assert metrics.mmd2(x, y).item() == pytest.approx(loop_mmd2(x.numpy(), y.numpy(), expected))
    # Only the first max_points rows of each sample enter the pool.
    few = metrics.median_bandwidth(x, y, max_points=5)
    sub = np.sort(pdist(np.concatenate([x[:5].numpy(), y[:5].numpy()])))
    assert few.item() == pytest.approx(sub[(len(sub) - 1) // 2], rel=1e-14)


def test_mmd2_is_unbiased_under_the_null() -> None:
    # The average of 200 independent estimates from equal distributions is ~0; with
    # different ones it is clearly positive. (The spread of one estimate is ~0.01 here.)
    estimates = [
        metrics.mmd2(randn(2 * s, 40, 2), randn(2 * s + 1, 40, 2), bandwidth=1.0)
        for s in range(200)
    ]
    null = torch.stack(estimates)
    assert abs(null.mean().item()) < 4 * null.std().item() / math.sqrt(200)
    assert (null < 0).any()  # unbiased, so it does go below zero
    shifted = metrics.mmd2(randn(0, 40, 2), randn(1, 40, 2) + 1.0, bandwidth=1.0)
    assert shifted.item() > 5 * null.std().item()


@SETTINGS
@given(st.integers(2, 8), st.integers(2, 8), st.integers(0, 10_000))
def test_mmd2_is_symmetric(n: int, m: int, seed: int) -> None:
    x, y = randn(seed, n, 2), randn(seed + 1, m, 2)
    torch.testing.assert_close(metrics.mmd2(x, y, bandwidth=0.7), metrics.mmd2(y, x, bandwidth=0.7))


def test_mmd2_accepts_a_tensor_bandwidth_and_float32() -> None:
    x, y = randn(0, 10, 2), randn(1, 12, 2)
    a = metrics.mmd2(x, y, bandwidth=torch.tensor(0.8, dtype=F64))
    b = metrics.mmd2(x.float(), y.float(), bandwidth=0.8)
    assert b.dtype == torch.float32
    assert b.item() == pytest.approx(a.item(), abs=1e-6)
    assert a.item() == pytest.approx(loop_mmd2(x.numpy(), y.numpy(), 0.8), rel=1e-12)


# ------------------------------------------------------------------ energy distance
@pytest.mark.parametrize(("n", "m"), [(1, 1), (3, 8), (50, 20)])
def test_energy_distance_agrees_with_scipy_in_one_dimension(
    n: int, m: int, device: torch.device
) -> None:
    x, y = randn(n, n, 1, device=device), 2 * randn(m + 5, m, 1, device=device) + 0.3
    got = metrics.energy_distance(x, y)
    assert got.shape == () and got.device == x.device
    expected = stats.energy_distance(x.cpu().numpy()[:, 0], y.cpu().numpy()[:, 0])
    assert got.item() == pytest.approx(expected, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize(("n", "m", "d"), [(4, 6, 2), (7, 3, 5)])
def test_energy_distance_agrees_with_a_double_loop(n: int, m: int, d: int) -> None:
    x, y = randn(n, n, d), randn(m + 1, m, d) + 1.0
    expected = loop_energy(x.numpy(), y.numpy())
    assert metrics.energy_distance(x, y).item() == pytest.approx(expected, rel=1e-12)


def test_energy_distance_is_zero_for_equal_samples_and_non_contiguous_input() -> None:
    x = randn(0, 20, 3)
    assert metrics.energy_distance(x, x.flip(0)).item() == pytest.approx(0.0, abs=1e-7)
    xt = x.T.contiguous().T
    assert not xt.is_contiguous()
    torch.testing.assert_close(
        metrics.energy_distance(xt, x + 1), metrics.energy_distance(x, x + 1)
    )


# ------------------------------------------------------------------ bad input
GOOD = torch.zeros(4, 2, dtype=F64)
CENTRES = metrics.ring_centres()
BAD: list[tuple[str, Any, tuple[Any, ...], dict[str, Any], type[Exception], str]] = [
    ("mmd2 list", metrics.mmd2, ([[0.0, 1.0]], GOOD), {}, TypeError, "torch.Tensor"),
    ("mmd2 int", metrics.mmd2, (GOOD.long(), GOOD), {}, TypeError, "floating-point"),
    ("mmd2 1-D", metrics.mmd2, (GOOD[:, 0], GOOD), {}, ValueError, "(N, D)"),
    ("mmd2 one row", metrics.mmd2, (GOOD[:1], GOOD), {"bandwidth": 1.0}, ValueError, "at least 2"),
    ("mmd2 widths", metrics.mmd2, (GOOD, torch.zeros(4, 3, dtype=F64)), {}, ValueError, "columns"),
    ("mmd2 dtypes", metrics.mmd2, (GOOD, GOOD.float()), {}, TypeError, "same dtype"),
    ("mmd2 devices", metrics.mmd2, (GOOD, GOOD.to("meta")), {}, ValueError, "device"),
    ("mmd2 bandwidth", metrics.mmd2, (GOOD, GOOD), {"bandwidth": -1.0}, ValueError, "bandwidth"),
    ("mmd2 zero spread", metrics.mmd2, (GOOD, GOOD), {}, ValueError, "bandwidth"),
    ("energy 3-D", metrics.energy_distance, (GOOD[None], GOOD), {}, ValueError, "(N, D)"),
    ("energy empty", metrics.energy_distance, (GOOD[:0], GOOD), {}, ValueError, "at least 1"),
    ("coverage std", metrics.mode_coverage, (GOOD, CENTRES, 0.0), {}, ValueError, "std"),
    ("coverage std type", metrics.mode_coverage, (GOOD, CENTRES, "0.1"), {}, TypeError, "std"),
    (
        "coverage num_std",
        metrics.mode_coverage,
        (GOOD, CENTRES, 0.1),
        {"num_std": -3},
        ValueError,
        "num_std",
    ),
    (
        "coverage widths",
        metrics.mode_coverage,
        (GOOD, torch.zeros(3, 5), 0.1),
        {},
        ValueError,
        "columns",
    ),
    (
        "coverage devices",
        metrics.mode_coverage,
        (GOOD, CENTRES.to("meta"), 0.1),
        {},
        ValueError,
        "device",
    ),
    ("ring modes", metrics.ring_centres, (0,), {}, ValueError, "modes"),
    ("grid spacing", metrics.grid_centres, (5, 0.0), {}, ValueError, "spacing"),
    (
        "median max_points",
        metrics.median_bandwidth,
        (GOOD, GOOD),
        {"max_points": 0},
        ValueError,
        "max_points",
    ),
]


@pytest.mark.parametrize(
    ("name", "function", "args", "kwargs", "error", "match"), BAD, ids=[b[0] for b in BAD]
)
def test_bad_input_gets_a_clear_error(
    name: str,
    function: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    with pytest.raises(error, match=match.replace("(", r"\(").replace(")", r"\)")):
        function(*args, **kwargs)
