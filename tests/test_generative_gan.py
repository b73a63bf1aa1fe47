"""Tests for dlbook.generative.gan against PyTorch's losses, SciPy and closed forms."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize
from scipy.spatial.distance import jensenshannon

from dlbook.generative import gan

F64 = torch.float64
SETTINGS = settings(max_examples=30, deadline=None)


def randn(seed: int, *shape: int, device: torch.device | str = "cpu") -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=F64).to(device)


# ------------------------------------------------------------------ losses
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_discriminator_loss_is_binary_cross_entropy(seed: int, device: torch.device) -> None:
    real, fake = 3 * randn(seed, 7, device=device), 3 * randn(seed + 10, 5, device=device)
    expected = F.binary_cross_entropy_with_logits(
        real, torch.ones_like(real)
    ) + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
    got = gan.discriminator_loss(real, fake)
    assert got.device == real.device and got.dtype == F64
    torch.testing.assert_close(got, expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("big", [1e4, 1e8])
def test_losses_are_exact_at_extreme_logits(dtype: torch.dtype, big: float) -> None:
    a = torch.tensor([big, -big], dtype=dtype)
    # real logits +big (correct, loss 0) and -big (wrong, loss big); fake the same.
    loss = gan.discriminator_loss(a, a)
    assert torch.isfinite(loss) and loss.item() == pytest.approx((big + big) / 2, rel=1e-6)
    assert gan.generator_loss(a).item() == pytest.approx(big / 2, rel=1e-6)
    assert gan.generator_loss(a, kind="saturating").item() == pytest.approx(-big / 2, rel=1e-6)
    a.requires_grad_(True)
    gan.generator_loss(a).backward()
    assert a.grad is not None and torch.isfinite(a.grad).all()


def test_generator_losses_match_log_sigmoid_forms() -> None:
    a = 4 * randn(3, 50)
    sigma = torch.sigmoid(a)
    torch.testing.assert_close(gan.generator_loss(a), -torch.log(sigma).mean())
    torch.testing.assert_close(gan.generator_loss(a, kind="saturating"), torch.log1p(-sigma).mean())


def test_generator_loss_gradients_are_the_stated_closed_forms() -> None:
    # d/da of the saturating loss is -sigma(a)/M, of the non-saturating -(1 - sigma(a))/M.
    a = torch.linspace(-8, 8, 17, dtype=F64, requires_grad=True)
    (g_sat,) = torch.autograd.grad(gan.generator_loss(a, kind="saturating"), a)
    (g_ns,) = torch.autograd.grad(gan.generator_loss(a), a)
    s = torch.sigmoid(a.detach())
    torch.testing.assert_close(g_sat, -s / 17, rtol=1e-12, atol=1e-16)
    torch.testing.assert_close(g_ns, -(1 - s) / 17, rtol=1e-12, atol=1e-16)
    # The point of the non-saturating loss: far more gradient where D rejects (a << 0).
    assert abs(g_ns[0]) > 1000 * abs(g_sat[0])


# ------------------------------------------------------------------ optimal discriminator
@SETTINGS
@given(st.floats(0.0, 5.0), st.floats(0.0, 5.0))
def test_optimal_discriminator_maximises_the_pointwise_value(p: float, q: float) -> None:
    d_star = gan.optimal_discriminator(torch.tensor([p], dtype=F64), torch.tensor([q], dtype=F64))
    assert 0.0 <= d_star.item() <= 1.0
    flipped = gan.optimal_discriminator(torch.tensor([q], dtype=F64), torch.tensor([p], dtype=F64))
    assert d_star.item() + flipped.item() == pytest.approx(1.0, abs=1e-12)
    if p > 1e-3 and q > 1e-3:
        best = optimize.minimize_scalar(
            lambda d: -(p * math.log(d) + q * math.log(1 - d)),
            bounds=(1e-12, 1 - 1e-12),
            method="bounded",
            options={"xatol": 1e-10},
        )
        assert d_star.item() == pytest.approx(best.x, abs=1e-6)


def test_optimal_discriminator_where_densities_vanish() -> None:
    p = torch.tensor([0.0, 2.0, 0.0], dtype=F64)
    q = torch.tensor([0.0, 0.0, 1.0], dtype=F64)
    assert gan.optimal_discriminator(p, q).tolist() == [0.5, 1.0, 0.0]


def gaussian(x: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    return torch.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


@pytest.mark.parametrize(("mean", "std"), [(0.0, 1.0), (1.0, 1.0), (3.0, 0.5), (8.0, 1.0)])
def test_value_at_the_optimum_is_two_js_minus_log_four(mean: float, std: float) -> None:
    x = torch.linspace(-12, 20, 32_001, dtype=F64)
    p, q = gaussian(x, 0.0, 1.0), gaussian(x, mean, std)
    # SciPy's Jensen-Shannon distance of the discretised densities, squared, is the
    # divergence in nats (a Riemann sum; the grid is fine enough for 1e-6).
    js = jensenshannon(p.numpy(), q.numpy()) ** 2
    assert gan.jensen_shannon(p, q, x).item() == pytest.approx(js, abs=1e-6)
    value = gan.gan_value(p, q, x).item()
    assert value == pytest.approx(2 * js - math.log(4), abs=2e-6)
    assert -math.log(4) - 1e-9 <= value <= 1e-9


def test_gan_value_is_minus_log_four_for_equal_and_zero_for_disjoint() -> None:
    x = torch.linspace(-1, 3, 4001, dtype=F64)
    p = ((x >= 0) & (x < 1)).double()
    assert gan.gan_value(p, p, x).item() == pytest.approx(-math.log(4), abs=1e-3)
    q = ((x > 1.5) & (x <= 2.5)).double()
    assert gan.gan_value(p, q, x).item() == pytest.approx(0.0, abs=1e-12)
    assert gan.jensen_shannon(p, q, x).item() == pytest.approx(math.log(2), abs=1e-3)


# ------------------------------------------------------------------ packing
@pytest.mark.parametrize("m", [1, 2, 3, 6])
def test_pack_concatenates_consecutive_samples(m: int) -> None:
    x = randn(0, 12, 5)
    expected = torch.stack([torch.cat(list(x[b * m : (b + 1) * m])) for b in range(12 // m)])
    assert torch.equal(gan.pack(x, m), expected)
    xt = x.T.contiguous().T  # non-contiguous input works
    assert torch.equal(gan.pack(xt, m), expected)


def test_packed_discriminator_is_an_mlp_on_the_concatenation() -> None:
    torch.manual_seed(0)
    net = gan.Discriminator(3, hidden=8, depth=2, pack=2).double()
    x = randn(1, 10, 3)
    expected = net.net(torch.cat([x[0::2], x[1::2]], dim=1)).squeeze(1)
    torch.testing.assert_close(net(x), expected)
    assert net.net[0].in_features == 6


# ------------------------------------------------------------------ networks and training
def test_generator_sample_is_reproducible_and_gradient_free(device: torch.device) -> None:
    torch.manual_seed(0)
    net = gan.Generator(2, latent_dim=3, hidden=8, depth=2).to(device)
    a = net.sample(6, generator=torch.Generator().manual_seed(4))
    b = net.sample(6, generator=torch.Generator().manual_seed(4))
    assert a.shape == (6, 2) and a.device.type == device.type and not a.requires_grad
    assert torch.equal(a, b) and net.training
    z = torch.randn(6, 3, generator=torch.Generator().manual_seed(4)).to(device)
    torch.testing.assert_close(a, net(z).detach())


def test_sigmoid_generator_outputs_pixels() -> None:
    net = gan.Generator(64, latent_dim=4, hidden=8, depth=1, output="sigmoid")
    out = net.sample(5, generator=torch.Generator().manual_seed(0))
    assert ((out > 0) & (out < 1)).all()


def small_pair(pack: int = 1) -> tuple[gan.Generator, gan.Discriminator]:
    torch.manual_seed(0)
    return gan.Generator(1, latent_dim=1, hidden=16, depth=2), gan.Discriminator(
        1, hidden=16, depth=2, pack=pack
    )


@pytest.fixture
def one_thread() -> Any:
    # Tiny networks: several threads only synchronise (and crawl on a busy machine).
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.usefixtures("one_thread")
def test_train_gan_is_reproducible_and_moves_toward_the_data(device: torch.device) -> None:
    data = 3.0 + 0.5 * torch.randn(2000, 1, generator=torch.Generator().manual_seed(0))
    finals = []
    for _ in range(2):
        G, D = small_pair()
        G, D = G.to(device), D.to(device)
        before = G.sample(1000, generator=torch.Generator().manual_seed(9)).mean().item()
        history = gan.train_gan(
            G,
            D,
            data,
            steps=300,
            batch_size=64,
            lr=5e-3,
            generator=torch.Generator().manual_seed(1),
        )
        after = G.sample(1000, generator=torch.Generator().manual_seed(9))
        finals.append(after)
    assert len(history["d_loss"]) == 300 and len(history["g_loss"]) == 300
    assert abs(before - 3.0) > 2.0 and abs(after.mean().item() - 3.0) < 0.5
    torch.testing.assert_close(finals[0], finals[1])  # the same seed gives the same run


def test_train_gan_with_packing_and_decay_runs() -> None:
    G, D = small_pair(pack=3)
    history = gan.train_gan(
        G,
        D,
        torch.randn(100, 1),
        steps=5,
        batch_size=4,
        lr=1e-3,
        generator=torch.Generator().manual_seed(0),
        loss="saturating",
        lr_end=0.0,
    )
    assert all(math.isfinite(v) for v in history["d_loss"] + history["g_loss"])


def test_train_gan_schedule_holds_then_falls_with_two_rates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Record the rate of every Adam step: the generator's and the discriminator's steps
    # alternate, the discriminator's first. With steps = 5 and hold = 0.4 the rate is
    # constant for steps 0-2 (start = int(5 * 0.4) = 2), then falls linearly to lr_end
    # at step 4: lr, lr, lr, (lr + lr_end) / 2, lr_end; the discriminator's is 4 times it.
    seen: list[float] = []
    original = torch.optim.Adam.step

    def recording_step(self: torch.optim.Adam, *args: Any, **kwargs: Any) -> Any:
        seen.append(float(self.param_groups[0]["lr"]))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", recording_step)
    G, D = small_pair()
    gan.train_gan(
        G,
        D,
        torch.randn(50, 1),
        steps=5,
        batch_size=4,
        lr=1e-3,
        lr_end=2e-4,
        discriminator_lr=4e-3,
        hold=0.4,
        generator=torch.Generator().manual_seed(0),
    )
    generator_rates = [1e-3, 1e-3, 1e-3, 6e-4, 2e-4]
    np.testing.assert_allclose(seen[1::2], generator_rates, rtol=1e-12)
    np.testing.assert_allclose(seen[0::2], [4 * r for r in generator_rates], rtol=1e-12)


# ------------------------------------------------------------------ bad input
Z = torch.zeros(4, dtype=F64)
G1, D1 = small_pair()
GOOD_TRAIN: dict[str, Any] = {
    "steps": 1,
    "batch_size": 2,
    "lr": 1e-3,
    "generator": torch.Generator().manual_seed(0),
}
DATA = torch.zeros(10, 1)
BAD: list[tuple[str, Any, tuple[Any, ...], dict[str, Any], type[Exception], str]] = [
    ("d_loss list", gan.discriminator_loss, ([0.0], Z), {}, TypeError, "torch.Tensor"),
    ("d_loss int", gan.discriminator_loss, (Z.long(), Z), {}, TypeError, "floating-point"),
    ("d_loss empty", gan.discriminator_loss, (Z[:0], Z), {}, ValueError, "at least one"),
    ("d_loss devices", gan.discriminator_loss, (Z, Z.to("meta")), {}, ValueError, "device"),
    ("g_loss kind", gan.generator_loss, (Z,), {"kind": "minimax"}, ValueError, "kind"),
    ("d_star negative", gan.optimal_discriminator, (-Z - 1, Z), {}, ValueError, "nonnegative"),
    ("d_star shapes", gan.optimal_discriminator, (Z, Z[:2]), {}, ValueError, "same shape"),
    ("d_star dtypes", gan.optimal_discriminator, (Z, Z.float()), {}, TypeError, "same dtype"),
    ("d_star devices", gan.optimal_discriminator, (Z, Z.to("meta")), {}, ValueError, "device"),
    ("value grid", gan.gan_value, (Z, Z, Z), {}, ValueError, "increasing"),
    ("value grid length", gan.gan_value, (Z, Z, Z[:3]), {}, ValueError, "same length"),
    ("pack ndim", gan.pack, (Z, 2), {}, ValueError, "(N, D)"),
    ("pack multiple", gan.pack, (torch.zeros(5, 2), 2), {}, ValueError, "multiple"),
    ("pack degree", gan.pack, (torch.zeros(4, 2), 0), {}, ValueError, "num_packed"),
    ("train nets", gan.train_gan, (D1, G1, DATA), GOOD_TRAIN, TypeError, "Generator"),
    ("train data int", gan.train_gan, (G1, D1, DATA.long()), GOOD_TRAIN, TypeError, "floating"),
    (
        "train data shape",
        gan.train_gan,
        (G1, D1, torch.zeros(10, 3)),
        GOOD_TRAIN,
        ValueError,
        "shape",
    ),
    ("train steps", gan.train_gan, (G1, D1, DATA), {**GOOD_TRAIN, "steps": 0}, ValueError, "steps"),
    ("train lr", gan.train_gan, (G1, D1, DATA), {**GOOD_TRAIN, "lr": -1.0}, ValueError, "lr"),
    ("train loss", gan.train_gan, (G1, D1, DATA), {**GOOD_TRAIN, "loss": "w"}, ValueError, "loss"),
    (
        "train d lr",
        gan.train_gan,
        (G1, D1, DATA),
        {**GOOD_TRAIN, "discriminator_lr": 0.0},
        ValueError,
        "discriminator_lr",
    ),
    ("train hold", gan.train_gan, (G1, D1, DATA), {**GOOD_TRAIN, "hold": 1.0}, ValueError, "hold"),
    (
        "train seed",
        gan.train_gan,
        (G1, D1, DATA),
        {**GOOD_TRAIN, "generator": 0},
        TypeError,
        "Generator",
    ),
    ("generator z", G1, (torch.zeros(3, 2),), {}, ValueError, "shape"),
    ("generator output", gan.Generator, (2,), {"output": "tanh"}, ValueError, "output"),
    ("discriminator pack", gan.Discriminator, (2,), {"pack": 0}, ValueError, "pack"),
]


@pytest.mark.parametrize(
    ("name", "function", "args", "kwargs", "error", "match"), BAD, ids=[b[0] for b in BAD]
)
def test_bad_input_gets_a_clear_error(
    name: str,
    function: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    with pytest.raises(error, match=match.replace("(", r"\(").replace(")", r"\)")):
        function(*args, **kwargs)


def test_numpy_is_not_needed_for_packing() -> None:
    # Regression guard: packing keeps dtype and device.
    x = torch.zeros(4, 2, dtype=torch.float16)
    assert gan.pack(x, 2).dtype == torch.float16
    assert np.asarray(gan.pack(x, 4).shape).tolist() == [1, 8]


@pytest.mark.usefixtures("one_thread")
def test_fit_and_sample_is_train_gan_with_the_chapter_recipe() -> None:
    data = torch.randn(500, 2, generator=torch.Generator().manual_seed(3))
    state = torch.get_rng_state()
    got = gan.fit_and_sample(data, seed=4, num_samples=7, steps=15, pack=2)
    assert torch.equal(torch.get_rng_state(), state)  # the caller's random state is untouched
    torch.manual_seed(4)
    G = gan.Generator(2, latent_dim=2, hidden=64, depth=3)
    D = gan.Discriminator(2, hidden=64, depth=3, pack=2)
    gan.train_gan(
        G,
        D,
        data,
        steps=15,
        batch_size=128,
        lr=2e-3,
        lr_end=0.0,
        generator=torch.Generator().manual_seed(4),
    )
    expected = G.sample(7, generator=torch.Generator().manual_seed(1004))
    assert got.shape == (7, 2) and torch.equal(got, expected)


# ------------------------------------------------------------------ WGAN-GP and averaging
def mlp_critic(pack: int = 1) -> gan.Discriminator:
    torch.manual_seed(5)
    return gan.Discriminator(2, hidden=6, depth=2, pack=pack).double()


@pytest.mark.parametrize("pack", [1, 2])
def test_gradient_penalty_matches_finite_differences(pack: int) -> None:
    # The reference: the same interpolates (same seed), each output's gradient with
    # respect to its own m rows by central differences in float64, then the penalty.
    critic = mlp_critic(pack)
    real, fake = randn(0, 6, 2), randn(1, 6, 2)
    got = gan.gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(7))
    eps = torch.rand(6 // pack, 1, generator=torch.Generator().manual_seed(7))
    eps = eps.double().repeat_interleave(pack, dim=0)  # one weight per critic input
    mixed = eps * real + (1 - eps) * fake  # (6, 2)
    h, norms = 1e-6, []
    with torch.no_grad():
        for b in range(6 // pack):
            grad = []
            for row in range(b * pack, (b + 1) * pack):
                for col in range(2):
                    up, down = mixed.clone(), mixed.clone()
                    up[row, col] += h
                    down[row, col] -= h
                    grad.append(((critic(up)[b] - critic(down)[b]) / (2 * h)).item())
            norms.append(math.sqrt(sum(g * g for g in grad)))
    expected = sum((n - 1) ** 2 for n in norms) / len(norms)
    assert got.item() == pytest.approx(expected, rel=1e-7, abs=1e-10)


@pytest.mark.parametrize("pack", [1, 2, 3])
def test_packed_interpolates_lie_on_the_segment_between_packed_inputs(pack: int) -> None:
    # Gulrajani et al. interpolate the critic's inputs: with packing, the m rows of one
    # input share their epsilon, so the packed interpolate is on the packed segment.
    seen: list[torch.Tensor] = []

    def critic(x: torch.Tensor) -> torch.Tensor:
        seen.append(x.detach().clone())
        return gan.pack(x, pack).sum(dim=1)

    critic.pack = pack  # type: ignore[attr-defined]
    real, fake = randn(0, 12, 2), randn(1, 12, 2)
    gan.gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(3))
    ratio = (seen[0] - fake) / (real - fake)  # (12, 2): epsilon of each coordinate
    groups = ratio.reshape(12 // pack, 2 * pack)
    torch.testing.assert_close(groups, groups[:, :1].expand_as(groups))
    assert groups[:, 0].unique().numel() == 12 // pack  # and differ between inputs


@pytest.mark.parametrize("pack", [1, 3])
def test_gradient_penalty_of_a_linear_critic_is_closed_form(pack: int) -> None:
    # f(x_(b)) = w . vec(x_(b)): the gradient is w wherever one looks, so
    # Omega = (|w| - 1)^2 and dOmega/dw = 2 (|w| - 1) w / |w| (the graph is kept).
    w = randn(2, 2 * pack).requires_grad_(True)

    def critic(x: torch.Tensor) -> torch.Tensor:
        return gan.pack(x, pack) @ w

    critic.pack = pack  # type: ignore[attr-defined]
    omega = gan.gradient_penalty(
        critic, randn(3, 6, 2), randn(4, 6, 2), generator=torch.Generator().manual_seed(0)
    )
    norm = w.detach().norm()
    torch.testing.assert_close(omega, (norm - 1) ** 2)
    omega.backward()
    assert w.grad is not None
    torch.testing.assert_close(w.grad, 2 * (norm - 1) * w.detach() / norm)


def test_gradient_penalty_detaches_fake_and_follows_the_generator() -> None:
    critic = mlp_critic()
    fake = randn(1, 4, 2).requires_grad_(True)
    one = gan.gradient_penalty(
        critic, randn(0, 4, 2), fake, generator=torch.Generator().manual_seed(1)
    )
    two = gan.gradient_penalty(
        critic, randn(0, 4, 2), fake, generator=torch.Generator().manual_seed(1)
    )
    three = gan.gradient_penalty(
        critic, randn(0, 4, 2), fake, generator=torch.Generator().manual_seed(2)
    )
    assert torch.equal(one, two) and not torch.equal(one, three)
    one.backward()
    assert fake.grad is None  # only the critic is penalised


@pytest.mark.usefixtures("one_thread")
def test_wgan_gp_moves_toward_the_data() -> None:
    # 2-D data: in one dimension a critic that starts with the wrong slope cannot turn
    # round without passing through zero gradient, which the penalty forbids (a local
    # optimum of the critic's loss); in two it can rotate.
    g = torch.Generator().manual_seed(0)
    data = torch.tensor([3.0, -2.0]) + 0.5 * torch.randn(2000, 2, generator=g)
    torch.manual_seed(0)
    G = gan.Generator(2, latent_dim=2, hidden=16, depth=2)
    D = gan.Discriminator(2, hidden=16, depth=2)
    target = torch.tensor([3.0, -2.0])
    before = G.sample(1000, generator=torch.Generator().manual_seed(9)).mean(0)
    history = gan.train_gan(
        G,
        D,
        data,
        steps=200,
        batch_size=64,
        lr=2e-3,
        betas=(0.5, 0.9),
        objective="wgan-gp",
        critic_steps=3,
        generator=torch.Generator().manual_seed(1),
    )
    after = G.sample(1000, generator=torch.Generator().manual_seed(9)).mean(0)
    assert len(history["d_loss"]) == 200
    assert (before - target).norm() > 3.0 and (after - target).norm() < 0.5


def test_critic_steps_take_that_many_discriminator_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    original = torch.optim.Adam.step

    def counting_step(self: torch.optim.Adam, *args: Any, **kwargs: Any) -> Any:
        calls.append(len(self.param_groups[0]["params"]))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", counting_step)
    G, D = small_pair()
    gan.train_gan(
        G,
        D,
        torch.randn(50, 1),
        steps=2,
        batch_size=4,
        lr=1e-3,
        critic_steps=3,
        generator=torch.Generator().manual_seed(0),
    )
    n_d, n_g = len(list(D.parameters())), len(list(G.parameters()))
    assert calls == [n_d, n_d, n_d, n_g] * 2


@pytest.mark.parametrize("beta", [0.5, 0.9])
def test_ema_after_one_step_is_the_weighted_mean_of_start_and_end(beta: float) -> None:
    # After one generator step the average is beta * theta_0 + (1 - beta) * theta_1,
    # with theta_1 the weights of the same run without averaging.
    kwargs: dict[str, Any] = {"steps": 1, "batch_size": 8, "lr": 0.05}
    G0, D0 = small_pair()
    start = {k: v.clone() for k, v in G0.state_dict().items()}
    gan.train_gan(G0, D0, torch.randn(40, 1), generator=torch.Generator().manual_seed(2), **kwargs)
    G1, D1_ = small_pair()
    gan.train_gan(
        G1, D1_, torch.randn(40, 1), generator=torch.Generator().manual_seed(2), ema=beta, **kwargs
    )
    for key, end in G0.state_dict().items():
        assert not torch.equal(end, start[key])
        torch.testing.assert_close(G1.state_dict()[key], beta * start[key] + (1 - beta) * end)


BAD_WGAN: list[tuple[str, Any, tuple[Any, ...], dict[str, Any], type[Exception], str]] = [
    (
        "gp list",
        gan.gradient_penalty,
        (D1, [0.0], DATA),
        {"generator": torch.Generator()},
        TypeError,
        "torch.Tensor",
    ),
    (
        "gp int",
        gan.gradient_penalty,
        (D1, DATA.long(), DATA),
        {"generator": torch.Generator()},
        TypeError,
        "floating",
    ),
    (
        "gp shapes",
        gan.gradient_penalty,
        (D1, DATA, DATA[:4]),
        {"generator": torch.Generator()},
        ValueError,
        "same shape",
    ),
    (
        "gp devices",
        gan.gradient_penalty,
        (D1, DATA, DATA.to("meta")),
        {"generator": torch.Generator()},
        ValueError,
        "device",
    ),
    (
        "gp generator",
        gan.gradient_penalty,
        (D1, DATA, DATA),
        {"generator": 0},
        TypeError,
        "Generator",
    ),
    (
        "gp output",
        gan.gradient_penalty,
        (lambda x: x, DATA, DATA),
        {"generator": torch.Generator()},
        ValueError,
        "one output",
    ),
    (
        "train objective",
        gan.train_gan,
        (G1, D1, DATA),
        {**GOOD_TRAIN, "objective": "w"},
        ValueError,
        "objective",
    ),
    (
        "train penalty",
        gan.train_gan,
        (G1, D1, DATA),
        {**GOOD_TRAIN, "penalty": -1.0},
        ValueError,
        "penalty",
    ),
    (
        "train critic steps",
        gan.train_gan,
        (G1, D1, DATA),
        {**GOOD_TRAIN, "critic_steps": 0},
        ValueError,
        "critic_steps",
    ),
    ("train ema", gan.train_gan, (G1, D1, DATA), {**GOOD_TRAIN, "ema": 1.0}, ValueError, "ema"),
]


@pytest.mark.parametrize(
    ("name", "function", "args", "kwargs", "error", "match"), BAD_WGAN, ids=[b[0] for b in BAD_WGAN]
)
def test_bad_wgan_input_gets_a_clear_error(
    name: str,
    function: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    with pytest.raises(error, match=match):
        function(*args, **kwargs)


# ------------------------------------------------------------------ Jacobian-based truncation
def linear(net: gan.Generator, i: int) -> torch.nn.Linear:
    layer = net.net[i]
    assert isinstance(layer, torch.nn.Linear)
    return layer


def jacobians_by_autograd(net: gan.Generator, z: torch.Tensor) -> torch.Tensor:
    """Each code's Jacobian from torch.autograd.functional.jacobian, one code at a time."""
    return torch.stack(
        [torch.autograd.functional.jacobian(lambda v: net(v[None])[0], row) for row in z]
    )  # (N, D, latent_dim)


def test_jacobian_norm_matches_per_code_autograd_jacobians(device: torch.device) -> None:
    torch.manual_seed(0)
    net = gan.Generator(3, latent_dim=4, hidden=16, depth=3).double().to(device)
    z = randn(1, 40, 4, device=device)
    expected = jacobians_by_autograd(net, z).flatten(1).norm(dim=1)
    got = gan.jacobian_norm(net, z)
    assert got.shape == (40,) and not got.requires_grad and got.device.type == device.type
    torch.testing.assert_close(got, expected)
    with torch.no_grad():  # it computes its own gradients under no_grad as well
        torch.testing.assert_close(gan.jacobian_norm(net, z), expected)


def test_jacobian_norm_of_a_linear_generator_is_the_weight_products_norm() -> None:
    # With every ReLU active (large biases) G is affine and J = W3 W2 W1 at every code.
    torch.manual_seed(1)
    net = gan.Generator(2, latent_dim=3, hidden=5, depth=2).double()
    with torch.no_grad():
        linear(net, 0).bias.fill_(100.0)
        linear(net, 2).bias.fill_(100.0)
    w1, w2, w3 = (linear(net, i).weight for i in (0, 2, 4))
    expected = torch.linalg.matrix_norm(w3 @ w2 @ w1).detach()
    got = gan.jacobian_norm(net, randn(2, 6, 3))
    torch.testing.assert_close(got, expected.expand(6))


@pytest.mark.parametrize("keep", [0.5, 0.8])
def test_truncated_sample_keeps_the_codes_of_smallest_jacobian_norm(keep: float) -> None:
    torch.manual_seed(2)
    net = gan.Generator(2, latent_dim=2, hidden=16, depth=2).double()
    got = gan.truncated_sample(net, 30, keep=keep, generator=torch.Generator().manual_seed(7))
    n = math.ceil(30 / keep)
    z = torch.randn(n, 2, generator=torch.Generator().manual_seed(7)).double()
    norms = jacobians_by_autograd(net, z).flatten(1).norm(dim=1).numpy()
    kept = np.sort(np.argsort(norms, kind="stable")[:30])  # the 30 smallest, in drawn order
    assert got.shape == (30, 2) and not got.requires_grad and net.training
    torch.testing.assert_close(got, net(z[kept]).detach())
    assert norms[kept].max() <= np.delete(norms, kept).min()


def test_truncated_sample_with_keep_one_is_plain_sampling() -> None:
    torch.manual_seed(3)
    net = gan.Generator(2, hidden=8, depth=2)
    got = gan.truncated_sample(net, 9, keep=1.0, generator=torch.Generator().manual_seed(5))
    assert torch.equal(got, net.sample(9, generator=torch.Generator().manual_seed(5)))


def test_truncation_removes_the_bridge_between_two_modes() -> None:
    # G(z) = (4 clip(20 z + 1/2, 0, 1) - 2, 0): two points, -2 and 2, joined by a steep
    # bridge for |z| < 1/40, where |G'| = 80 (0 elsewhere). Truncation must drop the bridge.
    torch.manual_seed(4)
    net = gan.Generator(2, latent_dim=1, hidden=2, depth=1).double()
    with torch.no_grad():  # clip(u, 0, 1) = relu(u) - relu(u - 1), u = 20 z + 1/2
        linear(net, 0).weight.copy_(torch.tensor([[20.0], [20.0]]))
        linear(net, 0).bias.copy_(torch.tensor([0.5, -0.5]))
        linear(net, 2).weight.copy_(torch.tensor([[4.0, -4.0], [0.0, 0.0]]))
        linear(net, 2).bias.copy_(torch.tensor([-2.0, 0.0]))
    g = torch.Generator().manual_seed(0)
    plain = net.sample(4000, generator=g)
    cut = gan.truncated_sample(net, 4000, keep=0.9, generator=torch.Generator().manual_seed(0))

    def on_bridge(x: torch.Tensor) -> float:
        return float((x[:, 0].abs() < 1.99).double().mean())

    # P(|20 z| < 1/2) = P(|z| < 0.025) ~ 0.02 of the plain samples lie on the bridge.
    assert 0.01 < on_bridge(plain) < 0.03 and on_bridge(cut) == 0.0


BAD_TRUNCATION: list[tuple[str, Any, tuple[Any, ...], dict[str, Any], type[Exception], str]] = [
    ("jacobian net", gan.jacobian_norm, (D1, torch.zeros(3, 1)), {}, TypeError, "Generator"),
    ("jacobian z int", gan.jacobian_norm, (G1, torch.zeros(3, 1).long()), {}, TypeError, "float"),
    ("jacobian z shape", gan.jacobian_norm, (G1, torch.zeros(3, 2)), {}, ValueError, "shape"),
    ("jacobian z list", gan.jacobian_norm, (G1, [[0.0]]), {}, TypeError, "Tensor"),
    (
        "truncate net",
        gan.truncated_sample,
        (D1, 3),
        {"keep": 0.5, "generator": torch.Generator()},
        TypeError,
        "Generator",
    ),
    (
        "truncate keep 0",
        gan.truncated_sample,
        (G1, 3),
        {"keep": 0.0, "generator": torch.Generator()},
        ValueError,
        "keep",
    ),
    (
        "truncate keep > 1",
        gan.truncated_sample,
        (G1, 3),
        {"keep": 1.5, "generator": torch.Generator()},
        ValueError,
        "keep",
    ),
    (
        "truncate n",
        gan.truncated_sample,
        (G1, 0),
        {"keep": 0.5, "generator": torch.Generator()},
        ValueError,
        "num_samples",
    ),
    (
        "truncate seed",
        gan.truncated_sample,
        (G1, 3),
        {"keep": 0.5, "generator": 0},
        TypeError,
        "Generator",
    ),
    ("fit keep", gan.fit_and_sample, (DATA,), {"seed": 0, "keep": 0.0}, ValueError, "keep"),
]


@pytest.mark.parametrize(
    ("name", "function", "args", "kwargs", "error", "match"),
    BAD_TRUNCATION,
    ids=[b[0] for b in BAD_TRUNCATION],
)
def test_bad_truncation_input_gets_a_clear_error(
    name: str,
    function: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    with pytest.raises(error, match=match):
        function(*args, **kwargs)


# ------------------------------------------------------------ discriminator rejection sampling
def identity_generator() -> gan.Generator:
    """G(z) = relu(z) - relu(-z) = z in one dimension: samples of N(0, 1)."""
    net = gan.Generator(1, latent_dim=1, hidden=2, depth=1).double()
    with torch.no_grad():
        linear(net, 0).weight.copy_(torch.tensor([[1.0], [-1.0]]))
        linear(net, 0).bias.zero_()
        linear(net, 2).weight.copy_(torch.tensor([[1.0, -1.0]]))
        linear(net, 2).bias.zero_()
    return net


def test_rejection_sample_with_the_exact_ratio_draws_from_the_target() -> None:
    # q = N(0, 1) (the generator), p = N(0, 1/4): log p/q = log 2 - 3 x^2 / 2, M = 2.
    from scipy import stats

    net = identity_generator()

    def log_ratio(x: torch.Tensor) -> torch.Tensor:
        return math.log(2.0) - 1.5 * x[:, 0] ** 2

    got = gan.rejection_sample(net, log_ratio, 3000, generator=torch.Generator().manual_seed(0))
    assert got.shape == (3000, 1) and not got.requires_grad and net.training
    assert stats.kstest(got[:, 0].numpy(), stats.norm(scale=0.5).cdf).pvalue > 0.01
    # Without the correction the samples are N(0, 1), which the same test rejects.
    plain = net.sample(3000, generator=torch.Generator().manual_seed(0))
    assert stats.kstest(plain[:, 0].numpy(), stats.norm(scale=0.5).cdf).pvalue < 1e-6


@pytest.mark.usefixtures("one_thread")
def test_train_discriminator_learns_the_log_density_ratio_and_leaves_g_alone() -> None:
    # q = N(0, 1), p = N(1, 1): log p/q = x - 1/2, the optimal logit.
    net = identity_generator().float()
    before = [p.clone() for p in net.parameters()]
    data = 1.0 + torch.randn(5000, 1, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(2)
    critic = gan.Discriminator(1, hidden=16, depth=2)
    history = gan.train_discriminator(
        critic,
        net,
        data,
        steps=600,
        batch_size=256,
        lr=1e-2,
        generator=torch.Generator().manual_seed(3),
    )
    assert len(history["d_loss"]) == 600
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))
    x = torch.linspace(-1.0, 2.0, 31)[:, None]
    with torch.no_grad():
        err = (critic(x) - (x[:, 0] - 0.5)).abs().max().item()
    assert err < 0.3


class OneHighLogit:
    """A critic whose first call sets M by one sample; nothing after it is ever accepted."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        logits = torch.full((x.shape[0],), -1e9)
        if self.calls == 1:
            logits[0] = 0.0
        return logits


BAD_DRS: list[tuple[str, Any, tuple[Any, ...], dict[str, Any], type[Exception], str]] = [
    (
        "train d nets",
        gan.train_discriminator,
        (G1, D1, DATA),
        {k: v for k, v in GOOD_TRAIN.items()},
        TypeError,
        "Discriminator",
    ),
    (
        "train d packed",
        gan.train_discriminator,
        (gan.Discriminator(1, hidden=4, depth=1, pack=2), G1, DATA),
        GOOD_TRAIN,
        ValueError,
        "pack=1",
    ),
    (
        "train d data",
        gan.train_discriminator,
        (D1, G1, torch.zeros(10, 3)),
        GOOD_TRAIN,
        ValueError,
        "shape",
    ),
    (
        "train d int data",
        gan.train_discriminator,
        (D1, G1, DATA.long()),
        GOOD_TRAIN,
        TypeError,
        "floating",
    ),
    (
        "train d lr",
        gan.train_discriminator,
        (D1, G1, DATA),
        {**GOOD_TRAIN, "lr": 0.0},
        ValueError,
        "lr",
    ),
    (
        "reject net",
        gan.rejection_sample,
        (D1, D1, 3),
        {"generator": torch.Generator()},
        TypeError,
        "Generator",
    ),
    (
        "reject n",
        gan.rejection_sample,
        (G1, D1, 0),
        {"generator": torch.Generator()},
        ValueError,
        "num_samples",
    ),
    (
        "reject critic shape",
        gan.rejection_sample,
        (G1, lambda x: x, 3),
        {"generator": torch.Generator(), "pool": 5},
        ValueError,
        "one logit",
    ),
    (
        "reject never accepts",
        gan.rejection_sample,
        (G1, OneHighLogit(), 3),
        {"generator": torch.Generator(), "pool": 5, "max_pools": 2},
        RuntimeError,
        "accepted",
    ),
]


@pytest.mark.parametrize(
    ("name", "function", "args", "kwargs", "error", "match"), BAD_DRS, ids=[b[0] for b in BAD_DRS]
)
def test_bad_rejection_input_gets_a_clear_error(
    name: str,
    function: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    with pytest.raises(error, match=match):
        function(*args, **kwargs)
