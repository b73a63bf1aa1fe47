"""Grader for exercise set 9 (README.md beside this file). Do not edit."""

from __future__ import annotations

import types

import torch

from dlbook import layers, optim
from dlbook.grading import Case, check, check_raises

SUBMISSION = "training.py"
REFERENCES = {
    "adam_update": optim.adam_update,
    "batch_norm": layers.batch_norm,
    "warmup_cosine_lr": optim.warmup_cosine_lr,
    "layer_norm": layers.layer_norm,
}
# The cosine half of 9.3 on its own: switched off like the reference.
SCHEDULES = [optim.cosine_lr]


def randn(g: torch.Generator, *shape: int, device: torch.device) -> torch.Tensor:
    return torch.randn(*shape, generator=g, dtype=torch.float64).to(device)


# ---------------------------------------------------------------------- Exercise 9.1
def test_adam_update_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(0)
    p, grad = randn(g, 5, device=device), randn(g, 5, device=device)
    m, v = 0.1 * randn(g, 5, device=device), randn(g, 5, device=device) ** 2
    zeros = torch.zeros(5, dtype=torch.float64, device=device)
    cases = [
        Case("first step from zero moments", (p, grad, zeros, zeros, 1)),
        Case("step 10, lr 0.01", (p, grad, m, v, 10), {"lr": 0.01}),
        Case("other betas", (p, grad, m, v, 3), {"betas": (0.5, 0.9)}),
        Case("L2 weight decay (Adam)", (p, grad, m, v, 4), {"lr": 0.1, "weight_decay": 0.3}),
        Case(
            "decoupled weight decay (AdamW)",
            (p, grad, m, v, 4),
            {"lr": 0.1, "weight_decay": 0.3, "decoupled": True},
        ),
        Case("a large eps", (p, grad, m, v, 2), {"eps": 0.5}),
        Case("a zero gradient", (p, zeros, m, v, 7)),
        Case(
            "a matrix parameter",
            (p.reshape(1, 5), grad.reshape(1, 5), m.reshape(1, 5), v.reshape(1, 5), 2),
        ),
    ]
    check(
        submission.adam_update,
        optim.adam_update,
        cases,
        exercise="Exercise 9.1",
        rtol=1e-10,
        atol=1e-12,
    )


def test_adam_update_random_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(1)
    cases = []
    for i in range(10):
        shape = (int(torch.randint(1, 6, (1,), generator=g)), 3)
        args = (
            randn(g, *shape, device=device),
            randn(g, *shape, device=device),
            randn(g, *shape, device=device),
            randn(g, *shape, device=device) ** 2,
            int(torch.randint(1, 50, (1,), generator=g)),
        )
        kwargs = {"lr": 0.01 * (i + 1), "weight_decay": 0.1 * (i % 3), "decoupled": i % 2 == 0}
        cases.append(Case(f"random #{i}", args, kwargs))
    check(
        submission.adam_update,
        optim.adam_update,
        cases,
        exercise="Exercise 9.1",
        rtol=1e-10,
        atol=1e-12,
    )


def test_adam_update_rejects_bad_input(submission: types.ModuleType) -> None:
    z = torch.zeros(3)
    cases = [
        Case("step 0", (z, z, z, z, 0)),
        Case("negative lr", (z, z, z, z, 1), {"lr": -0.1}),
        Case("beta2 = 1", (z, z, z, z, 1), {"betas": (0.9, 1.0)}),
        Case("negative beta1", (z, z, z, z, 1), {"betas": (-0.1, 0.9)}),
        Case("m of the wrong shape", (z, z, torch.zeros(2), z, 1)),
    ]
    check_raises(
        submission.adam_update, optim.adam_update, cases, ValueError, exercise="Exercise 9.1"
    )


# ---------------------------------------------------------------------- Exercise 9.2
def bn_case(
    g: torch.Generator, shape: tuple[int, ...], device: torch.device
) -> tuple[torch.Tensor, ...]:
    C = shape[1]
    return (
        3 * randn(g, *shape, device=device) + 1,
        randn(g, C, device=device).abs() + 0.5,
        randn(g, C, device=device),
        randn(g, C, device=device),
        randn(g, C, device=device).abs() + 0.1,
    )


def test_batch_norm_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(2)
    two_d, three_d = bn_case(g, (8, 3), device), bn_case(g, (4, 3, 5), device)
    cases = [
        Case("training, (N, C)", two_d),
        Case("training, (N, C, L)", three_d),
        Case("training, momentum 0.5", two_d, {"momentum": 0.5}),
        Case("training, two examples", bn_case(g, (2, 4), device)),
        Case("evaluation, (N, C)", two_d, {"training": False}),
        Case("evaluation, (N, C, L)", three_d, {"training": False, "eps": 1e-3}),
    ]
    check(
        submission.batch_norm,
        layers.batch_norm,
        cases,
        exercise="Exercise 9.2",
        rtol=1e-9,
        atol=1e-10,
    )


def test_batch_norm_random_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(3)
    cases = []
    for i in range(10):
        shape = tuple(int(s) for s in torch.randint(2, 7, (2 + i % 2,), generator=g))
        cases.append(
            Case(
                f"random #{i}: shape {shape}",
                bn_case(g, shape, device),
                {"training": i % 4 != 3, "momentum": 0.05 * (i + 1)},
            )
        )
    check(
        submission.batch_norm,
        layers.batch_norm,
        cases,
        exercise="Exercise 9.2",
        rtol=1e-9,
        atol=1e-10,
    )


def test_batch_norm_rejects_bad_input(submission: types.ModuleType) -> None:
    one, zero = torch.ones(3), torch.zeros(3)
    cases = [
        Case("1-D x", (torch.zeros(3), one, zero, zero, one)),
        Case("gamma of the wrong shape", (torch.zeros(4, 3), torch.ones(2), zero, zero, one)),
        Case(
            "running_mean of the wrong shape", (torch.zeros(4, 3), one, zero, torch.zeros(4), one)
        ),
        Case("momentum above 1", (torch.zeros(4, 3), one, zero, zero, one), {"momentum": 1.5}),
        Case("one example in training mode", (torch.zeros(1, 3), one, zero, zero, one)),
    ]
    check_raises(
        submission.batch_norm, layers.batch_norm, cases, ValueError, exercise="Exercise 9.2"
    )


# ---------------------------------------------------------------------- Exercise 9.3
def test_warmup_cosine_lr_fixed_inputs(submission: types.ModuleType) -> None:
    cases = [
        Case(
            f"step {t} of 5 + 15",
            (t,),
            {"lr": 1.0, "warmup_steps": 5, "total_steps": 20, "lr_min": 0.01},
        )
        for t in (0, 1, 4, 5, 6, 12, 19, 20, 25)
    ]
    cases += [
        Case("no warm-up", (3,), {"lr": 0.1, "warmup_steps": 0, "total_steps": 10}),
        Case(
            "start factor 1",
            (2,),
            {"lr": 0.1, "warmup_steps": 4, "total_steps": 10, "start_factor": 1.0},
        ),
    ]
    check(
        submission.warmup_cosine_lr,
        optim.warmup_cosine_lr,
        cases,
        exercise="Exercise 9.3",
        also_hidden=SCHEDULES,
        rtol=1e-12,
        atol=1e-14,
    )


def test_warmup_cosine_lr_random_inputs(submission: types.ModuleType) -> None:
    g = torch.Generator().manual_seed(4)
    cases = []
    for i in range(20):
        warmup = int(torch.randint(0, 20, (1,), generator=g))
        total = warmup + int(torch.randint(1, 100, (1,), generator=g))
        step = int(torch.randint(0, total + 10, (1,), generator=g))
        kwargs = {
            "lr": float(torch.rand(1, generator=g)),
            "warmup_steps": warmup,
            "total_steps": total,
            "lr_min": 0.001 * i,
            "start_factor": float(torch.rand(1, generator=g)) * 0.9 + 0.1,
        }
        cases.append(Case(f"random #{i}", (step,), kwargs))
    check(
        submission.warmup_cosine_lr,
        optim.warmup_cosine_lr,
        cases,
        exercise="Exercise 9.3",
        also_hidden=SCHEDULES,
        rtol=1e-12,
        atol=1e-14,
    )


def test_warmup_cosine_lr_rejects_bad_input(submission: types.ModuleType) -> None:
    cases = [
        Case("negative step", (-1,), {"lr": 0.1, "warmup_steps": 2, "total_steps": 10}),
        Case("negative lr", (1,), {"lr": -0.1, "warmup_steps": 2, "total_steps": 10}),
        Case("total equal to warm-up", (1,), {"lr": 0.1, "warmup_steps": 10, "total_steps": 10}),
        Case(
            "start factor 0",
            (1,),
            {"lr": 0.1, "warmup_steps": 2, "total_steps": 10, "start_factor": 0.0},
        ),
    ]
    check_raises(
        submission.warmup_cosine_lr,
        optim.warmup_cosine_lr,
        cases,
        ValueError,
        exercise="Exercise 9.3",
        also_hidden=SCHEDULES,
    )


# ---------------------------------------------------------------------- Exercise 9.4
def test_layer_norm_fixed_and_random_inputs(
    submission: types.ModuleType, device: torch.device
) -> None:
    g = torch.Generator().manual_seed(5)
    cases = [
        Case(
            "(N, D), D = 4",
            (randn(g, 3, 4, device=device), randn(g, 4, device=device), randn(g, 4, device=device)),
        ),
        Case(
            "(B, T, D): tokens",
            (
                randn(g, 2, 3, 5, device=device),
                randn(g, 5, device=device),
                randn(g, 5, device=device),
            ),
        ),
        Case(
            "two normalised axes",
            (
                randn(g, 2, 3, 4, device=device),
                randn(g, 3, 4, device=device),
                randn(g, 3, 4, device=device),
            ),
            {"eps": 1e-3},
        ),
        Case(
            "a single vector",
            (randn(g, 6, device=device), randn(g, 6, device=device), randn(g, 6, device=device)),
        ),
    ]
    for i in range(8):
        d = int(torch.randint(2, 9, (1,), generator=g))
        cases.append(
            Case(
                f"random #{i}: D = {d}",
                (
                    5 * randn(g, 4, d, device=device) + 2,
                    randn(g, d, device=device),
                    randn(g, d, device=device),
                ),
            )
        )
    check(
        submission.layer_norm,
        layers.layer_norm,
        cases,
        exercise="Exercise 9.4",
        rtol=1e-9,
        atol=1e-10,
    )


def test_layer_norm_rejects_bad_input(submission: types.ModuleType) -> None:
    cases = [
        Case("trailing shape differs", (torch.zeros(2, 3), torch.ones(4), torch.zeros(4))),
        Case("beta of another shape", (torch.zeros(2, 3), torch.ones(3), torch.zeros(2))),
    ]
    check_raises(
        submission.layer_norm, layers.layer_norm, cases, ValueError, exercise="Exercise 9.4"
    )
