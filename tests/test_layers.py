"""Tests for dlbook.layers against torch.nn.init, nn.BatchNorm1d, nn.LayerNorm and the
laws of dropout that Chapter 9 states."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor, nn

from dlbook import layers

Init = Callable[..., Tensor]

# (function, distribution, variance as a function of (fan_in, fan_out, gain)), written
# from the papers' formulas, independently of the code.
INITS: list[tuple[Init, str, Callable[[int, int, float], float]]] = [
    (layers.xavier_uniform, "uniform", lambda i, o, g: g**2 * 2 / (i + o)),
    (layers.xavier_normal, "normal", lambda i, o, g: g**2 * 2 / (i + o)),
    (layers.kaiming_uniform, "uniform", lambda i, o, g: g**2 / i),
    (layers.kaiming_normal, "normal", lambda i, o, g: g**2 / i),
]


@settings(max_examples=30, deadline=None)
@given(
    which=st.integers(0, 3),
    fan_in=st.integers(20, 300),
    fan_out=st.integers(20, 300),
    gain=st.sampled_from([1.0, math.sqrt(2.0), 5 / 3]),
    seed=st.integers(0, 2**31 - 1),
)
def test_init_variance_matches_the_formula(
    which: int, fan_in: int, fan_out: int, gain: float, seed: int
) -> None:
    """The sample variance of n = fan_in * fan_out entries estimates the formula's variance
    s2 with standard error s2 * sqrt(2 / n) for a normal and s2 * sqrt(0.8 / n) for a
    uniform (fourth moment a^4/5 against (a^2/3)^2, so Var(x^2) = 0.8 s2^2). We allow six
    standard errors: a false alarm has probability about 2e-9 per example."""
    init, kind, variance = INITS[which]
    W = init(fan_out, fan_in, gain=gain, generator=torch.Generator().manual_seed(seed))
    W = W.double()
    assert W.shape == (fan_out, fan_in)
    n = W.numel()
    s2 = variance(fan_in, fan_out, gain)
    se_var = s2 * math.sqrt((2.0 if kind == "normal" else 0.8) / n)
    assert abs(W.var().item() - s2) < 6 * se_var
    assert abs(W.mean().item()) < 6 * math.sqrt(s2 / n)
    if kind == "uniform":  # support: [-a, a] with a = sqrt(3 s2)
        assert W.abs().max().item() <= math.sqrt(3 * s2) * (1 + 1e-6)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (layers.xavier_uniform, lambda w, g: nn.init.xavier_uniform_(w, generator=g)),
        (layers.xavier_normal, lambda w, g: nn.init.xavier_normal_(w, generator=g)),
        (
            layers.kaiming_uniform,
            lambda w, g: nn.init.kaiming_uniform_(w, nonlinearity="relu", generator=g),
        ),
        (
            layers.kaiming_normal,
            lambda w, g: nn.init.kaiming_normal_(w, nonlinearity="relu", generator=g),
        ),
    ],
)
def test_init_draws_what_torch_nn_init_draws(
    ours: Init, theirs: Callable[[Tensor, torch.Generator], Tensor]
) -> None:
    """Same generator state, same distribution and scale: the same matrix as torch.nn.init
    (which uses fan_in = weight.shape[1] and fan_out = weight.shape[0])."""
    expected = theirs(torch.empty(30, 70), torch.Generator().manual_seed(5))
    got = ours(30, 70, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-7)


def test_init_lands_on_the_requested_device(device: torch.device) -> None:
    for init, _, _ in INITS:
        W = init(4, 3, generator=torch.Generator().manual_seed(0), device=device)
        assert W.device.type == device.type
        W64 = init(4, 3, device=device, dtype=torch.float64)
        assert W64.dtype == torch.float64 and W64.device.type == device.type


@pytest.mark.parametrize(
    ("bad", "error"), [(0, ValueError), (-3, ValueError), (2.5, TypeError), (True, TypeError)]
)
def test_init_rejects_bad_fans(bad: object, error: type[Exception]) -> None:
    # a value out of range is a ValueError; a float or a bool is the wrong type
    with pytest.raises(error, match=r"fan_in`? must be"):
        layers.xavier_uniform(3, bad)  # type: ignore[arg-type]
    with pytest.raises(error, match=r"fan_out`? must be"):
        layers.kaiming_normal(bad, 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="gain"):
        layers.xavier_normal(3, 3, gain=-1.0)


# ---------------------------------------------------------------------- batch norm
@pytest.mark.parametrize("shape", [(16, 5), (8, 5, 7)])
def test_batch_norm_matches_nn_batchnorm1d_over_several_steps(
    shape: tuple[int, ...], device: torch.device
) -> None:
    g = torch.Generator().manual_seed(0)
    C = shape[1]
    module = nn.BatchNorm1d(C, momentum=0.2).double().to(device)
    with torch.no_grad():
        module.weight.copy_(torch.rand(C, generator=g, dtype=torch.float64) + 0.5)
        module.bias.copy_(torch.randn(C, generator=g, dtype=torch.float64))
    gamma = module.weight.detach().clone().requires_grad_()
    beta = module.bias.detach().clone().requires_grad_()
    mean = torch.zeros(C, dtype=torch.float64, device=device)
    var = torch.ones(C, dtype=torch.float64, device=device)
    for step in range(5):
        x = (3 * torch.randn(shape, generator=g, dtype=torch.float64) + step).to(device)
        x_ours = x.clone().requires_grad_()
        x_torch = x.clone().requires_grad_()
        y, mean, var = layers.batch_norm(x_ours, gamma, beta, mean, var, momentum=0.2)
        y_torch = module(x_torch)
        torch.testing.assert_close(y, y_torch, rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(mean, module.running_mean, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(var, module.running_var, rtol=1e-10, atol=1e-12)
        assert y.device == x.device and mean.device == x.device
        # Gradients of the same loss through both, by autograd.
        w = torch.randn(shape, generator=g, dtype=torch.float64).to(device)
        gamma.grad = beta.grad = None
        module.zero_grad()
        (y * w).sum().backward()
        (y_torch * w).sum().backward()
        assert x_ours.grad is not None and x_torch.grad is not None
        torch.testing.assert_close(x_ours.grad, x_torch.grad, rtol=1e-8, atol=1e-10)
        torch.testing.assert_close(gamma.grad, module.weight.grad, rtol=1e-8, atol=1e-10)
        torch.testing.assert_close(beta.grad, module.bias.grad, rtol=1e-8, atol=1e-10)
    # Evaluation mode uses (and keeps) the running statistics.
    module.eval()
    x = torch.randn(shape, generator=g, dtype=torch.float64).to(device)
    y, mean2, var2 = layers.batch_norm(x, gamma, beta, mean, var, training=False)
    torch.testing.assert_close(y, module(x), rtol=1e-10, atol=1e-10)
    assert torch.equal(mean2, mean) and torch.equal(var2, var)


def test_batch_norm_does_not_modify_its_inputs() -> None:
    x = torch.randn(6, 3)
    mean, var = torch.zeros(3), torch.ones(3)
    layers.batch_norm(x, torch.ones(3), torch.zeros(3), mean, var)
    assert torch.equal(mean, torch.zeros(3)) and torch.equal(var, torch.ones(3))


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 20), c=st.integers(1, 6), seed=st.integers(0, 2**31 - 1))
def test_batch_norm_output_has_zero_mean_unit_variance(n: int, c: int, seed: int) -> None:
    """With gamma = 1, beta = 0 each channel of the output has mean 0 and (biased) variance
    sigma_B^2 / (sigma_B^2 + eps), which is 1 up to eps for non-constant data."""
    x = 2 * torch.randn(n, c, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    y, _, _ = layers.batch_norm(
        x,
        torch.ones(c).double(),
        torch.zeros(c).double(),
        torch.zeros(c).double(),
        torch.ones(c).double(),
        eps=0.0,
    )
    torch.testing.assert_close(y.mean(0), torch.zeros(c).double(), rtol=0, atol=1e-10)
    torch.testing.assert_close(y.var(0, unbiased=False), torch.ones(c).double(), rtol=1e-8, atol=0)


def test_batch_norm_backward_matches_autograd(device: torch.device) -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.randn(10, 4, generator=g, dtype=torch.float64).to(device).requires_grad_()
    gamma = (torch.rand(4, generator=g, dtype=torch.float64) + 0.5).to(device)
    dy = torch.randn(10, 4, generator=g, dtype=torch.float64).to(device)
    y = F.batch_norm(x, None, None, gamma, torch.zeros_like(gamma), training=True)
    (expected,) = torch.autograd.grad(y, x, dy)
    got = layers.batch_norm_backward(dy, x.detach(), gamma)
    assert got.device == x.device
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-12)


def test_batch_norm_backward_matches_central_differences() -> None:
    g = torch.Generator().manual_seed(4)
    x = torch.randn(5, 2, generator=g, dtype=torch.float64)
    gamma = torch.tensor([0.7, 1.3], dtype=torch.float64)
    dy = torch.randn(5, 2, generator=g, dtype=torch.float64)

    def loss(x: Tensor) -> float:
        y, _, _ = layers.batch_norm(
            x, gamma, torch.zeros(2).double(), torch.zeros(2).double(), torch.ones(2).double()
        )
        return float((y * dy).sum())

    h = 1e-6
    numeric = torch.zeros_like(x)
    for idx in range(x.numel()):
        e = torch.zeros(x.numel(), dtype=torch.float64)
        e[idx] = h
        e = e.reshape(x.shape)
        numeric.view(-1)[idx] = (loss(x + e) - loss(x - e)) / (2 * h)
    torch.testing.assert_close(
        layers.batch_norm_backward(dy, x, gamma), numeric, rtol=1e-6, atol=1e-8
    )


def test_batch_norm_rejects_bad_input() -> None:
    ones, zeros = torch.ones(3), torch.zeros(3)
    with pytest.raises(ValueError, match=r"x must have shape \(N, C\)"):
        layers.batch_norm(torch.zeros(3), ones, zeros, zeros, ones)
    with pytest.raises(ValueError, match="gamma must have shape"):
        layers.batch_norm(torch.zeros(4, 3), torch.ones(2), zeros, zeros, ones)
    with pytest.raises(ValueError, match="running_var must have shape"):
        layers.batch_norm(torch.zeros(4, 3), ones, zeros, zeros, torch.ones(4))
    with pytest.raises(ValueError, match="momentum"):
        layers.batch_norm(torch.zeros(4, 3), ones, zeros, zeros, ones, momentum=1.5)
    with pytest.raises(ValueError, match="more than one value per channel"):
        layers.batch_norm(torch.zeros(1, 3), ones, zeros, zeros, ones)
    with pytest.raises(ValueError, match="dy must have the shape"):
        layers.batch_norm_backward(torch.zeros(4, 2), torch.zeros(4, 3), ones)


# ---------------------------------------------------------------------- layer norm
@pytest.mark.parametrize(("shape", "normalized"), [((6, 5), (5,)), ((2, 3, 4, 5), (4, 5))])
def test_layer_norm_matches_nn_layernorm(
    shape: tuple[int, ...], normalized: tuple[int, ...], device: torch.device
) -> None:
    g = torch.Generator().manual_seed(1)
    module = nn.LayerNorm(normalized).double().to(device)
    with torch.no_grad():
        module.weight.copy_(torch.rand(normalized, generator=g, dtype=torch.float64) + 0.5)
        module.bias.copy_(torch.randn(normalized, generator=g, dtype=torch.float64))
    gamma = module.weight.detach().clone().requires_grad_()
    beta = module.bias.detach().clone().requires_grad_()
    x = (2 * torch.randn(shape, generator=g, dtype=torch.float64) + 1).to(device)
    x_ours, x_torch = x.clone().requires_grad_(), x.clone().requires_grad_()
    y, y_torch = layers.layer_norm(x_ours, gamma, beta), module(x_torch)
    torch.testing.assert_close(y, y_torch, rtol=1e-10, atol=1e-10)
    assert y.device == x.device
    w = torch.randn(shape, generator=g, dtype=torch.float64).to(device)
    (y * w).sum().backward()
    (y_torch * w).sum().backward()
    assert x_ours.grad is not None and x_torch.grad is not None
    torch.testing.assert_close(x_ours.grad, x_torch.grad, rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(gamma.grad, module.weight.grad, rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(beta.grad, module.bias.grad, rtol=1e-8, atol=1e-10)


def test_layer_norm_treats_each_example_alone() -> None:
    """Unlike batch norm, an example's output does not depend on the rest of the batch."""
    x = torch.randn(5, 4, generator=torch.Generator().manual_seed(2))
    gamma, beta = torch.ones(4), torch.zeros(4)
    torch.testing.assert_close(
        layers.layer_norm(x, gamma, beta)[:1], layers.layer_norm(x[:1], gamma, beta)
    )


def test_layer_norm_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="trailing shape"):
        layers.layer_norm(torch.zeros(2, 3), torch.ones(4), torch.zeros(4))
    with pytest.raises(ValueError, match="beta must have shape"):
        layers.layer_norm(torch.zeros(2, 3), torch.ones(3), torch.zeros(2))


# ---------------------------------------------------------------------- dropout
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_keeps_the_expectation_and_scales_survivors(p: float, device: torch.device) -> None:
    n = 200_000
    x = torch.full((n,), 3.0, dtype=torch.float64, device=device)
    y = layers.dropout(x, p, generator=torch.Generator().manual_seed(0))
    assert y.device == x.device and y.shape == x.shape
    # Survivors are scaled by 1 / (1 - p); the rest are zeros.
    values = set(torch.unique(y).cpu().tolist())
    assert values <= {0.0, 3.0 / (1 - p)} and len(values) == 2
    # The zeros fraction is a binomial proportion: standard error sqrt(p (1 - p) / n);
    # six of them bound it (a false alarm has probability about 2e-9).
    zeros = (y == 0).double().mean().item()
    assert abs(zeros - p) < 6 * math.sqrt(p * (1 - p) / n)
    # E[y] = x: the mean of y is 3 (1 - Z/n) / (1 - p), with the same relative error.
    se_mean = 3.0 * math.sqrt(p / ((1 - p) * n))
    assert abs(y.mean().item() - 3.0) < 6 * se_mean


def test_dropout_is_the_identity_in_eval_mode_and_for_p_zero(device: torch.device) -> None:
    x = torch.randn(50, 3, device=device)
    assert torch.equal(layers.dropout(x, 0.7, training=False), x)
    assert torch.equal(layers.dropout(x, 0.0), x)
    assert torch.equal(layers.dropout(x, 1.0), torch.zeros_like(x))


def test_dropout_agrees_with_torch_in_distribution() -> None:
    """Not the same mask (different random streams), but the same law: F.dropout's zeros
    fraction and scale match ours within sampling error."""
    n, p = 100_000, 0.3
    x = torch.ones(n, dtype=torch.float64)
    torch.manual_seed(0)
    theirs = F.dropout(x, p, training=True)
    ours = layers.dropout(x, p, generator=torch.Generator().manual_seed(1))
    assert theirs.max().item() == pytest.approx(ours.max().item())
    se = math.sqrt(2 * p * (1 - p) / n)  # of the difference of two proportions
    assert abs((theirs == 0).double().mean().item() - (ours == 0).double().mean().item()) < 6 * se


def test_dropout_with_the_same_generator_state_repeats() -> None:
    x = torch.ones(100)
    a = layers.dropout(x, 0.5, generator=torch.Generator().manual_seed(7))
    b = layers.dropout(x, 0.5, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_rejects_p_outside_the_unit_interval(p: float) -> None:
    with pytest.raises(ValueError, match=r"p must lie in \[0, 1\]"):
        layers.dropout(torch.ones(3), p)
