"""Grader for exercise set 16 (README.md beside this file). Do not edit."""

from __future__ import annotations

import types
from typing import Any

import torch

from dlbook import data
from dlbook.generative import gan, metrics
from dlbook.grading import Case, check, check_raises

SUBMISSION = "adversarial.py"
REFERENCES = {
    "discriminator_loss": gan.discriminator_loss,
    "generator_loss": gan.generator_loss,
    "optimal_discriminator": gan.optimal_discriminator,
    "mode_coverage": metrics.mode_coverage,
    "pack": gan.pack,
    "fit_and_sample": gan.fit_and_sample,
}
F64 = torch.float64


def randn(
    g: torch.Generator, *shape: int, device: torch.device, scale: float = 1.0
) -> torch.Tensor:
    return (scale * torch.randn(*shape, generator=g, dtype=F64)).to(device)


def extreme(values: list[float], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return torch.tensor(values, dtype=dtype, device=device)


# ---------------------------------------------------------------------- Exercise 16.1
def test_discriminator_loss_fixed_inputs(
    submission: types.ModuleType, device: torch.device
) -> None:
    g = torch.Generator().manual_seed(0)
    cases = [
        Case("moderate logits", (randn(g, 6, device=device), randn(g, 6, device=device))),
        # Different sizes: one mean over the concatenation would weight them wrongly.
        Case("8 real and 2 fake logits", (randn(g, 8, device=device), randn(g, 2, device=device))),
        Case(
            "a batch of shape (4, 3)", (randn(g, 4, 3, device=device), randn(g, 5, device=device))
        ),
        Case("zero logits: 2 log 2", (torch.zeros(3, dtype=F64, device=device),) * 2),
    ]
    for dtype in (torch.float32, torch.float64):
        for big in (1e4, 1e8):
            cases.append(
                Case(
                    f"logits of +-{big:.0e} in {dtype}",
                    (extreme([big, -big, 3.0], dtype, device), extreme([-big, big], dtype, device)),
                )
            )
    check(
        submission.discriminator_loss,
        gan.discriminator_loss,
        cases,
        exercise="Exercise 16.1",
        rtol=1e-6,
        atol=1e-6,
    )


def test_discriminator_loss_random_inputs(
    submission: types.ModuleType, device: torch.device
) -> None:
    g = torch.Generator().manual_seed(1)
    cases = [
        Case(
            f"random #{i}",
            (randn(g, 3 + i, device=device, scale=5.0), randn(g, 10 - i, device=device, scale=5.0)),
        )
        for i in range(8)
    ]
    check(
        submission.discriminator_loss,
        gan.discriminator_loss,
        cases,
        exercise="Exercise 16.1",
        rtol=1e-10,
        atol=1e-12,
    )


def test_discriminator_loss_rejects_bad_input(submission: types.ModuleType) -> None:
    z = torch.zeros(3)
    cases = [
        Case("integer logits", (torch.zeros(3, dtype=torch.int64), z)),
        Case("empty real logits", (torch.zeros(0), z)),
        Case("empty fake logits", (z, torch.zeros(0))),
    ]
    check_raises(
        submission.discriminator_loss,
        gan.discriminator_loss,
        cases[:1],
        TypeError,
        exercise="Exercise 16.1",
    )
    check_raises(
        submission.discriminator_loss,
        gan.discriminator_loss,
        cases[1:],
        ValueError,
        exercise="Exercise 16.1",
    )


# ---------------------------------------------------------------------- Exercise 16.2
def test_generator_loss_fixed_and_random_inputs(
    submission: types.ModuleType, device: torch.device
) -> None:
    g = torch.Generator().manual_seed(2)
    cases = []
    for kind in ("non_saturating", "saturating"):
        cases += [
            Case(f"{kind}, moderate", (randn(g, 7, device=device),), {"kind": kind}),
            Case(f"{kind}, (2, 5)", (randn(g, 2, 5, device=device, scale=4.0),), {"kind": kind}),
            Case(
                f"{kind}, +-1e4 in float32",
                (extreme([1e4, -1e4, 0.5], torch.float32, device),),
                {"kind": kind},
            ),
            Case(
                f"{kind}, +-1e8 in float64",
                (extreme([1e8, -1e8], F64, device),),
                {"kind": kind},
            ),
        ]
    cases.append(Case("default kind", (randn(g, 4, device=device, scale=3.0),)))
    check(
        submission.generator_loss,
        gan.generator_loss,
        cases,
        exercise="Exercise 16.2",
        rtol=1e-6,
        atol=1e-6,
    )


def test_generator_loss_rejects_bad_input(submission: types.ModuleType) -> None:
    cases = [
        Case("kind 'minimax'", (torch.zeros(3),), {"kind": "minimax"}),
        Case("empty logits", (torch.zeros(0),)),
    ]
    check_raises(
        submission.generator_loss, gan.generator_loss, cases, ValueError, exercise="Exercise 16.2"
    )


# ---------------------------------------------------------------------- Exercise 16.3
def test_optimal_discriminator(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(3)
    p = torch.rand(5, 4, generator=g, dtype=F64).to(device)
    q = torch.rand(5, 4, generator=g, dtype=F64).to(device)
    zeros = torch.zeros(3, dtype=F64, device=device)
    cases = [
        Case("random densities (5, 4)", (p, q)),
        Case("both zero: 1/2", (zeros, zeros)),
        Case(
            "one zero each",
            (torch.tensor([0.0, 2.0], device=device), torch.tensor([3.0, 0.0], device=device)),
        ),
        Case("tiny values 1e-300", (1e-300 * p[0], 1e-300 * q[0])),
        Case("float32", (p.float(), q.float())),
        Case("0-d tensors", (torch.tensor(0.2, device=device), torch.tensor(0.6, device=device))),
    ]
    check(
        submission.optimal_discriminator,
        gan.optimal_discriminator,
        cases,
        exercise="Exercise 16.3",
        rtol=1e-12,
        atol=1e-15,
    )
    bad = [Case("negative p", (-p, q)), Case("shapes differ", (p, q[:2]))]
    check_raises(
        submission.optimal_discriminator,
        gan.optimal_discriminator,
        bad,
        ValueError,
        exercise="Exercise 16.3",
    )


# ---------------------------------------------------------------------- Exercise 16.4
def coverage_tuple(result: Any, args: Any, kwargs: Any) -> Any:
    if not isinstance(result, metrics.ModeCoverage):
        return ("not a ModeCoverage", repr(type(result)))
    return (result.modes, result.high_quality, result.counts, result.num_modes)


def test_mode_coverage(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(4)
    grid = metrics.grid_centres(device=device)
    ring = metrics.ring_centres(device=device)
    picks = torch.randint(0, 25, (500,), generator=g)
    near_grid = (
        metrics.grid_centres()[picks] + 0.1 * torch.randn(500, 2, generator=g, dtype=F64)
    ).to(device)
    picks = torch.randint(0, 3, (300,), generator=g)  # only three of the ring's modes
    near_ring = (
        metrics.ring_centres()[picks] + 0.03 * torch.randn(300, 2, generator=g, dtype=F64)
    ).to(device)
    edge = torch.tensor(
        [[0.06, 0.0], [0.0601, 0.0], [1.9, 0.0]], dtype=torch.float32, device=device
    )
    cases = [
        Case("grid, spread 0.1", (near_grid, grid, 0.05)),
        Case("ring, three modes only", (near_ring, ring, 0.02)),
        Case("float32 samples, float64 centres", (near_grid.float(), grid, 0.05)),
        Case("num_std = 1", (near_grid, grid, 0.05), {"num_std": 1.0}),
        Case(
            "distance exactly at the threshold in float32",
            (edge, torch.tensor([[0.0, 0.0], [2.0, 0.0]], dtype=F64, device=device), 0.02),
        ),
        Case("3-D samples", (randn(g, 50, 3, device=device), randn(g, 4, 3, device=device), 0.5)),
    ]
    check(
        submission.mode_coverage,
        metrics.mode_coverage,
        cases,
        exercise="Exercise 16.4",
        rtol=1e-12,
        atol=1e-15,
        observe=coverage_tuple,
    )
    bad = [
        Case("std 0", (near_grid, grid, 0.0)),
        Case("widths differ", (near_grid, torch.zeros(4, 3, dtype=F64, device=device), 0.1)),
        Case("1-D samples", (near_grid[:, 0], grid, 0.1)),
    ]
    check_raises(
        submission.mode_coverage, metrics.mode_coverage, bad, ValueError, exercise="Exercise 16.4"
    )


# ---------------------------------------------------------------------- Exercise 16.5
def test_pack(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(5)
    x = randn(g, 12, 3, device=device)
    cases = [
        Case("m = 1", (x, 1)),
        Case("m = 2", (x, 2)),
        Case("m = 3", (x, 3)),
        Case("m = N", (x, 12)),
        Case("non-contiguous x", (x.T.contiguous().T, 4)),
        Case("float16", (x.half(), 2)),
    ]
    check(submission.pack, gan.pack, cases, exercise="Exercise 16.5", rtol=0, atol=0)
    bad = [Case("N not a multiple", (x, 5)), Case("m = 0", (x, 0)), Case("1-D x", (x[:, 0], 2))]
    check_raises(submission.pack, gan.pack, bad, ValueError, exercise="Exercise 16.5")


# ---------------------------------------------------------------------- Exercise 16.6
def covers_the_ring(result: Any, args: Any, kwargs: Any) -> Any:
    train = args[0]
    if not isinstance(result, torch.Tensor) or result.shape != (2500, 2):
        return ("expected a tensor of shape (2500, 2)", describe_shape(result))
    if result.device != train.device:
        return ("samples on the data's device", str(result.device))
    samples = result.detach().double()
    score = metrics.mode_coverage(samples, metrics.ring_centres(device=samples.device), 0.02)
    nearest_train = torch.cdist(samples, train.double()).min()
    return {
        "all 8 modes captured": score.modes == 8,
        "at least 50 % high-quality samples": score.high_quality >= 0.5,
        "no sample is a copy of a training point": bool(nearest_train > 1e-6),
    }


def describe_shape(result: Any) -> str:
    return str(getattr(result, "shape", type(result).__name__))


def test_open_task_covers_the_ring(submission: types.ModuleType) -> None:
    ring, _ = data.gaussian_ring(20_000, seed=16)
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny networks: one thread is fastest
    try:
        check(
            submission.fit_and_sample,
            gan.fit_and_sample,
            [Case("the ring, seed 0", (ring,), {"seed": 0})],
            exercise="Exercise 16.6",
            observe=covers_the_ring,
            timeout=120.0,
        )
    finally:
        torch.set_num_threads(before)
