"""Tests for dlbook.meta: the meta-gradient against a hand-derived closed form, central
finite differences and torch.func's nested grad (float64); first-order MAML against the
query gradient at detached adapted parameters; the network against nn.Sequential with the
same state dict; adaptation against torch.optim.SGD run task by task."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor, nn

from dlbook import meta

F64 = torch.float64


def sequential(params: list[Tensor]) -> nn.Sequential:
    """An nn.Sequential of Linear + ReLU layers holding copies of ``params``."""
    layers: list[nn.Module] = []
    for ell in range(len(params) // 2):
        W = params[2 * ell]
        lin = nn.Linear(W.shape[1], W.shape[0], dtype=W.dtype, device=W.device)
        layers += [lin, nn.ReLU()]
    net = nn.Sequential(*layers[:-1])
    keys = list(net.state_dict())
    net.load_state_dict({k: p.detach().clone() for k, p in zip(keys, params, strict=False)})
    return net


# ------------------------------------------------------------------------- tasks
def test_sine_tasks_follow_the_protocol(device: torch.device) -> None:
    x, y, A, phi = meta.sine_tasks(
        2000, 7, generator=torch.Generator().manual_seed(0), device=device, dtype=F64
    )
    assert x.shape == (2000, 7, 1) and y.shape == (2000, 7, 1) and A.shape == (2000,)
    assert x.device == torch.device(device) and x.dtype == F64
    assert float(A.min()) >= 0.1 and float(A.max()) <= 5.0
    assert float(phi.min()) >= 0.0 and float(phi.max()) <= math.pi
    assert float(x.min()) >= -5.0 and float(x.max()) <= 5.0
    torch.testing.assert_close(y, A[:, None, None] * torch.sin(x - phi[:, None, None]))
    # Uniform draws: means within 5 standard errors of the interval midpoints.
    for values, lo, hi in [(A, 0.1, 5.0), (phi, 0.0, math.pi), (x.flatten(), -5.0, 5.0)]:
        se = (hi - lo) / math.sqrt(12 * values.numel())
        assert abs(values.mean().item() - (lo + hi) / 2) < 5 * se


def test_sine_tasks_are_reproducible_across_dtypes() -> None:
    a = meta.sine_tasks(3, 4, generator=torch.Generator().manual_seed(5))
    b = meta.sine_tasks(3, 4, generator=torch.Generator().manual_seed(5), dtype=F64)
    for u, v in zip(a, b, strict=False):
        torch.testing.assert_close(u, v.float())


# ------------------------------------------------------------------------- the network
def test_init_mlp_has_nn_linear_shapes_and_bounds() -> None:
    params = meta.init_mlp([3, 40, 40, 1], generator=torch.Generator().manual_seed(0))
    reference = nn.Sequential(
        nn.Linear(3, 40), nn.ReLU(), nn.Linear(40, 40), nn.ReLU(), nn.Linear(40, 1)
    )
    assert [p.shape for p in params] == [p.shape for p in reference.parameters()]
    for p, fan_in in zip(params, [3, 3, 40, 40, 40, 40], strict=False):
        assert p.requires_grad and p.is_leaf
        assert float(p.detach().abs().max()) <= 1 / math.sqrt(fan_in)
    # Large layer: uniform on +-1/sqrt(in) has variance 1/(3 in).
    (W, _) = meta.init_mlp([100, 400], generator=torch.Generator().manual_seed(1))
    assert W.var().item() == pytest.approx(1 / 300, rel=0.02)


def test_mlp_forward_matches_nn_sequential_values_and_gradients(device: torch.device) -> None:
    params = meta.init_mlp(
        [2, 5, 4, 3], generator=torch.Generator().manual_seed(0), dtype=F64, device=device
    )
    net = sequential(params)
    x = torch.randn(6, 2, dtype=F64, device=device)
    out = meta.mlp_forward(params, x)
    torch.testing.assert_close(out, net(x), rtol=1e-12, atol=1e-12)
    out.square().sum().backward()
    net(x).square().sum().backward()
    for p, q in zip(params, net.parameters(), strict=False):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-12, atol=1e-12)


def test_mlp_forward_with_per_task_parameters_matches_a_loop() -> None:
    g = torch.Generator().manual_seed(2)
    T = 4
    per_task = [
        torch.randn(T, 5, 1, generator=g, dtype=F64),
        torch.randn(T, 5, generator=g, dtype=F64),
        torch.randn(T, 1, 5, generator=g, dtype=F64),
        torch.randn(T, 1, generator=g, dtype=F64),
    ]
    x = torch.randn(T, 7, 1, generator=g, dtype=F64)
    got = meta.mlp_forward(per_task, x)
    for t in range(T):
        net = sequential([p[t] for p in per_task])
        torch.testing.assert_close(got[t], net(x[t]), rtol=1e-12, atol=1e-12)


def test_mlp_forward_accepts_non_contiguous_inputs() -> None:
    params = meta.init_mlp([3, 4, 1], generator=torch.Generator().manual_seed(0), dtype=F64)
    x = torch.randn(3, 5, dtype=F64).T  # (5, 3), not contiguous
    assert not x.is_contiguous()
    torch.testing.assert_close(meta.mlp_forward(params, x), sequential(params)(x.contiguous()))


# ------------------------------------------------------------------------- the meta-gradient
def test_meta_gradient_of_a_linear_model_matches_the_closed_form() -> None:
    """f(x) = w x: d/dw L_q(w - a L_s'(w)) = (1 - a L_s'') L_q'(w'), FO drops the factor."""
    g = torch.Generator().manual_seed(0)
    xs, ys, xq, yq = (torch.randn(6, generator=g, dtype=F64) for _ in range(4))
    alpha, w0 = 0.3, 0.4
    w1 = w0 - alpha * 2 * float((xs * (w0 * xs - ys)).mean())
    slope_q = 2 * float((xq * (w1 * xq - yq)).mean())
    hessian = 2 * float((xs**2).mean())
    for first_order, expected in [(False, (1 - alpha * hessian) * slope_q), (True, slope_q)]:
        w = torch.tensor(w0, dtype=F64, requires_grad=True)
        (w_new,) = meta.inner_update(
            [w], ((w * xs - ys) ** 2).mean(), alpha, first_order=first_order
        )
        assert w_new.item() == pytest.approx(w1, rel=1e-14)
        (grad,) = torch.autograd.grad(((w_new * xq - yq) ** 2).mean(), w)
        assert grad.item() == pytest.approx(expected, rel=1e-12)
    assert abs(alpha * hessian * slope_q) > 1e-2  # the two must differ here


def _tiny_problem(seed: int) -> tuple[list[Tensor], tuple[Tensor, ...]]:
    g = torch.Generator().manual_seed(seed)
    params = meta.init_mlp([1, 6, 6, 1], generator=g, dtype=F64)
    x, y, _, _ = meta.sine_tasks(3, 8, generator=g, dtype=F64)
    return params, (x[:, :4], y[:, :4], x[:, 4:], y[:, 4:])


@pytest.mark.parametrize("steps", [1, 2])
def test_maml_gradient_matches_finite_differences(steps: int) -> None:
    params, data = _tiny_problem(steps)
    alpha = 0.1
    loss = meta.maml_loss(params, *data, alpha=alpha, steps=steps)
    grads = torch.autograd.grad(loss, params)
    h = 1e-6
    for p, gp in zip(params, grads, strict=False):
        flat = p.detach().flatten()
        for j in range(0, flat.numel(), max(1, flat.numel() // 4)):

            def at(delta: float, p: Tensor = p, j: int = j) -> float:
                shifted = [q.detach().clone() for q in params]
                shifted[[id(q) for q in params].index(id(p))].view(-1)[j] += delta
                shifted = [q.requires_grad_() for q in shifted]
                return meta.maml_loss(shifted, *data, alpha=alpha, steps=steps).item()

            numeric = (at(h) - at(-h)) / (2 * h)
            assert gp.flatten()[j].item() == pytest.approx(numeric, rel=1e-5, abs=1e-8)


def test_maml_gradient_matches_torch_func() -> None:
    from torch.func import functional_call, grad

    params, (xs, ys, xq, yq) = _tiny_problem(7)
    net = sequential(params)
    names = [n for n, _ in net.named_parameters()]
    alpha = 0.05

    def task_loss(theta: dict[str, Tensor], x: Tensor, y: Tensor) -> Tensor:
        out: Tensor = ((functional_call(net, theta, (x,)) - y) ** 2).mean()
        return out

    def meta_objective(theta: dict[str, Tensor]) -> Tensor:
        total = torch.zeros((), dtype=F64)
        for t in range(xs.shape[0]):
            g_t = grad(task_loss)(theta, xs[t], ys[t])
            adapted = {k: theta[k] - alpha * g_t[k] for k in theta}
            total = total + task_loss(adapted, xq[t], yq[t])
        return total / xs.shape[0]

    theta0 = {k: p.detach() for k, p in zip(names, params, strict=False)}
    expected = grad(meta_objective)(theta0)
    got = torch.autograd.grad(meta.maml_loss(params, xs, ys, xq, yq, alpha=alpha), params)
    for k, g_ours in zip(names, got, strict=False):
        torch.testing.assert_close(g_ours, expected[k], rtol=1e-10, atol=1e-12)


def test_first_order_maml_is_the_query_gradient_at_the_adapted_point() -> None:
    params, (xs, ys, xq, yq) = _tiny_problem(3)
    alpha = 0.1
    first = torch.autograd.grad(
        meta.maml_loss(params, xs, ys, xq, yq, alpha=alpha, first_order=True), params
    )
    second = torch.autograd.grad(meta.maml_loss(params, xs, ys, xq, yq, alpha=alpha), params)
    # Reference: adapt each task with torch.optim.SGD, then take the query gradient there.
    expected = [torch.zeros_like(p) for p in params]
    T = xs.shape[0]
    for t in range(T):
        net = sequential(params)
        opt = torch.optim.SGD(net.parameters(), lr=alpha)
        ((net(xs[t]) - ys[t]) ** 2).mean().backward()
        opt.step()
        opt.zero_grad()
        ((net(xq[t]) - yq[t]) ** 2).mean().backward()
        for e, q in zip(expected, net.parameters(), strict=False):
            assert q.grad is not None
            e += q.grad / T
    for f, e in zip(first, expected, strict=False):
        torch.testing.assert_close(f, e, rtol=1e-10, atol=1e-12)
    gap = max(float((f - s).abs().max()) for f, s in zip(first, second, strict=False))
    assert gap > 1e-4, "second- and first-order MAML must differ on a curved loss"


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 1000), alpha=st.floats(0.0, 0.2))
def test_one_inner_step_lowers_a_small_step_support_loss(seed: int, alpha: float) -> None:
    """Gradient descent with a small step does not raise the support loss (descent lemma)."""
    params, (xs, ys, _, _) = _tiny_problem(seed)
    before = meta.mse_per_task(meta.mlp_forward(params, xs), ys).detach()
    adapted = meta.adapt(params, xs, ys, alpha=alpha * 1e-2, steps=1)
    after = meta.mse_per_task(meta.mlp_forward(adapted, xs), ys).detach()
    assert torch.all(after <= before + 1e-12)


def test_adaptation_curve_matches_sgd_task_by_task(device: torch.device) -> None:
    params, (xs, ys, xq, yq) = _tiny_problem(4)
    params = [p.detach().to(device).requires_grad_() for p in params]
    xs, ys, xq, yq = (t.to(device) for t in (xs, ys, xq, yq))
    curve = meta.adaptation_curve(params, xs, ys, xq, yq, alpha=0.05, steps=3)
    assert curve.shape == (4, 3) and curve.device == xs.device and not curve.requires_grad
    for t in range(xs.shape[0]):
        net = sequential(params)
        opt = torch.optim.SGD(net.parameters(), lr=0.05)
        for s in range(4):
            with torch.no_grad():
                assert curve[s, t].item() == pytest.approx(
                    ((net(xq[t]) - yq[t]) ** 2).mean().item(), rel=1e-10
                )
            opt.zero_grad()
            ((net(xs[t]) - ys[t]) ** 2).mean().backward()
            opt.step()


# ------------------------------------------------------------------------- bad input
def _p() -> list[Tensor]:
    return meta.init_mlp([1, 3, 1], generator=torch.Generator())


def _x(T: int = 2, N: int = 3) -> Tensor:
    return torch.zeros(T, N, 1)


BAD: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    (
        "tasks count",
        lambda: meta.sine_tasks(0, 3, generator=torch.Generator()),
        ValueError,
        "num_tasks",
    ),
    (
        "tasks float count",
        lambda: meta.sine_tasks(2.0, 3, generator=torch.Generator()),  # type: ignore[arg-type]
        TypeError,
        "num_tasks",
    ),
    ("tasks generator", lambda: meta.sine_tasks(2, 3, generator=0), TypeError, "generator"),  # type: ignore[arg-type]
    (
        "tasks range",
        lambda: meta.sine_tasks(2, 3, generator=torch.Generator(), x_range=(1.0, -1.0)),
        ValueError,
        "x_range",
    ),
    (
        "tasks dtype",
        lambda: meta.sine_tasks(2, 3, generator=torch.Generator(), dtype=torch.int64),
        TypeError,
        "dtype",
    ),
    ("init sizes", lambda: meta.init_mlp([3], generator=torch.Generator()), ValueError, "sizes"),
    (
        "init zero width",
        lambda: meta.init_mlp([3, 0, 1], generator=torch.Generator()),
        ValueError,
        "sizes",
    ),
    (
        "forward odd list",
        lambda: meta.mlp_forward(_p()[:3], torch.zeros(2, 1)),
        TypeError,
        "params",
    ),
    (
        "forward features",
        lambda: meta.mlp_forward(_p(), torch.zeros(2, 4)),
        ValueError,
        "input features",
    ),
    (
        "forward int x",
        lambda: meta.mlp_forward(_p(), torch.zeros(2, 1, dtype=torch.int64)),
        TypeError,
        "x",
    ),
    (
        "forward device",
        lambda: meta.mlp_forward(_p(), torch.zeros(2, 1, device="meta")),
        ValueError,
        "x",
    ),
    ("inner non-scalar", lambda: meta.inner_update(_p(), torch.ones(2), 0.1), ValueError, "loss"),
    ("inner alpha", lambda: meta.inner_update(_p(), _p()[0].sum(), -0.1), ValueError, "alpha"),
    (
        "inner no grad",
        lambda: meta.inner_update([torch.ones(2)], torch.ones(()), 0.1),
        ValueError,
        "require",
    ),
    ("adapt steps", lambda: meta.adapt(_p(), _x(), _x(), steps=-1), ValueError, "steps"),
    (
        "adapt 2-D data",
        lambda: meta.adapt(_p(), torch.zeros(3, 1), torch.zeros(3, 1)),
        ValueError,
        "x_support",
    ),
    ("adapt mismatch", lambda: meta.adapt(_p(), _x(2, 3), _x(2, 4)), ValueError, "y_support"),
    ("maml tasks", lambda: meta.maml_loss(_p(), _x(2), _x(2), _x(3), _x(3)), ValueError, "x_query"),
    (
        "mse shapes",
        lambda: meta.mse_per_task(torch.zeros(2, 3, 1), torch.zeros(2, 4, 1)),
        ValueError,
        "y",
    ),
]


@pytest.mark.parametrize(("case", "call", "error", "word"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_raises_a_clear_error(
    case: str, call: Callable[[], Any], error: type[Exception], word: str
) -> None:
    with pytest.raises(error, match=word):
        call()
