"""dlbook.linalg: norms, structured matrices, matrix norms, conditioning, SVD tools, PCA."""

from __future__ import annotations

import itertools
import math
from typing import Any, Literal

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.decomposition import PCA
from sklearn.linear_model import Ridge

from dlbook import data, linalg

DT = torch.float64
SETTINGS = settings(max_examples=40, deadline=None)


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def t(a: np.ndarray | list[float], device: torch.device | str = "cpu") -> torch.Tensor:
    return torch.as_tensor(np.asarray(a), dtype=DT, device=device)


def npy(x: torch.Tensor) -> np.ndarray:
    return x.detach().cpu().numpy()


def matrices(rows: int = 5, cols: int = 5) -> st.SearchStrategy[np.ndarray]:
    """Bounded real matrices with entries in [-10, 10]."""
    shape = st.tuples(st.integers(1, rows), st.integers(1, cols))
    floats = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
    return shape.flatmap(lambda s: arrays(np.float64, s, elements=floats))


def vectors(n_max: int = 8) -> st.SearchStrategy[np.ndarray]:
    floats = st.floats(-100, 100, allow_nan=False, allow_infinity=False)
    return st.integers(1, n_max).flatmap(lambda n: arrays(np.float64, (n,), elements=floats))


# ---------------------------------------------------------------- vector norms
@pytest.mark.parametrize("p", [0, 0.1, 0.5, 1, 1.5, 2, 3, math.inf])
def test_lp_norm_matches_numpy(p: float, device: torch.device) -> None:
    x = rng(0).normal(size=(4, 7))
    x[0, :3] = 0.0  # zeros matter for p = 0
    got = linalg.lp_norm(t(x, device), p)
    assert got.device.type == device.type and got.shape == (4,)
    expected = [np.linalg.norm(row, ord=p) for row in x]
    np.testing.assert_allclose(npy(got), expected, rtol=1e-12, atol=0)


def test_lp_norm_counts_nonzeros_and_survives_extreme_scales() -> None:
    assert float(linalg.lp_norm(t([0.0, -3.0, 0.0, 1e-300]), 0)) == 2.0
    huge = linalg.lp_norm(t([1e200, 1e200]), 2)
    assert math.isclose(float(huge), math.sqrt(2) * 1e200, rel_tol=1e-12)
    tiny = linalg.lp_norm(t([3e-200, 4e-200]), 2)
    assert math.isclose(float(tiny), 5e-200, rel_tol=1e-12)
    assert float(linalg.lp_norm(t([0.0, 0.0]), 0.5)) == 0.0


@SETTINGS
@given(vectors())
def test_norm_inequalities(x: np.ndarray) -> None:
    v, n = t(x), x.size
    inf, two, one = (float(linalg.lp_norm(v, p)) for p in (math.inf, 2, 1))
    slack = 1e-9 * (1 + one)
    assert inf <= two + slack and two <= one + slack
    assert one <= math.sqrt(n) * two + slack and two <= math.sqrt(n) * inf + slack
    # ||x||_q <= ||x||_p for p <= q, also for the quasi-norms
    values = [float(linalg.lp_norm(v, p)) for p in (0.1, 0.5, 1, 2, 4)]
    for a, b in itertools.pairwise(values):
        assert b <= a * (1 + 1e-9) + 1e-12


@SETTINGS
@given(vectors(6), st.sampled_from([1.0, 1.5, 2.0, 3.0, math.inf]), st.integers(0, 2**31))
def test_triangle_inequality_for_p_at_least_one(x: np.ndarray, p: float, seed: int) -> None:
    y = rng(seed).normal(size=x.shape) * 50
    lhs = float(linalg.lp_norm(t(x + y), p))
    rhs = float(linalg.lp_norm(t(x), p)) + float(linalg.lp_norm(t(y), p))
    assert lhs <= rhs * (1 + 1e-12) + 1e-9


def test_triangle_inequality_fails_below_one() -> None:
    e1, e2 = t([1.0, 0.0]), t([0.0, 1.0])
    # ||e1 + e2||_{1/2} = (1 + 1)^2 = 4 > ||e1|| + ||e2|| = 2: a quasi-norm only.
    assert float(linalg.lp_norm(e1 + e2, 0.5)) == pytest.approx(4.0, rel=1e-12)


@pytest.mark.parametrize("p", [0.1, 0.5, 1, 2, math.inf])
def test_unit_sphere_lies_on_the_sphere(p: float) -> None:
    pts = linalg.unit_sphere(p, num=101)
    assert pts.shape == (101, 2)
    np.testing.assert_allclose(npy(linalg.lp_norm(pts, p)), 1.0, rtol=1e-12)
    np.testing.assert_allclose(npy(pts[0]), npy(pts[-1]), atol=1e-12)  # closed curve
    # cardinal directions hit (1, 0) and (0, 1)
    np.testing.assert_allclose(npy(pts[0]), [1.0, 0.0], atol=1e-12)


# ---------------------------------------------------------------- structured matrices
@pytest.mark.parametrize(("m", "n"), [(1, 1), (3, 5), (6, 2), (4, 4)])
def test_toeplitz_matches_scipy(m: int, n: int, device: torch.device) -> None:
    c, r = rng(m).normal(size=m), rng(n + 10).normal(size=n)
    got = linalg.toeplitz(t(c, device), t(r, device))
    assert got.device.type == device.type
    np.testing.assert_array_equal(npy(got), scipy.linalg.toeplitz(c, r))
    np.testing.assert_array_equal(npy(linalg.toeplitz(t(c))), scipy.linalg.toeplitz(c))


def test_toeplitz_accepts_integers() -> None:
    got = linalg.toeplitz(torch.tensor([1, 2, 3]), torch.tensor([9, 4]))
    np.testing.assert_array_equal(got.numpy(), scipy.linalg.toeplitz([1, 2, 3], [9, 4]))


@pytest.mark.parametrize("n", [1, 2, 5, 8])
def test_circulant_matches_scipy(n: int, device: torch.device) -> None:
    c = rng(n).normal(size=n)
    got = linalg.circulant(t(c, device))
    assert got.device.type == device.type
    np.testing.assert_array_equal(npy(got), scipy.linalg.circulant(c))


def test_circulant_product_is_circular_convolution() -> None:
    c, x = rng(1).normal(size=6), rng(2).normal(size=6)
    circular = np.real(np.fft.ifft(np.fft.fft(c) * np.fft.fft(x)))
    np.testing.assert_allclose(npy(linalg.circulant(t(c)) @ t(x)), circular, atol=1e-12)


@pytest.mark.parametrize("mode", ["full", "valid", "same"])
@pytest.mark.parametrize(("k", "n"), [(1, 5), (3, 8), (4, 7), (7, 4), (5, 5)])
def test_convolution_matrix_matches_np_convolve(
    mode: Literal["full", "valid", "same"], k: int, n: int, device: torch.device
) -> None:
    kernel, x = rng(k).normal(size=k), rng(100 + n).normal(size=n)
    T = linalg.convolution_matrix(t(kernel, device), n, mode)
    assert T.device.type == device.type
    np.testing.assert_allclose(npy(T @ t(x, device)), np.convolve(x, kernel, mode), atol=1e-12)
    # Toeplitz: constant along every diagonal
    Tn = npy(T)
    assert np.allclose(Tn[1:, 1:], Tn[:-1, :-1])


def test_conv1d_of_deep_learning_is_the_flipped_convolution() -> None:
    # torch's conv1d is cross-correlation: convolution with the kernel reversed.
    kernel, x = rng(3).normal(size=3), rng(4).normal(size=9)
    T = linalg.convolution_matrix(t(kernel).flip(0), 9, "valid")
    expected = F.conv1d(t(x).view(1, 1, -1), t(kernel).view(1, 1, -1)).flatten()
    np.testing.assert_allclose(npy(T @ t(x)), npy(expected), atol=1e-12)


@pytest.mark.parametrize("n", [1, 4, 7, 64])
def test_dft_matrix_is_the_fft_and_diagonalises_circulants(n: int, device: torch.device) -> None:
    Fm = linalg.dft_matrix(n, device=device)
    assert Fm.device.type == device.type and Fm.dtype == torch.complex128
    x = rng(n).normal(size=n)
    got = Fm @ torch.as_tensor(x, dtype=torch.complex128, device=device)
    np.testing.assert_allclose(npy(got), np.fft.fft(x), atol=1e-10)
    # F/sqrt(n) is unitary
    Fn = npy(Fm)
    np.testing.assert_allclose(Fn.conj().T @ Fn / n, np.eye(n), atol=1e-10)
    # F C F^{-1} = diag(fft(c))
    c = rng(n + 1).normal(size=n)
    C = scipy.linalg.circulant(c)
    D = Fn @ C @ np.linalg.inv(Fn)
    np.testing.assert_allclose(D, np.diag(np.fft.fft(c)), atol=1e-9)


def test_givens_matches_closed_form(device: torch.device) -> None:
    theta = 0.7
    G = linalg.givens(4, 3, 1, theta, device=device)
    assert G.device.type == device.type
    expected = np.eye(4)
    expected[np.ix_([3, 1], [3, 1])] = [
        [np.cos(theta), -np.sin(theta)],
        [np.sin(theta), np.cos(theta)],
    ]
    np.testing.assert_allclose(npy(G), expected, atol=1e-15)


@SETTINGS
@given(
    st.integers(2, 6).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.integers(0, n - 1),
            st.integers(0, n - 1),
            st.floats(-10, 10),
            arrays(np.float64, (n,), elements=st.floats(-100, 100)),
        )
    )
)
def test_givens_is_orthogonal_and_touches_two_coordinates(
    args: tuple[int, int, int, float, np.ndarray],
) -> None:
    n, i, j, theta, x = args
    if i == j:
        j = (i + 1) % n
    G = npy(linalg.givens(n, i, j, theta))
    np.testing.assert_allclose(G.T @ G, np.eye(n), atol=1e-12)
    assert np.linalg.det(G) == pytest.approx(1.0, abs=1e-12)
    y = G @ x
    assert np.linalg.norm(y) == pytest.approx(np.linalg.norm(x), rel=1e-12, abs=1e-9)
    untouched = [k for k in range(n) if k not in (i, j)]
    np.testing.assert_array_equal(y[untouched], x[untouched])


def test_givens_zeroes_an_entry() -> None:
    # Choosing theta = atan2(-x_j, x_i)... the textbook use: rotate x onto axis i.
    x = np.array([3.0, 0.0, 4.0])
    theta = math.atan2(x[2], x[0])
    y = npy(linalg.givens(3, 0, 2, -theta)) @ x
    np.testing.assert_allclose(y, [5.0, 0.0, 0.0], atol=1e-12)


@SETTINGS
@given(st.integers(1, 8), st.integers(0, 2**31 - 1))
def test_random_orthogonal_preserves_norms(n: int, seed: int) -> None:
    Q = linalg.random_orthogonal(n, generator=torch.Generator().manual_seed(seed))
    np.testing.assert_allclose(npy(Q.T @ Q), np.eye(n), atol=1e-12)
    x = rng(seed).normal(size=n)
    assert np.linalg.norm(npy(Q) @ x) == pytest.approx(np.linalg.norm(x), rel=1e-12)


def test_random_orthogonal_is_seeded_and_on_device(device: torch.device) -> None:
    a = linalg.random_orthogonal(5, generator=torch.Generator().manual_seed(3), device=device)
    b = linalg.random_orthogonal(5, generator=torch.Generator().manual_seed(3), device=device)
    assert a.device.type == device.type and torch.equal(a, b)
    # Haar: both determinants +1 and -1 occur
    dets = {
        round(float(np.linalg.det(npy(linalg.random_orthogonal(3, generator=g)))))
        for g in [torch.Generator().manual_seed(s) for s in range(20)]
    }
    assert dets == {-1, 1}


def test_matrix_with_singular_values(device: torch.device) -> None:
    s = t([50.0, 3.0, 1.0, 0.01], device)
    A = linalg.matrix_with_singular_values(s, 6, generator=torch.Generator().manual_seed(0))
    assert A.shape == (6, 4) and A.device.type == device.type
    np.testing.assert_allclose(np.linalg.svd(npy(A), compute_uv=False), npy(s), rtol=1e-10)


# ---------------------------------------------------------------- matrix norms
KINDS: dict[str, Any] = {"fro": "fro", "spectral": 2, "nuclear": "nuc", "1": 1, "inf": np.inf}


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (6, 2)])
def test_matrix_norm_matches_numpy(kind: str, shape: tuple[int, int], device: torch.device) -> None:
    A = rng(shape[0]).normal(size=shape)
    got = linalg.matrix_norm(t(A, device), kind)
    assert got.device.type == device.type and got.shape == ()
    assert float(got) == pytest.approx(np.linalg.norm(A, ord=KINDS[kind]), rel=1e-12)


@SETTINGS
@given(matrices(), st.integers(1, 5), st.integers(0, 2**31))
def test_matrix_norms_are_submultiplicative(A: np.ndarray, p: int, seed: int) -> None:
    B = rng(seed).normal(size=(A.shape[1], p)) * 5
    for kind in KINDS:
        lhs = float(linalg.matrix_norm(t(A @ B), kind))
        rhs = float(linalg.matrix_norm(t(A), kind)) * float(linalg.matrix_norm(t(B), kind))
        assert lhs <= rhs * (1 + 1e-10) + 1e-10, kind


@SETTINGS
@given(matrices())
def test_matrix_norm_inequalities(A: np.ndarray) -> None:
    spec, fro, nuc = (float(linalg.matrix_norm(t(A), k)) for k in ("spectral", "fro", "nuclear"))
    r = max(np.linalg.matrix_rank(A), 1)
    tol = 1e-9 * (1 + nuc)
    assert spec <= fro + tol and fro <= nuc + tol
    assert fro <= math.sqrt(r) * spec + tol and nuc <= math.sqrt(r) * fro + tol
    # the Frobenius norm is the trace formula
    assert fro == pytest.approx(math.sqrt(np.trace(A.T @ A)), rel=1e-9, abs=1e-12)


@SETTINGS
@given(matrices(), st.integers(0, 2**31))
def test_trace_is_cyclic(A: np.ndarray, seed: int) -> None:
    B = rng(seed).normal(size=A.T.shape)
    lhs = float(torch.trace(t(A) @ t(B)))
    rhs = float(torch.trace(t(B) @ t(A)))
    assert lhs == pytest.approx(rhs, rel=1e-9, abs=1e-9)


@SETTINGS
@given(matrices(), st.integers(0, 2**31))
def test_trace_cauchy_schwarz(A: np.ndarray, seed: int) -> None:
    B = rng(seed).normal(size=A.shape) * 3
    lhs = float(torch.trace(t(A).T @ t(B)))
    rhs = float(linalg.matrix_norm(t(A), "fro")) * float(linalg.matrix_norm(t(B), "fro"))
    assert lhs <= rhs * (1 + 1e-12) + 1e-9


@SETTINGS
@given(st.integers(1, 6), st.integers(0, 2**31))
def test_determinant_is_product_of_eigenvalues_and_singular_values(n: int, seed: int) -> None:
    A = rng(seed).normal(size=(n, n))
    det = np.linalg.det(A)
    assert np.prod(np.linalg.eigvals(A)).real == pytest.approx(det, rel=1e-8, abs=1e-10)
    assert np.prod(np.linalg.svd(A, compute_uv=False)) == pytest.approx(abs(det), rel=1e-8)


# ---------------------------------------------------------------- rank, condition, span
@pytest.mark.parametrize(("m", "n", "r"), [(5, 5, 5), (6, 4, 2), (3, 7, 1), (4, 4, 0)])
def test_rank_matches_numpy(m: int, n: int, r: int, device: torch.device) -> None:
    g = rng(m * n + r)
    A = g.normal(size=(m, r)) @ g.normal(size=(r, n))
    assert linalg.rank(t(A, device)) == np.linalg.matrix_rank(A) == r


def test_rank_tolerance() -> None:
    A = np.diag([1.0, 1e-6, 1e-13])
    assert linalg.rank(t(A)) == 3
    assert linalg.rank(t(A), rtol=1e-8) == 2
    assert linalg.rank(t(A), rtol=1e-3) == 1


@pytest.mark.parametrize("kappa", [1.0, 10.0, 1e4, 1e8])
def test_condition_number_matches_numpy(kappa: float, device: torch.device) -> None:
    s = torch.logspace(0, -math.log10(kappa), 5, dtype=DT, device=device)
    A = linalg.matrix_with_singular_values(s, generator=torch.Generator().manual_seed(1))
    got = linalg.condition_number(A)
    assert got == pytest.approx(np.linalg.cond(npy(A)), rel=1e-6)
    assert got == pytest.approx(kappa, rel=1e-6)


def test_condition_number_of_singular_matrix_is_inf() -> None:
    assert linalg.condition_number(torch.zeros(3, 3, dtype=DT)) == math.inf


@SETTINGS
@given(st.integers(2, 6), st.floats(0, 8), st.floats(-10, -1), st.integers(0, 2**31 - 1))
def test_condition_number_bound_holds(n: int, log_kappa: float, log_eps: float, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    s = torch.logspace(0, -log_kappa, n, dtype=DT)
    A = linalg.matrix_with_singular_values(s, generator=g)
    b = torch.randn(n, generator=g, dtype=DT)
    db = torch.randn(n, generator=g, dtype=DT)
    db = db * (10**log_eps * b.norm() / db.norm())  # relative perturbation 10^log_eps
    x = torch.linalg.solve(A, b)
    dx = torch.linalg.solve(A, b + db) - x
    rel_x, rel_b = float(dx.norm() / x.norm()), float(db.norm() / b.norm())
    assert rel_x <= linalg.condition_number(A) * rel_b * (1 + 1e-6) + 1e-12


def test_condition_number_bound_is_attained() -> None:
    # b along the top singular vector, the perturbation along the bottom one: equality.
    s = t([100.0, 1.0, 0.01])
    A = linalg.matrix_with_singular_values(s, generator=torch.Generator().manual_seed(0))
    U, _, _ = torch.linalg.svd(A)
    b, db = U[:, 0], 1e-6 * U[:, 2]
    dx = torch.linalg.solve(A, b + db) - torch.linalg.solve(A, b)
    ratio = float(dx.norm() / torch.linalg.solve(A, b).norm()) / float(db.norm() / b.norm())
    assert ratio == pytest.approx(linalg.condition_number(A), rel=1e-6)


@pytest.mark.parametrize(("m", "n", "r"), [(5, 3, 3), (6, 5, 2), (3, 6, 3), (4, 2, 1)])
def test_gram_schmidt_spans_the_columns(m: int, n: int, r: int, device: torch.device) -> None:
    g = rng(m + n + r)
    A = g.normal(size=(m, r)) @ g.normal(size=(r, n))
    Q = linalg.gram_schmidt(t(A, device))
    assert Q.device.type == device.type and Q.shape == (m, r)
    Qn = npy(Q)
    np.testing.assert_allclose(Qn.T @ Qn, np.eye(r), atol=1e-10)
    # the same subspace as scipy's SVD-based orth: equal orthogonal projectors
    basis = scipy.linalg.orth(A)
    np.testing.assert_allclose(Qn @ Qn.T, basis @ basis.T, atol=1e-10)


def test_gram_schmidt_of_zero_matrix_is_empty() -> None:
    assert linalg.gram_schmidt(torch.zeros(3, 2, dtype=DT)).shape == (3, 0)


# ---------------------------------------------------------------- pinv, lstsq, ridge
SHAPES = [(6, 3, 3), (6, 4, 2), (3, 6, 3), (5, 5, 5), (4, 4, 2)]


def low_rank(m: int, n: int, r: int, seed: int) -> np.ndarray:
    g = rng(seed)
    return np.asarray(g.normal(size=(m, r)) @ g.normal(size=(r, n)))


@pytest.mark.parametrize(("m", "n", "r"), SHAPES)
def test_pinv_matches_numpy_and_penrose(m: int, n: int, r: int, device: torch.device) -> None:
    A = low_rank(m, n, r, 0)
    P = linalg.pinv(t(A, device))
    assert P.device.type == device.type and P.shape == (n, m)
    Pn = npy(P)
    np.testing.assert_allclose(Pn, np.linalg.pinv(A), atol=1e-10)
    # The four Penrose conditions define A^+ uniquely.
    np.testing.assert_allclose(A @ Pn @ A, A, atol=1e-10)
    np.testing.assert_allclose(Pn @ A @ Pn, Pn, atol=1e-10)
    np.testing.assert_allclose((A @ Pn).T, A @ Pn, atol=1e-10)
    np.testing.assert_allclose((Pn @ A).T, Pn @ A, atol=1e-10)


def test_pinv_cutoff() -> None:
    A = t(np.diag([1.0, 1e-6]))
    np.testing.assert_allclose(npy(linalg.pinv(A)), np.diag([1.0, 1e6]), rtol=1e-12)
    np.testing.assert_allclose(npy(linalg.pinv(A, rcond=1e-3)), np.diag([1.0, 0.0]))


@pytest.mark.parametrize(("m", "n", "r"), SHAPES)
@pytest.mark.parametrize("outputs", [None, 3])
def test_least_squares_matches_lstsq(
    m: int, n: int, r: int, outputs: int | None, device: torch.device
) -> None:
    A = low_rank(m, n, r, 1)
    b = rng(2).normal(size=(m,) if outputs is None else (m, outputs))
    x = linalg.least_squares(t(A, device), t(b, device))
    assert x.device.type == device.type and x.shape == ((n,) if outputs is None else (n, outputs))
    expected = np.linalg.lstsq(A, b, rcond=None)[0]  # also the minimum-norm solution
    np.testing.assert_allclose(npy(x), expected, atol=1e-9)


def test_least_squares_solves_the_normal_equations() -> None:
    A, b = rng(5).normal(size=(20, 4)), rng(6).normal(size=20)
    x = npy(linalg.least_squares(t(A), t(b)))
    np.testing.assert_allclose(A.T @ (A @ x - b), 0.0, atol=1e-10)  # residual _|_ range(A)


@pytest.mark.parametrize(("m", "n", "r"), SHAPES)
@pytest.mark.parametrize("lam", [1e-3, 0.5, 10.0])
def test_ridge_matches_sklearn(m: int, n: int, r: int, lam: float, device: torch.device) -> None:
    A = low_rank(m, n, r, 3)
    b = rng(4).normal(size=(m, 2))
    x = linalg.ridge(t(A, device), t(b, device), lam)
    assert x.device.type == device.type and x.shape == (n, 2)
    # sklearn's Ridge minimises ||y - Xw||^2 + alpha ||w||^2: alpha = lambda, no rescaling
    model = Ridge(alpha=lam, fit_intercept=False, solver="cholesky").fit(A, b)
    np.testing.assert_allclose(npy(x), model.coef_.T, atol=1e-8)
    # the normal-equation form (A^T A + lam I) x = A^T b
    np.testing.assert_allclose(
        npy(x), np.linalg.solve(A.T @ A + lam * np.eye(n), A.T @ b), atol=1e-8
    )
    x1 = linalg.ridge(t(A, device), t(b[:, 0], device), lam)
    assert x1.shape == (n,)
    np.testing.assert_allclose(npy(x1), npy(x)[:, 0], atol=1e-12)


def test_ridge_limits() -> None:
    A, b = low_rank(4, 6, 3, 7), rng(8).normal(size=4)
    lstsq = np.linalg.lstsq(A, b, rcond=None)[0]
    np.testing.assert_allclose(npy(linalg.ridge(t(A), t(b), 0.0)), lstsq, atol=1e-10)
    np.testing.assert_allclose(npy(linalg.ridge(t(A), t(b), 1e-9)), lstsq, atol=1e-6)
    norms = [float(linalg.ridge(t(A), t(b), lam).norm()) for lam in (0.1, 1.0, 10.0, 100.0)]
    assert all(a > b for a, b in itertools.pairwise(norms))  # more shrinkage, smaller weights


# ---------------------------------------------------------------- PCA
def test_pca_matches_sklearn_on_digits(device: torch.device) -> None:
    X = data.load_digits(device, dtype=DT).X_train
    k = 10
    res = linalg.pca(X, k)
    assert all(v.device.type == device.type for v in res)
    assert res.mean.shape == (64,) and res.components.shape == (k, 64)
    sk = PCA(n_components=k, svd_solver="full").fit(npy(X))
    np.testing.assert_allclose(npy(res.explained_variance), sk.explained_variance_, rtol=1e-9)
    np.testing.assert_allclose(npy(res.mean), sk.mean_, atol=1e-12)
    C = npy(res.components)
    signs = np.sign(np.sum(C * sk.components_, axis=1))  # equal up to the sign of each row
    np.testing.assert_allclose(C, signs[:, None] * sk.components_, atol=1e-8)
    Z = linalg.pca_transform(X, res)
    assert Z.shape == (X.shape[0], k) and Z.device.type == device.type
    np.testing.assert_allclose(npy(Z), sk.transform(npy(X)) * signs, atol=1e-8)


def test_pca_components_orthonormal_sorted_and_signed() -> None:
    X = t(rng(9).normal(size=(50, 6)) @ np.diag([5.0, 3, 2, 1, 0.5, 0.1]))
    res = linalg.pca(X, 6)
    C = npy(res.components)
    np.testing.assert_allclose(C @ C.T, np.eye(6), atol=1e-12)
    ev = npy(res.explained_variance)
    assert np.all(np.diff(ev) <= 0)
    # the variances are the eigenvalues of the unbiased sample covariance
    np.testing.assert_allclose(ev, np.linalg.eigvalsh(np.cov(npy(X).T))[::-1], rtol=1e-9)
    pivots = C[np.arange(6), np.abs(C).argmax(axis=1)]
    assert np.all(pivots > 0)
    # scores have the explained variances, and k = d reconstructs exactly
    Z = npy(linalg.pca_transform(X, res))
    np.testing.assert_allclose(Z.var(axis=0, ddof=1), ev, rtol=1e-9)
    np.testing.assert_allclose(Z @ C + npy(res.mean), npy(X), atol=1e-10)


# ---------------------------------------------------------------- bad input
def test_bad_inputs_raise_named_errors() -> None:
    A = torch.ones(2, 3, dtype=DT)
    with pytest.raises(TypeError, match=r"`x` must be a torch.Tensor"):
        linalg.lp_norm([1.0, 2.0], 2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"`p` must be >= 0"):
        linalg.lp_norm(t([1.0]), -1)
    with pytest.raises(TypeError, match=r"`x` must have a floating-point dtype"):
        linalg.lp_norm(torch.tensor([1, 2]), 2)
    with pytest.raises(ValueError, match=r"`x` must have at least one axis"):
        linalg.lp_norm(torch.tensor(1.0), 2)
    with pytest.raises(ValueError, match=r"L0 ball is not a curve"):
        linalg.unit_sphere(0)
    with pytest.raises(ValueError, match=r"`c` must be a vector"):
        linalg.toeplitz(A)
    with pytest.raises(ValueError, match=r"`r` must match `c`"):
        linalg.toeplitz(t([1.0]), torch.tensor([1.0]))
    with pytest.raises(ValueError, match=r"`c` must be non-empty"):
        linalg.circulant(torch.zeros(0))
    with pytest.raises(ValueError, match=r"`mode` must be"):
        linalg.convolution_matrix(t([1.0]), 3, "circular")
    with pytest.raises(ValueError, match=r"`n` must be .*at least 1"):
        linalg.convolution_matrix(t([1.0]), 0)
    with pytest.raises(ValueError, match=r"`i` and `j` must differ"):
        linalg.givens(3, 1, 1, 0.5)
    with pytest.raises(ValueError, match=r"`j` must be an int in \[0, 3\)"):
        linalg.givens(3, 0, 3, 0.5)
    with pytest.raises(TypeError, match=r"`dtype` must be complex"):
        linalg.dft_matrix(4, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"`s` must be a non-empty vector of values >= 0"):
        linalg.matrix_with_singular_values(t([1.0, -1.0]))
    with pytest.raises(ValueError, match=r"`m` must be at least 2"):
        linalg.matrix_with_singular_values(t([1.0, 1.0]), 1)
    with pytest.raises(ValueError, match=r"`kind` must be one of"):
        linalg.matrix_norm(A, "2")
    with pytest.raises(ValueError, match=r"`A` must be a matrix \(2-D\), got shape \(3,\)"):
        linalg.rank(t([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match=r"`A` must be a square matrix, got shape \(2, 3\)"):
        linalg.condition_number(A)
    with pytest.raises(ValueError, match=r"`rcond` must be a non-negative number"):
        linalg.pinv(A, rcond=-1.0)
    with pytest.raises(ValueError, match=r"`b` must have shape \(2,\) or \(2, m\)"):
        linalg.least_squares(A, t([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match=r"`b` must match `A` in dtype"):
        linalg.least_squares(A, torch.ones(2, dtype=torch.float32))
    with pytest.raises(ValueError, match=r"`lam` must be .*a finite number >= 0"):
        linalg.ridge(A, t([1.0, 2.0]), -0.1)
    with pytest.raises(TypeError, match=r"`lam` must be a real number"):
        linalg.ridge(A, t([1.0, 2.0]), "1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"`X` must have at least 2 rows"):
        linalg.pca(torch.ones(1, 3, dtype=DT), 1)
    with pytest.raises(ValueError, match=r"`k` must be at most min\(N, d\) = 3"):
        linalg.pca(torch.randn(5, 3, dtype=DT), 4)
    with pytest.raises(TypeError, match=r"`k` must be an int"):
        linalg.pca(torch.randn(5, 3, dtype=DT), 2.0)  # type: ignore[arg-type]
    res = linalg.pca(torch.randn(5, 3, dtype=DT), 2)
    with pytest.raises(ValueError, match=r"`X` must have 3 columns"):
        linalg.pca_transform(torch.randn(5, 4, dtype=DT), res)


# --------------------------------------------------------------------------------------
# Positive definiteness, projections, power iteration, PCA reconstruction (issue 12)
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_is_positive_definite_agrees_with_eigenvalues(seed: int, device: torch.device) -> None:
    r = rng(seed)
    B = r.standard_normal((5, 5))
    # eigenvalues chosen by hand: all positive, one zero, one negative
    Q = np.linalg.qr(B)[0]
    for lam, pd, psd in [
        ([3.0, 2.0, 1.0, 0.5, 0.1], True, True),
        ([3.0, 2.0, 1.0, 0.5, 0.0], False, True),
        ([3.0, 2.0, 1.0, 0.5, -0.1], False, False),
    ]:
        A = Q @ np.diag(lam) @ Q.T
        A = (A + A.T) / 2
        assert (np.linalg.eigvalsh(A).min() > 1e-12) == pd  # the independent reference
        assert linalg.is_positive_definite(t(A, device)) is pd
        assert linalg.is_positive_definite(t(A, device), semi=True) is psd
    gram = B.T @ B  # a Gram matrix of independent columns is positive definite
    assert linalg.is_positive_definite(t(gram, device))
    np.testing.assert_allclose(npy(torch.linalg.cholesky(t(gram))), np.linalg.cholesky(gram))


def test_is_positive_definite_rejects_nonsymmetric() -> None:
    with pytest.raises(ValueError, match="symmetric"):
        linalg.is_positive_definite(torch.tensor([[1.0, 2.0], [0.0, 1.0]]))


@pytest.mark.parametrize(("m", "n", "rank"), [(6, 2, 2), (8, 3, 3), (7, 4, 2), (5, 5, 5)])
def test_projection_matrix_laws_and_formula(
    m: int, n: int, rank: int, device: torch.device
) -> None:
    r = rng(m * 10 + n)
    A = r.standard_normal((m, rank)) @ r.standard_normal((rank, n))
    P = npy(linalg.projection_matrix(t(A, device)))
    np.testing.assert_allclose(P @ P, P, atol=1e-12)  # idempotent
    np.testing.assert_allclose(P, P.T, atol=1e-12)  # symmetric
    assert round(float(np.trace(P))) == rank  # trace = dimension of the span
    Qs = scipy.linalg.orth(A)  # an independent orthonormal basis of the span
    np.testing.assert_allclose(P, Qs @ Qs.T, atol=1e-10)
    if rank == n:  # independent columns: the normal-equations formula
        np.testing.assert_allclose(P, A @ np.linalg.solve(A.T @ A, A.T), atol=1e-10)
    b = r.standard_normal(m)  # least squares fits are projections
    x = np.linalg.lstsq(A, b, rcond=None)[0]
    np.testing.assert_allclose(P @ b, A @ x, atol=1e-10)
    np.testing.assert_allclose(A.T @ (b - P @ b), 0.0, atol=1e-10)  # residual orthogonal


@pytest.mark.parametrize("ratio", [0.5, 0.8, 0.95])
def test_power_iteration_converges_at_the_eigenvalue_ratio(ratio: float) -> None:
    r = rng(int(ratio * 100))
    Q = np.linalg.qr(r.standard_normal((6, 6)))[0]
    lam = np.array([2.0, 2.0 * ratio, 0.7, 0.5, -0.3, 0.1])
    A = Q @ np.diag(lam) @ Q.T
    steps = 40
    res = linalg.power_iteration(t(A), steps, generator=torch.Generator().manual_seed(0))
    v1 = Q[:, 0]
    top = scipy.linalg.eigh(A, subset_by_index=[5, 5])[0][0]
    assert math.isclose(top, 2.0, rel_tol=1e-12)
    assert abs(float(res.eigenvalue) - top) <= 2 * ratio ** (2 * steps) * 10 + 1e-13
    # the angle to v1 shrinks by |lambda_2 / lambda_1| per step: fit the slope
    q = npy(res.iterates)  # (steps + 1, 6)
    sines = np.linalg.norm(q - np.outer(q @ v1, v1), axis=1)  # sine of the angle, accurately
    tangents = sines / np.abs(q @ v1)  # tan = ratio^t |c_2 / c_1| once lambda_2 dominates
    ts = np.arange(10, 25)
    slope = np.polyfit(ts, np.log(tangents[ts]), 1)[0]
    assert math.isclose(math.exp(slope), ratio, rel_tol=0.02)
    assert res.estimates.shape == (steps,) and res.iterates.shape == (steps + 1, 6)
    assert math.isclose(float(res.eigenvector.norm()), 1.0, rel_tol=1e-12)


def test_power_iteration_rejects_a_null_start() -> None:
    with pytest.raises(ValueError, match="zero vector"):
        linalg.power_iteration(torch.zeros(3, 3, dtype=DT), 2)


def test_reconstruction_error_is_eckart_young_and_matches_sklearn() -> None:
    X = data.load_digits(dtype=DT).X_train[:300]  # (300, 64)
    s = np.linalg.svd(npy(X - X.mean(0)), compute_uv=False)
    for k in (1, 5, 20, 40):
        res = linalg.pca(X, k)
        got = float(linalg.reconstruction_error(X, res))
        assert math.isclose(got, float((s[k:] ** 2).sum()), rel_tol=1e-9)
        skl = PCA(n_components=k, svd_solver="full").fit(npy(X))
        back = skl.inverse_transform(skl.transform(npy(X)))
        assert math.isclose(got, float(((npy(X) - back) ** 2).sum()), rel_tol=1e-9)
    # and it is the smallest of any rank-k approximation: a random rank-5 subspace is worse
    Qr = np.linalg.qr(rng(0).standard_normal((64, 5)))[0]
    Xc = npy(X - X.mean(0))
    assert ((Xc - Xc @ Qr @ Qr.T) ** 2).sum() > float(
        linalg.reconstruction_error(X, linalg.pca(X, 5))
    )


@pytest.mark.parametrize("seed", range(3))
def test_choose_components_matches_sklearn_cross_validation(seed: int) -> None:
    r = rng(seed)
    # 60 points near a 3-D subspace of R^8, with decreasing spread plus noise
    X = r.standard_normal((60, 3)) @ np.diag([4.0, 2.0, 1.0]) @ r.standard_normal((3, 8))
    X = X + 0.3 * r.standard_normal((60, 8))
    perm = torch.randperm(60, generator=torch.Generator().manual_seed(seed)).numpy()
    folds = np.array_split(perm, 5)  # the same folds as torch.chunk for 60 = 5 x 12
    cv = np.zeros(8)
    for k in range(1, 9):
        for held in folds:
            keep = np.setdiff1d(np.arange(60), held)
            model = PCA(n_components=k, svd_solver="full").fit(X[keep])
            back = model.inverse_transform(model.transform(X[held]))
            cv[k - 1] += ((X[held] - back) ** 2).sum() / 60
    for bound in (cv[0] * 1.01, cv[1] * 1.01, cv[2] * 0.999, cv[4] * 1.01):
        want = int(np.nonzero(cv <= bound)[0][0]) + 1
        got = linalg.choose_components(
            t(X), float(bound), generator=torch.Generator().manual_seed(seed)
        )
        assert got == want, (bound, cv)
    assert linalg.choose_components(t(X), 1e-30) == 8  # nothing meets it: min(N, d)
