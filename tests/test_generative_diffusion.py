"""Tests for dlbook.generative.diffusion against Hugging Face diffusers' schedulers, direct
Gaussian conditioning, sampling moments and an exactly solvable (Gaussian) data set."""

from __future__ import annotations

import itertools
import math
from typing import Any

import diffusers
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from diffusers.models.embeddings import get_timestep_embedding
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor

from dlbook.generative import diffusion as D

F64 = torch.float64
# diffusers is untyped to mypy (lazy imports): use its schedulers as Any.
DDPMScheduler: Any = diffusers.DDPMScheduler
DDIMScheduler: Any = diffusers.DDIMScheduler
SETTINGS = settings(max_examples=30, deadline=None)


@pytest.fixture(autouse=True)
def one_thread() -> Any:
    """Small tensors: one thread is fastest, above all on a loaded machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


LINEAR = D.NoiseSchedule.from_betas(D.linear_betas())
# diffusers keeps its schedules in float32: agreement is to float32 rounding (~1e-7 relative,
# a little more after the cumulative product of 1000 factors).
F32_RTOL = 2e-6


def randn(*shape: int, seed: int, dtype: torch.dtype = F64) -> Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# ------------------------------------------------------------------ schedules vs diffusers
@pytest.mark.parametrize(
    ("ours", "name"),
    [(D.linear_betas(), "linear"), (D.cosine_betas(), "squaredcos_cap_v2")],
    ids=["linear", "cosine"],
)
def test_schedule_matches_diffusers(ours: Tensor, name: str) -> None:
    ref = DDPMScheduler(num_train_timesteps=1000, beta_schedule=name, clip_sample=False)
    sched = D.NoiseSchedule.from_betas(ours)
    torch.testing.assert_close(sched.betas, ref.betas.double(), rtol=F32_RTOL, atol=1e-9)
    torch.testing.assert_close(sched.alpha_bar, ref.alphas_cumprod.double(), rtol=1e-5, atol=1e-9)
    # diffusers recovers beta_t as 1 - alpha_bar_t / alpha_bar_{t-1}, which in float32 loses
    # about 6e-8 / beta_t of relative accuracy (4e-4 at t = 3). To test its variance formula
    # and not float32 cancellation, run diffusers' own code on float64 cumulative products.
    ref.alphas_cumprod = sched.alpha_bar
    ref.one = torch.tensor(1.0, dtype=F64)
    expected = torch.stack([ref._get_variance(t) for t in range(1000)])
    torch.testing.assert_close(sched.posterior_variance[1:], expected[1:], rtol=1e-10, atol=0)
    # diffusers clamps the variance at t = 0 (exactly 0) to 1e-20 before taking logs.
    assert sched.posterior_variance[0] == 0 and expected[0] == pytest.approx(1e-20)


def test_linear_schedule_is_the_papers() -> None:
    betas = D.linear_betas()
    assert betas.shape == (1000,) and betas.dtype == F64
    assert betas[0].item() == pytest.approx(1e-4, rel=1e-14)
    assert betas[-1].item() == pytest.approx(0.02, rel=1e-14)
    torch.testing.assert_close(betas.diff(), torch.full((999,), (0.02 - 1e-4) / 999, dtype=F64))


def test_cosine_alpha_bar_follows_its_formula() -> None:
    sched = D.NoiseSchedule.from_betas(D.cosine_betas())
    u = torch.arange(1, 1001, dtype=F64) / 1000
    f = (
        torch.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2
        / math.cos(0.008 / 1.008 * math.pi / 2) ** 2
    )
    # Equal until the 0.999 clip bites at the very end.
    torch.testing.assert_close(sched.alpha_bar[:990], f[:990], rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------------ the forward process
def test_q_sample_matches_diffusers_add_noise(device: torch.device) -> None:
    ref = DDPMScheduler(num_train_timesteps=1000, clip_sample=False)
    x0, noise = randn(6, 3, seed=0, dtype=torch.float32), randn(6, 3, seed=1, dtype=torch.float32)
    t = torch.tensor([0, 1, 10, 500, 998, 999])
    expected = ref.add_noise(x0, noise, t)
    sched = LINEAR.to(device)
    got = D.q_sample(x0.to(device), t.to(device), sched.alpha_bar, noise.to(device))
    assert got.dtype == torch.float32 and got.device == x0.to(device).device
    torch.testing.assert_close(got.cpu(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("t", [0, 9, 99])
def test_closed_form_matches_the_moments_of_iterated_noising(t: int) -> None:
    # Push 20,000 copies of a fixed x0 through t + 1 single steps; the sample mean and
    # variance must match sqrt(alpha_bar) x0 and 1 - alpha_bar within 5 standard errors.
    n = 20_000
    x0 = torch.tensor([1.5, -0.7], dtype=F64)
    x = x0.expand(n, 2).clone()
    g = torch.Generator().manual_seed(t)
    for s in range(t + 1):
        x = D.q_step(x, s, LINEAR.betas, torch.randn(n, 2, generator=g, dtype=F64))
    ab = LINEAR.alpha_bar[t]
    mean, var = ab.sqrt() * x0, 1 - ab
    se_mean = (var / n).sqrt()
    se_var = var * math.sqrt(2 / (n - 1))
    assert ((x.mean(0) - mean).abs() < 5 * se_mean).all()
    assert ((x.var(0) - var).abs() < 5 * se_var).all()
    # And the closed form itself, fed the same number of draws, agrees in distribution.
    direct = D.q_sample(
        x0.expand(n, 2), t, LINEAR.alpha_bar, torch.randn(n, 2, generator=g, dtype=F64)
    )
    assert ((direct.mean(0) - x.mean(0)).abs() < 5 * math.sqrt(2) * se_mean).all()


def test_iterated_steps_compose_to_the_closed_form_exactly() -> None:
    # With the same noise in every coordinate direction unrolled, x_t = c x0 + sum_k a_k eps_k;
    # the coefficient of x0 is prod sqrt(alpha) and the noise variance sum a_k^2 = 1 - alpha_bar.
    t = 49
    eye = torch.eye(t + 2, dtype=F64)  # column 0 carries x0, column k + 1 the k-th noise
    x = eye[0].expand(1, -1).clone()
    for s in range(t + 1):
        x = D.q_step(x, s, LINEAR.betas, math.sqrt(1.0) * eye[s + 1][None] * 1.0)
    coef_x0, coef_noise = x[0, 0], x[0, 1:]
    torch.testing.assert_close(coef_x0, LINEAR.alpha_bar[t].sqrt(), rtol=1e-13, atol=0)
    torch.testing.assert_close((coef_noise**2).sum(), 1 - LINEAR.alpha_bar[t], rtol=1e-12, atol=0)


# ------------------------------------------------------------------ the posterior
@pytest.mark.parametrize("t", [1, 5, 300, 999])
def test_posterior_matches_direct_gaussian_conditioning(t: int) -> None:
    # Joint of (x_{t-1}, x_t) given x0 in D = 3 dimensions, conditioned by the Schur
    # complement with a linear solve: no formula from the module is used.
    d = 3
    x0, x_t = randn(1, d, seed=t), randn(1, d, seed=t + 1)
    ab_prev, beta = LINEAR.alpha_bar[t - 1], LINEAR.betas[t]
    alpha = 1 - beta
    eye = torch.eye(d, dtype=F64)
    m1, m2 = ab_prev.sqrt() * x0[0], alpha.sqrt() * ab_prev.sqrt() * x0[0]
    S11 = (1 - ab_prev) * eye
    S12 = alpha.sqrt() * (1 - ab_prev) * eye
    S22 = (alpha * (1 - ab_prev) + beta) * eye
    mean = m1 + S12 @ torch.linalg.solve(S22, x_t[0] - m2)
    cov = S11 - S12 @ torch.linalg.solve(S22, S12.T)
    got_mean, got_var = D.q_posterior(x0, x_t, t, LINEAR)
    torch.testing.assert_close(got_mean[0], mean, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(got_var[0] * eye, cov, rtol=1e-10, atol=1e-15)


def test_posterior_at_the_first_step_is_x0() -> None:
    x0, x_t = randn(4, 2, seed=0), randn(4, 2, seed=1)
    mean, var = D.q_posterior(x0, x_t, 0, LINEAR)
    # The coefficient beta_1 / (1 - alpha_1) is 1 up to the rounding of 1 - (1 - 1e-4): ~1e-12.
    torch.testing.assert_close(mean, x0, rtol=1e-11, atol=1e-15)
    assert (var == 0).all()


# ------------------------------------------------------------------ one sampler step vs diffusers
@pytest.mark.parametrize("t", [999, 500, 1, 0])
def test_ddpm_step_matches_diffusers(t: int) -> None:
    ref = DDPMScheduler(num_train_timesteps=1000, clip_sample=False)
    x_t, eps = randn(5, 4, seed=2, dtype=torch.float32), randn(5, 4, seed=3, dtype=torch.float32)
    expected = ref.step(eps, t, x_t, generator=torch.Generator().manual_seed(7)).prev_sample
    noise = torch.randn(5, 4, generator=torch.Generator().manual_seed(7), dtype=torch.float32)
    got = D.ddpm_step(x_t, t, eps, LINEAR, noise)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)  # float32, see F32_RTOL


@pytest.mark.parametrize("eta", [0.0, 1.0, 0.3])
def test_ddim_steps_and_timesteps_match_diffusers(eta: float) -> None:
    ref = DDIMScheduler(num_train_timesteps=1000, clip_sample=False, set_alpha_to_one=True)
    ref.set_timesteps(20)
    taus = D.ddim_timesteps(1000, 20)
    assert taus == ref.timesteps.tolist()
    x = randn(5, 3, seed=4, dtype=torch.float32)
    for i, t in enumerate(taus[:4] + taus[-2:]):
        eps = randn(5, 3, seed=10 + i, dtype=torch.float32)
        z = randn(5, 3, seed=20 + i, dtype=torch.float32)
        expected = ref.step(eps, t, x, eta=eta, variance_noise=z).prev_sample
        t_prev = max(t - 1000 // 20, -1)  # diffusers: any negative step means alpha_bar = 1
        got = D.ddim_step(x, t, t_prev, eps, LINEAR.alpha_bar, eta=eta, noise=z)
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_ddim_with_eta_one_and_unit_stride_is_the_ddpm_step() -> None:
    x_t, eps, z = randn(3, 2, seed=5), randn(3, 2, seed=6), randn(3, 2, seed=7)
    for t in (1, 40, 999):
        a = D.ddim_step(x_t, t, t - 1, eps, LINEAR.alpha_bar, eta=1.0, noise=z)
        b = D.ddpm_step(x_t, t, eps, LINEAR, z)
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-13)


def test_timestep_embedding_matches_diffusers() -> None:
    t = torch.tensor([0, 1, 17, 500, 999])
    for dim in (4, 32, 64):
        torch.testing.assert_close(
            D.timestep_embedding(t, dim), get_timestep_embedding(t, dim), rtol=1e-5, atol=1e-5
        )


def test_denoising_loss_is_the_mse_of_the_noise() -> None:
    ref = DDPMScheduler(num_train_timesteps=1000, clip_sample=False)
    x0, noise = randn(8, 3, seed=8, dtype=torch.float32), randn(8, 3, seed=9, dtype=torch.float32)
    t = torch.arange(8) * 120

    def model(x: Tensor, steps: Tensor) -> Tensor:
        return 0.5 * x + 1e-3 * steps[:, None]

    expected = F.mse_loss(model(ref.add_noise(x0, noise, t), t), noise)
    got = D.denoising_loss(model, x0, t, noise, LINEAR.alpha_bar)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ samplers on solvable data
def gaussian_oracle(s2: float, alpha_bar: Tensor) -> Any:
    """The exact optimal noise predictor when x0 ~ N(0, s2 I): E[eps | x_t]."""

    def eps(x: Tensor, t: Tensor) -> Tensor:
        ab = alpha_bar.to(x.device)[t].to(x.dtype)[:, None]
        return (1 - ab).sqrt() * x / (ab * s2 + 1 - ab)

    return eps


@pytest.mark.parametrize("sampler", ["ddpm", "ddim"])
def test_samplers_with_the_exact_noise_predictor_recover_the_data_distribution(
    sampler: str, device: torch.device
) -> None:
    s2, n = 0.25, 2000
    oracle = gaussian_oracle(s2, LINEAR.alpha_bar)
    g = torch.Generator().manual_seed(0)
    if sampler == "ddpm":
        x = D.ddpm_sample(oracle, (n, 2), LINEAR, generator=g, device=device, dtype=F64)
    else:
        x = D.ddim_sample(oracle, (n, 2), LINEAR, 50, generator=g, device=device, dtype=F64)
    assert x.device.type == device.type and x.dtype == F64
    se = s2 * math.sqrt(2 / n)
    assert ((x.var(0) - s2).abs() < 5 * se).all()
    assert (x.mean(0).abs() < 5 * math.sqrt(s2 / n)).all()


def test_ddim_with_the_true_noise_inverts_the_forward_process() -> None:
    x0, eps = randn(10, 2, seed=11), randn(10, 2, seed=12)
    x_t = D.q_sample(x0, 999, LINEAR.alpha_bar, eps)
    torch.testing.assert_close(
        D.ddim_step(x_t, 999, -1, eps, LINEAR.alpha_bar), x0, rtol=1e-9, atol=1e-9
    )


def test_sampling_is_reproducible() -> None:
    sched = D.NoiseSchedule.from_betas(D.linear_betas(100))
    torch.manual_seed(0)
    model = D.DDPM(D.EpsilonMLP(2, hidden=16), sched, 2)
    a = model.sample(7, generator=torch.Generator().manual_seed(3))
    b = model.sample(7, generator=torch.Generator().manual_seed(3))
    c = model.sample(7, generator=torch.Generator().manual_seed(3), num_steps=10)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert a.shape == c.shape == (7, 2)


def test_training_approaches_the_analytic_minimum_of_the_loss() -> None:
    # For x0 ~ N(0, I), E[eps | x_t] = sqrt(1 - alpha_bar) x_t and the least possible loss is
    # the mean of alpha_bar over t (the residual variance). Training must get near it and no
    # network can beat it (beyond sampling error).
    sched = D.NoiseSchedule.from_betas(D.linear_betas(100))
    floor = sched.alpha_bar.mean().item()
    torch.manual_seed(0)
    model = D.EpsilonMLP(2, hidden=32, num_layers=2)
    X = randn(4096, 2, seed=13, dtype=torch.float32)
    losses = D.train_ddpm(
        model, X, sched, steps=200, batch_size=128, generator=torch.Generator().manual_seed(0)
    )
    n = 20_000
    x0, noise = randn(n, 2, seed=14, dtype=torch.float32), randn(n, 2, seed=15, dtype=torch.float32)
    t = torch.randint(0, 100, (n,), generator=torch.Generator().manual_seed(16))
    ab = sched.alpha_bar.float()
    with torch.no_grad():
        trained = D.denoising_loss(model, x0, t, noise, ab).item()
    oracle = D.denoising_loss(lambda x, s: (1 - ab[s])[:, None].sqrt() * x, x0, t, noise, ab).item()
    se = 0.02  # the per-example squared errors have a standard deviation below 2: 2/sqrt(n) < 0.02
    assert abs(oracle - floor) < se
    assert oracle - se < trained < oracle + 0.1
    assert len(losses) == 200 and sum(losses[:10]) / 10 > 0.9  # an untrained net predicts ~0


def test_quadratic_timesteps_follow_the_ddim_code() -> None:
    # Song et al.'s "quad" skip type: (linspace(0, sqrt(0.8 T), S) ** 2).astype(int), reversed.
    for s in (2, 5, 8, 10, 20):
        expected = (np.linspace(0, np.sqrt(1000 * 0.8), s) ** 2).astype(int)[::-1].tolist()
        assert D.quadratic_timesteps(1000, s) == expected
    steps = D.quadratic_timesteps(10, 8)  # rounding would repeat steps: kept strictly decreasing
    assert steps[-1] == 0 and all(a > b for a, b in itertools.pairwise(steps)) and len(steps) == 8


def test_few_quadratic_steps_beat_even_steps_with_the_exact_predictor() -> None:
    # Two narrow modes at +-1 (std 0.05); the exact E[eps | x_t] of the mixture; 5 DDIM steps.
    mus, sd = torch.tensor([-1.0, 1.0], dtype=F64), 0.05

    def oracle(x: Tensor, t: Tensor) -> Tensor:
        ab = LINEAR.alpha_bar[t][:, None]
        var = ab * sd**2 + 1 - ab
        w = torch.softmax(-0.5 * (x - ab.sqrt() * mus) ** 2 / var, dim=1)
        return (w * (1 - ab).sqrt() * (x - ab.sqrt() * mus) / var).sum(1, keepdim=True)

    def share(taus: list[int]) -> float:
        x = randn(4000, 1, seed=0)
        for i, t in enumerate(taus):
            t_prev = taus[i + 1] if i + 1 < len(taus) else -1
            x = D.ddim_step(x, t, t_prev, oracle(x, torch.full((4000,), t)), LINEAR.alpha_bar)
        return ((x - mus).abs().min(1).values <= 3 * sd).double().mean().item()

    assert share(D.quadratic_timesteps(1000, 5)) > 0.9 > 0.6 > share(D.ddim_timesteps(1000, 5))


# ------------------------------------------------------------------ bad input
Z = torch.zeros(3, 2)
BAD: list[tuple[str, Any, dict[str, Any], type[Exception], str]] = [
    (
        "t too large",
        D.q_sample,
        {"x0": Z, "t": 1000, "alpha_bar": LINEAR.alpha_bar.float(), "noise": Z},
        ValueError,
        "0..999",
    ),
    (
        "negative t",
        D.q_sample,
        {"x0": Z, "t": torch.tensor([-1, 0, 0]), "alpha_bar": LINEAR.alpha_bar, "noise": Z},
        ValueError,
        "0..999",
    ),
    (
        "float t",
        D.q_sample,
        {"x0": Z, "t": torch.zeros(3), "alpha_bar": LINEAR.alpha_bar, "noise": Z},
        TypeError,
        "integers",
    ),
    (
        "t of the wrong length",
        D.q_sample,
        {
            "x0": Z,
            "t": torch.zeros(2, dtype=torch.int64),
            "alpha_bar": LINEAR.alpha_bar,
            "noise": Z,
        },
        ValueError,
        r"\(3,\)",
    ),
    (
        "integer x0",
        D.q_sample,
        {"x0": Z.long(), "t": 0, "alpha_bar": LINEAR.alpha_bar, "noise": Z},
        TypeError,
        "floating",
    ),
    (
        "noise of the wrong shape",
        D.q_sample,
        {"x0": Z, "t": 0, "alpha_bar": LINEAR.alpha_bar, "noise": torch.zeros(3, 3)},
        ValueError,
        "noise",
    ),
    (
        "noise on another device",
        D.q_step,
        {"x_prev": Z, "t": 0, "betas": LINEAR.betas, "noise": torch.zeros(3, 2, device="meta")},
        ValueError,
        "meta",
    ),
    (
        "x_t of the wrong shape",
        D.q_posterior,
        {"x0": Z, "x_t": torch.zeros(2, 2), "t": 3, "schedule": LINEAR},
        ValueError,
        "x_t",
    ),
    (
        "2-D betas table",
        D.q_step,
        {"x_prev": Z, "t": 0, "betas": torch.zeros(2, 2), "noise": Z},
        ValueError,
        r"\(T,\)",
    ),
    (
        "t_prev not below t",
        D.ddim_step,
        {"x_t": Z, "t": 5, "t_prev": 5, "eps": Z, "alpha_bar": LINEAR.alpha_bar},
        ValueError,
        "t_prev",
    ),
    (
        "negative eta",
        D.ddim_step,
        {"x_t": Z, "t": 5, "t_prev": 4, "eps": Z, "alpha_bar": LINEAR.alpha_bar, "eta": -1.0},
        ValueError,
        "eta",
    ),
    (
        "eta without noise",
        D.ddim_step,
        {"x_t": Z, "t": 5, "t_prev": 4, "eps": Z, "alpha_bar": LINEAR.alpha_bar, "eta": 1.0},
        ValueError,
        "noise",
    ),
    (
        "ddpm step without noise",
        D.ddpm_step,
        {"x_t": Z, "t": 5, "eps": Z, "schedule": LINEAR},
        ValueError,
        "noise",
    ),
    ("T of 1", D.linear_betas, {"T": 1}, ValueError, "T"),
    (
        "decreasing betas",
        D.linear_betas,
        {"beta_start": 0.1, "beta_end": 0.01},
        ValueError,
        "beta_start",
    ),
    ("zero DDIM steps", D.ddim_timesteps, {"T": 1000, "num_steps": 0}, ValueError, "num_steps"),
    (
        "odd embedding size",
        D.timestep_embedding,
        {"t": torch.arange(3), "dim": 5},
        ValueError,
        "dim",
    ),
]


@pytest.mark.parametrize(("name", "fn", "kwargs", "error", "match"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_rejected_clearly(
    name: str, fn: Any, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        fn(**kwargs)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64])
def test_every_integer_step_dtype_works(dtype: torch.dtype) -> None:
    x0, noise = randn(3, 2, seed=14), randn(3, 2, seed=15)
    t = torch.tensor([0, 7, 100], dtype=dtype)
    expected = D.q_sample(x0, torch.tensor([0, 7, 100]), LINEAR.alpha_bar, noise)
    torch.testing.assert_close(D.q_sample(x0, t, LINEAR.alpha_bar, noise), expected, rtol=0, atol=0)


def test_non_contiguous_input_works() -> None:
    x0 = randn(2, 5, seed=16).T  # (5, 2), not contiguous
    noise = randn(5, 2, seed=17)
    got = D.q_sample(x0, 10, LINEAR.alpha_bar, noise)
    torch.testing.assert_close(got, D.q_sample(x0.contiguous(), 10, LINEAR.alpha_bar, noise))


# ------------------------------------------------------------------ laws
@SETTINGS
@given(t=st.integers(1, 999), which=st.sampled_from(["linear", "cosine"]))
def test_law_posterior_variance_lies_between_zero_and_beta(t: int, which: str) -> None:
    sched = LINEAR if which == "linear" else D.NoiseSchedule.from_betas(D.cosine_betas())
    assert 0 < sched.posterior_variance[t] <= sched.betas[t]


@SETTINGS
@given(t=st.integers(0, 999), seed=st.integers(0, 2**16))
def test_law_predict_x0_inverts_q_sample(t: int, seed: int) -> None:
    x0, eps = randn(3, 2, seed=seed), randn(3, 2, seed=seed + 1)
    x_t = D.q_sample(x0, t, LINEAR.alpha_bar, eps)
    # Dividing by sqrt(alpha_bar) ~ 6e-3 at t = 999 amplifies rounding by ~1/sqrt(alpha_bar).
    tol = 1e-14 / LINEAR.alpha_bar[t].sqrt().item()
    torch.testing.assert_close(
        D.predict_x0(x_t, t, eps, LINEAR.alpha_bar), x0, rtol=0, atol=10 * tol
    )
