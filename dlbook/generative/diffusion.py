r"""Denoising diffusion: DDPM's forward process, posterior, objective and samplers; DDIM (Ch. 17).

The forward process adds Gaussian noise in :math:`T` small steps,
:math:`q(\vx_t \mid \vx_{t-1}) = \mathcal N(\sqrt{1-\beta_t}\,\vx_{t-1}, \beta_t I)`, and has
the closed form :math:`q(\vx_t \mid \vx_0) = \mathcal N(\sqrt{\bar\alpha_t}\,\vx_0,
(1-\bar\alpha_t) I)` with :math:`\bar\alpha_t = \prod_{s \le t} (1-\beta_s)`. A network
:math:`\boldsymbol\epsilon_{\btheta}(\vx_t, t)` learns to predict the noise; sampling runs the
process backwards (Ho et al. 2020), or jumps through a few of its steps deterministically
(DDIM, Song et al. 2021).

Time steps are 0-based as in code and in ``diffusers``: index ``t`` in ``0..T-1`` is the
paper's step :math:`t+1`, so ``alpha_bar[0]`` is :math:`\bar\alpha_1 = 1 - \beta_1`.

* Schedules: :func:`linear_betas`, :func:`cosine_betas`, :class:`NoiseSchedule`.
* Forward process: :func:`q_step`, :func:`q_sample`.
* Reverse process: :func:`q_posterior`, :func:`predict_x0`, :func:`ddpm_step`,
  :func:`ddim_step`, :func:`ddim_timesteps`, :func:`quadratic_timesteps`.
* Learning and sampling: :func:`timestep_embedding`, :class:`EpsilonMLP`,
  :func:`denoising_loss`, :func:`train_ddpm`, :func:`ddpm_sample`, :func:`ddim_sample`,
  :class:`DDPM`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields

import torch
from torch import Tensor, nn

from dlbook import _checks

__all__ = [
    "DDPM",
    "EpsilonMLP",
    "NoiseSchedule",
    "cosine_betas",
    "ddim_sample",
    "ddim_step",
    "ddim_timesteps",
    "ddpm_sample",
    "ddpm_step",
    "denoising_loss",
    "linear_betas",
    "predict_x0",
    "q_posterior",
    "q_sample",
    "q_step",
    "quadratic_timesteps",
    "timestep_embedding",
    "train_ddpm",
]

EpsModel = Callable[[Tensor, Tensor], Tensor]


# --------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------
def _check_float(x: object, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"`{name}` must be a floating-point tensor, got dtype {x.dtype}")
    if x.ndim < 1:
        raise ValueError(f"`{name}` must have a batch axis, got a 0-d tensor")
    return x


def _check_like(x: Tensor, other: Tensor, xname: str, oname: str) -> None:
    _check_float(other, oname)
    if other.shape != x.shape:
        raise ValueError(
            f"`{oname}` must have the shape of `{xname}` {tuple(x.shape)}, got {tuple(other.shape)}"
        )
    if other.device != x.device:
        raise ValueError(f"`{oname}` is on {other.device} but `{xname}` is on {x.device}")


def _check_table(table: Tensor, name: str, x: Tensor) -> None:
    _check_float(table, name)
    if table.ndim != 1:
        raise ValueError(f"`{name}` must have shape (T,), got shape {tuple(table.shape)}")
    if table.device != x.device:
        raise ValueError(f"`{name}` is on {table.device} but the data are on {x.device}")


def _timesteps(t: Tensor | int, x: Tensor, T: int) -> Tensor:
    """``t`` as an int64 tensor of shape (N,) on ``x``'s device, every entry in 0..T-1."""
    n = x.shape[0]
    if isinstance(t, bool):
        raise TypeError("`t` must be an int or an integer tensor, got a bool")
    if isinstance(t, int):
        if not 0 <= t < T:
            raise ValueError(f"`t` must lie in 0..{T - 1}, got {t}")
        return torch.full((n,), t, dtype=torch.int64, device=x.device)
    if not isinstance(t, Tensor):
        raise TypeError(f"`t` must be an int or an integer tensor, got {type(t).__name__}")
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise TypeError(f"`t` must hold integers, got dtype {t.dtype}")
    if t.device != x.device:
        raise ValueError(f"`t` is on {t.device} but the data are on {x.device}")
    t = t.to(torch.int64)  # uint8 and friends: never used as a mask by accident
    if t.ndim == 0:
        t = t.expand(n)
    if t.shape != (n,):
        raise ValueError(f"`t` must be a scalar or have shape ({n},), got {tuple(t.shape)}")
    if n and (int(t.min()) < 0 or int(t.max()) >= T):
        raise ValueError(
            f"`t` must lie in 0..{T - 1}, got values in {int(t.min())}..{int(t.max())}"
        )
    return t


def _per_example(values: Tensor, t: Tensor | int, x: Tensor) -> Tensor | float:
    """``values[t]``: a Python float for one step shared by the batch (cheap in a sampler's
    loop), else a tensor in ``x``'s dtype shaped (N, 1, ..., 1) to broadcast against ``x``."""
    if isinstance(t, int) and not isinstance(t, bool):
        if not 0 <= t < values.numel():
            raise ValueError(f"`t` must lie in 0..{values.numel() - 1}, got {t}")
        return float(values[t])
    steps = _timesteps(t, x, values.numel())
    return values[steps].to(x.dtype).reshape(-1, *([1] * (x.ndim - 1)))  # (N,) -> (N, 1, ...)


# --------------------------------------------------------------------------------------
# Noise schedules
# --------------------------------------------------------------------------------------
def linear_betas(
    T: int = 1000,
    beta_start: float = 1e-4,
    beta_end: float = 0.02,
    *,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device | None = None,
) -> Tensor:
    r"""DDPM's linear noise schedule: :math:`T` evenly spaced betas, ``beta_start`` to ``beta_end``.

    .. math::
        \beta_t = \beta_1 + \frac{t-1}{T-1}(\beta_T - \beta_1), \qquad t = 1, \dots, T

    (Chapter 17). Ho et al. (2020) use :math:`T = 1000`, :math:`\beta_1 = 10^{-4}`,
    :math:`\beta_T = 0.02`, the defaults.

    Parameters
    ----------
    T : int, default 1000
        Number of steps, at least 2.
    beta_start, beta_end : float
        The first and last variances, :math:`0 < \beta_1 \le \beta_T < 1`.
    dtype : torch.dtype, default torch.float64
    device : str or torch.device, optional

    Returns
    -------
    Tensor
        Shape :math:`(T,)`.

    Raises
    ------
    ValueError
        If ``T < 2`` or the betas are not in :math:`(0, 1)` and increasing.

    References
    ----------
    .. [1] Ho, J., Jain, A., Abbeel, P. "Denoising diffusion probabilistic models."
       NeurIPS 2020.

    Examples
    --------
    >>> betas = linear_betas()
    >>> betas.shape, betas[0].item(), round(betas[-1].item(), 6)
    (torch.Size([1000]), 0.0001, 0.02)
    """
    if isinstance(T, bool) or not isinstance(T, int) or T < 2:
        raise ValueError(f"`T` must be an integer >= 2, got {T!r}")
    if not 0 < beta_start <= beta_end < 1:
        raise ValueError(
            f"need 0 < beta_start <= beta_end < 1, got beta_start={beta_start}, beta_end={beta_end}"
        )
    return torch.linspace(beta_start, beta_end, T, dtype=dtype, device=device)


def cosine_betas(
    T: int = 1000,
    s: float = 0.008,
    max_beta: float = 0.999,
    *,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device | None = None,
) -> Tensor:
    r"""The cosine schedule of Nichol and Dhariwal (2021): :math:`\bar\alpha` first, then betas.

    .. math::
        \bar\alpha(u) = \cos^2\!\Bigl(\frac{u + s}{1 + s}\,\frac{\pi}{2}\Bigr), \qquad
        \beta_t = \min\Bigl(1 - \frac{\bar\alpha(t/T)}{\bar\alpha((t-1)/T)},\ \beta_{\max}\Bigr)

    (Chapter 17). The offset :math:`s` keeps :math:`\beta_1` from being tiny and the clip at
    :math:`\beta_{\max} = 0.999` stops the last step from destroying everything at once.

    Parameters
    ----------
    T : int, default 1000
    s : float, default 0.008
    max_beta : float, default 0.999
    dtype : torch.dtype, default torch.float64
    device : str or torch.device, optional

    Returns
    -------
    Tensor
        Shape :math:`(T,)`.

    Raises
    ------
    ValueError
        If ``T < 2``, ``s`` is negative or ``max_beta`` is not in :math:`(0, 1]`.

    References
    ----------
    .. [1] Nichol, A., Dhariwal, P. "Improved denoising diffusion probabilistic models."
       ICML 2021.

    Examples
    --------
    >>> round(cosine_betas()[-1].item(), 3)
    0.999
    """
    if isinstance(T, bool) or not isinstance(T, int) or T < 2:
        raise ValueError(f"`T` must be an integer >= 2, got {T!r}")
    if s < 0:
        raise ValueError(f"`s` must be non-negative, got {s}")
    if not 0 < max_beta <= 1:
        raise ValueError(f"`max_beta` must lie in (0, 1], got {max_beta}")
    u = torch.arange(T + 1, dtype=torch.float64) / T
    alpha_bar = torch.cos((u + s) / (1 + s) * math.pi / 2) ** 2  # (T + 1,)
    betas = (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=max_beta)
    return betas.to(dtype=dtype, device=device)


@dataclass(frozen=True)
class NoiseSchedule:
    r"""Every quantity of a DDPM schedule, computed once from the betas (Chapter 17).

    .. math::
        \alpha_t = 1 - \beta_t, \quad \bar\alpha_t = \prod_{s=1}^{t} \alpha_s, \quad
        \tilde\beta_t = \frac{1 - \bar\alpha_{t-1}}{1 - \bar\alpha_t}\,\beta_t

    with :math:`\bar\alpha_0 = 1`, so :math:`\tilde\beta_1 = 0`. All tensors have shape
    :math:`(T,)`; ``alpha_bar_prev[t]`` is ``alpha_bar[t - 1]`` (1 at ``t = 0``).

    Build it with :meth:`from_betas`.

    Examples
    --------
    >>> sched = NoiseSchedule.from_betas(linear_betas())
    >>> sched.T, round(sched.alpha_bar[-1].item(), 7)
    (1000, 4.04e-05)
    """

    betas: Tensor
    alphas: Tensor
    alpha_bar: Tensor
    alpha_bar_prev: Tensor
    posterior_variance: Tensor

    @classmethod
    def from_betas(cls, betas: Tensor) -> NoiseSchedule:
        """All the schedule's quantities from a :math:`(T,)` tensor of betas in (0, 1)."""
        _check_float(betas, "betas")
        if betas.ndim != 1 or betas.numel() < 2:
            raise ValueError(f"`betas` must have shape (T,) with T >= 2, got {tuple(betas.shape)}")
        if not bool(((betas > 0) & (betas < 1)).all()):
            raise ValueError("every beta must lie strictly between 0 and 1")
        alphas = 1 - betas
        alpha_bar = torch.cumprod(alphas, dim=0)
        alpha_bar_prev = torch.cat([alpha_bar.new_ones(1), alpha_bar[:-1]])
        posterior_variance = (1 - alpha_bar_prev) / (1 - alpha_bar) * betas
        return cls(betas, alphas, alpha_bar, alpha_bar_prev, posterior_variance)

    @property
    def T(self) -> int:  # noqa: N802 (the paper's letter)
        """The number of steps."""
        return int(self.betas.numel())

    def to(self, device: str | torch.device) -> NoiseSchedule:
        """A copy with every tensor on ``device``."""
        return NoiseSchedule(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})


# --------------------------------------------------------------------------------------
# The forward process
# --------------------------------------------------------------------------------------
def q_step(x_prev: Tensor, t: Tensor | int, betas: Tensor, noise: Tensor) -> Tensor:
    r"""One step of the forward process, :math:`\vx_{t-1} \to \vx_t`.

    .. math::
        \vx_t = \sqrt{1 - \beta_t}\, \vx_{t-1} + \sqrt{\beta_t}\, \boldsymbol\epsilon,
        \qquad \boldsymbol\epsilon \sim \mathcal N(\mathbf 0, I)

    (Chapter 17, DDPM's forward process).

    Parameters
    ----------
    x_prev : Tensor
        Shape :math:`(N, \ldots)`.
    t : int or Tensor
        The 0-based step, one for all or shape :math:`(N,)`.
    betas : Tensor
        Shape :math:`(T,)`.
    noise : Tensor
        Standard normal noise of the shape of ``x_prev``.

    Returns
    -------
    Tensor
        Shape of ``x_prev``.

    Raises
    ------
    TypeError, ValueError
        On non-float data, shapes or devices that disagree, or ``t`` outside ``0..T-1``.

    Examples
    --------
    >>> f64 = torch.float64
    >>> betas = torch.tensor([0.36, 0.5], dtype=f64)
    >>> x = q_step(torch.ones(2, 1, dtype=f64), 0, betas, torch.zeros(2, 1, dtype=f64))
    >>> x.flatten().tolist()
    [0.8, 0.8]
    """
    _check_float(x_prev, "x_prev")
    _check_like(x_prev, noise, "x_prev", "noise")
    _check_table(betas, "betas", x_prev)
    keep = _per_example((1 - betas).sqrt(), t, x_prev)
    spread = _per_example(betas.sqrt(), t, x_prev)
    return keep * x_prev + spread * noise


def q_sample(x0: Tensor, t: Tensor | int, alpha_bar: Tensor, noise: Tensor) -> Tensor:
    r"""Sample :math:`q(\vx_t \mid \vx_0)` in one go, by the closed form.

    .. math::
        \vx_t = \sqrt{\bar\alpha_t}\, \vx_0 + \sqrt{1 - \bar\alpha_t}\, \boldsymbol\epsilon,
        \qquad \boldsymbol\epsilon \sim \mathcal N(\mathbf 0, I)

    (Chapter 17). Composing :func:`q_step` :math:`t` times gives the same distribution.

    Parameters
    ----------
    x0 : Tensor
        Shape :math:`(N, \ldots)`, clean data.
    t : int or Tensor
        The 0-based step, one for all or shape :math:`(N,)`.
    alpha_bar : Tensor
        Shape :math:`(T,)`, the cumulative products :math:`\bar\alpha`.
    noise : Tensor
        Standard normal noise of the shape of ``x0``.

    Returns
    -------
    Tensor
        Shape of ``x0``.

    Raises
    ------
    TypeError, ValueError
        As :func:`q_step`.

    References
    ----------
    .. [1] Ho, J., Jain, A., Abbeel, P. "Denoising diffusion probabilistic models."
       NeurIPS 2020, eq. (4).

    Examples
    --------
    >>> x = q_sample(torch.ones(1, 2), 0, torch.tensor([0.64]), torch.ones(1, 2))
    >>> [round(v, 6) for v in x.flatten().tolist()]
    [1.4, 1.4]
    """
    _check_float(x0, "x0")
    _check_like(x0, noise, "x0", "noise")
    _check_table(alpha_bar, "alpha_bar", x0)
    signal = _per_example(alpha_bar.sqrt(), t, x0)
    spread = _per_example((1 - alpha_bar).sqrt(), t, x0)
    return signal * x0 + spread * noise


# --------------------------------------------------------------------------------------
# The reverse process
# --------------------------------------------------------------------------------------
def q_posterior(
    x0: Tensor, x_t: Tensor, t: Tensor | int, schedule: NoiseSchedule
) -> tuple[Tensor, Tensor]:
    r"""Mean and variance of the forward process's posterior :math:`q(\vx_{t-1} \mid \vx_t, \vx_0)`.

    .. math::
        \tilde{\boldsymbol\mu}_t = \frac{\sqrt{\bar\alpha_{t-1}}\,\beta_t}{1-\bar\alpha_t}\,\vx_0
        + \frac{\sqrt{\alpha_t}\,(1-\bar\alpha_{t-1})}{1-\bar\alpha_t}\,\vx_t, \qquad
        \tilde\beta_t = \frac{1-\bar\alpha_{t-1}}{1-\bar\alpha_t}\,\beta_t

    (Chapter 17; Ho et al. 2020, eqs. 6-7). It is Gaussian conditioning of the joint
    Gaussian of :math:`(\vx_{t-1}, \vx_t)` given :math:`\vx_0`.

    Parameters
    ----------
    x0, x_t : Tensor
        Shape :math:`(N, \ldots)` each.
    t : int or Tensor
        The 0-based step of ``x_t``, one for all or shape :math:`(N,)`.
    schedule : NoiseSchedule
        On the data's device.

    Returns
    -------
    mean : Tensor
        Shape of ``x0``.
    variance : Tensor
        Shape :math:`(N,)`, the variance of every coordinate (the posterior is isotropic).

    Raises
    ------
    TypeError, ValueError
        On non-float data, shapes or devices that disagree, or ``t`` outside ``0..T-1``.

    Examples
    --------
    >>> sched = NoiseSchedule.from_betas(linear_betas(10, 0.1, 0.2))
    >>> mean, var = q_posterior(torch.zeros(1, 2), torch.ones(1, 2), 0, sched)
    >>> mean.tolist(), var.tolist()  # at the first step x_{t-1} is x_0 itself
    ([[0.0, 0.0]], [0.0])
    """
    _check_float(x0, "x0")
    _check_like(x0, x_t, "x0", "x_t")
    _check_table(schedule.betas, "schedule.betas", x0)
    steps = _timesteps(t, x0, schedule.T)
    coef_x0 = schedule.alpha_bar_prev.sqrt() * schedule.betas / (1 - schedule.alpha_bar)
    coef_xt = schedule.alphas.sqrt() * (1 - schedule.alpha_bar_prev) / (1 - schedule.alpha_bar)
    mean = _per_example(coef_x0, t, x0) * x0 + _per_example(coef_xt, t, x0) * x_t
    return mean, schedule.posterior_variance[steps].to(x0.dtype)


def predict_x0(x_t: Tensor, t: Tensor | int, eps: Tensor, alpha_bar: Tensor) -> Tensor:
    r"""The clean data implied by a noise prediction: :func:`q_sample` solved for :math:`\vx_0`.

    .. math::
        \hat\vx_0 = \frac{\vx_t - \sqrt{1-\bar\alpha_t}\,\hat{\boldsymbol\epsilon}}
        {\sqrt{\bar\alpha_t}}

    (Chapter 17).

    Parameters
    ----------
    x_t, eps : Tensor
        Shape :math:`(N, \ldots)` each.
    t : int or Tensor
        The 0-based step of ``x_t``.
    alpha_bar : Tensor
        Shape :math:`(T,)`.

    Returns
    -------
    Tensor
        Shape of ``x_t``.

    Raises
    ------
    TypeError, ValueError
        As :func:`q_sample`.

    Examples
    --------
    >>> x_t = q_sample(torch.ones(1, 2), 3, linear_betas(5), torch.zeros(1, 2))
    >>> predict_x0(x_t, 3, torch.zeros(1, 2), linear_betas(5)).tolist()
    [[1.0, 1.0]]
    """
    _check_float(x_t, "x_t")
    _check_like(x_t, eps, "x_t", "eps")
    _check_table(alpha_bar, "alpha_bar", x_t)
    spread = _per_example((1 - alpha_bar).sqrt(), t, x_t)
    signal = _per_example(alpha_bar.sqrt(), t, x_t)
    return (x_t - spread * eps) / signal


def ddpm_step(
    x_t: Tensor, t: int, eps: Tensor, schedule: NoiseSchedule, noise: Tensor | None = None
) -> Tensor:
    r"""One step of DDPM's ancestral sampler, :math:`\vx_t \to \vx_{t-1}`.

    .. math::
        \vx_{t-1} = \tilde{\boldsymbol\mu}_t(\hat\vx_0, \vx_t) + \sqrt{\tilde\beta_t}\,\vz,
        \qquad \hat\vx_0 = \text{predict\_x0}(\vx_t, t, \hat{\boldsymbol\epsilon}),
        \quad \vz \sim \mathcal N(\mathbf 0, I)

    (Chapter 17): the posterior of :func:`q_posterior` with the network's guess of
    :math:`\vx_0` put in; no noise is added at the last step (``t = 0``). This is
    ``diffusers.DDPMScheduler.step`` with ``clip_sample=False`` and the "fixed_small"
    variance :math:`\tilde\beta_t`.

    Parameters
    ----------
    x_t, eps : Tensor
        Shape :math:`(N, \ldots)`: the current point and the predicted noise.
    t : int
        The 0-based step of ``x_t``.
    schedule : NoiseSchedule
    noise : Tensor, optional
        The :math:`\vz` to add, shape of ``x_t``; required unless ``t == 0``.

    Returns
    -------
    Tensor
        :math:`\vx_{t-1}`, shape of ``x_t``.

    Raises
    ------
    TypeError, ValueError
        As :func:`q_posterior`, or if ``noise`` is missing for ``t > 0``.

    Examples
    --------
    >>> sched = NoiseSchedule.from_betas(linear_betas(10))
    >>> ddpm_step(torch.ones(2, 3), 0, torch.zeros(2, 3), sched).shape
    torch.Size([2, 3])
    """
    x0_hat = predict_x0(x_t, t, eps, schedule.alpha_bar)
    mean, _ = q_posterior(x0_hat, x_t, t, schedule)
    if isinstance(t, int) and t == 0:
        return mean
    if noise is None:
        raise ValueError("`noise` is required when t > 0")
    _check_like(x_t, noise, "x_t", "noise")
    spread = _per_example(schedule.posterior_variance.sqrt(), t, x_t)
    return mean + spread * noise


def ddim_step(
    x_t: Tensor,
    t: int,
    t_prev: int,
    eps: Tensor,
    alpha_bar: Tensor,
    *,
    eta: float = 0.0,
    noise: Tensor | None = None,
) -> Tensor:
    r"""One DDIM step from step ``t`` to an earlier step ``t_prev`` (``-1``: the clean data).

    .. math::
        \vx_{t'} = \sqrt{\bar\alpha_{t'}}\,\hat\vx_0
        + \sqrt{1 - \bar\alpha_{t'} - \sigma^2}\,\hat{\boldsymbol\epsilon} + \sigma\vz, \qquad
        \sigma = \eta\sqrt{\frac{1-\bar\alpha_{t'}}{1-\bar\alpha_t}
        \Bigl(1 - \frac{\bar\alpha_t}{\bar\alpha_{t'}}\Bigr)}

    (Chapter 17; Song et al. 2021, eq. 12), with :math:`\bar\alpha_{-1} = 1`. With
    :math:`\eta = 0` the step is deterministic; with :math:`\eta = 1` and ``t_prev = t - 1``
    it is DDPM's step. This is ``diffusers.DDIMScheduler.step`` with ``clip_sample=False``.

    Parameters
    ----------
    x_t, eps : Tensor
        Shape :math:`(N, \ldots)`.
    t : int
        The current 0-based step.
    t_prev : int
        The step to jump to, ``-1 <= t_prev < t``.
    alpha_bar : Tensor
        Shape :math:`(T,)`.
    eta : float, default 0.0
        Amount of fresh noise, :math:`\eta \ge 0`.
    noise : Tensor, optional
        The :math:`\vz`, shape of ``x_t``; required when :math:`\sigma > 0`.

    Returns
    -------
    Tensor
        :math:`\vx_{t'}`, shape of ``x_t``.

    Raises
    ------
    TypeError, ValueError
        On bad tensors, ``t_prev`` not in ``-1..t-1``, negative ``eta`` or missing ``noise``.

    References
    ----------
    .. [1] Song, J., Meng, C., Ermon, S. "Denoising diffusion implicit models." ICLR 2021.

    Examples
    --------
    >>> ab = torch.cumprod(1 - linear_betas(10), 0)
    >>> x0 = torch.randn(4, 2, dtype=torch.float64)
    >>> eps = torch.randn(4, 2, dtype=torch.float64)
    >>> x_t = q_sample(x0, 9, ab, eps)
    >>> torch.allclose(ddim_step(x_t, 9, -1, eps, ab), x0)  # the exact noise lands on x0
    True
    """
    x0_hat = predict_x0(x_t, t, eps, alpha_bar)
    if isinstance(t_prev, bool) or not isinstance(t_prev, int) or not -1 <= t_prev < t:
        raise ValueError(f"`t_prev` must be an integer in -1..{t - 1}, got {t_prev!r}")
    if eta < 0:
        raise ValueError(f"`eta` must be non-negative, got {eta}")
    ab_t = float(alpha_bar[t])
    ab_prev = float(alpha_bar[t_prev]) if t_prev >= 0 else 1.0
    sigma = eta * math.sqrt((1 - ab_prev) / (1 - ab_t) * (1 - ab_t / ab_prev))
    x_prev = math.sqrt(ab_prev) * x0_hat + math.sqrt(max(1 - ab_prev - sigma**2, 0.0)) * eps
    if sigma > 0:
        if noise is None:
            raise ValueError("`noise` is required when eta > 0")
        _check_like(x_t, noise, "x_t", "noise")
        x_prev = x_prev + sigma * noise
    return x_prev


def ddim_timesteps(T: int, num_steps: int) -> list[int]:
    r"""The steps a DDIM sampler visits: ``num_steps`` evenly spaced, from the largest down to 0.

    .. math::
        \tau_i = i \lfloor T / S \rfloor, \qquad i = S-1, \dots, 0

    (Chapter 17), the "leading" spacing ``diffusers.DDIMScheduler`` uses by default.

    Parameters
    ----------
    T : int
        Steps of the trained process.
    num_steps : int
        :math:`S`, with :math:`1 \le S \le T`.

    Returns
    -------
    list of int
        Decreasing steps, ending at 0.

    Raises
    ------
    ValueError
        If ``num_steps`` is not in ``1..T``.

    Examples
    --------
    >>> ddim_timesteps(1000, 4)
    [750, 500, 250, 0]
    """
    if isinstance(num_steps, bool) or not isinstance(num_steps, int) or not 1 <= num_steps <= T:
        raise ValueError(f"`num_steps` must be an integer in 1..{T}, got {num_steps!r}")
    stride = T // num_steps
    return [i * stride for i in reversed(range(num_steps))]


def quadratic_timesteps(T: int, num_steps: int) -> list[int]:
    r"""DDIM's "quadratic" choice of steps: dense near the data, sparse near the noise.

    .. math::
        \tau_i = \Bigl\lfloor \Bigl(\frac{i}{S-1}\sqrt{0.8\,T}\Bigr)^2 \Bigr\rfloor,
        \qquad i = S-1, \dots, 0

    (Chapter 17, Exercise 17.6; the ``quad`` skip type of Song et al.'s code, 2021), made
    strictly decreasing where rounding would repeat a step. With few steps this spends
    them where the noise is small and the details are decided, and beats the even spacing
    of :func:`ddim_timesteps`.

    Parameters
    ----------
    T : int
        Steps of the trained process, at least 2.
    num_steps : int
        :math:`S`, with :math:`2 \le S \le 0.8\,T`.

    Returns
    -------
    list of int
        Strictly decreasing steps, ending at 0.

    Raises
    ------
    ValueError
        If ``num_steps`` is out of range.

    Examples
    --------
    >>> quadratic_timesteps(1000, 5)
    [800, 450, 200, 50, 0]
    """
    if isinstance(T, bool) or not isinstance(T, int) or T < 2:
        raise ValueError(f"`T` must be an integer >= 2, got {T!r}")
    top = int(0.8 * T)
    if isinstance(num_steps, bool) or not isinstance(num_steps, int) or not 2 <= num_steps <= top:
        raise ValueError(f"`num_steps` must be an integer in 2..{top}, got {num_steps!r}")
    root = math.sqrt(0.8 * T)
    steps: list[int] = []
    for i in range(num_steps):
        value = math.floor((i / (num_steps - 1) * root) ** 2 + 1e-9)
        steps.append(max(value, steps[-1] + 1) if steps else value)
    return steps[::-1]


# --------------------------------------------------------------------------------------
# The noise-prediction network and its objective
# --------------------------------------------------------------------------------------
def timestep_embedding(t: Tensor, dim: int, max_period: float = 10000.0) -> Tensor:
    r"""Sinusoidal features of the step, as in the Transformer and in DDPM.

    .. math::
        \mathbf e(t) = \bigl(\sin(t\omega_0), \dots, \sin(t\omega_{H-1}),
        \cos(t\omega_0), \dots, \cos(t\omega_{H-1})\bigr), \qquad
        \omega_k = \text{max\_period}^{-k/(H-1)}, \quad H = \text{dim}/2

    (Chapter 17). Equals ``diffusers.models.embeddings.get_timestep_embedding`` with its
    defaults.

    Parameters
    ----------
    t : Tensor
        Shape :math:`(N,)`, the steps (integers or floats).
    dim : int
        Even embedding size, at least 4.
    max_period : float, default 10000.0

    Returns
    -------
    Tensor
        Shape :math:`(N, \text{dim})`, float32 (float64 if ``t`` is float64).

    Raises
    ------
    ValueError
        If ``t`` is not 1-D or ``dim`` is not an even integer >= 4.

    Examples
    --------
    >>> timestep_embedding(torch.tensor([0]), 4).tolist()
    [[0.0, 0.0, 1.0, 1.0]]
    """
    if not isinstance(t, Tensor) or t.ndim != 1:
        raise ValueError(f"`t` must be a 1-D tensor, got {getattr(t, 'shape', type(t))}")
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 4 or dim % 2:
        raise ValueError(f"`dim` must be an even integer >= 4, got {dim!r}")
    dtype = torch.float64 if t.dtype == torch.float64 else torch.float32
    half = dim // 2
    k = torch.arange(half, dtype=dtype, device=t.device)
    omega = torch.exp(-math.log(max_period) * k / (half - 1))  # (H,)
    angles = t.to(dtype)[:, None] * omega[None, :]  # (N, 1) * (1, H) -> (N, H)
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)  # (N, 2H)


class EpsilonMLP(nn.Module):
    r"""A small noise predictor :math:`\boldsymbol\epsilon_{\btheta}(\vx_t, t)` for flat data.

    The step enters as :func:`timestep_embedding` features, concatenated with :math:`\vx_t`
    and fed to an MLP with SiLU activations; each hidden layer also adds a linear map of the
    embedding, so every layer knows the noise level (Chapter 17).

    Parameters
    ----------
    dim : int
        Data dimension :math:`D`.
    hidden : int, default 128
        Width of the hidden layers.
    num_layers : int, default 3
        Number of hidden layers.
    time_dim : int, default 32
        Size of the step embedding.

    Examples
    --------
    >>> net = EpsilonMLP(2)
    >>> net(torch.zeros(5, 2), torch.arange(5)).shape
    torch.Size([5, 2])
    """

    def __init__(self, dim: int, hidden: int = 128, num_layers: int = 3, time_dim: int = 32):
        super().__init__()
        self.time_dim = time_dim
        self.inp = nn.Linear(dim + time_dim, hidden)
        self.hidden = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(num_layers - 1))
        self.time = nn.ModuleList(nn.Linear(time_dim, hidden) for _ in range(num_layers - 1))
        self.out = nn.Linear(hidden, dim)

    def forward(self, x_t: Tensor, t: Tensor) -> Tensor:
        """Predicted noise of the shape of ``x_t`` (N, D); ``t`` has shape (N,)."""
        e = timestep_embedding(t, self.time_dim).to(x_t.dtype)  # (N, time_dim)
        h = nn.functional.silu(self.inp(torch.cat([x_t, e], dim=1)))
        for layer, time in zip(self.hidden, self.time, strict=True):
            h = nn.functional.silu(layer(h) + time(e))
        out: Tensor = self.out(h)
        return out


def denoising_loss(
    eps_model: EpsModel, x0: Tensor, t: Tensor, noise: Tensor, alpha_bar: Tensor
) -> Tensor:
    r"""DDPM's simplified objective: mean squared error of the predicted noise.

    .. math::
        L_{\text{simple}} = \frac{1}{N D} \sum_{i=1}^{N}
        \bigl\| \boldsymbol\epsilon_i - \boldsymbol\epsilon_{\btheta}\bigl(
        \sqrt{\bar\alpha_{t_i}}\vx_{0,i}
        + \sqrt{1-\bar\alpha_{t_i}}\boldsymbol\epsilon_i,\ t_i\bigr)
        \bigr\|^2

    (Chapter 17; Ho et al. 2020, eq. 14), averaged over coordinates as
    ``F.mse_loss`` does.

    Parameters
    ----------
    eps_model : callable
        ``eps_model(x_t, t)`` returns the predicted noise, shape of ``x_t``.
    x0 : Tensor
        Shape :math:`(N, \ldots)`.
    t : Tensor
        Shape :math:`(N,)`, integer steps in ``0..T-1``.
    noise : Tensor
        The true :math:`\boldsymbol\epsilon`, shape of ``x0``.
    alpha_bar : Tensor
        Shape :math:`(T,)`.

    Returns
    -------
    Tensor
        A scalar.

    Raises
    ------
    TypeError, ValueError
        As :func:`q_sample`, or if the model's output has the wrong shape.

    Examples
    --------
    >>> ab = torch.cumprod(1 - linear_betas(10), 0)
    >>> loss = denoising_loss(lambda x, t: torch.zeros_like(x), torch.zeros(3, 2),
    ...                       torch.tensor([0, 4, 9]), torch.ones(3, 2), ab)
    >>> loss.item()
    1.0
    """
    x_t = q_sample(x0, t, alpha_bar, noise)
    steps = _timesteps(t, x0, alpha_bar.numel())
    predicted = eps_model(x_t, steps)
    if predicted.shape != noise.shape:
        raise ValueError(
            f"the model returned shape {tuple(predicted.shape)}, expected {tuple(noise.shape)}"
        )
    return ((predicted - noise) ** 2).mean()


def train_ddpm(
    model: nn.Module,
    X: Tensor,
    schedule: NoiseSchedule,
    *,
    steps: int = 2000,
    batch_size: int = 256,
    lr: float = 2e-3,
    generator: torch.Generator,
) -> list[float]:
    r"""Train a noise predictor with :func:`denoising_loss`, a fixed number of Adam steps.

    .. math::
        t \sim \mathcal U\{0, \dots, T-1\}, \quad \boldsymbol\epsilon \sim \mathcal N(\mathbf 0, I),
        \quad \btheta \leftarrow \btheta - \eta\, \widehat{\nabla L_{\text{simple}}}

    (Chapter 17; Ho et al. 2020, Algorithm 1). Mini-batches (with replacement), steps and
    noise are all drawn on the CPU by ``generator`` and moved to ``X``'s device, so a seed
    gives the same run on every device (up to floating-point rounding). The learning rate
    decays linearly to zero.

    Parameters
    ----------
    model : nn.Module
        ``model(x_t, t)``, trained in place on ``X``'s device.
    X : Tensor
        Shape :math:`(N, \ldots)`, the training data.
    schedule : NoiseSchedule
    steps, batch_size : int
    lr : float
    generator : torch.Generator
        A CPU generator.

    Returns
    -------
    list of float
        The loss at every step.

    Raises
    ------
    ValueError
        If ``steps`` or ``batch_size`` is not positive.
    """
    _check_float(X, "X")
    if steps < 1 or batch_size < 1:
        raise ValueError(f"`steps` and `batch_size` must be positive, got {steps}, {batch_size}")
    model.to(X.device)
    alpha_bar = schedule.alpha_bar.to(X.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    decay = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda k: 1 - k / steps)
    losses = []
    for _ in range(steps):
        idx = torch.randint(0, X.shape[0], (batch_size,), generator=generator)
        t = torch.randint(0, schedule.T, (batch_size,), generator=generator)
        noise = torch.randn((batch_size, *X.shape[1:]), generator=generator, dtype=X.dtype)
        x0 = X[idx.to(X.device)]
        loss = denoising_loss(model, x0, t.to(X.device), noise.to(X.device), alpha_bar)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        decay.step()
        losses.append(loss.item())
    return losses


# --------------------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------------------
def _randn(shape: tuple[int, ...], like: Tensor, generator: torch.Generator) -> Tensor:
    """Standard normal noise drawn by ``generator`` on its device, moved to ``like``'s."""
    z = torch.randn(shape, generator=generator, device=generator.device, dtype=like.dtype)
    return z.to(like.device)


@torch.no_grad()
def ddpm_sample(
    eps_model: EpsModel,
    shape: tuple[int, ...],
    schedule: NoiseSchedule,
    *,
    generator: torch.Generator,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    r"""DDPM's ancestral sampler: start from noise and apply :func:`ddpm_step` for every step.

    .. math::
        \vx_{T} \sim \mathcal N(\mathbf 0, I), \qquad
        \vx_{t-1} = \tilde{\boldsymbol\mu}_t + \sqrt{\tilde\beta_t}\,\vz_t, \quad t = T, \dots, 1

    (Chapter 17; Ho et al. 2020, Algorithm 2).

    Parameters
    ----------
    eps_model : callable
        ``eps_model(x_t, t)``.
    shape : tuple of int
        :math:`(N, \ldots)`, the shape of the batch to draw.
    schedule : NoiseSchedule
    generator : torch.Generator
        Draws every noise tensor (on its own device; moved to ``device``).
    device : str or torch.device, optional
        Where the samples live (default: the CPU).
    dtype : torch.dtype, default torch.float32

    Returns
    -------
    Tensor
        Shape ``shape``.

    Examples
    --------
    >>> sched = NoiseSchedule.from_betas(linear_betas(20))
    >>> x = ddpm_sample(lambda x, t: torch.zeros_like(x), (3, 2), sched,
    ...                 generator=torch.Generator().manual_seed(0))
    >>> x.shape
    torch.Size([3, 2])
    """
    like = torch.empty(0, device=device, dtype=dtype)
    schedule = schedule.to(like.device)
    x = _randn(shape, like, generator)
    for t in reversed(range(schedule.T)):
        eps = eps_model(x, torch.full((shape[0],), t, device=like.device, dtype=torch.int64))
        noise = _randn(shape, like, generator) if t > 0 else None
        x = ddpm_step(x, t, eps, schedule, noise)
    return x


@torch.no_grad()
def ddim_sample(
    eps_model: EpsModel,
    shape: tuple[int, ...],
    schedule: NoiseSchedule,
    num_steps: int,
    *,
    generator: torch.Generator,
    eta: float = 0.0,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    r"""DDIM's sampler: visit only :func:`ddim_timesteps` and take a :func:`ddim_step` between them.

    .. math::
        \vx_{\tau_S} \sim \mathcal N(\mathbf 0, I), \qquad
        \vx_{\tau_{i-1}} = \text{ddim\_step}(\vx_{\tau_i}, \tau_i, \tau_{i-1},
        \boldsymbol\epsilon_{\btheta}(\vx_{\tau_i}, \tau_i))

    (Chapter 17; Song et al. 2021). With ``eta = 0`` only the starting noise is random, and
    the same network trained for DDPM is used unchanged.

    Parameters
    ----------
    eps_model : callable
    shape : tuple of int
    schedule : NoiseSchedule
    num_steps : int
        :math:`S`, the number of network evaluations.
    generator : torch.Generator
    eta : float, default 0.0
    device : str or torch.device, optional
    dtype : torch.dtype, default torch.float32

    Returns
    -------
    Tensor
        Shape ``shape``.

    Examples
    --------
    >>> sched = NoiseSchedule.from_betas(linear_betas())
    >>> x = ddim_sample(lambda x, t: torch.zeros_like(x), (3, 2), sched, 10,
    ...                 generator=torch.Generator().manual_seed(0))
    >>> x.shape
    torch.Size([3, 2])
    """
    like = torch.empty(0, device=device, dtype=dtype)
    alpha_bar = schedule.alpha_bar.to(like.device)
    taus = ddim_timesteps(schedule.T, num_steps)
    x = _randn(shape, like, generator)
    for i, t in enumerate(taus):
        t_prev = taus[i + 1] if i + 1 < len(taus) else -1
        eps = eps_model(x, torch.full((shape[0],), t, device=like.device, dtype=torch.int64))
        noise = _randn(shape, like, generator) if eta > 0 else None
        x = ddim_step(x, t, t_prev, eps, alpha_bar, eta=eta, noise=noise)
    return x


class DDPM(nn.Module):
    r"""A noise predictor and its schedule, with the Part's common ``sample`` interface.

    Data are standardised (per-coordinate mean ``loc`` and one overall ``scale``, both set by
    :meth:`fit`) before the forward process, and samples are mapped back (Chapter 17).

    Parameters
    ----------
    model : nn.Module
        ``model(x_t, t)`` for flat data of dimension ``dim``, e.g. :class:`EpsilonMLP`.
    schedule : NoiseSchedule
    dim : int
        The data dimension :math:`D`.

    Examples
    --------
    >>> ddpm = DDPM(EpsilonMLP(2), NoiseSchedule.from_betas(linear_betas(50)), 2)
    >>> ddpm.sample(4, generator=torch.Generator().manual_seed(0), num_steps=5).shape
    torch.Size([4, 2])
    """

    loc: Tensor
    scale: Tensor

    def __init__(self, model: nn.Module, schedule: NoiseSchedule, dim: int) -> None:
        super().__init__()
        self.model = model
        self.schedule = schedule
        self.register_buffer("loc", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(()))

    def fit(
        self,
        X: Tensor,
        *,
        steps: int,
        batch_size: int = 256,
        lr: float = 2e-3,
        generator: torch.Generator,
    ) -> list[float]:
        """Standardise by ``X``'s mean and overall standard deviation, then :func:`train_ddpm`."""
        _check_float(X, "X")
        if X.ndim != 2 or X.shape[1] != self.loc.numel():
            raise ValueError(f"`X` must have shape (N, {self.loc.numel()}), got {tuple(X.shape)}")
        self.to(X.device)
        with torch.no_grad():
            self.loc.copy_(X.mean(0))
            self.scale.copy_((X - self.loc).std())
        return train_ddpm(
            self.model,
            (X - self.loc) / self.scale,
            self.schedule,
            steps=steps,
            batch_size=batch_size,
            lr=lr,
            generator=generator,
        )

    @torch.no_grad()
    def sample(
        self, num_samples: int, *, generator: torch.Generator, num_steps: int | None = None
    ) -> Tensor:
        """Ancestral sampling through all T steps, or DDIM with ``num_steps`` steps."""
        dev, shape = self.loc.device, (num_samples, self.loc.numel())
        if num_steps is None:
            x = ddpm_sample(self.model, shape, self.schedule, generator=generator, device=dev)
        else:
            x = ddim_sample(
                self.model, shape, self.schedule, num_steps, generator=generator, device=dev
            )
        return x * self.scale + self.loc


# Every public function checks devices and numpy scalars the same way (dlbook._checks).
_checks.guard_module(globals(), __all__)
