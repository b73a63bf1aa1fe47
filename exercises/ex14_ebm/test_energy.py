"""Grader for exercise set 14 (README.md beside this file). Do not edit."""

from __future__ import annotations

import types

import pytest
import torch

from dlbook.generative import ebm
from dlbook.grading import (
    Case,
    NotImplementedYetError,
    check,
    check_raises,
    run_with_timeout,
)

SUBMISSION = "energy.py"
REFERENCES = {
    "hebbian_weights": ebm.hebbian_weights,
    "hopfield_energy": ebm.hopfield_energy,
    "hopfield_sweep": ebm.hopfield_sweep,
    "rbm_free_energy": ebm.rbm_free_energy,
    "cd_gradient": ebm.cd_gradient,
    "langevin_step": ebm.langevin_step,
    "sample_energy": ebm.sample_energy,
}
F64 = torch.float64


def spins(
    g: torch.Generator, *shape: int, device: torch.device, dtype: torch.dtype = F64
) -> torch.Tensor:
    return torch.where(torch.rand(*shape, generator=g) < 0.5, -1.0, 1.0).to(
        device=device, dtype=dtype
    )


def randn(g: torch.Generator, *shape: int, device: torch.device) -> torch.Tensor:
    return torch.randn(*shape, generator=g, dtype=F64).to(device)


def bits(g: torch.Generator, *shape: int, device: torch.device) -> torch.Tensor:
    return (torch.rand(*shape, generator=g) < 0.5).to(F64).to(device)


def symmetric(g: torch.Generator, n: int, device: torch.device) -> torch.Tensor:
    A = torch.randn(n, n, generator=g, dtype=F64)
    return (A + A.T).fill_diagonal_(0.0).to(device)


def assert_float32(exercise: str, *outputs: torch.Tensor) -> None:
    """The comparison above checks the kind of number only: float32 in, float32 out."""
    for out in outputs:
        assert out.dtype == torch.float32, (
            f"{exercise}: float32 inputs must give a float32 result, got {out.dtype}"
        )


# ---------------------------------------------------------------------- Exercise 14.1
def test_hebbian_weights(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(0)
    cases = [
        Case("one pattern", (torch.tensor([[1.0, -1.0, 1.0, 1.0]], device=device),)),
        Case("P > N", (spins(g, 7, 3, device=device),)),
        Case("float32 patterns", (spins(g, 4, 10, device=device, dtype=torch.float32),)),
        Case("a non-contiguous (transposed) batch", (spins(g, 9, 5, device=device).T,)),
    ]
    cases += [Case(f"random #{i}", (spins(g, 1 + i, 8 + 3 * i, device=device),)) for i in range(5)]
    check(
        submission.hebbian_weights,
        ebm.hebbian_weights,
        cases,
        exercise="Exercise 14.1",
        rtol=1e-6,
        atol=1e-7,
    )
    got = submission.hebbian_weights(spins(g, 3, 6, device=device, dtype=torch.float32))
    assert got.dtype == torch.float32, (
        f"Exercise 14.1: float32 patterns must give float32 weights, got {got.dtype}"
    )


def test_hebbian_weights_rejects_bad_input(submission: types.ModuleType) -> None:
    cases = [
        Case("1-D patterns", (torch.ones(4),)),
        Case("0/1 patterns", (torch.eye(3),)),
        Case("no patterns", (torch.ones(0, 3),)),
    ]
    check_raises(
        submission.hebbian_weights, ebm.hebbian_weights, cases, ValueError, exercise="Exercise 14.1"
    )
    check_raises(
        submission.hebbian_weights,
        ebm.hebbian_weights,
        [Case("integer patterns", (torch.ones(2, 3, dtype=torch.int64),))],
        TypeError,
        exercise="Exercise 14.1",
    )


# ---------------------------------------------------------------------- Exercise 14.2
def test_hopfield_energy(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(1)
    W = symmetric(g, 6, device)
    s, b = spins(g, 5, 6, device=device), randn(g, 6, device=device)
    cases = [
        Case("one state, no bias", (W, s[0])),
        Case("a batch, no bias", (W, s)),
        Case("a batch with bias", (W, s, b)),
        Case("real-valued states", (W, randn(g, 3, 6, device=device), b)),
        Case("Hebbian weights of the state itself", (ebm.hebbian_weights(s[:1]), s[:1])),
    ]
    check(
        submission.hopfield_energy,
        ebm.hopfield_energy,
        cases,
        exercise="Exercise 14.2",
        rtol=1e-10,
        atol=1e-12,
    )
    assert_float32("Exercise 14.2", submission.hopfield_energy(W.float(), s.float(), b.float()))


def test_hopfield_energy_rejects_bad_input(submission: types.ModuleType) -> None:
    W, s = torch.zeros(9, 9), torch.ones(9)
    cases = [
        Case("W of the wrong shape", (torch.zeros(2, 2), s)),
        Case("b of the wrong shape", (W, s, torch.zeros(2))),
        Case("3-D states", (W, torch.ones(2, 2, 9))),
        Case("s on another device", (W, s.to("meta"))),
    ]
    check_raises(
        submission.hopfield_energy, ebm.hopfield_energy, cases, ValueError, exercise="Exercise 14.2"
    )


# ---------------------------------------------------------------------- Exercise 14.3
def test_hopfield_sweep(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(2)
    W = symmetric(g, 8, device)
    A = torch.randint(-1, 2, (5, 5), generator=g).to(F64)
    W_int = (A + A.T).fill_diagonal_(0.0).to(device)  # integer weights: fields of 0 occur
    xi = spins(g, 2, 8, device=device)
    cases = [
        Case("one state, every unit once", (W, spins(g, 8, device=device), torch.arange(8))),
        # sequential (not synchronous) updates: a pattern and its neighbour interact
        Case(
            "a batch, reversed order", (W, spins(g, 6, 8, device=device), torch.arange(7, -1, -1))
        ),
        Case("repeated units", (W, spins(g, 4, 8, device=device), torch.tensor([3, 3, 1, 3, 0]))),
        Case(
            "with bias",
            (W, spins(g, 4, 8, device=device), torch.arange(8), randn(g, 8, device=device)),
        ),
        Case(
            "ties (zero fields) keep their value",
            (W_int, spins(g, 10, 5, device=device), torch.arange(5).repeat(2)),
        ),
        Case(
            "Hebbian weights, a stored pattern stays",
            (ebm.hebbian_weights(xi), xi, torch.arange(8)),
        ),
        Case(
            "order as int32", (W, spins(g, 3, 8, device=device), torch.arange(8, dtype=torch.int32))
        ),
    ]
    cases += [
        Case(
            f"random #{i}",
            (W, spins(g, 3, 8, device=device), torch.randint(0, 8, (12,), generator=g)),
        )
        for i in range(4)
    ]
    check(
        submission.hopfield_sweep,
        ebm.hopfield_sweep,
        cases,
        exercise="Exercise 14.3",
        rtol=0,
        atol=0,
    )
    assert_float32(
        "Exercise 14.3", submission.hopfield_sweep(W.float(), xi.float(), torch.arange(8))
    )


def test_hopfield_sweep_rejects_bad_input(submission: types.ModuleType) -> None:
    W, s = torch.zeros(3, 3), torch.ones(3)
    cases = [
        Case("asymmetric W", (torch.triu(torch.ones(3, 3)), s, torch.arange(3))),
        Case("a state of zeros", (W, torch.zeros(3), torch.arange(3))),
        Case("a unit out of range", (W, s, torch.tensor([3]))),
    ]
    check_raises(
        submission.hopfield_sweep, ebm.hopfield_sweep, cases, ValueError, exercise="Exercise 14.3"
    )
    check_raises(
        submission.hopfield_sweep,
        ebm.hopfield_sweep,
        [Case("a float order", (W, s, torch.zeros(2)))],
        TypeError,
        exercise="Exercise 14.3",
    )


# ---------------------------------------------------------------------- Exercise 14.4
def rbm_args(
    g: torch.Generator, B: int, H: int, V: int, device: torch.device, scale: float = 1.0
) -> tuple[torch.Tensor, ...]:
    return (
        bits(g, B, V, device=device),
        scale * randn(g, H, V, device=device),
        scale * randn(g, V, device=device),
        scale * randn(g, H, device=device),
    )


def test_rbm_free_energy(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(3)
    cases = [
        Case("small", rbm_args(g, 4, 3, 5, device)),
        Case("more hidden than visible", rbm_args(g, 2, 9, 4, device)),
        Case("one example", rbm_args(g, 1, 2, 2, device)),
    ]
    for dtype in (torch.float32, torch.float64):
        for scale in (1e4, 1e8):
            v = torch.tensor([[1.0, 0.0, 1.0]], dtype=dtype, device=device)
            W = torch.tensor([[scale, 0.0, 0.0], [-scale, 0.0, 0.0]], dtype=dtype, device=device)
            zeros_v, zeros_h = (
                torch.zeros(3, dtype=dtype, device=device),
                torch.zeros(2, dtype=dtype, device=device),
            )
            cases.append(Case(f"pre-activations +-{scale:g} in {dtype}", (v, W, zeros_v, zeros_h)))
    cases += [Case(f"random #{i}", rbm_args(g, 3 + i, 2 + i, 6, device)) for i in range(4)]
    check(
        submission.rbm_free_energy,
        ebm.rbm_free_energy,
        cases,
        exercise="Exercise 14.4",
        rtol=1e-6,
        atol=1e-6,
    )
    args32 = [t.float() for t in rbm_args(g, 3, 2, 4, device)]
    assert_float32("Exercise 14.4", submission.rbm_free_energy(*args32))


def test_rbm_free_energy_rejects_bad_input(submission: types.ModuleType) -> None:
    v, W, b, c = torch.ones(2, 9), torch.zeros(2, 9), torch.zeros(9), torch.zeros(2)
    cases = [
        Case("v of the wrong width", (torch.ones(2, 4), W, b, c)),
        Case("visible_bias of the wrong shape", (v, W, torch.zeros(2), c)),
        Case("hidden_bias of the wrong shape", (v, W, b, torch.zeros(3))),
        Case("weight on another device", (v, W.to("meta"), b, c)),
    ]
    check_raises(
        submission.rbm_free_energy, ebm.rbm_free_energy, cases, ValueError, exercise="Exercise 14.4"
    )


# ---------------------------------------------------------------------- Exercise 14.5
def test_cd_gradient(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(4)
    cases = []
    for i, (B, B2, H, V) in enumerate([(5, 5, 3, 4), (4, 9, 2, 6), (8, 1, 5, 3), (1, 1, 1, 1)]):
        v_data, W, b, c = rbm_args(g, B, H, V, device)
        cases.append(
            Case(
                f"B={B}, B'={B2}, H={H}, V={V} (#{i})",
                (v_data, bits(g, B2, V, device=device), W, b, c),
            )
        )
    v_data, W, b, c = rbm_args(g, 6, 3, 4, device)
    cases.append(Case("the same batch twice: zero", (v_data, v_data, W, b, c)))
    cases.append(
        Case(
            "probabilities, not bits",
            (
                torch.rand(3, 4, generator=g, dtype=F64).to(device),
                bits(g, 2, 4, device=device),
                W,
                b,
                c,
            ),
        )
    )
    check(
        submission.cd_gradient,
        ebm.cd_gradient,
        cases,
        exercise="Exercise 14.5",
        rtol=1e-10,
        atol=1e-12,
        also_hidden=[ebm.rbm_free_energy_grad],
    )
    v_data, W, b, c = (t.float() for t in rbm_args(g, 3, 2, 4, device))
    grads = submission.cd_gradient(v_data, bits(g, 5, 4, device=device).float(), W, b, c)
    assert_float32("Exercise 14.5", *grads)


# ---------------------------------------------------------------------- Exercise 14.6
def quadratic(x: torch.Tensor) -> torch.Tensor:
    A = torch.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=x.dtype, device=x.device)
    return 0.5 * ((x @ A) * x).sum(-1)


def double_well(x: torch.Tensor) -> torch.Tensor:
    return ((x**2 - 1) ** 2).sum(-1)


def test_langevin_step(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(5)
    x, noise = randn(g, 6, 2, device=device), randn(g, 6, 2, device=device)
    cases = [
        Case("a quadratic energy", (quadratic, x, 0.1, noise)),
        Case("a double well", (double_well, x, 0.01, noise)),
        Case("no noise", (double_well, x, 0.05, torch.zeros_like(x))),
        Case("noise_scale given", (quadratic, x, 0.2, noise), {"noise_scale": 0.01}),
        Case("noise_scale 0", (quadratic, x, 0.2, noise), {"noise_scale": 0.0}),
        Case("float32 chains", (double_well, x.float(), 0.1, noise.float())),
        Case(
            "three dimensions",
            (double_well, randn(g, 4, 3, device=device), 0.3, randn(g, 4, 3, device=device)),
        ),
    ]
    check(
        submission.langevin_step,
        ebm.langevin_step,
        cases,
        exercise="Exercise 14.6",
        rtol=1e-6,
        atol=1e-7,
    )
    assert_float32(
        "Exercise 14.6", submission.langevin_step(double_well, x.float(), 0.1, noise.float())
    )
    out = submission.langevin_step(quadratic, x.requires_grad_(), 0.1, noise)
    assert not out.requires_grad, (
        "Exercise 14.6: return a tensor that does not require grad (detach it)"
    )


def test_langevin_step_rejects_bad_input(submission: types.ModuleType) -> None:
    x = torch.zeros(3, 2)
    cases = [
        Case("negative step", (quadratic, x, -0.1, x)),
        Case("zero step", (quadratic, x, 0.0, x)),
        Case("noise of the wrong shape", (quadratic, x, 0.1, torch.zeros(3))),
        Case("an energy that returns (B, D)", (lambda y: y**2, x, 0.1, x)),
    ]
    check_raises(
        submission.langevin_step, ebm.langevin_step, cases, ValueError, exercise="Exercise 14.6"
    )


# ---------------------------------------------------------------------- Exercise 14.7
COV = torch.tensor([[1.0, 0.6], [0.6, 0.5]], dtype=F64)
MEAN = torch.tensor([1.0, -2.0], dtype=F64)


def gaussian_energy(x: torch.Tensor) -> torch.Tensor:
    d = x - MEAN
    precision: torch.Tensor = torch.linalg.inv(COV)
    return 0.5 * ((d @ precision) * d).sum(-1)


def banana_energy(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * x[:, 0] ** 2 + (x[:, 1] - x[:, 0] ** 2) ** 2 / (2 * 0.5**2)


# exact moments: x1 ~ N(0, 1), x2 = x1^2 + 0.5 z, so E x2 = 1 and Var x2 = 2 + 0.25
TARGETS = {
    "a correlated Gaussian": (gaussian_energy, MEAN, COV.diagonal()),
    "the banana": (
        banana_energy,
        torch.tensor([0.0, 1.0], dtype=F64),
        torch.tensor([1.0, 2.25], dtype=F64),
    ),
}


def run_sampler(submission: types.ModuleType, energy: object, n: int, seed: int) -> torch.Tensor:
    try:
        samples = run_with_timeout(
            submission.sample_energy,
            (energy, n),
            {"generator": torch.Generator().manual_seed(seed)},
            seconds=120,
            what="Exercise 14.7: `sample_energy`",
        )
    except NotImplementedError:
        raise NotImplementedYetError(
            "Exercise 14.7: `sample_energy` is not implemented yet (it raises "
            "NotImplementedError). Replace the `raise NotImplementedError` line in energy.py."
        ) from None
    assert isinstance(samples, torch.Tensor), (
        f"Exercise 14.7: expected a tensor, got {type(samples)}"
    )
    assert samples.shape == (n, 2), (
        f"Exercise 14.7: expected shape ({n}, 2), got {tuple(samples.shape)}"
    )
    assert samples.dtype == F64, f"Exercise 14.7: expected float64 samples, got {samples.dtype}"
    assert bool(torch.isfinite(samples).all()), "Exercise 14.7: some samples are not finite"
    return samples.detach().cpu()


@pytest.mark.parametrize("target", list(TARGETS))
def test_sample_energy_measures_the_right_moments(
    submission: types.ModuleType,
    target: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if request.config.getoption("--solutions") == "student":
        for name in ("sample_energy", "mala_sample", "langevin_sample", "langevin_step"):

            def blocked(*args: object, _name: str = name, **kwargs: object) -> None:
                raise AssertionError(
                    f"Exercise 14.7: dlbook.generative.ebm.{_name} is switched off: "
                    "write your own sampler"
                )

            monkeypatch.setattr(ebm, name, blocked)
    energy, mean, var = TARGETS[target]
    x = run_sampler(submission, energy, 4000, seed=0)  # under the 120 s limit
    got_mean, got_var = x.mean(0), x.var(0)
    assert bool(((got_mean - mean).abs() < 0.1).all()), (
        f"Exercise 14.7 on {target}: sample mean {got_mean.tolist()}, exact {mean.tolist()} "
        "(tolerance 0.1 per coordinate): run the chains longer, or check the sign of the gradient"
    )
    ratio = got_var / var
    assert bool(((ratio - 1).abs() < 0.2).all()), (
        f"Exercise 14.7 on {target}: sample variances {got_var.tolist()}, exact {var.tolist()} "
        "(tolerance 20 %): too small often means the noise is missing or too weak (it must be "
        "sqrt(2 eps) for a step eps); too large, a step size that is too big"
    )
    small = run_sampler(submission, energy, 300, seed=2)
    again = run_sampler(submission, energy, 300, seed=2)
    assert torch.equal(small, again), "Exercise 14.7: two runs with the same generator seed differ"
    other = run_sampler(submission, energy, 300, seed=3)
    assert not torch.equal(small, other), "Exercise 14.7: different seeds give the same samples"
