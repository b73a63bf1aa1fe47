r"""Generative adversarial networks: the reference implementations of Chapter 16.

In teaching order: the discriminator's loss computed stably from logits; the
saturating and non-saturating generator losses; the optimal discriminator
:math:`D^\star = p/(p + q)` and the value of the game at it, which is
:math:`2\,\mathrm{JS}(p \,\Vert\, q) - \log 4`; packing, PacGAN's remedy for mode collapse;
a generator and a discriminator as small multilayer perceptrons; and :func:`train_gan`, the
alternating training loop. Every random draw comes from an explicit ``torch.Generator``,
and everything runs on the device of its inputs (the networks' device for training).

The pair :class:`Generator` / :class:`Discriminator` and :func:`train_gan` are the GAN
that Chapter 17 compares with the other families of Part V; their signatures are stable.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlbook import _checks
from dlbook.devices import generator as seeded_generator
from dlbook.train import History

__all__ = [
    "Discriminator",
    "Generator",
    "discriminator_loss",
    "fit_and_sample",
    "gan_value",
    "generator_loss",
    "gradient_penalty",
    "jacobian_norm",
    "jensen_shannon",
    "optimal_discriminator",
    "pack",
    "rejection_sample",
    "train_discriminator",
    "train_gan",
    "truncated_sample",
]

GeneratorLoss = Literal["non_saturating", "saturating"]
Objective = Literal["gan", "wgan-gp"]


# --------------------------------------------------------------------------------------
# Checking inputs
# --------------------------------------------------------------------------------------
def _check_float(x: object, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"`{name}` must be a floating-point tensor, got dtype {x.dtype}")
    return x


def _check_logits(x: object, name: str) -> Tensor:
    x = _check_float(x, name)
    if x.numel() == 0:
        raise ValueError(f"`{name}` must hold at least one logit, got shape {tuple(x.shape)}")
    return x


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive int, got {value!r}")
    return value


def _check_generator(generator: object) -> torch.Generator:
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            f"`generator` must be a torch.Generator (e.g. dlbook.generator(0)), got "
            f"{type(generator).__name__}"
        )
    return generator


# --------------------------------------------------------------------------------------
# The losses
# --------------------------------------------------------------------------------------
def discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    r"""The discriminator's loss, the negated GAN value, computed stably from logits.

    With :math:`D = \sigma(a)` for a logit :math:`a`, the discriminator maximises
    :math:`\E_{\mathbf{x}\sim p}\log D(\mathbf{x}) + \E_{\mathbf{z}}\log(1 - D(G(\mathbf{z})))`,
    that is, it minimises

    .. math:: L_D = \frac1N\sum_i \operatorname{softplus}(-a_i^{\text{real}})
       + \frac1M\sum_j \operatorname{softplus}(a_j^{\text{fake}}),

    since :math:`-\log\sigma(a) = \operatorname{softplus}(-a)` and
    :math:`-\log(1 - \sigma(a)) = \operatorname{softplus}(a)` (Chapter 16, the minimax
    game). This is binary cross-entropy with label 1 for real and 0 for generated samples,
    each set averaged on its own, and it is exact for logits of any size.

    Parameters
    ----------
    real_logits : Tensor, any shape
        Discriminator logits on data samples.
    fake_logits : Tensor, any shape
        Discriminator logits on generated samples.

    Returns
    -------
    Tensor, shape ()

    Raises
    ------
    TypeError
        If a logit tensor is not floating point.
    ValueError
        If a logit tensor is empty or the two are on different devices.

    References
    ----------
    I. Goodfellow et al., "Generative adversarial nets", NeurIPS 2014, equation (1).

    Examples
    --------
    >>> round(discriminator_loss(torch.zeros(3), torch.zeros(2)).item(), 6)  # 2 log 2
    1.386294
    """
    real_logits = _check_logits(real_logits, "real_logits")
    fake_logits = _check_logits(fake_logits, "fake_logits")
    if real_logits.device != fake_logits.device:
        raise ValueError(
            f"`real_logits` and `fake_logits` must be on the same device, got "
            f"{real_logits.device} and {fake_logits.device}"
        )
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: Tensor, *, kind: GeneratorLoss = "non_saturating") -> Tensor:
    r"""The generator's loss from the discriminator's logits on generated samples.

    .. math:: L_G^{\text{sat}} = \frac1M\sum_j \log\bigl(1 - \sigma(a_j)\bigr)
       = -\frac1M\sum_j \operatorname{softplus}(a_j), \qquad
       L_G^{\text{ns}} = -\frac1M\sum_j \log\sigma(a_j)
       = \frac1M\sum_j \operatorname{softplus}(-a_j).

    The saturating loss is the minimax game's own; its gradient
    :math:`\partial L/\partial a = -\sigma(a)/M` vanishes when the discriminator confidently
    rejects the samples (:math:`a \to -\infty`), which is the situation at the start of
    training. The non-saturating loss (Goodfellow et al. 2014, section 3) has the same
    fixed point and the gradient :math:`-(1 - \sigma(a))/M`, which is largest there
    (Chapter 16, saturating and non-saturating losses).

    Parameters
    ----------
    fake_logits : Tensor, any shape
        Discriminator logits on generated samples.
    kind : {"non_saturating", "saturating"}, default "non_saturating"

    Returns
    -------
    Tensor, shape ()

    Raises
    ------
    TypeError
        If ``fake_logits`` is not a floating-point tensor.
    ValueError
        If it is empty or ``kind`` is unknown.

    References
    ----------
    I. Goodfellow et al., "Generative adversarial nets", NeurIPS 2014, section 3.

    Examples
    --------
    >>> a = torch.tensor([-10.0])
    >>> round(generator_loss(a).item(), 4), round(generator_loss(a, kind="saturating").item(), 6)
    (10.0, -4.5e-05)
    """
    fake_logits = _check_logits(fake_logits, "fake_logits")
    if kind == "non_saturating":
        return F.softplus(-fake_logits).mean()
    if kind == "saturating":
        return -F.softplus(fake_logits).mean()
    raise ValueError(f"`kind` must be 'non_saturating' or 'saturating', got {kind!r}")


def gradient_penalty(
    critic: Callable[[Tensor], Tensor],
    real: Tensor,
    fake: Tensor,
    *,
    generator: torch.Generator,
) -> Tensor:
    r"""WGAN-GP's gradient penalty on random interpolates of real and generated samples.

    For each input :math:`b` of the critic draw :math:`\epsilon_b \sim U(0, 1)`, form
    :math:`\hat{\mathbf{x}}_i = \epsilon_b \mathbf{x}_i + (1 - \epsilon_b)\tilde{\mathbf{x}}_i`
    for its rows :math:`i` (one row, or the ``critic.pack`` rows it reads, so that a packed
    interpolate lies on the segment between the packed real and generated inputs) and
    return

    .. math:: \Omega = \frac1B \sum_{b=1}^{B}
       \bigl(\lVert \nabla_{\hat{\mathbf{x}}_{(b)}} f(\hat{\mathbf{x}}_{(b)}) \rVert_2 - 1\bigr)^2,

    where :math:`f` is the critic and :math:`\hat{\mathbf{x}}_{(b)}` the input of its
    :math:`b`-th output: one row, or with a packed critic (``critic.pack`` :math:`= m`) the
    :math:`m` consecutive rows it reads, so the norm is taken over all :math:`mD`
    coordinates (Gulrajani et al. 2017, Algorithm 1; Chapter 16, the Wasserstein remedy).
    The result keeps its graph (``create_graph=True``), so it can be added to the
    critic's loss and differentiated again with respect to the critic's weights.

    Parameters
    ----------
    critic : callable
        Maps a tensor of shape (N, D) to one output per group of ``critic.pack`` rows
        (``pack`` attribute optional, default 1), shape (N / pack,).
    real, fake : Tensor, shape (N, D)
        Data samples and generated samples (``fake`` may carry a graph; it is detached).
    generator : torch.Generator
        Source of the interpolation weights :math:`\epsilon`, drawn on its own device.

    Returns
    -------
    Tensor, shape ()

    Raises
    ------
    TypeError
        If ``real`` or ``fake`` is not a floating-point tensor, or ``generator`` is not a
        ``torch.Generator``.
    ValueError
        If the shapes or devices of ``real`` and ``fake`` differ, or the critic's output
        does not have one entry per group of rows.

    References
    ----------
    I. Gulrajani, F. Ahmed, M. Arjovsky, V. Dumoulin and A. Courville, "Improved training
    of Wasserstein GANs", NeurIPS 2017, equation (3).

    Examples
    --------
    >>> w = torch.tensor([3.0, 4.0])  # a linear critic with gradient norm 5 everywhere
    >>> g = torch.Generator().manual_seed(0)
    >>> gradient_penalty(lambda x: x @ w, torch.randn(4, 2), torch.randn(4, 2), generator=g)
    tensor(16.)
    """
    real = _check_float(real, "real")
    fake = _check_float(fake, "fake")
    if real.ndim != 2 or real.shape != fake.shape:
        raise ValueError(
            f"`real` and `fake` must have the same shape (N, D), got {tuple(real.shape)} and "
            f"{tuple(fake.shape)}"
        )
    if real.device != fake.device:
        raise ValueError(
            f"`real` and `fake` must be on the same device, got {real.device} and {fake.device}"
        )
    generator = _check_generator(generator)
    m = int(getattr(critic, "pack", 1))
    if real.shape[0] % m:
        raise ValueError(f"the number of rows, {real.shape[0]}, must be a multiple of pack={m}")
    # One weight per critic input: the m rows of a packed input share it.
    eps = torch.rand(real.shape[0] // m, 1, generator=generator, device=generator.device)
    eps = eps.to(device=real.device, dtype=real.dtype).repeat_interleave(m, dim=0)  # (N, 1)
    mixed = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)  # (N, D)
    out = critic(mixed)
    if out.shape != (real.shape[0] // m,):
        raise ValueError(
            f"the critic must return one output per group of {m} rows, shape "
            f"({real.shape[0] // m},), got {tuple(out.shape)}"
        )
    (grad,) = torch.autograd.grad(out.sum(), mixed, create_graph=True)  # (N, D)
    norms = grad.reshape(real.shape[0] // m, m * real.shape[1]).norm(dim=1)  # (N / m,)
    penalty: Tensor = ((norms - 1) ** 2).mean()
    return penalty


# --------------------------------------------------------------------------------------
# The optimal discriminator and the Jensen-Shannon divergence
# --------------------------------------------------------------------------------------
def _check_densities(p: object, q: object) -> tuple[Tensor, Tensor]:
    p = _check_float(p, "p")
    q = _check_float(q, "q")
    if p.shape != q.shape:
        raise ValueError(
            f"`p` and `q` must have the same shape, got {tuple(p.shape)} and {tuple(q.shape)}"
        )
    if p.device != q.device:
        raise ValueError(f"`p` and `q` must be on the same device, got {p.device} and {q.device}")
    if p.dtype != q.dtype:
        raise TypeError(f"`p` and `q` must have the same dtype, got {p.dtype} and {q.dtype}")
    if p.device.type != "meta" and (bool((p < 0).any()) or bool((q < 0).any())):
        raise ValueError("densities `p` and `q` must be nonnegative")
    return p, q


def optimal_discriminator(p: Tensor, q: Tensor) -> Tensor:
    r"""The best discriminator for a fixed generator: :math:`D^\star = p/(p + q)`.

    For each :math:`\mathbf{x}`, :math:`D \mapsto p(\mathbf{x})\log D +
    q(\mathbf{x})\log(1 - D)` is maximised at :math:`D = p/(p+q)` (Goodfellow et al. 2014,
    Proposition 1; Chapter 16, the optimal discriminator). Where both densities are zero
    every value is optimal; this function returns :math:`1/2` there.

    Parameters
    ----------
    p : Tensor, any shape
        Data density values :math:`p(\mathbf{x})`, nonnegative.
    q : Tensor, same shape
        Generator density values :math:`q(\mathbf{x})`, nonnegative.

    Returns
    -------
    Tensor, same shape, values in :math:`[0, 1]`

    Raises
    ------
    TypeError
        If an input is not floating point or the dtypes differ.
    ValueError
        If the shapes or devices differ or a density is negative.

    Examples
    --------
    >>> optimal_discriminator(torch.tensor([1.0, 0.0, 3.0]), torch.tensor([1.0, 0.0, 1.0]))
    tensor([0.5000, 0.5000, 0.7500])
    """
    p, q = _check_densities(p, q)
    total = p + q
    safe = torch.where(total > 0, total, torch.ones_like(total))
    return torch.where(total > 0, p / safe, torch.full_like(total, 0.5))


def gan_value(p: Tensor, q: Tensor, x: Tensor) -> Tensor:
    r"""The value of the game at the optimal discriminator, by trapezoidal quadrature.

    .. math:: V(D^\star, q) = \int p \log\frac{p}{p+q} + q\log\frac{q}{p+q}\,dx,

    which equals :math:`2\,\mathrm{JS}(p\,\Vert\,q) - \log 4` (Goodfellow et al. 2014,
    Theorem 1; Chapter 16, the link to the Jensen-Shannon divergence); :math:`0\log 0 = 0`.

    Parameters
    ----------
    p, q : Tensor, shape (G,)
        Both densities on the grid ``x``.
    x : Tensor, shape (G,)
        Increasing grid points covering (numerically) the support of both.

    Returns
    -------
    Tensor, shape ()

    Raises
    ------
    TypeError, ValueError
        As :func:`optimal_discriminator`, or if ``x`` is not a 1-D increasing grid of the
        densities' length.

    Examples
    --------
    >>> x = torch.linspace(-10, 10, 2001, dtype=torch.float64)
    >>> p = torch.exp(-x**2 / 2) / (2 * torch.pi) ** 0.5
    >>> round(gan_value(p, p, x).item(), 6) == round(-math.log(4), 6)  # p = q: JS = 0
    True
    """
    p, q = _check_densities(p, q)
    _check_grid(x, p)
    # log(1 - D*) as log(q / (p + q)): 1 - D* rounds to 0 where q << p but q > 0.
    total = p + q
    safe = torch.where(total > 0, total, torch.ones_like(total))
    integrand = torch.xlogy(p, p / safe) + torch.xlogy(q, q / safe)  # (G,)
    return torch.trapezoid(integrand, x)


def jensen_shannon(p: Tensor, q: Tensor, x: Tensor) -> Tensor:
    r"""The Jensen-Shannon divergence of two densities on a grid, in nats.

    .. math:: \mathrm{JS}(p\,\Vert\,q) = \tfrac12\,\mathrm{KL}(p\,\Vert\,\bar p)
       + \tfrac12\,\mathrm{KL}(q\,\Vert\,\bar p), \qquad \bar p = \tfrac12(p + q),

    each KL integral computed with the trapezoidal rule; :math:`0 \le \mathrm{JS} \le
    \log 2` (Chapter 16, the link to the Jensen-Shannon divergence).

    Parameters
    ----------
    p, q : Tensor, shape (G,)
    x : Tensor, shape (G,)

    Returns
    -------
    Tensor, shape ()

    Raises
    ------
    TypeError, ValueError
        As :func:`gan_value`.

    Examples
    --------
    >>> x = torch.linspace(0, 2, 2001, dtype=torch.float64)
    >>> p = (x < 1).double(); q = (x >= 1).double()  # disjoint supports
    >>> round(jensen_shannon(p, q, x).item() / math.log(2), 2)
    1.0
    """
    p, q = _check_densities(p, q)
    _check_grid(x, p)
    m = 0.5 * (p + q)
    safe_m = torch.where(m > 0, m, torch.ones_like(m))
    kl_p = torch.trapezoid(torch.xlogy(p, p) - torch.xlogy(p, safe_m), x)
    kl_q = torch.trapezoid(torch.xlogy(q, q) - torch.xlogy(q, safe_m), x)
    return 0.5 * (kl_p + kl_q)


def _check_grid(x: object, p: Tensor) -> None:
    x = _check_float(x, "x")
    if x.ndim != 1 or p.ndim != 1 or x.shape != p.shape:
        raise ValueError(
            f"`x`, `p` and `q` must be 1-D of the same length, got shapes {tuple(x.shape)} "
            f"and {tuple(p.shape)}"
        )
    if x.shape[0] < 2 or (x.device.type != "meta" and not bool((x[1:] > x[:-1]).all())):
        raise ValueError("`x` must be an increasing grid of at least two points")


# --------------------------------------------------------------------------------------
# Packing (PacGAN)
# --------------------------------------------------------------------------------------
def pack(x: Tensor, num_packed: int) -> Tensor:
    r"""Concatenate groups of ``num_packed`` consecutive samples into one input.

    PacGAN's discriminator judges :math:`m` samples at once, all real or all generated
    (Lin et al. 2018): row :math:`b` of the result is
    :math:`(\mathbf{x}_{bm}, \mathbf{x}_{bm+1}, \dots, \mathbf{x}_{bm+m-1})`
    (Chapter 16, packing).

    Parameters
    ----------
    x : Tensor, shape (N, D)
        Samples; :math:`N` must be a multiple of :math:`m`.
    num_packed : int
        The packing degree :math:`m` (1 leaves ``x`` unchanged).

    Returns
    -------
    Tensor, shape (N / m, m * D)

    Raises
    ------
    TypeError
        If ``x`` is not a tensor.
    ValueError
        If ``x`` is not 2-D, ``num_packed < 1`` or :math:`N` is not a multiple of it.

    References
    ----------
    Z. Lin, A. Khetan, G. Fanti and S. Oh, "PacGAN: The power of two samples in
    generative adversarial networks", NeurIPS 2018.

    Examples
    --------
    >>> pack(torch.arange(8.0).reshape(4, 2), 2)
    tensor([[0., 1., 2., 3.],
            [4., 5., 6., 7.]])
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"`x` must be a torch.Tensor, got {type(x).__name__}")
    num_packed = _positive_int(num_packed, "num_packed")
    if x.ndim != 2:
        raise ValueError(f"`x` must have shape (N, D), got shape {tuple(x.shape)}")
    n, d = x.shape
    if n % num_packed:
        raise ValueError(
            f"the number of samples N = {n} is not a multiple of num_packed = {num_packed}"
        )
    return x.reshape(n // num_packed, num_packed * d)  # (N, D) -> (N / m, m D)


# --------------------------------------------------------------------------------------
# The two networks
# --------------------------------------------------------------------------------------
def _mlp(sizes: list[int], activation: type[nn.Module]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class Generator(nn.Module):
    r"""A multilayer-perceptron generator :math:`G(\mathbf{z})`, :math:`\mathbf{z} \sim
    \mathcal{N}(\mathbf{0}, I)`.

    ``depth`` hidden layers of ``hidden`` ReLU units map the latent code to the data
    space; ``output="sigmoid"`` squashes the output into :math:`(0, 1)` (pixels).

    Parameters
    ----------
    data_dim : int
        Dimension :math:`D` of a sample.
    latent_dim : int, default 2
        Dimension of :math:`\mathbf{z}`.
    hidden : int, default 128
    depth : int, default 3
        Number of hidden layers.
    output : {"linear", "sigmoid"}, default "linear"

    Examples
    --------
    >>> net = Generator(2, latent_dim=3, hidden=8, depth=2)
    >>> net.sample(5, generator=torch.Generator().manual_seed(0)).shape
    torch.Size([5, 2])
    """

    def __init__(
        self,
        data_dim: int,
        *,
        latent_dim: int = 2,
        hidden: int = 128,
        depth: int = 3,
        output: Literal["linear", "sigmoid"] = "linear",
    ) -> None:
        super().__init__()
        self.data_dim = _positive_int(data_dim, "data_dim")
        self.latent_dim = _positive_int(latent_dim, "latent_dim")
        _positive_int(hidden, "hidden")
        _positive_int(depth, "depth")
        if output not in ("linear", "sigmoid"):
            raise ValueError(f"`output` must be 'linear' or 'sigmoid', got {output!r}")
        self.output = output
        self.net = _mlp([latent_dim] + [hidden] * depth + [data_dim], nn.ReLU)

    def forward(self, z: Tensor) -> Tensor:
        """Map latent codes of shape (N, latent_dim) to samples of shape (N, data_dim)."""
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(
                f"`z` must have shape (N, {self.latent_dim}), got shape {tuple(z.shape)}"
            )
        out: Tensor = self.net(z)
        return torch.sigmoid(out) if self.output == "sigmoid" else out

    def latent(self, num_samples: int, *, generator: torch.Generator) -> Tensor:
        r"""Draw :math:`\mathbf{z} \sim \mathcal{N}(\mathbf{0}, I)` of shape (N, latent_dim).

        The numbers are drawn on ``generator``'s device and moved to the network's, so a
        CPU generator gives the same codes whatever device the network is on.
        """
        num_samples = _positive_int(num_samples, "num_samples")
        generator = _check_generator(generator)
        weight = next(self.parameters())
        z = torch.randn(num_samples, self.latent_dim, generator=generator, device=generator.device)
        return z.to(device=weight.device, dtype=weight.dtype)

    def sample(self, num_samples: int, *, generator: torch.Generator) -> Tensor:
        """Draw ``num_samples`` samples, shape (N, data_dim), without tracking gradients.

        The network is put in evaluation mode for the draw and put back as it was.
        """
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                out: Tensor = self(self.latent(num_samples, generator=generator))
            return out
        finally:
            self.train(was_training)


class Discriminator(nn.Module):
    r"""A multilayer-perceptron discriminator returning one logit per (packed) input.

    With ``pack`` :math:`= m > 1` it is PacGAN's discriminator: its input layer takes
    :math:`m` samples concatenated (:func:`pack`), and it returns one logit for each group
    of :math:`m` consecutive rows. ``depth`` hidden layers of ``hidden`` leaky-ReLU units
    (slope 0.2).

    Parameters
    ----------
    data_dim : int
    hidden : int, default 128
    depth : int, default 3
    pack : int, default 1
        PacGAN's packing degree :math:`m`.

    Examples
    --------
    >>> net = Discriminator(2, hidden=8, depth=2, pack=2)
    >>> net(torch.zeros(6, 2)).shape
    torch.Size([3])
    """

    def __init__(self, data_dim: int, *, hidden: int = 128, depth: int = 3, pack: int = 1) -> None:
        super().__init__()
        self.data_dim = _positive_int(data_dim, "data_dim")
        self.pack = _positive_int(pack, "pack")
        _positive_int(hidden, "hidden")
        _positive_int(depth, "depth")
        self.net = _mlp([pack * data_dim] + [hidden] * depth + [1], _LeakyReLU)

    def forward(self, x: Tensor) -> Tensor:
        """Logits of shape (N / pack,) for samples of shape (N, data_dim)."""
        if x.ndim != 2 or x.shape[1] != self.data_dim:
            raise ValueError(
                f"`x` must have shape (N, {self.data_dim}), got shape {tuple(x.shape)}"
            )
        out: Tensor = self.net(pack(x, self.pack))  # (N / m, m D) -> (N / m, 1)
        return out.squeeze(1)


class _LeakyReLU(nn.LeakyReLU):
    def __init__(self) -> None:
        super().__init__(0.2)


# --------------------------------------------------------------------------------------
# Sampling with a Jacobian-based truncation
# --------------------------------------------------------------------------------------
def jacobian_norm(generator_net: Generator, z: Tensor) -> Tensor:
    r"""The Frobenius norm of the generator's Jacobian at each code.

    .. math:: \lVert J(\mathbf{z}) \rVert_F = \Bigl\lVert \frac{\partial G(\mathbf{z})}{\partial
       \mathbf{z}} \Bigr\rVert_F = \Bigl(\sum_{i, j} \Bigl(\frac{\partial G_i}{\partial
       z_j}\Bigr)^2\Bigr)^{1/2}

    (Chapter 16, correcting the samples). A large value means the generator stretches
    a small neighbourhood of :math:`\mathbf{z}` over a long stretch of data space, as it
    must on a bridge between two disconnected modes (Tanielian et al. 2020). The rows of
    ``z`` are independent (the network has no batch statistics), so row :math:`i` of
    every Jacobian is the gradient of the sum of output :math:`i` over the batch: one
    backward pass per output dimension.

    Parameters
    ----------
    generator_net : Generator
    z : Tensor, shape (N, latent_dim)
        Codes, on the network's device and of its dtype.

    Returns
    -------
    Tensor, shape (N,)
        Detached, on the device of ``z``.

    Raises
    ------
    TypeError
        If ``generator_net`` is not a :class:`Generator` or ``z`` is not a floating-point
        tensor.
    ValueError
        If ``z`` does not have shape (N, latent_dim).

    References
    ----------
    U. Tanielian, T. Issenhuth, E. Dohmatob and J. Mary, "Learning disconnected manifolds:
    a no GAN's land", ICML 2020 (PMLR 119), section 4.

    Examples
    --------
    >>> net = Generator(2, latent_dim=2, hidden=4, depth=1)
    >>> with torch.no_grad():  # G(z) = 3 z: the Jacobian is 3 I, its norm 3 sqrt(2)
    ...     _ = net.net[0].weight.copy_(torch.eye(4, 2)); _ = net.net[0].bias.fill_(1.0)
    ...     _ = net.net[2].weight.copy_(3 * torch.eye(2, 4)); _ = net.net[2].bias.fill_(-3.0)
    >>> jacobian_norm(net, torch.zeros(1, 2))
    tensor([4.2426])
    """
    if not isinstance(generator_net, Generator):
        raise TypeError(f"`generator_net` must be a Generator, got {type(generator_net).__name__}")
    z = _check_float(z, "z")
    if z.ndim != 2 or z.shape[1] != generator_net.latent_dim:
        raise ValueError(
            f"`z` must have shape (N, {generator_net.latent_dim}), got shape {tuple(z.shape)}"
        )
    with torch.enable_grad():
        codes = z.detach().requires_grad_(True)
        out = generator_net(codes)  # (N, D)
        rows = [
            torch.autograd.grad(out[:, i].sum(), codes, retain_graph=i < out.shape[1] - 1)[0]
            for i in range(out.shape[1])
        ]  # D tensors of shape (N, latent_dim): row i of every Jacobian
    squares = torch.stack(rows, dim=1).square()  # (N, D, latent_dim)
    return squares.sum(dim=(1, 2)).sqrt()


def truncated_sample(
    generator_net: Generator, num_samples: int, *, keep: float, generator: torch.Generator
) -> Tensor:
    r"""Draw samples, rejecting the codes where the generator's Jacobian is largest.

    Jacobian-based truncation (Tanielian et al. 2020; Chapter 16, correcting the
    samples): draw :math:`n = \lceil N / \mathrm{keep} \rceil` codes
    :math:`\mathbf{z} \sim \mathcal{N}(\mathbf{0}, I)`,
    keep the :math:`N` with the smallest :func:`jacobian_norm`, in the order drawn, and
    return their images,

    .. math:: \{\, G(\mathbf{z}_k) : \lVert J(\mathbf{z}_k) \rVert_F \le s_{(N)} \,\},

    with :math:`s_{(N)}` the :math:`N`-th smallest of the :math:`n` norms. The kept
    samples are no longer draws from :math:`G`'s push-forward of the Gaussian: the
    truncation trades a fraction :math:`1 - \mathrm{keep}` of the generator's mass, the part it
    stretches thinnest, for sharper samples. With ``keep=1`` this is
    :meth:`Generator.sample`.

    Parameters
    ----------
    generator_net : Generator
    num_samples : int
        :math:`N`, the samples returned.
    keep : float
        In (0, 1]: the fraction of drawn codes kept.
    generator : torch.Generator
        Source of the codes (:meth:`Generator.latent`).

    Returns
    -------
    Tensor, shape (num_samples, data_dim)
        Detached, on the network's device.

    Raises
    ------
    TypeError
        If ``generator_net`` is not a :class:`Generator` or ``generator`` not a
        ``torch.Generator``.
    ValueError
        If ``num_samples`` is not a positive integer or ``keep`` is not in (0, 1].

    References
    ----------
    U. Tanielian, T. Issenhuth, E. Dohmatob and J. Mary, "Learning disconnected manifolds:
    a no GAN's land", ICML 2020 (PMLR 119), section 4.

    Examples
    --------
    >>> net = Generator(2, hidden=8, depth=2)
    >>> truncated_sample(net, 5, keep=0.5, generator=torch.Generator().manual_seed(0)).shape
    torch.Size([5, 2])
    """
    if not isinstance(generator_net, Generator):
        raise TypeError(f"`generator_net` must be a Generator, got {type(generator_net).__name__}")
    num_samples = _positive_int(num_samples, "num_samples")
    if isinstance(keep, bool) or not isinstance(keep, (int, float)) or not 0 < keep <= 1:
        raise ValueError(f"`keep` must be a number in (0, 1], got {keep!r}")
    generator = _check_generator(generator)
    if keep == 1:
        return generator_net.sample(num_samples, generator=generator)
    was_training = generator_net.training
    generator_net.eval()
    try:
        z = generator_net.latent(math.ceil(num_samples / keep), generator=generator)  # (n, d)
        norms = jacobian_norm(generator_net, z)  # (n,)
        kept = norms.argsort(stable=True)[:num_samples].sort().values  # in the order drawn
        with torch.no_grad():
            out: Tensor = generator_net(z[kept])  # (N, D)
        return out
    finally:
        generator_net.train(was_training)


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------
def train_gan(
    generator_net: Generator,
    discriminator: Discriminator,
    data: Tensor,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    generator: torch.Generator,
    loss: GeneratorLoss = "non_saturating",
    betas: tuple[float, float] = (0.5, 0.999),
    lr_end: float | None = None,
    discriminator_lr: float | None = None,
    hold: float = 0.0,
    objective: Objective = "gan",
    penalty: float = 10.0,
    critic_steps: int = 1,
    ema: float = 0.0,
) -> History:
    r"""Train a GAN by alternating discriminator steps and one generator step.

    Each step draws ``batch_size`` groups of ``discriminator.pack`` data samples (with
    replacement) and as many generated ones, takes an Adam step on
    :func:`discriminator_loss`, then an Adam step on :func:`generator_loss` of kind
    ``loss`` for the same generated samples, judged by the updated discriminator
    (Goodfellow et al. 2014, Algorithm 1 with :math:`k = 1`; Chapter 16, training a GAN).
    With ``discriminator.pack`` :math:`= m > 1` this is PacGAN (Lin et al. 2018): each
    step then sees :math:`m` times as many samples.

    Training runs on the networks' device (``data`` is moved there); random draws come
    from ``generator`` on its own device, so a CPU generator gives the same run on any
    device up to floating-point differences.

    With ``objective="wgan-gp"`` the discriminator is a Wasserstein critic
    (Gulrajani et al. 2017): it minimises :math:`\frac1B\sum f(\tilde{\mathbf{x}}) -
    \frac1B\sum f(\mathbf{x}) + \lambda\,\Omega` with :math:`\Omega` the
    :func:`gradient_penalty` and :math:`\lambda` = ``penalty``, and the generator
    minimises :math:`-\frac1B\sum f(\tilde{\mathbf{x}})`. ``critic_steps`` discriminator
    steps, each on fresh batches, precede every generator step. With ``ema`` :math:`=
    \beta > 0` an exponential moving average :math:`\bar\theta \leftarrow \beta\bar\theta
    + (1 - \beta)\theta` of the generator's weights is kept after every generator step
    (Yazıcı et al. 2019) and copied into ``generator_net`` at the end: the trained
    generator is the average, not the last iterate.

    Parameters
    ----------
    generator_net : Generator
        Trained in place.
    discriminator : Discriminator
        Trained in place, on the same device as ``generator_net``.
    data : Tensor, shape (N, D)
        Training samples.
    steps : int
        Number of (discriminator, generator) step pairs.
    batch_size : int
        Discriminator inputs per step for each of real and generated (``batch_size *
        pack`` samples each).
    lr : float
        Adam's learning rate, for both networks.
    generator : torch.Generator
        Source of every random draw (batches and codes).
    loss : {"non_saturating", "saturating"}, default "non_saturating"
        The generator's loss, :func:`generator_loss`.
    betas : tuple of float, default (0.5, 0.999)
        Adam's betas (0.5 as in Radford et al. 2016's DCGAN).
    lr_end : float, optional
        If given, the learning rate falls linearly from ``lr`` at the first step to
        ``lr_end`` at the last (default: constant ``lr``).
    discriminator_lr : float, optional
        Adam's rate for the discriminator, if it is to differ from the generator's
        ``lr`` (a two-time-scale rule, Heusel et al. 2017); with ``lr_end`` it falls by
        the same factor as the generator's.
    hold : float, default 0
        With ``lr_end``: the fraction of the steps trained at the constant rate before
        the linear fall begins (0: the fall spans the whole run).
    objective : {"gan", "wgan-gp"}, default "gan"
        The cross-entropy game of Goodfellow et al. or WGAN-GP (then ``loss`` is unused).
    penalty : float, default 10
        WGAN-GP's weight :math:`\lambda` of the gradient penalty.
    critic_steps : int, default 1
        Discriminator steps per generator step (:math:`k` in Algorithm 1; 5 in WGAN-GP).
    ema : float, default 0
        Decay :math:`\beta \in [0, 1)` of the moving average of the generator's
        weights; 0 keeps the last iterate.

    Returns
    -------
    History
        ``history["d_loss"]`` and ``history["g_loss"]``: the losses at every step.

    Raises
    ------
    TypeError
        If a network has the wrong class, ``data`` is not a floating-point tensor or
        ``generator`` is not a ``torch.Generator``.
    ValueError
        If shapes disagree, the networks are on different devices, or ``steps``,
        ``batch_size`` or ``lr`` is not positive, or ``loss`` is unknown.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> G, D = Generator(2, hidden=16, depth=1), Discriminator(2, hidden=16, depth=1)
    >>> history = train_gan(G, D, torch.randn(64, 2, generator=g), steps=3, batch_size=8,
    ...                     lr=1e-3, generator=g)
    >>> len(history["d_loss"])
    3
    """
    if not isinstance(generator_net, Generator):
        raise TypeError(f"`generator_net` must be a Generator, got {type(generator_net).__name__}")
    if not isinstance(discriminator, Discriminator):
        raise TypeError(
            f"`discriminator` must be a Discriminator, got {type(discriminator).__name__}"
        )
    data = _check_float(data, "data")
    if data.ndim != 2 or data.shape[1] != generator_net.data_dim:
        raise ValueError(
            f"`data` must have shape (N, {generator_net.data_dim}), got shape {tuple(data.shape)}"
        )
    if discriminator.data_dim != generator_net.data_dim:
        raise ValueError(
            f"the discriminator takes samples of dimension {discriminator.data_dim}, the "
            f"generator makes {generator_net.data_dim}"
        )
    steps = _positive_int(steps, "steps")
    batch_size = _positive_int(batch_size, "batch_size")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"`lr` must be a positive number, got {lr!r}")
    if loss not in ("non_saturating", "saturating"):
        raise ValueError(f"`loss` must be 'non_saturating' or 'saturating', got {loss!r}")
    if lr_end is not None and (
        isinstance(lr_end, bool) or not isinstance(lr_end, (int, float)) or not lr_end >= 0
    ):
        raise ValueError(f"`lr_end` must be a nonnegative number, got {lr_end!r}")
    d_lr = lr if discriminator_lr is None else discriminator_lr
    if (
        isinstance(d_lr, bool)
        or not isinstance(d_lr, (int, float))
        or not math.isfinite(d_lr)
        or d_lr <= 0
    ):
        raise ValueError(f"`discriminator_lr` must be a positive number, got {discriminator_lr!r}")
    if isinstance(hold, bool) or not isinstance(hold, (int, float)) or not 0 <= hold < 1:
        raise ValueError(f"`hold` must be a number in [0, 1), got {hold!r}")
    if objective not in ("gan", "wgan-gp"):
        raise ValueError(f"`objective` must be 'gan' or 'wgan-gp', got {objective!r}")
    if (
        isinstance(penalty, bool)
        or not isinstance(penalty, (int, float))
        or not math.isfinite(penalty)
        or penalty < 0
    ):
        raise ValueError(f"`penalty` must be a nonnegative number, got {penalty!r}")
    critic_steps = _positive_int(critic_steps, "critic_steps")
    if isinstance(ema, bool) or not isinstance(ema, (int, float)) or not 0 <= ema < 1:
        raise ValueError(f"`ema` must be a number in [0, 1), got {ema!r}")
    generator = _check_generator(generator)
    device = next(generator_net.parameters()).device
    if next(discriminator.parameters()).device != device:
        raise ValueError(
            f"the networks must be on the same device, got {device} and "
            f"{next(discriminator.parameters()).device}"
        )
    data = data.to(device=device, dtype=next(generator_net.parameters()).dtype)
    per_step = batch_size * discriminator.pack
    opt_g = torch.optim.Adam(generator_net.parameters(), lr=lr, betas=betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=d_lr, betas=betas)
    generator_net.train()
    discriminator.train()
    average = copy.deepcopy(generator_net).requires_grad_(False) if ema > 0 else None
    d_losses, g_losses = [], []
    start = int(steps * hold)  # the first step of the linear fall
    for step in range(steps):
        if lr_end is not None:
            rate = lr + (lr_end - lr) * max(step - start, 0) / max(steps - 1 - start, 1)
            for group in opt_g.param_groups:
                group["lr"] = rate
            for group in opt_d.param_groups:
                group["lr"] = rate * d_lr / lr
        for _ in range(critic_steps):
            idx = torch.randint(
                data.shape[0], (per_step,), generator=generator, device=generator.device
            )
            real = data[idx.to(device)]
            fake = generator_net(generator_net.latent(per_step, generator=generator))
            # Discriminator step: real samples labelled 1, generated ones 0 (equation 1).
            # One pass over both; groups of `pack` rows never straddle the two halves.
            logits = discriminator(torch.cat([real, fake.detach()]))  # (2 B,)
            if objective == "gan":
                d_loss = discriminator_loss(logits[:batch_size], logits[batch_size:])
            else:  # the critic's Wasserstein estimate, negated, plus the penalty
                d_loss = logits[batch_size:].mean() - logits[:batch_size].mean()
                d_loss = d_loss + penalty * gradient_penalty(
                    discriminator, real, fake, generator=generator
                )
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
        # Generator step against the updated discriminator; only the generator moves.
        fake_logits = discriminator(fake)
        if objective == "gan":
            g_loss = generator_loss(fake_logits, kind=loss)
        else:
            g_loss = -fake_logits.mean()
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        if average is not None:
            with torch.no_grad():
                for mean, param in zip(
                    average.parameters(), generator_net.parameters(), strict=True
                ):
                    mean.lerp_(param, 1 - ema)
        d_losses.append(d_loss.detach())
        g_losses.append(g_loss.detach())
    if average is not None:
        generator_net.load_state_dict(average.state_dict())
    history = History()
    d_all, g_all = torch.stack(d_losses).tolist(), torch.stack(g_losses).tolist()  # one sync
    for step, (d_value, g_value) in enumerate(zip(d_all, g_all, strict=True)):
        history.append(step, {"d_loss": d_value, "g_loss": g_value})
    return history


def fit_and_sample(
    data: Tensor,
    *,
    seed: int,
    num_samples: int = 2500,
    steps: int = 3000,
    pack: int = 1,
    hidden: int = 64,
    depth: int = 3,
    batch_size: int = 128,
    lr: float = 2e-3,
    discriminator_lr: float | None = None,
    hold: float = 0.0,
    objective: Objective = "gan",
    critic_steps: int = 1,
    ema: float = 0.0,
    betas: tuple[float, float] = (0.5, 0.999),
    decay: bool = True,
    latent_dim: int = 2,
    keep: float = 1.0,
) -> Tensor:
    r"""Train Chapter 16's small GAN on 2-D (or any vector) data and return samples.

    The recipe of Chapter 16's mode-collapse experiment: a :class:`Generator` with a 2-D
    code and a :class:`Discriminator` (packing degree ``pack``), both with ``depth``
    hidden layers of ``hidden`` units, initialised from ``seed``, trained by
    :func:`train_gan` with the non-saturating loss (or WGAN-GP's objective), Adam's rate
    falling linearly from ``lr`` to 0 (held constant with ``decay=False``), then
    ``num_samples`` samples drawn with a generator seeded ``1000 + seed`` (with ``keep``
    :math:`< 1` by :func:`truncated_sample`). The global random state is left untouched.

    Parameters
    ----------
    data : Tensor, shape (N, D)
        Training samples; the networks are built on their device.
    seed : int
        Seed of the initial weights and of every draw.
    num_samples : int, default 2500
        Samples returned (VEEGAN's protocol draws 2,500).
    steps, pack, hidden, depth, batch_size, lr, discriminator_lr, hold
        As in :func:`train_gan`, :class:`Generator` and :class:`Discriminator`.
    objective, critic_steps, ema, betas
        As in :func:`train_gan`.
    decay : bool, default True
        Whether the rate falls to 0 (after the fraction ``hold`` of the steps).
    latent_dim : int, default 2
        Dimension of the generator's code.
    keep : float, default 1
        The fraction of drawn codes kept by :func:`truncated_sample` (1: plain samples).

    Returns
    -------
    Tensor, shape (num_samples, D)
        On the device of ``data``.

    Raises
    ------
    TypeError, ValueError
        As :func:`train_gan`.

    Examples
    --------
    >>> samples = fit_and_sample(torch.randn(100, 2), seed=0, num_samples=5, steps=2)
    >>> samples.shape
    torch.Size([5, 2])
    """
    data = _check_float(data, "data")
    if data.ndim != 2:
        raise ValueError(f"`data` must have shape (N, D), got shape {tuple(data.shape)}")
    if isinstance(keep, bool) or not isinstance(keep, (int, float)) or not 0 < keep <= 1:
        raise ValueError(f"`keep` must be a number in (0, 1], got {keep!r}")
    # Draws happen on the CPU and move to the data's device: runs agree across devices.
    draws = seeded_generator(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # the initial weights, without touching the caller's state
        generator_net = Generator(data.shape[1], latent_dim=latent_dim, hidden=hidden, depth=depth)
        discriminator = Discriminator(data.shape[1], hidden=hidden, depth=depth, pack=pack)
    generator_net.to(data.device)
    discriminator.to(data.device)
    train_gan(
        generator_net,
        discriminator,
        data,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        lr_end=0.0 if decay else None,
        discriminator_lr=discriminator_lr,
        hold=hold,
        generator=draws,
        betas=betas,
        objective=objective,
        critic_steps=critic_steps,
        ema=ema,
    )
    return truncated_sample(
        generator_net, num_samples, keep=keep, generator=seeded_generator(1000 + seed)
    )


# --------------------------------------------------------------------------------------
# Discriminator rejection sampling
# --------------------------------------------------------------------------------------
def train_discriminator(
    discriminator: Discriminator,
    generator_net: Generator,
    data: Tensor,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    generator: torch.Generator,
) -> History:
    r"""Train a discriminator against a frozen generator: a density-ratio classifier.

    Each step draws ``batch_size`` data samples (with replacement) and as many generated
    ones, and takes an Adam step (:math:`\beta = (0.5, 0.999)`, the rate falling linearly
    from ``lr`` towards 0) on :func:`discriminator_loss`. The generator does not move. At
    the optimum the logit is the log density ratio (Chapter 16, the optimal
    discriminator),

    .. math:: a^\star(\mathbf{x}) = \log \frac{D^\star(\mathbf{x})}{1 - D^\star(\mathbf{x})}
       = \log \frac{p(\mathbf{x})}{q(\mathbf{x})},

    which :func:`rejection_sample` uses to correct the generator's samples.

    Parameters
    ----------
    discriminator : Discriminator
        Trained in place; ``pack`` must be 1 (one logit per sample).
    generator_net : Generator
        The frozen generator :math:`q`, on the discriminator's device.
    data : Tensor, shape (N, D)
        Samples of :math:`p`.
    steps, batch_size : int
    lr : float
        Adam's initial rate.
    generator : torch.Generator
        Source of every random draw.

    Returns
    -------
    History
        ``history["d_loss"]`` at every step.

    Raises
    ------
    TypeError
        If a network has the wrong class, ``data`` is not a floating-point tensor or
        ``generator`` is not a ``torch.Generator``.
    ValueError
        If the discriminator packs, shapes or devices disagree, or ``steps``,
        ``batch_size`` or ``lr`` is not positive.

    References
    ----------
    S. Azadi, C. Olsson, T. Darrell, I. Goodfellow and A. Odena, "Discriminator rejection
    sampling", ICLR 2019.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> G, D = Generator(2, hidden=8, depth=1), Discriminator(2, hidden=8, depth=1)
    >>> history = train_discriminator(D, G, torch.randn(64, 2, generator=g), steps=3,
    ...                               batch_size=8, lr=1e-3, generator=g)
    >>> len(history["d_loss"])
    3
    """
    if not isinstance(discriminator, Discriminator):
        raise TypeError(
            f"`discriminator` must be a Discriminator, got {type(discriminator).__name__}"
        )
    if not isinstance(generator_net, Generator):
        raise TypeError(f"`generator_net` must be a Generator, got {type(generator_net).__name__}")
    if discriminator.pack != 1:
        raise ValueError(
            "the discriminator must judge one sample at a time (pack=1), got "
            f"pack={discriminator.pack}"
        )
    data = _check_float(data, "data")
    dims = {generator_net.data_dim, discriminator.data_dim}
    if data.ndim != 2 or dims != {data.shape[1]}:
        raise ValueError(
            f"`data` must have shape (N, {generator_net.data_dim}) and the networks the same "
            f"data dimension, got shape {tuple(data.shape)} and {discriminator.data_dim}"
        )
    steps = _positive_int(steps, "steps")
    batch_size = _positive_int(batch_size, "batch_size")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"`lr` must be a positive number, got {lr!r}")
    generator = _check_generator(generator)
    device = next(discriminator.parameters()).device
    if next(generator_net.parameters()).device != device:
        raise ValueError(
            f"the networks must be on the same device, got {device} and "
            f"{next(generator_net.parameters()).device}"
        )
    data = data.to(device=device, dtype=next(discriminator.parameters()).dtype)
    opt = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    was_training = generator_net.training
    generator_net.eval()
    discriminator.train()
    losses = []
    try:
        for step in range(steps):
            for group in opt.param_groups:
                group["lr"] = lr * (1 - step / steps)
            idx = torch.randint(
                data.shape[0], (batch_size,), generator=generator, device=generator.device
            )
            real = data[idx.to(device)]
            with torch.no_grad():
                fake = generator_net(generator_net.latent(batch_size, generator=generator))
            logits = discriminator(torch.cat([real, fake]))  # (2 B,)
            loss = discriminator_loss(logits[:batch_size], logits[batch_size:])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.detach())
    finally:
        generator_net.train(was_training)
    history = History()
    for step, value in enumerate(torch.stack(losses).tolist()):  # one sync
        history.append(step, {"d_loss": value})
    return history


def rejection_sample(
    generator_net: Generator,
    critic: Callable[[Tensor], Tensor],
    num_samples: int,
    *,
    generator: torch.Generator,
    pool: int = 20_000,
    max_pools: int = 1000,
) -> Tensor:
    r"""Discriminator rejection sampling: keep a generated sample with probability p/(Mq).

    With the log density ratio :math:`a(\mathbf{x}) \approx \log p(\mathbf{x}) /
    q(\mathbf{x})` given by a discriminator's logit (:func:`train_discriminator`), a
    sample :math:`\mathbf{x} \sim q` of the generator is accepted with probability

    .. math:: \min\bigl(1, e^{a(\mathbf{x}) - \log M}\bigr), \qquad
       \log M = \max_{\text{first pool}} a(\mathbf{x}),

    the rejection sampler of :math:`p` with envelope :math:`Mq` (Azadi et al. 2019;
    Chapter 16, correcting the samples). Codes are drawn ``pool`` at a time; :math:`M` is
    estimated as the largest ratio in the first pool, and later samples above it are
    accepted with probability 1. With an exact ratio and :math:`M \ge \max p/q` the
    accepted samples are draws from :math:`p`; the cost is about :math:`M` generator
    evaluations per accepted sample.

    Parameters
    ----------
    generator_net : Generator
    critic : callable
        Maps samples of shape (n, data_dim) to logits of shape (n,) (a
        :class:`Discriminator` with ``pack=1``).
    num_samples : int
        Samples returned, in the order accepted.
    generator : torch.Generator
        Source of the codes and of the uniform draws.
    pool : int, default 20000
        Codes drawn at a time.
    max_pools : int, default 1000
        Pools drawn at most before giving up.

    Returns
    -------
    Tensor, shape (num_samples, data_dim)
        Detached, on the network's device.

    Raises
    ------
    TypeError
        If ``generator_net`` is not a :class:`Generator` or ``generator`` not a
        ``torch.Generator``.
    ValueError
        If ``num_samples``, ``pool`` or ``max_pools`` is not a positive integer or the
        critic does not return one logit per sample.
    RuntimeError
        If fewer than ``num_samples`` samples are accepted from ``max_pools`` pools.

    References
    ----------
    S. Azadi, C. Olsson, T. Darrell, I. Goodfellow and A. Odena, "Discriminator rejection
    sampling", ICLR 2019.

    Examples
    --------
    >>> net = Generator(1, latent_dim=1, hidden=4, depth=1)
    >>> g = torch.Generator().manual_seed(0)
    >>> rejection_sample(net, lambda x: -x[:, 0] ** 2, 6, generator=g, pool=50).shape
    torch.Size([6, 1])
    """
    if not isinstance(generator_net, Generator):
        raise TypeError(f"`generator_net` must be a Generator, got {type(generator_net).__name__}")
    num_samples = _positive_int(num_samples, "num_samples")
    pool = _positive_int(pool, "pool")
    max_pools = _positive_int(max_pools, "max_pools")
    generator = _check_generator(generator)
    was_training = generator_net.training
    generator_net.eval()
    accepted: list[Tensor] = []
    total, log_m = 0, None
    try:
        with torch.no_grad():
            for _ in range(max_pools):
                x = generator_net(generator_net.latent(pool, generator=generator))  # (pool, D)
                a = critic(x)
                if a.shape != (pool,):
                    raise ValueError(
                        f"the critic must return one logit per sample, shape ({pool},), "
                        f"got {tuple(a.shape)}"
                    )
                if log_m is None:
                    log_m = a.max()
                u = torch.rand(pool, generator=generator, device=generator.device)
                keep = u.to(a.device) < torch.exp((a - log_m).clamp(max=0))
                accepted.append(x[keep])
                total += int(keep.sum())
                if total >= num_samples:
                    return torch.cat(accepted)[:num_samples]
    finally:
        generator_net.train(was_training)
    raise RuntimeError(
        f"only {total} of {num_samples} samples accepted from {max_pools} pools of {pool}"
    )


# Every public function checks devices and numpy scalars the same way (dlbook._checks).
_checks.guard_module(globals(), __all__)
