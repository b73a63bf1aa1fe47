"""Grader for exercise set 17 (README.md beside this file). Do not edit."""

from __future__ import annotations

import itertools
import math
import types
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from dlbook.generative import diffusion, flows
from dlbook.grading import Case, check, check_raises

SUBMISSION = "flows_diffusion.py"
REFERENCES = {
    "affine_coupling": flows.affine_coupling,
    "affine_coupling_inverse": flows.affine_coupling_inverse,
    "q_sample": diffusion.q_sample,
    "q_posterior": diffusion.q_posterior,
    "ddim_step": diffusion.ddim_step,
    "few_step_timesteps": diffusion.quadratic_timesteps,
}
F64 = torch.float64
LINEAR = diffusion.NoiseSchedule.from_betas(diffusion.linear_betas())


def randn(
    g: torch.Generator, *shape: int, device: torch.device, dtype: torch.dtype = F64
) -> Tensor:
    return torch.randn(*shape, generator=g, dtype=F64).to(device, dtype)


def with_dtypes(result: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
    """Compare the exact dtype of every output tensor too (not only its kind)."""
    outputs = result if isinstance(result, tuple) else (result,)
    return (*outputs, *[str(o.dtype) for o in outputs if isinstance(o, Tensor)])


def check_all(student: Any, reference: Any, cases: list[Case], **options: Any) -> None:
    """Every case (inputs must stay untouched), then the float32 ones for their exact dtype."""
    check(student, reference, cases, **options)
    float32 = [c for c in cases if "float32" in c.name]
    assert float32, "the grader needs float32 cases"
    check(student, reference, float32, observe=with_dtypes, **options)


class Conditioner(nn.Module):
    """A fixed random conditioner whose outputs are non-zero on every coordinate."""

    def __init__(self, dim: int, seed: int, scale: float = 0.5) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.W1 = nn.Parameter(torch.randn(8, dim, generator=g, dtype=F64), requires_grad=False)
        self.W2 = nn.Parameter(
            scale * torch.randn(2 * dim, 8, generator=g, dtype=F64), requires_grad=False
        )
        self.b = nn.Parameter(torch.randn(2 * dim, generator=g, dtype=F64), requires_grad=False)

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor]:
        out = torch.tanh(h @ self.W1.to(h.dtype).T) @ self.W2.to(h.dtype).T + self.b.to(h.dtype)
        s, shift = out.chunk(2, dim=1)
        return s, shift


def coupling_cases(device: torch.device, seed: int) -> list[Case]:
    g = torch.Generator().manual_seed(seed)
    cond3 = Conditioner(3, seed).to(device)
    cond4 = Conditioner(4, seed + 1, scale=2.0).to(device)
    even3 = torch.tensor([1.0, 0.0, 1.0], device=device)
    x3, x4 = randn(g, 6, 3, device=device), 3 * randn(g, 5, 4, device=device)
    return [
        Case("mask (1, 0, 1)", (x3, even3, cond3)),
        Case("mask (0, 1, 0): the other half", (x3, 1 - even3, cond3)),
        Case(
            "mask (1, 1, 0, 0), large scales",
            (x4, torch.tensor([1.0, 1, 0, 0], device=device), cond4),
        ),
        Case("an integer mask", (x4, torch.tensor([0, 1, 0, 1], device=device), cond4)),
        Case("all kept: the identity", (x3, torch.ones(3, device=device), cond3)),
        Case("one example", (x3[:1], even3, cond3)),
        Case("float32 data", (x3.float(), even3, cond3)),
        Case("non-contiguous data", (randn(g, 3, 6, device=device).T, even3, cond3)),
    ]


def bad_coupling_cases() -> list[Case]:
    cond = Conditioner(3, 0)
    return [
        Case("1-D input", (torch.zeros(3, dtype=F64), torch.ones(3), cond)),
        Case("mask of the wrong length", (torch.zeros(2, 3, dtype=F64), torch.ones(2), cond)),
        Case(
            "mask with a 0.5", (torch.zeros(2, 3, dtype=F64), torch.tensor([1.0, 0.5, 0.0]), cond)
        ),
    ]


# ---------------------------------------------------------------------- Exercise 17.1
def test_affine_coupling(submission: types.ModuleType, device: torch.device) -> None:
    check_all(
        submission.affine_coupling,
        flows.affine_coupling,
        coupling_cases(device, seed=0) + coupling_cases(device, seed=1)[:3],
        exercise="Exercise 17.1",
        rtol=1e-10,
        atol=1e-6,  # float32 cases
    )


def test_affine_coupling_rejects_bad_input(submission: types.ModuleType) -> None:
    check_raises(
        submission.affine_coupling,
        flows.affine_coupling,
        bad_coupling_cases(),
        ValueError,
        exercise="Exercise 17.1",
    )
    check_raises(
        submission.affine_coupling,
        flows.affine_coupling,
        [
            Case(
                "integer input",
                (torch.zeros(2, 3, dtype=torch.int64), torch.ones(3), Conditioner(3, 0)),
            )
        ],
        TypeError,
        exercise="Exercise 17.1",
    )


# ---------------------------------------------------------------------- Exercise 17.2
def test_affine_coupling_inverse(submission: types.ModuleType, device: torch.device) -> None:
    check_all(
        submission.affine_coupling_inverse,
        flows.affine_coupling_inverse,
        coupling_cases(device, seed=2),
        exercise="Exercise 17.2",
        rtol=1e-10,
        atol=1e-6,  # float32 cases
    )


def test_affine_coupling_inverse_rejects_bad_input(submission: types.ModuleType) -> None:
    check_raises(
        submission.affine_coupling_inverse,
        flows.affine_coupling_inverse,
        bad_coupling_cases(),
        ValueError,
        exercise="Exercise 17.2",
    )


# ---------------------------------------------------------------------- Exercise 17.3
def test_q_sample(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(3)
    ab = LINEAR.alpha_bar.to(device)
    x0, noise = randn(g, 6, 2, device=device), randn(g, 6, 2, device=device)
    steps = torch.tensor([0, 1, 10, 500, 998, 999], device=device)
    cases = [
        Case("one step for all, t = 0", (x0, 0, ab, noise)),
        Case("one step for all, the last", (x0, 999, ab, noise)),
        Case("a step per example", (x0, steps, ab, noise)),
        Case(
            "uint8 steps",
            (x0, torch.tensor([0, 1, 2, 3, 200, 255], dtype=torch.uint8, device=device), ab, noise),
        ),
        Case("int32 steps", (x0, steps.int(), ab, noise)),
        Case("float32 data, float64 schedule", (x0.float(), steps, ab, noise.float())),
        Case(
            "images (N, 1, 2, 2)",
            (
                randn(g, 3, 1, 2, 2, device=device),
                torch.tensor([5, 50, 900], device=device),
                ab,
                randn(g, 3, 1, 2, 2, device=device),
            ),
        ),
    ]
    for i in range(6):
        n = 1 + i
        cases.append(
            Case(
                f"random #{i}",
                (
                    randn(g, n, 3, device=device),
                    torch.randint(0, 1000, (n,), generator=g).to(device),
                    ab,
                    randn(g, n, 3, device=device),
                ),
            )
        )
    check_all(
        submission.q_sample,
        diffusion.q_sample,
        cases,
        exercise="Exercise 17.3",
        rtol=1e-6,  # float32 cases: the schedule rounded to float32 first is also fine
        atol=1e-6,
    )


def test_q_sample_rejects_bad_input(submission: types.ModuleType) -> None:
    z, ab = torch.zeros(3, 2), LINEAR.alpha_bar
    check_raises(
        submission.q_sample,
        diffusion.q_sample,
        [
            Case("t = T", (z, 1000, ab, z)),
            Case("a negative step", (z, torch.tensor([0, -1, 0]), ab, z)),
            Case("t of the wrong length", (z, torch.tensor([0, 1]), ab, z)),
            Case("noise of the wrong shape", (z, 0, ab, torch.zeros(3, 3))),
        ],
        ValueError,
        exercise="Exercise 17.3",
    )
    check_raises(
        submission.q_sample,
        diffusion.q_sample,
        [Case("float steps", (z, torch.zeros(3), ab, z))],
        TypeError,
        exercise="Exercise 17.3",
    )


# ---------------------------------------------------------------------- Exercise 17.4
def test_q_posterior(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(4)
    lin, cos = (
        LINEAR.to(device),
        diffusion.NoiseSchedule.from_betas(diffusion.cosine_betas()).to(device),
    )
    x0, xt = randn(g, 5, 3, device=device), randn(g, 5, 3, device=device)
    cases = [
        Case("the first step (variance 0)", (x0, xt, 0, lin)),
        Case("step 1", (x0, xt, 1, lin)),
        Case("the last step", (x0, xt, 999, lin)),
        Case("a step per example", (x0, xt, torch.tensor([0, 1, 2, 500, 999], device=device), lin)),
        Case("cosine schedule", (x0, xt, torch.tensor([0, 3, 100, 700, 999], device=device), cos)),
        Case(
            "float32 data",
            (x0.float(), xt.float(), torch.tensor([0, 1, 2, 3, 4], device=device), lin),
        ),
        Case(
            "a short schedule",
            (
                x0,
                xt,
                3,
                diffusion.NoiseSchedule.from_betas(diffusion.linear_betas(5, 0.1, 0.3)).to(device),
            ),
        ),
    ]
    check_all(
        submission.q_posterior,
        diffusion.q_posterior,
        cases,
        exercise="Exercise 17.4",
        rtol=1e-9,
        atol=1e-7,  # float32 cases
    )


def test_q_posterior_rejects_bad_input(submission: types.ModuleType) -> None:
    z = torch.zeros(3, 2)
    check_raises(
        submission.q_posterior,
        diffusion.q_posterior,
        [
            Case("x_t of another shape", (z, torch.zeros(2, 2), 3, LINEAR)),
            Case("t = T", (z, z, 1000, LINEAR)),
        ],
        ValueError,
        exercise="Exercise 17.4",
    )


# ---------------------------------------------------------------------- Exercise 17.5
def test_ddim_step(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(5)
    ab = LINEAR.alpha_bar.to(device)
    x, eps, z = (randn(g, 4, 3, device=device) for _ in range(3))
    cases = [
        Case("deterministic, 980 -> 960", (x, 980, 960, eps, ab)),
        Case("deterministic, to the data", (x, 20, -1, eps, ab)),
        Case("deterministic, one big jump", (x, 999, 0, eps, ab)),
        Case("eta 1, one step: DDPM", (x, 500, 499, eps, ab), {"eta": 1.0, "noise": z}),
        Case("eta 0.5, a jump", (x, 600, 400, eps, ab), {"eta": 0.5, "noise": z}),
        Case("eta 1 to the data (sigma 0)", (x, 0, -1, eps, ab), {"eta": 1.0}),
        Case("float32", (x.float(), 300, 250, eps.float(), ab), {"eta": 0.3, "noise": z.float()}),
    ]
    for i in range(5):
        t = int(torch.randint(1, 1000, (1,), generator=g))
        t_prev = int(torch.randint(-1, t, (1,), generator=g))
        cases.append(
            Case(
                f"random #{i}: {t} -> {t_prev}",
                (x, t, t_prev, eps, ab),
                {"eta": 0.2 * i, "noise": z},
            )
        )
    check_all(
        submission.ddim_step,
        diffusion.ddim_step,
        cases,
        exercise="Exercise 17.5",
        rtol=1e-9,
        atol=1e-6,  # float32 cases
    )


def test_ddim_step_rejects_bad_input(submission: types.ModuleType) -> None:
    z, ab = torch.zeros(3, 2), LINEAR.alpha_bar
    check_raises(
        submission.ddim_step,
        diffusion.ddim_step,
        [
            Case("t_prev = t", (z, 5, 5, z, ab)),
            Case("t_prev below -1", (z, 5, -2, z, ab)),
            Case("negative eta", (z, 5, 4, z, ab), {"eta": -0.1}),
            Case("eta > 0 without noise", (z, 5, 4, z, ab), {"eta": 1.0}),
        ],
        ValueError,
        exercise="Exercise 17.5",
    )


# ---------------------------------------------------------------------- Exercise 17.6 (open)
MODES, STD = (-1.0, 1.0), 0.05


def mixture_noise_predictor(x: Tensor, t: int) -> Tensor:
    """E[eps | x_t] exactly, for x0 from the two-Gaussian mixture (equal weights)."""
    ab = float(LINEAR.alpha_bar[t])
    mus = torch.tensor(MODES, dtype=F64)
    var = ab * STD**2 + 1 - ab
    weights = torch.softmax(-0.5 * (x - math.sqrt(ab) * mus) ** 2 / var, dim=1)  # (N, 2)
    per_mode = math.sqrt(1 - ab) * (x - math.sqrt(ab) * mus) / var  # E[eps | x_t, mode]
    return (weights * per_mode).sum(dim=1, keepdim=True)  # (N, 1)


def measured_quality(steps: Any, T: int, num_steps: int) -> str:
    """'ok', or what is wrong with the steps: checked by running DDIM through them."""
    if not isinstance(steps, (list, tuple)) or not all(
        isinstance(s, int) and not isinstance(s, bool) for s in steps
    ):
        return f"expected a list of Python ints, got {steps!r}"
    steps = list(steps)
    if len(steps) != num_steps:
        return f"expected {num_steps} steps, got {len(steps)}: {steps}"
    if steps[-1] != 0 or steps[0] > T - 1 or any(a <= b for a, b in itertools.pairwise(steps)):
        return f"steps must decrease strictly from at most {T - 1} to 0, got {steps}"
    x = torch.randn(4000, 1, generator=torch.Generator().manual_seed(0), dtype=F64)
    for i, t in enumerate(steps):
        t_prev = steps[i + 1] if i + 1 < len(steps) else -1
        x = diffusion.ddim_step(x, t, t_prev, mixture_noise_predictor(x, t), LINEAR.alpha_bar)
    distance = (x - torch.tensor(MODES, dtype=F64)).abs().min(dim=1).values
    share = (distance <= 3 * STD).double().mean().item()
    if share < 0.9:
        return f"only {share:.1%} of the samples are high quality with {steps} (need 90 %)"
    return "ok"


def test_few_step_timesteps_give_high_quality_samples(submission: types.ModuleType) -> None:
    cases = [Case(f"T = 1000, {s} steps", (1000, s)) for s in (5, 8)]
    check(
        submission.few_step_timesteps,
        diffusion.quadratic_timesteps,
        cases,
        exercise="Exercise 17.6",
        observe=lambda result, args, kwargs: measured_quality(result, *args),
        also_hidden=[diffusion.ddim_timesteps],
    )
