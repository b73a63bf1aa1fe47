"""Tests for dlbook.calculus: every derivative against torch.autograd in float64."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor
from torch.autograd.functional import hessian as autograd_hessian
from torch.autograd.functional import jacobian as autograd_jacobian

from dlbook import calculus

F64 = torch.float64
SETTINGS = settings(max_examples=30, deadline=None)


def autograd_gradient(f: calculus.TensorFn, x: Tensor) -> Tensor:
    """The reference gradient: reverse-mode autodiff of ``f`` at ``x``."""
    leaf = x.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(f(leaf), leaf)
    return grad


def smooth_function(
    seed: int, shape: tuple[int, ...], device: torch.device | str = "cpu"
) -> calculus.TensorFn:
    """A random smooth scalar function of a tensor of ``shape`` (fixed by ``seed``)."""
    g = torch.Generator().manual_seed(seed)
    a, b, c = (torch.randn(shape, generator=g, dtype=F64).to(device) for _ in range(3))

    def f(x: Tensor) -> Tensor:
        return (a * torch.sin(x) + b * x**2).sum() + torch.log1p(((c * x).sum()) ** 2)

    return f


# --------------------------------------------------------------------------------------
# Numerical differentiation
# --------------------------------------------------------------------------------------
@SETTINGS
@given(
    shape=st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple),
    seed=st.integers(0, 10_000),
)
def test_numerical_gradient_matches_autograd(shape: tuple[int, ...], seed: int) -> None:
    f = smooth_function(seed, shape)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(seed + 1), dtype=F64)
    got = calculus.numerical_gradient(f, x)
    assert got.shape == x.shape and got.dtype == x.dtype
    torch.testing.assert_close(got, autograd_gradient(f, x), rtol=1e-7, atol=1e-8)


def test_numerical_gradient_device_and_input_untouched(device: torch.device) -> None:
    x = torch.tensor([[0.3, -1.2], [2.0, 0.7]], dtype=torch.float32, device=device)
    before = x.clone()
    got = calculus.numerical_gradient(lambda v: (v**3).sum(), x, eps=1e-3)
    assert got.device == x.device and got.dtype == torch.float32
    assert torch.equal(x, before)
    torch.testing.assert_close(got, 3 * x**2, rtol=1e-3, atol=1e-3)


def test_numerical_gradient_survives_a_function_returning_a_view() -> None:
    # f returns a view into its argument: the checker must copy it before perturbing.
    x = torch.tensor([1.0, 2.0], dtype=F64)
    got = calculus.numerical_gradient(lambda v: v[1], x)
    torch.testing.assert_close(got, torch.tensor([0.0, 1.0], dtype=F64))


def test_numerical_gradient_accepts_python_numbers() -> None:
    x = torch.tensor([0.5, 1.5], dtype=F64)
    got = calculus.numerical_gradient(lambda v: float((v**2).sum()), x)  # type: ignore[arg-type,return-value]
    torch.testing.assert_close(got, 2 * x)


@pytest.mark.parametrize("out_shape", [(3,), (2, 2)])
def test_numerical_jacobian_matches_autograd(
    device: torch.device, out_shape: tuple[int, ...]
) -> None:
    g = torch.Generator().manual_seed(0)
    M = torch.randn(math.prod(out_shape), 6, generator=g, dtype=F64).to(device)
    x = torch.randn(2, 3, generator=g, dtype=F64).to(device)  # a matrix-shaped input

    def f(v: Tensor) -> Tensor:
        return (M @ torch.tanh(v).reshape(6)).reshape(out_shape) * v.sum()

    got = calculus.numerical_jacobian(f, x)
    expected = autograd_jacobian(f, x)
    assert got.shape == (*out_shape, 2, 3) and got.device == x.device
    torch.testing.assert_close(got, expected, rtol=1e-7, atol=1e-8)


def test_numerical_hessian_matches_autograd(device: torch.device) -> None:
    f = smooth_function(3, (4,), device)
    x = torch.randn(4, generator=torch.Generator().manual_seed(4), dtype=F64).to(device)
    got = calculus.numerical_hessian(f, x)
    assert got.device == x.device
    torch.testing.assert_close(got, autograd_hessian(f, x), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(got, got.T)


@SETTINGS
@given(
    a=st.lists(st.floats(-10, 10), min_size=1, max_size=6),
    noise=st.floats(-1, 1),
)
def test_relative_error_formula(a: list[float], noise: float) -> None:
    x = np.array(a)
    y = x + noise * np.arange(1, len(a) + 1)
    expected = float(np.linalg.norm(x - y)) / max(
        float(np.linalg.norm(x) + np.linalg.norm(y)), 1e-12
    )
    got = calculus.relative_error(torch.tensor(x), torch.tensor(y))
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert got == pytest.approx(calculus.relative_error(torch.tensor(y), torch.tensor(x)))
    assert 0.0 <= got <= 1.0


def test_relative_error_of_zeros_is_zero() -> None:
    assert calculus.relative_error(torch.zeros(3), torch.zeros(3)) == 0.0


def test_gradient_check_separates_right_from_wrong(device: torch.device) -> None:
    W = torch.randn(3, 4, generator=torch.Generator().manual_seed(5), dtype=F64).to(device)
    x = torch.randn(4, generator=torch.Generator().manual_seed(6), dtype=F64).to(device)

    def f(v: Tensor) -> Tensor:
        return torch.tanh(W @ v).sum()

    right = W.T @ (1 - torch.tanh(W @ x) ** 2)
    wrong = W.T @ (1 - torch.tanh(W @ x))  # a plausible slip: tanh' written as 1 - tanh
    good, bad = calculus.gradient_check(f, x, right), calculus.gradient_check(f, x, wrong)
    assert good and good.passed and good.error < 1e-9
    assert not bad and bad.error > 1e-3
    assert good.numerical.device == x.device
    torch.testing.assert_close(good.numerical, right, rtol=1e-7, atol=1e-9)


def test_float32_needs_a_larger_eps() -> None:
    # The chapter's claim: in float32 eps = 1e-6 is dominated by round-off, eps = 1e-3 is fine.
    x = torch.linspace(-1, 1, 5, dtype=torch.float32)

    def f(v: Tensor) -> Tensor:
        return torch.exp(v).sum()

    tiny = calculus.relative_error(calculus.numerical_gradient(f, x, 1e-6), torch.exp(x))
    good = calculus.relative_error(calculus.numerical_gradient(f, x, 1e-3), torch.exp(x))
    assert good < 1e-4 < tiny


# --------------------------------------------------------------------------------------
# Chain rule through a stack of layers
# --------------------------------------------------------------------------------------
def random_layers(
    widths: list[int], seed: int, device: torch.device
) -> tuple[list[Tensor], list[Tensor]]:
    g = torch.Generator().manual_seed(seed)
    weights = [
        torch.randn(o, i, generator=g, dtype=F64).to(device) for i, o in itertools.pairwise(widths)
    ]
    biases = [torch.randn(o, generator=g, dtype=F64).to(device) for o in widths[1:]]
    return weights, biases


@pytest.mark.parametrize("widths", [[3, 2], [3, 5, 2], [4, 6, 5, 3, 2]])
def test_mlp_jacobian_matches_autograd(device: torch.device, widths: list[int]) -> None:
    weights, biases = random_layers(widths, seed=len(widths), device=device)
    x = torch.randn(widths[0], generator=torch.Generator().manual_seed(9), dtype=F64).to(device)

    def reference(v: Tensor) -> Tensor:  # the same network written with torch.nn.functional
        for W, b in zip(weights[:-1], biases[:-1], strict=True):
            v = torch.tanh(torch.nn.functional.linear(v, W, b))
        return torch.nn.functional.linear(v, weights[-1], biases[-1])

    torch.testing.assert_close(calculus.tanh_mlp(x, weights, biases), reference(x))
    got = calculus.mlp_jacobian(x, weights, biases)
    assert got.shape == (widths[-1], widths[0]) and got.device == x.device
    torch.testing.assert_close(got, autograd_jacobian(reference, x), rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------------------
# Matrix-calculus identities, each against autograd
# --------------------------------------------------------------------------------------
def randn(*shape: int, seed: int, device: torch.device | str = "cpu") -> Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64).to(device)


def test_linear_function_gradient_is_a(device: torch.device) -> None:
    a, x = randn(5, seed=1, device=device), randn(5, seed=2, device=device)
    torch.testing.assert_close(autograd_gradient(lambda v: a @ v, x), a)
    torch.testing.assert_close(calculus.numerical_gradient(lambda v: a @ v, x), a)


@SETTINGS
@given(n=st.integers(1, 6), seed=st.integers(0, 1000))
def test_quadratic_form_gradient(n: int, seed: int) -> None:
    A, x = randn(n, n, seed=seed), randn(n, seed=seed + 1)
    got = calculus.quadratic_form_gradient(A, x)
    torch.testing.assert_close(got, autograd_gradient(lambda v: v @ A @ v, x))


def test_least_squares_gradient(device: torch.device) -> None:
    A, x, b = (
        randn(7, 3, seed=1, device=device),
        randn(3, seed=2, device=device),
        randn(7, seed=3, device=device),
    )
    got = calculus.least_squares_gradient(A, x, b)
    assert got.device == x.device
    torch.testing.assert_close(got, autograd_gradient(lambda v: ((A @ v - b) ** 2).sum(), x))


def test_trace_product_gradient(device: torch.device) -> None:
    A, B = randn(3, 4, seed=1, device=device), randn(4, 3, seed=2, device=device)
    got = calculus.trace_product_gradient(A, B)
    torch.testing.assert_close(got, autograd_gradient(lambda M: torch.trace(M @ B), A))


@SETTINGS
@given(n=st.integers(1, 5), seed=st.integers(0, 1000))
def test_logdet_gradient(n: int, seed: int) -> None:
    A = randn(n, n, seed=seed) + 3 * torch.eye(n, dtype=F64)  # comfortably invertible
    got = calculus.logdet_gradient(A)
    expected = autograd_gradient(lambda M: torch.linalg.slogdet(M).logabsdet, A)
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-10)


def test_softmax_jacobian(device: torch.device) -> None:
    z = randn(5, seed=4, device=device) * 3
    got = calculus.softmax_jacobian(z)
    torch.testing.assert_close(got, autograd_jacobian(lambda v: torch.softmax(v, -1), z))
    # rows sum to zero: the outputs always sum to one
    torch.testing.assert_close(got.sum(dim=0), torch.zeros(5, dtype=F64, device=device))


def test_softmax_jacobian_batched() -> None:
    z = randn(3, 4, seed=5)
    got = calculus.softmax_jacobian(z)
    assert got.shape == (3, 4, 4)
    for i in range(3):
        torch.testing.assert_close(got[i], autograd_jacobian(lambda v: torch.softmax(v, -1), z[i]))


def test_logsumexp_gradient_is_softmax_even_for_huge_logits(device: torch.device) -> None:
    z = randn(6, seed=6, device=device) * 5
    torch.testing.assert_close(
        calculus.logsumexp_gradient(z), autograd_gradient(lambda v: torch.logsumexp(v, -1), z)
    )
    big = torch.tensor([1000.0, 1000.0], dtype=F64, device=device)
    torch.testing.assert_close(
        calculus.logsumexp_gradient(big), torch.tensor([0.5, 0.5], dtype=F64, device=device)
    )


def test_sigmoid_derivative(device: torch.device) -> None:
    z = torch.linspace(-8, 8, 17, dtype=F64, device=device)
    got = calculus.sigmoid_derivative(z)
    torch.testing.assert_close(got, autograd_gradient(lambda v: torch.sigmoid(v).sum(), z))
    assert float(got.max()) == pytest.approx(0.25)


@pytest.mark.parametrize("batch", [None, 4])
def test_linear_layer_gradients(device: torch.device, batch: int | None) -> None:
    W, b = randn(3, 5, seed=1, device=device), randn(3, seed=2, device=device)
    lead = () if batch is None else (batch,)
    x, delta = randn(*lead, 5, seed=3, device=device), randn(*lead, 3, seed=4, device=device)
    params = [t.clone().requires_grad_(True) for t in (W, b, x)]
    # a loss whose gradient with respect to y = W x + b is exactly delta
    loss = (delta * torch.nn.functional.linear(params[2], params[0], params[1])).sum()
    expected = torch.autograd.grad(loss, params)
    got = calculus.linear_layer_gradients(W, x, delta)
    for g, e in zip(got, expected, strict=True):
        assert g.shape == e.shape and g.device == e.device
        torch.testing.assert_close(g, e)


# --------------------------------------------------------------------------------------
# Gradient descent on quadratics
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kappa", [1.0, 10.0, 100.0])
def test_quadratic_matrix_spectrum(kappa: float) -> None:
    A = calculus.quadratic_matrix(kappa, 4, L=2.0, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(A, A.T)
    eig = torch.linalg.eigvalsh(A)
    assert float(eig.max()) == pytest.approx(2.0)
    assert float(eig.min()) == pytest.approx(2.0 / kappa)
    assert float(np.linalg.cond(A.numpy())) == pytest.approx(kappa, rel=1e-9)


def test_gradient_descent_matches_closed_form(device: torch.device) -> None:
    A = calculus.quadratic_matrix(
        20.0, 3, generator=torch.Generator().manual_seed(1), device=device
    )
    x0 = torch.tensor([1.0, -2.0, 0.5], dtype=F64, device=device)
    lr, steps = 0.7, 25
    path = calculus.gradient_descent(lambda x: A @ x, x0, lr, steps)
    assert path.shape == (steps + 1, 3) and path.device == x0.device
    M = torch.eye(3, dtype=F64, device=device) - lr * A
    for t in (0, 1, 7, 25):
        torch.testing.assert_close(path[t], torch.linalg.matrix_power(M, t) @ x0)


@pytest.mark.parametrize("kappa", [2.0, 10.0, 50.0])
def test_step_size_threshold_two_over_l(kappa: float) -> None:
    L = 3.0
    A = calculus.quadratic_matrix(kappa, 2, L=L, generator=torch.Generator().manual_seed(2))
    x0 = torch.tensor([1.0, 1.0], dtype=F64)
    below = calculus.gradient_descent(lambda x: A @ x, x0, 1.95 / L, 2000)
    above = calculus.gradient_descent(lambda x: A @ x, x0, 2.05 / L, 400)
    assert float(below[-1].norm()) < 1e-3
    assert float(above[-1].norm()) > 1e3
    assert calculus.gd_rate(A, 1.95 / L) < 1 < calculus.gd_rate(A, 2.05 / L)


@pytest.mark.parametrize("kappa", [5.0, 40.0])
def test_rate_one_minus_inverse_kappa_at_step_one_over_l(kappa: float) -> None:
    A = calculus.quadratic_matrix(kappa, 2)  # diagonal: the slow direction is e_1
    assert calculus.gd_rate(A, 1.0) == pytest.approx(1 - 1 / kappa)
    path = calculus.gradient_descent(lambda x: A @ x, torch.tensor([1.0, 1.0], dtype=F64), 1.0, 30)
    norms = path.norm(dim=1)
    observed = float((norms[30] / norms[20]) ** (1 / 10))
    assert observed == pytest.approx(1 - 1 / kappa, rel=1e-9)
    best = 2 / (1 + 1 / kappa)  # 2 / (L + mu)
    assert calculus.gd_rate(A, best) == pytest.approx((kappa - 1) / (kappa + 1))


@SETTINGS
@given(kappa=st.floats(1, 100), frac=st.floats(0.01, 1.99), seed=st.integers(0, 1000))
def test_a_gd_step_lowers_a_convex_quadratic(kappa: float, frac: float, seed: int) -> None:
    A = calculus.quadratic_matrix(kappa, 3, generator=torch.Generator().manual_seed(seed))
    x = randn(3, seed=seed)
    path = calculus.gradient_descent(lambda v: A @ v, x, frac, 1)  # lr = frac / L, L = 1
    f = [float(p @ A @ p / 2) for p in path]
    assert f[1] <= f[0] + 1e-15


# --------------------------------------------------------------------------------------
# Subgradients
# --------------------------------------------------------------------------------------
def test_abs_and_relu_subgradients_agree_with_autograd_off_the_kink(device: torch.device) -> None:
    x = torch.tensor([-2.0, -0.1, 0.3, 4.0], dtype=F64, device=device)
    torch.testing.assert_close(
        calculus.abs_subgradient(x), autograd_gradient(lambda v: v.abs().sum(), x)
    )
    torch.testing.assert_close(
        calculus.relu_subgradient(x), autograd_gradient(lambda v: torch.relu(v).sum(), x)
    )
    zero = torch.zeros(1, dtype=F64, device=device)
    assert float(calculus.abs_subgradient(zero)) == 0.0  # inside [-1, 1]
    assert float(calculus.relu_subgradient(zero)) == 0.0  # inside [0, 1]


@SETTINGS
@given(seed=st.integers(0, 1000))
def test_hinge_subgradient_satisfies_the_subgradient_inequality(seed: int) -> None:
    X, y = randn(8, 3, seed=seed), torch.sign(randn(8, seed=seed + 1))
    w, v = randn(3, seed=seed + 2), randn(3, seed=seed + 3)

    def f(u: Tensor) -> Tensor:
        return torch.clamp(1 - y * (X @ u), min=0).mean()

    g = calculus.hinge_subgradient(w, X, y)
    assert float(f(v)) >= float(f(w) + g @ (v - w)) - 1e-12  # f(v) >= f(w) + g^T (v - w)
    torch.testing.assert_close(g, autograd_gradient(f, w))  # w is a.s. off every kink


def test_subgradient_method_diminishing_steps_converge(device: torch.device) -> None:
    c = torch.tensor([1.0, -2.0], dtype=F64, device=device)

    def subgrad(x: Tensor) -> Tensor:  # f(x) = |x_1 - 1| + 4 |x_2 + 2|, minimum 0 at c
        return calculus.abs_subgradient(x - c) * torch.tensor([1.0, 4.0], dtype=F64, device=device)

    x0 = torch.zeros(2, dtype=F64, device=device)
    path = calculus.subgradient_method(subgrad, x0, lr=0.3, steps=2000)
    constant = calculus.subgradient_method(subgrad, x0, lr=0.3, steps=2000, schedule="constant")
    values = (path - c).abs() @ torch.tensor([1.0, 4.0], dtype=F64, device=device)
    const_values = (constant - c).abs() @ torch.tensor([1.0, 4.0], dtype=F64, device=device)
    assert path.device == x0.device
    assert float(values.min()) < 2e-2
    # the constant step stalls in a band whose width is set by the step
    assert float(const_values[-100:].min()) > float(values[-100:].min())


# --------------------------------------------------------------------------------------
# Newton's method
# --------------------------------------------------------------------------------------
def test_newton_solves_a_quadratic_in_one_step(device: torch.device) -> None:
    A = calculus.quadratic_matrix(1e4, 5, generator=torch.Generator().manual_seed(3), device=device)
    b = randn(5, seed=4, device=device)
    path = calculus.newton(
        lambda x: A @ x - b, lambda x: A, torch.zeros(5, dtype=F64, device=device), 1
    )
    x_star = torch.from_numpy(np.linalg.solve(A.cpu().numpy(), b.cpu().numpy())).to(device)
    torch.testing.assert_close(path[1], x_star, rtol=1e-8, atol=1e-10)


def test_newton_converges_quadratically_and_beats_gd() -> None:
    # f(x) = logsumexp(M x + c) + (mu/2)||x||^2: smooth and strongly convex
    M, c, mu = randn(6, 3, seed=7), randn(6, seed=8), 0.1

    def f(x: Tensor) -> Tensor:
        return torch.logsumexp(M @ x + c, 0) + mu / 2 * x @ x

    def grad(x: Tensor) -> Tensor:
        return autograd_gradient(f, x)

    def hess(x: Tensor) -> Tensor:
        H: Tensor = autograd_hessian(f, x)
        return H

    path = calculus.newton(grad, hess, torch.zeros(3, dtype=F64), 8)
    x_star = path[-1]
    assert float(grad(x_star).norm()) < 1e-12
    errors = [float((p - x_star).norm()) for p in path[:5]]
    for e, e_next in itertools.pairwise(errors[1:]):
        if e_next > 1e-13:
            assert e_next <= 2.0 * e**2  # quadratic convergence: e_{t+1} <= C e_t^2
    gd = calculus.gradient_descent(grad, torch.zeros(3, dtype=F64), 0.5, 8)
    assert float((gd[-1] - x_star).norm()) > 1e3 * float((path[5] - x_star).norm())


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------
def test_bad_inputs_raise_clear_errors() -> None:
    x = torch.zeros(3, dtype=F64)
    with pytest.raises(TypeError, match="`x` must be a floating-point tensor"):
        calculus.numerical_gradient(lambda v: v.sum(), torch.zeros(3, dtype=torch.int64))
    with pytest.raises(TypeError, match=r"`x` must be a torch\.Tensor"):
        calculus.numerical_gradient(lambda v: v.sum(), [1.0, 2.0])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`f` must return a scalar"):
        calculus.numerical_gradient(lambda v: v * 2, x)
    with pytest.raises(ValueError, match="`eps` must be positive"):
        calculus.numerical_gradient(lambda v: v.sum(), x, eps=0.0)
    with pytest.raises(ValueError, match="at least one element"):
        calculus.numerical_jacobian(lambda v: v, torch.zeros(0, dtype=F64))
    with pytest.raises(ValueError, match="`x` must be a non-empty vector"):
        calculus.numerical_hessian(lambda v: v.sum(), torch.zeros(2, 2, dtype=F64))
    with pytest.raises(ValueError, match="same shape"):
        calculus.relative_error(torch.zeros(2), torch.zeros(3))
    with pytest.raises(ValueError, match="`grad` must have the shape"):
        calculus.gradient_check(lambda v: v.sum(), x, torch.zeros(2, dtype=F64))
    with pytest.raises(ValueError, match="`rtol` must be positive"):
        calculus.gradient_check(lambda v: v.sum(), x, x, rtol=-1.0)
    with pytest.raises(ValueError, match="layer 1 expects"):
        calculus.tanh_mlp(x, [torch.zeros(2, 3, dtype=F64)] * 2, [torch.zeros(2, dtype=F64)] * 2)
    with pytest.raises(ValueError, match="equal length"):
        calculus.mlp_jacobian(x, [torch.zeros(2, 3, dtype=F64)], [])
    with pytest.raises(ValueError, match="`A` must be a square matrix, got shape"):
        calculus.quadratic_form_gradient(torch.zeros(2, 3, dtype=F64), x)
    with pytest.raises(ValueError, match="`x` must have shape"):
        calculus.quadratic_form_gradient(torch.zeros(2, 2, dtype=F64), x)
    with pytest.raises(ValueError, match="expected `A` \\(m, n\\)"):
        calculus.least_squares_gradient(torch.zeros(2, 3, dtype=F64), x, x)
    with pytest.raises(ValueError, match="transposed shape"):
        calculus.trace_product_gradient(torch.zeros(2, 3, dtype=F64), torch.zeros(2, 3, dtype=F64))
    with pytest.raises(ValueError, match="`A` must be invertible"):
        calculus.logdet_gradient(torch.ones(2, 2, dtype=F64))
    with pytest.raises(ValueError, match="`z` must have at least one dimension"):
        calculus.softmax_jacobian(torch.tensor(1.0))
    with pytest.raises(ValueError, match="`z` must have at least one dimension"):
        calculus.logsumexp_gradient(torch.tensor(1.0))
    with pytest.raises(TypeError, match="`z` must be a floating-point"):
        calculus.sigmoid_derivative(torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="expected `W` \\(d_out, d_in\\)"):
        calculus.linear_layer_gradients(torch.zeros(2, 3, dtype=F64), x[:2], x[:2])
    with pytest.raises(ValueError, match="`kappa` must be at least 1"):
        calculus.quadratic_matrix(0.5)
    with pytest.raises(ValueError, match="`dim` must be at least 2"):
        calculus.quadratic_matrix(2.0, 1)
    with pytest.raises(TypeError, match="`dim` must be an int"):
        calculus.quadratic_matrix(2.0, 2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`lr` must be positive"):
        calculus.gradient_descent(lambda v: v, x, -0.1, 3)
    with pytest.raises(ValueError, match="`steps` must be a non-negative"):
        calculus.gradient_descent(lambda v: v, x, 0.1, -1)
    with pytest.raises(TypeError, match="`steps` must be an int"):
        calculus.gradient_descent(lambda v: v, x, 0.1, 2.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`grad_fn` must return shape"):
        calculus.gradient_descent(lambda v: v[:2], x, 0.1, 2)
    with pytest.raises(ValueError, match="`A` must be symmetric"):
        calculus.gd_rate(torch.tensor([[1.0, 2.0], [0.0, 1.0]]), 0.1)
    with pytest.raises(TypeError, match="`x` must be a floating-point"):
        calculus.abs_subgradient(torch.tensor([1, -1]))
    with pytest.raises(TypeError, match="`x` must be a floating-point"):
        calculus.relu_subgradient(torch.tensor([1, -1]))
    with pytest.raises(ValueError, match="with N > 0"):
        calculus.hinge_subgradient(x, torch.zeros(0, 3, dtype=F64), torch.zeros(0, dtype=F64))
    with pytest.raises(ValueError, match="`schedule` must be"):
        calculus.subgradient_method(lambda v: v, x, 0.1, 2, schedule="cosine")
    with pytest.raises(ValueError, match="`subgrad_fn` must return shape"):
        calculus.subgradient_method(lambda v: v[:1], x, 0.1, 2)
    with pytest.raises(ValueError, match="`x0` must be a vector"):
        calculus.newton(lambda v: v, lambda v: v, torch.zeros(2, 2, dtype=F64), 1)
    with pytest.raises(ValueError, match="Hessian is singular"):
        calculus.newton(lambda v: v, lambda v: torch.zeros(3, 3, dtype=F64), x + 1, 1)
    with pytest.raises(ValueError, match="must return shapes"):
        calculus.newton(lambda v: v, lambda v: torch.eye(2, dtype=F64), x, 1)


# --------------------------------------------------------------------------------------
# Line search, stochastic gradients, Hessian-vector products (Chapter 3, Sections 3.6-3.10)
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kappa", "lr0", "grow"), [(10.0, 1.0, 1.0), (100.0, 10.0, 1.0), (30.0, 5.0, 2.0)]
)
def test_backtracking_accepts_the_largest_armijo_step_of_the_closed_form(
    kappa: float, lr0: float, grow: float, device: torch.device
) -> None:
    # On f = x^T A x / 2, f(x - eta g) = f - eta |g|^2 + eta^2 g^T A g / 2, so Armijo holds
    # exactly for eta <= 2 (1 - c) |g|^2 / (g^T A g): the rule must accept the largest
    # trial eta_start * beta^j below that bound.
    A = calculus.quadratic_matrix(
        kappa, 6, generator=torch.Generator().manual_seed(3), device=device
    )
    x0 = torch.linspace(-1.0, 1.0, 6, dtype=F64, device=device)
    c, beta = 1e-4, 0.5
    run = calculus.backtracking_line_search(
        lambda v: 0.5 * v @ A @ v, lambda v: A @ v, x0, 25, lr0=lr0, c=c, shrink=beta, grow=grow
    )
    assert run.path.device == x0.device and run.lrs.dtype == F64
    trial, evals = lr0, 1
    for t in range(25):
        x, g = run.path[t], A @ run.path[t]
        bound = 2 * (1 - c) * float(g @ g) / float(g @ A @ g)
        j = max(0, math.ceil(math.log(trial / bound) / math.log(1 / beta) - 1e-12))
        while trial * beta**j > bound:  # guard the rounding of the logarithm
            j += 1
        expected = trial * beta**j
        assert float(run.lrs[t]) == pytest.approx(expected, rel=1e-12)
        torch.testing.assert_close(run.path[t + 1], x - expected * g, rtol=1e-12, atol=1e-15)
        evals += j + 1
        trial = expected * grow if grow > 1 else lr0
    assert run.f_evals == evals


def test_backtracking_never_accepts_less_than_the_smoothness_bound() -> None:
    # Armijo holds for every eta <= 2 (1 - c) / L, so the accepted step is at least
    # min(lr0, beta * 2 (1 - c) / L) on any L-smooth function (here with L = 4).
    A = 4.0 * calculus.quadratic_matrix(50.0, 8, generator=torch.Generator().manual_seed(0))
    f = smooth_function(1, (8,))

    def loss(v: Tensor) -> Tensor:
        return 0.5 * v @ A @ v + 0.01 * f(v)

    L = 4.0 + 0.01 * 4.0  # a bound on the curvature of the sum (|f''| <= 4 here) is enough
    run = calculus.backtracking_line_search(
        loss, lambda v: autograd_gradient(loss, v), torch.ones(8, dtype=F64), 40, lr0=3.0
    )
    values = torch.stack([loss(v) for v in run.path])
    assert bool((values[1:] <= values[:-1]).all())  # monotone decrease
    assert float(run.lrs.min()) >= 0.5 * 2 * (1 - 1e-4) / (4 * L)


@pytest.mark.parametrize("scale", [100.0, 1.0, 0.01])
def test_line_search_descent_reaches_the_tolerance_and_the_minimiser(scale: float) -> None:
    A = scale * calculus.quadratic_matrix(30.0, 10, generator=torch.Generator().manual_seed(2))
    b = torch.linspace(-1.0, 2.0, 10, dtype=F64) * scale
    x0 = torch.zeros(10, dtype=F64)
    # 1e-7, not smaller: below it the Armijo decrease |g|^2 / L drops under the rounding of f
    x = calculus.line_search_descent(
        lambda v: 0.5 * v @ A @ v - b @ v, lambda v: A @ v - b, x0, 1e-7
    )
    assert float(torch.linalg.vector_norm(A @ x - b)) <= 1e-7 * float(torch.linalg.vector_norm(b))
    # strong convexity: |x - x*| <= |grad f(x)| / mu, with mu = L / kappa = scale / 30
    err = float(torch.linalg.vector_norm(x - torch.linalg.solve(A, b)))
    assert err <= float(torch.linalg.vector_norm(A @ x - b)) / (scale / 30) * (1 + 1e-6)


def test_minibatch_gradient_is_unbiased_with_variance_sigma2_over_b() -> None:
    g = torch.Generator().manual_seed(0)
    A = torch.randn(60, 4, generator=g, dtype=F64)
    b = torch.randn(60, generator=g, dtype=F64)
    x = torch.randn(4, generator=g, dtype=F64)
    # the reference: autograd of the mean squared error, and the per-example gradients
    full = autograd_gradient(lambda v: ((A @ v - b) ** 2).mean(), x)
    per = 2 * A * (A @ x - b)[:, None]  # (N, n): the gradient of each (a_i^T x - b_i)^2
    torch.testing.assert_close(per.mean(dim=0), full)
    sigma2 = float(((per - full) ** 2).sum(dim=1).mean())
    draws_gen = torch.Generator().manual_seed(1)
    for B in (1, 8):
        draws = torch.stack(
            [calculus.minibatch_gradient(A, x, b, B, draws_gen) for _ in range(4000)]
        )
        err = float(((draws - full) ** 2).sum(dim=1).mean())
        # the mean of 4,000 draws is within 4 standard errors of the full gradient
        se = math.sqrt(sigma2 / (B * 4000))
        assert float(torch.linalg.vector_norm(draws.mean(dim=0) - full)) < 4 * se
        assert err == pytest.approx(sigma2 / B, rel=0.1)  # 4,000 draws: a few % of noise


def test_minibatch_gradient_uses_the_drawn_rows(device: torch.device) -> None:
    g = torch.Generator().manual_seed(5)
    A = torch.randn(9, 3, generator=g, dtype=F64).to(device)
    b = torch.randn(9, generator=g, dtype=F64).to(device)
    x = torch.randn(3, generator=g, dtype=F64).to(device)
    rows = torch.randint(9, (4,), generator=torch.Generator(device).manual_seed(7), device=device)
    expected = autograd_gradient(lambda v: ((A[rows] @ v - b[rows]) ** 2).mean(), x)
    got = calculus.minibatch_gradient(A, x, b, 4, torch.Generator(device).manual_seed(7))
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def test_sgd_converges_to_the_least_squares_solution() -> None:
    g = torch.Generator().manual_seed(0)
    A = torch.randn(200, 5, generator=g, dtype=F64)
    x_true = torch.randn(5, generator=g, dtype=F64)
    # consistent system: every per-example gradient vanishes at x_true, so a constant step converges
    path = calculus.least_squares_sgd(
        A,
        torch.zeros(5, dtype=F64),
        A @ x_true,
        torch.full((3000,), 0.05, dtype=F64),
        4,
        torch.Generator().manual_seed(1),
    )
    torch.testing.assert_close(path[-1], x_true, rtol=0, atol=1e-8)
    # noisy system: a decreasing step approaches torch.linalg.lstsq's solution
    b = A @ x_true + 0.3 * torch.randn(200, generator=g, dtype=F64)
    x_ls = torch.linalg.lstsq(A, b.unsqueeze(1)).solution.squeeze(1)
    t = torch.arange(4000, dtype=F64)
    path = calculus.least_squares_sgd(
        A, torch.zeros(5, dtype=F64), b, 0.05 / (1 + t / 200), 8, torch.Generator().manual_seed(2)
    )
    const = calculus.least_squares_sgd(
        A,
        torch.zeros(5, dtype=F64),
        b,
        torch.full((4000,), 0.05, dtype=F64),
        8,
        torch.Generator().manual_seed(2),
    )
    err_decay = float(torch.linalg.vector_norm(path[-500:].mean(dim=0) * 0 + path[-1] - x_ls))
    assert err_decay < 0.02
    floor = torch.linalg.vector_norm(const[-1000:] - x_ls, dim=1).mean()
    assert err_decay < float(floor)  # the schedule goes below the constant step's floor


def _random_smooth(seed: int, n: int) -> calculus.TensorFn:
    g = torch.Generator().manual_seed(seed)
    M = torch.randn(2 * n, n, generator=g, dtype=F64)
    a = torch.randn(n, generator=g, dtype=F64)

    def f(v: Tensor) -> Tensor:
        return torch.logsumexp(M @ v, dim=0) + (a * torch.sin(v)).sum() + (v**4).sum() / 12

    return f


@SETTINGS
@given(seed=st.integers(0, 1000), n=st.integers(1, 7))
def test_hessian_vector_product_matches_the_explicit_hessian(seed: int, n: int) -> None:
    f = _random_smooth(seed, n)
    g = torch.Generator().manual_seed(seed + 1)
    x, v = torch.randn(n, generator=g, dtype=F64), torch.randn(n, generator=g, dtype=F64)
    hv = calculus.hessian_vector_product(f, x, v)
    torch.testing.assert_close(hv, autograd_hessian(f, x) @ v, rtol=1e-10, atol=1e-12)
    forward_over_reverse = torch.func.jvp(torch.func.grad(f), (x,), (v,))[1]
    torch.testing.assert_close(hv, forward_over_reverse, rtol=1e-10, atol=1e-12)


def test_hessian_vector_product_against_central_differences_and_edge_cases(
    device: torch.device,
) -> None:
    f = _random_smooth(3, 5)
    x = torch.linspace(-0.5, 0.5, 5, dtype=F64)
    v = torch.ones(5, dtype=F64)
    # numerical_hessian is autograd-free: nested central differences
    torch.testing.assert_close(
        calculus.hessian_vector_product(f, x, v),
        calculus.numerical_hessian(f, x) @ v,
        rtol=1e-5,  # nested differences keep about 6 digits (Section 3.4)
        atol=1e-6,
    )
    # an affine f has a zero Hessian; a matrix-shaped x works like a flat one
    w = torch.arange(6, dtype=F64, device=device).reshape(2, 3)
    assert torch.equal(
        calculus.hessian_vector_product(lambda z: (w * z).sum(), w, w), torch.zeros_like(w)
    )
    quartic = calculus.hessian_vector_product(
        lambda z: (z**4).sum() / 12, w.T, torch.ones_like(w.T)
    )
    torch.testing.assert_close(quartic, w.T**2)  # f'' = z^2
    assert quartic.device == w.device


def test_new_functions_reject_bad_input() -> None:
    x = torch.ones(3, dtype=F64)
    quad, grad = (lambda v: 0.5 * v @ v), (lambda v: v)
    rows: list[tuple[Callable[[], object], type[Exception], str]] = [
        (
            lambda: calculus.backtracking_line_search(quad, grad, x, 2, c=1.5),
            ValueError,
            "`c` must lie",
        ),
        (
            lambda: calculus.backtracking_line_search(quad, grad, x, 2, shrink=1.0),
            ValueError,
            "`shrink`",
        ),
        (
            lambda: calculus.backtracking_line_search(quad, grad, x, 2, grow=0.5),
            ValueError,
            "`grow`",
        ),
        (
            lambda: calculus.backtracking_line_search(quad, lambda v: v[:2], x, 2),
            ValueError,
            "`grad_fn`",
        ),
        (
            lambda: calculus.backtracking_line_search(lambda v: v, grad, x, 2),
            ValueError,
            "`f` must",
        ),
        (lambda: calculus.line_search_descent(quad, grad, x, 0.0), ValueError, "`tol`"),
        (
            lambda: calculus.minibatch_gradient(torch.ones(4, 3, dtype=F64), x, x, 2),
            ValueError,
            "need A",
        ),
        (
            lambda: calculus.minibatch_gradient(torch.ones(3, 3, dtype=F64), x, x, 0),
            ValueError,
            "`batch_size`",
        ),
        (
            lambda: calculus.least_squares_sgd(
                torch.eye(3, dtype=F64), x, x, -torch.ones(2, dtype=F64), 1
            ),
            ValueError,
            "`lrs` must be positive",
        ),
        (lambda: calculus.hessian_vector_product(quad, x, x[:2]), ValueError, "`v` must have"),
        (lambda: calculus.hessian_vector_product(lambda v: v, x, x), ValueError, "`f` must return"),
        (
            lambda: calculus.hessian_vector_product(quad, torch.ones(3, dtype=torch.int64), x),
            TypeError,
            "floating-point",
        ),
    ]
    for call, error, pattern in rows:
        with pytest.raises(error, match=pattern):
            call()
