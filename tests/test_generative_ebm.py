"""Tests for dlbook.generative.ebm against closed forms, brute force, autograd and SciPy."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlbook.generative import ebm

F64 = torch.float64


def rng(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def random_rbm(H: int, V: int, seed: int, scale: float = 1.0) -> tuple[torch.Tensor, ...]:
    g = rng(seed)
    return (
        scale * torch.randn(H, V, generator=g, dtype=F64),
        scale * torch.randn(V, generator=g, dtype=F64),
        scale * torch.randn(H, generator=g, dtype=F64),
    )


def all_states(n: int) -> np.ndarray:
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


# ------------------------------------------------------------------ Boltzmann distributions
@pytest.mark.parametrize(
    ("n", "J", "h", "T"), [(6, 1.0, 0.0, 1.0), (10, 0.7, 0.3, 0.5), (8, -0.4, 1.2, 2.0)]
)
def test_log_partition_matches_the_ising_transfer_matrix(
    n: int, J: float, h: float, T: float
) -> None:
    # A ring of n spins, E(s) = -J sum_i s_i s_{i+1} - h sum_i s_i, is a Hopfield energy with
    # W_{i,i+1} = W_{i+1,i} = J and b = h. Its Z is tr(M^n) with M the 2x2 transfer matrix.
    W = torch.zeros(n, n, dtype=F64)
    for i in range(n):
        W[i, (i + 1) % n] = W[(i + 1) % n, i] = J
    b = torch.full((n,), h, dtype=F64)
    s = torch.tensor(list(itertools.product([-1.0, 1.0], repeat=n)), dtype=F64)
    log_z = ebm.log_partition(ebm.hopfield_energy(W, s, b), temperature=T)
    beta = 1 / T
    M = np.array(
        [
            [math.exp(beta * (J + h)), math.exp(-beta * J)],
            [math.exp(-beta * J), math.exp(beta * (J - h))],
        ]
    )
    expected = math.log(np.trace(np.linalg.matrix_power(M, n)))
    assert float(log_z) == pytest.approx(expected, rel=1e-12)


def test_boltzmann_ratios_and_limits() -> None:
    E = torch.tensor([0.0, 1.0, 2.5, 1.0], dtype=F64)
    for T in (0.3, 1.0, 7.0):
        p = ebm.boltzmann(E, T)
        assert float(p.sum()) == pytest.approx(1.0, abs=1e-14)
        assert float(p[1] / p[2]) == pytest.approx(math.exp(1.5 / T), rel=1e-12)
        assert float(torch.log(p[0]) + ebm.log_partition(E, T)) == pytest.approx(0.0, abs=1e-12)
    assert torch.allclose(ebm.boltzmann(E, 1e-3), torch.tensor([1.0, 0, 0, 0], dtype=F64))
    assert torch.allclose(ebm.boltzmann(E, 1e6), torch.full((4,), 0.25, dtype=F64), atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("scale", [1e4, 1e8])
def test_boltzmann_at_extreme_energies(dtype: torch.dtype, scale: float) -> None:
    E = torch.tensor([scale, scale + 1, -scale], dtype=dtype)
    p = ebm.boltzmann(E)
    assert torch.equal(p, torch.tensor([0.0, 0.0, 1.0], dtype=dtype))
    assert float(ebm.log_partition(E)) == pytest.approx(scale, rel=1e-6)


# ------------------------------------------------------------------ Hopfield networks
def test_hebbian_weights_match_a_sum_of_outer_products() -> None:
    g = rng(0)
    xi = torch.where(torch.rand(5, 12, generator=g) < 0.5, -1.0, 1.0).to(F64)
    expected = np.einsum("pi,pj->ij", xi.numpy(), xi.numpy()) / 12
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(ebm.hebbian_weights(xi).numpy(), expected, rtol=0, atol=1e-15)


def test_hopfield_energy_matches_the_formula(device: torch.device) -> None:
    g = rng(1)
    A = torch.randn(7, 7, generator=g, dtype=F64)
    W, b = A + A.T, torch.randn(7, generator=g, dtype=F64)
    s = torch.where(torch.rand(9, 7, generator=g) < 0.5, -1.0, 1.0).to(F64)
    expected = [-0.5 * x @ W.numpy() @ x - b.numpy() @ x for x in s.numpy()]
    got = ebm.hopfield_energy(W.to(device), s.to(device), b.to(device))
    assert got.device.type == device.type
    np.testing.assert_allclose(got.cpu().numpy(), expected, rtol=1e-13)
    assert float(ebm.hopfield_energy(W, s[0])) == pytest.approx(-0.5 * float(s[0] @ W @ s[0]))


def python_sweep(W: np.ndarray, s: np.ndarray, order: list[int], b: np.ndarray) -> np.ndarray:
    s = s.copy()
    for i in order:
        h = sum(W[i, j] * s[j] for j in range(len(s))) + b[i]
        s[i] = 1.0 if h > 0 else (-1.0 if h < 0 else s[i])
    return s


def test_hopfield_sweep_matches_a_plain_loop_and_keeps_ties() -> None:
    g = rng(2)
    A = torch.randint(-2, 3, (6, 6), generator=g).to(F64)
    W = (A + A.T).fill_diagonal_(0.0)  # integer weights: ties h = 0 happen
    b = torch.zeros(6, dtype=F64)
    s = torch.where(torch.rand(20, 6, generator=g) < 0.5, -1.0, 1.0).to(F64)
    order = torch.randint(0, 6, (15,), generator=g)
    got = ebm.hopfield_sweep(W, s, order, b)
    for row, out in zip(s.numpy(), got.numpy(), strict=True):
        np.testing.assert_array_equal(out, python_sweep(W.numpy(), row, order.tolist(), b.numpy()))
    # a lone unit with zero field keeps its value, whatever it is
    for value in (-1.0, 1.0):
        start = torch.tensor([value, 1.0], dtype=F64)
        assert (
            ebm.hopfield_sweep(torch.zeros(2, 2, dtype=F64), start, torch.tensor([0]))[0] == value
        )


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 10),
    seed=st.integers(0, 2**31 - 1),
    steps=st.integers(1, 30),
    diagonal=st.booleans(),
)
def test_asynchronous_updates_never_raise_the_energy(
    n: int, seed: int, steps: int, diagonal: bool
) -> None:
    g = rng(seed)
    A = torch.randn(n, n, generator=g, dtype=F64)
    W = A + A.T
    W.diagonal().copy_(torch.rand(n, generator=g, dtype=F64) if diagonal else torch.zeros(n))
    b = torch.randn(n, generator=g, dtype=F64)
    s = torch.where(torch.rand(4, n, generator=g) < 0.5, -1.0, 1.0).to(F64)
    order = torch.randint(0, n, (steps,), generator=g)
    energy = ebm.hopfield_energy(W, s, b)
    for i in order:
        s = ebm.hopfield_sweep(W, s, i.reshape(1), b)
        new = ebm.hopfield_energy(W, s, b)
        assert bool((new <= energy + 1e-12).all()), (energy, new)
        energy = new


def test_hopfield_recall_ends_at_a_fixed_point_and_retrieves_at_low_load() -> None:
    g = rng(3)
    N, P = 200, 6
    xi = torch.where(torch.rand(P, N, generator=g) < 0.5, -1.0, 1.0).to(F64)
    W = ebm.hebbian_weights(xi)
    flips = torch.where(torch.rand(P, N, generator=g) < 0.1, -1.0, 1.0).to(F64)
    s, sweeps = ebm.hopfield_recall(W, xi * flips, generator=g)
    assert sweeps < 100
    assert bool(((s @ W) * s >= 0).all()), "every unit agrees with its field at a fixed point"
    assert torch.equal(s, xi), "6 patterns in 200 units are retrieved from 10 % noise"


# ------------------------------------------------------------------ RBMs
def test_rbm_energy_and_free_energy_match_brute_force() -> None:
    W, b, c = random_rbm(3, 4, seed=4)
    v = torch.tensor(all_states(4), dtype=F64)
    h = torch.tensor(all_states(3), dtype=F64)
    Wn, bn, cn = W.numpy(), b.numpy(), c.numpy()
    for vi in v:
        energies = ebm.rbm_energy(vi.expand(8, 4), h, W, b, c)
        expected = [-(bn @ vi.numpy()) - cn @ hj - hj @ Wn @ vi.numpy() for hj in h.numpy()]
        np.testing.assert_allclose(energies.numpy(), expected, rtol=1e-13)
        free = -np.log(np.exp(-np.array(expected)).sum())
        got = ebm.rbm_free_energy(vi[None], W, b, c)
        assert float(got) == pytest.approx(free, rel=1e-12)


@pytest.mark.parametrize(("H", "V"), [(3, 5), (5, 3)])
def test_rbm_log_partition_and_likelihood_match_full_enumeration(H: int, V: int) -> None:
    W, b, c = random_rbm(H, V, seed=5)
    Wn, bn, cn = W.numpy(), b.numpy(), c.numpy()
    terms = [-(-(bn @ v) - cn @ h - h @ Wn @ v) for v in all_states(V) for h in all_states(H)]
    expected = scipy.special.logsumexp(terms)
    assert float(ebm.rbm_log_partition(W, b, c)) == pytest.approx(expected, rel=1e-12)
    log_p = ebm.rbm_log_likelihood(torch.tensor(all_states(V)), W, b, c)
    assert float(torch.logsumexp(log_p, 0)) == pytest.approx(0.0, abs=1e-12)


def test_free_energy_gradient_matches_autograd_and_finite_differences(device: torch.device) -> None:
    params = [p.to(device).requires_grad_() for p in random_rbm(4, 6, seed=6)]
    v = (torch.rand(9, 6, generator=rng(7), dtype=F64) < 0.5).to(F64).to(device)
    closed = ebm.rbm_free_energy_grad(v, *[p.detach() for p in params])
    auto = torch.autograd.grad(ebm.rbm_free_energy(v, *params).mean(), params)
    for c_, a in zip(closed, auto, strict=True):
        assert c_.device.type == device.type
        torch.testing.assert_close(c_, a, rtol=1e-12, atol=1e-14)
    assert torch.autograd.gradcheck(lambda W, b, c: ebm.rbm_free_energy(v, W, b, c), tuple(params))


def test_log_likelihood_gradient_is_data_minus_model_free_energy_gradient() -> None:
    # d(-mean log p(v_data))/dtheta = mean grad F(data) - E_model[grad F(v)]: the identity CD
    # approximates, checked with the exact model expectation over all 2^V states.
    W, b, c = (p.requires_grad_() for p in random_rbm(3, 5, seed=8))
    v_data = (torch.rand(7, 5, generator=rng(9), dtype=F64) < 0.5).to(F64)
    auto = torch.autograd.grad(-ebm.rbm_log_likelihood(v_data, W, b, c).mean(), (W, b, c))
    states = torch.tensor(all_states(5))
    with torch.no_grad():
        p = ebm.rbm_log_likelihood(states, W, b, c).exp()
        positive = ebm.rbm_free_energy_grad(v_data, W, b, c)
        p_h = torch.sigmoid(states @ W.T + c)
        model = (-(p_h * p[:, None]).T @ states, -(p @ states), -(p @ p_h))
    for a, pos, mod in zip(auto, positive, model, strict=True):
        torch.testing.assert_close(a, pos - mod, rtol=1e-10, atol=1e-12)
    # cd_gradient is the same difference for two batches
    v_model = (torch.rand(11, 5, generator=rng(10), dtype=F64) < 0.5).to(F64)
    got = ebm.cd_gradient(v_data, v_model, W.detach(), b.detach(), c.detach())
    negative = ebm.rbm_free_energy_grad(v_model, W.detach(), b.detach(), c.detach())
    for gr, pos, neg in zip(got, positive, negative, strict=True):
        torch.testing.assert_close(gr, pos - neg)


def test_gibbs_chains_reach_the_exact_distribution() -> None:
    W, b, c = random_rbm(2, 3, seed=11)
    g = rng(12)
    v = torch.zeros(20000, 3, dtype=F64)
    for _ in range(30):
        v, _h = ebm.gibbs_step(v, W, b, c, generator=g)
    codes = (v @ torch.tensor([4.0, 2.0, 1.0], dtype=F64)).long()
    observed = torch.bincount(codes, minlength=8).numpy()
    exact = ebm.rbm_log_likelihood(torch.tensor(all_states(3)), W, b, c).exp().numpy()
    # 20,000 independent chains: a chi-square test at level 1e-4 (fails by chance 1 in 10^4)
    assert scipy.stats.chisquare(observed, exact * observed.sum()).pvalue > 1e-4


def test_train_rbm_raises_the_exact_likelihood() -> None:
    g = rng(13)
    data = torch.tensor([[1, 1, 0, 0, 1, 1], [0, 0, 1, 1, 0, 0]] * 10, dtype=torch.float32)
    rbm = ebm.RBM(6, 3, generator=g)
    with torch.no_grad():
        before = float(rbm.log_likelihood(data).mean())
    errors = ebm.train_rbm(rbm, data, epochs=100, batch_size=5, lr=0.5, generator=g, k=1)
    with torch.no_grad():
        after = float(rbm.log_likelihood(data).mean())
    assert len(errors) == 100 and errors[-1] < errors[0]
    assert after > before + 1.5, (before, after)  # two patterns: the optimum is -log 2
    samples = rbm.sample(500, generator=g, steps=50)
    assert samples.shape == (500, 6) and set(samples.unique().tolist()) <= {0.0, 1.0}


def test_rbm_free_energy_is_exact_at_extreme_inputs() -> None:
    for dtype in (torch.float32, torch.float64):
        for scale in (1e4, 1e8):
            W = torch.full((2, 3), scale, dtype=dtype)
            v = torch.ones(1, 3, dtype=dtype)
            F = ebm.rbm_free_energy(v, W, torch.zeros(3, dtype=dtype), torch.zeros(2, dtype=dtype))
            assert float(F) == pytest.approx(-6 * scale, rel=1e-6)
            F = ebm.rbm_free_energy(v, -W, torch.zeros(3, dtype=dtype), torch.zeros(2, dtype=dtype))
            assert float(F) == pytest.approx(0.0, abs=1e-6)


def test_rbm_module_agrees_with_the_functions_and_handles_non_contiguous_input() -> None:
    rbm = ebm.RBM(5, 4, generator=rng(14)).double()
    v = (torch.rand(6, 10, generator=rng(15), dtype=F64) < 0.5).to(F64)[:, ::2]
    assert not v.is_contiguous()
    expected = ebm.rbm_free_energy(v.contiguous(), rbm.weight, rbm.visible_bias, rbm.hidden_bias)
    torch.testing.assert_close(rbm(v), expected)
    assert set(rbm.state_dict()) == {"weight", "visible_bias", "hidden_bias"}


# ------------------------------------------------------------------ Langevin dynamics
def quadratic(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * (x**2).sum(-1)


def test_langevin_step_is_the_update_formula() -> None:
    x = torch.randn(5, 2, generator=rng(16), dtype=F64)
    noise = torch.randn(5, 2, generator=rng(17), dtype=F64)
    A = torch.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=F64)
    got = ebm.langevin_step(lambda y: 0.5 * ((y @ A) * y).sum(-1), x, 0.1, noise)
    torch.testing.assert_close(got, x - 0.1 * x @ A + math.sqrt(0.2) * noise)
    got = ebm.langevin_step(quadratic, x, 0.1, noise, noise_scale=0.0)
    torch.testing.assert_close(got, 0.9 * x)


def test_unadjusted_langevin_has_its_known_bias_and_mala_removes_it() -> None:
    # On E = x^2/2, ULA is x' = (1 - eps) x + sqrt(2 eps) xi: stationary variance 2/(2 - eps).
    eps, n = 0.5, 20000
    g = rng(18)
    x = ebm.langevin_sample(
        quadratic, torch.zeros(n, 1, dtype=F64), steps=60, step_size=eps, generator=g
    )
    se = math.sqrt(2 / (n - 1)) * (2 / (2 - eps))  # standard error of a Gaussian variance
    assert abs(float(x.var()) - 2 / (2 - eps)) < 4 * se
    y, rate = ebm.mala_sample(
        quadratic, torch.zeros(n, 1, dtype=F64), steps=60, step_size=eps, generator=g
    )
    assert abs(float(y.var()) - 1.0) < 4 * math.sqrt(2 / (n - 1))
    assert 0.5 < float(rate.mean()) < 1.0


def test_mala_samples_a_gaussian_mixture() -> None:
    weights = torch.tensor([0.3, 0.7], dtype=F64)
    means = torch.tensor([[-1.0, 0.0], [1.0, 0.5]], dtype=F64)
    covs = torch.stack(
        [torch.eye(2, dtype=F64) * 0.5, torch.tensor([[0.6, 0.2], [0.2, 0.4]], dtype=F64)]
    )
    mixture = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(weights),
        torch.distributions.MultivariateNormal(means, covs),
    )

    def energy(x: torch.Tensor) -> torch.Tensor:
        log_p: torch.Tensor = mixture.log_prob(x)
        return -log_p

    n = 3000
    x = ebm.sample_energy(energy, n, generator=rng(19), steps=150, step_size=0.2)
    mean = weights @ means
    second = sum(w * (S + torch.outer(m, m)) for w, m, S in zip(weights, means, covs, strict=True))
    cov = second - torch.outer(mean, mean)
    se = (cov.diagonal() / n).sqrt()
    assert bool(((x.mean(0) - mean).abs() < 4 * se).all()), (x.mean(0), mean)
    torch.testing.assert_close(torch.cov(x.T), cov, atol=0.06, rtol=0)  # ~4 standard errors
    # the first coordinate's marginal is a 1-D mixture with a CDF in closed form: KS test
    sd = covs[:, 0, 0].sqrt().numpy()

    def cdf(t: np.ndarray) -> np.ndarray:
        return np.asarray(
            sum(
                w * scipy.stats.norm.cdf(t, m, s)
                for w, m, s in zip(weights.numpy(), means[:, 0].numpy(), sd, strict=True)
            )
        )

    assert scipy.stats.kstest(x[:, 0].numpy(), cdf).pvalue > 1e-3


# ------------------------------------------------------------------ the 2-D EBM
def test_contrastive_loss_is_the_formula() -> None:
    a = torch.tensor([0.5, -1.0, 2.0], dtype=F64)
    b = torch.tensor([3.0, 1.0], dtype=F64)
    expected = a.mean() - b.mean() + 0.3 * ((a**2).mean() + (b**2).mean())
    torch.testing.assert_close(ebm.contrastive_loss(a, b, lam=0.3), expected)


def test_energy_mlp_samples_reproducibly_and_training_separates_data_from_noise() -> None:
    torch.manual_seed(0)
    model = ebm.EnergyMLP(hidden=16, langevin_steps=10, step_size=0.1, noise_scale=0.01)
    a = model.sample(50, generator=rng(20))
    assert torch.equal(a, model.sample(50, generator=rng(20)))
    assert not torch.equal(a, model.sample(50, generator=rng(21)))
    data = 0.3 * torch.randn(512, 2, generator=rng(22)) + torch.tensor([1.0, -1.0])
    losses = ebm.train_ebm(model, data, steps=80, batch_size=64, lr=1e-2, generator=rng(23))
    assert len(losses) == 80 and all(math.isfinite(v) for v in losses)
    with torch.no_grad():
        noise = model.initial_samples(512, generator=rng(24))
        assert float(model.energy(data).mean()) < float(model.energy(noise).mean()) - 0.5
    samples = model.sample(256, generator=rng(25), steps=60)
    assert float((samples.mean(0) - torch.tensor([1.0, -1.0])).norm()) < 0.5


def test_train_ebm_with_a_replay_buffer_separates_data_from_noise() -> None:
    # Du and Mordatch's persistent chains: most chains restart from earlier negatives.
    torch.manual_seed(0)
    model = ebm.EnergyMLP(hidden=16, langevin_steps=10, step_size=0.1, noise_scale=0.01)
    data = 0.3 * torch.randn(512, 2, generator=rng(26)) + torch.tensor([1.0, -1.0])
    losses = ebm.train_ebm(
        model,
        data,
        steps=80,
        batch_size=64,
        lr=1e-2,
        generator=rng(27),
        buffer_size=256,
        reinit=0.05,
    )
    assert len(losses) == 80 and all(math.isfinite(v) for v in losses)
    with torch.no_grad():
        noise = model.initial_samples(512, generator=rng(28))
        assert float(model.energy(data).mean()) < float(model.energy(noise).mean()) - 0.5


# ------------------------------------------------------------------ bad input
Z = torch.zeros(3, 3)
S = torch.ones(3)
E = torch.zeros(4)
CASES: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    ("integer energies", lambda: ebm.boltzmann(torch.arange(3)), TypeError, "floating-point"),
    ("zero temperature", lambda: ebm.log_partition(E, 0.0), ValueError, "temperature"),
    ("1-D patterns", lambda: ebm.hebbian_weights(S), ValueError, "patterns"),
    ("0/1 patterns", lambda: ebm.hebbian_weights(torch.eye(3)), ValueError, "-1 and +1"),
    ("W of the wrong shape", lambda: ebm.hopfield_energy(torch.zeros(2, 2), S), ValueError, "`W`"),
    ("b of the wrong shape", lambda: ebm.hopfield_energy(Z, S, torch.zeros(2)), ValueError, "`b`"),
    ("s on another device", lambda: ebm.hopfield_energy(Z, S.to("meta")), ValueError, "device"),
    (
        "asymmetric W",
        lambda: ebm.hopfield_sweep(torch.triu(torch.ones(3, 3)), S, torch.arange(3)),
        ValueError,
        "symmetric",
    ),
    ("float order", lambda: ebm.hopfield_sweep(Z, S, torch.zeros(2)), TypeError, "order"),
    ("unit out of range", lambda: ebm.hopfield_sweep(Z, S, torch.tensor([3])), ValueError, "order"),
    ("no generator", lambda: ebm.hopfield_recall(Z, S, generator=0), TypeError, "generator"),  # type: ignore[arg-type]
    (
        "v of the wrong width",
        lambda: ebm.rbm_free_energy(
            torch.ones(2, 4), torch.zeros(2, 3), torch.zeros(3), torch.zeros(2)
        ),
        ValueError,
        "visible",
    ),
    (
        "hidden bias shape",
        lambda: ebm.rbm_free_energy(
            torch.ones(2, 3), torch.zeros(2, 3), torch.zeros(3), torch.zeros(3)
        ),
        ValueError,
        "hidden_bias",
    ),
    (
        "weight on meta",
        lambda: ebm.rbm_free_energy(
            torch.ones(2, 3), torch.zeros(2, 3, device="meta"), torch.zeros(3), torch.zeros(2)
        ),
        ValueError,
        "device",
    ),
    (
        "too many states",
        lambda: ebm.rbm_log_partition(torch.zeros(21, 22), torch.zeros(22), torch.zeros(21)),
        ValueError,
        "20 units",
    ),
    (
        "negative step",
        lambda: ebm.langevin_step(quadratic, torch.zeros(2, 2), -0.1, torch.zeros(2, 2)),
        ValueError,
        "step_size",
    ),
    (
        "noise shape",
        lambda: ebm.langevin_step(quadratic, torch.zeros(2, 2), 0.1, torch.zeros(2)),
        ValueError,
        "noise",
    ),
    (
        "energy not (B,)",
        lambda: ebm.langevin_step(lambda x: x, torch.zeros(2, 2), 0.1, torch.zeros(2, 2)),
        ValueError,
        "(B,)",
    ),
    (
        "1-D chains",
        lambda: ebm.mala_sample(
            quadratic, torch.zeros(3), steps=1, step_size=0.1, generator=rng(0)
        ),
        ValueError,
        "`x`",
    ),
    (
        "float steps",
        lambda: ebm.langevin_sample(
            quadratic,
            torch.zeros(2, 2),
            steps=1.5,  # type: ignore[arg-type]
            step_size=0.1,
            generator=rng(0),
        ),
        TypeError,
        "steps",
    ),
    ("EBM input width", lambda: ebm.EnergyMLP().energy(torch.zeros(4, 3)), ValueError, "2 columns"),
    (
        "reinit above one",
        lambda: ebm.train_ebm(
            ebm.EnergyMLP(),
            torch.zeros(4, 2),
            steps=1,
            batch_size=2,
            lr=0.1,
            generator=rng(0),
            reinit=2.0,
        ),
        ValueError,
        "reinit",
    ),
    (
        "RBM data width",
        lambda: ebm.train_rbm(
            ebm.RBM(3, 2), torch.zeros(4, 5), epochs=1, batch_size=2, lr=0.1, generator=rng(0)
        ),
        ValueError,
        "visible units",
    ),
]


@pytest.mark.parametrize(("name", "call", "error", "words"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_rejected_clearly(
    name: str, call: Callable[[], Any], error: type[Exception], words: str
) -> None:
    with pytest.raises(
        error, match=words.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")
    ):
        call()
