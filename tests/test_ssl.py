"""Tests for dlbook.ssl against direct loop formulas in float64, scipy's log-softmax,
scikit-learn's logistic regression, NumPy loops, closed-form erase frequencies and
finite differences (gradcheck)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.special
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from torch import Tensor

from dlbook import ssl

F64 = torch.float64


def _logsumexp(values: list[float]) -> float:
    top = max(values)
    return top + math.log(math.fsum(math.exp(v - top) for v in values))


def nt_xent_loop(z1: Tensor, z2: Tensor, tau: float) -> float:
    """Chen et al.'s eq. (1), one view at a time, in Python floats (stable log-sum-exp)."""
    u = torch.cat([z1, z2]).double()
    u = u / u.norm(dim=1, keepdim=True)
    n2 = len(u)
    losses = []
    for k in range(n2):
        positive = (k + n2 // 2) % n2
        others = [float(u[k] @ u[m]) / tau for m in range(n2) if m != k]
        losses.append(_logsumexp(others) - float(u[k] @ u[positive]) / tau)
    return math.fsum(losses) / n2


def randn(g: torch.Generator, *shape: int, device: torch.device | str = "cpu") -> Tensor:
    return torch.randn(*shape, generator=g, dtype=F64).to(device)


# ------------------------------------------------------------------------- NT-Xent
@pytest.mark.parametrize(
    ("n", "d", "tau"), [(1, 3, 0.5), (2, 2, 1.0), (5, 4, 0.5), (8, 16, 0.1), (3, 1, 2.0)]
)
def test_nt_xent_matches_the_loop_formula(n: int, d: int, tau: float, device: torch.device) -> None:
    g = torch.Generator().manual_seed(n * 100 + d)
    z1, z2 = randn(g, n, d, device=device), randn(g, n, d, device=device)
    got = ssl.nt_xent(z1, z2, temperature=tau)
    assert got.device == z1.device and got.dtype == F64 and got.ndim == 0
    assert got.item() == pytest.approx(nt_xent_loop(z1.cpu(), z2.cpu(), tau), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("tau", [1e-2, 1e-4])
def test_nt_xent_is_exact_at_small_temperatures(dtype: torch.dtype, tau: float) -> None:
    # Cosines over tau of 1e4: a direct exp overflows, the log-sum-exp must not.
    g = torch.Generator().manual_seed(7)
    z1, z2 = randn(g, 4, 3), randn(g, 4, 3)
    got = ssl.nt_xent(z1.to(dtype), z2.to(dtype), temperature=tau)
    expected = nt_xent_loop(z1, z2, tau)
    assert math.isfinite(got.item())
    # float32 cosines carry ~1e-7 relative error, magnified by 1/tau in the logits.
    tol = 1e-10 if dtype == F64 else 5e-7 / tau
    assert got.item() == pytest.approx(expected, rel=1e-6, abs=tol)


def test_nt_xent_collapsed_encoder_gives_log_2n_minus_1() -> None:
    z = torch.ones(5, 3, dtype=F64)
    assert ssl.nt_xent(z, z, temperature=0.3).item() == pytest.approx(math.log(9), rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 6),
    d=st.integers(1, 5),
    seed=st.integers(0, 10_000),
    tau=st.floats(0.05, 5.0),
)
def test_nt_xent_laws(n: int, d: int, seed: int, tau: float) -> None:
    """Invariant to positive rescaling of rows (cosine), to swapping the two views, and to
    permuting the pairs together; never below log(2N-1) - 2/tau (Exercise 19.6)."""
    g = torch.Generator().manual_seed(seed)
    z1, z2 = randn(g, n, d), randn(g, n, d)
    base = ssl.nt_xent(z1, z2, temperature=tau)
    scale = torch.rand(n, 1, generator=g, dtype=F64) * 10 + 0.1
    perm = torch.randperm(n, generator=g)
    assert ssl.nt_xent(z1 * scale, z2, temperature=tau).item() == pytest.approx(
        base.item(), rel=1e-9
    )
    assert ssl.nt_xent(z2, z1, temperature=tau).item() == pytest.approx(base.item(), rel=1e-9)
    assert ssl.nt_xent(z1[perm], z2[perm], temperature=tau).item() == pytest.approx(
        base.item(), rel=1e-9
    )
    assert base.item() >= (math.log(2 * n - 1) - 2 / tau if n > 1 else 0.0) - 1e-9


def test_nt_xent_gradient_by_finite_differences() -> None:
    g = torch.Generator().manual_seed(3)
    z1 = randn(g, 4, 3).requires_grad_()
    z2 = randn(g, 4, 3).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: ssl.nt_xent(a, b, temperature=0.4), (z1, z2))


def test_nt_xent_non_contiguous_input_works() -> None:
    g = torch.Generator().manual_seed(4)
    z1, z2 = randn(g, 3, 5), randn(g, 3, 5)
    got = ssl.nt_xent(z1.T.contiguous().T, z2[:, ::1].T.contiguous().T)
    assert not z1.T.contiguous().T.is_contiguous()
    assert got.item() == pytest.approx(nt_xent_loop(z1, z2, 0.5), rel=1e-12)


# ------------------------------------------------------------------------- InfoNCE
@pytest.mark.parametrize("n", [1, 2, 7])
def test_info_nce_matches_scipy_log_softmax(n: int, device: torch.device) -> None:
    g = torch.Generator().manual_seed(n)
    S = randn(g, n, n, device=device) * 3
    expected = -np.mean(np.diag(scipy.special.log_softmax(S.cpu().numpy(), axis=1)))
    got = ssl.info_nce(S)
    assert got.device == S.device
    assert got.item() == pytest.approx(float(expected), rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("big", [1e4, 1e8])
def test_info_nce_is_exact_at_extreme_scores(dtype: torch.dtype, big: float) -> None:
    right = torch.tensor([[big, 0.0], [0.0, big]], dtype=dtype)
    wrong = torch.tensor([[0.0, big], [big, 0.0]], dtype=dtype)
    assert ssl.info_nce(right).item() == 0.0
    assert ssl.info_nce(wrong).item() == pytest.approx(big, rel=1e-6)


def test_info_nce_bound_holds_for_independent_variables() -> None:
    """With x and y independent, I = 0: log N - L must be <= 0 on average for any critic."""
    g = torch.Generator().manual_seed(11)
    W = randn(g, 3, 3)
    values = []
    for _ in range(400):
        x, y = randn(g, 16, 3), randn(g, 16, 3)
        values.append(math.log(16) - ssl.info_nce(x @ W @ y.T).item())
    mean, se = float(np.mean(values)), float(np.std(values) / math.sqrt(len(values)))
    assert mean < 3 * se


# ------------------------------------------------------------------------- erase and views
def erase_numpy(x: np.ndarray, top: np.ndarray, left: np.ndarray, s: int) -> np.ndarray:
    out = x.copy()
    N, _, H, W = x.shape
    for n in range(N):
        for i in range(H):
            for j in range(W):
                if top[n] <= i < top[n] + s and left[n] <= j < left[n] + s:
                    out[n, :, i, j] = 0.0
    return out


@pytest.mark.parametrize("s", [0, 1, 3, 9])
def test_erase_matches_a_loop(s: int, device: torch.device) -> None:
    g = torch.Generator().manual_seed(s)
    x = randn(g, 6, 2, 5, 7, device=device)
    top = torch.tensor([-3, 0, 2, 4, 6, -9]).to(device)
    left = torch.tensor([0, -1, 3, 6, 7, 2]).to(device)
    before = x.clone()
    got = ssl.erase(x, top, left, s)
    assert torch.equal(x, before), "erase must not modify its input"
    assert got.device == x.device and got.dtype == x.dtype
    expected = erase_numpy(x.cpu().numpy(), top.cpu().numpy(), left.cpu().numpy(), s)
    np.testing.assert_array_equal(got.cpu().numpy(), expected)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64])
def test_erase_accepts_every_integer_corner_dtype(dtype: torch.dtype) -> None:
    x = torch.ones(2, 1, 4, 4)
    got = ssl.erase(x, torch.tensor([1, 2], dtype=dtype), torch.tensor([0, 3], dtype=dtype), 2)
    expected = erase_numpy(x.numpy(), np.array([1, 2]), np.array([0, 3]), 2)
    np.testing.assert_array_equal(got.numpy(), expected)


def test_random_erase_frequency_is_uniform() -> None:
    """Corners uniform on {-s+1..H-1}: each pixel is erased with probability (s/(H+s-1))^2."""
    n, s, H = 20_000, 3, 8
    x = torch.ones(n, 1, H, H)
    erased = (ssl.random_erase(x, s, torch.Generator().manual_seed(0)) == 0).double().mean(0)[0]
    p = (s / (H + s - 1)) ** 2
    se = math.sqrt(p * (1 - p) / n)
    assert torch.all((erased - p).abs() < 5 * se)


def test_random_erase_is_reproducible_and_bounded() -> None:
    x = torch.ones(50, 1, 8, 8)
    a = ssl.random_erase(x, 3, torch.Generator().manual_seed(5))
    b = ssl.random_erase(x, 3, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    per_image = (a == 0).flatten(1).sum(1)
    assert int(per_image.max()) <= 9 and int(per_image.min()) >= 1


def test_augment_identity_and_noise_level(device: torch.device) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(40, 1, 8, 8, generator=g).to(device)
    same = ssl.augment(x, generator=g, max_shift=0, erase_size=0, noise_std=0.0)
    assert torch.equal(same, x) and same.device == x.device
    noisy = ssl.augment(x, generator=g, max_shift=0, erase_size=0, noise_std=0.3)
    residual = (noisy - x).flatten().cpu().double()
    assert residual.std().item() == pytest.approx(0.3, rel=0.05)
    assert abs(residual.mean().item()) < 5 * 0.3 / math.sqrt(residual.numel())


# ------------------------------------------------------------------------- label subsets
@pytest.mark.parametrize("fraction", [0.01, 0.1, 0.5, 1.0])
def test_label_subset_is_stratified(fraction: float) -> None:
    g = torch.Generator().manual_seed(1)
    y = torch.randint(0, 5, (300,), generator=g).to(torch.int16)
    idx = ssl.label_subset(y, fraction, torch.Generator().manual_seed(2))
    assert idx.dtype == torch.int64 and len(torch.unique(idx)) == len(idx)
    assert torch.equal(idx, torch.sort(idx).values)
    for c in range(5):
        n_c = int((y == c).sum())
        assert int((y[idx] == c).sum()) == max(1, round(fraction * n_c))


# ------------------------------------------------------------------------- linear probe
@pytest.mark.parametrize("lam", [1e-3, 1e-1])
def test_linear_probe_matches_scikit_learn(lam: float, device: torch.device) -> None:
    g = torch.Generator().manual_seed(0)
    N, D, K = 90, 5, 3
    y = torch.arange(N) % K
    X = randn(g, N, D) + torch.nn.functional.one_hot(y, 5).double()[:, :D] * 1.5
    W, b = ssl.linear_probe(X.to(device), y.to(torch.int32).to(device), K, weight_decay=lam)
    assert W.shape == (K, D) and b.shape == (K,) and W.device == X.to(device).device
    reference = LogisticRegression(C=1.0 / (N * lam), tol=1e-12, max_iter=10_000)
    reference.fit(X.numpy(), y.numpy())
    X_new = randn(g, 40, D)
    ours = torch.softmax(X_new @ W.cpu().T + b.cpu(), dim=1).numpy()
    np.testing.assert_allclose(ours, reference.predict_proba(X_new.numpy()), atol=1e-6)
    # W is unique (strictly convex in W); sklearn's is the same to its tolerance.
    np.testing.assert_allclose(W.cpu().numpy(), reference.coef_, atol=1e-5)


def test_linear_probe_gradient_vanishes_at_its_solution() -> None:
    g = torch.Generator().manual_seed(9)
    X, y = randn(g, 60, 4), torch.randint(0, 4, (60,), generator=g)
    W, b = ssl.linear_probe(X, y, 4, weight_decay=1e-2)
    W.requires_grad_(), b.requires_grad_()
    loss = torch.nn.functional.cross_entropy(X @ W.T + b, y) + 0.5e-2 * (W**2).sum()
    gW, gb = torch.autograd.grad(loss, (W, b))
    assert gW.abs().max() < 1e-6 and gb.abs().max() < 1e-6


# ------------------------------------------------------------------------- bad input
def _ones(*shape: int) -> Tensor:
    return torch.ones(*shape)


BAD: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    ("nt_xent 1-D", lambda: ssl.nt_xent(_ones(3), _ones(3)), ValueError, "z1"),
    ("nt_xent shapes", lambda: ssl.nt_xent(_ones(3, 2), _ones(4, 2)), ValueError, "z2"),
    (
        "nt_xent ints",
        lambda: ssl.nt_xent(torch.ones(2, 2, dtype=torch.int64), _ones(2, 2)),
        TypeError,
        "z1",
    ),
    ("nt_xent dtypes", lambda: ssl.nt_xent(_ones(2, 2), _ones(2, 2).double()), TypeError, "z2"),
    ("nt_xent devices", lambda: ssl.nt_xent(_ones(2, 2), _ones(2, 2).to("meta")), ValueError, "z2"),
    (
        "nt_xent tau",
        lambda: ssl.nt_xent(_ones(2, 2), _ones(2, 2), temperature=0.0),
        ValueError,
        "temperature",
    ),
    (
        "nt_xent zero row",
        lambda: ssl.nt_xent(torch.zeros(2, 2), _ones(2, 2)),
        ValueError,
        "non-zero",
    ),
    ("nt_xent list", lambda: ssl.nt_xent([[1.0]], _ones(1, 1)), TypeError, "z1"),  # type: ignore[arg-type]
    ("info_nce rect", lambda: ssl.info_nce(_ones(2, 3)), ValueError, "square"),
    ("info_nce empty", lambda: ssl.info_nce(_ones(0, 0)), ValueError, "scores"),
    ("info_nce int", lambda: ssl.info_nce(torch.eye(2, dtype=torch.int64)), TypeError, "scores"),
    (
        "erase 3-D",
        lambda: ssl.erase(
            _ones(2, 4, 4), torch.zeros(2, dtype=torch.long), torch.zeros(2, dtype=torch.long), 1
        ),
        ValueError,
        "images",
    ),
    (
        "erase float corner",
        lambda: ssl.erase(_ones(2, 1, 4, 4), torch.zeros(2), torch.zeros(2, dtype=torch.long), 1),
        TypeError,
        "top",
    ),
    (
        "erase corner shape",
        lambda: ssl.erase(
            _ones(2, 1, 4, 4), torch.zeros(3, dtype=torch.long), torch.zeros(2, dtype=torch.long), 1
        ),
        ValueError,
        "top",
    ),
    (
        "erase size",
        lambda: ssl.erase(
            _ones(2, 1, 4, 4),
            torch.zeros(2, dtype=torch.long),
            torch.zeros(2, dtype=torch.long),
            -1,
        ),
        ValueError,
        "size",
    ),
    (
        "erase corner device",
        lambda: ssl.erase(
            _ones(2, 1, 4, 4),
            torch.zeros(2, dtype=torch.long, device="meta"),
            torch.zeros(2, dtype=torch.long),
            1,
        ),
        ValueError,
        "top",
    ),
    ("random_erase gen", lambda: ssl.random_erase(_ones(2, 1, 4, 4), 1, 0), TypeError, "generator"),  # type: ignore[arg-type]
    (
        "augment noise",
        lambda: ssl.augment(_ones(2, 1, 4, 4), generator=torch.Generator(), noise_std=-1.0),
        ValueError,
        "noise_std",
    ),
    (
        "label_subset frac",
        lambda: ssl.label_subset(torch.zeros(3, dtype=torch.long), 0.0, torch.Generator()),
        ValueError,
        "fraction",
    ),
    (
        "label_subset float",
        lambda: ssl.label_subset(torch.zeros(3), 0.5, torch.Generator()),
        TypeError,
        "labels",
    ),
    (
        "label_subset 2-D",
        lambda: ssl.label_subset(torch.zeros(3, 1, dtype=torch.long), 0.5, torch.Generator()),
        ValueError,
        "labels",
    ),
    (
        "probe label range",
        lambda: ssl.linear_probe(_ones(3, 2), torch.tensor([0, 1, 5]), 3),
        ValueError,
        "labels",
    ),
    (
        "probe label shape",
        lambda: ssl.linear_probe(_ones(3, 2), torch.tensor([0, 1]), 3),
        ValueError,
        "labels",
    ),
    (
        "probe bool labels",
        lambda: ssl.linear_probe(_ones(3, 2), torch.tensor([True, False, True]), 3),
        TypeError,
        "labels",
    ),
    (
        "probe classes",
        lambda: ssl.linear_probe(_ones(3, 2), torch.tensor([0, 0, 0]), 1),
        ValueError,
        "num_classes",
    ),
    (
        "probe decay",
        lambda: ssl.linear_probe(_ones(3, 2), torch.tensor([0, 1, 0]), 2, weight_decay=0.0),
        ValueError,
        "weight_decay",
    ),
    (
        "probe nan",
        lambda: ssl.linear_probe(torch.full((3, 2), math.nan), torch.tensor([0, 1, 0]), 2),
        ValueError,
        "features",
    ),
    (
        "probe devices",
        lambda: ssl.linear_probe(_ones(3, 2), torch.tensor([0, 1, 0], device="meta"), 2),
        ValueError,
        "labels",
    ),
]


@pytest.mark.parametrize(("case", "call", "error", "word"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_raises_a_clear_error(
    case: str, call: Callable[[], Any], error: type[Exception], word: str
) -> None:
    with pytest.raises(error, match=word):
        call()
