r"""Scaling up: what a training step costs, and how to spread it over many workers.

Chapter 22. The arithmetic of a step (matrix-product FLOPs, arithmetic intensity and the
roofline, the FLOPs of the Chapter 13 GPT), the memory of its activations, dynamic loss
scaling for float16, gradient accumulation, the ring all-reduce and its cost, and the
layouts used when a model no longer fits on one device (ZeRO/FSDP memory, a tensor-parallel
MLP, the pipeline bubble).

Run as a program it is the worker that ``torchrun`` starts in every process::

    python -m torch.distributed.run --standalone --nproc_per_node=2 \
        -m dlbook.distributed --epochs 2 --checkpoint run.pt --allreduce times.json

``--checkpoint`` trains with :func:`train_digits_mlp`, which calls
:func:`dlbook.train.fit` exactly as a single process would (``fit`` shards each batch
and synchronises the gradients itself when ``torch.distributed`` is initialised), and
rank 0 saves the model; ``--allreduce`` times ``torch.distributed.all_reduce`` by
message size.
The backend is NCCL when every worker has a GPU of its own and gloo otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from dlbook import _checks
from dlbook.lm import GPT, GPTConfig

__all__ = [
    "accumulate_gradients",
    "arithmetic_intensity",
    "checkpointed_lm_loss",
    "gpt_forward_flops",
    "main",
    "matmul_flops",
    "pipeline_bubble",
    "ring_allreduce",
    "ring_allreduce_time",
    "roofline",
    "saved_tensor_bytes",
    "scaled_sgd_step",
    "tensor_parallel_mlp",
    "train_digits_mlp",
    "update_loss_scale",
    "zero_bytes_per_parameter",
]


# --------------------------------------------------------------------------------------
# The arithmetic of one step
# --------------------------------------------------------------------------------------
def matmul_flops(m: int, k: int, n: int) -> int:
    r"""Floating-point operations of a product of an (m, k) and a (k, n) matrix.

    .. math:: C_{\mathrm{mm}} = 2 m k n

    Each of the :math:`mn` outputs is a dot product of length :math:`k`: :math:`k`
    multiplications and :math:`k - 1` additions, :math:`2k` counting the addition into
    the accumulator, the convention of every FLOP counter (Chapter 22, what a step costs).

    Parameters
    ----------
    m, k, n : int
        Positive sizes.

    Returns
    -------
    int

    Raises
    ------
    TypeError, ValueError
        If a size is not a positive int.

    Examples
    --------
    >>> matmul_flops(2, 3, 4)
    48
    """
    m = _checks.positive_int("m", m)
    k = _checks.positive_int("k", k)
    n = _checks.positive_int("n", n)
    return 2 * m * k * n


def arithmetic_intensity(m: int, k: int, n: int, bytes_per_element: int = 4) -> float:
    r"""FLOPs per byte moved of an (m, k) by (k, n) matrix product.

    .. math:: I = \frac{2 m k n}{b\,(m k + k n + m n)}

    with :math:`b` bytes per element: the two inputs are read once and the output written
    once, the least traffic any implementation needs (Chapter 22, the roofline). For
    square matrices :math:`I = 2n / 3b`, which grows with :math:`n`.

    Parameters
    ----------
    m, k, n : int
        Positive sizes.
    bytes_per_element : int, default 4
        4 for float32, 2 for bfloat16 and float16, 8 for float64.

    Returns
    -------
    float

    Raises
    ------
    TypeError, ValueError
        If a size or ``bytes_per_element`` is not a positive int.

    References
    ----------
    S. Williams, A. Waterman and D. Patterson, "Roofline: an insightful visual performance
    model for multicore architectures", Communications of the ACM 52(4), 2009.

    Examples
    --------
    >>> arithmetic_intensity(96, 96, 96)
    16.0
    """
    b = _checks.positive_int("bytes_per_element", bytes_per_element)
    flops = matmul_flops(m, k, n)
    return flops / (b * (m * k + k * n + m * n))


def roofline(intensity: float, peak_flops: float, bandwidth: float) -> float:
    r"""Attainable FLOP/s of a kernel of arithmetic intensity ``intensity``.

    .. math:: P(I) = \min(P_{\mathrm{peak}},\ I\,\beta)

    A kernel moving bytes at most at the memory bandwidth :math:`\beta` (bytes/s) can do
    at most :math:`I\beta` FLOP/s; no kernel beats the peak :math:`P_{\mathrm{peak}}`.
    The two meet at the ridge point :math:`I^* = P_{\mathrm{peak}}/\beta` (Chapter 22).

    Parameters
    ----------
    intensity : float
        FLOPs per byte, > 0.
    peak_flops, bandwidth : float
        FLOP/s and bytes/s, > 0.

    Returns
    -------
    float
        FLOP/s.

    Raises
    ------
    TypeError, ValueError
        If an argument is not a finite positive number.

    References
    ----------
    Williams, Waterman and Patterson (2009), Communications of the ACM 52(4).

    Examples
    --------
    >>> roofline(1.0, 100e9, 20e9), roofline(10.0, 100e9, 20e9)
    (20000000000.0, 100000000000.0)
    """
    i = _checks.positive("intensity", intensity)
    p = _checks.positive("peak_flops", peak_flops)
    b = _checks.positive("bandwidth", bandwidth)
    return min(p, i * b)


def gpt_forward_flops(config: GPTConfig, seq_len: int) -> int:
    r"""Matrix-product FLOPs of one forward pass of :class:`dlbook.lm.GPT` per sequence.

    .. math::

        C_{\mathrm{fwd}} = T\,\bigl(2 \cdot 12 M d^2 + 2 V d\bigr) + 4 M T^2 d

    per sequence of :math:`T` tokens: in each of the :math:`M` blocks the query/key/value
    projection (:math:`2 \cdot 3d^2` per token), the output projection (:math:`2d^2`) and
    the MLP (:math:`2 \cdot 8 d^2`), then the output layer (:math:`2Vd`); attention
    scores :math:`QK^\top` and the weighted sum :math:`AV` cost :math:`2T^2 d` each per
    block (counted over the full square, as kernels compute it, although the causal mask
    discards half). Biases, layer norms, softmax and embeddings look-ups are left out:
    they are :math:`O(Td)`. The backward pass costs twice the forward, so a training step
    on a batch of :math:`B` sequences is :math:`3 B C_{\mathrm{fwd}}`, close to
    :math:`6 N D` with :math:`D = BT` tokens (Kaplan et al. 2020). Chapter 22.

    Parameters
    ----------
    config : GPTConfig
    seq_len : int
        :math:`T`, at most ``config.block_size``.

    Returns
    -------
    int

    Raises
    ------
    TypeError
        If ``config`` is not a :class:`~dlbook.lm.GPTConfig`.
    ValueError
        If ``seq_len`` is not in ``[1, block_size]``.

    References
    ----------
    J. Kaplan et al., "Scaling laws for neural language models", arXiv:2001.08361, 2020,
    Table 1.

    Examples
    --------
    >>> gpt_forward_flops(GPTConfig(vocab_size=10, block_size=4, n_layer=1, n_head=1, d_model=2), 4)
    672
    """
    if not isinstance(config, GPTConfig):
        raise TypeError(f"`config` must be a GPTConfig, got {type(config).__name__}")
    T = _checks.positive_int("seq_len", seq_len)
    if config.block_size < T:
        raise ValueError(f"`seq_len` must be <= block_size={config.block_size}, got {T}")
    M, d, V = config.n_layer, config.d_model, config.vocab_size
    per_token = 2 * 12 * M * d * d + 2 * V * d
    return T * per_token + 4 * M * T * T * d


def saved_tensor_bytes(
    fn: Callable[..., Tensor], *args: Any, exclude: Sequence[Tensor] = ()
) -> int:
    r"""Bytes of the tensors autograd keeps for the backward pass while ``fn(*args)`` runs.

    .. math:: S = \sum_{\text{distinct storages } s \text{ saved}} \mathrm{bytes}(s)

    Every tensor an operation saves for its backward pass goes through
    ``torch.autograd.graph.saved_tensors_hooks``; a storage saved several times (the
    output of a ReLU that the next layer also saves) is counted once, and storages of
    ``exclude`` (pass the parameters, to count activations only) are not counted. This is
    the activation memory of Chapter 22, measured without a memory profiler; with
    ``torch.utils.checkpoint`` inside ``fn`` it counts what checkpointing keeps.

    Parameters
    ----------
    fn : callable
        Called as ``fn(*args)``; its graph is built (its result is discarded).
    *args
        Its arguments.
    exclude : sequence of Tensor, default ()
        Tensors whose storages are not counted.

    Returns
    -------
    int

    Raises
    ------
    TypeError
        If ``fn`` is not callable or ``exclude`` holds something other than tensors.

    Examples
    --------
    >>> w = torch.randn(3, 4, requires_grad=True)
    >>> saved_tensor_bytes(lambda x: (x @ w).relu().sum(), torch.randn(5, 3), exclude=[w])
    140
    """
    if not callable(fn):
        raise TypeError(f"`fn` must be callable, got {type(fn).__name__}")
    for i, t in enumerate(exclude):
        if not isinstance(t, Tensor):
            raise TypeError(f"`exclude[{i}]` must be a tensor, got {type(t).__name__}")
    skip = {t.untyped_storage().data_ptr() for t in exclude}
    seen: dict[int, int] = {}

    def pack(t: Tensor) -> Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in skip and t.device.type != "meta":
            seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(*args)
    return sum(seen.values())


def checkpointed_lm_loss(model: GPT, tokens: Tensor, targets: Tensor) -> Tensor:
    r"""The language-model loss of :class:`dlbook.lm.GPT`, each block under checkpointing.

    .. math:: L = -\frac{1}{BT} \sum_{b,t} \log p_\theta(y_{bt} \mid x_{b, \le t})

    The same value and gradients as ``F.cross_entropy`` of ``model(tokens)``'s logits, but
    each block runs under ``torch.utils.checkpoint``: autograd keeps only the block's
    input, :math:`B \times T \times d`, and recomputes the rest during the backward pass
    (Chen et al. 2016; Chapter 22, memory). The model is not modified.

    Parameters
    ----------
    model : GPT
    tokens : Tensor, shape (B, T), integer
    targets : Tensor, shape (B, T), integer
        The next token at every position.

    Returns
    -------
    Tensor
        A scalar, the mean cross-entropy in nats per token.

    Raises
    ------
    TypeError, ValueError
        If ``model`` is not a GPT, or the tokens or targets are not integer (B, T) tensors
        of one shape.

    References
    ----------
    T. Chen, B. Xu, C. Zhang and C. Guestrin, "Training deep nets with sublinear memory
    cost", arXiv:1604.06174, 2016.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> model = GPT(GPTConfig(vocab_size=10, block_size=8, n_layer=2, n_head=2, d_model=8), g)
    >>> x, y = torch.randint(0, 10, (2, 8), generator=g), torch.randint(0, 10, (2, 8), generator=g)
    >>> plain = F.cross_entropy(model(x)[0].reshape(-1, 10), y.reshape(-1))
    >>> bool(torch.isclose(checkpointed_lm_loss(model, x, y), plain))
    True
    """
    if not isinstance(model, GPT):
        raise TypeError(f"`model` must be a dlbook.lm.GPT, got {type(model).__name__}")
    _checks.tensor("tokens", tokens, ndim=2)
    _checks.tensor("targets", targets, ndim=2)
    for name, t in (("tokens", tokens), ("targets", targets)):
        if t.dtype.is_floating_point or t.dtype.is_complex or t.dtype == torch.bool:
            raise TypeError(f"`{name}` must be an integer tensor, got dtype {t.dtype}")
    if targets.shape != tokens.shape:
        raise ValueError(
            f"`targets` must have the shape of tokens {tuple(tokens.shape)}, "
            f"got {tuple(targets.shape)}"
        )
    T = tokens.shape[1]
    if model.config.block_size < T:
        raise ValueError(f"`tokens` has T = {T} > block_size = {model.config.block_size}")
    tokens = tokens.long()
    pos = torch.arange(T, device=tokens.device)
    x = model.wte(tokens) + model.wpe(pos)  # (B, T, d), as in GPT.forward
    x = F.dropout(x, model.config.dropout, model.training)
    for block in model.h:
        x, _ = checkpoint(block, x, None, use_reentrant=False)  # keeps only x, (B, T, d)
    logits = model.lm_head(model.ln_f(x))  # (B, T, V)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1).long())


# --------------------------------------------------------------------------------------
# Mixed precision: dynamic loss scaling
# --------------------------------------------------------------------------------------
def update_loss_scale(
    scale: float,
    growth_tracker: int,
    found_inf: bool,
    *,
    growth_factor: float = 2.0,
    backoff_factor: float = 0.5,
    growth_interval: int = 2000,
) -> tuple[float, int]:
    r"""The next loss scale of dynamic loss scaling, with PyTorch's ``GradScaler`` rule.

    .. math::

        (s, c) \leftarrow
        \begin{cases}
        (\rho_{\downarrow} s,\ 0) & \text{if a gradient overflowed,} \\
        (\rho_{\uparrow} s,\ 0) & \text{else if } c + 1 = n_{\mathrm{grow}}, \\
        (s,\ c + 1) & \text{otherwise,}
        \end{cases}

    with backoff :math:`\rho_\downarrow`, growth :math:`\rho_\uparrow` and growth interval
    :math:`n_{\mathrm{grow}}`: shrink the scale as soon as a scaled gradient is not finite
    (and skip that step), grow it after :math:`n_{\mathrm{grow}}` clean steps in a row
    (Micikevicius et al. 2018; Chapter 22, mixed precision).

    Parameters
    ----------
    scale : float
        Current scale :math:`s > 0`.
    growth_tracker : int
        Clean steps :math:`c \ge 0` since the last change.
    found_inf : bool
        Whether this step's scaled gradients held an inf or NaN.
    growth_factor : float, default 2.0
        :math:`\rho_\uparrow > 1`.
    backoff_factor : float, default 0.5
        :math:`\rho_\downarrow \in (0, 1)`.
    growth_interval : int, default 2000
        :math:`n_{\mathrm{grow}} \ge 1`.

    Returns
    -------
    (float, int)
        The new scale and growth tracker.

    Raises
    ------
    TypeError, ValueError
        On a non-positive scale, a negative tracker, a non-bool ``found_inf``, or factors
        outside their ranges.

    References
    ----------
    P. Micikevicius et al., "Mixed precision training", ICLR 2018.

    Examples
    --------
    >>> update_loss_scale(65536.0, 0, True)
    (32768.0, 0)
    >>> update_loss_scale(1024.0, 1, False, growth_interval=2)
    (2048.0, 0)
    """
    s = _checks.positive("scale", scale)
    c = _checks.positive_int("growth_tracker", growth_tracker, minimum=0)
    if not isinstance(found_inf, bool):
        raise TypeError(f"`found_inf` must be a bool, got {type(found_inf).__name__}")
    up = _checks.number("growth_factor", growth_factor, minimum=1.0, strict=True)
    down = _checks.positive("backoff_factor", backoff_factor)
    if down >= 1.0:
        raise ValueError(f"`backoff_factor` must lie in (0, 1), got {down}")
    K = _checks.positive_int("growth_interval", growth_interval)
    if found_inf:
        return s * down, 0
    if c + 1 >= K:
        return s * up, 0
    return s, c + 1


def scaled_sgd_step(
    params: Sequence[Tensor],
    scaled_grads: Sequence[Tensor],
    scale: float,
    growth_tracker: int,
    *,
    lr: float,
    growth_factor: float = 2.0,
    backoff_factor: float = 0.5,
    growth_interval: int = 2000,
) -> tuple[list[Tensor], float, int, bool]:
    r"""One SGD step from loss-scaled gradients, skipped if any of them overflowed.

    .. math::

        \mathbf{g} = \frac{1}{s}\,\nabla_{\theta}(s L), \qquad
        \theta \leftarrow \theta - \eta\,\mathbf{g}
        \quad\text{only if every entry of } \nabla_{\theta}(sL) \text{ is finite,}

    then the scale is updated by :func:`update_loss_scale`. The gradients are unscaled in
    float32 (or float64 if a gradient is float64), so a finite float16 gradient stays exact
    after the division when :math:`s` is a power of two, as ``GradScaler``'s scales are.
    Chapter 22, mixed precision.

    Parameters
    ----------
    params : sequence of Tensor
        The parameters :math:`\theta`.
    scaled_grads : sequence of Tensor
        Gradients of :math:`sL`, one per parameter and of its shape (any float dtype).
    scale : float
        The scale :math:`s` they were computed with.
    growth_tracker : int
        As in :func:`update_loss_scale`.
    lr : float
        :math:`\eta \ge 0`.
    growth_factor, backoff_factor, growth_interval
        As in :func:`update_loss_scale`.

    Returns
    -------
    (list of Tensor, float, int, bool)
        The new parameters (new tensors, in the dtypes of ``params``; the old ones if the
        step was skipped), the new scale, the new tracker, and whether the step was skipped.

    Raises
    ------
    TypeError, ValueError
        If the lists differ in length, a gradient's shape differs from its parameter's, or
        a number is out of range.

    Examples
    --------
    >>> p = [torch.tensor([1.0])]
    >>> scaled_sgd_step(p, [torch.tensor([float("inf")])], 8.0, 3, lr=0.1)
    ([tensor([1.])], 4.0, 0, True)
    >>> scaled_sgd_step(p, [torch.tensor([8.0])], 8.0, 3, lr=0.1)
    ([tensor([0.9000])], 8.0, 4, False)
    """
    if len(params) != len(scaled_grads):
        raise ValueError(
            f"`scaled_grads` must have one gradient per parameter ({len(params)}), "
            f"got {len(scaled_grads)}"
        )
    for i, (p, g) in enumerate(zip(params, scaled_grads, strict=True)):
        _checks.float_tensor(f"params[{i}]", p)
        _checks.float_tensor(f"scaled_grads[{i}]", g)
        if p.shape != g.shape:
            raise ValueError(
                f"`scaled_grads[{i}]` must have the shape of params[{i}] {tuple(p.shape)}, "
                f"got {tuple(g.shape)}"
            )
    s = _checks.positive("scale", scale)
    eta = _checks.non_negative("lr", lr)
    found_inf = any(not bool(torch.isfinite(g).all()) for g in scaled_grads)
    new_scale, tracker = update_loss_scale(
        s,
        growth_tracker,
        found_inf,
        growth_factor=growth_factor,
        backoff_factor=backoff_factor,
        growth_interval=growth_interval,
    )
    if found_inf:
        return [p.detach().clone() for p in params], new_scale, tracker, True
    new_params = []
    for p, g in zip(params, scaled_grads, strict=True):
        wide = torch.float64 if torch.float64 in (p.dtype, g.dtype) else torch.float32
        grad = g.to(wide) / s  # unscale in a wide type: exact when s is a power of two
        new_params.append((p.detach().to(wide) - eta * grad).to(p.dtype))
    return new_params, new_scale, tracker, False


# --------------------------------------------------------------------------------------
# Gradient accumulation and data parallelism
# --------------------------------------------------------------------------------------
def accumulate_gradients(
    model: nn.Module,
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    inputs: Tensor,
    targets: Tensor,
    micro_batches: int,
) -> tuple[float, list[Tensor | None]]:
    r"""Fill ``p.grad`` with the big-batch gradient, computed over ``micro_batches`` pieces.

    .. math::

        \nabla_\theta L_B = \sum_{j=1}^{k} \frac{|B_j|}{|B|}\, \nabla_\theta L_{B_j}

    The batch :math:`B` is cut into :math:`k` consecutive micro-batches
    :math:`B_j` (sizes differing by at most one, as ``Tensor.tensor_split`` cuts); each is
    back-propagated with its loss weighted by :math:`|B_j|/|B|`, and autograd adds the
    gradients up. Only one micro-batch's activations are alive at a time. With a loss
    averaged over the batch the result equals one backward pass on :math:`B`
    (Chapter 22; data parallelism is the same sum spread over processes).

    Parameters
    ----------
    model : nn.Module
        Its gradients are overwritten (set to the big-batch gradient).
    loss_fn : callable
        ``loss_fn(outputs, targets)``: a scalar, the mean over the batch.
    inputs : Tensor, shape (N, ...)
    targets : Tensor, shape (N, ...)
    micro_batches : int
        :math:`1 \le k \le N`.

    Returns
    -------
    (float, list of Tensor)
        The big-batch loss :math:`L_B`, and the gradients (the tensors now in ``p.grad``,
        in the order of ``model.parameters()``; ``None`` for a parameter that took no part).

    Raises
    ------
    TypeError, ValueError
        If ``inputs`` and ``targets`` are not tensors of the same length, or
        ``micro_batches`` is not in ``[1, N]``.

    Examples
    --------
    >>> model = nn.Linear(2, 1)
    >>> X, y = torch.randn(6, 2), torch.randn(6, 1)
    >>> loss, grads = accumulate_gradients(model, nn.MSELoss(), X, y, 3)
    >>> g = grads[0].clone(); model.zero_grad()
    >>> nn.MSELoss()(model(X), y).backward()
    >>> torch.allclose(g, model.weight.grad, atol=1e-6)
    True
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"`model` must be an nn.Module, got {type(model).__name__}")
    _checks.tensor("inputs", inputs, min_ndim=1)
    _checks.tensor("targets", targets, min_ndim=1)
    N = len(inputs)
    if len(targets) != N:
        raise ValueError(f"`targets` must have the length of inputs ({N}), got {len(targets)}")
    k = _checks.positive_int("micro_batches", micro_batches)
    if k > N:
        raise ValueError(f"`micro_batches` must be <= the batch size {N}, got {k}")
    model.zero_grad(set_to_none=True)
    total = 0.0
    for x_j, y_j in zip(inputs.tensor_split(k), targets.tensor_split(k), strict=True):
        loss = loss_fn(model(x_j), y_j)
        (loss * (len(x_j) / N)).backward()  # weight |B_j| / |B|
        total += float(loss.detach()) * len(x_j) / N
    return total, [p.grad for p in model.parameters()]


def ring_allreduce(tensors: Sequence[Tensor]) -> list[Tensor]:
    r"""Sum ``tensors`` (one per simulated worker) with the ring all-reduce algorithm.

    .. math:: \mathbf{y}^{(r)} = \sum_{q=0}^{p-1} \mathbf{x}^{(q)} \quad \text{for every worker } r

    Each of the :math:`p` workers cuts its (flattened) tensor into :math:`p` chunks. In
    :math:`p - 1` reduce-scatter steps worker :math:`r` sends chunk :math:`(r - t) \bmod p`
    to worker :math:`r + 1`, which adds it to its own; afterwards worker :math:`r` holds
    the full sum of chunk :math:`(r + 1) \bmod p`. In :math:`p - 1` all-gather steps the
    finished chunks travel once more round the ring. Each worker sends
    :math:`2(p-1)/p` times its tensor's size, however large :math:`p` is. All sends of a
    step are computed from the values before that step, as if simultaneous.
    Chapter 22, the all-reduce.

    Parameters
    ----------
    tensors : sequence of Tensor
        :math:`p \ge 1` tensors of one shape, dtype and device.

    Returns
    -------
    list of Tensor
        :math:`p` new tensors, each the sum, in the inputs' shape (the inputs are untouched).

    Raises
    ------
    TypeError, ValueError
        If ``tensors`` is empty or its tensors differ in shape, dtype or device.

    References
    ----------
    P. Patarasuk and X. Yuan, "Bandwidth optimal all-reduce algorithms for clusters of
    workstations", J. Parallel and Distributed Computing 69(2), 2009.

    Examples
    --------
    >>> ring_allreduce([torch.tensor([1.0, 2.0]), torch.tensor([10.0, 20.0])])
    [tensor([11., 22.]), tensor([11., 22.])]
    """
    if not isinstance(tensors, (list, tuple)) or not tensors:
        raise TypeError(
            f"`tensors` must be a non-empty list of tensors, one per worker, got "
            f"{type(tensors).__name__}{' (empty)' if isinstance(tensors, (list, tuple)) else ''}"
        )
    first = _checks.tensor("tensors[0]", tensors[0])
    for r, t in enumerate(tensors):
        _checks.tensor(f"tensors[{r}]", t)
        if t.shape != first.shape or t.dtype != first.dtype or t.device != first.device:
            raise ValueError(
                f"`tensors[{r}]` must match tensors[0] ({tuple(first.shape)}, {first.dtype}, "
                f"{first.device}), got ({tuple(t.shape)}, {t.dtype}, {t.device})"
            )
    p = len(tensors)
    # chunks[r][c]: worker r's copy of chunk c, (numel,) cut into p near-equal pieces
    chunks = [list(t.detach().reshape(-1).clone().tensor_split(p)) for t in tensors]
    for step in range(p - 1):  # reduce-scatter
        sent = [chunks[r][(r - step) % p].clone() for r in range(p)]
        for r in range(p):
            c = (r - 1 - step) % p  # the chunk worker r - 1 just sent
            chunks[r][c] = chunks[r][c] + sent[(r - 1) % p]
    for step in range(p - 1):  # all-gather: worker r owns the sum of chunk (r + 1) mod p
        sent = [chunks[r][(r + 1 - step) % p].clone() for r in range(p)]
        for r in range(p):
            chunks[r][(r - step) % p] = sent[(r - 1) % p]
    return [torch.cat(c).reshape(first.shape) for c in chunks]


def ring_allreduce_time(
    num_bytes: float, world_size: int, bandwidth: float, latency: float = 0.0
) -> float:
    r"""Time of a ring all-reduce of ``num_bytes`` over ``world_size`` workers.

    .. math:: t = 2(p-1)\,\alpha + \frac{2(p-1)}{p}\,\frac{N_{\mathrm{b}}}{\beta}

    :math:`2(p-1)` steps, each paying the latency :math:`\alpha` and sending a chunk of
    :math:`N_{\mathrm b}/p` bytes at bandwidth :math:`\beta` (Chapter 22).

    Parameters
    ----------
    num_bytes : float
        :math:`N_{\mathrm b} \ge 0`.
    world_size : int
        :math:`p \ge 1`.
    bandwidth : float
        :math:`\beta > 0`, bytes per second.
    latency : float, default 0.0
        :math:`\alpha \ge 0`, seconds per step.

    Returns
    -------
    float
        Seconds.

    Raises
    ------
    TypeError, ValueError
        If an argument is out of range.

    Examples
    --------
    >>> ring_allreduce_time(4e9, 8, 100e9)
    0.07
    """
    n = _checks.non_negative("num_bytes", num_bytes)
    p = _checks.positive_int("world_size", world_size)
    beta = _checks.positive("bandwidth", bandwidth)
    alpha = _checks.non_negative("latency", latency)
    return 2 * (p - 1) * alpha + 2 * (p - 1) / p * n / beta


# --------------------------------------------------------------------------------------
# When a model no longer fits
# --------------------------------------------------------------------------------------
def zero_bytes_per_parameter(stage: int, world_size: int, optimizer_bytes: int = 12) -> float:
    r"""Bytes per parameter on each of ``world_size`` workers under ZeRO stage ``stage``.

    .. math::

        m_0 = 4 + k_{\mathrm{opt}}, \quad
        m_1 = 4 + \frac{k_{\mathrm{opt}}}{N_d}, \quad
        m_2 = 2 + \frac{2 + k_{\mathrm{opt}}}{N_d}, \quad
        m_3 = \frac{4 + k_{\mathrm{opt}}}{N_d}

    Mixed-precision Adam keeps float16 parameters (2 bytes) and gradients (2 bytes) and
    :math:`k_{\mathrm{opt}} = 12` bytes of optimiser state (the paper's :math:`K`: float32
    master weights, momentum and variance). Stage 1 shards the optimiser state over the
    :math:`N_d` data-parallel workers, stage 2 also the gradients, stage 3 (fully sharded
    data parallel, FSDP) also the parameters; stage 0 is plain data parallelism
    (Rajbhandari et al. 2020; Chapter 22).

    Parameters
    ----------
    stage : int
        0, 1, 2 or 3.
    world_size : int
        :math:`N_d \ge 1`.
    optimizer_bytes : int, default 12
        :math:`k_{\mathrm{opt}}`.

    Returns
    -------
    float

    Raises
    ------
    TypeError, ValueError
        If ``stage`` is not 0-3 or a size is not a positive int.

    References
    ----------
    S. Rajbhandari et al., "ZeRO: memory optimizations toward training trillion parameter
    models", SC 2020.

    Examples
    --------
    >>> [zero_bytes_per_parameter(s, 64) for s in range(4)]
    [16.0, 4.1875, 2.21875, 0.25]
    """
    s = _checks.positive_int("stage", stage, minimum=0)
    if s > 3:
        raise ValueError(f"`stage` must be 0, 1, 2 or 3, got {s}")
    N = _checks.positive_int("world_size", world_size)
    K = _checks.positive_int("optimizer_bytes", optimizer_bytes, minimum=0)
    return float([4 + K, 4 + K / N, 2 + (2 + K) / N, (4 + K) / N][s])


def tensor_parallel_mlp(
    x: Tensor, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor, world_size: int
) -> Tensor:
    r"""A two-layer GELU MLP computed as ``world_size`` tensor-parallel workers would.

    .. math::

        \mathbf{y} = \sum_{r=1}^{p} \operatorname{GELU}(\mathbf{x} W_1^{(r)\top}
        + \mathbf{b}_1^{(r)})\, W_2^{(r)\top} + \mathbf{b}_2

    Megatron-LM's layout: worker :math:`r` holds a block of rows of :math:`W_1` (a slice
    of the hidden units) and the matching block of columns of :math:`W_2`; it computes its
    hidden units without talking to anyone (GELU acts unit by unit), and one all-reduce
    (the sum over :math:`r`) gives the output. Equal to
    ``F.linear(F.gelu(F.linear(x, W1, b1)), W2, b2)`` up to round-off (Chapter 22).

    Parameters
    ----------
    x : Tensor, shape (..., d)
    W1 : Tensor, shape (h, d)
    b1 : Tensor, shape (h,)
    W2 : Tensor, shape (d_out, h)
    b2 : Tensor, shape (d_out,)
    world_size : int
        :math:`1 \le p \le h`.

    Returns
    -------
    Tensor, shape (..., d_out)

    Raises
    ------
    TypeError, ValueError
        On shapes that do not fit, mixed dtypes or devices, or ``world_size`` outside
        ``[1, h]``.

    References
    ----------
    M. Shoeybi et al., "Megatron-LM: training multi-billion parameter language models
    using model parallelism", arXiv:1909.08053, 2019.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> x, W1, W2 = (torch.randn(s, generator=g) for s in [(2, 3), (4, 3), (3, 4)])
    >>> b1, b2 = torch.zeros(4), torch.zeros(3)
    >>> ref = F.linear(F.gelu(F.linear(x, W1, b1)), W2, b2)
    >>> torch.allclose(tensor_parallel_mlp(x, W1, b1, W2, b2, 2), ref, atol=1e-6)
    True
    """
    _checks.float_tensor("x", x, min_ndim=1)
    _checks.float_tensor("W1", W1, ndim=2)
    _checks.float_tensor("b1", b1, ndim=1)
    _checks.float_tensor("W2", W2, ndim=2)
    _checks.float_tensor("b2", b2, ndim=1)
    _checks.same_device(x=x, W1=W1, b1=b1, W2=W2, b2=b2)
    _checks.same_dtype(x=x, W1=W1, b1=b1, W2=W2, b2=b2)
    h, d = W1.shape
    if x.shape[-1] != d:
        raise ValueError(f"`x` must end in d={d} (W1 is {tuple(W1.shape)}), got {tuple(x.shape)}")
    if b1.shape != (h,) or W2.shape[1] != h or b2.shape != (W2.shape[0],):
        raise ValueError(
            f"b1 must be ({h},), W2 (d_out, {h}) and b2 (d_out,); got {tuple(b1.shape)}, "
            f"{tuple(W2.shape)}, {tuple(b2.shape)}"
        )
    p = _checks.positive_int("world_size", world_size)
    if p > h:
        raise ValueError(f"`world_size` must be <= the hidden width h={h}, got {p}")
    partial = []
    for W1_r, b1_r, W2_r in zip(
        W1.tensor_split(p, dim=0), b1.tensor_split(p), W2.tensor_split(p, dim=1), strict=True
    ):
        a_r = F.gelu(x @ W1_r.T + b1_r)  # (..., h / p): worker r's units
        partial.append(a_r @ W2_r.T)  # (..., d_out): worker r's share of the output
    return torch.stack(partial).sum(0) + b2  # the all-reduce, then the bias once


def pipeline_bubble(stages: int, micro_batches: int) -> float:
    r"""Fraction of time a GPipe pipeline's stages sit idle.

    .. math:: \text{bubble} = \frac{K - 1}{m + K - 1}

    With :math:`K` stages and :math:`m` micro-batches the forward (and likewise the
    backward) sweep takes :math:`m + K - 1` time slots, of which each stage works in
    :math:`m` (Huang et al. 2019; Chapter 22).

    Parameters
    ----------
    stages : int
        :math:`K \ge 1`.
    micro_batches : int
        :math:`m \ge 1`.

    Returns
    -------
    float

    Raises
    ------
    TypeError, ValueError
        If an argument is not a positive int.

    References
    ----------
    Y. Huang et al., "GPipe: efficient training of giant neural networks using pipeline
    parallelism", NeurIPS 2019.

    Examples
    --------
    >>> pipeline_bubble(4, 12)
    0.2
    """
    K = _checks.positive_int("stages", stages)
    m = _checks.positive_int("micro_batches", micro_batches)
    return (K - 1) / (m + K - 1)


# --------------------------------------------------------------------------------------
# The worker torchrun starts
# --------------------------------------------------------------------------------------
def train_digits_mlp(
    *,
    epochs: int = 2,
    batch_size: int = 64,
    lr: float = 0.5,
    hidden: int = 32,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
) -> tuple[nn.Module, dict[str, list[float]]]:
    r"""Train a small MLP on the digits with :func:`dlbook.train.fit`: Chapter 22's workload.

    A 64-``hidden``-10 ReLU network, initialised from ``seed``, trained by plain SGD on
    the fixed digits split (:func:`dlbook.data.load_digits`) with global batch size
    ``batch_size``. Called in one process it is ordinary training; called in every
    process of a ``torchrun`` job it is data-parallel training, and the result is the
    same up to round-off.

    Parameters
    ----------
    epochs, batch_size, hidden, seed : int
    lr : float
    dtype : torch.dtype, default float32
    device : str or torch.device, default "cpu"

    Returns
    -------
    (nn.Module, dict)
        The trained network and its history's metrics (``train_loss``, ``val_loss``,
        ``val_accuracy`` per epoch).

    Examples
    --------
    >>> model, hist = train_digits_mlp(epochs=1)
    >>> hist["val_accuracy"][0] > 0.5
    True
    """
    from dlbook import data, train

    epochs = _checks.positive_int("epochs", epochs)
    digits = data.load_digits()
    g = torch.Generator().manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))
    with torch.no_grad():
        for p in model.parameters():  # a fixed init, the same in every process
            p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[-1]))
    model.to(device=device, dtype=dtype)
    X_train = digits.X_train.to(device=device, dtype=dtype)
    X_val = digits.X_val.to(device=device, dtype=dtype)
    history = train.fit(
        model,
        torch.optim.SGD(model.parameters(), lr=lr),
        nn.CrossEntropyLoss(),
        (X_train, digits.y_train.to(device)),
        val=(X_val, digits.y_val.to(device)),
        metrics={"accuracy": train.accuracy},
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        progress=False,
    )
    return model, history.metrics


def _time_allreduce(sizes: Sequence[int], repeats: int, device: torch.device) -> list[float]:
    times = []
    for n in sizes:
        x = torch.ones(n, dtype=torch.float32, device=device)
        dist.all_reduce(x)  # warm-up: the first call sets up buffers
        runs = []
        for _ in range(repeats):
            dist.barrier()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            dist.all_reduce(x)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            runs.append(time.perf_counter() - start)
        times.append(min(runs))  # the fastest: the least disturbed by other work
    return times


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``python -m dlbook.distributed`` (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m dlbook.distributed")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64, help="global batch size")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--checkpoint", help="where rank 0 saves the trained model")
    parser.add_argument("--allreduce", help="where rank 0 saves all_reduce timings (JSON)")
    parser.add_argument("--max-log2", type=int, default=22, help="largest message: 2**k floats")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    torch.set_num_threads(1)  # one core per worker: two workers share a 2-core machine
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    # NCCL needs one GPU per process; with fewer GPUs than processes, gloo on the CPU
    use_cuda = torch.cuda.is_available() and torch.cuda.device_count() >= local_world
    device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if use_cuda else "gloo")  # reads torchrun's variables
    try:
        rank, world = dist.get_rank(), dist.get_world_size()
        if args.checkpoint:
            from dlbook import train

            model, metrics = train_digits_mlp(
                epochs=args.epochs,
                batch_size=args.batch_size,
                dtype=getattr(torch, args.dtype),
                device=device,
            )
            if rank == 0:  # every rank holds the same weights; one writes them
                train.save_checkpoint(
                    args.checkpoint, model, extra={"world_size": world, **metrics}
                )
        if args.allreduce:
            sizes = [2**k for k in range(8, args.max_log2 + 1, 2)]
            times = _time_allreduce(sizes, args.repeats, device)
            if rank == 0:
                result = {
                    "world_size": world,
                    "backend": str(dist.get_backend()),
                    "bytes": [4 * n for n in sizes],
                    "seconds": times,
                }
                with open(args.allreduce, "w") as handle:
                    json.dump(result, handle)
        dist.barrier()
    finally:
        dist.destroy_process_group()


# Every public function checks devices and numpy scalars the same way (dlbook._checks).
_checks.guard_module(globals(), __all__)

if __name__ == "__main__":
    main()
