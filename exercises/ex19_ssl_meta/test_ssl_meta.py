"""Grader for exercise set 19 (README.md beside this file). Do not edit."""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from dlbook import meta, ssl
from dlbook.grading import Case, check, check_raises

SUBMISSION = "ssl_meta.py"
REFERENCES = {
    "nt_xent": ssl.nt_xent,
    "erase": ssl.erase,
    "inner_update": meta.inner_update,
    "linear_probe": ssl.linear_probe,
    "critic_scores": ssl.gaussian_critic_scores,
}
F64 = torch.float64


def randn(
    g: torch.Generator, *shape: int, device: torch.device, dtype: torch.dtype = F64
) -> Tensor:
    return torch.randn(*shape, generator=g, dtype=F64).to(device=device, dtype=dtype)


# ---------------------------------------------------------------------- Exercise 19.1
def test_nt_xent_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(0)
    z1, z2 = randn(g, 6, 4, device=device), randn(g, 6, 4, device=device)
    scales = torch.tensor([[0.01], [1.0], [50.0], [3.0], [0.2], [7.0]], dtype=F64, device=device)
    same = torch.ones(5, 3, dtype=F64, device=device)
    cases = [
        Case("one example (N = 1)", (z1[:1], z2[:1])),
        Case("six examples, tau 0.5", (z1, z2)),
        Case("tau 0.1", (z1, z2), {"temperature": 0.1}),
        Case("rows of very different lengths (normalise!)", (z1 * scales, z2)),
        Case("a collapsed encoder: every row the same", (same, same)),
        Case("views close to each other", (z1, z1 + 0.01 * z2), {"temperature": 0.2}),
    ]
    check(submission.nt_xent, ssl.nt_xent, cases, exercise="Exercise 19.1", rtol=1e-10, atol=1e-12)


def test_nt_xent_float32_and_small_temperatures(
    submission: types.ModuleType, device: torch.device
) -> None:
    g = torch.Generator().manual_seed(1)
    cases = []
    for tau in (1.0, 1e-2, 1e-4):
        z1, z2 = (
            randn(g, 5, 3, device=device, dtype=torch.float32),
            randn(g, 5, 3, device=device, dtype=torch.float32),
        )
        cases.append(Case(f"float32, tau {tau:g}", (z1, z2), {"temperature": tau}))
    # float32 cosines carry ~1e-7 relative error, which 1/tau = 1e4 magnifies.
    check(submission.nt_xent, ssl.nt_xent, cases, exercise="Exercise 19.1", rtol=1e-4, atol=1e-2)
    got = submission.nt_xent(cases[0].args[0], cases[0].args[1])
    assert got.dtype == torch.float32, (
        f"Exercise 19.1: float32 in must give float32 out, got {got.dtype}"
    )


def test_nt_xent_random_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(2)
    cases = []
    for i in range(8):
        n, d = (
            int(torch.randint(1, 9, (1,), generator=g)),
            int(torch.randint(1, 6, (1,), generator=g)),
        )
        tau = float(torch.rand(1, generator=g)) * 2 + 0.05
        cases.append(
            Case(
                f"random #{i}",
                (randn(g, n, d, device=device), randn(g, n, d, device=device)),
                {"temperature": tau},
            )
        )
    check(submission.nt_xent, ssl.nt_xent, cases, exercise="Exercise 19.1", rtol=1e-10, atol=1e-12)


def test_nt_xent_rejects_bad_input(submission: types.ModuleType) -> None:
    cases = [
        Case("1-D inputs", (torch.ones(3), torch.ones(3))),
        Case("shapes differ", (torch.ones(3, 2), torch.ones(4, 2))),
        Case("temperature 0", (torch.ones(2, 2), torch.ones(2, 2)), {"temperature": 0.0}),
        Case("negative temperature", (torch.ones(2, 2), torch.ones(2, 2)), {"temperature": -1.0}),
    ]
    check_raises(submission.nt_xent, ssl.nt_xent, cases, ValueError, exercise="Exercise 19.1")


# ---------------------------------------------------------------------- Exercise 19.2
def test_erase_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(3)
    x = randn(g, 5, 2, 6, 7, device=device)

    def corners(values: list[int], dtype: torch.dtype = torch.int64) -> Tensor:
        return torch.tensor(values, dtype=dtype, device=device)

    cases = [
        Case("squares inside", (x, corners([0, 1, 2, 3, 0]), corners([0, 2, 4, 1, 3]), 3)),
        Case(
            "negative corners (clipped at the top/left)",
            (x, corners([-2, -1, 0, -5, 1]), corners([-1, 0, -2, 1, -9]), 3),
        ),
        Case(
            "squares over the bottom/right edge",
            (x, corners([4, 5, 6, 3, 9]), corners([6, 5, 4, 7, 0]), 3),
        ),
        Case("size 0 erases nothing", (x, corners([1, 1, 1, 1, 1]), corners([1, 1, 1, 1, 1]), 0)),
        Case(
            "a square larger than the image",
            (x, corners([-1, 0, 2, 0, 0]), corners([0, -3, 0, 1, 0]), 9),
        ),
        Case(
            "uint8 corners",
            (x, corners([0, 1, 2, 3, 4], torch.uint8), corners([4, 3, 2, 1, 0], torch.uint8), 2),
        ),
        Case(
            "int16 corners, float32 images",
            (
                x.float(),
                corners([1, 0, 2, 5, 3], torch.int16),
                corners([2, 2, 0, 6, 1], torch.int16),
                2,
            ),
        ),
    ]
    check(submission.erase, ssl.erase, cases, exercise="Exercise 19.2", rtol=0, atol=0)


def test_erase_random_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(4)
    cases = []
    for i in range(6):
        n, c = (
            int(torch.randint(1, 6, (1,), generator=g)),
            int(torch.randint(1, 4, (1,), generator=g)),
        )
        s = int(torch.randint(0, 5, (1,), generator=g))
        top = torch.randint(-4, 9, (n,), generator=g).to(device)
        left = torch.randint(-4, 9, (n,), generator=g).to(device)
        cases.append(Case(f"random #{i}", (randn(g, n, c, 8, 8, device=device), top, left, s)))
    check(submission.erase, ssl.erase, cases, exercise="Exercise 19.2", rtol=0, atol=0)


def test_erase_rejects_bad_input(submission: types.ModuleType) -> None:
    zeros = torch.zeros(2, dtype=torch.int64)
    cases = [
        Case("3-D images", (torch.ones(2, 4, 4), zeros, zeros, 1)),
        Case(
            "corner of the wrong shape",
            (torch.ones(2, 1, 4, 4), torch.zeros(3, dtype=torch.int64), zeros, 1),
        ),
        Case("negative size", (torch.ones(2, 1, 4, 4), zeros, zeros, -1)),
    ]
    check_raises(submission.erase, ssl.erase, cases, ValueError, exercise="Exercise 19.2")


# ---------------------------------------------------------------------- Exercise 19.3
def _meta_step(
    inner: Callable[..., list[Tensor]],
    values: list[Tensor],
    xs: Tensor,
    ys: Tensor,
    xq: Tensor,
    yq: Tensor,
    alpha: float,
    first_order: bool,
) -> tuple[list[Tensor], list[Tensor]]:
    """Adapt with ``inner`` on the support points; return theta' and d L_qry(theta') / d theta."""
    params = [v.clone().requires_grad_() for v in values]
    loss = ((meta.mlp_forward(params, xs) - ys) ** 2).mean()
    adapted = inner(params, loss, alpha, first_order=first_order)
    query = ((meta.mlp_forward(list(adapted), xq) - yq) ** 2).mean()
    grads = torch.autograd.grad(query, params)
    return [a.detach() for a in adapted], list(grads)


def _inner_cases(device: torch.device, dtype: torch.dtype) -> list[Case]:
    g = torch.Generator().manual_seed(5)
    line = [randn(g, 1, 1, device=device, dtype=dtype), randn(g, 1, device=device, dtype=dtype)]
    net = [
        p.detach().to(device=device, dtype=dtype) for p in meta.init_mlp([1, 8, 8, 1], generator=g)
    ]
    data = [randn(g, 10, 1, device=device, dtype=dtype) for _ in range(4)]
    cases = []
    for first_order in (False, True):
        kind = "first-order" if first_order else "second-order"
        cases += [
            Case(f"a line y = w x + b, alpha 0.3, {kind}", (line, *data, 0.3, first_order)),
            Case(f"a 1-8-8-1 ReLU network, alpha 0.05, {kind}", (net, *data, 0.05, first_order)),
            Case(f"alpha 0 (no step), {kind}", (net, *data, 0.0, first_order)),
        ]
    return cases


def test_inner_update_values_and_meta_gradients(
    submission: types.ModuleType, device: torch.device
) -> None:
    def student(*args: Any) -> tuple[list[Tensor], list[Tensor]]:
        return _meta_step(submission.inner_update, *args)

    def reference(*args: Any) -> tuple[list[Tensor], list[Tensor]]:
        return _meta_step(meta.inner_update, *args)

    student.__module__ = submission.inner_update.__module__
    for dtype, tol in ((F64, 1e-10), (torch.float32, 1e-5)):
        check(
            student,
            reference,
            _inner_cases(device, dtype),
            exercise="Exercise 19.3",
            rtol=tol,
            atol=tol,
            also_hidden=[meta.inner_update],
        )


def test_inner_update_rejects_bad_input(submission: types.ModuleType) -> None:
    w = torch.ones(3, requires_grad=True)
    cases = [
        Case("a loss that is not a scalar", ([w], torch.ones(2), 0.1)),
        Case("a negative step size", ([w], torch.ones((), requires_grad=True), -0.1)),
    ]
    check_raises(
        submission.inner_update, meta.inner_update, cases, ValueError, exercise="Exercise 19.3"
    )


# ---------------------------------------------------------------------- Exercise 19.4
EVAL = torch.randn(50, 5, generator=torch.Generator().manual_seed(6), dtype=F64)


def _probabilities(result: Any, args: Any, kwargs: Any) -> tuple[Tensor, Tensor]:
    """Predicted probabilities on fixed new points, and whether the dtype was kept."""
    weight, bias = result
    features = args[0]
    new = EVAL[:, : features.shape[1]].to(device=features.device, dtype=features.dtype)
    kept = torch.tensor(weight.dtype == features.dtype and bias.dtype == features.dtype)
    return torch.softmax(new @ weight.T + bias, dim=1), kept


def _blobs(
    g: torch.Generator, n: int, d: int, k: int, device: torch.device, dtype: torch.dtype
) -> tuple[Tensor, Tensor]:
    y = torch.randint(0, k, (n,), generator=g)
    y[:k] = torch.arange(k)  # every class present
    centres = torch.randn(k, d, generator=g, dtype=F64) * 1.5
    x = centres[y] + torch.randn(n, d, generator=g, dtype=F64)
    return x.to(device=device, dtype=dtype), y.to(device)


def test_linear_probe_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(7)
    x3, y3 = _blobs(g, 60, 4, 3, device, F64)
    x5, y5 = _blobs(g, 80, 5, 5, device, F64)
    # Imbalanced classes: penalising the bias (wrongly) moves the probabilities.
    xi = torch.cat([x3[:40], x3[40:43]])
    yi = torch.cat([torch.zeros(40, dtype=torch.int64), torch.ones(3, dtype=torch.int64)]).to(
        device
    )
    cases = [
        Case("3 classes, lambda 1e-3", (x3, y3, 3)),
        Case("5 classes, lambda 0.1", (x5, y5, 5), {"weight_decay": 0.1}),
        Case(
            "imbalanced classes, lambda 1 (the bias is not penalised)",
            (xi, yi, 2),
            {"weight_decay": 1.0},
        ),
        Case("int8 labels", (x3, y3.to(torch.int8), 3), {"weight_decay": 0.01}),
        Case("uint8 labels", (x5, y5.to(torch.uint8), 5), {"weight_decay": 0.05}),
    ]
    check(
        submission.linear_probe,
        ssl.linear_probe,
        cases,
        exercise="Exercise 19.4",
        rtol=1e-5,
        atol=1e-5,
        observe=_probabilities,
        timeout=30.0,
    )


def test_linear_probe_float32(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(8)
    x, y = _blobs(g, 70, 3, 4, device, torch.float32)
    check(
        submission.linear_probe,
        ssl.linear_probe,
        [Case("float32 features, int32 labels", (x, y.to(torch.int32), 4), {"weight_decay": 0.02})],
        exercise="Exercise 19.4",
        rtol=1e-3,
        atol=1e-4,
        observe=_probabilities,
        timeout=30.0,
    )


def test_linear_probe_rejects_bad_input(submission: types.ModuleType) -> None:
    x = torch.randn(4, 2, generator=torch.Generator().manual_seed(0))
    cases = [
        Case("a label outside [0, K)", (x, torch.tensor([0, 1, 2, 3]), 3)),
        Case("a negative label", (x, torch.tensor([0, 1, -1, 0]), 3)),
        Case("labels of the wrong shape", (x, torch.tensor([0, 1, 1]), 3)),
    ]
    check_raises(
        submission.linear_probe, ssl.linear_probe, cases, ValueError, exercise="Exercise 19.4"
    )


# ---------------------------------------------------------------------- Exercise 19.5 (open)
DX, DY, M, N, BATCHES = 6, 4, 4000, 256, 20
_G = torch.Generator().manual_seed(19)
A_TRUE = torch.randn(DY, DX, generator=_G, dtype=F64) * 0.4  # y = A x + noise
NOISE_SD = 0.6


def _pairs(n: int, g: torch.Generator) -> tuple[Tensor, Tensor]:
    x = torch.randn(n, DX, generator=g, dtype=F64)
    return x, x @ A_TRUE.T + NOISE_SD * torch.randn(n, DY, generator=g, dtype=F64)


def _optimal_scores(x: Tensor, y: Tensor) -> Tensor:
    """log p(y_j | x_i) - log p(y_j) with the true parameters."""
    cond = torch.distributions.MultivariateNormal(
        x @ A_TRUE.T, NOISE_SD**2 * torch.eye(DY, dtype=F64)
    )
    marginal = torch.distributions.MultivariateNormal(
        torch.zeros(DY, dtype=F64), A_TRUE @ A_TRUE.T + NOISE_SD**2 * torch.eye(DY, dtype=F64)
    )
    log_cond = cond.log_prob(y[:, None, :])  # (N_y, N_x): y_j against every x_i's mean
    scores: Tensor = log_cond.T - marginal.log_prob(y)[None, :]
    return scores


def _critic_verdicts(scores_fn: Callable[..., Tensor], device: torch.device) -> list[str]:
    g = torch.Generator().manual_seed(2019)
    x_train, y_train = (t.to(device) for t in _pairs(M, g))
    verdicts = []
    ours, best = [], []
    valid = True
    for b in range(BATCHES):
        x, y = _pairs(N, g)
        S = scores_fn(x_train, y_train, x.to(device), y.to(device))
        if (
            not isinstance(S, Tensor)
            or tuple(S.shape) != (N, N)
            or not bool(torch.isfinite(S).all())
        ):
            return [f"critic_scores must return a finite ({N}, {N}) tensor, got {S!r:.80}"]
        S = S.double().cpu()
        if b < 2:
            p, q = torch.randperm(N, generator=g), torch.randperm(N, generator=g)
            S_perm = scores_fn(x_train, y_train, x[p].to(device), y[q].to(device)).double().cpu()
            S_small = (
                scores_fn(x_train, y_train, x[:64].to(device), y[:64].to(device)).double().cpu()
            )
            scale = float(S.abs().max()) + 1e-12
            valid &= bool(((S_perm - S[p][:, q]).abs() <= 1e-6 * scale).all())
            valid &= bool(((S_small - S[:64, :64]).abs() <= 1e-6 * scale).all())
        ours.append(math.log(N) - float(ssl.info_nce(S)))
        best.append(math.log(N) - float(ssl.info_nce(_optimal_scores(x, y))))
    verdicts.append(
        "a valid critic" if valid else "not a valid critic: S_ij depends on more than (x_i, y_j)"
    )
    mine, optimum = sum(ours) / BATCHES, sum(best) / BATCHES
    if mine >= 0.9 * optimum:
        verdicts.append("bound at least 90 % of the optimal critic's")
    else:
        verdicts.append(f"bound {mine:.3f} nats, below 90 % of the optimal critic's {optimum:.3f}")
    return verdicts


def test_open_task_critic_is_valid_and_tight(
    submission: types.ModuleType, device: torch.device
) -> None:
    student_critic = submission.critic_scores

    def run_student(device: torch.device) -> list[str]:
        return _critic_verdicts(student_critic, device)

    def run_reference(device: torch.device) -> list[str]:
        return _critic_verdicts(ssl.gaussian_critic_scores, device)

    run_student.__module__ = student_critic.__module__
    check(
        run_student,
        run_reference,
        [Case(f"{BATCHES} batches of {N} fresh pairs", (device,))],
        exercise="Exercise 19.5",
        timeout=60.0,
        also_hidden=[ssl.gaussian_critic_scores],
    )
