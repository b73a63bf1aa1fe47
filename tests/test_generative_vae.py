"""Tests for dlbook.generative.vae against torch.distributions, SciPy, closed forms and
Monte Carlo."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats
from torch import Tensor
from torch.distributions import (
    Bernoulli,
    Binomial,
    Independent,
    MultivariateNormal,
    Normal,
    kl_divergence,
)

import dlbook
from dlbook import data
from dlbook.generative import vae

F64 = torch.float64
SETTINGS = settings(max_examples=30, deadline=None)


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """These tensors are tiny: on a busy machine a second thread only adds waiting (150
    training steps take 0.1 s of CPU on one thread and 6 s on two)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def randn(seed: int, *shape: int, device: torch.device | str = "cpu") -> Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64).to(device)


def spd(seed: int, d: int, batch: tuple[int, ...] = ()) -> Tensor:
    """A random symmetric positive-definite matrix (or batch of them) in float64."""
    A = randn(seed, *batch, d, d)
    return A @ A.mT + 0.5 * torch.eye(d, dtype=F64)


# ------------------------------------------------------------------ Gaussian KLs
def test_diagonal_kl_matches_torch_distributions(device: torch.device) -> None:
    mu, lv = randn(0, 5, 3, device=device), randn(1, 5, 3, device=device)
    mu_p, lv_p = randn(2, 5, 3, device=device), randn(3, 5, 3, device=device)
    q = Independent(Normal(mu, (0.5 * lv).exp()), 1)
    p = Independent(Normal(mu_p, (0.5 * lv_p).exp()), 1)
    ours = vae.gaussian_kl_diagonal(mu, lv, mu_p, lv_p)
    assert ours.device == mu.device and ours.shape == (5,)
    torch.testing.assert_close(ours, kl_divergence(q, p), rtol=1e-12, atol=1e-12)
    standard = Independent(Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
    torch.testing.assert_close(
        vae.gaussian_kl_diagonal(mu, lv), kl_divergence(q, standard), rtol=1e-12, atol=1e-12
    )
    terms = vae.gaussian_kl_diagonal(mu, lv, reduce=False)
    assert terms.shape == (5, 3)
    torch.testing.assert_close(terms.sum(-1), vae.gaussian_kl_diagonal(mu, lv))


@pytest.mark.parametrize("batch", [(), (4,), (2, 3)])
def test_full_kl_matches_torch_distributions(batch: tuple[int, ...], device: torch.device) -> None:
    d = 3
    mq, mp = randn(0, *batch, d, device=device), randn(1, *batch, d, device=device)
    Sq, Sp = spd(2, d, batch).to(device), spd(3, d, batch).to(device)
    ours = vae.gaussian_kl(mq, Sq, mp, Sp)
    expected = kl_divergence(MultivariateNormal(mq, Sq), MultivariateNormal(mp, Sp))
    assert ours.shape == batch
    torch.testing.assert_close(ours, expected, rtol=1e-10, atol=1e-10)


def test_full_kl_broadcasts_one_prior_against_a_batch() -> None:
    mq, Sq = randn(0, 6, 2), spd(1, 2, (6,))
    mp, Sp = torch.zeros(2, dtype=F64), torch.eye(2, dtype=F64)
    expected = kl_divergence(MultivariateNormal(mq, Sq), MultivariateNormal(mp, Sp))
    torch.testing.assert_close(vae.gaussian_kl(mq, Sq, mp, Sp), expected, rtol=1e-10, atol=1e-12)


def test_full_kl_agrees_with_monte_carlo() -> None:
    d = 2
    mq, mp, Sq, Sp = randn(0, d), randn(1, d), spd(2, d), spd(3, d)
    q, p = MultivariateNormal(mq, Sq), MultivariateNormal(mp, Sp)
    z = q.sample((200_000,))  # seeded below by the global generator's state
    log_ratio = q.log_prob(z) - p.log_prob(z)
    estimate, se = log_ratio.mean(), log_ratio.std() / math.sqrt(len(z))
    assert abs(vae.gaussian_kl(mq, Sq, mp, Sp) - estimate) < 5 * se


@SETTINGS
@given(
    st.lists(st.floats(-3, 3), min_size=1, max_size=4),
    st.lists(st.floats(-3, 3), min_size=4, max_size=4),
)
def test_diagonal_kl_is_non_negative_and_zero_only_at_equality(
    mu_list: list[float], lv_list: list[float]
) -> None:
    mu = torch.tensor(mu_list, dtype=F64)
    lv = torch.tensor(lv_list[: len(mu_list)], dtype=F64)
    kl = vae.gaussian_kl_diagonal(mu, lv)
    assert kl >= -1e-12
    assert vae.gaussian_kl_diagonal(mu, lv, mu, lv).abs() < 1e-12
    if (mu.abs() > 1e-3).any() or (lv.abs() > 1e-3).any():
        assert kl > 0


def test_full_kl_rejects_a_matrix_that_is_not_positive_definite() -> None:
    bad = torch.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=F64)
    z, eye = torch.zeros(2, dtype=F64), torch.eye(2, dtype=F64)
    with pytest.raises(ValueError, match="cov_q"):
        vae.gaussian_kl(z, bad, z, eye)


# ------------------------------------------------------------------ reparameterisation
def test_reparameterize_moments_shape_and_gradients(device: torch.device) -> None:
    mu = torch.tensor([1.0, -2.0], dtype=F64, device=device, requires_grad=True)
    lv = torch.tensor([0.0, math.log(4.0)], dtype=F64, device=device, requires_grad=True)
    z = vae.reparameterize(mu, lv, generator=dlbook.generator(0), num_samples=100_000)
    assert z.shape == (100_000, 2) and z.device == mu.device
    torch.testing.assert_close(z.mean(0), mu.detach(), atol=0.03, rtol=0)
    torch.testing.assert_close(z.var(0), lv.detach().exp(), atol=0.06, rtol=0)
    # d z / d mu = 1 and d z / d log s^2 = s eps / 2, eps = (z - mu) / s
    z.sum().backward()
    assert mu.grad is not None and lv.grad is not None
    torch.testing.assert_close(mu.grad, torch.full_like(mu, 100_000.0))
    eps = (z.detach() - mu.detach()) / (0.5 * lv.detach()).exp()
    expected = (0.5 * (0.5 * lv.detach()).exp() * eps).sum(0)
    torch.testing.assert_close(lv.grad, expected)


def test_reparameterize_is_reproducible_and_device_independent(device: torch.device) -> None:
    mu, lv = randn(0, 3, 2), randn(1, 3, 2)
    a = vae.reparameterize(mu, lv, generator=dlbook.generator(5))
    b = vae.reparameterize(mu.to(device), lv.to(device), generator=dlbook.generator(5))
    torch.testing.assert_close(a, b.cpu(), rtol=1e-12, atol=1e-12)
    c = vae.reparameterize(mu, lv, generator=dlbook.generator(6))
    assert not torch.equal(a, c)


# ------------------------------------------------------------------ decoder likelihoods
def test_log_likelihoods_match_torch_distributions(device: torch.device) -> None:
    x, mean, lv = randn(0, 4, 5, device=device), randn(1, 4, 5, device=device), randn(2, 5)
    lv = lv.to(device)
    expected = Independent(Normal(mean, (0.5 * lv).exp()), 1).log_prob(x)
    torch.testing.assert_close(vae.gaussian_log_likelihood(x, mean, lv), expected)
    logits = 3 * randn(3, 4, 5, device=device)
    bits = (randn(4, 4, 5, device=device) > 0).to(F64)
    expected = Independent(Bernoulli(logits=logits), 1).log_prob(bits)
    torch.testing.assert_close(vae.bernoulli_log_likelihood(bits, logits), expected)
    counts = torch.randint(0, 17, (4, 5), generator=torch.Generator().manual_seed(0))
    counts = counts.to(device, F64)
    expected = Independent(Binomial(16, logits=logits), 1).log_prob(counts)
    got = vae.binomial_log_likelihood(counts / 16, logits, 16)
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)


def test_binomial_with_one_trial_is_the_bernoulli() -> None:
    logits, bits = randn(0, 6, 3), (randn(1, 6, 3) > 0).to(F64)
    torch.testing.assert_close(
        vae.binomial_log_likelihood(bits, logits, 1), vae.bernoulli_log_likelihood(bits, logits)
    )


def test_binomial_sums_to_one_over_all_counts() -> None:
    logits = torch.tensor([[-2.0], [0.3], [5.0]], dtype=F64)  # (3, 1): three pixels
    counts = torch.arange(17, dtype=F64).reshape(17, 1, 1) / 16  # every value of one pixel
    log_p = vae.binomial_log_likelihood(counts, logits, 16)  # (17, 3)
    torch.testing.assert_close(log_p.exp().sum(0), torch.ones(3, dtype=F64))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("big", [1e4, 1e8])
def test_likelihoods_are_exact_at_extreme_logits(dtype: torch.dtype, big: float) -> None:
    logits = torch.tensor([big, -big], dtype=dtype)
    right = torch.tensor([1.0, 0.0], dtype=dtype)  # the likely outcomes: log p = 0
    wrong = torch.tensor([0.0, 1.0], dtype=dtype)  # the unlikely ones: log p = -2 big
    for fn in (
        vae.bernoulli_log_likelihood,
        lambda x, lg: vae.binomial_log_likelihood(x, lg, 16),
    ):
        assert fn(right, logits).item() == 0.0
        scale = 16 if fn is not vae.bernoulli_log_likelihood else 1
        torch.testing.assert_close(
            fn(wrong, logits), torch.tensor(-2 * big * scale, dtype=dtype), rtol=1e-6, atol=0
        )


def test_log_mean_exp_matches_scipy_and_is_stable() -> None:
    a = 50 * randn(0, 7, 3)
    expected = special.logsumexp(a.numpy(), axis=0) - math.log(7)
    np.testing.assert_allclose(vae.log_mean_exp(a, dim=0).numpy(), expected, rtol=1e-13)
    for dtype in (torch.float32, torch.float64):
        big = torch.tensor([1e4, 1e4, -1e4], dtype=dtype)
        expected_big = 1e4 + math.log(2 / 3)
        assert abs(vae.log_mean_exp(big).item() - expected_big) <= 1e-3
    assert vae.log_mean_exp(torch.full((3,), -math.inf)).item() == -math.inf


def test_bernoulli_elbo_matches_torch_distributions() -> None:
    x = (randn(0, 4, 6) > 0).to(F64)
    logits, mu, lv = 2 * randn(1, 3, 4, 6), randn(2, 4, 2), randn(3, 4, 2)
    q = Independent(Normal(mu, (0.5 * lv).exp()), 1)
    prior = Independent(Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
    expected = Independent(Bernoulli(logits=logits), 1).log_prob(x).mean(0) - kl_divergence(
        q, prior
    )
    torch.testing.assert_close(vae.bernoulli_elbo(x, logits, mu, lv), expected)
    torch.testing.assert_close(
        vae.bernoulli_elbo(x, logits[0], mu, lv), vae.bernoulli_elbo(x, logits[:1], mu, lv)
    )


def test_importance_weights_and_iwae_bound_match_torch_distributions() -> None:
    k, N, d = 7, 3, 2
    z, mu, lv, ll = randn(0, k, N, d), randn(1, N, d), randn(2, N, d), 10 * randn(3, k, N)
    q = Independent(Normal(mu, (0.5 * lv).exp()), 1)
    prior = Independent(Normal(torch.zeros(d, dtype=F64), torch.ones(d, dtype=F64)), 1)
    log_w = ll + prior.log_prob(z) - q.log_prob(z)
    torch.testing.assert_close(vae.importance_log_weights(ll, z, mu, lv), log_w)
    expected = special.logsumexp(log_w.numpy(), axis=0) - math.log(k)
    np.testing.assert_allclose(vae.iwae_bound_from_samples(ll, z, mu, lv).numpy(), expected)
    # huge log-likelihoods (log weights near -1e4) stay finite and exact in float32
    big = vae.iwae_bound_from_samples(ll.float() - 1e4, z.float(), mu.float(), lv.float())
    np.testing.assert_allclose(big.numpy(), expected - 1e4, rtol=1e-6)


@SETTINGS
@given(
    st.lists(st.floats(-1e4, 1e4), min_size=1, max_size=20),
    st.floats(-1e4, 1e4),
)
def test_log_mean_exp_laws(values: list[float], shift: float) -> None:
    """Shifting every entry shifts the result; it lies between the mean and the maximum
    (Jensen: log of a mean of exponentials is at least the mean of the logs)."""
    a = torch.tensor(values, dtype=F64)
    lme = vae.log_mean_exp(a)
    assert torch.isclose(vae.log_mean_exp(a + shift), lme + shift, rtol=0, atol=1e-8)
    assert a.mean() - 1e-9 <= lme <= a.max() + 1e-9


def test_kl_per_dimension_sums_to_the_average_kl() -> None:
    torch.manual_seed(0)
    model = vae.VAE(4, 3, hidden=(8,)).double()
    x = randn(0, 10, 4)
    mu, lv = model.encode(x)
    torch.testing.assert_close(
        model.kl_per_dimension(x).sum(), vae.gaussian_kl_diagonal(mu, lv).mean()
    )


# ------------------------------------------------------------------ gradient estimators
@pytest.mark.parametrize("estimator", ["reparameterization", "score"])
def test_gradient_estimators_are_unbiased(estimator: Any) -> None:
    a, b = torch.tensor([1.0, -0.5], dtype=F64), torch.tensor([0.7, 0.2], dtype=F64)
    mu, lv = torch.tensor([0.3, -1.0], dtype=F64), torch.tensor([0.2, -0.4], dtype=F64)

    def f(z: Tensor) -> Tensor:
        return (a * z + b * z**2).sum(-1)

    # E f = sum a mu + b (mu^2 + s^2): d/dmu = a + 2 b mu, d/dlog s^2 = b s^2
    g_mu, g_lv = vae.gradient_estimates(
        f, mu, lv, num_samples=10, repeats=4000, generator=dlbook.generator(0), estimator=estimator
    )
    for estimates, exact in [(g_mu, a + 2 * b * mu), (g_lv, b * lv.exp())]:
        se = estimates.std(0) / math.sqrt(len(estimates))
        assert ((estimates.mean(0) - exact).abs() < 5 * se).all()


def test_reparameterization_has_lower_variance_than_score_function() -> None:
    mu, lv = torch.zeros(3, dtype=F64), torch.zeros(3, dtype=F64)

    def f(z: Tensor) -> Tensor:
        return ((z - 2) ** 2).sum(-1)

    pathwise = vae.gradient_estimates(
        f, mu, lv, num_samples=5, repeats=2000, generator=dlbook.generator(1)
    )
    score = vae.gradient_estimates(
        f, mu, lv, num_samples=5, repeats=2000, generator=dlbook.generator(1), estimator="score"
    )
    # For f = (z - c)^2 the pathwise variance of d/dmu is 4 s^2 / S exactly
    torch.testing.assert_close(
        pathwise[0].var(0), torch.full((3,), 0.8, dtype=F64), atol=0.1, rtol=0
    )
    assert (score[0].var(0) > 10 * pathwise[0].var(0)).all()


def test_leave_one_out_baseline_is_unbiased_and_reduces_variance() -> None:
    mu, lv = torch.tensor([0.5, -0.3], dtype=F64), torch.tensor([0.0, -0.5], dtype=F64)

    def f(z: Tensor) -> Tensor:
        return ((z - 3) ** 2).sum(-1)

    R = 2000
    loo = torch.stack(
        [
            vae.score_gradient_leave_one_out(
                f, mu, lv, num_samples=10, generator=dlbook.generator(i)
            )[0]
            for i in range(R)
        ]
    )
    plain = vae.gradient_estimates(
        f, mu, lv, num_samples=10, repeats=R, generator=dlbook.generator(0), estimator="score"
    )[0]
    exact = 2 * (mu - 3)
    assert ((loo.mean(0) - exact).abs() < 5 * loo.std(0) / math.sqrt(R)).all()
    assert (loo.var(0) < 0.2 * plain.var(0)).all()


# ------------------------------------------------------------------ linear-Gaussian model
def linear_model(seed: int = 0, D: int = 4, d: int = 2) -> tuple[Tensor, Tensor, float]:
    return randn(seed, D, d), randn(seed + 1, D), 0.3


def test_linear_gaussian_marginal_matches_scipy() -> None:
    W, b, s2 = linear_model()
    x = randn(5, 6, 4)
    expected = stats.multivariate_normal(b.numpy(), (W @ W.T).numpy() + s2 * np.eye(4)).logpdf(
        x.numpy()
    )
    np.testing.assert_allclose(vae.linear_gaussian_log_marginal(x, W, b, s2).numpy(), expected)


def test_linear_gaussian_posterior_matches_gaussian_conditioning() -> None:
    W, b, s2 = linear_model()
    x = randn(5, 6, 4)
    # joint of (z, x): cov [[I, W^T], [W, W W^T + s2 I]]; condition on x
    C = W @ W.T + s2 * torch.eye(4, dtype=F64)
    mean_expected = (x - b) @ torch.linalg.solve(C, W)
    cov_expected = torch.eye(2, dtype=F64) - W.T @ torch.linalg.solve(C, W)
    mean, cov = vae.linear_gaussian_posterior(x, W, b, s2)
    torch.testing.assert_close(mean, mean_expected)
    torch.testing.assert_close(cov, cov_expected)


def test_elbo_gap_is_the_kl_to_the_posterior() -> None:
    """log p(x) = ELBO(q) + KL(q || p(z | x)) for any diagonal Gaussian q."""
    W, b, s2 = linear_model()
    x = randn(5, 6, 4)
    mu, lv = randn(7, 6, 2), 0.5 * randn(8, 6, 2)
    post_mean, post_cov = vae.linear_gaussian_posterior(x, W, b, s2)
    q = MultivariateNormal(mu, torch.diag_embed(lv.exp()))
    gap = kl_divergence(q, MultivariateNormal(post_mean, post_cov.expand(6, 2, 2)))
    log_px = vae.linear_gaussian_log_marginal(x, W, b, s2)
    elbo = vae.linear_gaussian_elbo(x, W, b, s2, mu, lv)
    torch.testing.assert_close(log_px - elbo, gap, rtol=1e-10, atol=1e-10)
    assert (gap > 0).all()


def ppca_vae(W: Tensor, b: Tensor, s2: float, *, optimal_q: bool) -> vae.VAE:
    """The linear-Gaussian model as a VAE: linear decoder, constant variance; the encoder
    gives the exact posterior mean and the best diagonal variance (or a poor guess)."""
    D, d = W.shape
    model = vae.VAE(D, d, hidden=()).double()
    dec, enc = model.decoder[0], model.encoder[0]
    assert isinstance(dec, torch.nn.Linear) and isinstance(enc, torch.nn.Linear)
    with torch.no_grad():
        dec.weight.zero_()
        dec.weight[:D] = W
        dec.bias[:D] = b
        dec.bias[D:] = math.log(s2)
        precision = torch.eye(d, dtype=F64) + W.T @ W / s2
        cov = torch.linalg.inv(precision)
        A = cov @ W.T / s2  # posterior mean = A (x - b)
        enc.weight.zero_()
        enc.weight[:d] = A if optimal_q else 0.5 * A
        enc.bias.zero_()
        enc.bias[:d] = -A @ b if optimal_q else -0.5 * A @ b
        enc.bias[d:] = -precision.diagonal().log()  # the best diagonal: 1 / precision_jj
    return model


def test_vae_elbo_and_iwae_on_the_linear_gaussian_model(device: torch.device) -> None:
    W, b, s2 = linear_model()
    x = randn(5, 8, 4)
    model = ppca_vae(W, b, s2, optimal_q=False).to(device)
    xd = x.to(device)
    log_px = vae.linear_gaussian_log_marginal(x, W, b, s2)
    mu, lv = model.encode(xd)
    exact_elbo = vae.linear_gaussian_elbo(x, W, b, s2, mu.cpu(), lv.cpu())
    with torch.no_grad():
        mc_elbo = model.elbo(xd, generator=dlbook.generator(0), num_samples=20_000).cpu()
        torch.testing.assert_close(mc_elbo, exact_elbo, atol=0.05, rtol=0)
        bounds = {
            k: model.iwae_bound(xd, k, generator=dlbook.generator(k), chunk_size=64).cpu()
            for k in (1, 10, 1000)
        }
    # L_k rises towards log p(x). With this deliberately poor q (half the posterior mean) the
    # bias of L_1000, about Var(w) / (2 k p(x)^2), is still near 0.1 nats for some examples.
    assert (bounds[1000] - log_px).mean().abs() < 0.05
    assert (bounds[1000] - log_px).abs().max() < 0.2
    assert bounds[10].mean() > bounds[1].mean()
    assert (log_px - bounds[1000]).mean() < (log_px - exact_elbo).mean()


def test_vae_with_the_best_diagonal_q_has_the_kl_gap_of_the_posterior() -> None:
    W, b, s2 = linear_model()
    x = randn(5, 8, 4)
    model = ppca_vae(W, b, s2, optimal_q=True)
    mu, lv = model.encode(x)
    post_mean, post_cov = vae.linear_gaussian_posterior(x, W, b, s2)
    torch.testing.assert_close(mu, post_mean)
    # the best diagonal under KL(q || p) has variance 1 / precision_jj, not the marginal
    torch.testing.assert_close(lv.exp()[0], 1 / torch.linalg.inv(post_cov).diagonal())


def test_vae_samples_have_the_model_covariance() -> None:
    W, b, s2 = linear_model()
    model = ppca_vae(W, b, s2, optimal_q=True)
    x = model.sample(40_000, generator=dlbook.generator(3))
    torch.testing.assert_close(x.mean(0), b, atol=0.05, rtol=0)
    torch.testing.assert_close(
        torch.cov(x.T), W @ W.T + s2 * torch.eye(4, dtype=F64), atol=0.08, rtol=0.03
    )
    means = model.sample(5, generator=dlbook.generator(3), noise=False)
    z = torch.randn(5, 2, generator=dlbook.generator(3), dtype=F64)
    torch.testing.assert_close(means, z @ W.T + b)


def test_binomial_vae_samples_are_counts_and_state_dict_is_standard() -> None:
    torch.manual_seed(0)
    model = vae.VAE(64, 3, hidden=(16, 8), likelihood="binomial", total_count=16)
    x = model.sample(10, generator=dlbook.generator(0))
    assert x.shape == (10, 64) and x.min() >= 0 and x.max() <= 1
    torch.testing.assert_close(x * 16, torch.round(x * 16))
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes == {
        "encoder.0.weight": (16, 64),
        "encoder.0.bias": (16,),
        "encoder.2.weight": (8, 16),
        "encoder.2.bias": (8,),
        "encoder.4.weight": (6, 8),
        "encoder.4.bias": (6,),
        "decoder.0.weight": (8, 3),
        "decoder.0.bias": (8,),
        "decoder.2.weight": (16, 8),
        "decoder.2.bias": (16,),
        "decoder.4.weight": (64, 16),
        "decoder.4.bias": (64,),
    }


def test_iwae_does_not_depend_on_the_chunk_size() -> None:
    torch.manual_seed(0)
    model = vae.VAE(2, 2, hidden=(8,)).double()
    x = randn(0, 5, 2)
    with torch.no_grad():
        a = model.iwae_bound(x, 60, generator=dlbook.generator(1), chunk_size=60)
        log_w = model.log_weights(x, 60, generator=dlbook.generator(1))
    torch.testing.assert_close(a, torch.logsumexp(log_w, 0) - math.log(60))


# ------------------------------------------------------------------ training, collapse
def test_train_vae_lowers_the_loss_and_is_reproducible() -> None:
    X = data.gaussian_ring(512, seed=1)[0]
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = vae.VAE(2, 2, hidden=(32,))
        losses = vae.train_vae(
            model, X, steps=150, batch_size=128, lr=1e-2, generator=dlbook.generator(0)
        )
        runs.append(losses)
    assert runs[0] == runs[1]
    assert np.mean(runs[0][-20:]) < np.mean(runs[0][:20]) - 0.1


def test_free_bits_and_beta_change_the_objective() -> None:
    X = data.gaussian_ring(256, seed=1)[0]
    firsts = []
    options: list[dict[str, Any]] = [{}, {"beta": 0.0}, {"free_bits": 5.0}, {"kl_warmup_steps": 10}]
    for kwargs in options:
        torch.manual_seed(0)
        model = vae.VAE(2, 2, hidden=(8,))
        firsts.append(
            vae.train_vae(
                model, X, steps=1, batch_size=64, lr=1e-3, generator=dlbook.generator(0), **kwargs
            )[0]
        )
    plain, no_kl, free, warm = firsts
    assert no_kl < plain  # the KL term is positive
    assert free > plain  # 2 coordinates x 5 free nats exceed the initial KL
    assert no_kl < warm < plain  # first warm-up step: beta = 1/10


def test_active_units_matches_the_variance_of_the_means() -> None:
    torch.manual_seed(0)
    model = vae.VAE(3, 4, hidden=())
    enc = model.encoder[0]
    assert isinstance(enc, torch.nn.Linear)
    with torch.no_grad():
        enc.weight[1] = 0.0  # unit 1 ignores x: collapsed
        enc.weight[3] = 1e-3  # unit 3 nearly so
    x = torch.randn(500, 3)
    count, activity = vae.active_units(model, x)
    mu = x @ enc.weight[:4].T.detach() + enc.bias[:4].detach()
    np.testing.assert_allclose(activity.numpy(), mu.var(0, unbiased=False).numpy(), rtol=1e-5)
    assert count == 2 and activity[1] == 0


# ------------------------------------------------------------------ bad input
Z2 = torch.zeros(2)
G0 = dlbook.generator(0)
WRONG: Any = 0  # a value of the wrong type, for the calls type checkers would refuse


def small(**kwargs: Any) -> vae.VAE:
    return vae.VAE(2, 1, hidden=(4,), **kwargs)


def train(model: Any, lr: float = 0.1, steps: int = 1) -> list[float]:
    return vae.train_vae(model, torch.zeros(3, 2), steps=steps, batch_size=1, lr=lr, generator=G0)


BAD: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    ("kl: int mu", lambda: vae.gaussian_kl_diagonal(Z2.long(), Z2), TypeError, "mu"),
    ("kl: shapes", lambda: vae.gaussian_kl_diagonal(Z2, torch.zeros(3)), ValueError, "shape"),
    ("kl: one of mu_p", lambda: vae.gaussian_kl_diagonal(Z2, Z2, Z2), ValueError, "mu_p"),
    ("kl: devices", lambda: vae.gaussian_kl_diagonal(Z2, Z2.to("meta")), ValueError, "device"),
    ("kl: dtypes", lambda: vae.gaussian_kl_diagonal(Z2, Z2.double()), TypeError, "dtype"),
    (
        "full kl: cov",
        lambda: vae.gaussian_kl(Z2, torch.eye(3), Z2, torch.eye(2)),
        ValueError,
        "cov_q",
    ),
    (
        "reparam: generator",
        lambda: vae.reparameterize(Z2, Z2, generator=WRONG),
        TypeError,
        "generator",
    ),
    (
        "reparam: samples",
        lambda: vae.reparameterize(Z2, Z2, generator=G0, num_samples=0),
        ValueError,
        "num_samples",
    ),
    ("binomial: x > 1", lambda: vae.binomial_log_likelihood(Z2 + 2, Z2, 16), ValueError, "x"),
    ("binomial: n 0", lambda: vae.binomial_log_likelihood(Z2, Z2, 0), ValueError, "total_count"),
    (
        "binomial: grey values that are not counts",
        lambda: vae.binomial_log_likelihood(torch.full((2,), 0.3), torch.zeros(2), 16),
        ValueError,
        "multiples",
    ),
    ("log_mean_exp: dim", lambda: vae.log_mean_exp(Z2, dim=3), ValueError, "dim"),
    (
        "estimator name",
        lambda: vae.gradient_estimates(
            lambda z: z.sum(-1), Z2, Z2, num_samples=1, repeats=1, generator=G0, estimator=WRONG
        ),
        ValueError,
        "estimator",
    ),
    (
        "linear: W",
        lambda: vae.linear_gaussian_log_marginal(Z2, Z2[:, None], Z2[:1], 1.0),
        ValueError,
        "W",
    ),
    (
        "linear: noise",
        lambda: vae.linear_gaussian_log_marginal(Z2, Z2[:, None], Z2, 0.0),
        ValueError,
        "noise_var",
    ),
    ("VAE: likelihood", lambda: vae.VAE(2, 2, likelihood=WRONG), ValueError, "likelihood"),
    ("VAE: latent 0", lambda: vae.VAE(2, 0), ValueError, "latent_dim"),
    ("VAE: x shape", lambda: small().elbo(torch.zeros(3, 5), generator=G0), ValueError, "x"),
    ("VAE: x dtype", lambda: small().encode(torch.zeros(3, 2, dtype=F64)), TypeError, "dtype"),
    (
        "VAE: x device",
        lambda: small().encode(torch.zeros(3, 2, device="meta")),
        ValueError,
        "device",
    ),
    ("VAE: uint8 x", lambda: small().encode(torch.zeros(3, 2, dtype=torch.uint8)), TypeError, "x"),
    (
        "VAE: binomial x",
        lambda: small(likelihood="binomial", total_count=16).encode(torch.full((3, 2), 3.0)),
        ValueError,
        "x",
    ),
    ("VAE: k 0", lambda: small().iwae_bound(torch.zeros(3, 2), 0, generator=G0), ValueError, "k"),
    ("train: model", lambda: train(torch.nn.Linear(2, 2)), TypeError, "model"),
    ("train: lr", lambda: train(small(), lr=-1.0), ValueError, "lr"),
    ("train: steps", lambda: train(small(), steps=0), ValueError, "steps"),
    (
        "active: one example",
        lambda: vae.active_units(small(), torch.zeros(1, 2)),
        ValueError,
        "2 examples",
    ),
]


@pytest.mark.parametrize(("name", "call", "error", "words"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_rejected_clearly(
    name: str, call: Callable[[], object], error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        call()


def test_non_contiguous_inputs_work() -> None:
    mu, lv = randn(0, 3, 5).T, randn(1, 3, 5).T  # (5, 3), not contiguous
    assert not mu.is_contiguous()
    torch.testing.assert_close(
        vae.gaussian_kl_diagonal(mu, lv), vae.gaussian_kl_diagonal(mu.contiguous(), lv.contiguous())
    )
    torch.manual_seed(0)
    model = vae.VAE(3, 2, hidden=(4,)).double()
    x = randn(2, 3, 6).T
    torch.testing.assert_close(
        model.iwae_bound(x, 5, generator=dlbook.generator(0)),
        model.iwae_bound(x.contiguous(), 5, generator=dlbook.generator(0)),
    )
