"""Tests for dlbook.generative.flows against autograd Jacobians, torch.distributions and
numerical integration."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor

from dlbook import data, prob
from dlbook.generative import flows, metrics

F64 = torch.float64
SETTINGS = settings(max_examples=25, deadline=None)


def conditioner_for(dim: int, seed: int) -> Callable[[Tensor], tuple[Tensor, Tensor]]:
    """A fixed nonlinear conditioner in float64 (random weights, so s and t are not trivial)."""
    g = torch.Generator().manual_seed(seed)
    W1 = torch.randn(8, dim, generator=g, dtype=F64)
    W2 = torch.randn(2 * dim, 8, generator=g, dtype=F64) * 0.5

    def conditioner(h: Tensor) -> tuple[Tensor, Tensor]:
        out = torch.tanh(h @ W1.to(h.device).T) @ W2.to(h.device).T  # (N, 2D)
        s, t = out.chunk(2, dim=1)
        return s, t

    return conditioner


def random_flow(dim: int, seed: int, num_layers: int = 4) -> flows.RealNVP:
    """A RealNVP in float64 with random (non-zero) conditioner outputs and standardisation."""
    torch.manual_seed(seed)
    flow = flows.RealNVP(dim, num_layers=num_layers, hidden=16).double()
    with torch.no_grad():
        for layer in flow.layers:
            assert isinstance(layer, flows.AffineCoupling)
            layer.conditioner.out.weight.normal_(0, 0.5)
            layer.conditioner.out.bias.normal_(0, 0.5)
        flow.standardize.loc.normal_()
        flow.standardize.log_scale.normal_(0, 0.3)
    return flow


# ------------------------------------------------------------------ one coupling layer
@pytest.mark.parametrize("dim", [2, 3, 5])
def test_coupling_log_det_matches_autograd_jacobian(dim: int, device: torch.device) -> None:
    cond = conditioner_for(dim, seed=dim)
    mask = flows.checkerboard_masks(dim, 2)[1].to(device, F64)
    x = torch.randn(6, dim, generator=torch.Generator().manual_seed(0), dtype=F64).to(device)
    y, log_det = flows.affine_coupling(x, mask, cond)
    for i in range(x.shape[0]):
        jac = torch.autograd.functional.jacobian(
            lambda row: flows.affine_coupling(row[None], mask, cond)[0][0], x[i]
        )  # (D, D)
        expected = torch.linalg.slogdet(jac).logabsdet
        torch.testing.assert_close(log_det[i], expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(y * mask, x * mask, rtol=0, atol=0)  # kept coordinates exact
    assert y.device == x.device and log_det.shape == (6,)


@pytest.mark.parametrize("dim", [2, 4])
def test_coupling_inverse_is_exact_and_log_dets_cancel(dim: int, device: torch.device) -> None:
    cond = conditioner_for(dim, seed=10 + dim)
    mask = flows.checkerboard_masks(dim, 1)[0].to(device, F64)
    x = 3 * torch.randn(50, dim, generator=torch.Generator().manual_seed(1), dtype=F64).to(device)
    y, log_det = flows.affine_coupling(x, mask, cond)
    x_back, inv_log_det = flows.affine_coupling_inverse(y, mask, cond)
    torch.testing.assert_close(x_back, x, rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(inv_log_det, -log_det, rtol=0, atol=1e-14)
    # The inverse's log-determinant also agrees with its own autograd Jacobian.
    jac = torch.autograd.functional.jacobian(
        lambda row: flows.affine_coupling_inverse(row[None], mask, cond)[0][0], y[0]
    )
    torch.testing.assert_close(
        inv_log_det[0], torch.linalg.slogdet(jac).logabsdet, rtol=1e-12, atol=1e-12
    )


def test_coupling_doctest_closed_form() -> None:
    # s = log 2 on the free coordinate, t = 1: y2 = 2 x2 + 1, log det = log 2.
    mask = torch.tensor([1.0, 0.0], dtype=F64)

    def cond(h: Tensor) -> tuple[Tensor, Tensor]:
        return torch.full_like(h, math.log(2)), torch.ones_like(h)

    y, log_det = flows.affine_coupling(torch.tensor([[5.0, 3.0]], dtype=F64), mask, cond)
    assert y.tolist() == [[5.0, 7.0]]
    assert log_det.item() == pytest.approx(math.log(2), rel=1e-15)


def test_non_contiguous_input_works() -> None:
    cond = conditioner_for(3, seed=3)
    mask = flows.checkerboard_masks(3, 1)[0].to(F64)
    x = torch.randn(3, 7, generator=torch.Generator().manual_seed(2), dtype=F64).T  # (7, 3)
    assert not x.is_contiguous()
    y, log_det = flows.affine_coupling(x, mask, cond)
    y2, log_det2 = flows.affine_coupling(x.contiguous(), mask, cond)
    torch.testing.assert_close(y, y2, rtol=0, atol=0)
    torch.testing.assert_close(log_det, log_det2, rtol=0, atol=0)


BAD: list[tuple[str, Any, Any, type[Exception], str]] = [
    ("1-D x", torch.zeros(3), torch.ones(3), ValueError, "shape"),
    ("integer x", torch.zeros(2, 3, dtype=torch.int64), torch.ones(3), TypeError, "floating"),
    ("not a tensor", [[0.0, 1.0]], torch.ones(2), TypeError, "torch.Tensor"),
    ("mask of the wrong length", torch.zeros(2, 3), torch.ones(2), ValueError, "mask"),
    (
        "mask not 0/1",
        torch.zeros(2, 3),
        torch.tensor([0.0, 0.5, 1.0]),
        ValueError,
        "zeros and ones",
    ),
    ("mask on another device", torch.zeros(2, 3), torch.ones(3, device="meta"), ValueError, "meta"),
]


@pytest.mark.parametrize(("name", "x", "mask", "error", "match"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_rejected_clearly(
    name: str, x: Any, mask: Any, error: type[Exception], match: str
) -> None:
    def cond(h: Tensor) -> tuple[Tensor, Tensor]:
        return torch.zeros_like(h), torch.zeros_like(h)

    for fn in (flows.affine_coupling, flows.affine_coupling_inverse):
        with pytest.raises(error, match=match):
            fn(x, mask, cond)


# ------------------------------------------------------------------ the whole flow
@pytest.mark.parametrize("dim", [2, 5])
def test_flow_log_prob_matches_change_of_variables_with_autograd(dim: int) -> None:
    flow = random_flow(dim, seed=dim)
    x = torch.randn(8, dim, generator=torch.Generator().manual_seed(3), dtype=F64)
    # Chapter 4's function, its log-determinant from a full autograd Jacobian per point.
    normal = torch.distributions.MultivariateNormal(
        torch.zeros(dim, dtype=F64), torch.eye(dim, dtype=F64)
    )
    expected = prob.change_of_variables_log_pdf(
        x, normal.log_prob, lambda v: flow(v if v.ndim == 2 else v[None])[0].reshape(v.shape)
    )
    torch.testing.assert_close(flow.log_prob(x), expected, rtol=1e-11, atol=1e-11)
    _, log_det = flow(x)
    for i in range(3):
        jac = torch.autograd.functional.jacobian(lambda row: flow(row[None])[0][0], x[i])
        torch.testing.assert_close(
            log_det[i], torch.linalg.slogdet(jac).logabsdet, rtol=1e-11, atol=1e-11
        )


def test_flow_inverse_is_exact(device: torch.device) -> None:
    flow = random_flow(3, seed=7).to(device)
    z = torch.randn(100, 3, generator=torch.Generator().manual_seed(4), dtype=F64).to(device)
    x = flow.inverse(z)
    torch.testing.assert_close(flow(x)[0], z, rtol=1e-12, atol=1e-12)


def test_flow_density_integrates_to_one() -> None:
    # An untrained but non-trivial flow in 2-D: integrate exp(log p) on a fine grid.
    flow = random_flow(2, seed=11, num_layers=3)
    with torch.no_grad():
        flow.standardize.loc.zero_()
        flow.standardize.log_scale.fill_(math.log(0.7))
        # mass beyond the box: the base latent must be far out, check the extent below
        grid = torch.linspace(-8, 8, 801, dtype=F64)
        xx, yy = torch.meshgrid(grid, grid, indexing="ij")
        pts = torch.stack([xx.flatten(), yy.flatten()], dim=1)  # (801^2, 2)
        density = flow.log_prob(pts).exp()
    cell = float(grid[1] - grid[0]) ** 2
    assert density.sum().item() * cell == pytest.approx(1.0, abs=2e-3)


def test_untrained_flow_is_the_standardised_gaussian() -> None:
    # The conditioners' last layers start at zero, so a fresh flow is N(loc, diag(scale^2)).
    flow = flows.RealNVP(3, num_layers=4).double()
    loc, log_scale = (
        torch.tensor([1.0, -2.0, 0.5], dtype=F64),
        torch.tensor([0.1, -0.3, 0.2], dtype=F64),
    )
    with torch.no_grad():
        flow.standardize.loc.copy_(loc)
        flow.standardize.log_scale.copy_(log_scale)
    x = torch.randn(10, 3, generator=torch.Generator().manual_seed(5), dtype=F64)
    expected = torch.distributions.Normal(loc, log_scale.exp()).log_prob(x).sum(1)
    torch.testing.assert_close(flow.log_prob(x), expected, rtol=1e-13, atol=1e-13)


def test_sample_is_reproducible_and_follows_the_generator(device: torch.device) -> None:
    flow = random_flow(2, seed=1).to(device)
    a = flow.sample(20, generator=torch.Generator().manual_seed(0))
    b = flow.sample(20, generator=torch.Generator().manual_seed(0))
    c = flow.sample(20, generator=torch.Generator().manual_seed(1))
    assert a.shape == (20, 2) and a.device.type == device.type
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.allclose(a, c)


@pytest.fixture(autouse=True)
def one_thread() -> Any:
    """Tiny networks train fastest (and least noisily on a loaded machine) on one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_training_raises_the_held_out_likelihood_of_two_moons() -> None:
    X, _ = data.two_moons(1000, noise=0.05, seed=0)
    X_test, _ = data.two_moons(500, noise=0.05, seed=1)
    torch.manual_seed(0)
    flow = flows.RealNVP(2, num_layers=4, hidden=32)
    flow.standardize.fit(X)
    before = flow.log_prob(X_test).mean().item()  # the standardised Gaussian
    losses = flows.train_flow(
        flow, X, steps=200, batch_size=128, generator=torch.Generator().manual_seed(0)
    )
    after = flow.log_prob(X_test).mean().item()
    assert len(losses) == 200 and all(math.isfinite(v) for v in losses)
    # A Gaussian fitted to the moons scores about -1.9 nats; the flow must do clearly better.
    assert before < -1.5 and after > before + 0.8


def test_state_dict_round_trip() -> None:
    a, b = random_flow(2, seed=0), flows.RealNVP(2, num_layers=4, hidden=16).double()
    b.load_state_dict(a.state_dict())
    x = torch.randn(5, 2, dtype=F64)
    torch.testing.assert_close(a.log_prob(x), b.log_prob(x), rtol=0, atol=0)


@SETTINGS
@given(
    dim=st.integers(2, 6),
    seed=st.integers(0, 2**16),
    scale=st.floats(0.1, 10.0),
)
def test_law_inverse_undoes_forward_and_log_dets_are_opposite(
    dim: int, seed: int, scale: float
) -> None:
    cond = conditioner_for(dim, seed)
    mask = flows.checkerboard_masks(dim, 2)[seed % 2].to(F64)
    x = scale * torch.randn(4, dim, generator=torch.Generator().manual_seed(seed), dtype=F64)
    y, log_det = flows.affine_coupling(x, mask, cond)
    x_back, inv = flows.affine_coupling_inverse(y, mask, cond)
    torch.testing.assert_close(x_back, x, rtol=1e-12, atol=1e-12 * scale)
    torch.testing.assert_close(inv, -log_det, rtol=0, atol=1e-13)


# ---------------------------------------------------------- Chapter 17's likelihood measures
def test_dequantize_puts_each_value_in_its_own_cell() -> None:
    counts = torch.randint(0, 17, (500, 4), generator=torch.Generator().manual_seed(0))
    y = metrics.dequantize(counts.double() / 16, 17, generator=torch.Generator().manual_seed(1))
    assert torch.equal(torch.floor(y * 17).long(), counts)
    assert abs((y * 17 - counts).mean().item() - 0.5) < 0.03  # uniform within the cell
    with pytest.raises(ValueError, match="multiples"):
        metrics.dequantize(torch.full((2, 2), 0.3), 17, generator=torch.Generator())


def test_discrete_bound_is_exact_for_the_uniform_density() -> None:
    # The uniform density on [0, 1]^D puts probability 1/L^D on every cell: the bound is tight.
    bound = metrics.discrete_log_likelihood_bound(torch.zeros(3, dtype=F64), dim=64, levels=17)
    torch.testing.assert_close(bound, torch.full((3,), math.log(17.0**-64), dtype=F64))


def test_kde_log_likelihood_matches_a_direct_computation() -> None:
    g = torch.Generator().manual_seed(2)
    X, V, Te = (torch.randn(n, 2, generator=g, dtype=F64) for n in (200, 100, 50))
    ll, h = metrics.kde_log_likelihood(X, V, Te, bandwidths=(0.05, 0.3, 3.0))
    assert h == 0.3
    sq = torch.cdist(Te, X) ** 2  # (50, 200)
    direct = torch.logsumexp(-0.5 * sq / h**2, dim=1) - math.log(200) - math.log(2 * math.pi * h**2)
    torch.testing.assert_close(ll, direct, rtol=1e-10, atol=1e-10)


def test_gmm_with_one_component_is_the_fitted_gaussian() -> None:
    g = torch.Generator().manual_seed(3)
    X, V, Te = (
        torch.randn(n, 2, generator=g, dtype=F64)
        @ torch.tensor([[2.0, 0.0], [1.0, 0.5]], dtype=F64)
        for n in (400, 100, 50)
    )
    ll, k = metrics.gmm_log_likelihood(X, V, Te, n_components=(1,))
    mean, cov = X.mean(0), torch.cov(X.T, correction=0) + 1e-6 * torch.eye(2, dtype=F64)
    expected = torch.distributions.MultivariateNormal(mean, cov).log_prob(Te)
    assert k == 1
    torch.testing.assert_close(ll, expected, rtol=1e-8, atol=1e-8)


def test_gmm_chooses_the_number_of_clusters_on_validation() -> None:
    X = torch.cat([data.gaussian_ring(300, modes=3, std=0.1, seed=s)[0] for s in range(3)]).double()
    _, k = metrics.gmm_log_likelihood(X[:600], X[600:800], X[800:], n_components=(1, 3))
    assert k == 3


def test_cpu_seconds_counts_work() -> None:
    result, seconds = metrics.cpu_seconds(lambda: sum(i * i for i in range(200_000)))
    assert result == sum(i * i for i in range(200_000)) and 0 < seconds < 5
