"""Tests for dlbook.nn: derivatives vs torch.autograd and differences, MLPs vs torch.nn."""

from __future__ import annotations

import ast
import itertools
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

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


# --------------------------------------------------------------------------------------
# Leaky ReLU, ELU and SiLU against torch.nn.functional
# --------------------------------------------------------------------------------------
# (ours, its derivative, the OpInfo name, torch's function)
MORE_ACTS: dict[str, tuple[Callable[..., torch.Tensor], Callable[..., torch.Tensor], str]] = {
    "leaky_relu": (dnn.leaky_relu, dnn.leaky_relu_prime, "nn.functional.leaky_relu"),
    "elu": (dnn.elu, dnn.elu_prime, "nn.functional.elu"),
    "silu": (dnn.silu, dnn.silu_prime, "nn.functional.silu"),
}


@pytest.mark.parametrize("name", sorted(MORE_ACTS))
def test_more_activations_match_torch_on_opinfo_samples(name: str) -> None:
    from torch.testing._internal.common_methods_invocations import op_db

    ours, ours_prime, op_name = MORE_ACTS[name]
    (op,) = [o for o in op_db if o.name == op_name and o.variant_test_name == ""]
    reference = getattr(F, name)
    samples = list(op.sample_inputs("cpu", torch.float64))
    assert samples
    for sample in samples:
        x = sample.input.detach().clone().requires_grad_(True)
        args, kwargs = sample.args, dict(sample.kwargs)
        kwargs.pop("inplace", None)
        y = reference(x, *args, **kwargs)
        # float64 round-off only: SiLU's x * sigmoid(x) may round differently from torch's kernel
        got = ours(x.detach(), *args, **kwargs)
        torch.testing.assert_close(got, y.detach(), rtol=1e-12, atol=1e-14)
        if x.numel():
            (grad,) = torch.autograd.grad(y.sum(), x)
            got_prime = ours_prime(x.detach(), *args, **kwargs)
            torch.testing.assert_close(got_prime, grad, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    ("name", "param"),
    [(n, p) for n in ("leaky_relu", "elu") for p in (None, 0.2, 2.5)] + [("silu", None)],
)
def test_more_activations_match_torch_with_parameters(
    name: str, param: float | None, device: torch.device
) -> None:
    ours, ours_prime, _ = MORE_ACTS[name]
    key = {"leaky_relu": "negative_slope", "elu": "alpha"}.get(name)
    kwargs = {} if param is None or key is None else {key: param}
    x = torch.linspace(-30, 30, 601, dtype=F64, device=device)
    x = x[x != 0].clone().requires_grad_(True)
    y = getattr(F, name)(x, **kwargs)
    got = ours(x.detach(), **kwargs)
    assert got.dtype == F64 and got.device == x.device
    torch.testing.assert_close(got, y.detach(), rtol=1e-12, atol=1e-14)
    (grad,) = torch.autograd.grad(y.sum(), x)
    torch.testing.assert_close(ours_prime(x.detach(), **kwargs), grad, rtol=1e-12, atol=1e-14)
    # and the derivative is the central difference of our own function
    points = torch.linspace(-4.75, 5.25, 21, dtype=F64)  # none within a step of the kink
    numeric = numerical_gradient(lambda v: ours(v, **kwargs).sum(), points)
    assert relative_error(ours_prime(points, **kwargs), numeric) < 1e-8


def test_more_activations_at_the_kink_and_extremes() -> None:
    zero = torch.zeros(1, dtype=F64, requires_grad=True)
    (g,) = torch.autograd.grad(F.leaky_relu(zero, 0.1).sum(), zero)
    assert dnn.leaky_relu_prime(zero.detach(), 0.1).item() == g.item() == pytest.approx(0.1)
    (g,) = torch.autograd.grad(F.elu(zero).sum(), zero)
    assert dnn.elu_prime(zero.detach()).item() == g.item() == 1.0
    for dtype in (torch.float32, F64):
        big = torch.tensor([-1e8, -1e4, 1e4, 1e8], dtype=dtype)
        for name, (ours, ours_prime, _) in MORE_ACTS.items():
            assert torch.isfinite(ours(big)).all() and torch.isfinite(ours_prime(big)).all(), name
            torch.testing.assert_close(ours(big), getattr(F, name)(big), rtol=0, atol=0)


@pytest.mark.parametrize("name", sorted(MORE_ACTS))
def test_more_activations_inplace_like_torch(name: str) -> None:
    ours = MORE_ACTS[name][0]
    x = torch.linspace(-3, 3, 7, dtype=F64)
    a, b = x.clone(), x.clone()
    out = ours(a, inplace=True)
    expected = getattr(F, name)(b, inplace=True)
    assert out.data_ptr() == a.data_ptr()
    torch.testing.assert_close(a, expected, rtol=1e-12, atol=1e-14)  # SiLU: round-off only
    # non-contiguous input works and leaves the input alone
    X = torch.randn(4, 3, dtype=F64, generator=torch.Generator().manual_seed(0)).T
    before = X.clone()
    torch.testing.assert_close(ours(X), getattr(F, name)(X), rtol=1e-12, atol=1e-14)
    assert torch.equal(X, before)


@pytest.mark.parametrize(
    ("call", "error", "pattern"),
    [
        (lambda: dnn.leaky_relu(torch.arange(3)), TypeError, "`input`"),
        (lambda: dnn.elu("x"), TypeError, "`input`"),  # type: ignore[arg-type]
        (lambda: dnn.silu(torch.ones(2), inplace=1), TypeError, "`inplace`"),  # type: ignore[arg-type]
        (lambda: dnn.leaky_relu(torch.ones(2), negative_slope="a"), TypeError, "negative_slope"),  # type: ignore[arg-type]
        (lambda: dnn.elu(torch.ones(2), alpha=float("nan")), ValueError, "`alpha`"),
        (lambda: dnn.silu_prime(torch.ones(2, dtype=torch.int32)), TypeError, "`input`"),
    ],
)
def test_more_activations_reject_bad_input(
    call: Callable[[], object], error: type[Exception], pattern: str
) -> None:
    with pytest.raises(error, match=pattern):
        call()


# --------------------------------------------------------------------------------------
# No import cycle: the activations sit below both the engine and dlbook.nn
# --------------------------------------------------------------------------------------
def _dlbook_imports(path: Path) -> set[str]:
    """Every dlbook module ``path`` imports, at module level or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "dlbook":
                found.update(f"dlbook.{alias.name}" for alias in node.names)
            elif node.module.startswith("dlbook."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("dlbook."))
    return found


def test_no_import_cycle_between_autograd_and_nn() -> None:
    package = Path(dnn.__file__).parent
    graph = {
        f"dlbook.{p.stem}": _dlbook_imports(p) for p in package.glob("*.py") if p.stem != "__init__"
    }
    assert "dlbook.nn" not in graph["dlbook.autograd"]
    assert "dlbook.activations" in graph["dlbook.autograd"]
    assert {"dlbook.autograd", "dlbook.activations"} <= graph["dlbook.nn"]
    # and nothing below autograd reaches up to it or to nn again (no longer cycles either)
    seen: set[str] = set()
    stack = ["dlbook.autograd"]
    while stack:
        module = stack.pop()
        for dep in graph.get(module, set()) - seen:
            seen.add(dep)
            stack.append(dep)
    assert not seen & {"dlbook.autograd", "dlbook.nn"}, sorted(seen)


def test_autograd_works_with_nn_blocked() -> None:
    # A fresh interpreter in which `import dlbook.nn` fails: the engine, its ReLU and GELU
    # backward passes included, must not need it.
    code = (
        "import sys; sys.modules['dlbook.nn'] = None\n"
        "import torch, dlbook.autograd as ag\n"
        "x = ag.Variable(torch.tensor([-1.0, 0.5, 2.0]))\n"
        "(ag.relu(x) + ag.gelu(x)).sum().backward()\n"
        "assert 'dlbook.nn' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
        "print(x.grad.tolist())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    x = torch.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    (torch.relu(x) + F.gelu(x)).sum().backward()
    torch.testing.assert_close(torch.tensor(eval(done.stdout)), x.grad)
