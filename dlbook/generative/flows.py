r"""Normalizing flows: affine coupling layers and RealNVP (Chapter 17).

A flow is an invertible map :math:`f` from data :math:`\vx` to a latent :math:`\vz` with a
simple density, here :math:`\mathcal N(\mathbf 0, I)`. By the change of variables of
Chapter 4 (:func:`dlbook.prob.change_of_variables_log_pdf`)

.. math::
    \log p(\vx) = \log \mathcal N\bigl(f(\vx); \mathbf 0, I\bigr)
    + \log\left|\det \frac{\partial f(\vx)}{\partial \vx}\right|,

and an affine coupling layer (Dinh et al. 2017) makes both terms cheap: it leaves the
coordinates picked by a binary mask :math:`\vb` alone and scales and shifts the others by
amounts computed from the untouched ones, so its Jacobian is triangular.

* :func:`affine_coupling`, :func:`affine_coupling_inverse` - one layer, as functions.
* :class:`Conditioner` - the network that computes the log-scale and the shift.
* :class:`AffineCoupling`, :class:`ElementwiseAffine` - layers with parameters.
* :class:`RealNVP` - a stack of couplings with alternating masks: ``forward``,
  ``inverse``, ``log_prob``, ``sample``.
* :func:`checkerboard_masks`, :func:`train_flow`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from dlbook import _checks

__all__ = [
    "AffineCoupling",
    "Conditioner",
    "ElementwiseAffine",
    "RealNVP",
    "affine_coupling",
    "affine_coupling_inverse",
    "checkerboard_masks",
    "standard_normal_log_prob",
    "train_flow",
]

ConditionerFn = Callable[[Tensor], tuple[Tensor, Tensor]]


def _check_points(x: Tensor, name: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"`{name}` must be a floating-point tensor, got dtype {x.dtype}")
    if x.ndim != 2:
        raise ValueError(f"`{name}` must have shape (N, D), got shape {tuple(x.shape)}")


def _check_mask(x: Tensor, mask: Tensor, name: str) -> None:
    _check_points(x, name)
    if not isinstance(mask, Tensor):
        raise TypeError(f"`mask` must be a torch.Tensor, got {type(mask).__name__}")
    if mask.shape != (x.shape[1],):
        raise ValueError(
            f"`mask` must have shape ({x.shape[1]},) to match `{name}` of shape "
            f"{tuple(x.shape)}, got shape {tuple(mask.shape)}"
        )
    if mask.device != x.device:
        raise ValueError(f"`mask` is on {mask.device} but `{name}` is on {x.device}")
    if not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError("`mask` must hold only zeros and ones")


def standard_normal_log_prob(z: Tensor) -> Tensor:
    r"""Log-density of the standard normal :math:`\mathcal N(\mathbf 0, I)` over the last axis.

    .. math::
        \log \mathcal N(\vz; \mathbf 0, I) = -\tfrac12 \|\vz\|^2 - \tfrac D2 \log 2\pi

    The flows' base density (Chapter 17); :func:`dlbook.prob.gaussian_log_pdf` with
    :math:`\Sigma = I` computes the same through a Cholesky factor, which is wasted work here.

    Parameters
    ----------
    z : Tensor
        Shape :math:`(\ldots, D)`.

    Returns
    -------
    Tensor
        Shape :math:`(\ldots,)`.

    Examples
    --------
    >>> round(standard_normal_log_prob(torch.zeros(1, 2)).item(), 4)  # -log(2 pi)
    -1.8379
    """
    return -0.5 * (z * z).sum(-1) - 0.5 * z.shape[-1] * math.log(2 * math.pi)


def affine_coupling(x: Tensor, mask: Tensor, conditioner: ConditionerFn) -> tuple[Tensor, Tensor]:
    r"""One affine coupling layer, data side to latent side, with its log-determinant.

    .. math::
        \vy = \vb \odot \vx + (\mathbf 1 - \vb) \odot
        \bigl(\vx \odot e^{\vs(\vb \odot \vx)} + \vt(\vb \odot \vx)\bigr), \qquad
        \log\left|\det \frac{\partial \vy}{\partial \vx}\right|
        = \sum_j (1 - b_j)\, s_j(\vb \odot \vx)

    (Chapter 17, RealNVP). The Jacobian is triangular once the coordinates are ordered
    kept-first, and its diagonal is 1 on the kept coordinates and :math:`e^{s_j}` on the
    others.

    Parameters
    ----------
    x : Tensor
        Shape :math:`(N, D)`.
    mask : Tensor
        Shape :math:`(D,)`, zeros and ones: 1 marks a coordinate passed through unchanged.
    conditioner : callable
        Maps the masked input :math:`(N, D)` to the log-scale :math:`\vs` and the shift
        :math:`\vt`, each :math:`(N, D)`.

    Returns
    -------
    y : Tensor
        Shape :math:`(N, D)`.
    log_det : Tensor
        Shape :math:`(N,)`.

    Raises
    ------
    TypeError
        If ``x`` is not a floating-point tensor.
    ValueError
        If ``x`` is not 2-D, or ``mask`` is not a 0/1 vector of length :math:`D` on ``x``'s
        device.

    References
    ----------
    .. [1] Dinh, L., Sohl-Dickstein, J., Bengio, S. "Density estimation using Real NVP."
       ICLR 2017.

    Examples
    --------
    >>> mask = torch.tensor([1.0, 0.0])
    >>> def conditioner(h):  # s = 0, t = 1: shift the second coordinate by one
    ...     return torch.zeros_like(h), torch.ones_like(h)
    >>> y, log_det = affine_coupling(torch.tensor([[2.0, 3.0]]), mask, conditioner)
    >>> y.tolist(), log_det.tolist()
    ([[2.0, 4.0]], [0.0])
    """
    _check_mask(x, mask, "x")
    mask = mask.to(x.dtype)
    free = 1 - mask
    s, t = conditioner(x * mask)  # each (N, D)
    s, t = s * free, t * free  # the kept coordinates are neither scaled nor shifted
    y = x * mask + free * (x * torch.exp(s) + t)
    return y, s.sum(dim=1)


def affine_coupling_inverse(
    y: Tensor, mask: Tensor, conditioner: ConditionerFn
) -> tuple[Tensor, Tensor]:
    r"""The exact inverse of :func:`affine_coupling`, with the log-determinant of the inverse.

    .. math::
        \vx = \vb \odot \vy + (\mathbf 1 - \vb) \odot
        \bigl(\vy - \vt(\vb \odot \vy)\bigr) \odot e^{-\vs(\vb \odot \vy)}, \qquad
        \log\left|\det \frac{\partial \vx}{\partial \vy}\right|
        = -\sum_j (1 - b_j)\, s_j(\vb \odot \vy)

    (Chapter 17). Since :math:`\vb \odot \vy = \vb \odot \vx`, the conditioner sees the same
    input as in the forward pass and the scale and shift can be undone exactly; the
    conditioner itself is never inverted.

    Parameters
    ----------
    y : Tensor
        Shape :math:`(N, D)`.
    mask : Tensor
        Shape :math:`(D,)`, as in :func:`affine_coupling`.
    conditioner : callable
        As in :func:`affine_coupling`.

    Returns
    -------
    x : Tensor
        Shape :math:`(N, D)`.
    log_det : Tensor
        Shape :math:`(N,)`, the log-determinant of the inverse map.

    Raises
    ------
    TypeError, ValueError
        As :func:`affine_coupling`.

    Examples
    --------
    >>> mask = torch.tensor([1.0, 0.0])
    >>> def conditioner(h):
    ...     return 0.5 * h.flip(1), h.flip(1)
    >>> x = torch.tensor([[2.0, 3.0]])
    >>> y, _ = affine_coupling(x, mask, conditioner)
    >>> torch.allclose(affine_coupling_inverse(y, mask, conditioner)[0], x)
    True
    """
    _check_mask(y, mask, "y")
    mask = mask.to(y.dtype)
    free = 1 - mask
    s, t = conditioner(y * mask)  # each (N, D)
    s, t = s * free, t * free
    x = y * mask + free * ((y - t) * torch.exp(-s))
    return x, -s.sum(dim=1)


def checkerboard_masks(dim: int, num_layers: int) -> list[Tensor]:
    r"""Alternating binary masks: even coordinates kept in layer 0, odd ones in layer 1, ...

    Alternating which half is kept lets every coordinate be transformed by some layer
    (Chapter 17).

    Parameters
    ----------
    dim : int
        The data dimension :math:`D \ge 2`.
    num_layers : int
        How many masks (one per coupling layer), at least 1.

    Returns
    -------
    list of Tensor
        ``num_layers`` float tensors of shape :math:`(D,)`.

    Raises
    ------
    ValueError
        If ``dim < 2`` or ``num_layers < 1``.

    Examples
    --------
    >>> [m.tolist() for m in checkerboard_masks(3, 2)]
    [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 2:
        raise ValueError(f"`dim` must be an integer >= 2, got {dim!r}")
    if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 1:
        raise ValueError(f"`num_layers` must be a positive integer, got {num_layers!r}")
    even = (torch.arange(dim) % 2 == 0).to(torch.float32)
    return [even if k % 2 == 0 else 1 - even for k in range(num_layers)]


class Conditioner(nn.Module):
    r"""The network inside a coupling layer: an MLP giving a log-scale and a shift.

    .. math::
        (\vs, \boldsymbol\delta) = \bigl(\va \odot \tanh(\vu), \vv\bigr), \qquad
        (\vu, \vv) = \mathrm{MLP}(\vb \odot \vx)

    The log-scale passes through ``tanh`` times a learnt per-coordinate factor :math:`\va`,
    which keeps
    :math:`e^{\vs}` bounded early in training (RealNVP uses the same device, Chapter 17).
    The last layer starts at zero, so a fresh coupling is the identity.

    Parameters
    ----------
    dim : int
        The data dimension :math:`D`.
    hidden : int, default 64
        Width of the two hidden layers.
    """

    def __init__(self, dim: int, hidden: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
        )
        self.out = nn.Linear(hidden, 2 * dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.scale = nn.Parameter(torch.ones(dim))

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor]:
        """Return ``(s, shift)``, each of the shape of ``h``."""
        s, t = self.out(self.net(h)).chunk(2, dim=1)  # (N, 2D) -> 2 x (N, D)
        return self.scale * torch.tanh(s), t


class AffineCoupling(nn.Module):
    r"""An affine coupling layer with its own :class:`Conditioner` (Chapter 17).

    Parameters
    ----------
    mask : Tensor
        Shape :math:`(D,)`, zeros and ones (1: passed through), stored as a buffer.
    hidden : int, default 64
        Width of the conditioner.
    """

    mask: Tensor

    def __init__(self, mask: Tensor, hidden: int = 64) -> None:
        super().__init__()
        if mask.ndim != 1:
            raise ValueError(f"`mask` must be 1-D, got shape {tuple(mask.shape)}")
        self.register_buffer("mask", mask.detach().clone().float())
        self.conditioner = Conditioner(mask.numel(), hidden)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Data side to latent side: ``(y, log_det)`` by :func:`affine_coupling`."""
        return affine_coupling(x, self.mask.to(x.dtype), self.conditioner)

    def inverse(self, y: Tensor) -> tuple[Tensor, Tensor]:
        """Latent side to data side by :func:`affine_coupling_inverse`."""
        return affine_coupling_inverse(y, self.mask.to(y.dtype), self.conditioner)


class ElementwiseAffine(nn.Module):
    r"""A fixed standardising layer :math:`\vy = (\vx - \boldsymbol\mu) \oslash \boldsymbol\sigma`.

    Its log-determinant is :math:`-\sum_j \log \sigma_j` for every point (Chapter 17). Set
    from data with :meth:`fit` (the mean and standard deviation of the training points), it
    puts the data at the scale of the base density before the couplings start.

    Parameters
    ----------
    dim : int
        The data dimension :math:`D`.
    """

    loc: Tensor
    log_scale: Tensor

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("loc", torch.zeros(dim))
        self.register_buffer("log_scale", torch.zeros(dim))

    @torch.no_grad()
    def fit(self, x: Tensor, min_std: float = 1e-3) -> ElementwiseAffine:
        """Set the location and scale to the columns' means and standard deviations."""
        _check_points(x, "x")
        self.loc.copy_(x.mean(0))
        self.log_scale.copy_(x.std(0).clamp_min(min_std).log())
        return self

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``((x - loc) / scale, log_det)``."""
        y = (x - self.loc) * torch.exp(-self.log_scale)
        return y, (-self.log_scale.sum()).expand(x.shape[0])

    def inverse(self, y: Tensor) -> tuple[Tensor, Tensor]:
        """``(y * scale + loc, log_det)`` of the inverse map."""
        x = y * torch.exp(self.log_scale) + self.loc
        return x, self.log_scale.sum().expand(y.shape[0])


class RealNVP(nn.Module):
    r"""A RealNVP flow: a standardising layer, then affine couplings with alternating masks.

    .. math::
        f = f_M \circ \dots \circ f_1, \qquad
        \log p(\vx) = \log \mathcal N\bigl(f(\vx); \mathbf 0, I\bigr)
        + \sum_{m=1}^{M} \log\left|\det \frac{\partial f_m}{\partial \vh_{m-1}}\right|

    (Chapter 17; Dinh et al. 2017). ``forward`` maps data to latents and returns the summed
    log-determinant; ``inverse`` maps latents to data.

    Parameters
    ----------
    dim : int
        The data dimension :math:`D \ge 2`.
    num_layers : int, default 6
        Number :math:`M` of coupling layers.
    hidden : int, default 64
        Width of each conditioner.
    masks : sequence of Tensor, optional
        One mask per layer (default :func:`checkerboard_masks`).

    References
    ----------
    .. [1] Dinh, L., Sohl-Dickstein, J., Bengio, S. "Density estimation using Real NVP."
       ICLR 2017.

    Examples
    --------
    >>> flow = RealNVP(2, num_layers=2)
    >>> x = torch.randn(5, 2)
    >>> torch.allclose(flow.inverse(flow(x)[0]), x, atol=1e-6)
    True
    """

    def __init__(
        self,
        dim: int,
        num_layers: int = 6,
        hidden: int = 64,
        masks: Sequence[Tensor] | None = None,
    ) -> None:
        super().__init__()
        if masks is None:
            masks = checkerboard_masks(dim, num_layers)
        if len(masks) != num_layers:
            raise ValueError(f"`masks` must hold {num_layers} masks, got {len(masks)}")
        self.dim = dim
        self.standardize = ElementwiseAffine(dim)
        self.layers = nn.ModuleList(AffineCoupling(m, hidden) for m in masks)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Data to latent: ``(z, log_det)`` with ``z`` of shape (N, D), ``log_det`` (N,)."""
        _check_points(x, "x")
        if x.shape[1] != self.dim:
            raise ValueError(f"`x` must have {self.dim} columns, got shape {tuple(x.shape)}")
        h, total = self.standardize(x)
        for layer in self.layers:
            h, log_det = layer(h)
            total = total + log_det
        return h, total

    def inverse(self, z: Tensor) -> Tensor:
        """Latent to data: the exact inverse of ``forward``."""
        _check_points(z, "z")
        h = z
        for layer in reversed(self.layers):
            assert isinstance(layer, AffineCoupling)
            h, _ = layer.inverse(h)
        x, _ = self.standardize.inverse(h)
        return x

    def log_prob(self, x: Tensor) -> Tensor:
        """Exact log-density of each row of ``x`` in nats, shape (N,)."""
        z, log_det = self.forward(x)
        return standard_normal_log_prob(z) + log_det

    @torch.no_grad()
    def sample(self, num_samples: int, *, generator: torch.Generator) -> Tensor:
        """Draw ``num_samples`` points: latents from ``generator``, pushed through ``inverse``.

        The latents are drawn on the generator's device and moved to the flow's.
        """
        ref = self.standardize.loc
        z = torch.randn(num_samples, self.dim, generator=generator, device=generator.device)
        return self.inverse(z.to(device=ref.device, dtype=ref.dtype))


def train_flow(
    flow: RealNVP,
    X: Tensor,
    *,
    steps: int = 1000,
    batch_size: int = 256,
    lr: float = 3e-3,
    weight_decay: float = 0.0,
    X_val: Tensor | None = None,
    eval_every: int = 50,
    generator: torch.Generator,
) -> list[float]:
    r"""Fit a flow by maximum likelihood: Adam on the mean negative log-density of mini-batches.

    .. math::
        L(\btheta) = -\frac1B \sum_{i=1}^{B} \log p_{\btheta}(\vx_i)

    (Chapter 17). The standardising layer is first set from ``X``; mini-batches are drawn
    with replacement by ``generator``, a fixed number of ``steps``. Given ``X_val``, the
    mean validation log-likelihood is measured every ``eval_every`` steps and the flow ends
    with the parameters that scored best (early stopping, for small data sets on which a
    flow over-fits).

    Parameters
    ----------
    flow : RealNVP
        Trained in place, on the device of ``X``.
    X : Tensor
        Shape :math:`(N, D)`, the training points.
    steps, batch_size : int
        Fixed numbers of Adam steps and points per step.
    lr, weight_decay : float
        Adam's step size and (decoupled) weight decay.
    X_val : Tensor, optional
        Shape :math:`(N_{\text{val}}, D)`, validation points for early stopping.
    eval_every : int, default 50
        Steps between validation measurements.
    generator : torch.Generator
        Draws the mini-batch indices (a CPU generator).

    Returns
    -------
    list of float
        The loss (nats per example) at every step.

    Raises
    ------
    ValueError
        If ``X`` is not 2-D or ``steps``/``batch_size`` is not positive.
    """
    _check_points(X, "X")
    if steps < 1 or batch_size < 1:
        raise ValueError(f"`steps` and `batch_size` must be positive, got {steps}, {batch_size}")
    flow.to(X.device)
    flow.standardize.fit(X)
    optimizer = torch.optim.AdamW(flow.parameters(), lr=lr, weight_decay=weight_decay)
    losses: list[float] = []
    best = (-math.inf, copy.deepcopy(flow.state_dict()))
    for step in range(1, steps + 1):
        idx = torch.randint(0, X.shape[0], (batch_size,), generator=generator)
        loss = -flow.log_prob(X[idx.to(X.device)]).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if X_val is not None and (step % eval_every == 0 or step == steps):
            with torch.no_grad():
                score = flow.log_prob(X_val).mean().item()
            if score > best[0]:
                best = (score, copy.deepcopy(flow.state_dict()))
    if X_val is not None:
        flow.load_state_dict(best[1])
    return losses


# Every public function checks devices and numpy scalars the same way (dlbook._checks).
_checks.guard_module(globals(), __all__)
