"""Tests for dlbook.prob against SciPy, torch.distributions and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from dlbook import prob

F64 = torch.float64
SETTINGS = settings(max_examples=40, deadline=None)


def t(values: object, device: torch.device | str = "cpu") -> torch.Tensor:
    return torch.tensor(values, dtype=F64, device=device)


def random_distributions(shape: tuple[int, ...], seed: int, zeros: bool = False) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    raw = torch.rand(shape, generator=g, dtype=F64)
    if zeros:
        raw = raw * (torch.rand(shape, generator=g, dtype=F64) > 0.3)
        raw[..., 0] += 0.1  # never an all-zero row
    return raw / raw.sum(dim=-1, keepdim=True)


def random_spd(d: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(d, d, generator=g, dtype=F64)
    return a @ a.T + 0.5 * torch.eye(d, dtype=F64)


# Hypothesis: a probability vector of length 1..8, some entries possibly exactly zero.
weights_st = st.lists(
    st.one_of(st.just(0.0), st.floats(0.01, 10.0)), min_size=1, max_size=8
).filter(lambda w: sum(w) > 0)


def normalised(w: list[float]) -> torch.Tensor:
    x = t(w)
    return x / x.sum()


# ------------------------------------------------------------------ entropy, CE and KL
def test_entropy_matches_scipy(device: torch.device) -> None:
    p = random_distributions((6, 5), seed=0, zeros=True)
    got = prob.entropy(p.to(device))
    assert got.device == p.to(device).device and got.shape == (6,)
    expected = stats.entropy(p.numpy(), axis=-1)  # natural log by default
    np.testing.assert_allclose(got.cpu().numpy(), expected, rtol=1e-12, atol=1e-14)


def test_entropy_along_other_dim(device: torch.device) -> None:
    p = random_distributions((4, 3), seed=1).T.contiguous()  # (3, 4): columns sum to 1
    got = prob.entropy(p.to(device), dim=0)
    np.testing.assert_allclose(got.cpu().numpy(), stats.entropy(p.numpy(), axis=0), rtol=1e-12)


def test_kl_and_cross_entropy_match_scipy(device: torch.device) -> None:
    p = random_distributions((5, 7), seed=2, zeros=True)
    q = random_distributions((5, 7), seed=3)
    kl = prob.kl_divergence(p.to(device), q.to(device))
    ce = prob.cross_entropy(p.to(device), q.to(device))
    assert kl.device == p.to(device).device
    expected_kl = special.rel_entr(p.numpy(), q.numpy()).sum(axis=-1)
    np.testing.assert_allclose(kl.cpu().numpy(), expected_kl, rtol=1e-12, atol=1e-14)
    expected_ce = -(p.numpy() * np.log(q.numpy())).sum(axis=-1)
    np.testing.assert_allclose(ce.cpu().numpy(), expected_ce, rtol=1e-12)


def test_kl_matches_torch_distributions() -> None:
    p, q = random_distributions((3, 4), seed=4), random_distributions((3, 4), seed=5)
    expected = torch.distributions.kl_divergence(
        torch.distributions.Categorical(probs=p), torch.distributions.Categorical(probs=q)
    )
    torch.testing.assert_close(prob.kl_divergence(p, q), expected, rtol=1e-10, atol=1e-12)


def test_kl_conventions() -> None:
    p, q = t([0.5, 0.5, 0.0]), t([0.5, 0.0, 0.5])
    assert prob.kl_divergence(p, p).item() == 0.0
    assert prob.kl_divergence(p, q).item() == math.inf  # q = 0 < p
    assert prob.cross_entropy(p, q).item() == math.inf
    # 0 log (0 / q) = 0: the zero of p at index 2 adds nothing.
    assert prob.kl_divergence(t([1.0, 0.0]), t([0.5, 0.5])).item() == pytest.approx(math.log(2))
    assert prob.entropy(t([1.0, 0.0, 0.0])).item() == 0.0


def test_kl_is_asymmetric() -> None:
    p, q = t([0.5, 0.5]), t([0.9, 0.1])
    forward = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)
    reverse = 0.9 * math.log(0.9 / 0.5) + 0.1 * math.log(0.1 / 0.5)
    assert prob.kl_divergence(p, q).item() == pytest.approx(forward, rel=1e-12)
    assert prob.kl_divergence(q, p).item() == pytest.approx(reverse, rel=1e-12)
    assert forward != pytest.approx(reverse, rel=0.1)


def test_kl_broadcasts_one_q_over_a_batch() -> None:
    p = random_distributions((4, 3), seed=6)
    q = random_distributions((3,), seed=7)
    expected = special.rel_entr(p.numpy(), q.numpy()[None]).sum(axis=-1)
    np.testing.assert_allclose(prob.kl_divergence(p, q).numpy(), expected, rtol=1e-12)


def test_kl_gradient_is_finite_where_p_has_zeros() -> None:
    p = t([0.7, 0.3, 0.0])
    q = t([0.2, 0.5, 0.3]).requires_grad_()
    prob.kl_divergence(p, q).backward()
    assert q.grad is not None
    # d/dq_k KL = -p_k / q_k
    torch.testing.assert_close(q.grad, -p / q.detach())


@SETTINGS
@given(weights_st)
def test_entropy_is_between_zero_and_log_k(w: list[float]) -> None:
    p = normalised(w)
    h = prob.entropy(p).item()
    assert -1e-12 <= h <= math.log(len(w)) + 1e-12


@SETTINGS
@given(weights_st, st.lists(st.floats(0.01, 10.0), min_size=8, max_size=8))
def test_kl_nonnegative_and_ce_decomposes(w: list[float], v: list[float]) -> None:
    p, q = normalised(w), normalised(v[: len(w)])
    kl = prob.kl_divergence(p, q).item()
    assert kl >= -1e-12
    assert prob.kl_divergence(p, p).item() == pytest.approx(0.0, abs=1e-12)
    # H(p, q) = H(p) + KL(p || q)
    assert prob.cross_entropy(p, q).item() == pytest.approx(
        prob.entropy(p).item() + kl, rel=1e-9, abs=1e-12
    )
    if not torch.allclose(p, q, atol=1e-3):
        assert kl > 0


def test_entropy_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        prob.entropy(t([0.5, 0.6]))
    with pytest.raises(ValueError, match="nonnegative"):
        prob.entropy(t([1.5, -0.5]))
    with pytest.raises(ValueError, match="dim"):
        prob.entropy(t([0.5, 0.5]), dim=1)
    with pytest.raises(TypeError, match="floating-point"):
        prob.entropy(torch.tensor([1, 0]))
    with pytest.raises(ValueError, match="at least one outcome"):
        prob.entropy(torch.zeros(2, 0, dtype=F64))


def test_kl_and_ce_reject_bad_input() -> None:
    good = t([0.5, 0.5])
    for function in (prob.kl_divergence, prob.cross_entropy):
        with pytest.raises(ValueError, match="`q` must sum to 1"):
            function(good, t([0.5, 0.2]))
        with pytest.raises(ValueError, match="`p` must be nonnegative"):
            function(t([1.2, -0.2]), good)
        with pytest.raises(ValueError, match="broadcastable"):
            function(good, t([0.2, 0.3, 0.5]))


def test_float32_inputs_are_accepted() -> None:
    p = torch.softmax(torch.randn(10, 1000, generator=torch.Generator().manual_seed(0)), -1)
    assert prob.entropy(p).dtype == torch.float32


# ------------------------------------------------------------------ tables and Bayes
def test_marginal_and_conditional(device: torch.device) -> None:
    joint = random_distributions((12,), seed=8).reshape(3, 4).to(device)
    np.testing.assert_allclose(
        prob.marginal(joint, 0).cpu().numpy(), joint.cpu().numpy().sum(axis=1), rtol=1e-12
    )
    np.testing.assert_allclose(
        prob.marginal(joint, -1).cpu().numpy(), joint.cpu().numpy().sum(axis=0), rtol=1e-12
    )
    y_given_x = prob.conditional(joint, given=0)
    x_given_y = prob.conditional(joint, given=1)
    assert y_given_x.device == joint.device
    torch.testing.assert_close(y_given_x.sum(1), torch.ones(3, dtype=F64, device=device))
    torch.testing.assert_close(x_given_y.sum(0), torch.ones(4, dtype=F64, device=device))
    # Product rule both ways: P(x) P(y | x) = P(x, y) = P(y) P(x | y).
    torch.testing.assert_close(prob.marginal(joint, 0)[:, None] * y_given_x, joint)
    torch.testing.assert_close(prob.marginal(joint, 1)[None, :] * x_given_y, joint)


def test_marginal_of_a_three_way_table() -> None:
    joint = random_distributions((24,), seed=9).reshape(2, 3, 4)
    np.testing.assert_allclose(
        prob.marginal(joint, 1).numpy(), joint.numpy().sum(axis=(0, 2)), rtol=1e-12
    )


def test_bayes_diagnostic_test(device: torch.device) -> None:
    prior = t([0.01, 0.99], device)
    positive = t([0.95, 0.10], device)
    post = prob.bayes_posterior(prior, positive)
    expected = 0.01 * 0.95 / (0.01 * 0.95 + 0.99 * 0.10)  # written out by hand
    assert post.device == prior.device
    assert post[0].item() == pytest.approx(expected, rel=1e-12)
    assert post.sum().item() == pytest.approx(1.0)


def test_bayes_agrees_with_conditioning_the_joint() -> None:
    prior = random_distributions((3,), seed=10)
    lik_table = random_distributions((3, 5), seed=11)  # P(o | h), rows sum to 1
    joint = prior[:, None] * lik_table
    for o in range(5):
        torch.testing.assert_close(
            prob.bayes_posterior(prior, lik_table[:, o]), prob.conditional(joint, given=1)[:, o]
        )


def test_tables_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="at least 2 axes"):
        prob.marginal(t([0.5, 0.5]), 0)
    with pytest.raises(ValueError, match="sum to 1"):
        prob.marginal(t([[0.5, 0.5], [0.5, 0.5]]), 0)
    with pytest.raises(ValueError, match="probability zero"):
        prob.conditional(t([[0.5, 0.5], [0.0, 0.0]]), given=0)
    with pytest.raises(ValueError, match="`given` must be 0 or 1"):
        prob.conditional(t([[0.5, 0.5], [0.0, 0.0]]), given=2)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        prob.bayes_posterior(t([0.5, 0.5]), t([2.0, 0.1]))
    with pytest.raises(ValueError, match="evidence"):
        prob.bayes_posterior(t([1.0, 0.0]), t([0.0, 0.5]))


# ------------------------------------------------------------------ CDF, change of variables
def test_empirical_cdf_matches_numpy_and_dkw(device: torch.device) -> None:
    g = torch.Generator(device=device).manual_seed(12)
    samples = torch.randn(4000, generator=g, device=device, dtype=F64)
    grid = torch.linspace(-3, 3, 61, dtype=F64, device=device)
    got = prob.empirical_cdf(samples, grid)
    assert got.device == samples.device
    s = samples.cpu().numpy()
    counted = (s[None, :] <= grid.cpu().numpy()[:, None]).mean(axis=1)
    np.testing.assert_allclose(got.cpu().numpy(), counted, rtol=0, atol=1e-15)
    # Dvoretzky-Kiefer-Wolfowitz: P(sup |F_N - F| > eps) <= 2 exp(-2 N eps^2); eps = 0.03
    # makes a false alarm less likely than 2 exp(-7.2) = 1.5e-3.
    gap = np.abs(got.cpu().numpy() - stats.norm.cdf(grid.cpu().numpy())).max()
    assert gap < 0.03


def test_change_of_variables_1d_is_the_lognormal(device: torch.device) -> None:
    normal = torch.distributions.Normal(t(0.3, device), t(0.8, device))
    y = torch.linspace(0.05, 6, 50, dtype=F64, device=device)[:, None]
    got = prob.change_of_variables_log_pdf(y, lambda x: normal.log_prob(x).sum(-1), torch.log)
    assert got.device == y.device
    expected = stats.lognorm(s=0.8, scale=math.exp(0.3)).logpdf(y[:, 0].cpu().numpy())
    np.testing.assert_allclose(got.cpu().numpy(), expected, rtol=1e-10)


def test_change_of_variables_linear_map_of_a_gaussian(device: torch.device) -> None:
    # y = A x + b with x ~ N(mu, S) is N(A mu + b, A S A^T).
    mu, cov = t([0.5, -1.0, 2.0]), random_spd(3, seed=13)
    a = t([[2.0, 0.3, 0.0], [0.1, -1.0, 0.4], [0.0, 0.5, 1.5]])
    b = t([1.0, 0.0, -2.0])
    a_inv = torch.linalg.inv(a)
    y = torch.randn(20, 3, generator=torch.Generator().manual_seed(14), dtype=F64)
    log_p = lambda x: prob.gaussian_log_pdf(x, mu.to(device), cov.to(device))  # noqa: E731
    got = prob.change_of_variables_log_pdf(
        y.to(device), log_p, lambda v: (v - b.to(device)) @ a_inv.T.to(device)
    )
    expected = stats.multivariate_normal(mean=(a @ mu + b).numpy(), cov=(a @ cov @ a.T).numpy())
    np.testing.assert_allclose(got.cpu().numpy(), expected.logpdf(y.numpy()), rtol=1e-9)


def test_change_of_variables_closed_form_jacobian_agrees_with_autograd() -> None:
    # An affine coupling: y1 = x1, y2 = x2 exp(x1 / 2) + x1^2 / 2.
    def f_inverse(y: torch.Tensor) -> torch.Tensor:
        y1, y2 = y[..., 0], y[..., 1]
        return torch.stack([y1, (y2 - y1**2 / 2) * torch.exp(-y1 / 2)], dim=-1)

    def log_p(x: torch.Tensor) -> torch.Tensor:
        return prob.gaussian_log_pdf(x, torch.zeros(2, dtype=F64), torch.eye(2, dtype=F64))

    y = torch.randn(30, 2, generator=torch.Generator().manual_seed(15), dtype=F64)
    auto = prob.change_of_variables_log_pdf(y, log_p, f_inverse)
    closed = prob.change_of_variables_log_pdf(y, log_p, f_inverse, lambda v: -v[:, 0] / 2)
    torch.testing.assert_close(auto, closed, rtol=1e-12, atol=1e-12)


def test_change_of_variables_density_integrates_to_one() -> None:
    # y = f(x) = x^3 + x (monotone), x ~ N(0, 1). Take a fine uniform grid of x in [-12, 12]
    # (the tails beyond carry < 1e-30 of the mass), map it to y, and integrate p_Y over y
    # with the trapezoid rule. Without the Jacobian factor the integral would be
    # E[f'(X)] = 4; the trapezoid error on this smooth integrand is below 1e-6.
    x = torch.linspace(-12, 12, 100001, dtype=F64)
    y = (x**3 + x)[:, None]
    normal = torch.distributions.Normal(t(0.0), t(1.0))
    log_p_y = prob.change_of_variables_log_pdf(
        y,
        lambda v: normal.log_prob(v).sum(-1),
        lambda v: x[:, None],
        lambda v: -torch.log(3 * x**2 + 1),  # dx/dy = 1 / f'(x)
    )
    total = torch.trapezoid(log_p_y.exp(), y[:, 0]).item()
    assert total == pytest.approx(1.0, abs=1e-5)


def test_empirical_and_change_of_variables_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="non-empty 1-D"):
        prob.empirical_cdf(torch.zeros(2, 2), torch.zeros(3))
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        prob.change_of_variables_log_pdf(torch.zeros(3), torch.log, torch.exp)


# ------------------------------------------------------------------ the Gaussian
def test_gaussian_log_pdf_matches_scipy_and_torch(device: torch.device) -> None:
    mean, cov = t([1.0, -2.0, 0.5, 0.0]), random_spd(4, seed=16)
    x = torch.randn(7, 4, generator=torch.Generator().manual_seed(17), dtype=F64)
    got = prob.gaussian_log_pdf(x.to(device), mean.to(device), cov.to(device))
    assert got.device == mean.to(device).device and got.shape == (7,)
    expected = stats.multivariate_normal(mean.numpy(), cov.numpy()).logpdf(x.numpy())
    np.testing.assert_allclose(got.cpu().numpy(), expected, rtol=1e-10)
    mvn = torch.distributions.MultivariateNormal(mean, covariance_matrix=cov)
    torch.testing.assert_close(got.cpu(), mvn.log_prob(x), rtol=1e-10, atol=1e-10)


def test_gaussian_log_pdf_batch_shape_and_mahalanobis() -> None:
    mean, cov = t([0.0, 0.0]), random_spd(2, seed=18)
    x = torch.randn(3, 5, 2, generator=torch.Generator().manual_seed(19), dtype=F64)
    assert prob.gaussian_log_pdf(x, mean, cov).shape == (3, 5)
    d = prob.mahalanobis(x, mean, cov)
    expected = np.sqrt(np.einsum("...i,ij,...j->...", x.numpy(), np.linalg.inv(cov), x.numpy()))
    np.testing.assert_allclose(d.numpy(), expected, rtol=1e-10)


def test_sample_gaussian_moments(device: torch.device) -> None:
    mean, cov = t([1.0, -1.0], device), t([[2.0, 1.2], [1.2, 1.0]], device)
    n = 40000
    x = prob.sample_gaussian(mean, cov, n, torch.Generator(device=device).manual_seed(20))
    assert x.device == mean.device and x.shape == (n, 2)
    # The sample mean has standard error sqrt(Sigma_jj / n) <= sqrt(2 / 40000) = 0.0071;
    # 5 standard errors (0.036) is a false alarm rate below 1e-6.
    assert (x.mean(0) - mean).abs().max().item() < 5 * math.sqrt(2.0 / n)
    # The sample covariance's entries have standard error sqrt((S_ij^2 + S_ii S_jj) / n),
    # at most sqrt(8 / 40000) = 0.014; allow 5 of them.
    assert (torch.cov(x.T) - cov).abs().max().item() < 5 * math.sqrt(8.0 / n)


def test_sample_gaussian_is_reproducible() -> None:
    mean, cov = t([0.0, 0.0]), t([[1.0, 0.5], [0.5, 1.0]])
    a = prob.sample_gaussian(mean, cov, 5, torch.Generator().manual_seed(1))
    b = prob.sample_gaussian(mean, cov, 5, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)


def test_gaussian_ellipse_geometry(device: torch.device) -> None:
    mean, cov = t([1.0, 2.0], device), t([[3.0, 1.0], [1.0, 2.0]], device)
    for k in (1.0, 2.0, 3.0):
        pts = prob.gaussian_ellipse(mean, cov, n_std=k, n_points=64)
        assert pts.shape == (64, 2) and pts.device == mean.device
        # Every point lies at Mahalanobis distance k.
        d = prob.mahalanobis(pts, mean, cov)
        torch.testing.assert_close(d, torch.full_like(d, k), rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(pts[0], pts[-1])  # the curve closes
    # The longest radius is 3 sqrt(lambda_max), along the leading eigenvector.
    lam = np.linalg.eigvalsh(cov.cpu().numpy())
    radii = (
        torch.linalg.vector_norm(prob.gaussian_ellipse(mean, cov, 3.0, 2001) - mean, dim=1)
        .cpu()
        .numpy()
    )
    assert radii.max() == pytest.approx(3 * math.sqrt(lam[-1]), rel=1e-5)
    assert radii.min() == pytest.approx(3 * math.sqrt(lam[0]), rel=1e-5)


def test_fraction_inside_ellipses_is_chi_square() -> None:
    # In 2-D, Delta^2 ~ chi^2_2, so P(Delta <= k) = 1 - exp(-k^2 / 2).
    mean, cov = t([0.0, 0.0]), t([[2.0, -0.8], [-0.8, 0.6]])
    n = 20000
    x = prob.sample_gaussian(mean, cov, n, torch.Generator().manual_seed(21))
    d = prob.mahalanobis(x, mean, cov)
    for k in (1.0, 2.0, 3.0):
        p = 1 - math.exp(-(k**2) / 2)
        # A binomial proportion: standard error sqrt(p (1 - p) / n); allow 5.
        assert (d <= k).double().mean().item() == pytest.approx(
            p, abs=5 * math.sqrt(p * (1 - p) / n)
        )


def test_gaussian_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="positive definite"):
        prob.gaussian_log_pdf(
            torch.zeros(1, 2, dtype=F64), t([0.0, 0.0]), t([[1.0, 2.0], [2.0, 1.0]])
        )
    with pytest.raises(ValueError, match="symmetric"):
        prob.gaussian_log_pdf(
            torch.zeros(1, 2, dtype=F64), t([0.0, 0.0]), t([[1.0, 0.5], [0.0, 1.0]])
        )
    with pytest.raises(ValueError, match=r"`cov` must have shape \(2, 2\)"):
        prob.sample_gaussian(t([0.0, 0.0]), torch.eye(3, dtype=F64), 3)
    with pytest.raises(ValueError, match=r"`x` must have shape \(\.\.\., 2\)"):
        prob.gaussian_log_pdf(torch.zeros(4, 3, dtype=F64), t([0.0, 0.0]), torch.eye(2, dtype=F64))
    with pytest.raises(ValueError, match="shape \\(2,\\) for an ellipse"):
        prob.gaussian_ellipse(torch.zeros(3, dtype=F64), torch.eye(3, dtype=F64))
    with pytest.raises(ValueError, match="n_std"):
        prob.gaussian_ellipse(torch.zeros(2, dtype=F64), torch.eye(2, dtype=F64), n_std=0.0)
    with pytest.raises(ValueError, match="`n` must be nonnegative"):
        prob.sample_gaussian(t([0.0]), t([[1.0]]), -1)


# ------------------------------------------------------------------ Gaussian mixtures
WEIGHTS = t([0.2, 0.5, 0.3])
MEANS = t([[-2.0, 0.0], [1.0, 1.0], [2.0, -2.0]])
COVS = torch.stack(
    [t([[0.5, 0.2], [0.2, 0.3]]), t([[0.4, 0.0], [0.0, 0.8]]), t([[1.0, -0.5], [-0.5, 0.6]])]
)


def test_gmm_log_pdf_matches_scipy(device: torch.device) -> None:
    x = torch.randn(11, 2, generator=torch.Generator().manual_seed(22), dtype=F64) * 2
    got = prob.gmm_log_pdf(x.to(device), WEIGHTS.to(device), MEANS.to(device), COVS.to(device))
    assert got.device == WEIGHTS.to(device).device
    dens = sum(
        w * stats.multivariate_normal(m, c).pdf(x.numpy())
        for w, m, c in zip(WEIGHTS.numpy(), MEANS.numpy(), COVS.numpy(), strict=True)
    )
    np.testing.assert_allclose(got.cpu().numpy(), np.log(dens), rtol=1e-10)


def test_gmm_log_pdf_is_stable_far_away() -> None:
    # Far from every mean the densities underflow to 0 in float64; the log stays finite.
    x = t([[200.0, 200.0]])
    assert torch.isfinite(prob.gmm_log_pdf(x, WEIGHTS, MEANS, COVS)).all()
    # With one component (weight 1, the others 0) the mixture is that Gaussian.
    w = t([0.0, 1.0, 0.0])
    torch.testing.assert_close(
        prob.gmm_log_pdf(x, w, MEANS, COVS), prob.gaussian_log_pdf(x, MEANS[1], COVS[1])
    )


def test_gmm_sample_frequencies_and_moments(device: torch.device) -> None:
    n = 30000
    x, c = prob.gmm_sample(
        WEIGHTS.to(device),
        MEANS.to(device),
        COVS.to(device),
        n,
        torch.Generator(device=device).manual_seed(23),
    )
    assert x.shape == (n, 2) and c.shape == (n,) and x.device == WEIGHTS.to(device).device
    freq = torch.bincount(c, minlength=3).double().cpu() / n
    # Binomial proportions: standard error sqrt(w (1 - w) / n) <= 0.0029; allow 5.
    assert (freq - WEIGHTS).abs().max().item() < 5 * math.sqrt(0.25 / n)
    for k in range(3):
        xs = x[c == k].cpu()
        # Component means: standard error sqrt(S_jj / n_k) <= sqrt(1.0 / 6000) = 0.013.
        assert (xs.mean(0) - MEANS[k]).abs().max().item() < 5 * math.sqrt(1.0 / len(xs))
    # The overall mean is sum_c w_c mu_c.
    overall = (WEIGHTS[:, None] * MEANS).sum(0)
    # The mixture's per-axis variance is below 6 here, so the standard error is < 0.014.
    assert (x.mean(0).cpu() - overall).abs().max().item() < 5 * math.sqrt(6.0 / n)


def test_gmm_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="`weights` must sum to 1"):
        prob.gmm_log_pdf(torch.zeros(1, 2, dtype=F64), t([0.5, 0.6, 0.1]), MEANS, COVS)
    with pytest.raises(ValueError, match=r"`means` must have shape \(3, D\)"):
        prob.gmm_log_pdf(torch.zeros(1, 2, dtype=F64), WEIGHTS, MEANS[:2], COVS)
    with pytest.raises(ValueError, match=r"`covs` must have shape \(3, 2, 2\)"):
        prob.gmm_sample(WEIGHTS, MEANS, COVS[:, :1, :1], 5)


# ------------------------------------------------------------------ mutual information
def test_mutual_information_matches_entropies(device: torch.device) -> None:
    joint = random_distributions((20,), seed=24, zeros=True).reshape(4, 5)
    got = prob.mutual_information(joint.to(device))
    assert got.device == joint.to(device).device
    j = joint.numpy()
    # I = H(X) + H(Y) - H(X, Y), each entropy from SciPy.
    expected = stats.entropy(j.sum(1)) + stats.entropy(j.sum(0)) - stats.entropy(j.ravel())
    assert got.item() == pytest.approx(expected, rel=1e-10, abs=1e-14)


def test_mutual_information_of_a_copy_is_the_entropy() -> None:
    p = t([0.2, 0.3, 0.5])
    assert prob.mutual_information(torch.diag(p)).item() == pytest.approx(
        stats.entropy(p.numpy()), rel=1e-12
    )


@SETTINGS
@given(weights_st, weights_st)
def test_mutual_information_zero_for_product_tables(w: list[float], v: list[float]) -> None:
    joint = normalised(w)[:, None] * normalised(v)[None, :]
    assert prob.mutual_information(joint).item() == pytest.approx(0.0, abs=1e-12)


@SETTINGS
@given(st.lists(st.floats(0.0, 5.0), min_size=6, max_size=6).filter(lambda w: sum(w) > 0))
def test_mutual_information_nonnegative(w: list[float]) -> None:
    joint = normalised(w).reshape(2, 3)
    mi = prob.mutual_information(joint).item()
    assert mi >= 0.0
    # and bounded by the smaller marginal entropy
    hx = prob.entropy(joint.sum(1)).item()
    hy = prob.entropy(joint.sum(0)).item()
    assert mi <= min(hx, hy) + 1e-12


def test_mutual_information_histogram_matches_numpy(device: torch.device) -> None:
    g = torch.Generator().manual_seed(25)
    x = torch.randn(5000, generator=g, dtype=F64)
    y = 0.6 * x + 0.8 * torch.randn(5000, generator=g, dtype=F64)
    got = prob.mutual_information_histogram(x.to(device), y.to(device), bins=12)
    assert got.device == x.to(device).device
    counts, _, _ = np.histogram2d(x.numpy(), y.numpy(), bins=12)
    j = counts / counts.sum()
    expected = stats.entropy(j.sum(1)) + stats.entropy(j.sum(0)) - stats.entropy(j.ravel())
    assert got.item() == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.9])
def test_histogram_estimate_approaches_the_gaussian_formula(rho: float) -> None:
    n, bins = 200000, 30
    cov = t([[1.0, rho], [rho, 1.0]])
    xy = prob.sample_gaussian(t([0.0, 0.0]), cov, n, torch.Generator().manual_seed(26))
    est = prob.mutual_information_histogram(xy[:, 0], xy[:, 1], bins=bins).item()
    exact = prob.gaussian_mutual_information(t(rho)).item()
    # Plug-in bias is about (B - 1)^2 / (2N) = 0.002 upwards; binning loses information
    # downwards (more as rho -> 1). Both stay below 0.03 nats at these settings.
    assert est == pytest.approx(exact, abs=0.03)


def test_gaussian_mutual_information_closed_form(device: torch.device) -> None:
    rho = torch.linspace(-0.99, 0.99, 21, dtype=F64, device=device)
    got = prob.gaussian_mutual_information(rho)
    assert got.device == rho.device
    # Independent check: I = H(X) + H(Y) - H(X, Y) with SciPy's Gaussian entropies.
    expected = [
        2 * stats.norm.entropy() - stats.multivariate_normal([0, 0], [[1, r], [r, 1]]).entropy()
        for r in rho.cpu().numpy()
    ]
    np.testing.assert_allclose(got.cpu().numpy(), expected, rtol=1e-8, atol=1e-12)
    assert prob.gaussian_mutual_information(t(1.0)).item() == math.inf


def test_mutual_information_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="2-D table"):
        prob.mutual_information(torch.full((2, 2, 2), 0.125, dtype=F64))
    with pytest.raises(ValueError, match="sum to 1"):
        prob.mutual_information(torch.ones(2, 2, dtype=F64))
    with pytest.raises(ValueError, match="same nonzero length"):
        prob.mutual_information_histogram(torch.zeros(3, dtype=F64), torch.zeros(4, dtype=F64))
    with pytest.raises(ValueError, match="`bins`"):
        prob.mutual_information_histogram(torch.zeros(3, dtype=F64), torch.zeros(3, dtype=F64), 0)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        prob.gaussian_mutual_information(t(1.5))


# --------------------------------------------------------------------------------------
# Estimation, conditional Gaussians, Monte Carlo (Chapter 4, Sections 4.3, 4.5, 4.7, 4.10)
# --------------------------------------------------------------------------------------
def test_gaussian_mle_matches_scipy_fit_and_torch_var(device: torch.device) -> None:
    g = torch.Generator().manual_seed(0)
    x = (3.0 + 2.0 * torch.randn(50, 3, generator=g, dtype=F64)).to(device)
    mean, var = prob.gaussian_mle(x)
    assert mean.shape == (3,) and var.device == x.device
    for j in range(3):
        loc, scale = stats.norm.fit(x[:, j].cpu().numpy())  # scipy's MLE
        assert float(mean[j]) == pytest.approx(loc, rel=1e-10)
        assert float(var[j]) == pytest.approx(scale**2, rel=1e-8)
    torch.testing.assert_close(var, x.var(dim=0, correction=0))


def test_ml_variance_is_biased_by_n_minus_1_over_n() -> None:
    # 200,000 seeded data sets of N = 4 draws: the mean ML variance is sigma^2 (N - 1) / N
    data = 3.0 * torch.randn(200_000, 4, generator=torch.Generator().manual_seed(1), dtype=F64)
    _, var = prob.gaussian_mle(data.T)
    se = float(var.std()) / math.sqrt(len(var))
    assert abs(float(var.mean()) - 9.0 * 3 / 4) < 4 * se
    assert abs(float(var.mean()) * 4 / 3 - 9.0) < 4 * se * 4 / 3


@SETTINGS
@given(seed=st.integers(0, 1000), n=st.integers(0, 20))
def test_gaussian_mean_posterior_is_the_stationary_point_of_the_log_posterior(
    seed: int, n: int
) -> None:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, generator=g, dtype=F64) * 2 + 1
    noise_var, prior_mean, prior_var = 0.5 + float(torch.rand(1, generator=g)), -0.3, 0.7
    post_mean, post_var = prob.gaussian_mean_posterior(x, noise_var, prior_mean, prior_var)

    def log_post(mu: torch.Tensor) -> torch.Tensor:
        prior = torch.distributions.Normal(t(prior_mean), t(math.sqrt(prior_var))).log_prob(mu)
        like = torch.distributions.Normal(mu, t(math.sqrt(noise_var))).log_prob(x).sum()
        out: torch.Tensor = prior + like
        return out

    mu = post_mean.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(log_post(mu), mu, create_graph=True)
    (curv,) = torch.autograd.grad(grad, mu)
    assert abs(float(grad.detach())) < 1e-10  # the MAP estimate is where the log posterior is flat
    assert float(-1 / curv) == pytest.approx(float(post_var), rel=1e-10)  # Gaussian posterior


@SETTINGS
@given(seed=st.integers(0, 1000), d=st.integers(2, 5), m=st.integers(1, 4))
def test_gaussian_conditional_matches_the_precision_form_and_joint_over_marginal(
    seed: int, d: int, m: int
) -> None:
    m = min(m, d - 1)
    cov = random_spd(d, seed)
    g = torch.Generator().manual_seed(seed + 1)
    mean = torch.randn(d, generator=g, dtype=F64)
    x = torch.randn(d, generator=g, dtype=F64)
    k = d - m
    mean_a, cov_a = prob.gaussian_conditional(mean, cov, x[k:])
    # the precision-matrix form: Sigma_{a|b} = (Lambda_aa)^{-1},
    # mu_{a|b} = mu_a - Lambda_aa^{-1} Lambda_ab (x_b - mu_b)
    lam = torch.linalg.inv(cov)
    cov_ref = torch.linalg.inv(lam[:k, :k])
    mean_ref = mean[:k] - cov_ref @ lam[:k, k:] @ (x[k:] - mean[k:])
    torch.testing.assert_close(cov_a, cov_ref, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(mean_a, mean_ref, rtol=1e-9, atol=1e-10)
    # p(x_a | x_b) = p(x_a, x_b) / p(x_b), with torch.distributions' densities
    joint = torch.distributions.MultivariateNormal(mean, cov).log_prob(x)
    marginal_b = torch.distributions.MultivariateNormal(mean[k:], cov[k:, k:]).log_prob(x[k:])
    conditional = torch.distributions.MultivariateNormal(mean_a, cov_a).log_prob(x[:k])
    assert float(conditional) == pytest.approx(float(joint - marginal_b), abs=1e-9)


def test_gaussian_conditional_on_samples_and_device(device: torch.device) -> None:
    mean, cov = t([0.0, 1.0], device), t([[1.0, 0.8], [0.8, 2.0]], device)
    mean_a, cov_a = prob.gaussian_conditional(mean, cov, t([3.0], device))
    assert mean_a.device == mean.device
    torch.testing.assert_close(mean_a, t([0.8], device))  # 0 + 0.8 / 2 * (3 - 1)
    torch.testing.assert_close(cov_a, t([[1.0 - 0.32]], device))  # 1 - 0.8^2 / 2


def test_effective_sample_size_against_its_definition() -> None:
    w = torch.rand(1000, generator=torch.Generator().manual_seed(3), dtype=F64) ** 4
    kish = w.sum() ** 2 / (w**2).sum()
    torch.testing.assert_close(prob.effective_sample_size(torch.log(w)), kish)
    # invariant to scaling the weights, and stable where exp(log w) would overflow
    torch.testing.assert_close(prob.effective_sample_size(torch.log(w) + 1e4), kish)
    assert float(prob.effective_sample_size(torch.zeros(7, dtype=F64))) == pytest.approx(7.0)
    one = torch.full((5,), -math.inf, dtype=F64)
    one[2] = 0.0
    assert float(prob.effective_sample_size(one)) == pytest.approx(1.0)


@pytest.mark.parametrize("threshold", [2.0, 4.0])
def test_gaussian_tail_probability_is_unbiased_against_scipy(threshold: float) -> None:
    exact = stats.norm.sf(threshold)
    g = torch.Generator().manual_seed(4)
    runs = torch.stack([prob.gaussian_tail_probability(threshold, 5000, g) for _ in range(200)])
    se = float(runs.std()) / math.sqrt(200)
    assert abs(float(runs.mean()) - exact) < 4 * se
    # the per-sample relative standard deviation of the shifted proposal, in closed form
    rel_sd = math.sqrt(math.exp(threshold**2) * stats.norm.sf(2 * threshold) / exact**2 - 1)
    assert float(runs.std() / exact) == pytest.approx(rel_sd / math.sqrt(5000), rel=0.25)


def test_gaussian_tail_probability_with_shift_zero_is_plain_monte_carlo() -> None:
    z = torch.randn(1000, generator=torch.Generator().manual_seed(5), dtype=F64)
    got = prob.gaussian_tail_probability(0.5, 1000, torch.Generator().manual_seed(5), shift=0.0)
    assert float(got) == float((z > 0.5).double().mean())
    assert got.dtype == F64 and got.ndim == 0


def test_estimation_and_sampling_reject_bad_input() -> None:
    rows: list[tuple[object, type[Exception], str]] = [
        (lambda: prob.gaussian_mle(torch.zeros(0, dtype=F64)), ValueError, "at least one"),
        (lambda: prob.gaussian_mle(torch.tensor(1.0, dtype=F64)), ValueError, "dimension"),
        (lambda: prob.gaussian_mle(torch.ones(3, dtype=torch.int64)), TypeError, "floating"),
        (lambda: prob.gaussian_mean_posterior(t([1.0]), 0.0), ValueError, "`noise_var`"),
        (
            lambda: prob.gaussian_mean_posterior(t([1.0]), 1.0, prior_var=-1.0),
            ValueError,
            "`prior_var`",
        ),
        (lambda: prob.gaussian_mean_posterior(t([[1.0]]), 1.0), ValueError, "`x`"),
        (
            lambda: prob.gaussian_conditional(
                t([0.0, 0.0]), torch.eye(2, dtype=F64), t([1.0, 2.0])
            ),
            ValueError,
            "`x_b`",
        ),
        (
            lambda: prob.gaussian_conditional(t([0.0, 0.0]), t([[1.0, 2.0], [2.0, 1.0]]), t([1.0])),
            ValueError,
            "positive definite",
        ),
        (
            lambda: prob.effective_sample_size(torch.full((3,), -math.inf, dtype=F64)),
            ValueError,
            "all be -inf",
        ),
        (lambda: prob.effective_sample_size(t([0.0, math.nan])), ValueError, "NaN"),
        (lambda: prob.effective_sample_size(torch.zeros(2, 2, dtype=F64)), ValueError, "1-D"),
        (lambda: prob.gaussian_tail_probability(4.0, 0), ValueError, "`n`"),
        (lambda: prob.gaussian_tail_probability(math.inf, 10), ValueError, "`threshold`"),
        (lambda: prob.gaussian_tail_probability(4.0, 10, generator=3), TypeError, "`generator`"),  # type: ignore[arg-type]
    ]
    for call, error, pattern in rows:
        with pytest.raises(error, match=pattern):
            call()  # type: ignore[operator]
