"""Tests of dlbook.linear against scikit-learn, NumPy and closed forms (Chapter 5)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import Lasso, LinearRegression, Ridge
from sklearn.linear_model import lasso_path as sk_lasso_path
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import KFold, cross_val_score

from dlbook import linear
from dlbook.linear import LinearModel

F64 = torch.float64


def make_data(
    n: int = 40, d: int = 6, m: int | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A linear model with a few zero coefficients, an offset and noise (NumPy, float64)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, size=d) + rng.normal(size=d)
    shape = (d,) if m is None else (d, m)
    w = rng.normal(size=shape) * (rng.uniform(size=shape) < 0.6)
    y = X @ w + 1.5 + 0.3 * rng.normal(size=(n,) if m is None else (n, m))
    return X, y


def t(a: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """float64 on ``device`` (float32 on Apple's MPS, which has no float64)."""
    dtype = torch.float32 if torch.device(device).type == "mps" else F64
    return torch.tensor(a, dtype=dtype, device=device)


def tol(device: torch.device, tight: float) -> float:
    """``tight`` in float64; a float32 tolerance where the device has no float64."""
    return 1e-4 if device.type == "mps" else tight


def lasso_objective_np(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: object, lam: float) -> float:
    """sklearn's documented Lasso objective, (1/(2N))||y - Xw - b||^2 + alpha ||w||_1."""
    r = y - X @ w - b
    return float((r**2).sum() / (2 * len(X)) + lam * np.abs(w).sum())


# ------------------------------------------------------------------------ feature maps
@pytest.mark.parametrize("include_bias", [False, True])
def test_polynomial_features_match_numpy_vander(include_bias: bool) -> None:
    x = np.linspace(-1.5, 2.0, 7)
    expected = np.vander(x, 6, increasing=True)
    expected = expected if include_bias else expected[:, 1:]
    got = linear.polynomial_features(t(x), 5, include_bias=include_bias)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=0)


def test_gaussian_features_match_the_formula() -> None:
    rng = np.random.default_rng(1)
    x, c = rng.normal(size=(9, 3)), rng.normal(size=(4, 3))
    sq = ((x[:, None, :] - c[None, :, :]) ** 2).sum(-1)
    np.testing.assert_allclose(
        linear.gaussian_features(t(x), t(c), 0.7).numpy(), np.exp(-sq / (2 * 0.49)), rtol=1e-12
    )
    x1, c1 = np.linspace(0, 1, 5), np.array([0.0, 0.5])
    np.testing.assert_allclose(
        linear.gaussian_features(t(x1), t(c1), 0.3).numpy(),
        np.exp(-((x1[:, None] - c1[None, :]) ** 2) / (2 * 0.09)),
        rtol=1e-12,
    )


def test_mse_matches_sklearn() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(8, 3)), rng.normal(size=(8, 3))
    assert float(linear.mse(t(a), t(b))) == pytest.approx(mean_squared_error(b, a), rel=1e-12)


def test_predict_matches_numpy() -> None:
    rng = np.random.default_rng(3)
    X, W, b = rng.normal(size=(5, 4)), rng.normal(size=(2, 4)), rng.normal(size=2)
    # W is (out, in) = (m, D), as nn.Linear(D, m).weight: the same predictions
    got = linear.predict(LinearModel(t(W), t(b)), t(X))
    np.testing.assert_allclose(got.numpy(), X @ W.T + b, rtol=1e-12)
    layer = torch.nn.Linear(4, 2, dtype=F64)
    layer.load_state_dict({"weight": t(W), "bias": t(b)})
    np.testing.assert_allclose(layer(t(X)).detach().numpy(), got.numpy(), rtol=1e-12)
    w1 = rng.normal(size=4)  # one output: the weight is a vector (D,)
    np.testing.assert_allclose(
        linear.predict(LinearModel(t(w1), t(np.array(0.5))), t(X)).numpy(), X @ w1 + 0.5
    )


# ------------------------------------------------------------------- closed-form fits
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("m", [None, 3])
def test_least_squares_matches_sklearn(fit_intercept: bool, m: int | None) -> None:
    X, y = make_data(m=m)
    model = linear.fit_least_squares(t(X), t(y), fit_intercept=fit_intercept)
    sk = LinearRegression(fit_intercept=fit_intercept).fit(X, y)
    np.testing.assert_allclose(model.weight.numpy(), sk.coef_, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(model.bias.numpy(), sk.intercept_, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize(("n", "d"), [(30, 5), (6, 15)])
def test_least_squares_matches_numpy_lstsq_including_minimum_norm(n: int, d: int) -> None:
    # (6, 15) has infinitely many minimisers; lstsq and fit_least_squares pick the smallest.
    X, y = make_data(n=n, d=d, seed=4)
    model = linear.fit_least_squares(t(X), t(y), fit_intercept=False)
    expected = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(model.weight.numpy(), expected, rtol=1e-8, atol=1e-10)
    assert float(model.bias) == 0.0


def test_least_squares_solves_the_normal_equations() -> None:
    X, y = make_data(n=25, d=4, seed=5)
    model = linear.fit_least_squares(t(X), t(y))
    A = np.hstack([X, np.ones((25, 1))])  # the intercept as a constant feature
    expected = np.linalg.solve(A.T @ A, A.T @ y)
    np.testing.assert_allclose(model.weight.numpy(), expected[:-1], rtol=1e-9)
    assert float(model.bias) == pytest.approx(expected[-1], rel=1e-9)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("m", [None, 2])
@pytest.mark.parametrize("lam", [0.0, 0.1, 10.0])
def test_ridge_matches_sklearn(
    fit_intercept: bool, m: int | None, lam: float, device: torch.device
) -> None:
    X, y = make_data(m=m, seed=6)
    model = linear.fit_ridge(t(X, device), t(y, device), lam, fit_intercept=fit_intercept)
    assert model.weight.device == model.bias.device == torch.device(device)
    sk = Ridge(alpha=lam, fit_intercept=fit_intercept, solver="svd").fit(X, y)
    a = tol(device, 1e-10)
    np.testing.assert_allclose(model.weight.cpu().numpy(), sk.coef_, rtol=a * 10, atol=a)
    np.testing.assert_allclose(model.bias.cpu().numpy(), sk.intercept_, rtol=a * 10, atol=a)


def test_ridge_closed_form_and_wide_data() -> None:
    # D > N: X^T X is singular but X^T X + lam I is not.
    X, y = make_data(n=8, d=20, seed=7)
    lam = 0.5
    expected = np.linalg.solve(X.T @ X + lam * np.eye(20), X.T @ y)
    got = linear.fit_ridge(t(X), t(y), lam, fit_intercept=False).weight.numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-10)


# ----------------------------------------------------------------------------- lasso
@given(
    x=st.floats(-5, 5, allow_nan=False),
    thr=st.floats(0, 3, allow_nan=False),
)
@settings(max_examples=50, deadline=None)
def test_soft_threshold_is_the_prox_of_the_absolute_value(x: float, thr: float) -> None:
    z = float(linear.soft_threshold(torch.tensor([x], dtype=F64), thr)[0])
    # Brute force: minimise 1/2 (z - x)^2 + thr |z| on a grid of spacing h; the minimiser of
    # this 1-strongly convex function lies within h of the grid's best point.
    h = 1e-3
    grid = np.arange(-8.0, 8.0 + h, h)
    best = grid[np.argmin(0.5 * (grid - x) ** 2 + thr * np.abs(grid))]
    assert abs(z - best) <= h
    # Optimality condition: x - z is in thr * d|z| (thr*sign(z) if z != 0, else [-thr, thr]).
    if z != 0.0:
        assert x - z == pytest.approx(thr * np.sign(z), abs=1e-12)
    else:
        assert abs(x) <= thr + 1e-12


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("lam", [0.01, 0.1, 0.5])
def test_ista_matches_sklearn_lasso(fit_intercept: bool, lam: float, device: torch.device) -> None:
    X, y = make_data(seed=8)
    model, objective = linear.lasso_ista(
        t(X, device), t(y, device), lam, steps=1000, fit_intercept=fit_intercept
    )
    assert model.weight.device == objective.device == torch.device(device)
    model = LinearModel(model.weight.cpu().double(), model.bias.cpu().double())
    objective = objective.cpu().double()
    sk = Lasso(alpha=lam, fit_intercept=fit_intercept, tol=1e-14, max_iter=100_000).fit(X, y)
    # Both are run to convergence on a strongly convex problem (N > D, X of full rank), so
    # the minimiser is unique. ISTA's error shrinks at least by (1 - mu/L) per step, so 1,000
    # steps reach rounding level (1e-14 here); coordinate descent stops at tol=1e-14. What
    # is left is float64 rounding in two different algorithms: 1e-8 is a safe margin.
    # (On MPS, float32: 1e-4.)
    np.testing.assert_allclose(model.weight.numpy(), sk.coef_, rtol=0, atol=tol(device, 1e-8))
    assert float(model.bias) == pytest.approx(sk.intercept_, abs=tol(device, 1e-8))
    ours = lasso_objective_np(X, y, model.weight.numpy(), float(model.bias), lam)
    theirs = lasso_objective_np(X, y, sk.coef_, sk.intercept_, lam)
    assert ours == pytest.approx(theirs, rel=tol(device, 1e-12), abs=1e-12)
    assert float(objective[-1]) == pytest.approx(ours, rel=tol(device, 1e-12))
    assert float(linear.lasso_objective(model, t(X), t(y), lam)) == pytest.approx(ours, rel=1e-12)


def test_ista_matches_sklearn_lasso_with_several_outputs() -> None:
    X, y = make_data(m=2, seed=9)
    model, _ = linear.lasso_ista(t(X), t(y), 0.2, steps=1000)
    sk = Lasso(alpha=0.2, tol=1e-14, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(model.weight.numpy(), sk.coef_, atol=1e-8)
    np.testing.assert_allclose(model.bias.numpy(), sk.intercept_, atol=1e-8)


@given(
    seed=st.integers(0, 10_000),
    n=st.integers(3, 30),
    d=st.integers(1, 12),
    lam=st.floats(0.0, 2.0),
)
@settings(max_examples=40, deadline=None)
def test_ista_objective_never_increases(seed: int, n: int, d: int, lam: float) -> None:
    X, y = make_data(n=n, d=d, seed=seed)
    _, objective = linear.lasso_ista(t(X), t(y), lam, steps=60)
    steps = objective[1:] - objective[:-1]
    assert bool((steps <= 1e-12 * objective[0].abs() + 1e-14).all())


def test_ista_with_zero_lambda_is_gradient_descent_to_least_squares() -> None:
    X, y = make_data(n=30, d=3, seed=10)
    model, _ = linear.lasso_ista(t(X), t(y), 0.0, steps=3000)
    sk = LinearRegression().fit(X, y)
    np.testing.assert_allclose(model.weight.numpy(), sk.coef_, atol=1e-8)


def test_subgradient_method_approaches_the_lasso_minimum() -> None:
    X, y = make_data(seed=11)
    lam = 0.1
    sk = Lasso(alpha=lam, tol=1e-14, max_iter=100_000).fit(X, y)
    best = lasso_objective_np(X, y, sk.coef_, sk.intercept_, lam)
    model, objective = linear.lasso_subgradient(t(X), t(y), lam, steps=3000)
    ours = lasso_objective_np(X, y, model.weight.numpy(), float(model.bias), lam)
    # Subgradient methods converge like O(1/sqrt(t)): close, but not to rounding level.
    assert best <= ours + 1e-12
    assert ours - best < 1e-3 * best
    assert ours == pytest.approx(float(objective.min()), rel=1e-12)
    np.testing.assert_allclose(model.weight.numpy(), sk.coef_, atol=5e-2)


def test_lambda_max_is_where_the_lasso_solution_becomes_zero() -> None:
    X, y = make_data(seed=12)
    lam_max = linear.lasso_lambda_max(t(X), t(y))
    above = Lasso(alpha=lam_max * 1.001, tol=1e-12).fit(X, y)
    below = Lasso(alpha=lam_max * 0.95, tol=1e-12).fit(X, y)
    assert np.all(above.coef_ == 0.0)
    assert np.any(below.coef_ != 0.0)
    model, _ = linear.lasso_ista(t(X), t(y), lam_max * 1.001, steps=200)
    assert bool((model.weight == 0).all())


def test_lasso_path_matches_sklearn_lasso_path() -> None:
    X, y = make_data(seed=13)
    lam_max = linear.lasso_lambda_max(t(X), t(y))
    lams = lam_max * np.logspace(0, -3, 12)
    ours = linear.lasso_path(t(X), t(y), lams.tolist(), steps=300)  # warm starts: few steps
    Xc, yc = X - X.mean(0), y - y.mean()  # sklearn's lasso_path fits no intercept
    _, coefs, _ = sk_lasso_path(Xc, yc, alphas=lams, tol=1e-14, max_iter=100_000)
    np.testing.assert_allclose(ours.numpy(), coefs.T, atol=1e-7)


# ----------------------------------------------------------------------------- devices
def test_every_function_stays_on_the_input_device(device: torch.device) -> None:
    X_np, y_np = make_data(n=20, d=3, seed=14)
    X = torch.tensor(X_np, dtype=torch.float32, device=device)
    y = torch.tensor(y_np, dtype=torch.float32, device=device)
    x = X[:, 0]
    assert linear.polynomial_features(x, 3).device == X.device
    assert linear.gaussian_features(x, x[:4], 0.5).device == X.device
    sk = Ridge(alpha=1.0).fit(X_np, y_np)
    for model in (
        linear.fit_least_squares(X, y),
        linear.fit_ridge(X, y, 1.0),
        linear.lasso_ista(X, y, 0.1, steps=50)[0],
        linear.lasso_subgradient(X, y, 0.1, steps=50)[0],
    ):
        assert model.weight.device == X.device and model.bias.device == X.device
        assert linear.predict(model, X).device == X.device
    ridge = linear.fit_ridge(X, y, 1.0)
    np.testing.assert_allclose(ridge.weight.cpu().numpy(), sk.coef_, rtol=1e-4, atol=1e-4)
    assert linear.mse(y, y).device == X.device
    assert linear.soft_threshold(y, 0.5).device == X.device
    assert linear.lasso_path(X, y, [0.5, 0.1], steps=20).device == X.device


# --------------------------------------------------------------------------- bad input
def test_bad_input_is_rejected_with_clear_errors() -> None:
    X, y = torch.zeros(5, 2, dtype=F64), torch.zeros(5, dtype=F64)
    with pytest.raises(ValueError, match="`y` must have shape"):
        linear.fit_least_squares(X, torch.zeros(4, dtype=F64))
    with pytest.raises(ValueError, match="`X` must be a matrix"):
        linear.fit_ridge(torch.zeros(5, dtype=F64), y, 1.0)
    with pytest.raises(ValueError, match="`lam` must be finite and non-negative"):
        linear.fit_ridge(X, y, -1.0)
    with pytest.raises(TypeError, match="`lam` must be a real number"):
        linear.fit_ridge(X, y, "1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="floating-point"):
        linear.fit_least_squares(torch.zeros(5, 2, dtype=torch.int64), y)
    with pytest.raises(TypeError, match="must match `X` in dtype"):
        linear.fit_ridge(X, torch.zeros(5, dtype=torch.float32), 1.0)
    with pytest.raises(TypeError, match=r"torch\.Tensor"):
        linear.fit_least_squares(X.numpy(), y)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one example"):
        linear.fit_least_squares(torch.zeros(0, 2, dtype=F64), torch.zeros(0, dtype=F64))
    with pytest.raises(ValueError, match="`t` must be finite and non-negative"):
        linear.soft_threshold(y, -0.1)
    with pytest.raises(ValueError, match=r"`steps` must be .*at least 1"):
        linear.lasso_ista(X, y, 0.1, steps=0)
    with pytest.raises(ValueError, match="`lr` must be finite and positive"):
        linear.lasso_ista(X, y, 0.1, lr=0.0)
    with pytest.raises(TypeError, match="`lr` must be a real number"):
        linear.lasso_ista(X, y, 0.1, lr="0.1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`steps` must be an int"):
        linear.lasso_ista(X, y, 0.1, steps=10.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`width` must be a real number"):
        linear.gaussian_features(y, y, "1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`centres` must match `x`"):
        linear.gaussian_features(y, y.float(), 1.0)
    with pytest.raises(ValueError, match="`weight_init` must have shape"):
        linear.lasso_ista(X, y, 0.1, weight_init=torch.zeros(3, dtype=F64))
    with pytest.raises(ValueError, match="`lam` must be finite and non-negative"):
        linear.lasso_subgradient(X, y, float("nan"))
    with pytest.raises(ValueError, match="`lams` must hold at least one value"):
        linear.lasso_path(X, y, [])
    with pytest.raises(ValueError, match=r"`degree` must be .*at least 1"):
        linear.polynomial_features(y, 0)
    with pytest.raises(ValueError, match="`x` must be a vector"):
        linear.polynomial_features(X, 2)
    with pytest.raises(ValueError, match="`width` must be finite and positive"):
        linear.gaussian_features(y, y, 0.0)
    with pytest.raises(ValueError, match="`x` and `centres` must have shapes"):
        linear.gaussian_features(X, torch.zeros(3, 4, dtype=F64), 1.0)
    with pytest.raises(ValueError, match="`y_hat` and `y` must have the same shape"):
        linear.mse(y, X)
    with pytest.raises(ValueError, match=r"`X` must have shape \(N, 3\)"):
        linear.predict(LinearModel(torch.zeros(3, dtype=F64), torch.tensor(0.0, dtype=F64)), X)


# ------------------------------------------------------------------ cross-validation
@pytest.mark.parametrize(("n", "k"), [(10, 2), (17, 5), (23, 4), (6, 6)])
def test_kfold_indices_match_sklearn_kfold(n: int, k: int) -> None:
    ours = linear.kfold_indices(n, k)
    theirs = list(KFold(n_splits=k).split(np.zeros((n, 1))))
    assert len(ours) == len(theirs) == k
    for (tr, va), (tr_sk, va_sk) in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(tr.numpy(), tr_sk)
        np.testing.assert_array_equal(va.numpy(), va_sk)


@given(n=st.integers(2, 60), k=st.integers(2, 8), seed=st.integers(0, 2**16))
@settings(max_examples=30, deadline=None)
def test_shuffled_folds_partition_the_indices(n: int, k: int, seed: int) -> None:
    k = min(k, n)
    folds = linear.kfold_indices(n, k, generator=torch.Generator().manual_seed(seed))
    vals = torch.cat([va for _, va in folds])
    assert sorted(vals.tolist()) == list(range(n))  # every index validates exactly once
    for tr, va in folds:
        assert set(tr.tolist()).isdisjoint(va.tolist())
        assert len(tr) + len(va) == n
    assert max(len(va) for _, va in folds) - min(len(va) for _, va in folds) <= 1


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_cross_validate_ridge_matches_sklearn_cross_val_score(
    fit_intercept: bool, device: torch.device
) -> None:
    X, y = make_data(n=37, d=8, seed=21)
    lams = [0.0, 0.1, 1.0, 10.0, 100.0]
    cv = linear.cross_validate_ridge(
        t(X, device), t(y, device), lams, n_splits=5, fit_intercept=fit_intercept
    )
    assert cv.mean.device == torch.device(device)
    a = tol(device, 1e-10)
    for j, lam in enumerate(lams):
        scores = -cross_val_score(
            Ridge(alpha=lam, fit_intercept=fit_intercept, solver="svd"),
            X,
            y,
            cv=KFold(5),
            scoring="neg_mean_squared_error",
        )
        np.testing.assert_allclose(cv.fold_errors[j].cpu().numpy(), scores, rtol=a * 10, atol=a)
        assert float(cv.mean[j]) == pytest.approx(scores.mean(), rel=a * 10)
        # the standard error uses Bessel's correction (ddof=1)
        assert float(cv.standard_error[j]) == pytest.approx(
            scores.std(ddof=1) / np.sqrt(5), rel=a * 10
        )


def test_one_standard_error_rule_by_hand() -> None:
    # Wide, noisy data: the CV curve is U-shaped and the one-SE choice is a larger lambda.
    X, y = make_data(n=40, d=30, seed=22)
    y = y + 2.0 * np.random.default_rng(23).normal(size=40)
    lams = np.logspace(-3, 4, 15)
    cv = linear.cross_validate_ridge(t(X), t(y), lams.tolist(), n_splits=5)
    errs = np.array(
        [
            [
                np.mean((Ridge(alpha=lam).fit(X[tr], y[tr]).predict(X[va]) - y[va]) ** 2)
                for tr, va in KFold(5).split(X)
            ]
            for lam in lams
        ]
    )
    mean, se = errs.mean(1), errs.std(1, ddof=1) / np.sqrt(5)
    j = int(np.argmin(mean))
    assert cv.best == pytest.approx(lams[j])
    assert cv.one_standard_error == pytest.approx(lams[mean <= mean[j] + se[j]].max())
    assert cv.one_standard_error >= cv.best


def test_choose_ridge_lambda_is_the_one_standard_error_choice_of_5_fold_cv() -> None:
    X, y = make_data(n=40, d=30, seed=24)
    y = y + 2.0 * np.random.default_rng(25).normal(size=40)
    lams = np.logspace(-3, 4, 15)
    errs = np.array(
        [
            -cross_val_score(Ridge(alpha=lam), X, y, cv=KFold(5), scoring="neg_mean_squared_error")
            for lam in lams
        ]
    )
    mean, se = errs.mean(1), errs.std(1, ddof=1) / np.sqrt(5)
    j = int(np.argmin(mean))
    expected = lams[mean <= mean[j] + se[j]].max()
    assert linear.choose_ridge_lambda(t(X), t(y), lams.tolist()) == pytest.approx(expected)
