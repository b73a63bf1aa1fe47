r"""Attention and transformers (Chapter 12).

Attention is a soft dictionary look-up: a query is compared with every key, the scores
are turned into weights by a softmax, and the answer is the weighted average of the
values. This module writes that look-up out
(:func:`scaled_dot_product_attention`, with exactly the interface of
``torch.nn.functional.scaled_dot_product_attention``, and :func:`attention`, which also
returns the weights), builds multi-head attention (:class:`MultiheadAttention`, which
loads ``nn.MultiheadAttention``'s state dict), the positional encodings
(:func:`sinusoidal_encoding`, :class:`LearnedPositionalEncoding`, :func:`apply_rope`) and
the encoder block (:class:`TransformerEncoderLayer`, post-LN and pre-LN, which loads
``nn.TransformerEncoderLayer``'s state dict). :func:`blockwise_attention` computes the
same output without ever holding the whole score matrix.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlbook import _checks, layers

__all__ = [
    "LearnedPositionalEncoding",
    "MultiheadAttention",
    "TransformerEncoderLayer",
    "apply_rope",
    "attention",
    "blockwise_attention",
    "causal_mask",
    "merge_heads",
    "scaled_dot_product_attention",
    "sinusoidal_encoding",
    "split_heads",
]


# --------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------
def _check_tensor(name: str, x: object, *, floating: bool = True) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a tensor, got {type(x).__name__}")
    if floating and not x.is_floating_point():
        raise TypeError(f"{name} must have a floating dtype, got {x.dtype}")
    return x


def _check_probability(name: str, p: object) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ValueError(f"{name} must be a number in [0, 1], got {p!r}")
    return float(p)


def _check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def _check_qkv(query: Tensor, key: Tensor, value: Tensor, enable_gqa: bool) -> None:
    for name, x in (("query", query), ("key", key), ("value", value)):
        _check_tensor(name, x)
        if x.ndim < 2:
            raise ValueError(f"{name} must have shape (..., T, d), got {tuple(x.shape)}")
    if not query.dtype == key.dtype == value.dtype:
        raise TypeError(
            "query, key and value must share a dtype, got "
            f"{query.dtype}, {key.dtype} and {value.dtype}"
        )
    if not query.device == key.device == value.device:
        raise ValueError(
            "query, key and value must be on one device, got "
            f"{query.device}, {key.device} and {value.device}"
        )
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(
            f"query and key must have the same last dimension d_k, got query "
            f"{tuple(query.shape)} and key {tuple(key.shape)}"
        )
    if key.shape[-2] != value.shape[-2]:
        raise ValueError(
            f"key and value must have the same length T_k (dim -2), got key "
            f"{tuple(key.shape)} and value {tuple(value.shape)}"
        )
    if not enable_gqa:
        try:
            torch.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
        except RuntimeError:
            raise ValueError(
                "the leading (batch and head) dimensions of query, key and value must "
                f"broadcast, got {tuple(query.shape)}, {tuple(key.shape)} and "
                f"{tuple(value.shape)}"
            ) from None
    else:
        if min(query.ndim, key.ndim, value.ndim) < 3:
            raise ValueError("enable_gqa needs a head dimension: tensors of shape (..., h, T, d)")
        h_q, h_k, h_v = query.shape[-3], key.shape[-3], value.shape[-3]
        if h_k != h_v or h_q % h_k != 0:
            raise ValueError(
                "with enable_gqa the number of query heads must be a multiple of the (equal) "
                f"numbers of key and value heads, got {h_q}, {h_k} and {h_v}"
            )


def causal_mask(T_q: int, T_k: int, *, device: torch.device | str | None = None) -> Tensor:
    r"""The causal mask of ``is_causal``: query :math:`i` may see keys :math:`j \le i`.

    .. math::

        M_{ij} = [\,j \le i\,], \qquad 0 \le i < T_q,\; 0 \le j < T_k,

    a lower-triangular boolean matrix aligned at the top-left corner, as PyTorch's
    ``is_causal`` (for :math:`T_q \ne T_k` query :math:`i` sees the first :math:`i + 1`
    keys, whatever :math:`T_k`). ``True`` means "takes part". Defined in Chapter 12 (masks).

    Parameters
    ----------
    T_q, T_k : int
        Numbers of queries and keys.
    device : torch.device or str, optional

    Returns
    -------
    Tensor, shape (T_q, T_k), dtype bool

    Raises
    ------
    ValueError
        If ``T_q`` or ``T_k`` is not a positive int.

    References
    ----------
    .. [1] A. Vaswani et al., "Attention is all you need", NeurIPS 2017, section 3.2.3.

    Examples
    --------
    >>> causal_mask(2, 3).int().tolist()
    [[1, 0, 0], [1, 1, 0]]
    """
    _check_positive_int("T_q", T_q)
    _check_positive_int("T_k", T_k)
    return torch.ones(T_q, T_k, dtype=torch.bool, device=device).tril()


# --------------------------------------------------------------------------------------
# Scaled dot-product attention
# --------------------------------------------------------------------------------------
def attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    *,
    scale: float | None = None,
    enable_gqa: bool = False,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    r"""Scaled dot-product attention that returns its weights as well as its output.

    .. math::

        A = \operatorname{softmax}\!\Bigl(\frac{Q K^\top}{\sqrt{d_k}} + \Delta\Bigr), \qquad
        \operatorname{Attention}(Q, K, V) = A V,

    with the softmax over the keys (each row of :math:`A` sums to one) and :math:`\Delta` the
    additive mask (:math:`0` where a key takes part, :math:`-\infty` where it does not).
    Defined in Chapter 12, equation ``attention-sdpa``. The arguments are those of
    :func:`scaled_dot_product_attention`, plus ``generator`` for the dropout mask.

    A row whose keys are all masked has no softmax; like PyTorch's CPU and math kernels
    it gets weights of zero, so its output is zero and no gradient flows through it.

    Parameters
    ----------
    query : Tensor, shape (..., T_q, d_k)
    key : Tensor, shape (..., T_k, d_k)
    value : Tensor, shape (..., T_k, d_v)
        Leading dimensions broadcast against each other.
    attn_mask : Tensor, optional, broadcastable to (..., T_q, T_k)
        Boolean (``True``: the key takes part, as in PyTorch) or floating with the dtype
        of ``query`` (added to the scores).
    dropout_p : float, default 0.0
        Probability of zeroing each weight (inverted dropout: the rest are scaled by
        :math:`1/(1-p)`). Always applied when positive, as in PyTorch.
    is_causal : bool, default False
        Apply :func:`causal_mask` (top-left aligned); excludes ``attn_mask``.
    scale : float, optional
        Replaces :math:`1/\sqrt{d_k}`.
    enable_gqa : bool, default False
        Grouped-query attention: ``key`` and ``value`` may have fewer heads (dim -3),
        each shared by ``h_q / h_k`` consecutive query heads.
    generator : torch.Generator, optional
        Source of the dropout mask (PyTorch's global generator if omitted).

    Returns
    -------
    output : Tensor, shape (..., T_q, d_v)
    weights : Tensor, shape (..., T_q, T_k)
        The attention weights :math:`A`, after dropout.

    Raises
    ------
    TypeError
        If an input is not a floating tensor, the dtypes differ, or the mask has an
        unsupported dtype.
    ValueError
        If the shapes do not fit, the devices differ, ``dropout_p`` is outside
        :math:`[0, 1]`, or ``is_causal`` is combined with ``attn_mask``.

    References
    ----------
    .. [1] A. Vaswani et al., "Attention is all you need", NeurIPS 2017, equation (1).

    Examples
    --------
    >>> q = torch.tensor([[1.0, 0.0]])
    >>> k = torch.tensor([[10.0, 0.0], [0.0, 10.0]])
    >>> out, w = attention(q, k, k, scale=1.0)
    >>> [round(x, 4) for x in w.flatten().tolist()]
    [1.0, 0.0]
    """
    output, weights = _attend(
        query,
        key,
        value,
        attn_mask,
        dropout_p,
        is_causal,
        scale=scale,
        enable_gqa=enable_gqa,
        generator=generator,
    )
    assert weights is not None  # need_weights defaults to True
    return output, weights


#: Queries per block when causal self-attention skips the keys no query of a block sees.
_CAUSAL_BLOCK = 128


def _causal_by_blocks(q: Tensor, key: Tensor, value: Tensor, block: int) -> Tensor:
    """Causal self-attention of already-scaled queries, one block of queries at a time.

    The queries ``s:e`` see only the keys ``0:e``: each block's scores are a
    ``(e - s, e)`` matrix, and the scores above the diagonal that the causal mask would
    throw away are, block by block, mostly never computed. With ``n`` blocks the score
    matrices hold ``(n + 1) / (2 n)`` of the ``T^2`` entries (5/8 for four blocks). The
    arithmetic of every kept score is that of the full computation.
    """
    T = q.shape[-2]
    outputs = []
    for start in range(0, T, block):
        end = min(start + block, T)
        scores = torch.matmul(q[..., start:end, :], key[..., :end, :].transpose(-2, -1))
        # query start + i hides key j when j > start + i: the diagonal offset start + 1
        future = torch.ones(end - start, end, dtype=torch.bool, device=q.device)
        scores.masked_fill_(future.triu(start + 1), -math.inf)  # (..., e - s, e)
        weights = torch.softmax(scores, dim=-1)
        outputs.append(torch.matmul(weights, value[..., :end, :]))  # (..., e - s, d_v)
    return torch.cat(outputs, dim=-2)  # (..., T, d_v)


def _attend(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None,
    dropout_p: float,
    is_causal: bool,
    *,
    scale: float | None,
    enable_gqa: bool,
    generator: torch.Generator | None,
    need_weights: bool = True,
) -> tuple[Tensor, Tensor | None]:
    """The computation behind :func:`attention` and :func:`scaled_dot_product_attention`.

    With ``need_weights=False`` a long causal self-attention is computed by blocks of
    queries (:func:`_causal_by_blocks`) and no weights are returned.
    """
    _check_qkv(query, key, value, enable_gqa)
    dropout_p = _check_probability("dropout_p", dropout_p)
    T_q, T_k = query.shape[-2], key.shape[-2]
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    elif isinstance(scale, bool) or not isinstance(scale, (int, float)):
        raise TypeError(f"scale must be a float or None, got {scale!r}")
    if enable_gqa:
        group = query.shape[-3] // key.shape[-3]
        key = key.repeat_interleave(group, dim=-3)  # (..., h_k, T, d) -> (..., h_q, T, d)
        value = value.repeat_interleave(group, dim=-3)

    blocks_pay = T_q == T_k and T_q >= 2 * _CAUSAL_BLOCK
    if not need_weights and is_causal and attn_mask is None and dropout_p == 0 and blocks_pay:
        return _causal_by_blocks(query * scale, key, value, _CAUSAL_BLOCK), None
    # The scale goes on the queries, (T_q, d) numbers, not on the (T_q, T_k) scores.
    scores = torch.matmul(query * scale, key.transpose(-2, -1))  # (..., T_q, T_k)
    dead: Tensor | None = None
    if is_causal:
        if attn_mask is not None:
            raise ValueError("give either attn_mask or is_causal=True, not both")
        # Key j is hidden from query i when j > i: the strict upper triangle. In place:
        # the product's backward needs its inputs, not its output.
        future = torch.ones(T_q, T_k, dtype=torch.bool, device=query.device).triu(1)
        scores.masked_fill_(future, -math.inf)
    elif attn_mask is not None:
        _check_tensor("attn_mask", attn_mask, floating=False)
        if attn_mask.device != query.device:
            raise ValueError(f"attn_mask is on {attn_mask.device}, the query on {query.device}")
        try:
            full = torch.broadcast_shapes(attn_mask.shape, scores.shape)
        except RuntimeError:
            raise ValueError(
                f"attn_mask of shape {tuple(attn_mask.shape)} does not broadcast to the "
                f"scores' shape {tuple(scores.shape)} (..., T_q, T_k)"
            ) from None
        # In place where the shapes allow it (the product's backward does not need
        # its output); a mask with more leading dimensions than the scores cannot be.
        in_place = full == scores.shape
        if attn_mask.dtype == torch.bool:
            hidden = ~attn_mask
            if in_place:
                scores.masked_fill_(hidden, -math.inf)
            else:
                scores = scores.masked_fill(hidden, -math.inf)
        elif attn_mask.dtype == query.dtype:
            hidden = torch.isneginf(attn_mask)
            scores = scores.add_(attn_mask) if in_place else scores + attn_mask
        else:
            raise TypeError(
                f"attn_mask must be bool or have the query's dtype {query.dtype}, "
                f"got {attn_mask.dtype}"
            )
        # Rows whose mask hides every key: softmax would give 0/0. Score them 0 (a
        # harmless uniform softmax) and zero their weights below, as PyTorch does. The
        # test runs on the mask, usually far smaller than the scores.
        dead = hidden.all(dim=-1, keepdim=True)  # (..., T_q, 1) of the mask's shape
        if bool(dead.any()):
            scores = scores.masked_fill(dead, 0.0)
        else:
            dead = None
    weights = torch.softmax(scores, dim=-1)  # (..., T_q, T_k), rows sum to 1
    if dead is not None:
        weights = weights.masked_fill(dead, 0.0)
    if dropout_p > 0:
        weights = layers.dropout(weights, dropout_p, generator=generator)
    return torch.matmul(weights, value), weights  # (..., T_q, d_v)


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    *,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    r"""Scaled dot-product attention, with the interface of PyTorch's.

    .. math::

        \operatorname{Attention}(Q, K, V) =
        \operatorname{softmax}\!\Bigl(\frac{Q K^\top}{\sqrt{d_k}} + \Delta\Bigr) V.

    Defined in Chapter 12, equation ``attention-sdpa``. The signature, the defaults and
    the mask conventions are those of ``torch.nn.functional.scaled_dot_product_attention``
    (torch 2.13): a boolean ``attn_mask`` marks with ``True`` the keys that take part, a
    floating one is added to the scores, ``is_causal`` is aligned at the top-left corner,
    and a query whose keys are all masked gets a zero output. Dropout, when
    ``dropout_p > 0``, draws from PyTorch's global generator (as PyTorch does; PyTorch's
    own masks are drawn differently, so the two agree only in distribution); call
    :func:`attention` to pass a generator and get the weights.

    Parameters
    ----------
    query : Tensor, shape (..., T_q, d_k)
    key : Tensor, shape (..., T_k, d_k)
    value : Tensor, shape (..., T_k, d_v)
    attn_mask : Tensor, optional, broadcastable to (..., T_q, T_k)
    dropout_p : float, default 0.0
    is_causal : bool, default False
    scale : float, optional
        Replaces :math:`1/\sqrt{d_k}`.
    enable_gqa : bool, default False

    Returns
    -------
    Tensor, shape (..., T_q, d_v)

    Raises
    ------
    TypeError, ValueError
        As :func:`attention`.

    References
    ----------
    .. [1] A. Vaswani et al., "Attention is all you need", NeurIPS 2017, equation (1).

    Examples
    --------
    >>> q = k = v = torch.eye(2)
    >>> scaled_dot_product_attention(q, k, v, is_causal=True)[0].tolist()
    [1.0, 0.0]
    """
    output, _ = _attend(
        query,
        key,
        value,
        attn_mask,
        dropout_p,
        is_causal,
        scale=scale,
        enable_gqa=enable_gqa,
        generator=None,
        need_weights=False,
    )
    return output


def blockwise_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    *,
    block_size: int,
    is_causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    r"""Attention computed over blocks of keys, never forming the whole score matrix.

    The softmax is accumulated block by block with a running maximum :math:`m`, a
    running normaliser :math:`\ell` and a running output :math:`\mathbf{o}` (the
    "online softmax" of FlashAttention): for each block of scores :math:`S_b`,

    .. math::

        m' = \max(m, \max_j S_{b,j}), \quad
        \ell' = e^{m - m'} \ell + \textstyle\sum_j e^{S_{b,j} - m'}, \quad
        \mathbf{o}' = e^{m - m'} \mathbf{o} + \textstyle\sum_j e^{S_{b,j} - m'} \mathbf{v}_j,

    and the answer is :math:`\mathbf{o}/\ell`, exactly the softmax-weighted average.
    The largest intermediate holds :math:`T_q \times` ``block_size`` scores instead of
    :math:`T_q \times T_k`. Defined in Chapter 12 (the quadratic cost).

    Parameters
    ----------
    query : Tensor, shape (..., T_q, d_k)
    key : Tensor, shape (..., T_k, d_k)
    value : Tensor, shape (..., T_k, d_v)
    block_size : int
        Keys per block.
    is_causal : bool, default False
        Top-left-aligned causal mask, as :func:`scaled_dot_product_attention`.
    scale : float, optional
        Replaces :math:`1/\sqrt{d_k}`.

    Returns
    -------
    Tensor, shape (..., T_q, d_v)

    Raises
    ------
    TypeError, ValueError
        As :func:`attention`; ``ValueError`` also if ``block_size`` is not a positive int.

    References
    ----------
    .. [1] T. Dao, D. Y. Fu, S. Ermon, A. Rudra, C. Re, "FlashAttention: fast and
       memory-efficient exact attention with IO-awareness", NeurIPS 2022.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> q, k, v = (torch.randn(5, 3, generator=g, dtype=torch.float64) for _ in range(3))
    >>> out = blockwise_attention(q, k, v, block_size=2)
    >>> torch.allclose(out, scaled_dot_product_attention(q, k, v))
    True
    """
    _check_qkv(query, key, value, False)
    _check_positive_int("block_size", block_size)
    T_q, T_k = query.shape[-2], key.shape[-2]
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    q = query * scale
    batch = torch.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    m = torch.full((*batch, T_q, 1), -math.inf, dtype=q.dtype, device=q.device)
    ell = torch.zeros_like(m)  # (..., T_q, 1)
    out = torch.zeros((*batch, T_q, value.shape[-1]), dtype=q.dtype, device=q.device)
    rows = torch.arange(T_q, device=q.device).unsqueeze(-1)  # (T_q, 1)
    for start in range(0, T_k, block_size):
        stop = min(start + block_size, T_k)
        s = torch.matmul(q, key[..., start:stop, :].transpose(-2, -1))  # (..., T_q, b)
        if is_causal:
            cols = torch.arange(start, stop, device=q.device)  # (b,)
            s = s.masked_fill(cols > rows, -math.inf)
        m_new = torch.maximum(m, s.amax(dim=-1, keepdim=True))
        # A row whose keys so far are all masked keeps m = -inf; shift it by 0 instead.
        shift = torch.where(torch.isneginf(m_new), 0.0, m_new)
        p = torch.exp(s - shift)  # (..., T_q, b)
        correction = torch.exp(m - shift)  # rescales what was summed under the old max
        ell = correction * ell + p.sum(dim=-1, keepdim=True)
        out = correction * out + torch.matmul(p, value[..., start:stop, :])
        m = m_new
    return out / ell


# --------------------------------------------------------------------------------------
# Heads
# --------------------------------------------------------------------------------------
def split_heads(x: Tensor, num_heads: int) -> Tensor:
    r"""Split the last axis into heads: (..., T, E) -> (..., h, T, E/h).

    .. math::

        X = [X^{(1)}, \dots, X^{(h)}], \qquad X^{(i)} \in \mathbb{R}^{T \times E/h},

    head :math:`i` takes features :math:`i E/h, \dots, (i+1) E/h - 1`, as in
    ``nn.MultiheadAttention``. Defined in Chapter 12 (multi-head attention).

    Parameters
    ----------
    x : Tensor, shape (..., T, E)
    num_heads : int
        :math:`h`, which must divide :math:`E`.

    Returns
    -------
    Tensor, shape (..., h, T, E/h)

    Raises
    ------
    ValueError
        If ``x`` has fewer than two axes or ``num_heads`` does not divide :math:`E`.

    References
    ----------
    .. [1] A. Vaswani et al., "Attention is all you need", NeurIPS 2017, section 3.2.2.

    Examples
    --------
    >>> split_heads(torch.arange(4.0).reshape(1, 4), 2).tolist()
    [[[0.0, 1.0]], [[2.0, 3.0]]]
    """
    _check_tensor("x", x, floating=False)
    _check_positive_int("num_heads", num_heads)
    if x.ndim < 2 or x.shape[-1] % num_heads != 0:
        raise ValueError(
            f"x must have shape (..., T, E) with E divisible by num_heads={num_heads}, "
            f"got {tuple(x.shape)}"
        )
    *lead, T, E = x.shape
    x = x.reshape(*lead, T, num_heads, E // num_heads)  # (..., T, E) -> (..., T, h, d)
    return x.transpose(-3, -2)  # (..., T, h, d) -> (..., h, T, d)


def merge_heads(x: Tensor) -> Tensor:
    r"""Undo :func:`split_heads`: (..., h, T, d) -> (..., T, h d).

    .. math::

        \operatorname{Concat}(\text{head}_1, \dots, \text{head}_h) \in
        \mathbb{R}^{T \times h d}.

    Defined in Chapter 12 (multi-head attention).

    Parameters
    ----------
    x : Tensor, shape (..., h, T, d)

    Returns
    -------
    Tensor, shape (..., T, h d)

    Raises
    ------
    ValueError
        If ``x`` has fewer than three axes.

    References
    ----------
    .. [1] A. Vaswani et al., "Attention is all you need", NeurIPS 2017, section 3.2.2.

    Examples
    --------
    >>> x = torch.arange(6.0).reshape(1, 6)
    >>> torch.equal(merge_heads(split_heads(x, 3)), x)
    True
    """
    _check_tensor("x", x, floating=False)
    if x.ndim < 3:
        raise ValueError(f"x must have shape (..., h, T, d), got {tuple(x.shape)}")
    *lead, h, T, d = x.shape
    x = x.transpose(-3, -2)  # (..., h, T, d) -> (..., T, h, d)
    return x.reshape(*lead, T, h * d)  # (..., T, h, d) -> (..., T, h d)


# --------------------------------------------------------------------------------------
# Multi-head attention
# --------------------------------------------------------------------------------------
class MultiheadAttention(nn.Module):
    r"""Multi-head attention with the interface and state dict of ``nn.MultiheadAttention``.

    .. math::

        \operatorname{MultiHead}(Q, K, V) = \operatorname{Concat}(\text{head}_1, \dots,
        \text{head}_h) W_O^\top, \qquad
        \text{head}_i = \operatorname{Attention}(Q W_{Q,i}^\top, K W_{K,i}^\top,
        V W_{V,i}^\top),

    with :math:`W_{Q,i}` the :math:`i`-th block of :math:`E/h` rows of :math:`W_Q`
    (weights are (out, in), as ``nn.Linear``). Defined in Chapter 12 (multi-head
    attention). The projections are the parameters ``in_proj_weight`` (:math:`W_Q, W_K,
    W_V` stacked) or ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight`` when
    ``kdim`` or ``vdim`` differ from ``embed_dim``, ``in_proj_bias``, ``out_proj``,
    and ``bias_k``, ``bias_v`` with ``add_bias_kv``: the names, shapes and initialisation
    of PyTorch's, so ``load_state_dict`` takes PyTorch's weights.

    Parameters
    ----------
    embed_dim : int
        :math:`E`.
    num_heads : int
        :math:`h`, which must divide :math:`E`.
    dropout : float, default 0.0
        Dropout on the attention weights, in training mode.
    bias : bool, default True
        Biases in the input and output projections.
    add_bias_kv : bool, default False
        Append a learned key and value to every sequence.
    add_zero_attn : bool, default False
        Append a zero key and value (after the projections) to every sequence.
    kdim, vdim : int, optional
        Feature sizes of ``key`` and ``value`` (default ``embed_dim``).
    batch_first : bool, default False
        Inputs are (N, T, E) instead of (T, N, E).
    device, dtype : optional
        Where and how the parameters are created.

    Raises
    ------
    ValueError
        If a size is not a positive int, ``num_heads`` does not divide ``embed_dim``,
        or ``dropout`` is outside :math:`[0, 1]`.

    References
    ----------
    .. [1] A. Vaswani et al., "Attention is all you need", NeurIPS 2017, section 3.2.2.

    Examples
    --------
    >>> torch.manual_seed(0) and None
    >>> mha = MultiheadAttention(4, 2, batch_first=True)
    >>> out, w = mha(torch.randn(1, 3, 4), torch.randn(1, 5, 4), torch.randn(1, 5, 4))
    >>> tuple(out.shape), tuple(w.shape)
    ((1, 3, 4), (1, 3, 5))
    """

    in_proj_weight: nn.Parameter | None
    q_proj_weight: nn.Parameter | None
    k_proj_weight: nn.Parameter | None
    v_proj_weight: nn.Parameter | None
    in_proj_bias: nn.Parameter | None
    bias_k: nn.Parameter | None
    bias_v: nn.Parameter | None

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        _check_positive_int("embed_dim", embed_dim)
        _check_positive_int("num_heads", num_heads)
        if embed_dim % num_heads != 0:
            raise ValueError(
                f"embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})"
            )
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout = _check_probability("dropout", dropout)
        self.kdim = embed_dim if kdim is None else _check_positive_int("kdim", kdim)
        self.vdim = embed_dim if vdim is None else _check_positive_int("vdim", vdim)
        self.batch_first = batch_first
        self.add_zero_attn = add_zero_attn
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = nn.Parameter(
                torch.empty(3 * embed_dim, embed_dim, device=device, dtype=dtype)
            )
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = nn.Parameter(
                torch.empty(embed_dim, embed_dim, device=device, dtype=dtype)
            )
            self.k_proj_weight = nn.Parameter(
                torch.empty(embed_dim, self.kdim, device=device, dtype=dtype)
            )
            self.v_proj_weight = nn.Parameter(
                torch.empty(embed_dim, self.vdim, device=device, dtype=dtype)
            )
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = nn.Parameter(torch.empty(3 * embed_dim, device=device, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        if add_bias_kv:
            self.bias_k = nn.Parameter(torch.empty(1, 1, embed_dim, device=device, dtype=dtype))
            self.bias_v = nn.Parameter(torch.empty(1, 1, embed_dim, device=device, dtype=dtype))
        else:
            self.bias_k = self.bias_v = None
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        # PyTorch's initialisation: Xavier-uniform projections, zero biases.
        for w in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight):
            if w is not None:
                nn.init.xavier_uniform_(w)
        if self.v_proj_weight is not None:
            nn.init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            nn.init.zeros_(self.in_proj_bias)
            nn.init.zeros_(self.out_proj.bias)
        if self.bias_k is not None and self.bias_v is not None:
            nn.init.xavier_normal_(self.bias_k)
            nn.init.xavier_normal_(self.bias_v)

    def _projection_weights(self) -> tuple[Tensor, Tensor, Tensor]:
        E = self.embed_dim
        if self.in_proj_weight is not None:
            w = self.in_proj_weight
            return w[:E], w[E : 2 * E], w[2 * E :]
        assert self.q_proj_weight is not None
        assert self.k_proj_weight is not None and self.v_proj_weight is not None
        return self.q_proj_weight, self.k_proj_weight, self.v_proj_weight

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        r"""Attend from ``query`` to ``key``/``value``, PyTorch's conventions throughout.

        Parameters
        ----------
        query : Tensor, shape (T_q, N, E), (N, T_q, E) if batch_first, or (T_q, E)
        key : Tensor, shape (T_k, N, kdim), (N, T_k, kdim), or (T_k, kdim)
        value : Tensor, shape (T_k, N, vdim), (N, T_k, vdim), or (T_k, vdim)
        key_padding_mask : Tensor, optional, shape (N, T_k) or (T_k,)
            ``True`` (bool) marks padding to ignore, the opposite of
            :func:`scaled_dot_product_attention`'s convention; a float mask is added.
        need_weights : bool, default True
            Also return the attention weights.
        attn_mask : Tensor, optional, shape (T_q, T_k) or (N h, T_q, T_k)
            ``True`` (bool) marks a pair that may *not* attend; a float mask is added.
        average_attn_weights : bool, default True
            Average the returned weights over the heads.
        is_causal : bool, default False
            With ``attn_mask`` a hint that it is causal (ignored, as PyTorch may); without
            it, apply :func:`causal_mask` (PyTorch requires ``attn_mask`` here).

        Returns
        -------
        output : Tensor, shape of ``query`` with E features
        weights : Tensor or None
            Shape (N, T_q, T_k) averaged, (N, h, T_q, T_k) otherwise (no N if unbatched).
        """
        for name, x in (("query", query), ("key", key), ("value", value)):
            _check_tensor(name, x)
            if x.ndim not in (2, 3):
                raise ValueError(
                    f"{name} must be 2-D (unbatched) or 3-D (batched), got {tuple(x.shape)}"
                )
        if not query.ndim == key.ndim == value.ndim:
            raise ValueError("query, key and value must all be batched or all unbatched")
        for name, x, size in (
            ("query", query, self.embed_dim),
            ("key", key, self.kdim),
            ("value", value, self.vdim),
        ):
            if x.shape[-1] != size:
                raise ValueError(f"{name} must have {size} features, got {tuple(x.shape)}")
        unbatched = query.ndim == 2
        if unbatched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif not self.batch_first:
            # (T, N, E) -> (N, T, E)
            query, key, value = (x.transpose(0, 1) for x in (query, key, value))
        N, T_q, E = query.shape
        if key.shape[:2] != value.shape[:2]:
            raise ValueError(
                f"key and value must have the same batch size and length, got "
                f"{tuple(key.shape)} and {tuple(value.shape)}"
            )
        if key.shape[0] != N:
            raise ValueError(f"key has batch size {key.shape[0]}, query {N}")
        h, d = self.num_heads, self.head_dim

        w_q, w_k, w_v = self._projection_weights()
        b = self.in_proj_bias
        b_q, b_k, b_v = (None, None, None) if b is None else (b[:E], b[E : 2 * E], b[2 * E :])
        q = F.linear(query, w_q, b_q)  # (N, T_q, E)
        k = F.linear(key, w_k, b_k)  # (N, T_k, E)
        v = F.linear(value, w_v, b_v)  # (N, T_k, E)

        # One additive mask of shape (N, h or 1, T_q, T_k) from PyTorch's two conventions.
        bias = self._merge_masks(attn_mask, key_padding_mask, N, T_q, key.shape[1], q.dtype)
        if is_causal and attn_mask is None:
            causal = torch.zeros(T_q, key.shape[1], dtype=q.dtype, device=q.device)
            causal = causal.masked_fill(~causal_mask(T_q, key.shape[1], device=q.device), -math.inf)
            bias = causal if bias is None else bias + causal

        if self.bias_k is not None and self.bias_v is not None:
            k = torch.cat([k, self.bias_k.expand(N, 1, E)], dim=1)  # (N, T_k + 1, E)
            v = torch.cat([v, self.bias_v.expand(N, 1, E)], dim=1)
            bias = None if bias is None else F.pad(bias, (0, 1))
        q, k, v = split_heads(q, h), split_heads(k, h), split_heads(v, h)  # (N, h, T, d)
        if self.add_zero_attn:
            k = torch.cat([k, k.new_zeros(N, h, 1, d)], dim=2)  # (N, h, T_k + 1, d)
            v = torch.cat([v, v.new_zeros(N, h, 1, d)], dim=2)
            bias = None if bias is None else F.pad(bias, (0, 1))

        p = self.dropout if self.training else 0.0
        out, weights = attention(q, k, v, bias, p)  # (N, h, T_q, d), (N, h, T_q, T_k)
        out = self.out_proj(merge_heads(out))  # (N, h, T_q, d) -> (N, T_q, E)

        if unbatched:
            out, weights = out.squeeze(0), weights.squeeze(0)
        elif not self.batch_first:
            out = out.transpose(0, 1)  # (N, T_q, E) -> (T_q, N, E)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = weights.mean(dim=-3)  # average over the heads
        return out, weights

    def _merge_masks(
        self,
        attn_mask: Tensor | None,
        key_padding_mask: Tensor | None,
        N: int,
        T_q: int,
        T_k: int,
        dtype: torch.dtype,
    ) -> Tensor | None:
        h = self.num_heads
        bias: Tensor | None = None
        if attn_mask is not None:
            _check_tensor("attn_mask", attn_mask, floating=False)
            if attn_mask.shape == (T_q, T_k):
                shaped = attn_mask.reshape(1, 1, T_q, T_k)
            elif attn_mask.shape == (N * h, T_q, T_k):
                shaped = attn_mask.reshape(N, h, T_q, T_k)  # (N h, T_q, T_k) -> (N, h, ...)
            else:
                raise ValueError(
                    f"attn_mask must have shape ({T_q}, {T_k}) or ({N * h}, {T_q}, {T_k}), "
                    f"got {tuple(attn_mask.shape)}"
                )
            bias = _additive(shaped, dtype, "attn_mask")
        if key_padding_mask is not None:
            _check_tensor("key_padding_mask", key_padding_mask, floating=False)
            if key_padding_mask.shape != (N, T_k):
                raise ValueError(
                    f"key_padding_mask must have shape ({N}, {T_k}), "
                    f"got {tuple(key_padding_mask.shape)}"
                )
            pad = _additive(key_padding_mask.reshape(N, 1, 1, T_k), dtype, "key_padding_mask")
            bias = pad if bias is None else bias + pad
        return bias


def _additive(mask: Tensor, dtype: torch.dtype, name: str) -> Tensor:
    """nn.MultiheadAttention's masks as an additive bias: True (bool) becomes -inf."""
    if mask.dtype == torch.bool:
        zeros = torch.zeros(mask.shape, dtype=dtype, device=mask.device)
        return zeros.masked_fill(mask, -math.inf)
    if not mask.is_floating_point():
        raise TypeError(f"{name} must be bool or floating, got {mask.dtype}")
    return mask.to(dtype)


# --------------------------------------------------------------------------------------
# Positional encodings
# --------------------------------------------------------------------------------------
def sinusoidal_encoding(
    T: int,
    d_model: int,
    *,
    base: float = 10000.0,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    r"""The sinusoidal positional encoding of Vaswani et al.

    .. math::

        P_{t, 2i} = \sin\bigl(t / \text{base}^{2i/d}\bigr), \qquad
        P_{t, 2i+1} = \cos\bigl(t / \text{base}^{2i/d}\bigr),

    for positions :math:`t = 0, \dots, T-1` and :math:`d` = ``d_model`` (even). Defined in
    Chapter 12, equation ``attention-sinusoid``.

    Parameters
    ----------
    T : int
        Number of positions.
    d_model : int
        Width of the encoding, even.
    base : float, default 10000.0
    dtype : torch.dtype, default torch.float32
    device : torch.device or str, optional

    Returns
    -------
    Tensor, shape (T, d_model)

    Raises
    ------
    ValueError
        If ``T`` is not a positive int or ``d_model`` is not a positive even int.

    References
    ----------
    .. [1] A. Vaswani et al., "Attention is all you need", NeurIPS 2017, section 3.5.

    Examples
    --------
    >>> sinusoidal_encoding(2, 2).tolist()
    [[0.0, 1.0], [0.8414709568023682, 0.5403022766113281]]
    """
    _check_positive_int("T", T)
    _check_positive_int("d_model", d_model)
    if d_model % 2:
        raise ValueError(f"d_model must be even, got {d_model}")
    t = torch.arange(T, dtype=torch.float64, device=device).unsqueeze(1)  # (T, 1)
    i = torch.arange(0, d_model, 2, dtype=torch.float64, device=device)  # (d/2,)
    angle = t / base ** (i / d_model)  # (T, d/2)
    P = torch.stack([angle.sin(), angle.cos()], dim=-1)  # (T, d/2, 2)
    return P.reshape(T, d_model).to(dtype)  # interleave: sin at 2i, cos at 2i + 1


class LearnedPositionalEncoding(nn.Module):
    r"""A learned vector per position, added to the token embeddings.

    .. math::

        \mathbf{x}_t \leftarrow \mathbf{x}_t + \mathbf{p}_t, \qquad
        \mathbf{p}_t \in \mathbb{R}^{d}, \; t < T_{\max},

    as in GPT-2 and BERT. Defined in Chapter 12 (positional encodings). The table is
    ``weight`` of shape (max_len, d_model), initialised from :math:`N(0, 0.02^2)`.

    Parameters
    ----------
    max_len : int
        :math:`T_{\max}`, the longest sequence.
    d_model : int

    Raises
    ------
    ValueError
        If a size is not a positive int, or (in ``forward``) the input is longer than
        ``max_len`` or has the wrong width.

    References
    ----------
    .. [1] J. Gehring, M. Auli, D. Grangier, D. Yarats, Y. N. Dauphin, "Convolutional
       sequence to sequence learning", ICML 2017.

    Examples
    --------
    >>> pe = LearnedPositionalEncoding(10, 4)
    >>> tuple(pe(torch.zeros(2, 3, 4)).shape)
    (2, 3, 4)
    """

    def __init__(
        self,
        max_len: int,
        d_model: int,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.max_len = _check_positive_int("max_len", max_len)
        self.d_model = _check_positive_int("d_model", d_model)
        self.weight = nn.Parameter(torch.empty(max_len, d_model, device=device, dtype=dtype))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x: Tensor) -> Tensor:
        """Add the encodings of positions 0..T-1 to ``x`` of shape (..., T, d_model)."""
        _check_tensor("x", x)
        if x.ndim < 2 or x.shape[-1] != self.d_model or x.shape[-2] > self.max_len:
            raise ValueError(
                f"x must have shape (..., T, {self.d_model}) with T <= {self.max_len}, "
                f"got {tuple(x.shape)}"
            )
        return x + self.weight[: x.shape[-2]]


def apply_rope(x: Tensor, positions: Tensor | None = None, *, base: float = 10000.0) -> Tensor:
    r"""Rotary positional embedding (RoPE): rotate each pair of features by its angle.

    Feature pair :math:`(x_{2i}, x_{2i+1})` at position :math:`m` is rotated by the angle
    :math:`m\,\theta_i` with :math:`\theta_i = \text{base}^{-2i/d}`:

    .. math::

        \begin{pmatrix} x'_{2i} \\ x'_{2i+1} \end{pmatrix} =
        \begin{pmatrix} \cos m\theta_i & -\sin m\theta_i \\
        \sin m\theta_i & \cos m\theta_i \end{pmatrix}
        \begin{pmatrix} x_{2i} \\ x_{2i+1} \end{pmatrix},

    so that :math:`\langle R_m \mathbf{q}, R_n \mathbf{k} \rangle` depends on the positions
    only through :math:`m - n`. Defined in Chapter 12, equation ``attention-rope``
    (adjacent pairs, as in Su et al.; some libraries pair feature :math:`i` with
    :math:`i + d/2` instead).

    Parameters
    ----------
    x : Tensor, shape (..., T, d)
        Queries or keys; :math:`d` even.
    positions : Tensor, optional, shape (T,)
        Position of each row (default :math:`0, \dots, T-1`); any real values.
    base : float, default 10000.0

    Returns
    -------
    Tensor, shape of x

    Raises
    ------
    ValueError
        If ``x`` has fewer than two axes, an odd last axis, or ``positions`` has the wrong
        shape.

    References
    ----------
    .. [1] J. Su, Y. Lu, S. Pan, A. Murtadha, B. Wen, Y. Liu, "RoFormer: enhanced
       transformer with rotary position embedding", arXiv:2104.09864, 2021; Neurocomputing
       568:127063, 2024.

    Examples
    --------
    >>> x = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    >>> [round(v, 4) for v in apply_rope(x)[1].tolist()]
    [0.5403, 0.8415]
    """
    _check_tensor("x", x)
    if x.ndim < 2 or x.shape[-1] % 2:
        raise ValueError(f"x must have shape (..., T, d) with d even, got {tuple(x.shape)}")
    T, d = x.shape[-2], x.shape[-1]
    if positions is None:
        positions = torch.arange(T, device=x.device)
    _check_tensor("positions", positions, floating=False)
    if positions.shape != (T,):
        raise ValueError(f"positions must have shape ({T},), got {tuple(positions.shape)}")
    i = torch.arange(0, d, 2, dtype=torch.float64, device=x.device)  # (d/2,)
    theta = base ** (-i / d)  # (d/2,)
    angle = positions.to(torch.float64).unsqueeze(-1) * theta  # (T, d/2)
    cos, sin = angle.cos().to(x.dtype), angle.sin().to(x.dtype)
    pairs = x.reshape(*x.shape[:-1], d // 2, 2)  # (..., T, d) -> (..., T, d/2, 2)
    even, odd = pairs[..., 0], pairs[..., 1]  # (..., T, d/2) each
    rotated = torch.stack([even * cos - odd * sin, even * sin + odd * cos], dim=-1)
    return rotated.reshape(x.shape)  # (..., T, d/2, 2) -> (..., T, d)


# --------------------------------------------------------------------------------------
# The encoder block
# --------------------------------------------------------------------------------------
_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {"relu": F.relu, "gelu": F.gelu}


class TransformerEncoderLayer(nn.Module):
    r"""A transformer encoder block, post-LN or pre-LN, as ``nn.TransformerEncoderLayer``.

    Post-LN (Vaswani et al., ``norm_first=False``) normalises after each residual sum;
    pre-LN (as in GPT-2, ``norm_first=True``) normalises the input of each sub-layer and
    leaves the residual path untouched:

    .. math::

        \text{post-LN:}\quad & \mathbf{h} = \operatorname{LN}(\mathbf{x} +
        \operatorname{MHA}(\mathbf{x})), \quad
        \mathbf{y} = \operatorname{LN}(\mathbf{h} + \operatorname{FFN}(\mathbf{h})), \\
        \text{pre-LN:}\quad & \mathbf{h} = \mathbf{x} +
        \operatorname{MHA}(\operatorname{LN}(\mathbf{x})), \quad
        \mathbf{y} = \mathbf{h} + \operatorname{FFN}(\operatorname{LN}(\mathbf{h})),

    with :math:`\operatorname{FFN}(\mathbf{h}) = W_2\,\sigma(W_1 \mathbf{h} + b_1) + b_2`.
    Defined in Chapter 12, equations ``attention-postln`` and ``attention-preln``. The
    sub-modules (``self_attn``, ``linear1``, ``linear2``, ``norm1``, ``norm2``) have
    PyTorch's names and shapes, so ``load_state_dict`` takes its weights; the layer norms
    are computed by :func:`dlbook.layers.layer_norm` and the dropouts by
    :func:`dlbook.layers.dropout`.

    Parameters
    ----------
    d_model : int
    nhead : int
    dim_feedforward : int, default 2048
    dropout : float, default 0.1
    activation : {"relu", "gelu"} or callable, default "relu"
    layer_norm_eps : float, default 1e-5
    batch_first : bool, default False
    norm_first : bool, default False
        Pre-LN if true.
    bias : bool, default True
        Biases in the linear layers and the layer norms.
    device, dtype : optional

    Raises
    ------
    ValueError
        If ``activation`` is an unknown name, or as :class:`MultiheadAttention`.

    References
    ----------
    .. [1] A. Vaswani et al., "Attention is all you need", NeurIPS 2017, section 3.1.
    .. [2] R. Xiong et al., "On layer normalization in the transformer architecture",
       ICML 2020.

    Examples
    --------
    >>> layer = TransformerEncoderLayer(8, 2, 16, batch_first=True).eval()
    >>> tuple(layer(torch.randn(3, 5, 8)).shape)
    (3, 5, 8)
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        _check_positive_int("dim_feedforward", dim_feedforward)
        self.dropout_p = _check_probability("dropout", dropout)
        if isinstance(activation, str):
            if activation not in _ACTIVATIONS:
                raise ValueError(
                    f"activation must be 'relu', 'gelu' or a callable, got {activation!r}"
                )
            activation = _ACTIVATIONS[activation]
        elif not callable(activation):
            raise TypeError(f"activation must be a str or a callable, got {activation!r}")
        self.activation = activation
        self.norm_first = norm_first
        self.batch_first = batch_first
        self.eps = layer_norm_eps
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout, bias=bias, batch_first=True, device=device, dtype=dtype
        )
        kw = {"bias": bias, "device": device, "dtype": dtype}
        self.linear1 = nn.Linear(d_model, dim_feedforward, **kw)  # type: ignore[arg-type]
        self.linear2 = nn.Linear(dim_feedforward, d_model, **kw)  # type: ignore[arg-type]
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps, **kw)  # type: ignore[arg-type]
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps, **kw)  # type: ignore[arg-type]

    def _norm(self, norm: nn.LayerNorm, x: Tensor) -> Tensor:
        beta = norm.bias if norm.bias is not None else torch.zeros_like(norm.weight)
        return layers.layer_norm(x, norm.weight, beta, eps=self.eps)

    def _drop(self, x: Tensor) -> Tensor:
        return layers.dropout(x, self.dropout_p, training=self.training)

    def _sa(self, x: Tensor, mask: Tensor | None, pad: Tensor | None, causal: bool) -> Tensor:
        out, _ = self.self_attn(
            x, x, x, key_padding_mask=pad, attn_mask=mask, need_weights=False, is_causal=causal
        )
        return self._drop(out)

    def _ff(self, x: Tensor) -> Tensor:
        hidden = self._drop(self.activation(self.linear1(x)))  # (N, T, d_ff)
        return self._drop(self.linear2(hidden))

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        r"""Apply the block to ``src`` of shape (T, N, E), (N, T, E) if batch_first, or (T, E).

        ``src_mask`` and ``src_key_padding_mask`` follow :class:`MultiheadAttention`'s
        conventions (``True`` = may not attend); ``is_causal`` without ``src_mask`` applies
        the causal mask.
        """
        _check_tensor("src", src)
        x = src.transpose(0, 1) if src.ndim == 3 and not self.batch_first else src  # (N, T, E)
        if self.norm_first:  # pre-LN, equation attention-preln
            x = x + self._sa(self._norm(self.norm1, x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff(self._norm(self.norm2, x))
        else:  # post-LN, equation attention-postln
            x = self._norm(self.norm1, x + self._sa(x, src_mask, src_key_padding_mask, is_causal))
            x = self._norm(self.norm2, x + self._ff(x))
        return x.transpose(0, 1) if src.ndim == 3 and not self.batch_first else x


# Every public function checks devices and numpy scalars the same way (dlbook._checks).
_checks.guard_module(globals(), __all__)
