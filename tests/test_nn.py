"""Tests for dlbook.nn: derivatives vs torch.autograd and differences, MLPs vs torch.nn."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from dlbook import autograd as ag
from dlbook import nn as dnn
from dlbook import train
from dlbook.autograd import Variable
from dlbook.calculus import numerical_gradient, relative_error

F64 = torch.float64

# (our function, our derivative, torch's function)
ACTS: dict[
    str,
    tuple[Callable[..., torch.Tensor], Callable[..., torch.Tensor], Callable[..., torch.Tensor]],
] = {
    "sigmoid": (dnn.sigmoid, dnn.sigmoid_prime, torch.sigmoid),
    "tanh": (torch.tanh, dnn.tanh_prime, torch.tanh),
    "relu": (dnn.relu, dnn.relu_prime, torch.relu),
    "gelu": (dnn.gelu, dnn.gelu_prime, F.gelu),
}


@pytest.mark.parametrize("name", sorted(ACTS))
def test_activation_and_derivative_match_torch(name: str, device: torch.device) -> None:
    f, f_prime, reference = ACTS[name]
    x = torch.linspace(-6, 6, 241, dtype=F64, device=device)
    x = x[x != 0].clone().requires_grad_(True)  # the ReLU kink is a convention, tested below
    y = reference(x)
    torch.testing.assert_close(f(x.detach()), y.detach(), rtol=1e-12, atol=1e-14)
    (grad,) = torch.autograd.grad(y.sum(), x)
    got = f_prime(x.detach())
    assert got.device == x.device and got.dtype == F64
    torch.testing.assert_close(got, grad, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "gelu"])
def test_derivatives_match_central_differences(name: str) -> None:
    f, f_prime, _ = ACTS[name]
    x = torch.linspace(-4, 4, 33, dtype=F64)
    # f acts entrywise, so the gradient of sum(f(x)) is f'(x) entry by entry.
    numeric = numerical_gradient(lambda v: f(v).sum(), x)
    assert relative_error(f_prime(x), numeric) < 1e-8


def test_special_values() -> None:
    zero = torch.zeros(1, dtype=F64)
    assert dnn.sigmoid_prime(zero).item() == 0.25
    assert dnn.relu_prime(zero).item() == 0.0  # the convention PyTorch uses
    assert dnn.gelu_prime(zero).item() == 0.5
    # GELU tends to ReLU far from 0, and its derivative to the step.
    far = torch.tensor([-10.0, 10.0], dtype=F64)
    torch.testing.assert_close(dnn.gelu(far), torch.tensor([0.0, 10.0], dtype=F64))
    torch.testing.assert_close(dnn.gelu_prime(far), torch.tensor([0.0, 1.0], dtype=F64))


def test_gelu_is_exact_not_tanh_approximation() -> None:
    x = torch.linspace(-3, 3, 61, dtype=F64)
    approx = F.gelu(x, approximate="tanh")
    assert (dnn.gelu(x) - approx).abs().max() > 1e-5
    torch.testing.assert_close(dnn.gelu(x), F.gelu(x), rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------------------
# The backward pass of a linear layer
# --------------------------------------------------------------------------------------
def test_linear_backward_matches_autograd(device: torch.device) -> None:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(7, 5, generator=g, dtype=F64).to(device).requires_grad_(True)
    W = torch.randn(3, 5, generator=g, dtype=F64).to(device).requires_grad_(True)
    b = torch.randn(3, generator=g, dtype=F64).to(device).requires_grad_(True)
    G = torch.randn(7, 3, generator=g, dtype=F64).to(device)
    (F.linear(X, W, b) * G).sum().backward()
    gX, gW, gb = dnn.linear_backward(X.detach(), W.detach(), G)
    for got, ref in [(gX, X.grad), (gW, W.grad), (gb, b.grad)]:
        assert ref is not None and got.device == device
        torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)


def test_linear_backward_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match="matrices"):
        dnn.linear_backward(torch.ones(3), torch.ones(2, 3), torch.ones(2))
    with pytest.raises(ValueError, match="do not fit"):
        dnn.linear_backward(torch.ones(4, 3), torch.ones(2, 5), torch.ones(4, 2))
    with pytest.raises(ValueError, match="do not fit"):
        dnn.linear_backward(torch.ones(4, 3), torch.ones(2, 3), torch.ones(4, 3))


# --------------------------------------------------------------------------------------
# Networks on the engine agree with torch.nn
# --------------------------------------------------------------------------------------
TORCH_ACT = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "gelu": nn.GELU}


def torch_twin(net: dnn.MLP) -> nn.Sequential:
    """An nn.Sequential holding copies of the engine MLP's weights."""
    modules: list[nn.Module] = []
    for k, layer in enumerate(net.layers):
        linear = nn.Linear(layer.W.shape[1], layer.W.shape[0]).to(layer.W.data)
        with torch.no_grad():
            linear.weight.copy_(layer.W.data)
            linear.bias.copy_(layer.b.data)
        modules.append(linear)
        if k < len(net.layers) - 1:
            modules.append(TORCH_ACT[net.activation]())
    return nn.Sequential(*modules)


@pytest.mark.parametrize("activation", sorted(TORCH_ACT))
def test_mlp_forward_and_gradients_equal_torch_sequential(
    activation: str, device: torch.device
) -> None:
    g = torch.Generator().manual_seed(1)
    net = dnn.MLP([6, 8, 7, 4], activation, generator=g, device=device, dtype=F64)
    twin = torch_twin(net)
    X = torch.randn(10, 6, generator=g, dtype=F64).to(device)
    y = torch.randint(0, 4, (10,), generator=g).to(device)
    logits = net(X)
    assert logits.device == device
    torch.testing.assert_close(logits.data, twin(X).detach(), rtol=1e-12, atol=1e-12)
    ag.cross_entropy(logits, y).backward()
    F.cross_entropy(twin(X), y).backward()
    torch_params = [p for m in twin if isinstance(m, nn.Linear) for p in (m.weight, m.bias)]
    for ours, theirs in zip(net.parameters(), torch_params, strict=True):
        assert ours.grad is not None and theirs.grad is not None
        torch.testing.assert_close(ours.grad, theirs.grad, rtol=1e-10, atol=1e-12)


def test_sgd_training_follows_torch_step_by_step() -> None:
    g = torch.Generator().manual_seed(5)
    X, y = torch.rand(320, 64, generator=g), torch.randint(0, 10, (320,), generator=g)
    net = dnn.MLP([64, 32, 10], generator=torch.Generator().manual_seed(0))
    twin = torch_twin(net)
    opt = torch.optim.SGD(twin.parameters(), lr=0.5)
    loader = train.make_loader(X, y, batch_size=64, shuffle=True)
    for xb, yb in loader:  # one epoch
        loss = ag.cross_entropy(net(xb), yb)
        loss.backward()
        dnn.sgd_step(net.parameters(), lr=0.5)
        opt.zero_grad()
        F.cross_entropy(twin(xb), yb).backward()
        opt.step()
    torch_params = [p for m in twin if isinstance(m, nn.Linear) for p in (m.weight, m.bias)]
    for ours, theirs in zip(net.parameters(), torch_params, strict=True):
        assert ours.grad is None  # sgd_step cleared it
        torch.testing.assert_close(ours.data, theirs.detach(), rtol=1e-4, atol=1e-5)


def test_linear_initialisation_is_seeded_and_bounded(device: torch.device) -> None:
    a = dnn.Linear(50, 20, generator=torch.Generator().manual_seed(3), device=device)
    b = dnn.Linear(50, 20, generator=torch.Generator().manual_seed(3), device=device)
    c = dnn.Linear(50, 20, generator=torch.Generator().manual_seed(4), device=device)
    assert a.W.device == device and a.W.data.dtype == torch.float32
    assert torch.equal(a.W.data, b.W.data) and torch.equal(a.b.data, b.b.data)
    assert not torch.equal(a.W.data, c.W.data)
    bound = 1 / 50**0.5
    assert a.W.data.abs().max() <= bound and a.b.data.abs().max() <= bound
    # Uniform on [-bound, bound]: variance bound^2 / 3 (1,000 draws, loose tolerance).
    assert abs(a.W.data.var().item() - bound**2 / 3) < 0.2 * bound**2 / 3


# --------------------------------------------------------------------------------------
# Counting parameters
# --------------------------------------------------------------------------------------
def test_the_784_16_16_10_network_has_13002_parameters() -> None:
    assert 784 * 16 + 16 * 16 + 16 * 10 + (16 + 16 + 10) == 13_002  # the closed form
    net = dnn.MLP([784, 16, 16, 10], generator=torch.Generator().manual_seed(0))
    assert dnn.count_parameters(net) == 13_002
    twin = nn.Sequential(nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 16), nn.Linear(16, 10))
    assert dnn.count_parameters(twin) == 13_002


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=2, max_size=5))
def test_count_parameters_closed_form(sizes: list[int]) -> None:
    net = dnn.MLP(sizes, generator=torch.Generator().manual_seed(0))
    closed_form = sum((d_in + 1) * d_out for d_in, d_out in itertools.pairwise(sizes))
    assert dnn.count_parameters(net) == closed_form
    assert len(net.parameters()) == 2 * (len(sizes) - 1)


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------
def test_sgd_step_and_constructors_reject_bad_input() -> None:
    w = Variable(torch.ones(2))
    with pytest.raises(ValueError, match="`lr`"):
        dnn.sgd_step([w], lr=0.0)
    with pytest.raises(ValueError, match="`sizes`"):
        dnn.MLP([4])
    with pytest.raises(ValueError, match="`activation`"):
        dnn.MLP([4, 2], activation="swish")
    with pytest.raises(ValueError, match="`in_features`"):
        dnn.Linear(0, 3)
    with pytest.raises(ValueError, match="`out_features`"):
        dnn.Linear(3, 2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"linear: expected X \(N, D\)"):
        dnn.MLP([4, 2])(torch.ones(3, 5))
