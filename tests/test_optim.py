"""Tests for dlbook.optim: trajectories against torch.optim, schedules against
torch.optim.lr_scheduler, and the laws Chapter 9 states."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor, nn

from dlbook import optim

# (our class, torch's class, keyword arguments): every option each optimiser has.
CONFIGS: list[tuple[type[optim.Optimizer], type[torch.optim.Optimizer], dict[str, Any]]] = [
    (optim.SGD, torch.optim.SGD, {"lr": 0.05}),
    (optim.SGD, torch.optim.SGD, {"lr": 0.05, "weight_decay": 0.1}),
    (optim.SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}),
    (optim.SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}),
    (optim.SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "dampening": 1.0}),
    (optim.SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    (
        optim.SGD,
        torch.optim.SGD,
        {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.05},
    ),
    (optim.SGD, torch.optim.SGD, {}),  # torch's defaults
    (optim.Adagrad, torch.optim.Adagrad, {}),  # torch's defaults
    (
        optim.Adagrad,
        torch.optim.Adagrad,
        {
            "lr": 0.05,
            "lr_decay": 0.01,
            "weight_decay": 0.1,
            "initial_accumulator_value": 0.3,
            "eps": 1e-6,
        },
    ),
    (optim.RMSprop, torch.optim.RMSprop, {}),
    # RMSProp divides by sqrt(v): where a gradient hovers near zero the steps flip sign,
    # and rounding differences of 1e-16 (torch fuses multiply-adds) can grow chaotically
    # to 1e-3 in 100 steps (lr=0.003, alpha=0.9 does). These settings stay non-chaotic.
    (optim.RMSprop, torch.optim.RMSprop, {"lr": 0.002, "alpha": 0.95, "weight_decay": 0.1}),
    (optim.Adam, torch.optim.Adam, {}),
    (optim.Adam, torch.optim.Adam, {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1}),
    (optim.AdamW, torch.optim.AdamW, {}),
    (optim.AdamW, torch.optim.AdamW, {"lr": 0.01, "weight_decay": 0.5, "eps": 1e-6}),
]
IDS = [f"{ours.__name__}-{kwargs}" for ours, _, kwargs in CONFIGS]


def small_net(device: torch.device) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1)).double().to(device)


def run(
    make: Callable[[list[Tensor]], Any],
    params: list[Tensor],
    loss_fn: Callable[[], Tensor],
    steps: int = 100,
) -> list[list[Tensor]]:
    """Take ``steps`` steps; return the parameters after every step."""
    opt = make(params)
    path = []
    for _ in range(steps):
        opt.zero_grad()
        loss_fn().backward()
        opt.step()
        path.append([p.detach().clone() for p in params])
    return path


def assert_same_path(ours: list[list[Tensor]], theirs: list[list[Tensor]]) -> None:
    for step, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        for p, q in zip(a, b, strict=True):
            assert p.device == q.device
            torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-6, msg=f"after step {step + 1}")


@pytest.mark.parametrize(("ours", "theirs", "kwargs"), CONFIGS, ids=IDS)
def test_trajectory_on_a_small_network_matches_torch(
    ours: type[optim.Optimizer],
    theirs: type[torch.optim.Optimizer],
    kwargs: dict[str, Any],
    device: torch.device,
) -> None:
    g = torch.Generator().manual_seed(1)
    X = torch.randn(32, 4, generator=g, dtype=torch.float64).to(device)
    y = torch.randn(32, 1, generator=g, dtype=torch.float64).to(device)
    net_a = small_net(device)
    net_b = copy.deepcopy(net_a)

    def loss_a() -> Tensor:
        return F.mse_loss(net_a(X), y)

    def loss_b() -> Tensor:
        return F.mse_loss(net_b(X), y)

    path_a = run(lambda ps: ours(ps, **kwargs), list(net_a.parameters()), loss_a)
    path_b = run(lambda ps: theirs(ps, **kwargs), list(net_b.parameters()), loss_b)
    assert_same_path(path_a, path_b)
    # The run went somewhere: 100 steps moved the weights.
    assert not torch.allclose(path_a[-1][0], path_a[0][0], atol=1e-8)


@pytest.mark.parametrize(("ours", "theirs", "kwargs"), CONFIGS, ids=IDS)
def test_trajectory_on_an_ill_conditioned_quadratic_matches_torch(
    ours: type[optim.Optimizer],
    theirs: type[torch.optim.Optimizer],
    kwargs: dict[str, Any],
    device: torch.device,
) -> None:
    A = torch.tensor([[10.0, 2.0], [2.0, 1.0]], dtype=torch.float64, device=device)
    start = torch.tensor([1.5, -2.0], dtype=torch.float64, device=device)
    w_a = start.clone().requires_grad_()
    w_b = start.clone().requires_grad_()
    path_a = run(lambda ps: ours(ps, **kwargs), [w_a], lambda: 0.5 * w_a @ A @ w_a)
    path_b = run(lambda ps: theirs(ps, **kwargs), [w_b], lambda: 0.5 * w_b @ A @ w_b)
    assert_same_path(path_a, path_b)


def test_parameters_without_gradient_are_left_alone() -> None:
    used = torch.ones(2, requires_grad=True)
    unused = torch.ones(2, requires_grad=True)
    opt = optim.Adam([used, unused], lr=0.1)
    (used**2).sum().backward()
    opt.step()
    assert torch.equal(unused, torch.ones(2))
    assert not torch.equal(used.detach(), torch.ones(2))


def test_zero_grad_sets_none_or_zeros() -> None:
    w = torch.ones(3, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w**2).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert w.grad is not None and torch.equal(w.grad, torch.zeros(3))
    opt.zero_grad()
    assert w.grad is None


def test_sgd_first_momentum_step_is_undamped() -> None:
    """PyTorch's convention: b_1 = g, not (1 - dampening) g."""
    p, b = optim.sgd_update(
        torch.tensor([1.0]), torch.tensor([2.0]), lr=0.5, momentum=0.9, dampening=0.5
    )
    assert b is not None and b.item() == 2.0 and p.item() == 0.0
    _, b2 = optim.sgd_update(p, torch.tensor([4.0]), b, lr=0.5, momentum=0.9, dampening=0.5)
    assert b2 is not None and math.isclose(b2.item(), 0.9 * 2.0 + 0.5 * 4.0, rel_tol=1e-6)


def test_first_adam_step_has_size_lr() -> None:
    """Bias correction: m_1/sqrt(v_1) = g/|g|, so each coordinate moves by lr (eps aside)."""
    g = torch.tensor([3.0, -0.01, 100.0], dtype=torch.float64)
    p, _, _ = optim.adam_update(torch.zeros(3, dtype=torch.float64), g, 0 * g, 0 * g, 1, lr=0.1)
    torch.testing.assert_close(p, -0.1 * torch.sign(g), rtol=1e-6, atol=0)


def test_updates_stay_on_device_and_do_not_modify_inputs(device: torch.device) -> None:
    p = torch.ones(3, device=device)
    g = torch.full((3,), 2.0, device=device)
    m, v = torch.zeros(3, device=device), torch.zeros(3, device=device)
    before = [t.clone() for t in (p, g, m, v)]
    outs = optim.adam_update(p, g, m, v, 1)
    outs2 = optim.sgd_update(p, g, None, momentum=0.5)
    outs3 = optim.rmsprop_update(p, g, v)
    for t in (*outs, outs2[0], outs3[0]):
        assert t is not None and t.device == p.device
    for a, b in zip(before, (p, g, m, v), strict=True):
        assert torch.equal(a, b)


def test_sgd_weight_decay_equals_l2_penalty() -> None:
    """SGD's weight_decay is exactly the gradient of the L2 term (lambda/2)||w||^2."""
    A = torch.tensor([[3.0, 1.0], [1.0, 2.0]], dtype=torch.float64)
    w_a = torch.tensor([1.0, -1.0], dtype=torch.float64, requires_grad=True)
    w_b = w_a.detach().clone().requires_grad_()
    path_a = run(
        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.3),
        [w_a],
        lambda: w_a @ A @ w_a,
    )
    path_b = run(
        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
        [w_b],
        lambda: w_b @ A @ w_b + optim.l2_penalty([w_b], 0.3),
    )
    assert_same_path(path_a, path_b)


def test_adamw_differs_from_adam_with_l2() -> None:
    """Adam rescales the L2 gradient per coordinate; AdamW's decay is not rescaled."""
    A = torch.diag(torch.tensor([100.0, 0.01], dtype=torch.float64))
    w_a = torch.tensor([1.0, 1.0], dtype=torch.float64, requires_grad=True)
    w_b = w_a.detach().clone().requires_grad_()
    end_a = run(lambda ps: optim.Adam(ps, lr=0.01, weight_decay=0.1), [w_a], lambda: w_a @ A @ w_a)
    end_b = run(lambda ps: optim.AdamW(ps, lr=0.01, weight_decay=0.1), [w_b], lambda: w_b @ A @ w_b)
    assert (end_a[-1][0] - end_b[-1][0]).abs().max() > 1e-3


@settings(max_examples=40, deadline=None)
@given(
    scales=st.lists(st.floats(0.1, 10.0), min_size=1, max_size=5),
    name=st.sampled_from(["sgd", "momentum", "rmsprop", "adam"]),
)
def test_a_small_step_lowers_a_convex_quadratic(scales: list[float], name: str) -> None:
    """f(w) = sum a_j w_j^2 / 2: the first step from w = 1 goes downhill for every method."""
    a = torch.tensor(scales, dtype=torch.float64)
    w = torch.ones_like(a)
    g = a * w
    lr = 0.5 / max(scales)  # below 2 / L: a descent step for gradient descent
    if name == "sgd":
        new, _ = optim.sgd_update(w, g, lr=lr)
    elif name == "momentum":
        new, _ = optim.sgd_update(w, g, lr=lr, momentum=0.9, nesterov=True)
    elif name == "rmsprop":
        new, _ = optim.rmsprop_update(w, g, torch.zeros_like(w), lr=0.01)
    else:
        new, _, _ = optim.adam_update(w, g, torch.zeros_like(w), torch.zeros_like(w), 1, lr=0.01)
    assert (a * new**2).sum() < (a * w**2).sum()


# ---------------------------------------------------------------------- schedules
def torch_lrs(make: Callable[[torch.optim.Optimizer], Any], lr: float, steps: int) -> list[float]:
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    scheduler = make(opt)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return lrs


@pytest.mark.parametrize(("step_size", "gamma"), [(1, 0.5), (7, 0.1), (30, 0.9)])
def test_step_lr_matches_torch(step_size: int, gamma: float) -> None:
    expected = torch_lrs(
        lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=step_size, gamma=gamma), 0.3, 100
    )
    ours = [optim.step_lr(t, lr=0.3, step_size=step_size, gamma=gamma) for t in range(100)]
    assert ours == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(("total", "lr_min"), [(10, 0.0), (50, 0.001), (97, 0.05)])
def test_cosine_lr_matches_torch(total: int, lr_min: float) -> None:
    expected = torch_lrs(
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=total, eta_min=lr_min),
        0.1,
        total + 1,
    )
    ours = [optim.cosine_lr(t, lr=0.1, total_steps=total, lr_min=lr_min) for t in range(total + 1)]
    assert ours == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert optim.cosine_lr(total + 5, lr=0.1, total_steps=total, lr_min=lr_min) == lr_min


@pytest.mark.parametrize(
    ("warmup", "total", "lr_min", "start"),
    [(5, 20, 0.01, 0.1), (1, 10, 0.0, 0.5), (10, 100, 0.0, 0.01)],
)
def test_warmup_cosine_matches_torch_sequential_lr(
    warmup: int, total: int, lr_min: float, start: float
) -> None:
    def make(o: torch.optim.Optimizer) -> Any:
        s = torch.optim.lr_scheduler
        first = s.LinearLR(o, start_factor=start, total_iters=warmup)
        second = s.CosineAnnealingLR(o, T_max=total - warmup, eta_min=lr_min)
        return s.SequentialLR(o, [first, second], milestones=[warmup])

    expected = torch_lrs(make, 1.0, total + 1)
    ours = [
        optim.warmup_cosine_lr(
            t, lr=1.0, warmup_steps=warmup, total_steps=total, lr_min=lr_min, start_factor=start
        )
        for t in range(total + 1)
    ]
    assert ours == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_warmup_without_warmup_is_cosine() -> None:
    for t in range(12):
        assert optim.warmup_cosine_lr(t, lr=0.2, warmup_steps=0, total_steps=10) == pytest.approx(
            optim.cosine_lr(t, lr=0.2, total_steps=10)
        )


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda w: optim.SGD([w], lr=-0.1), "lr"),
        (lambda w: optim.SGD([w], lr=0.1, momentum=1.0), "momentum"),
        (lambda w: optim.SGD([w], lr=0.1, momentum=0.5, dampening=1.5), r"dampening.*\[0, 1\]"),
        (lambda w: optim.SGD([w], lr=0.1, nesterov=True), "nesterov"),
        (lambda w: optim.SGD([w], lr=0.1, weight_decay=-1.0), "weight_decay"),
        (lambda w: optim.RMSprop([w], alpha=1.5), "alpha"),
        (lambda w: optim.Adam([w], betas=(0.9, 1.0)), r"betas\[1\]"),
        (lambda w: optim.Adam([w], betas=(-0.1, 0.9)), r"betas\[0\]"),
        (lambda w: optim.Adam([w], betas=(0.9,)), "betas"),  # type: ignore[arg-type]
        (lambda w: optim.AdamW([w], lr=-1e-3), "lr"),
        (lambda w: optim.Adam([], lr=1e-3), "params"),
        (lambda w: optim.Adagrad([w], lr_decay=-0.1), "lr_decay"),
        (lambda w: optim.Adagrad([w], initial_accumulator_value=-1.0), "initial_accumulator"),
        (lambda w: optim.Adagrad([w], eps=-1.0), "eps"),
    ],
)
def test_optimisers_reject_bad_hyper_parameters(make: Callable[[Tensor], Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make(torch.zeros(2, requires_grad=True))


def test_optimiser_rejects_non_tensors() -> None:
    with pytest.raises(TypeError, match=r"params\[0\]"):
        optim.SGD([[1.0, 2.0]], lr=0.1)  # type: ignore[list-item]


def test_update_rules_reject_bad_input() -> None:
    p, g = torch.zeros(3), torch.ones(3)
    with pytest.raises(ValueError, match="grad must have the shape"):
        optim.sgd_update(p, torch.ones(4), lr=0.1)
    with pytest.raises(ValueError, match="m must have the shape"):
        optim.adam_update(p, g, torch.zeros(2), torch.zeros(3), 1)
    with pytest.raises(ValueError, match="step must be an int >= 1"):
        optim.adam_update(p, g, torch.zeros(3), torch.zeros(3), 0)
    with pytest.raises(ValueError, match="lr"):
        optim.rmsprop_update(p, g, torch.zeros(3), lr=-1.0)
    with pytest.raises(ValueError, match="weight_decay"):
        optim.l2_penalty([p], -0.1)
    with pytest.raises(ValueError, match="params"):
        optim.l2_penalty([], 0.1)


def test_schedules_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="step"):
        optim.step_lr(-1, lr=0.1, step_size=2)
    with pytest.raises(ValueError, match="step_size"):
        optim.step_lr(1, lr=0.1, step_size=0)
    with pytest.raises(ValueError, match="lr"):
        optim.cosine_lr(1, lr=-0.1, total_steps=10)
    with pytest.raises(ValueError, match="total_steps must exceed warmup_steps"):
        optim.warmup_cosine_lr(1, lr=0.1, warmup_steps=10, total_steps=10)
    with pytest.raises(ValueError, match="start_factor"):
        optim.warmup_cosine_lr(1, lr=0.1, warmup_steps=2, total_steps=10, start_factor=0.0)


def test_the_base_optimiser_is_abstract() -> None:
    with pytest.raises(TypeError, match="abstract"):
        optim.Optimizer([torch.zeros(2, requires_grad=True)], lr=0.1)  # type: ignore[abstract]


# ---------------------------------------------------------------------- AdaGrad
def test_adagrad_update_is_the_sum_of_squares_rule() -> None:
    """A closed form: with a constant gradient g, s_t = s_0 + t g^2 and the t-th step is
    -lr / (1 + (t - 1) decay) * g / (sqrt(s_t) + eps)."""
    g = torch.tensor([0.5, -2.0, 3.0], dtype=torch.float64)
    p, s = torch.zeros(3, dtype=torch.float64), torch.full((3,), 0.1, dtype=torch.float64)
    for t in range(1, 6):
        new, s = optim.adagrad_update(p, g, s, t, lr=0.1, lr_decay=0.2, eps=1e-10)
        s_t = 0.1 + t * g * g
        torch.testing.assert_close(s, s_t, rtol=1e-15, atol=0)
        step = -0.1 / (1 + (t - 1) * 0.2) * g / (s_t.sqrt() + 1e-10)
        torch.testing.assert_close(new - p, step, rtol=1e-12, atol=0)
        p = new


def test_adagrad_state_matches_torch_state() -> None:
    w_a = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    w_b = w_a.detach().clone().requires_grad_()
    ours = optim.Adagrad([w_a], lr=0.1, initial_accumulator_value=0.2)
    theirs = torch.optim.Adagrad([w_b], lr=0.1, initial_accumulator_value=0.2)
    for _ in range(7):
        for w, opt in ((w_a, ours), (w_b, theirs)):
            opt.zero_grad()
            (w**4).sum().backward()
            opt.step()
    torch.testing.assert_close(ours.state[0]["sum"], theirs.state[w_b]["sum"])
    assert ours.state[0]["step"] == int(theirs.state[w_b]["step"]) == 7


# ---------------------------------------------------------------------- gradient clipping
def _grads(seed: int, scales: list[float], device: torch.device) -> list[Tensor]:
    g = torch.Generator().manual_seed(seed)
    shapes = [(3, 4), (5,), (2, 2, 2)]
    params = []
    for shape, scale in zip(shapes, scales, strict=True):
        p = torch.zeros(shape, dtype=torch.float64, device=device, requires_grad=True)
        p.grad = (scale * torch.randn(shape, generator=g, dtype=torch.float64)).to(device)
        params.append(p)
    return params


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.5, math.inf])
@pytest.mark.parametrize("max_norm", [0.0, 0.1, 1.0, 1e3])
def test_clip_grad_norm_matches_torch(
    norm_type: float, max_norm: float, device: torch.device
) -> None:
    ours, theirs = _grads(0, [1.0, 10.0, 0.1], device), _grads(0, [1.0, 10.0, 0.1], device)
    n_ours = optim.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    n_theirs = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    torch.testing.assert_close(n_ours, n_theirs, rtol=1e-14, atol=0)
    for p, q in zip(ours, theirs, strict=True):
        assert p.grad is not None and q.grad is not None
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-14, atol=0)
    # the law: afterwards the norm is at most max_norm (up to the 1e-6 guard), the
    # direction unchanged
    after = torch.linalg.vector_norm(
        torch.cat([p.grad.flatten() for p in ours if p.grad is not None]), norm_type
    )
    assert after <= max_norm + 1e-9 or torch.isclose(after, n_ours)


def test_clip_grad_norm_with_zero_and_missing_gradients() -> None:
    zero = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    zero.grad = torch.zeros(4, dtype=torch.float64)
    none = torch.ones(2, dtype=torch.float64, requires_grad=True)  # no gradient: skipped
    n = optim.clip_grad_norm_([zero, none], 1.0)
    ref = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    ref.grad = torch.zeros(4, dtype=torch.float64)
    torch.testing.assert_close(n, torch.nn.utils.clip_grad_norm_([ref], 1.0))
    assert n.item() == 0.0 and zero.grad.abs().max().item() == 0.0 and none.grad is None
    # no gradient at all: tensor(0.), like torch
    bare = torch.ones(2, requires_grad=True)
    assert optim.clip_grad_norm_(bare, 1.0).item() == 0.0
    assert torch.nn.utils.clip_grad_norm_(bare, 1.0).item() == 0.0


def test_clip_grad_norm_nonfinite() -> None:
    a, b = torch.zeros(3, requires_grad=True), torch.zeros(3, requires_grad=True)
    a.grad = torch.tensor([1.0, math.inf, 0.0])
    b.grad = a.grad.clone()
    with pytest.raises(optim.NonFiniteNormError, match="non-finite"):
        optim.clip_grad_norm_([a], 1.0, error_if_nonfinite=True)
    n_ours = optim.clip_grad_norm_([a], 1.0)
    n_theirs = torch.nn.utils.clip_grad_norm_([b], 1.0)
    assert math.isinf(n_ours.item()) and math.isinf(n_theirs.item())
    torch.testing.assert_close(a.grad, b.grad, equal_nan=True)


def test_clip_grad_norm_rejects_bad_arguments() -> None:
    w = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="max_norm"):
        optim.clip_grad_norm_([w], -1.0)
    with pytest.raises(ValueError, match="norm_type"):
        optim.clip_grad_norm_([w], 1.0, norm_type=0.0)
    with pytest.raises(TypeError, match=r"parameters\[0\]"):
        optim.clip_grad_norm_([[1.0]], 1.0)  # type: ignore[list-item]


# ---------------------------------------------------------------------- early stopping
def test_early_stopping_follows_the_rule() -> None:
    losses = [5.0, 4.0, 4.5, 3.0, 3.0, 3.2, 3.1, 2.0]
    model = nn.Linear(1, 1)
    stopper = optim.EarlyStopping(patience=3)
    stops = []
    for epoch, value in enumerate(losses, start=1):
        with torch.no_grad():
            model.weight.fill_(float(epoch))  # the weights remember the epoch
        stops.append(stopper.step(epoch, value, model))
    # best 3.0 at epoch 4; epochs 5, 6, 7 do not improve (3.0 is not < 3.0): stop at 7
    assert stops == [False] * 6 + [True, False]
    assert stopper.stopped_epoch == 7
    assert stopper.best_epoch == 8 and stopper.best_value == 2.0  # epoch 8 improved after
    stopper.restore(model)
    assert model.weight.item() == 8.0
    with pytest.raises(ValueError, match="patience"):
        optim.EarlyStopping(patience=0)
    with pytest.raises(ValueError, match="min_delta"):
        optim.EarlyStopping(patience=2, min_delta=-1.0)


def _noisy_regression() -> tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor]]:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(60, 20, generator=g)
    w = torch.randn(20, 1, generator=g)
    y = X @ w + 2.0 * torch.randn(60, 1, generator=g)
    return (X[:30], y[:30]), (X[30:], y[30:])


def test_fit_stops_early_and_restores_the_best_epoch() -> None:
    from dlbook import train

    (X, y), (Xv, yv) = _noisy_regression()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 64), nn.Tanh(), nn.Linear(64, 1))
    stopper = optim.EarlyStopping(patience=5)
    history = train.fit(
        model,
        torch.optim.Adam(model.parameters(), lr=0.01),
        F.mse_loss,
        (X, y),
        epochs=300,
        val=(Xv, yv),
        batch_size=10,
        early_stopping=stopper,
        progress=False,
    )
    val = history["val_loss"]
    best = min(range(len(val)), key=val.__getitem__)
    assert len(history) < 300  # it stopped
    assert stopper.stopped_epoch == history.epochs[-1] == history.epochs[best] + 5
    assert stopper.best_epoch == history.epochs[best]
    # the model holds the best epoch's weights: its validation loss is the best one
    with torch.no_grad():
        restored = F.mse_loss(model(Xv), yv).item()
    assert restored == pytest.approx(val[best], rel=1e-6)
    assert restored < val[-1]
    with pytest.raises(ValueError, match="early_stopping needs validation"):
        train.fit(
            model,
            torch.optim.SGD(model.parameters(), lr=0.1),
            F.mse_loss,
            (X, y),
            epochs=1,
            early_stopping=3,
            progress=False,
        )


def test_fit_clips_like_torch() -> None:
    """fit(clip_grad_norm=c) equals a hand loop with torch.nn.utils.clip_grad_norm_."""
    from dlbook import train

    (X, y), _ = _noisy_regression()
    torch.manual_seed(0)
    a = nn.Sequential(nn.Linear(20, 16), nn.Tanh(), nn.Linear(16, 1)).double()
    b = copy.deepcopy(a)
    X, y = X.double(), y.double()
    train.fit(
        a,
        torch.optim.SGD(a.parameters(), lr=0.1),
        F.mse_loss,
        (X, y),
        epochs=2,
        batch_size=30,
        clip_grad_norm=0.5,
        progress=False,
    )
    opt = torch.optim.SGD(b.parameters(), lr=0.1)
    clipped = 0
    for _ in range(2):  # one batch of all 30 examples: the order does not matter
        opt.zero_grad()
        F.mse_loss(b(X), y).backward()
        clipped += float(torch.nn.utils.clip_grad_norm_(b.parameters(), 0.5)) > 0.5
        opt.step()
    assert clipped >= 1  # the threshold was active
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- Muon (Chapter 13)
@pytest.mark.parametrize("shape", [(6, 10), (12, 5), (7, 7)])
def test_newton_schulz_keeps_singular_vectors_and_maps_singular_values(
    shape: tuple[int, int],
) -> None:
    # An independent check by the SVD: NS(G) = U p(S / ||G||_F) V^T, with p the quintic
    # iterated five times on each scalar singular value (computed here in float64).
    g = torch.randn(*shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    u, s, vh = torch.linalg.svd(g, full_matrices=False)
    a, b, c = optim.NS_COEFFICIENTS
    x = s / s.norm()  # ||G||_F is the norm of the singular values
    for _ in range(5):
        x = a * x + b * x**3 + c * x**5
    out = optim.newton_schulz(g)
    assert out.dtype == torch.bfloat16 and out.shape == g.shape
    # bfloat16 products (8 significant bits, as torch.optim.Muon): agreement to about 3 %
    torch.testing.assert_close(out.double(), u @ torch.diag(x) @ vh, rtol=0, atol=0.03)
    sv = torch.linalg.svdvals(out.double())
    assert sv.min() > 0.6 and sv.max() < 1.25  # near-orthogonal, not exactly
    zero = optim.newton_schulz(torch.zeros(3, 4))
    assert torch.equal(zero, torch.zeros(3, 4, dtype=torch.bfloat16))


@pytest.mark.parametrize(
    ("nesterov", "adjust"), [(True, None), (False, "original"), (True, "match_rms_adamw")]
)
def test_muon_update_follows_torch_muon(nesterov: bool, adjust: str | None) -> None:
    # Five steps on a tall and a wide matrix against torch.optim.Muon itself.
    gen = torch.Generator().manual_seed(1)
    params = [torch.randn(8, 3, generator=gen), torch.randn(4, 9, generator=gen)]
    theirs = [p.clone().requires_grad_() for p in params]
    opt = torch.optim.Muon(
        theirs, lr=0.02, weight_decay=0.1, momentum=0.9, nesterov=nesterov, adjust_lr_fn=adjust
    )
    ours = [p.clone() for p in params]
    buffers = [torch.zeros_like(p) for p in params]
    for _ in range(5):
        grads = [torch.randn(p.shape, generator=gen) for p in params]
        for t, gr in zip(theirs, grads, strict=True):
            t.grad = gr.clone()
        opt.step()
        for i, gr in enumerate(grads):
            ours[i], buffers[i] = optim.muon_update(
                ours[i], gr, buffers[i], lr=0.02, weight_decay=0.1, momentum=0.9,
                nesterov=nesterov, adjust_lr_fn=adjust,
            )  # fmt: skip
    for o, t in zip(ours, theirs, strict=True):
        # the same operations; torch adds alpha * update in one fused call (one rounding
        # of float32 fewer), hence a tolerance of a few float32 ulps
        torch.testing.assert_close(o, t.detach(), rtol=1e-6, atol=1e-6)
        assert not torch.allclose(o, params[0] if o.shape == params[0].shape else params[1])


def test_muon_rejects_bad_input() -> None:
    w = torch.zeros(3, 4)
    with pytest.raises(ValueError, match="2-D weight matrices"):
        optim.muon_update(torch.zeros(3), torch.zeros(3), torch.zeros(3))
    with pytest.raises(ValueError, match="adjust_lr_fn"):
        optim.muon_update(w, w, w, adjust_lr_fn="adam")
    with pytest.raises(ValueError, match="momentum"):
        optim.muon_update(w, w, w, momentum=1.0)
    with pytest.raises(ValueError, match="must be 2-D"):
        optim.newton_schulz(torch.zeros(2, 3, 4))
    with pytest.raises(TypeError, match="floating-point"):
        optim.newton_schulz(torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="coefficients"):
        optim.newton_schulz(w, coefficients=(1.0, 2.0))  # type: ignore[arg-type]
