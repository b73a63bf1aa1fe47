r"""Energy-based models (Chapter 14): Boltzmann distributions, Hopfield networks, RBMs, Langevin.

An energy-based model assigns every state :math:`\vx` an energy :math:`E(\vx)` and the
probability :math:`p(\vx) = e^{-E(\vx)/T} / Z`. The module follows the chapter's order:

* the Boltzmann distribution and its partition function on a small discrete space
  (:func:`boltzmann`, :func:`log_partition`);
* Hopfield networks: Hebbian storage, the quadratic energy and asynchronous updates
  (:func:`hebbian_weights`, :func:`hopfield_energy`, :func:`hopfield_sweep`,
  :func:`hopfield_recall`);
* restricted Boltzmann machines: energy, free energy and its gradient, the exact partition
  function by enumeration, Gibbs sampling and contrastive divergence (:class:`RBM`,
  :func:`train_rbm`);
* Langevin dynamics, unadjusted and Metropolis-adjusted (:func:`langevin_step`,
  :func:`langevin_sample`, :func:`mala_sample`, :func:`sample_energy`);
* an energy network on 2-D data trained with short-run Langevin negatives
  (:class:`EnergyMLP`, :func:`contrastive_loss`, :func:`train_ebm`).

Randomness always comes in as a ``torch.Generator``; numbers are drawn on the generator's
device and moved to the tensors' device, so a CPU generator drives a CUDA model too.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlbook import _checks

__all__ = [
    "RBM",
    "EnergyMLP",
    "boltzmann",
    "cd_gradient",
    "contrastive_loss",
    "gibbs_step",
    "hebbian_weights",
    "hopfield_energy",
    "hopfield_recall",
    "hopfield_sweep",
    "langevin_sample",
    "langevin_step",
    "log_partition",
    "mala_sample",
    "rbm_energy",
    "rbm_free_energy",
    "rbm_free_energy_grad",
    "rbm_log_likelihood",
    "rbm_log_partition",
    "sample_energy",
    "train_ebm",
    "train_rbm",
]

Energy = Callable[[Tensor], Tensor]


# --------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------
def _tensor(name: str, x: object, *, ndim: tuple[int, ...] | None = None) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"`{name}` must be a floating-point tensor, got dtype {x.dtype}")
    if ndim is not None and x.ndim not in ndim:
        expected = " or ".join(str(n) for n in ndim)
        raise ValueError(f"`{name}` must have {expected} dimensions, got shape {tuple(x.shape)}")
    return x


def _same_device(**tensors: Tensor | None) -> None:
    present = {k: v for k, v in tensors.items() if v is not None}
    devices = {v.device for v in present.values()}
    if len(devices) > 1:
        where = ", ".join(f"`{k}` on {v.device}" for k, v in present.items())
        raise ValueError(f"tensors must be on one device, got {where}")


def _positive(name: str, value: object, *, integer: bool = False, zero: bool = False) -> None:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        kind = "an int" if integer else "a number"
        raise TypeError(f"`{name}` must be {kind}, got {type(value).__name__}")
    if not (value >= 0 if zero else value > 0) or (not integer and not math.isfinite(value)):
        bound = ">= 0" if zero else "> 0"
        raise ValueError(f"`{name}` must be {bound}, got {value!r}")


def _check_generator(generator: object) -> torch.Generator:
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"`generator` must be a torch.Generator, got {type(generator).__name__}")
    return generator


def _randn(shape: tuple[int, ...], like: Tensor, generator: torch.Generator) -> Tensor:
    """Standard normal numbers drawn on the generator's device, returned on ``like``'s."""
    z = torch.randn(shape, generator=generator, device=generator.device, dtype=like.dtype)
    return z.to(like.device)


def _rand(shape: tuple[int, ...], like: Tensor, generator: torch.Generator) -> Tensor:
    """Uniform [0, 1) numbers drawn on the generator's device, returned on ``like``'s."""
    u = torch.rand(shape, generator=generator, device=generator.device, dtype=like.dtype)
    return u.to(like.device)


# --------------------------------------------------------------------------------------
# 14.1 Energies and the Boltzmann distribution
# --------------------------------------------------------------------------------------
def log_partition(energies: Tensor, temperature: float = 1.0, dim: int = -1) -> Tensor:
    r"""The log partition function of the energies of every state of a finite space.

    .. math::

        \log Z = \log \sum_{\vx} e^{-E(\vx)/T}

    (Chapter 14, :ref:`ch-ebm`, eq. ``ebm-boltzmann``), computed stably with log-sum-exp.

    Parameters
    ----------
    energies : Tensor, shape (..., S, ...)
        The energy of each of the :math:`S` states along ``dim``.
    temperature : float, default 1.0
        :math:`T > 0`.
    dim : int, default -1
        The axis that runs over the states.

    Returns
    -------
    Tensor
        ``energies`` with ``dim`` removed.

    Raises
    ------
    TypeError, ValueError
        If ``energies`` is not a floating-point tensor or ``temperature`` is not positive.

    References
    ----------
    Ackley, Hinton and Sejnowski, "A learning algorithm for Boltzmann machines", 1985.

    Examples
    --------
    >>> round(float(log_partition(torch.zeros(4))), 6)  # four states of equal energy: Z = 4
    1.386294
    """
    energies = _tensor("energies", energies)
    _positive("temperature", temperature)
    return torch.logsumexp(-energies / temperature, dim=dim)


def boltzmann(energies: Tensor, temperature: float = 1.0, dim: int = -1) -> Tensor:
    r"""The Boltzmann (Gibbs) distribution over the states whose energies are given.

    .. math::

        p(\vx) = \frac{e^{-E(\vx)/T}}{Z}, \qquad Z = \sum_{\vx'} e^{-E(\vx')/T}

    (Chapter 14, :ref:`ch-ebm`). Low energy means high probability; a high temperature
    flattens the distribution towards uniform and :math:`T \to 0` puts all the mass on the
    states of lowest energy.

    Parameters
    ----------
    energies : Tensor, shape (..., S, ...)
        The energy of each of the :math:`S` states along ``dim``.
    temperature : float, default 1.0
        :math:`T > 0`.
    dim : int, default -1
        The axis that runs over the states.

    Returns
    -------
    Tensor
        Probabilities of the shape of ``energies``, summing to one along ``dim``.

    Raises
    ------
    TypeError, ValueError
        As :func:`log_partition`.

    Examples
    --------
    >>> boltzmann(torch.tensor([0.0, math.log(3.0)], dtype=torch.float64)).tolist()
    [0.75, 0.25]
    """
    energies = _tensor("energies", energies)
    _positive("temperature", temperature)
    return torch.softmax(-energies / temperature, dim=dim)


# --------------------------------------------------------------------------------------
# 14.2 Hopfield networks
# --------------------------------------------------------------------------------------
def _check_spins(name: str, s: Tensor) -> None:
    if not bool(((s == 1) | (s == -1)).all()):
        raise ValueError(f"`{name}` must hold only -1 and +1")


def hebbian_weights(patterns: Tensor) -> Tensor:
    r"""Hebb's rule for a Hopfield network: the weights that store the given patterns.

    .. math::

        W = \frac{1}{N} \sum_{\mu=1}^{P} \boldsymbol{\xi}^\mu (\boldsymbol{\xi}^\mu)^\top
        \quad\text{with } W_{ii} = 0

    (Chapter 14, :ref:`ch-ebm`, eq. ``ebm-hebb``), for :math:`P` patterns
    :math:`\boldsymbol{\xi}^\mu \in \{-1, +1\}^N`.

    Parameters
    ----------
    patterns : Tensor, shape (P, N)
        One pattern per row, entries :math:`\pm 1`, floating point.

    Returns
    -------
    Tensor, shape (N, N)
        A symmetric matrix with a zero diagonal, on the device and of the dtype of
        ``patterns``.

    Raises
    ------
    TypeError
        If ``patterns`` is not a floating-point tensor.
    ValueError
        If it is not 2-D, is empty, or holds values other than :math:`\pm 1`.

    References
    ----------
    Hopfield, "Neural networks and physical systems with emergent collective computational
    abilities", PNAS 79, 1982.

    Examples
    --------
    >>> hebbian_weights(torch.tensor([[1.0, -1.0, 1.0]]))
    tensor([[ 0.0000, -0.3333,  0.3333],
            [-0.3333,  0.0000, -0.3333],
            [ 0.3333, -0.3333,  0.0000]])
    """
    patterns = _tensor("patterns", patterns, ndim=(2,))
    if patterns.shape[0] == 0 or patterns.shape[1] == 0:
        raise ValueError(f"`patterns` must be non-empty, got shape {tuple(patterns.shape)}")
    _check_spins("patterns", patterns)
    N = patterns.shape[1]
    W = patterns.T @ patterns / N  # (N, P) @ (P, N) -> (N, N)
    return W.fill_diagonal_(0.0)


def hopfield_energy(W: Tensor, s: Tensor, b: Tensor | None = None) -> Tensor:
    r"""The energy of a Hopfield network (or of any quadratic binary model) in state ``s``.

    .. math::

        E(\mathbf{s}) = -\tfrac12 \mathbf{s}^\top W \mathbf{s} - \mathbf{b}^\top \mathbf{s}

    (Chapter 14, :ref:`ch-ebm`, eq. ``ebm-hopfield-energy``).

    Parameters
    ----------
    W : Tensor, shape (N, N)
        Symmetric weights.
    s : Tensor, shape (N,) or (B, N)
        One state or a batch of states (any real values; Hopfield states are :math:`\pm 1`).
    b : Tensor, shape (N,), optional
        Biases (external fields); zero if omitted.

    Returns
    -------
    Tensor, shape () or (B,)

    Raises
    ------
    TypeError, ValueError
        On non-float tensors, wrong shapes, or tensors on different devices.

    Examples
    --------
    >>> W = hebbian_weights(torch.tensor([[1.0, -1.0, 1.0]]))
    >>> float(hopfield_energy(W, torch.tensor([1.0, -1.0, 1.0])))
    -1.0
    """
    W = _tensor("W", W, ndim=(2,))
    s = _tensor("s", s, ndim=(1, 2))
    N = s.shape[-1]
    if W.shape != (N, N):
        raise ValueError(f"`W` must have shape ({N}, {N}) to match `s`, got {tuple(W.shape)}")
    if b is not None:
        b = _tensor("b", b, ndim=(1,))
        if b.shape != (N,):
            raise ValueError(f"`b` must have shape ({N},), got {tuple(b.shape)}")
    _same_device(W=W, s=s, b=b)
    energy = -0.5 * ((s @ W) * s).sum(-1)  # (B, N) @ (N, N) -> (B, N) -> (B,)
    if b is not None:
        energy = energy - s @ b
    return energy


def _check_hopfield(W: Tensor, s: Tensor, b: Tensor | None) -> None:
    hopfield_energy(W, s, b)  # shapes, dtypes and devices
    if not torch.equal(W, W.T):
        raise ValueError("`W` must be symmetric (asynchronous updates need W == W.T)")
    _check_spins("s", s)


def hopfield_sweep(W: Tensor, s: Tensor, order: Tensor, b: Tensor | None = None) -> Tensor:
    r"""Asynchronous Hopfield updates of the units in ``order``, one unit at a time.

    .. math::

        a_i = \sum_j W_{ij} s_j + b_i, \qquad
        s_i \leftarrow \begin{cases} +1 & a_i > 0 \\ -1 & a_i < 0 \\ s_i & a_i = 0 \end{cases}

    (Chapter 14, :ref:`ch-ebm`, eq. ``ebm-async``). Each update sees the units updated
    before it. With a symmetric :math:`W` and :math:`W_{ii} \ge 0` no update raises the
    energy :func:`hopfield_energy`: flipping unit :math:`i` changes it by
    :math:`-\Delta s_i\, a_i - \tfrac12 W_{ii} \Delta s_i^2 \le 0`.

    Parameters
    ----------
    W : Tensor, shape (N, N)
        Symmetric weights.
    s : Tensor, shape (N,) or (B, N)
        States with entries :math:`\pm 1`; every state of a batch is updated in the same
        order, independently of the others.
    order : Tensor, shape (K,), integer
        The units to update, in turn (repeats allowed).
    b : Tensor, shape (N,), optional
        Biases.

    Returns
    -------
    Tensor
        The new states, shape and dtype of ``s`` (``s`` itself is not modified).

    Raises
    ------
    TypeError, ValueError
        On bad shapes or dtypes, a non-symmetric ``W``, states other than :math:`\pm 1`, or
        unit indices outside :math:`[0, N)`.

    Examples
    --------
    >>> xi = torch.tensor([[1.0, -1.0, 1.0, -1.0]])
    >>> hopfield_sweep(hebbian_weights(xi), torch.tensor([1.0, 1.0, 1.0, -1.0]),
    ...                torch.arange(4)).tolist()
    [1.0, -1.0, 1.0, -1.0]
    """
    _check_hopfield(W, s, b)
    if not isinstance(order, Tensor) or order.is_floating_point() or order.dtype == torch.bool:
        raise TypeError("`order` must be an integer tensor of unit indices")
    if order.ndim != 1:
        raise ValueError(f"`order` must be 1-D, got shape {tuple(order.shape)}")
    N = s.shape[-1]
    indices = order.to(device="cpu", dtype=torch.int64).tolist()
    if any(not 0 <= i < N for i in indices):
        raise ValueError(f"`order` must hold unit indices in [0, {N}), got {indices}")
    s = s.clone()
    for i in indices:
        a = s @ W[i]  # (B, N) @ (N,) -> (B,): W is symmetric, so row i is column i
        if b is not None:
            a = a + b[i]
        s[..., i] = torch.where(a > 0, 1.0, torch.where(a < 0, -1.0, s[..., i]))
    return s


def hopfield_recall(
    W: Tensor,
    s: Tensor,
    *,
    generator: torch.Generator,
    b: Tensor | None = None,
    max_sweeps: int = 100,
) -> tuple[Tensor, int]:
    r"""Run asynchronous updates in random order until no unit changes: a fixed point.

    Each sweep visits every unit once in a fresh random order (:func:`hopfield_sweep`),
    so the energy never rises and, on a finite state space, a fixed point is reached
    (Chapter 14, :ref:`ch-ebm`).

    Parameters
    ----------
    W : Tensor, shape (N, N)
    s : Tensor, shape (N,) or (B, N)
        The cues: starting states with entries :math:`\pm 1`.
    generator : torch.Generator
        Draws the order of each sweep.
    b : Tensor, shape (N,), optional
    max_sweeps : int, default 100
        Stop after this many sweeps even if some state still changes.

    Returns
    -------
    (Tensor, int)
        The final states (shape of ``s``) and the number of sweeps run, the last of which
        changed nothing unless ``max_sweeps`` was reached.

    Raises
    ------
    TypeError, ValueError
        As :func:`hopfield_sweep`, or if ``max_sweeps`` is not a positive int.

    Examples
    --------
    >>> xi = torch.tensor([[1.0, -1.0, 1.0, -1.0, 1.0, 1.0]])
    >>> cue = xi[0] * torch.tensor([1.0, 1.0, -1.0, 1.0, 1.0, 1.0])  # one bit flipped
    >>> s, sweeps = hopfield_recall(hebbian_weights(xi), cue, generator=torch.Generator())
    >>> torch.equal(s, xi[0]), sweeps
    (True, 2)
    """
    _check_generator(generator)
    _positive("max_sweeps", max_sweeps, integer=True)
    N = s.shape[-1] if isinstance(s, Tensor) else 0
    for sweep in range(1, max_sweeps + 1):
        order = torch.randperm(N, generator=generator, device=generator.device)
        new = hopfield_sweep(W, s, order, b)
        if torch.equal(new, s):
            return new, sweep
        s = new
    return s, max_sweeps


# --------------------------------------------------------------------------------------
# 14.3 Restricted Boltzmann machines
# --------------------------------------------------------------------------------------
def _check_rbm(v: Tensor, weight: Tensor, visible_bias: Tensor, hidden_bias: Tensor) -> None:
    _tensor("v", v, ndim=(2,))
    _tensor("weight", weight, ndim=(2,))
    _tensor("visible_bias", visible_bias, ndim=(1,))
    _tensor("hidden_bias", hidden_bias, ndim=(1,))
    H, V = weight.shape
    if v.shape[1] != V:
        raise ValueError(
            f"`v` has {v.shape[1]} visible units but `weight` of shape {(H, V)} expects {V}"
        )
    if visible_bias.shape != (V,):
        raise ValueError(f"`visible_bias` must have shape ({V},), got {tuple(visible_bias.shape)}")
    if hidden_bias.shape != (H,):
        raise ValueError(f"`hidden_bias` must have shape ({H},), got {tuple(hidden_bias.shape)}")
    _same_device(v=v, weight=weight, visible_bias=visible_bias, hidden_bias=hidden_bias)


def rbm_energy(
    v: Tensor, h: Tensor, weight: Tensor, visible_bias: Tensor, hidden_bias: Tensor
) -> Tensor:
    r"""The energy of a restricted Boltzmann machine in the joint state :math:`(\vv, \vh)`.

    .. math::

        E(\vv, \vh) = -\mathbf{b}^\top \vv - \mathbf{c}^\top \vh - \vh^\top W \vv

    (Chapter 14, :ref:`ch-ebm`, eq. ``ebm-rbm-energy``), with :math:`W` of shape
    (hidden, visible) like the weight of ``nn.Linear(V, H)``.

    Parameters
    ----------
    v : Tensor, shape (B, V)
        Visible states (binary, or probabilities).
    h : Tensor, shape (B, H)
        Hidden states.
    weight : Tensor, shape (H, V)
    visible_bias : Tensor, shape (V,)
    hidden_bias : Tensor, shape (H,)

    Returns
    -------
    Tensor, shape (B,)

    Raises
    ------
    TypeError, ValueError
        On non-float tensors, mismatched shapes or devices.

    Examples
    --------
    >>> W = torch.tensor([[1.0, 2.0]])
    >>> float(rbm_energy(torch.tensor([[1.0, 1.0]]), torch.tensor([[1.0]]), W,
    ...                  torch.zeros(2), torch.tensor([0.5])))
    -3.5
    """
    _check_rbm(v, weight, visible_bias, hidden_bias)
    h = _tensor("h", h, ndim=(2,))
    if h.shape != (v.shape[0], weight.shape[0]):
        raise ValueError(
            f"`h` must have shape {(v.shape[0], weight.shape[0])}, got {tuple(h.shape)}"
        )
    _same_device(v=v, h=h)
    interaction = ((v @ weight.T) * h).sum(-1)  # (B, V) @ (V, H) -> (B, H) -> (B,)
    return -(v @ visible_bias) - (h @ hidden_bias) - interaction


def rbm_free_energy(v: Tensor, weight: Tensor, visible_bias: Tensor, hidden_bias: Tensor) -> Tensor:
    r"""The free energy of visible states: the hidden units summed out exactly.

    .. math::

        F(\vv) = -\log \sum_{\vh} e^{-E(\vv, \vh)}
               = -\mathbf{b}^\top \vv - \sum_{j} \operatorname{softplus}(c_j + W_{j:} \vv)

    (Chapter 14, :ref:`ch-ebm`, eq. ``ebm-free-energy``), so that
    :math:`p(\vv) = e^{-F(\vv)}/Z`.

    Parameters
    ----------
    v : Tensor, shape (B, V)
    weight : Tensor, shape (H, V)
    visible_bias : Tensor, shape (V,)
    hidden_bias : Tensor, shape (H,)

    Returns
    -------
    Tensor, shape (B,)

    Raises
    ------
    TypeError, ValueError
        On non-float tensors, mismatched shapes or devices.

    References
    ----------
    Hinton, "A practical guide to training restricted Boltzmann machines", 2010.

    Examples
    --------
    >>> W = torch.zeros(3, 2)  # no interactions: each hidden unit contributes -log 2
    >>> rbm_free_energy(torch.ones(1, 2), W, torch.ones(2), torch.zeros(3))
    tensor([-4.0794])
    """
    _check_rbm(v, weight, visible_bias, hidden_bias)
    pre = v @ weight.T + hidden_bias  # (B, V) @ (V, H) -> (B, H)
    return -(v @ visible_bias) - F.softplus(pre).sum(-1)


def rbm_free_energy_grad(
    v: Tensor, weight: Tensor, visible_bias: Tensor, hidden_bias: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    r"""The gradient of the batch-mean free energy with respect to the RBM's parameters.

    .. math::

        \frac{\partial F}{\partial W} = -\sigma(W\vv + \mathbf{c})\,\vv^\top, \qquad
        \frac{\partial F}{\partial \mathbf{b}} = -\vv, \qquad
        \frac{\partial F}{\partial \mathbf{c}} = -\sigma(W\vv + \mathbf{c}),

    averaged over the batch (Chapter 14, :ref:`ch-ebm`, eq. ``ebm-free-energy-grad``).

    Parameters
    ----------
    v : Tensor, shape (B, V)
    weight : Tensor, shape (H, V)
    visible_bias : Tensor, shape (V,)
    hidden_bias : Tensor, shape (H,)

    Returns
    -------
    (Tensor, Tensor, Tensor)
        Gradients of shapes (H, V), (V,) and (H,).

    Raises
    ------
    TypeError, ValueError
        As :func:`rbm_free_energy`.

    Examples
    --------
    >>> gW, gb, gc = rbm_free_energy_grad(torch.ones(1, 2), torch.zeros(1, 2),
    ...                                   torch.zeros(2), torch.zeros(1))
    >>> gW.tolist(), gb.tolist(), gc.tolist()
    ([[-0.5, -0.5]], [-1.0, -1.0], [-0.5])
    """
    _check_rbm(v, weight, visible_bias, hidden_bias)
    B = v.shape[0]
    p_h = torch.sigmoid(v @ weight.T + hidden_bias)  # (B, H): E[h | v]
    return -(p_h.T @ v) / B, -v.mean(0), -p_h.mean(0)  # (H, B) @ (B, V) -> (H, V)


def cd_gradient(
    v_data: Tensor, v_model: Tensor, weight: Tensor, visible_bias: Tensor, hidden_bias: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    r"""The contrastive-divergence estimate of the negative log-likelihood's gradient.

    .. math::

        \nabla_{\btheta} \bigl(-\log p(\vv)\bigr) \approx
        \frac1B \sum_{b} \nabla_{\btheta} F(\vv^{(b)}_{\text{data}})
        - \frac1{B'} \sum_{b} \nabla_{\btheta} F(\vv^{(b)}_{\text{model}})

    (Chapter 14, :ref:`ch-ebm`, eq. ``ebm-cd``). With ``v_model`` the end of a :math:`k`-step
    Gibbs chain started at the data this is CD-:math:`k`; with exact model samples it
    is the exact gradient. Hidden statistics use the probabilities
    :math:`\sigma(W\vv+\mathbf{c})`, not sampled hidden states (less noise, same mean).

    Parameters
    ----------
    v_data : Tensor, shape (B, V)
        A batch of training examples (the positive phase).
    v_model : Tensor, shape (B', V)
        Samples from the model (the negative phase).
    weight : Tensor, shape (H, V)
    visible_bias : Tensor, shape (V,)
    hidden_bias : Tensor, shape (H,)

    Returns
    -------
    (Tensor, Tensor, Tensor)
        Gradients for ``weight``, ``visible_bias`` and ``hidden_bias``; subtract a multiple
        of them to climb the likelihood.

    Raises
    ------
    TypeError, ValueError
        As :func:`rbm_free_energy`.

    References
    ----------
    Hinton, "Training products of experts by minimizing contrastive divergence", Neural
    Computation 14, 2002.

    Examples
    --------
    >>> v = torch.tensor([[1.0, 0.0]])
    >>> [g.abs().sum().item() for g in cd_gradient(v, v, torch.zeros(1, 2), torch.zeros(2),
    ...                                            torch.zeros(1))]  # same samples: zero
    [0.0, 0.0, 0.0]
    """
    _check_rbm(v_data, weight, visible_bias, hidden_bias)
    _check_rbm(v_model, weight, visible_bias, hidden_bias)
    B, B_model = v_data.shape[0], v_model.shape[0]
    p_data = torch.sigmoid(v_data @ weight.T + hidden_bias)  # (B, H): E[h | v], data phase
    p_model = torch.sigmoid(v_model @ weight.T + hidden_bias)  # (B', H): model phase
    # eq. ebm-free-energy-grad for each phase: (H, B) @ (B, V) -> (H, V)
    gW = -(p_data.T @ v_data) / B + (p_model.T @ v_model) / B_model
    gb = -v_data.mean(0) + v_model.mean(0)
    gc = -p_data.mean(0) + p_model.mean(0)
    return gW, gb, gc


def _enumeration_limit(H: int, V: int) -> None:
    if min(H, V) > 20:
        raise ValueError(
            f"exact enumeration needs a layer of at most 20 units, got {V} visible and "
            f"{H} hidden (2**{min(H, V)} states)"
        )


def _all_binary(n: int, like: Tensor) -> Tensor:
    k = torch.arange(2**n, device=like.device)
    shifts = torch.arange(n - 1, -1, -1, device=like.device)
    return ((k[:, None] >> shifts) & 1).to(like.dtype)  # (2^n, 1) >> (n,) -> (2^n, n)


def rbm_log_partition(weight: Tensor, visible_bias: Tensor, hidden_bias: Tensor) -> Tensor:
    r"""The exact log partition function of a small RBM, by enumerating its smaller layer.

    .. math::

        \log Z = \log \sum_{\vh \in \{0,1\}^H} \exp\Bigl(\mathbf{c}^\top \vh
        + \sum_i \operatorname{softplus}\bigl(b_i + (W^\top \vh)_i\bigr)\Bigr)

    (Chapter 14, :ref:`ch-ebm`), or the same sum over :math:`\vv` with the roles swapped
    when the visible layer is the smaller one. The cost is :math:`2^{\min(H, V)}` terms.

    Parameters
    ----------
    weight : Tensor, shape (H, V)
    visible_bias : Tensor, shape (V,)
    hidden_bias : Tensor, shape (H,)

    Returns
    -------
    Tensor, shape ()

    Raises
    ------
    ValueError
        If both layers have more than 20 units, or on mismatched shapes.

    Examples
    --------
    >>> round(float(rbm_log_partition(torch.zeros(2, 3), torch.zeros(3), torch.zeros(2))), 6)
    3.465736
    """
    H, V = _tensor("weight", weight, ndim=(2,)).shape
    _check_rbm(weight.new_zeros(1, V), weight, visible_bias, hidden_bias)
    _enumeration_limit(H, V)
    if H <= V:
        h = _all_binary(H, weight)  # (2^H, H)
        terms = h @ hidden_bias + F.softplus(h @ weight + visible_bias).sum(-1)
    else:
        v = _all_binary(V, weight)  # (2^V, V)
        terms = -rbm_free_energy(v, weight, visible_bias, hidden_bias)
    return torch.logsumexp(terms, dim=0)


def rbm_log_likelihood(
    v: Tensor, weight: Tensor, visible_bias: Tensor, hidden_bias: Tensor
) -> Tensor:
    r"""The exact log-likelihood :math:`\log p(\vv) = -F(\vv) - \log Z` of a small RBM.

    Parameters
    ----------
    v : Tensor, shape (B, V)
    weight : Tensor, shape (H, V)
    visible_bias : Tensor, shape (V,)
    hidden_bias : Tensor, shape (H,)

    Returns
    -------
    Tensor, shape (B,)
        In nats.

    Raises
    ------
    ValueError
        As :func:`rbm_log_partition`.

    Examples
    --------
    >>> rbm_log_likelihood(torch.ones(1, 3), torch.zeros(2, 3), torch.zeros(3),
    ...                    torch.zeros(2))  # uniform over 2**3 visible states
    tensor([-2.0794])
    """
    log_z = rbm_log_partition(weight, visible_bias, hidden_bias)
    return -rbm_free_energy(v, weight, visible_bias, hidden_bias) - log_z


def gibbs_step(
    v: Tensor,
    weight: Tensor,
    visible_bias: Tensor,
    hidden_bias: Tensor,
    *,
    generator: torch.Generator,
) -> tuple[Tensor, Tensor]:
    r"""One block-Gibbs step of an RBM: sample :math:`\vh \mid \vv`, then :math:`\vv \mid \vh`.

    .. math::

        p(h_j = 1 \mid \vv) = \sigma(c_j + W_{j:}\vv), \qquad
        p(v_i = 1 \mid \vh) = \sigma(b_i + W_{:i}^\top \vh)

    (Chapter 14, :ref:`ch-ebm`, eq. ``ebm-rbm-conditionals``).

    Parameters
    ----------
    v : Tensor, shape (B, V)
    weight : Tensor, shape (H, V)
    visible_bias : Tensor, shape (V,)
    hidden_bias : Tensor, shape (H,)
    generator : torch.Generator

    Returns
    -------
    (Tensor, Tensor)
        The new binary visible states (B, V) and the hidden states (B, H) sampled on the way.

    Raises
    ------
    TypeError, ValueError
        As :func:`rbm_free_energy`, or if ``generator`` is not a ``torch.Generator``.

    Examples
    --------
    >>> v, h = gibbs_step(torch.ones(2, 3), torch.zeros(4, 3), torch.full((3,), 50.0),
    ...                   torch.zeros(4), generator=torch.Generator().manual_seed(0))
    >>> v.tolist()  # a huge visible bias switches every visible unit on
    [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """
    _check_rbm(v, weight, visible_bias, hidden_bias)
    _check_generator(generator)
    p_h = torch.sigmoid(v @ weight.T + hidden_bias)  # (B, V) @ (V, H) -> (B, H)
    h = (_rand(tuple(p_h.shape), p_h, generator) < p_h).to(v.dtype)
    p_v = torch.sigmoid(h @ weight + visible_bias)  # (B, H) @ (H, V) -> (B, V)
    v_new = (_rand(tuple(p_v.shape), p_v, generator) < p_v).to(v.dtype)
    return v_new, h


class RBM(nn.Module):
    r"""A Bernoulli-Bernoulli restricted Boltzmann machine (Chapter 14, :ref:`ch-ebm`).

    .. math::

        E(\vv, \vh) = -\mathbf{b}^\top \vv - \mathbf{c}^\top \vh - \vh^\top W \vv, \qquad
        p(\vv) = e^{-F(\vv)} / Z

    Parameters
    ----------
    num_visible : int
        :math:`V`, the number of visible units.
    num_hidden : int
        :math:`H`, the number of hidden units.
    generator : torch.Generator, optional
        A CPU generator that draws the initial weights, :math:`\mathcal{N}(0, 0.01^2)`
        (Hinton's guide); the biases start at zero. The RBM is created on the CPU: move it
        with ``.to(device)``.

    Attributes
    ----------
    weight : nn.Parameter, shape (H, V)
    visible_bias : nn.Parameter, shape (V,)
    hidden_bias : nn.Parameter, shape (H,)

    References
    ----------
    Smolensky, "Information processing in dynamical systems: foundations of harmony
    theory", 1986; Hinton, "A practical guide to training restricted Boltzmann machines",
    2010.

    Examples
    --------
    >>> rbm = RBM(6, 3, generator=torch.Generator().manual_seed(0))
    >>> tuple(rbm.free_energy(torch.ones(2, 6)).shape), tuple(rbm.weight.shape)
    ((2,), (3, 6))
    """

    def __init__(
        self, num_visible: int, num_hidden: int, *, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        _positive("num_visible", num_visible, integer=True)
        _positive("num_hidden", num_hidden, integer=True)
        self.num_visible = num_visible
        self.num_hidden = num_hidden
        self.weight = nn.Parameter(0.01 * torch.randn(num_hidden, num_visible, generator=generator))
        self.visible_bias = nn.Parameter(torch.zeros(num_visible))
        self.hidden_bias = nn.Parameter(torch.zeros(num_hidden))

    def _params(self) -> tuple[Tensor, Tensor, Tensor]:
        return self.weight, self.visible_bias, self.hidden_bias

    def free_energy(self, v: Tensor) -> Tensor:
        """:func:`rbm_free_energy` of ``v`` (B, V) under this RBM, shape (B,)."""
        return rbm_free_energy(v, *self._params())

    def forward(self, v: Tensor) -> Tensor:
        """The free energy (an RBM's energy of a visible state)."""
        return self.free_energy(v)

    def hidden_probs(self, v: Tensor) -> Tensor:
        r""":math:`p(h_j = 1 \mid \vv) = \sigma(W\vv + \mathbf{c})`, shape (B, H)."""
        return torch.sigmoid(v @ self.weight.T + self.hidden_bias)

    def visible_probs(self, h: Tensor) -> Tensor:
        r""":math:`p(v_i = 1 \mid \vh) = \sigma(W^\top\vh + \mathbf{b})`, shape (B, V)."""
        return torch.sigmoid(h @ self.weight + self.visible_bias)

    def log_partition(self) -> Tensor:
        """The exact :func:`rbm_log_partition` (a layer of at most 20 units)."""
        return rbm_log_partition(*self._params())

    def log_likelihood(self, v: Tensor) -> Tensor:
        """The exact :func:`rbm_log_likelihood` of ``v`` (B, V), in nats, shape (B,)."""
        return rbm_log_likelihood(v, *self._params())

    @torch.no_grad()
    def gibbs(self, v: Tensor, steps: int, *, generator: torch.Generator) -> Tensor:
        """Run ``steps`` block-Gibbs steps (:func:`gibbs_step`) from ``v``; return the end."""
        _positive("steps", steps, integer=True, zero=True)
        for _ in range(steps):
            v, _h = gibbs_step(v, *self._params(), generator=generator)
        return v

    @torch.no_grad()
    def sample(self, num_samples: int, *, generator: torch.Generator, steps: int = 1000) -> Tensor:
        """``num_samples`` Gibbs chains of ``steps`` steps from uniform random visibles."""
        _positive("num_samples", num_samples, integer=True)
        _check_generator(generator)
        shape = (num_samples, self.num_visible)
        v = (_rand(shape, self.weight, generator) < 0.5).to(self.weight.dtype)
        return self.gibbs(v, steps, generator=generator)


def train_rbm(
    rbm: RBM,
    data: Tensor,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    generator: torch.Generator,
    k: int = 1,
) -> list[float]:
    r"""Train an RBM by CD-:math:`k` with plain stochastic gradient descent.

    Each mini-batch starts :math:`k` Gibbs steps at the data, takes their end as the
    negative samples and steps the parameters by :math:`-\eta` times :func:`cd_gradient`
    (Chapter 14, :ref:`ch-ebm`, eq. ``ebm-cd``; Hinton 2002).

    Parameters
    ----------
    rbm : RBM
        Trained in place, on its own device.
    data : Tensor, shape (N, V)
        Binary training examples (moved to the RBM's device).
    epochs : int
        Passes over the data, each in a fresh random order.
    batch_size : int
    lr : float
        Learning rate :math:`\eta`.
    generator : torch.Generator
        Draws the order of the examples and the Gibbs samples.
    k : int, default 1
        Gibbs steps per negative sample.

    Returns
    -------
    list of float
        One number per epoch: the mean squared error between each batch and its one-step
        reconstruction :math:`\sigma(W^\top \vh + \mathbf{b})`, a cheap progress signal
        (not the likelihood; see :func:`rbm_log_likelihood` for that).

    Raises
    ------
    TypeError, ValueError
        On bad arguments.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> rbm = RBM(4, 2, generator=g)
    >>> errors = train_rbm(rbm, torch.eye(4), epochs=3, batch_size=2, lr=0.1, generator=g)
    >>> len(errors)
    3
    """
    if not isinstance(rbm, RBM):
        raise TypeError(f"`rbm` must be a dlbook RBM, got {type(rbm).__name__}")
    data = _tensor("data", data, ndim=(2,))
    if data.shape[1] != rbm.num_visible:
        raise ValueError(
            f"`data` has {data.shape[1]} columns but the RBM has {rbm.num_visible} visible units"
        )
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("k", k)):
        _positive(name, value, integer=True)
    _positive("lr", lr)
    _check_generator(generator)
    data = data.to(device=rbm.weight.device, dtype=rbm.weight.dtype)
    errors = []
    for _ in range(epochs):
        order = torch.randperm(len(data), generator=generator, device=generator.device)
        total, batches = 0.0, 0
        for start in range(0, len(data), batch_size):
            v = data[order[start : start + batch_size].to(data.device)]
            with torch.no_grad():
                v_model = rbm.gibbs(v, k, generator=generator)
                grads = cd_gradient(v, v_model, *rbm._params())
                for param, grad in zip(rbm._params(), grads, strict=True):
                    param -= lr * grad
                reconstruction = rbm.visible_probs(rbm.hidden_probs(v))
                total += float(((reconstruction - v) ** 2).mean())
            batches += 1
        errors.append(total / batches)
    return errors


# --------------------------------------------------------------------------------------
# 14.4 Langevin dynamics
# --------------------------------------------------------------------------------------
def _energy_and_grad(energy: Energy, x: Tensor) -> tuple[Tensor, Tensor]:
    """E(x) of shape (B,) and its gradient with respect to x, without touching params' .grad."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        e = energy(x)
        if e.shape != x.shape[:1]:
            raise ValueError(
                f"`energy` must map (B, D) to (B,), got {tuple(e.shape)} for {tuple(x.shape)}"
            )
        (grad,) = torch.autograd.grad(e.sum(), x)
    return e.detach(), grad


def _check_chain(x: Tensor, step_size: float) -> None:
    _tensor("x", x, ndim=(2,))
    _positive("step_size", step_size)


def langevin_step(
    energy: Energy,
    x: Tensor,
    step_size: float,
    noise: Tensor,
    *,
    noise_scale: float | None = None,
) -> Tensor:
    r"""One step of the (unadjusted) Langevin algorithm on the energy ``energy``.

    .. math::

        \vx_{t+1} = \vx_t - \epsilon\, \nabla E(\vx_t) + \sqrt{2\epsilon}\, \boldsymbol{\zeta}_t,
        \qquad \boldsymbol{\zeta}_t \sim \mathcal{N}(\mathbf{0}, I)

    (Chapter 14, :ref:`ch-ebm`, eq. ``ebm-langevin``): a gradient step downhill plus noise,
    which for small :math:`\epsilon` leaves :math:`p \propto e^{-E}` (nearly) invariant.

    Parameters
    ----------
    energy : callable
        Maps a batch (B, D) to its energies (B,); differentiable.
    x : Tensor, shape (B, D)
        The current states of :math:`B` chains.
    step_size : float
        :math:`\epsilon > 0`.
    noise : Tensor, shape (B, D)
        The standard normal draw :math:`\boldsymbol{\zeta}_t` (passed in, so a step is a
        deterministic function).
    noise_scale : float, optional
        Replace :math:`\sqrt{2\epsilon}` by this standard deviation (short-run EBM training
        often uses less noise than Langevin's; the chain then no longer targets :math:`p`).

    Returns
    -------
    Tensor, shape (B, D)
        The new states, detached from any graph.

    Raises
    ------
    TypeError, ValueError
        On bad shapes, a non-positive step, or an ``energy`` that does not return (B,).

    Examples
    --------
    >>> x = torch.tensor([[1.0, -2.0]])
    >>> langevin_step(lambda x: 0.5 * (x**2).sum(-1), x, 0.1, torch.zeros(1, 2))
    tensor([[ 0.9000, -1.8000]])
    """
    _check_chain(x, step_size)
    noise = _tensor("noise", noise)
    if noise.shape != x.shape:
        raise ValueError(
            f"`noise` must have the shape {tuple(x.shape)} of `x`, got {tuple(noise.shape)}"
        )
    _same_device(x=x, noise=noise)
    if noise_scale is not None:
        _positive("noise_scale", noise_scale, zero=True)
    scale = math.sqrt(2 * step_size) if noise_scale is None else noise_scale
    _e, grad = _energy_and_grad(energy, x)
    return (x.detach() - step_size * grad + scale * noise).detach()


def langevin_sample(
    energy: Energy,
    x0: Tensor,
    *,
    steps: int,
    step_size: float,
    generator: torch.Generator,
    noise_scale: float | None = None,
) -> Tensor:
    r"""Run :math:`B` unadjusted Langevin chains (:func:`langevin_step`) for ``steps`` steps.

    The chains target :math:`p \propto e^{-E}` only approximately: the discretisation
    biases the stationary distribution by :math:`O(\epsilon)` (Roberts and Tweedie 1996).

    Parameters
    ----------
    energy : callable
        (B, D) -> (B,).
    x0 : Tensor, shape (B, D)
        Starting states.
    steps : int
        Number of steps (0 returns ``x0``).
    step_size : float
    generator : torch.Generator
    noise_scale : float, optional
        As in :func:`langevin_step`.

    Returns
    -------
    Tensor, shape (B, D)
        The chains' final states.

    Raises
    ------
    TypeError, ValueError
        On bad arguments.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> x = langevin_sample(lambda x: 0.5 * (x**2).sum(-1), torch.zeros(4000, 1), steps=200,
    ...                     step_size=0.05, generator=g)
    >>> round(float(x.var()), 1)  # N(0, 1), up to an O(step) bias and sampling noise
    1.0
    """
    _check_chain(x0, step_size)
    _positive("steps", steps, integer=True, zero=True)
    _check_generator(generator)
    x = x0.detach()
    for _ in range(steps):
        noise = _randn(tuple(x.shape), x, generator)
        x = langevin_step(energy, x, step_size, noise, noise_scale=noise_scale)
    return x


def mala_sample(
    energy: Energy,
    x0: Tensor,
    *,
    steps: int,
    step_size: float,
    generator: torch.Generator,
) -> tuple[Tensor, Tensor]:
    r"""Metropolis-adjusted Langevin (MALA): a Langevin proposal, accepted or rejected.

    .. math::

        \vx' = \vx - \epsilon \nabla E(\vx) + \sqrt{2\epsilon}\,\boldsymbol{\zeta}, \qquad
        \alpha = \min\Bigl(1, \frac{e^{-E(\vx')}\, q(\vx \mid \vx')}{e^{-E(\vx)}\,
        q(\vx' \mid \vx)}\Bigr)

    with :math:`q(\vx' \mid \vx) = \mathcal{N}(\vx - \epsilon\nabla E(\vx), 2\epsilon I)`
    (Chapter 14, :ref:`ch-ebm`, eq. ``ebm-mala``). The accept/reject step removes the
    discretisation bias: :math:`p \propto e^{-E}` is exactly invariant.

    Parameters
    ----------
    energy : callable
        (B, D) -> (B,).
    x0 : Tensor, shape (B, D)
    steps : int
    step_size : float
    generator : torch.Generator

    Returns
    -------
    (Tensor, Tensor)
        Final states (B, D) and each chain's acceptance rate (B,).

    Raises
    ------
    TypeError, ValueError
        On bad arguments.

    References
    ----------
    Roberts and Tweedie, "Exponential convergence of Langevin distributions and their
    discrete approximations", Bernoulli 2, 1996.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> x, rate = mala_sample(lambda x: 0.5 * (x**2).sum(-1), torch.zeros(4000, 1),
    ...                       steps=100, step_size=0.5, generator=g)
    >>> round(float(x.var()), 1), bool(rate.mean() > 0.8)
    (1.0, True)
    """
    _check_chain(x0, step_size)
    _positive("steps", steps, integer=True, zero=True)
    _check_generator(generator)
    x = x0.detach()
    e, grad = _energy_and_grad(energy, x)
    accepted = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)

    def log_q(to: Tensor, start: Tensor, start_grad: Tensor) -> Tensor:
        # log N(to; start - eps grad, 2 eps I) up to a constant that cancels
        return -((to - start + step_size * start_grad) ** 2).sum(-1) / (4 * step_size)

    for _ in range(steps):
        noise = _randn(tuple(x.shape), x, generator)
        proposal = x - step_size * grad + math.sqrt(2 * step_size) * noise
        e_new, grad_new = _energy_and_grad(energy, proposal)
        log_alpha = (e - e_new) + log_q(x, proposal, grad_new) - log_q(proposal, x, grad)
        u = _rand((x.shape[0],), x, generator)
        accept = torch.log(u) < log_alpha  # (B,)
        x = torch.where(accept[:, None], proposal, x)
        e = torch.where(accept, e_new, e)
        grad = torch.where(accept[:, None], grad_new, grad)
        accepted = accepted + accept.to(x.dtype)
    return x, accepted / max(steps, 1)


def sample_energy(
    energy: Energy,
    num_samples: int,
    *,
    generator: torch.Generator,
    dim: int = 2,
    steps: int = 1500,
    step_size: float = 0.05,
    init_std: float = 0.5,
) -> Tensor:
    r"""Independent samples of :math:`p \propto e^{-E}` on :math:`\R^D`: one MALA chain each.

    Chains start from :math:`\mathcal{N}(\mathbf{0}, \sigma_0^2 I)` and run
    :func:`mala_sample`; their final states are independent draws, as close to :math:`p`
    as ``steps`` lets them get (Chapter 14, :ref:`ch-ebm`). Chains do not cross high
    energy barriers: for well separated modes the mode weights come out wrong.

    Parameters
    ----------
    energy : callable
        (B, D) -> (B,), float64 is advised.
    num_samples : int
    generator : torch.Generator
    dim : int, default 2
    steps : int, default 1500
    step_size : float, default 0.05
    init_std : float, default 0.5
        :math:`\sigma_0`. Chains that start far out where the energy is steep are
        rejected for a long time, so a modest start helps.

    Returns
    -------
    Tensor, shape (num_samples, dim), float64, on the generator's device

    Raises
    ------
    TypeError, ValueError
        On bad arguments.

    Examples
    --------
    >>> x = sample_energy(lambda x: 0.5 * (x**2).sum(-1), 2000,
    ...                   generator=torch.Generator().manual_seed(0))
    >>> [round(v, 1) for v in x.var(0).tolist()]
    [1.0, 1.0]
    """
    _positive("num_samples", num_samples, integer=True)
    _positive("dim", dim, integer=True)
    _positive("init_std", init_std, zero=True)
    _check_generator(generator)
    x0 = init_std * torch.randn(
        num_samples, dim, generator=generator, device=generator.device, dtype=torch.float64
    )
    x, _rate = mala_sample(energy, x0, steps=steps, step_size=step_size, generator=generator)
    return x


# --------------------------------------------------------------------------------------
# 14.5 An energy network on 2-D data
# --------------------------------------------------------------------------------------
class EnergyMLP(nn.Module):
    r"""An energy :math:`E_{\btheta}: \R^D \to \R` given by a small MLP, sampled by Langevin.

    .. math::

        p_{\btheta}(\vx) = e^{-E_{\btheta}(\vx)} / Z_{\btheta}

    (Chapter 14, :ref:`ch-ebm`). SiLU activations keep :math:`\nabla_{\vx} E` smooth, which
    Langevin dynamics needs. The sampler's defaults are those :func:`train_ebm` trains with,
    so ``model.sample(n, generator=g)`` draws the same kind of negatives it learnt from.

    Parameters
    ----------
    dim : int, default 2
        :math:`D`.
    hidden : int, default 64
        Width of the two hidden layers.
    bounds : float, default 4.0
        Short-run chains start uniformly in :math:`[-\text{bounds}, \text{bounds}]^D`.
    langevin_steps : int, default 40
    step_size : float, default 0.1
        :math:`\epsilon`, the gradient step of each Langevin update.
    noise_scale : float, default 0.01
        Standard deviation of each update's noise (below Langevin's :math:`\sqrt{2\epsilon}`,
        as in short-run EBM training; Nijkamp et al. 2019).

    Examples
    --------
    >>> torch.manual_seed(0) and None
    >>> model = EnergyMLP()
    >>> tuple(model.energy(torch.zeros(5, 2)).shape)
    (5,)
    >>> tuple(model.sample(3, generator=torch.Generator().manual_seed(0)).shape)
    (3, 2)
    """

    def __init__(
        self,
        dim: int = 2,
        hidden: int = 64,
        *,
        bounds: float = 4.0,
        langevin_steps: int = 40,
        step_size: float = 0.1,
        noise_scale: float = 0.01,
    ) -> None:
        super().__init__()
        _positive("dim", dim, integer=True)
        _positive("hidden", hidden, integer=True)
        _positive("bounds", bounds)
        _positive("langevin_steps", langevin_steps, integer=True, zero=True)
        _positive("step_size", step_size)
        _positive("noise_scale", noise_scale, zero=True)
        self.dim = dim
        self.bounds = float(bounds)
        self.langevin_steps = langevin_steps
        self.step_size = float(step_size)
        self.noise_scale = float(noise_scale)
        self.net = nn.Sequential(
            nn.Linear(dim, hidden),
            nn.SiLU(),
            nn.Linear(hidden, hidden),
            nn.SiLU(),
            nn.Linear(hidden, 1),
        )

    def energy(self, x: Tensor) -> Tensor:
        r""":math:`E_{\btheta}(\vx)` of a batch (B, D), shape (B,)."""
        x = _tensor("x", x, ndim=(2,))
        if x.shape[1] != self.dim:
            raise ValueError(f"`x` must have {self.dim} columns, got shape {tuple(x.shape)}")
        out: Tensor = self.net(x)
        return out.squeeze(-1)  # (B, 1) -> (B,)

    def forward(self, x: Tensor) -> Tensor:
        """The energy, as :meth:`energy`."""
        return self.energy(x)

    def initial_samples(self, num_samples: int, *, generator: torch.Generator) -> Tensor:
        """Uniform noise in the box: where short-run chains start, shape (num_samples, D)."""
        _positive("num_samples", num_samples, integer=True)
        _check_generator(generator)
        like = next(self.parameters())
        u = _rand((num_samples, self.dim), like, generator)
        return (2 * u - 1) * self.bounds

    def sample(
        self,
        num_samples: int,
        *,
        generator: torch.Generator,
        steps: int | None = None,
        init: Tensor | None = None,
    ) -> Tensor:
        r"""Short-run Langevin samples (:func:`langevin_sample`) with the model's settings.

        Parameters
        ----------
        num_samples : int
        generator : torch.Generator
        steps : int, optional
            Langevin steps (default: ``langevin_steps``).
        init : Tensor, shape (num_samples, D), optional
            Starting states (default: :meth:`initial_samples`).

        Returns
        -------
        Tensor, shape (num_samples, D), on the model's device, detached
        """
        steps = self.langevin_steps if steps is None else steps
        x0 = self.initial_samples(num_samples, generator=generator) if init is None else init
        if x0.shape != (num_samples, self.dim):
            raise ValueError(
                f"`init` must have shape {(num_samples, self.dim)}, got {tuple(x0.shape)}"
            )
        return langevin_sample(
            self.energy,
            x0,
            steps=steps,
            step_size=self.step_size,
            generator=generator,
            noise_scale=self.noise_scale,
        )


def contrastive_loss(energy_data: Tensor, energy_negative: Tensor, lam: float = 0.01) -> Tensor:
    r"""The EBM's contrastive loss: push data energies down, negative energies up.

    .. math::

        L(\btheta) = \frac1B \sum_b E_{\btheta}(\vx_b^{+}) - \frac1{B'} \sum_b
        E_{\btheta}(\vx_b^{-}) + \lambda \Bigl(\frac1B \sum_b E_{\btheta}(\vx_b^{+})^2 +
        \frac1{B'} \sum_b E_{\btheta}(\vx_b^{-})^2\Bigr)

    (Chapter 14, :ref:`ch-ebm`, eq. ``ebm-contrastive``). Its gradient in
    :math:`\btheta` is the maximum-likelihood gradient when the negatives
    :math:`\vx^-` are samples of :math:`p_{\btheta}`; the squared-energy term (Du and
    Mordatch 2019) keeps the energies from drifting to large magnitudes.

    Parameters
    ----------
    energy_data : Tensor, shape (B,)
    energy_negative : Tensor, shape (B',)
    lam : float, default 0.01
        :math:`\lambda`, the weight of the energy regulariser (0 switches it off).

    Returns
    -------
    Tensor, shape ()

    Raises
    ------
    TypeError, ValueError
        If either energy is not a 1-D float tensor or ``lam`` is negative.

    Examples
    --------
    >>> float(contrastive_loss(torch.tensor([-1.0]), torch.tensor([1.0]), lam=0.5))
    -1.0
    """
    energy_data = _tensor("energy_data", energy_data, ndim=(1,))
    energy_negative = _tensor("energy_negative", energy_negative, ndim=(1,))
    _positive("lam", lam, zero=True)
    _same_device(energy_data=energy_data, energy_negative=energy_negative)
    gap = energy_data.mean() - energy_negative.mean()
    return gap + lam * ((energy_data**2).mean() + (energy_negative**2).mean())


def train_ebm(
    model: EnergyMLP,
    data: Tensor,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    generator: torch.Generator,
    lam: float = 0.01,
    buffer_size: int = 0,
    reinit: float = 0.05,
) -> list[float]:
    r"""Train an energy network with short-run Langevin negatives (optionally, a replay buffer).

    Each step draws a batch of data :math:`\vx^+` and a batch of negatives: chains that
    start from fresh uniform noise (the default, ``buffer_size=0``; Nijkamp et al. 2019) or
    from a replay buffer of earlier negatives (a fraction ``reinit`` of them from fresh
    noise) and run the model's short-run Langevin sampler; with a buffer, the end states
    go back into it (Du and Mordatch 2019). Adam then takes one step on
    :func:`contrastive_loss` (Chapter 14, :ref:`ch-ebm`).

    Parameters
    ----------
    model : EnergyMLP
        Trained in place on its own device.
    data : Tensor, shape (N, D)
        Training points (moved to the model's device).
    steps : int
        Optimiser steps.
    batch_size : int
        Data points and negatives per step.
    lr : float
        Adam's learning rate.
    generator : torch.Generator
        Draws batches, initial noise and the Langevin noise.
    lam : float, default 0.01
        The energy regulariser :math:`\lambda` of :func:`contrastive_loss`.
    buffer_size : int, default 0
        Negatives kept between steps; with the default 0 every chain starts from fresh
        noise (pure short-run, Nijkamp et al. 2019), exactly as :meth:`EnergyMLP.sample`
        draws, so the trained model's own sampler is the one it was trained with.
    reinit : float, default 0.05
        Fraction of each batch of chains restarted from noise.

    Returns
    -------
    list of float
        The loss at every step.

    Raises
    ------
    TypeError, ValueError
        On bad arguments.

    References
    ----------
    Du and Mordatch, "Implicit generation and modeling with energy-based models", NeurIPS
    2019; Nijkamp, Hill, Zhu and Wu, "Learning non-convergent non-persistent short-run MCMC
    toward energy-based model", NeurIPS 2019.

    Examples
    --------
    >>> torch.manual_seed(0) and None
    >>> model = EnergyMLP(hidden=16, langevin_steps=5)
    >>> losses = train_ebm(model, torch.randn(64, 2), steps=3, batch_size=16, lr=1e-3,
    ...                    generator=torch.Generator().manual_seed(0))
    >>> len(losses)
    3
    """
    if not isinstance(model, EnergyMLP):
        raise TypeError(f"`model` must be a dlbook EnergyMLP, got {type(model).__name__}")
    data = _tensor("data", data, ndim=(2,))
    if data.shape[1] != model.dim:
        raise ValueError(f"`data` must have {model.dim} columns, got shape {tuple(data.shape)}")
    _positive("steps", steps, integer=True)
    _positive("batch_size", batch_size, integer=True)
    _positive("lr", lr)
    _positive("buffer_size", buffer_size, integer=True, zero=True)
    if not 0.0 <= reinit <= 1.0:
        raise ValueError(f"`reinit` must lie in [0, 1], got {reinit!r}")
    _check_generator(generator)
    like = next(model.parameters())
    data = data.to(device=like.device, dtype=like.dtype)
    buffer = model.initial_samples(buffer_size, generator=generator) if buffer_size else None
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        pick = torch.randint(len(data), (batch_size,), generator=generator, device=generator.device)
        x_data = data[pick.to(data.device)]
        x0 = model.initial_samples(batch_size, generator=generator)
        if buffer is not None:
            slots = torch.randint(
                buffer_size, (batch_size,), generator=generator, device=generator.device
            ).to(like.device)
            fresh = _rand((batch_size, 1), like, generator) < reinit
            x0 = torch.where(fresh, x0, buffer[slots])
        x_negative = model.sample(batch_size, generator=generator, init=x0)
        if buffer is not None:
            buffer[slots] = x_negative
        loss = contrastive_loss(model.energy(x_data), model.energy(x_negative), lam)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return losses


# Every public function checks devices and numpy scalars the same way (dlbook._checks).
_checks.guard_module(globals(), __all__)
