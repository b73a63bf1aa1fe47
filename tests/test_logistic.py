"""Tests for dlbook.logistic against PyTorch built-ins, autograd, finite differences and
scikit-learn (all in float64 with explicit tolerances)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from dlbook import logistic as lg

F64 = torch.float64
SETTINGS = settings(max_examples=40, deadline=None)


def float_dtype(device: torch.device) -> torch.dtype:
    """float64 everywhere it exists (MPS has no float64)."""
    return torch.float32 if device.type == "mps" else F64


def binary_problem(n: int = 120, d: int = 5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Overlapping classes, so the unpenalised optimum is finite."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=F64)
    w = torch.randn(d, generator=g, dtype=F64)
    p = torch.sigmoid(X @ w + 0.3)
    y = (torch.rand(n, generator=g, dtype=F64) < p).long()
    return X, y


def multiclass_problem(
    n: int = 150, d: int = 4, k: int = 3, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=F64)
    W = torch.randn(k, d, generator=g, dtype=F64)
    y = torch.multinomial(torch.softmax(X @ W.T, dim=1), 1, generator=g).squeeze(1)
    return X, y


def central_difference(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, eps: float = 1e-6
) -> torch.Tensor:
    """Gradient of the scalar function f at x by central differences, entry by entry."""
    grad = torch.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for j in range(flat.numel()):
        e = torch.zeros_like(flat)
        e[j] = eps
        gflat[j] = (f((flat + e).reshape(x.shape)) - f((flat - e).reshape(x.shape))) / (2 * eps)
    return grad


# ------------------------------------------------------------ stable building blocks
EXTREME = torch.tensor(
    [[1e4, 0.0, -1e4], [1e4, 1e4, 1e4], [-1e4, -1e4, -1e4], [3.0, -2.0, 0.5]], dtype=F64
)


def test_naive_logsumexp_overflows_where_the_stable_one_does_not() -> None:
    naive = torch.log(torch.exp(EXTREME).sum(dim=1))
    assert torch.isinf(naive[:2]).all()  # e^{1e4} overflows even in float64
    assert torch.isinf(naive[2])  # and e^{-1e4} underflows to 0, log 0 = -inf
    stable = lg.logsumexp(EXTREME)
    assert torch.isfinite(stable).all()
    torch.testing.assert_close(stable, torch.logsumexp(EXTREME, dim=1), rtol=1e-12, atol=0)


@pytest.mark.parametrize("dim", [0, 1, -1, 2])
@pytest.mark.parametrize("keepdim", [False, True])
def test_logsumexp_matches_torch(dim: int, keepdim: bool, device: torch.device) -> None:
    dtype = float_dtype(device)
    z = (torch.randn(3, 4, 5, generator=torch.Generator().manual_seed(1)) * 50).to(device, dtype)
    z[0, 0, 0], z[1, 2, 3] = 1e4, -1e4
    got = lg.logsumexp(z, dim=dim, keepdim=keepdim)
    assert got.device == z.device and got.dtype == dtype
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got, torch.logsumexp(z, dim=dim, keepdim=keepdim))


def test_logsumexp_of_minus_infinity() -> None:
    z = torch.tensor([[-math.inf, -math.inf], [-math.inf, 0.0]], dtype=F64)
    torch.testing.assert_close(lg.logsumexp(z), torch.logsumexp(z, dim=1))


@pytest.mark.parametrize("dim", [0, -1])
def test_softmax_and_log_softmax_match_torch(dim: int, device: torch.device) -> None:
    dtype = float_dtype(device)
    z = torch.cat([EXTREME, 20 * torch.randn(6, 3, dtype=F64)]).to(device, dtype)
    p, log_p = lg.softmax(z, dim=dim), lg.log_softmax(z, dim=dim)
    assert p.device == z.device and log_p.device == z.device
    assert torch.isfinite(p).all() and torch.isfinite(log_p).all()
    torch.testing.assert_close(p, torch.softmax(z, dim=dim))
    torch.testing.assert_close(log_p, torch.log_softmax(z, dim=dim))


def test_sigmoid_and_log_sigmoid_match_torch(device: torch.device) -> None:
    dtype = float_dtype(device)
    z = torch.tensor([-1e4, -800.0, -30.0, -1.0, 0.0, 1.0, 30.0, 800.0, 1e4]).to(device, dtype)
    s, log_s = lg.sigmoid(z), lg.log_sigmoid(z)
    assert s.device == z.device
    assert torch.isfinite(log_s).all()
    torch.testing.assert_close(s, torch.sigmoid(z))
    torch.testing.assert_close(log_s, F.logsigmoid(z))


vectors = st.lists(
    st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False), min_size=1, max_size=12
)


@SETTINGS
@given(vectors, st.floats(-1e3, 1e3, allow_nan=False))
def test_softmax_laws(values: list[float], c: float) -> None:
    z = torch.tensor(values, dtype=F64)
    p = lg.softmax(z)
    assert (p >= 0).all()
    assert abs(float(p.sum()) - 1.0) < 1e-12  # a probability vector
    torch.testing.assert_close(lg.softmax(z + c), p, rtol=1e-9, atol=1e-12)  # shift invariance
    # logsumexp is a smooth maximum: max <= lse <= max + log K, and it shifts with z
    lse = float(lg.logsumexp(z))
    assert float(z.max()) <= lse + 1e-9 <= float(z.max()) + math.log(len(values)) + 2e-9
    assert abs(float(lg.logsumexp(z + c)) - (lse + c)) <= 1e-9 * max(1.0, abs(lse + c))


@SETTINGS
@given(st.floats(-1e4, 1e4, allow_nan=False))
def test_sigmoid_is_two_class_softmax(u: float) -> None:
    z = torch.tensor([u], dtype=F64)
    pair = torch.tensor([0.0, u], dtype=F64)
    torch.testing.assert_close(lg.sigmoid(z)[0], lg.softmax(pair)[1], rtol=1e-12, atol=1e-300)
    torch.testing.assert_close(lg.sigmoid(-z) + lg.sigmoid(z), torch.ones(1, dtype=F64))


# ------------------------------------------------------------------------ losses
def test_binary_cross_entropy_matches_torch(device: torch.device) -> None:
    dtype = float_dtype(device)
    z = torch.tensor([-1e4, -5.0, 0.0, 2.0, 1e4, 1e4]).to(device, dtype)
    y = torch.tensor([0.0, 1.0, 1.0, 0.0, 0.0, 1.0], device=device)
    got = lg.binary_cross_entropy_with_logits(z, y)
    assert got.device == z.device and torch.isfinite(got)
    torch.testing.assert_close(got, F.binary_cross_entropy_with_logits(z, y.to(dtype)))


def test_softmax_cross_entropy_matches_torch(device: torch.device) -> None:
    dtype = float_dtype(device)
    Z = torch.cat([EXTREME, torch.randn(5, 3, dtype=F64)]).to(device, dtype)
    y = torch.tensor([1, 0, 2, 1, 0, 1, 2, 2, 0], device=device)
    got = lg.softmax_cross_entropy(Z, y)
    assert got.device == Z.device and torch.isfinite(got)
    torch.testing.assert_close(got, F.cross_entropy(Z, y))


def test_cross_entropy_is_the_negative_log_likelihood() -> None:
    # Bernoulli likelihood prod mu^y (1 - mu)^(1 - y), evaluated directly in NumPy
    rng = np.random.default_rng(0)
    z, y = rng.normal(size=20), rng.integers(0, 2, size=20)
    mu = 1 / (1 + np.exp(-z))
    nll = -np.log(np.prod(mu**y * (1 - mu) ** (1 - y))) / 20
    got = lg.binary_cross_entropy_with_logits(torch.tensor(z), torch.tensor(y))
    assert abs(float(got) - nll) < 1e-12


# --------------------------------------------------- binary logistic regression
def test_objective_matches_an_independent_numpy_formula() -> None:
    X, y = binary_problem()
    theta = torch.randn(6, generator=torch.Generator().manual_seed(2), dtype=F64)
    z = X.numpy() @ theta.numpy()[:-1] + theta.numpy()[-1]
    expected = np.mean(np.logaddexp(0.0, z) - y.numpy() * z) + 0.05 * np.sum(
        theta.numpy()[:-1] ** 2
    )
    assert abs(float(lg.logistic_objective(theta, X, y, lam=0.1)) - expected) < 1e-12


@pytest.mark.parametrize("lam", [0.0, 0.3])
def test_gradient_and_hessian_match_autograd(lam: float) -> None:
    X, y = binary_problem(n=40, d=3)
    theta = torch.randn(4, generator=torch.Generator().manual_seed(3), dtype=F64)

    def f(t: torch.Tensor) -> torch.Tensor:
        return lg.logistic_objective(t, X, y, lam)

    auto_grad = torch.autograd.functional.jacobian(f, theta)
    auto_hess = torch.autograd.functional.hessian(f, theta)
    torch.testing.assert_close(lg.logistic_gradient(theta, X, y, lam), auto_grad)
    torch.testing.assert_close(lg.logistic_hessian(theta, X, y, lam), auto_hess)


def test_gradient_and_hessian_match_finite_differences() -> None:
    X, y = binary_problem(n=40, d=3)
    theta = torch.randn(4, generator=torch.Generator().manual_seed(4), dtype=F64)
    lam = 0.2
    num_grad = central_difference(lambda t: lg.logistic_objective(t, X, y, lam), theta)
    torch.testing.assert_close(
        lg.logistic_gradient(theta, X, y, lam), num_grad, rtol=1e-6, atol=1e-8
    )
    eps, eye = 1e-6, torch.eye(4, dtype=F64)
    num_hess = torch.stack(  # column j: (grad(theta + eps e_j) - grad(theta - eps e_j)) / 2 eps
        [
            (
                lg.logistic_gradient(theta + eps * eye[j], X, y, lam)
                - lg.logistic_gradient(theta - eps * eye[j], X, y, lam)
            )
            / (2 * eps)
            for j in range(4)
        ],
        dim=1,
    )
    torch.testing.assert_close(
        lg.logistic_hessian(theta, X, y, lam), num_hess, rtol=1e-6, atol=1e-8
    )


def test_hessian_is_positive_definite_with_a_penalty() -> None:
    X, y = binary_problem()
    H = lg.logistic_hessian(torch.zeros(6, dtype=F64), X, y, lam=0.1)
    torch.testing.assert_close(H, H.T)
    assert float(torch.linalg.eigvalsh(H).min()) > 0


def test_newton_converges_quadratically() -> None:
    X, y = binary_problem(n=200, d=4, seed=5)
    lam = 0.01
    theta_star = lg.fit_logistic_newton(X, y, lam, tol=1e-13).theta
    theta = torch.zeros(5, dtype=F64)
    errors = []
    for _ in range(6):
        theta = lg.newton_step(theta, X, y, lam)
        errors.append(float(torch.linalg.vector_norm(theta - theta_star)))
    # once close, the error is squared at every step: e_{t+1} <= C e_t^2
    close = [(a, b) for a, b in itertools.pairwise(errors) if 1e-7 < a < 0.1]
    assert len(close) >= 2, errors
    for a, b in close:
        assert b <= 5.0 * a**2, errors
    assert errors[-1] < 1e-12


def test_gradient_descent_decreases_and_agrees_with_newton(device: torch.device) -> None:
    dtype = float_dtype(device)
    X, y = binary_problem(n=100, d=3, seed=6)
    X, y = X.to(device, dtype), y.to(device)
    gd = lg.fit_logistic_gd(X, y, lam=0.1, steps=3000, tol=1e-6)
    newton = lg.fit_logistic_newton(X, y, lam=0.1, tol=1e-6 if dtype == F64 else 1e-5)
    assert gd.theta.device == X.device and newton.theta.device == X.device
    assert gd.converged and newton.converged
    assert newton.iterations < 10 < gd.iterations
    assert all(b <= a + 1e-12 for a, b in itertools.pairwise(gd.losses))
    torch.testing.assert_close(gd.theta, newton.theta, rtol=1e-4, atol=1e-4)
    proba = lg.logistic_predict_proba(newton.theta, X)
    assert proba.device == X.device and proba.shape == (100,)


@pytest.mark.parametrize("lam", [1e-3, 0.1])
def test_binary_fit_agrees_with_sklearn(lam: float) -> None:
    # sklearn minimises C * sum_i loss_i + ||w||^2 / 2 = C N * (our objective) if C = 1/(lam N)
    X, y = binary_problem(n=150, d=5, seed=7)
    n = X.shape[0]
    fit = lg.fit_logistic_newton(X, y, lam, tol=1e-12)
    sk = LogisticRegression(C=1.0 / (lam * n), tol=1e-12, max_iter=10_000).fit(X.numpy(), y.numpy())
    theta_sk = torch.tensor(np.r_[sk.coef_[0], sk.intercept_], dtype=F64)
    torch.testing.assert_close(fit.theta, theta_sk, rtol=0, atol=1e-5)
    assert float(lg.logistic_objective(theta_sk, X, y, lam)) - fit.losses[-1] > -1e-13
    assert abs(float(lg.logistic_objective(theta_sk, X, y, lam)) - fit.losses[-1]) < 1e-10


# ------------------------------------------------------------ softmax regression
def test_softmax_gradient_matches_autograd_and_finite_differences() -> None:
    X, y = multiclass_problem(n=30, d=3, k=4)
    g = torch.Generator().manual_seed(8)
    W = torch.randn(4, 3, generator=g, dtype=F64, requires_grad=True)
    b = torch.randn(4, generator=g, dtype=F64, requires_grad=True)
    lam = 0.2
    # the reference: PyTorch's own cross-entropy plus the penalty, differentiated by autograd
    reference = F.cross_entropy(X @ W.T + b, y) + 0.5 * lam * (W**2).sum()
    reference.backward()
    loss, grad_W, grad_b = lg.softmax_regression_loss_grad(W.detach(), b.detach(), X, y, lam)
    torch.testing.assert_close(loss, reference.detach())
    assert W.grad is not None and b.grad is not None
    torch.testing.assert_close(grad_W, W.grad)
    torch.testing.assert_close(grad_b, b.grad)
    num_W = central_difference(
        lambda w: lg.softmax_regression_loss_grad(w, b.detach(), X, y, lam)[0], W.detach()
    )
    torch.testing.assert_close(grad_W, num_W, rtol=1e-6, atol=1e-8)


def test_softmax_regression_agrees_with_sklearn() -> None:
    X, y = multiclass_problem(n=200, d=4, k=3, seed=9)
    lam, n = 0.01, X.shape[0]
    model = lg.fit_softmax_regression(X, y, num_classes=3, lam=lam, tol=1e-10)
    sk = LogisticRegression(C=1.0 / (lam * n), tol=1e-12, max_iter=10_000).fit(X.numpy(), y.numpy())
    W_sk, b_sk = torch.tensor(sk.coef_), torch.tensor(sk.intercept_)
    torch.testing.assert_close(model.W, W_sk, rtol=0, atol=1e-5)
    # the intercepts are unpenalised, so only their differences are determined
    torch.testing.assert_close(model.b - model.b.mean(), b_sk - b_sk.mean(), rtol=0, atol=1e-5)
    ours = lg.softmax_regression_loss_grad(model.W, model.b, X, y, lam)[0]
    theirs = lg.softmax_regression_loss_grad(W_sk, b_sk, X, y, lam)[0]
    assert abs(float(ours) - float(theirs)) < 1e-10
    torch.testing.assert_close(
        model.predict_proba(X), torch.tensor(sk.predict_proba(X.numpy())), rtol=0, atol=1e-5
    )


def test_softmax_regression_on_device(device: torch.device) -> None:
    dtype = float_dtype(device)
    X_cpu, y_cpu = multiclass_problem(n=120, d=3, k=3, seed=10)
    X, y = X_cpu.to(device, dtype), y_cpu.to(device)
    model = lg.fit_softmax_regression(X, y, num_classes=3, lam=0.01, max_iter=100, tol=1e-6)
    reference = lg.fit_softmax_regression(X_cpu, y_cpu, num_classes=3, lam=0.01, tol=1e-10)
    assert model.W.device == X.device and model.b.device == X.device
    assert model.losses[-1] < model.losses[0]
    p = model.predict_proba(X)
    torch.testing.assert_close(p.sum(dim=1), torch.ones(120, device=device, dtype=dtype))
    pred = model.predict(X)
    assert pred.device == X.device and pred.dtype == torch.int64
    torch.testing.assert_close(model.W.cpu().double(), reference.W, rtol=0, atol=1e-4)


# -------------------------------------------------------------------- bad input
def test_bad_inputs_raise() -> None:
    X, y = binary_problem(n=10, d=2)
    theta = torch.zeros(3, dtype=F64)
    with pytest.raises(TypeError, match="`z` must be a floating-point"):
        lg.logsumexp(torch.tensor([1, 2]))
    with pytest.raises(TypeError, match=r"`z` must be a torch\.Tensor"):
        lg.softmax([1.0, 2.0])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`dim` must lie in"):
        lg.log_softmax(torch.zeros(2, 3), dim=2)
    with pytest.raises(ValueError, match="must not be empty"):
        lg.logsumexp(torch.zeros(2, 0))
    with pytest.raises(ValueError, match="at least one axis"):
        lg.softmax(torch.tensor(1.0))
    with pytest.raises(ValueError, match="`targets` must have the shape"):
        lg.binary_cross_entropy_with_logits(torch.zeros(3), torch.zeros(2))
    with pytest.raises(ValueError, match=r"`targets` must lie in \[0, 3\)"):
        lg.softmax_cross_entropy(torch.zeros(2, 3), torch.tensor([0, 3]))
    with pytest.raises(TypeError, match="`targets` must hold integer"):
        lg.softmax_cross_entropy(torch.zeros(2, 3), torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"`logits` must be a non-empty matrix"):
        lg.softmax_cross_entropy(torch.zeros(3), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r"`theta` must have shape \(D \+ 1,\) = \(3,\)"):
        lg.logistic_objective(torch.zeros(2, dtype=F64), X, y)
    with pytest.raises(ValueError, match="binary labels"):
        lg.logistic_gradient(theta, X, y + 1)
    with pytest.raises(ValueError, match=r"`y` must have shape \(10,\)"):
        lg.logistic_hessian(theta, X, y[:5])
    with pytest.raises(ValueError, match="`X` must be a non-empty matrix"):
        lg.newton_step(theta, X[0], y)
    with pytest.raises(ValueError, match="`lam` must be a non-negative"):
        lg.fit_logistic_newton(X, y, lam=-1.0)
    with pytest.raises(ValueError, match="`lr` must be a positive"):
        lg.fit_logistic_gd(X, y, lr=0.0)
    with pytest.raises(ValueError, match="`steps` must be a non-negative int"):
        lg.fit_logistic_gd(X, y, steps=-1)
    with pytest.raises(ValueError, match="`num_classes` must be at least 2"):
        lg.fit_softmax_regression(X, y, num_classes=1)
    with pytest.raises(ValueError, match=r"`W` must have shape \(K, D\)"):
        lg.softmax_regression_loss_grad(torch.zeros(3, 5, dtype=F64), torch.zeros(3), X, y)
    with pytest.raises(ValueError, match=r"`b` must have shape \(K,\) = \(3,\)"):
        lg.softmax_regression_loss_grad(
            torch.zeros(3, 2, dtype=F64), torch.zeros(2, dtype=F64), X, y
        )


# ------------------------------------------------- metrics beyond accuracy (Chapter 6)
def labelled_scores(n: int, seed: int, ties: bool) -> tuple[np.ndarray, np.ndarray]:
    """Binary labels and scores that separate them partly; rounded scores make ties."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    s = rng.normal(size=n) + 1.2 * y
    return y, (np.round(s, 1) if ties else s)


@pytest.mark.parametrize(
    "label_dtype", [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64]
)
def test_confusion_matrix_and_prf_match_sklearn(
    label_dtype: torch.dtype, device: torch.device
) -> None:
    from sklearn.metrics import confusion_matrix as sk_cm
    from sklearn.metrics import precision_recall_fscore_support

    rng = np.random.default_rng(7)
    K = 5
    y = rng.integers(0, K, size=200)
    pred = np.where(rng.uniform(size=200) < 0.6, y, rng.integers(0, K, size=200))
    pred[pred == 4] = 3  # class 4 is never predicted: its precision is 0/0
    yt = torch.tensor(y, dtype=label_dtype, device=device)
    pt = torch.tensor(pred, dtype=label_dtype, device=device)
    C = lg.confusion_matrix(yt, pt, K)
    assert C.dtype == torch.int64 and C.device == torch.device(device)
    np.testing.assert_array_equal(C.cpu().numpy(), sk_cm(y, pred, labels=list(range(K))))
    ours = lg.precision_recall_f1(yt, pt, K)
    theirs = precision_recall_fscore_support(y, pred, labels=list(range(K)), zero_division=0)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.cpu().numpy(), b, rtol=1e-12, atol=0)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_roc_curve_and_auc_match_sklearn_including_ties(
    ties: bool, seed: int, device: torch.device
) -> None:
    from sklearn.metrics import roc_auc_score as sk_auc
    from sklearn.metrics import roc_curve as sk_roc

    y, s = labelled_scores(300, seed, ties)
    yt, st_ = torch.tensor(y, device=device), torch.tensor(s, dtype=F64, device=device)
    fpr, tpr, thr = lg.roc_curve(yt, st_)
    fpr_sk, tpr_sk, thr_sk = sk_roc(y, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr.cpu().numpy(), fpr_sk, rtol=0, atol=1e-15)
    np.testing.assert_allclose(tpr.cpu().numpy(), tpr_sk, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(thr.cpu().numpy(), thr_sk)
    auc = float(lg.roc_auc_score(yt, st_))
    assert auc == pytest.approx(sk_auc(y, s), abs=1e-12)
    # the Mann-Whitney reading: P(s+ > s-) + P(s+ = s-) / 2, over all pairs
    pos, neg = s[y == 1][:, None], s[y == 0][None, :]
    assert auc == pytest.approx(np.mean((pos > neg) + 0.5 * (pos == neg)), abs=1e-12)


def test_auc_is_invariant_to_monotone_maps_and_flips_with_the_score() -> None:
    y, s = labelled_scores(200, 3, ties=True)
    yt, st_ = torch.tensor(y), torch.tensor(s, dtype=F64)
    auc = float(lg.roc_auc_score(yt, st_))
    assert float(lg.roc_auc_score(yt, torch.sigmoid(3 * st_))) == pytest.approx(auc, abs=1e-12)
    assert float(lg.roc_auc_score(yt, -st_)) == pytest.approx(1 - auc, abs=1e-12)


def test_metric_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="both classes"):
        lg.roc_curve(torch.ones(4, dtype=torch.long), torch.rand(4, dtype=F64))
    with pytest.raises(ValueError, match=r"`y_true` must lie in \[0, 2\)"):
        lg.roc_auc_score(torch.tensor([0, 2, 1]), torch.rand(3, dtype=F64))
    with pytest.raises(TypeError, match="`y_score`"):
        lg.roc_curve(torch.tensor([0, 1]), torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="finite"):
        lg.roc_curve(torch.tensor([0, 1]), torch.tensor([0.0, float("nan")]))
    with pytest.raises(ValueError, match="`y_pred` must have shape"):
        lg.confusion_matrix(torch.tensor([0, 1]), torch.tensor([0, 1, 1]), 2)
    with pytest.raises(ValueError, match=r"`y_pred` must lie in \[0, 2\)"):
        lg.precision_recall_f1(torch.tensor([0, 1]), torch.tensor([0, 3]), 2)
    with pytest.raises(ValueError, match=r"`probs` must hold probabilities"):
        lg.expected_calibration_error(torch.tensor([[2.0, -1.0]]), torch.tensor([0]))
    with pytest.raises(ValueError, match="`labels` must have shape"):
        lg.calibration_bins(torch.full((3, 2), 0.5), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="`bounds`"):
        lg.fit_temperature(torch.zeros(2, 2), torch.tensor([0, 1]), bounds=(2.0, 1.0))


# --------------------------------------------------------------------- calibration
def ece_by_loops(P: np.ndarray, y: np.ndarray, n_bins: int) -> float:
    """Guo et al.'s definition written out: bins (m-1)/M < conf <= m/M, one at a time."""
    conf, pred = P.max(1), P.argmax(1)
    total = 0.0
    for m in range(1, n_bins + 1):
        inside = (conf > (m - 1) / n_bins) & (conf <= m / n_bins)
        if inside.any():
            gap = abs((pred[inside] == y[inside]).mean() - conf[inside].mean())
            total += inside.sum() / len(y) * gap
    return total


@pytest.mark.parametrize("n_bins", [1, 10, 15])
def test_ece_and_bins_match_a_direct_computation(n_bins: int, device: torch.device) -> None:
    rng = np.random.default_rng(11)
    Z = 2.5 * rng.normal(size=(500, 4))
    P = np.exp(Z) / np.exp(Z).sum(1, keepdims=True)
    y = rng.integers(0, 4, size=500)
    Pt, yt = torch.tensor(P, device=device), torch.tensor(y, dtype=torch.int32, device=device)
    got = float(lg.expected_calibration_error(Pt, yt, n_bins))
    assert got == pytest.approx(ece_by_loops(P, y, n_bins), abs=1e-12)
    bins = lg.calibration_bins(Pt, yt, n_bins)
    assert int(bins.counts.sum()) == 500
    conf = P.max(1)
    for m in range(n_bins):
        inside = (conf > m / n_bins) & (conf <= (m + 1) / n_bins)
        assert int(bins.counts[m]) == inside.sum()
        if inside.any():
            assert float(bins.confidence[m]) == pytest.approx(conf[inside].mean(), abs=1e-12)


def test_ece_of_a_perfectly_calibrated_sampler_is_small_and_of_a_liar_large() -> None:
    # Labels drawn from the predicted probabilities themselves: calibrated by construction.
    g = torch.Generator().manual_seed(0)
    P = torch.softmax(2.0 * torch.randn(40_000, 3, generator=g, dtype=F64), dim=1)
    y = torch.multinomial(P, 1, generator=g)[:, 0]
    assert float(lg.expected_calibration_error(P, y)) < 0.01
    sharp = torch.softmax(3 * torch.log(P), dim=1)  # overconfident: T = 1/3
    assert float(lg.expected_calibration_error(sharp, y)) > 0.05


def test_fit_temperature_matches_scipy_and_recovers_a_planted_temperature() -> None:
    from scipy.optimize import minimize_scalar
    from scipy.special import logsumexp as sp_lse

    g = torch.Generator().manual_seed(1)
    Z = 2.0 * torch.randn(5000, 5, generator=g, dtype=F64)
    y = torch.multinomial(torch.softmax(Z, dim=1), 1, generator=g)[:, 0]
    logits = 2.5 * Z  # overconfident by a factor 2.5: the right temperature is near 2.5
    temp = lg.fit_temperature(logits, y)
    Zn, yn = logits.numpy(), y.numpy()

    def nll(t: float) -> float:
        return float(np.mean(sp_lse(Zn / t, axis=1) - Zn[np.arange(len(yn)), yn] / t))

    ref = minimize_scalar(nll, bounds=(0.01, 100), method="bounded", options={"xatol": 1e-10})
    assert temp == pytest.approx(ref.x, rel=1e-6)
    assert temp == pytest.approx(2.5, rel=0.05)
    # the same argmax, hence the same accuracy, and a lower calibration error
    assert torch.equal((logits / temp).argmax(1), logits.argmax(1))
    before = lg.expected_calibration_error(torch.softmax(logits, 1), y)
    after = lg.expected_calibration_error(torch.softmax(logits / temp, 1), y)
    assert float(after) < float(before) / 3


def test_temperature_scale_divides_test_logits_by_the_validation_temperature() -> None:
    g = torch.Generator().manual_seed(2)
    Z = 1.5 * torch.randn(3000, 4, generator=g, dtype=F64)
    y = torch.multinomial(torch.softmax(Z, dim=1), 1, generator=g)[:, 0]
    val, test = slice(0, 2000), slice(2000, None)
    P = lg.temperature_scale(0.5 * Z[val], y[val], 0.5 * Z[test])  # underconfident by 2
    temp = lg.fit_temperature(0.5 * Z[val], y[val])
    torch.testing.assert_close(P, torch.softmax(0.5 * Z[test] / temp, dim=1))
    assert 0.4 < temp < 0.6
    assert torch.equal(P.argmax(1), Z[test].argmax(1))
    with pytest.raises(ValueError, match="`logits` must have shape"):
        lg.temperature_scale(Z[val], y[val], Z[test, :3])
