r"""Convolution, pooling and small convolutional networks (Chapter 10).

A convolution is a matrix product with a structured matrix: a Toeplitz matrix in one
dimension, a doubly block-Toeplitz one in two (:func:`conv2d_toeplitz`, built with
Chapter 2's :func:`dlbook.linalg.toeplitz`). Computed, it is one dense product: copy every
receptive field into a column (:func:`unfold`, "im2col") and multiply by the flattened
kernels (:func:`conv2d`, :func:`conv1d`). Both functions and the pooling layers
(:func:`max_pool2d`, :func:`avg_pool2d`) have exactly the signatures and defaults of
their ``torch.nn.functional`` counterparts. :func:`conv_output_size` and
:func:`receptive_field` do the size arithmetic; :class:`Conv2d` and :class:`MaxPool2d`
are modules with ``torch.nn``'s constructors and state dicts; :class:`DigitsCNN` is the
book's small network for the 8x8 digits and :class:`ResidualBlock` a block of He et al.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlbook import _checks
from dlbook.linalg import toeplitz

__all__ = [
    "LENET5_PAPER_PARAMETERS",
    "Conv2d",
    "DigitsCNN",
    "MaxPool2d",
    "ResidualBlock",
    "avg_pool2d",
    "conv1d",
    "conv2d",
    "conv2d_toeplitz",
    "conv_output_size",
    "count_parameters",
    "digits_cnn",
    "gaussian_kernel",
    "lenet5_parameter_counts",
    "max_pool2d",
    "random_shift",
    "receptive_field",
    "residual_block",
    "sobel_kernels",
    "unfold",
]

IntOrPair = int | Sequence[int]


# --------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------
def _ints(name: str, value: object, n: int, minimum: int) -> tuple[int, ...]:
    """``value`` (an int, or a sequence of 1 or ``n`` ints) as an ``n``-tuple, each >= minimum."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        items = tuple(value)
        if len(items) == 1:
            items = items * n
    else:
        items = (value,) * n
    if len(items) != n or any(
        isinstance(v, bool) or not isinstance(v, int) or v < minimum for v in items
    ):
        raise ValueError(
            f"`{name}` must be an int >= {minimum} or a sequence of {n} such ints, got {value!r}"
        )
    return tuple(int(v) for v in items)  # type: ignore[arg-type]


def _float_tensor(name: str, x: object, ndims: tuple[int, ...]) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"`{name}` must have a floating-point dtype, got {x.dtype}")
    if x.ndim not in ndims:
        expected = " or ".join(f"{d}-D" for d in ndims)
        raise ValueError(f"`{name}` must be {expected}, got shape {tuple(x.shape)}")
    return x


def _same_place(name: str, x: Tensor, like: Tensor) -> None:
    if x.device != like.device:
        raise ValueError(f"`{name}` is on {x.device} but `input` is on {like.device}")
    if x.dtype != like.dtype:
        raise ValueError(f"`{name}` has dtype {x.dtype} but `input` has {like.dtype}")


# --------------------------------------------------------------------------------------
# Size arithmetic
# --------------------------------------------------------------------------------------
def conv_output_size(
    size: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    r"""Length of a convolution's or pooling's output along one axis.

    .. math:: n_{\text{out}} = \left\lfloor \frac{n + 2q - \delta(k - 1) - 1}{s} \right\rfloor + 1

    (Chapter 10, output size). With ``ceil_mode`` the floor becomes a ceiling, except that
    a last window starting beyond the input and its left padding is dropped, as PyTorch's
    pooling does.

    Parameters
    ----------
    size, kernel_size, stride, padding, dilation : int
        :math:`n \ge 1`, :math:`k \ge 1`, :math:`s \ge 1`, :math:`q \ge 0`, :math:`\delta \ge 1`.
    ceil_mode : bool, default False

    Returns
    -------
    int

    Raises
    ------
    ValueError
        If an argument is not an int in its range or the window does not fit.

    Examples
    --------
    >>> conv_output_size(32, 5)  # LeNet-5's first layer: 32 -> 28
    28
    >>> conv_output_size(9, 3, stride=2, ceil_mode=True)
    4
    """
    (n,) = _ints("size", size, 1, 1)
    (k,) = _ints("kernel_size", kernel_size, 1, 1)
    (s,) = _ints("stride", stride, 1, 1)
    (p,) = _ints("padding", padding, 1, 0)
    (d,) = _ints("dilation", dilation, 1, 1)
    span = d * (k - 1) + 1
    if n + 2 * p < span:
        raise ValueError(
            f"the window (kernel_size {k}, dilation {d}: span {span}) is larger than the padded "
            f"input ({n} + 2 x {p})"
        )
    top = n + 2 * p - span + (s - 1 if ceil_mode else 0)
    out = top // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def receptive_field(layers: Sequence[tuple[int, int, int]]) -> list[tuple[int, int]]:
    r"""Receptive field and jump after each layer of a stack of convolutions or poolings.

    .. math::

        r_\ell = r_{\ell-1} + \delta_\ell (k_\ell - 1)\, S_{\ell-1},
        \qquad S_\ell = S_{\ell-1} s_\ell

    with :math:`r_0 = S_0 = 1` (Chapter 10, receptive fields): :math:`r_\ell` is how many
    input positions one output of layer :math:`\ell` sees, :math:`S_\ell` how far apart
    (in input positions) neighbouring outputs are.

    Parameters
    ----------
    layers : sequence of (kernel_size, stride, dilation)

    Returns
    -------
    list of (int, int)
        :math:`(r_\ell, S_\ell)` for :math:`\ell = 1, \dots, M`.

    Raises
    ------
    ValueError
        If a layer is not a triple of positive ints.

    Examples
    --------
    >>> receptive_field([(3, 1, 1), (3, 1, 1), (2, 2, 1), (3, 1, 1)])
    [(3, 1), (5, 1), (6, 2), (10, 2)]
    """
    r, j = 1, 1
    out: list[tuple[int, int]] = []
    for i, layer in enumerate(layers):
        if not isinstance(layer, Sequence) or len(layer) != 3:
            raise ValueError(f"layers[{i}] must be (kernel_size, stride, dilation), got {layer!r}")
        k, s, d = _ints(f"layers[{i}]", tuple(layer), 3, 1)
        r, j = r + d * (k - 1) * j, j * s
        out.append((r, j))
    return out


# --------------------------------------------------------------------------------------
# Convolution as a structured matrix
# --------------------------------------------------------------------------------------
def conv2d_toeplitz(kernel: Tensor, input_size: tuple[int, int]) -> Tensor:
    r"""The doubly block-Toeplitz matrix :math:`T` with :math:`T \mathrm{vec}(X) = \mathrm{vec}(Y)`.

    For a single-channel image :math:`X \in \mathbb{R}^{H\times W}` and kernel
    :math:`K \in \mathbb{R}^{k_h\times k_w}`, the "valid" cross-correlation that
    :func:`conv2d` computes is :math:`Y_{ab} = \sum_{u,v} K_{uv} X_{a+u,\,b+v}`. Flattening
    row by row, :math:`T` is an :math:`H_o \times H` grid of :math:`W_o \times W` blocks; block
    :math:`(a, i)` is :math:`B_{i-a}`, the Toeplitz matrix carrying row :math:`i - a` of
    :math:`K` on its diagonals (zero when :math:`i - a \notin [0, k_h)`), so :math:`T` is
    Toeplitz in its blocks and each block is Toeplitz (Chapter 10, eq. ``cnn-toeplitz``).

    Parameters
    ----------
    kernel : Tensor, shape (k_h, k_w)
    input_size : (int, int)
        :math:`(H, W)`, at least the kernel's size.

    Returns
    -------
    Tensor, shape (H_o W_o, H W)
        with :math:`H_o = H - k_h + 1`, :math:`W_o = W - k_w + 1`.

    Raises
    ------
    TypeError, ValueError
        If ``kernel`` is not a 2-D floating tensor or the image is smaller than it.

    Examples
    --------
    >>> T = conv2d_toeplitz(torch.tensor([[1.0, 2.0], [3.0, 4.0]]), (2, 3))
    >>> T.tolist()
    [[1.0, 2.0, 0.0, 3.0, 4.0, 0.0], [0.0, 1.0, 2.0, 0.0, 3.0, 4.0]]
    """
    kernel = _float_tensor("kernel", kernel, (2,))
    H, W = _ints("input_size", input_size, 2, 1)
    kh, kw = kernel.shape
    if kh > H or kw > W:
        raise ValueError(f"`input_size` {(H, W)} must be at least the kernel's {(kh, kw)}")
    Ho, Wo = H - kh + 1, W - kw + 1
    zeros = kernel.new_zeros
    # Block B_m (Wo, W): (B_m)[b, c] = K[m, c - b], first row K[m, :] then zeros.
    blocks = [
        toeplitz(torch.cat([kernel[m, :1], zeros(Wo - 1)]), torch.cat([kernel[m], zeros(W - kw)]))
        for m in range(kh)
    ]
    blocks.append(zeros(Wo, W))  # B_m = 0 for m outside [0, kh)
    stack = torch.stack(blocks)  # (kh + 1, Wo, W)
    # Which block sits at (a, i): m = i - a, itself a Toeplitz pattern; kh marks "zero".
    offset = toeplitz(
        -torch.arange(Ho, device=kernel.device), torch.arange(H, device=kernel.device)
    )  # (Ho, H), offset[a, i] = i - a
    m = torch.where((offset >= 0) & (offset < kh), offset, kh)
    grid = stack[m]  # (Ho, H, Wo, W)
    return grid.permute(0, 2, 1, 3).reshape(Ho * Wo, H * W)  # -> (Ho, Wo, H, W) -> (HoWo, HW)


# --------------------------------------------------------------------------------------
# im2col and convolution
# --------------------------------------------------------------------------------------
def _tap_slices(
    kernel: tuple[int, int],
    dilation: tuple[int, int],
    stride: tuple[int, int],
    out: tuple[int, int],
) -> list[tuple[slice, slice]]:
    """For each kernel tap (m, l), the rows and columns it reads: a s_h + m d_h, b s_w + l d_w."""
    (kh, kw), (dh, dw), (sh, sw), (Ho, Wo) = kernel, dilation, stride, out
    return [
        (
            slice(m * dh, m * dh + sh * (Ho - 1) + 1, sh),
            slice(l * dw, l * dw + sw * (Wo - 1) + 1, sw),
        )
        for m in range(kh)
        for l in range(kw)  # noqa: E741 (the kernel's column index, as in the maths)
    ]


class _Im2col(torch.autograd.Function):
    """Stack every tap's strided slice; the backward (col2im) adds them back in place."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        x: Tensor,
        slices: list[tuple[slice, slice]],
        dim: int,
    ) -> Tensor:
        ctx.slices, ctx.dim, ctx.shape = slices, dim, x.shape  # type: ignore[attr-defined]
        return torch.stack([x[:, :, rows, cols] for rows, cols in slices], dim=dim)

    @staticmethod
    def backward(
        ctx: torch.autograd.function.FunctionCtx, grad: Tensor
    ) -> tuple[Tensor, None, None]:
        slices, dim, shape = ctx.slices, ctx.dim, ctx.shape  # type: ignore[attr-defined]
        dx = grad.new_zeros(shape)
        for t, (rows, cols) in enumerate(slices):
            dx[:, :, rows, cols] += grad.select(dim, t)  # each input gets every tap it fed
        return dx, None, None


def _taps(
    x: Tensor,
    kernel: tuple[int, int],
    dilation: tuple[int, int],
    stride: tuple[int, int],
    out: tuple[int, int],
    dim: int = 2,
) -> Tensor:
    """Tap (m, l) of every window of a padded (N, C, H, W) tensor: (N, C, kh kw, Ho, Wo).

    One strided slice per kernel tap, stacked along ``dim``; the backward (col2im) adds the
    ``kh kw`` slices of the gradient back into one zero tensor.
    """
    slices = _tap_slices(kernel, dilation, stride, out)
    taps: Tensor = _Im2col.apply(x, slices, dim)  # type: ignore[no-untyped-call]
    return taps


def unfold(
    input: Tensor,  # noqa: A002 (torch's name)
    kernel_size: IntOrPair,
    dilation: IntOrPair = 1,
    padding: IntOrPair = 0,
    stride: IntOrPair = 1,
) -> Tensor:
    r"""im2col: every receptive field of the input as one column (like ``F.unfold``).

    .. math::

        \mathrm{cols}[n, (c, u, v), (a, b)] =
        X_{n, c,\ a s_h + u \delta_h - q_h,\ b s_w + v \delta_w - q_w}

    (zero outside the image; Chapter 10, im2col). Column :math:`(a, b)` holds the
    :math:`C k_h k_w` inputs that output :math:`(a, b)` of a convolution sees, so the
    convolution is one matrix product with the flattened kernels.

    Parameters
    ----------
    input : Tensor, shape (N, C, H, W) or (C, H, W)
    kernel_size, dilation, padding, stride : int or (int, int)

    Returns
    -------
    Tensor, shape (N, C k_h k_w, H_o W_o) (or without N)

    Raises
    ------
    TypeError, ValueError
        On a non-floating or wrongly shaped ``input`` or bad sizes.

    Examples
    --------
    >>> x = torch.arange(9.0).reshape(1, 1, 3, 3)
    >>> unfold(x, 2)[0].T.tolist()
    [[0.0, 1.0, 3.0, 4.0], [1.0, 2.0, 4.0, 5.0], [3.0, 4.0, 6.0, 7.0], [4.0, 5.0, 7.0, 8.0]]
    """
    x = _float_tensor("input", input, (3, 4))
    batched = x.ndim == 4
    x = x if batched else x.unsqueeze(0)  # (C, H, W) -> (1, C, H, W)
    k = _ints("kernel_size", kernel_size, 2, 1)
    d = _ints("dilation", dilation, 2, 1)
    p = _ints("padding", padding, 2, 0)
    s = _ints("stride", stride, 2, 1)
    Ho, Wo = (conv_output_size(x.shape[2 + a], k[a], s[a], p[a], d[a]) for a in range(2))
    if p != (0, 0):
        x = F.pad(x, (p[1], p[1], p[0], p[0]))
    N, C = x.shape[:2]
    taps = _taps(x, (k[0], k[1]), (d[0], d[1]), (s[0], s[1]), (Ho, Wo))  # (N, C, kh kw, Ho, Wo)
    cols = taps.reshape(N, C * k[0] * k[1], Ho * Wo)  # rows ordered (c, m, l) as weight's
    return cols if batched else cols[0]


def _same_padding(k: tuple[int, ...], d: tuple[int, ...]) -> tuple[int, ...]:
    """F.pad amounts (last axis first) for padding='same': d(k-1) in total, the odd one right."""
    pads: list[int] = []
    for kk, dd in zip(reversed(k), reversed(d), strict=True):
        total = dd * (kk - 1)
        pads += [total // 2, total - total // 2]
    return tuple(pads)


def conv2d(
    input: Tensor,  # noqa: A002 (torch's name)
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOrPair = 1,
    padding: IntOrPair | str = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
) -> Tensor:
    r"""2-D convolution (cross-correlation) by im2col and one batched matrix product.

    .. math::

        Y_{n,o,a,b} = b_o + \sum_{c \in \text{group}(o)} \sum_{u, v}
        W_{o,c,u,v}\, X_{n,c,\ a s_h + u \delta_h - q_h,\ b s_w + v \delta_w - q_w}

    (Chapter 10, eq. ``cnn-conv2d``), computed as :math:`Y = W_{\text{flat}}\,
    \mathrm{unfold}(X)` per group, with exactly the arguments of ``F.conv2d``.

    Parameters
    ----------
    input : Tensor, shape (N, C, H, W) or (C, H, W)
    weight : Tensor, shape (O, C / groups, k_h, k_w)
    bias : Tensor, shape (O,), optional
    stride, dilation : int or (int, int)
    padding : int, (int, int), "valid" or "same"
        "same" (stride 1 only) pads :math:`\delta(k-1)` in total per axis, the odd one on the
        right and bottom, as PyTorch does.
    groups : int
        Splits channels into ``groups`` independent convolutions; ``C`` and ``O`` must be
        divisible by it.

    Returns
    -------
    Tensor, shape (N, O, H_o, W_o) (or without N)

    Raises
    ------
    TypeError
        If a tensor is not floating-point.
    ValueError
        On wrong shapes, mismatched dtype or device, bad sizes, or "same" with stride > 1.

    References
    ----------
    K. Chellapilla, S. Puri and P. Simard, "High performance convolutional neural networks
    for document processing", 2006 (im2col).

    Examples
    --------
    >>> x = torch.arange(16.0).reshape(1, 1, 4, 4)
    >>> conv2d(x, torch.ones(1, 1, 2, 2), stride=2).tolist()
    [[[[10.0, 18.0], [42.0, 50.0]]]]
    """
    x = _float_tensor("input", input, (3, 4))
    weight = _float_tensor("weight", weight, (4,))
    _same_place("weight", weight, x)
    batched = x.ndim == 4
    x = x if batched else x.unsqueeze(0)  # (C, H, W) -> (1, C, H, W)
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"`groups` must be a positive int, got {groups!r}")
    N, C = x.shape[:2]
    O, Cg, kh, kw = weight.shape  # noqa: E741 (O out-channels, as the docstring)
    if Cg * groups != C or O % groups != 0:
        raise ValueError(
            f"`weight` of shape {tuple(weight.shape)} with groups={groups} needs "
            f"{Cg * groups} input channels and out channels divisible by {groups}; "
            f"`input` has {C} channels"
        )
    if bias is not None:
        bias = _float_tensor("bias", bias, (1,))
        _same_place("bias", bias, x)
        if bias.shape[0] != O:
            raise ValueError(f"`bias` must have shape ({O},), got {tuple(bias.shape)}")
    s = _ints("stride", stride, 2, 1)
    d = _ints("dilation", dilation, 2, 1)
    if isinstance(padding, str):
        if padding == "valid":
            p: tuple[int, ...] = (0, 0)
        elif padding == "same":
            if s != (1, 1):
                raise ValueError(f"padding='same' needs stride 1, got stride={stride!r}")
            x = F.pad(x, _same_padding((kh, kw), d))
            p = (0, 0)
        else:
            raise ValueError(
                f"`padding` must be an int, a pair, 'valid' or 'same', got {padding!r}"
            )
    else:
        p = _ints("padding", padding, 2, 0)
    Ho = conv_output_size(x.shape[2], kh, s[0], p[0], d[0])
    Wo = conv_output_size(x.shape[3], kw, s[1], p[1], d[1])
    if p != (0, 0):
        x = F.pad(x, (p[1], p[1], p[0], p[0]))
    # im2col with the batch inside the columns, so that each group is ONE matrix product:
    # (N, C, H, W) -> (C, N, H, W) -> taps (C, kh kw, N, Ho, Wo) -> (G, K, N L).
    G, K = groups, Cg * kh * kw
    taps = _taps(
        x.transpose(0, 1).contiguous(), (kh, kw), (d[0], d[1]), (s[0], s[1]), (Ho, Wo), dim=1
    )
    cols = taps.reshape(G, K, N * Ho * Wo)  # rows ordered (c, m, l) as weight's
    w = weight.reshape(G, O // G, K)  # (O, Cg, kh, kw) -> (G, O/G, K)
    out = torch.matmul(w, cols)  # (G, O/G, K) @ (G, K, N L) -> (G, O/G, N L)
    out = out.reshape(O, N, Ho, Wo).transpose(0, 1)  # -> (O, N, Ho, Wo) -> (N, O, Ho, Wo)
    out = out + bias.reshape(1, O, 1, 1) if bias is not None else out.contiguous()
    return out if batched else out[0]


def conv1d(
    input: Tensor,  # noqa: A002 (torch's name)
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOrPair = 1,
    padding: IntOrPair | str = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
) -> Tensor:
    r"""1-D convolution (cross-correlation), as ``F.conv1d``: :func:`conv2d` on a height-1 image.

    .. math::

        Y_{n,o,a} = b_o + \sum_{c \in \text{group}(o)} \sum_{u} W_{o,c,u}
        X_{n,c,\ a s + u \delta - q}

    (Chapter 10, eq. ``cnn-conv1d``). For one channel and no padding this is the product
    with the Toeplitz matrix of Chapter 2's :func:`dlbook.linalg.convolution_matrix` for the
    flipped kernel.

    Parameters
    ----------
    input : Tensor, shape (N, C, L) or (C, L)
    weight : Tensor, shape (O, C / groups, k)
    bias : Tensor, shape (O,), optional
    stride, padding, dilation, groups
        As for :func:`conv2d`, one value per axis (padding also "valid" or "same").

    Returns
    -------
    Tensor, shape (N, O, L_o) (or without N)

    Raises
    ------
    TypeError, ValueError
        As :func:`conv2d`.

    Examples
    --------
    >>> conv1d(torch.tensor([[1.0, 2.0, 4.0, 7.0]]), torch.tensor([[[-1.0, 1.0]]])).tolist()
    [[1.0, 2.0, 3.0]]
    """
    x = _float_tensor("input", input, (2, 3))
    weight = _float_tensor("weight", weight, (3,))
    (s,) = _ints("stride", stride, 1, 1)
    (d,) = _ints("dilation", dilation, 1, 1)
    pad = padding if isinstance(padding, str) else (0, _ints("padding", padding, 1, 0)[0])
    # (N, C, L) -> (N, C, 1, L); (O, Cg, k) -> (O, Cg, 1, k)
    out = conv2d(x.unsqueeze(-2), weight.unsqueeze(-2), bias, (1, s), pad, (1, d), groups)
    return out.squeeze(-2)  # (N, O, 1, Lo) -> (N, O, Lo)


# --------------------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------------------
def _pool_args(
    input: Tensor,  # noqa: A002 (torch's name)
    kernel_size: IntOrPair,
    stride: IntOrPair | None,
    padding: IntOrPair,
    dilation: IntOrPair,
    ceil_mode: bool,
) -> tuple[
    Tensor, tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]
]:
    x = _float_tensor("input", input, (3, 4))
    x = x if x.ndim == 4 else x.unsqueeze(0)  # (C, H, W) -> (1, C, H, W)
    k = _ints("kernel_size", kernel_size, 2, 1)
    no_stride = stride is None or (isinstance(stride, Sequence) and len(stride) == 0)
    s = k if no_stride else _ints("stride", stride, 2, 1)
    p = _ints("padding", padding, 2, 0)
    d = _ints("dilation", dilation, 2, 1)
    for axis in range(2):
        limit = k[axis] // 2  # PyTorch's limit, dilated or not
        if p[axis] > limit:
            raise ValueError(
                f"`padding` {p} must be at most half the kernel size {k}, got {p[axis]} > {limit}"
            )
    out = tuple(
        conv_output_size(x.shape[2 + a], k[a], s[a], p[a], d[a], bool(ceil_mode)) for a in range(2)
    )
    return x, k, s, p, d, (out[0], out[1])  # type: ignore[return-value]


def _pool_pad(
    x: Tensor,
    k: tuple[int, int],
    s: tuple[int, int],
    p: tuple[int, int],
    d: tuple[int, int],
    out: tuple[int, int],
    value: float,
) -> Tensor:
    """Pad left/top by p and right/bottom by as much as the last (ceil-mode) window needs."""
    extra = [
        max(0, (out[a] - 1) * s[a] + d[a] * (k[a] - 1) + 1 - x.shape[2 + a] - p[a])
        for a in range(2)
    ]
    return F.pad(x, (p[1], extra[1], p[0], extra[0]), value=value)


def max_pool2d(
    input: Tensor,  # noqa: A002 (torch's name)
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    r"""2-D max pooling with the arguments of ``F.max_pool2d``.

    .. math::

        Y_{n,c,a,b} = \max_{u < k_h,\ v < k_w}
        X_{n,c,\ a s_h + u \delta_h - q_h,\ b s_w + v \delta_w - q_w}

    (Chapter 10, pooling; padding counts as :math:`-\infty`). The gradient flows to the
    maximum of each window only (the first one, on ties).

    Parameters
    ----------
    input : Tensor, shape (N, C, H, W) or (C, H, W)
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Default ``kernel_size``.
    padding : int or (int, int)
        At most half the kernel size.
    dilation : int or (int, int)
    ceil_mode : bool
        Round the output size up (see :func:`conv_output_size`).
    return_indices : bool
        Also return, for each output, the flat index :math:`h W + w` of its maximum.

    Returns
    -------
    Tensor, shape (N, C, H_o, W_o) (or without N); with ``return_indices`` also an int64
    tensor of the same shape.

    Raises
    ------
    TypeError, ValueError
        On a non-floating or wrongly shaped ``input``, or bad sizes.

    Examples
    --------
    >>> max_pool2d(torch.arange(16.0).reshape(1, 4, 4), 2).tolist()
    [[[5.0, 7.0], [13.0, 15.0]]]
    """
    x, k, s, p, d, out = _pool_args(input, kernel_size, stride, padding, dilation, ceil_mode)
    W = x.shape[3]
    padded = _pool_pad(x, k, s, p, d, out, -math.inf)
    taps = _taps(padded, k, d, s, out)  # (N, C, kh kw, Ho, Wo)
    values, where = taps.max(dim=2)  # the first maximum over the taps
    if input.ndim == 3:
        values = values[0]
    if not return_indices:
        return values
    dev = x.device
    # Input coordinates of the winning tap: h = a s_h + m d_h - p_h, w likewise.
    m, ell = where // k[1], where % k[1]
    a = torch.arange(out[0], device=dev).reshape(-1, 1)  # (Ho, 1)
    b = torch.arange(out[1], device=dev).reshape(1, -1)  # (1, Wo)
    h = a * s[0] + m * d[0] - p[0]
    w = b * s[1] + ell * d[1] - p[1]
    indices = h * W + w
    return values, (indices if input.ndim == 4 else indices[0])


def avg_pool2d(
    input: Tensor,  # noqa: A002 (torch's name)
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    r"""2-D average pooling with the arguments of ``F.avg_pool2d``.

    .. math::

        Y_{n,c,a,b} = \frac{1}{D_{ab}} \sum_{u < k_h,\ v < k_w}
        X_{n,c,\ a s_h + u - q_h,\ b s_w + v - q_w}

    (Chapter 10, pooling; zero outside the image). The divisor :math:`D_{ab}` is, as in
    PyTorch, the window's area clipped to the padded image (``count_include_pad=True``), or
    clipped to the image itself (``False``), or ``divisor_override`` when given.

    Parameters
    ----------
    input : Tensor, shape (N, C, H, W) or (C, H, W)
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Default ``kernel_size``.
    padding : int or (int, int)
        At most half the kernel.
    ceil_mode, count_include_pad : bool
    divisor_override : int, optional
        A non-zero int that replaces the divisor.

    Returns
    -------
    Tensor, shape (N, C, H_o, W_o) (or without N)

    Raises
    ------
    TypeError, ValueError
        On a non-floating or wrongly shaped ``input``, bad sizes, or a zero divisor.

    Examples
    --------
    >>> avg_pool2d(torch.arange(16.0).reshape(1, 4, 4), 2).tolist()
    [[[2.5, 4.5], [10.5, 12.5]]]
    """
    x, k, s, p, d, out = _pool_args(input, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and (
        isinstance(divisor_override, bool)
        or not isinstance(divisor_override, int)
        or divisor_override == 0
    ):
        raise ValueError(f"`divisor_override` must be a non-zero int, got {divisor_override!r}")
    H, W = x.shape[2:]
    padded = _pool_pad(x, k, s, p, d, out, 0.0)
    total = _taps(padded, k, d, s, out).sum(dim=2)  # (N, C, kh kw, Ho, Wo) -> (N, C, Ho, Wo)
    if divisor_override is not None:
        result = total / divisor_override
    else:
        sizes = []
        for axis, n in ((0, H), (1, W)):
            start = torch.arange(out[axis], device=x.device) * s[axis] - p[axis]
            end = torch.clamp(start + k[axis], max=n + p[axis])
            if not count_include_pad:
                start, end = start.clamp(min=0), end.clamp(max=n)
            sizes.append(end - start)
        divisor = sizes[0].reshape(-1, 1) * sizes[1].reshape(1, -1)  # (Ho, Wo)
        result = total / divisor.to(total.dtype)
    return result if input.ndim == 4 else result[0]


# --------------------------------------------------------------------------------------
# Classic filters
# --------------------------------------------------------------------------------------
def sobel_kernels(
    *, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None
) -> Tensor:
    r"""The two Sobel kernels, horizontal then vertical derivative, as conv2d weights.

    .. math::

        K_x = \begin{pmatrix} -1 & 0 & 1 \\ -2 & 0 & 2 \\ -1 & 0 & 1 \end{pmatrix},
        \qquad K_y = K_x^\top

    (Chapter 10, filters): a derivative across one axis smoothed by :math:`(1, 2, 1)`
    along the other.

    Returns
    -------
    Tensor, shape (2, 1, 3, 3)

    Examples
    --------
    >>> sobel_kernels()[0, 0].tolist()
    [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]
    """
    smooth = torch.tensor([1.0, 2.0, 1.0], dtype=dtype, device=device)
    diff = torch.tensor([-1.0, 0.0, 1.0], dtype=dtype, device=device)
    kx = torch.outer(smooth, diff)  # (3, 3): rows smooth, columns differentiate
    return torch.stack([kx, kx.T]).unsqueeze(1)  # (2, 3, 3) -> (2, 1, 3, 3)


def gaussian_kernel(
    size: int,
    sigma: float,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    r"""A normalised 2-D Gaussian blur kernel.

    .. math::

        K_{uv} \propto \exp\!\Big(-\frac{(u - c)^2 + (v - c)^2}{2\sigma^2}\Big),
        \quad c = \frac{k - 1}{2}, \quad \sum_{u,v} K_{uv} = 1

    (Chapter 10, filters).

    Parameters
    ----------
    size : int
        Odd side length :math:`k`.
    sigma : float
        Standard deviation in pixels, positive.

    Returns
    -------
    Tensor, shape (size, size)

    Raises
    ------
    ValueError
        If ``size`` is not a positive odd int or ``sigma`` is not positive.

    Examples
    --------
    >>> round(gaussian_kernel(5, 1.0).sum().item(), 6)
    1.0
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1 or size % 2 == 0:
        raise ValueError(f"`size` must be a positive odd int, got {size!r}")
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not sigma > 0:
        raise ValueError(f"`sigma` must be a positive number, got {sigma!r}")
    t = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g = g / g.sum()
    return torch.outer(g, g)  # separable: K = g g^T


def random_shift(images: Tensor, max_shift: int, generator: torch.Generator) -> Tensor:
    r"""Translate each image by a random whole number of pixels, filling with zeros.

    .. math:: \tilde X_{n,c,i,j} = X_{n,c,\ i - \delta^{(n)}_1,\ j - \delta^{(n)}_2},
        \qquad \delta^{(n)} \sim \mathcal{U}\{-s, \dots, s\}^2

    (Chapter 10, data augmentation): the label of a digit does not change when it moves by
    a pixel, so shifted copies are free extra training data.

    Parameters
    ----------
    images : Tensor, shape (N, C, H, W)
    max_shift : int
        :math:`s \ge 0`.
    generator : torch.Generator
        Source of the shifts (on the CPU); the result is on the images' device.

    Returns
    -------
    Tensor, shape (N, C, H, W)

    Raises
    ------
    TypeError, ValueError
        If ``images`` is not a 4-D floating tensor or ``max_shift`` is not an int >= 0.

    Examples
    --------
    >>> x = torch.ones(3, 1, 4, 4)
    >>> random_shift(x, 0, torch.Generator().manual_seed(0)).equal(x)
    True
    """
    x = _float_tensor("images", images, (4,))
    (s,) = _ints("max_shift", max_shift, 1, 0)
    N, _, H, W = x.shape
    shifts = torch.randint(0, 2 * s + 1, (2, N), generator=generator).to(x.device)
    padded = F.pad(x, (s, s, s, s))  # (N, C, H + 2s, W + 2s)
    out = torch.empty_like(x)
    for dy in range(2 * s + 1):
        for dx in range(2 * s + 1):
            chosen = (shifts[0] == dy) & (shifts[1] == dx)  # (N,)
            out[chosen] = padded[chosen, :, dy : dy + H, dx : dx + W]
    return out


# --------------------------------------------------------------------------------------
# Modules
# --------------------------------------------------------------------------------------
class Conv2d(nn.Module):
    r"""A 2-D convolution layer computed by :func:`conv2d`, with ``nn.Conv2d``'s interface.

    Same constructor arguments, parameter names and shapes (``weight`` of shape
    (O, C / groups, k_h, k_w), ``bias`` of shape (O,)) and initialisation as
    ``nn.Conv2d``, so a state dict moves between the two. Only ``padding_mode="zeros"``
    is supported.

    Examples
    --------
    >>> conv = Conv2d(1, 4, 3, padding=1)
    >>> conv.load_state_dict(nn.Conv2d(1, 4, 3, padding=1).state_dict())
    <All keys matched successfully>
    >>> tuple(conv(torch.zeros(2, 1, 8, 8)).shape)
    (2, 4, 8, 8)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrPair,
        stride: IntOrPair = 1,
        padding: IntOrPair | str = 0,
        dilation: IntOrPair = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if padding_mode != "zeros":
            raise ValueError(f"only padding_mode='zeros' is supported, got {padding_mode!r}")
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive int, got {value!r}")
        if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
            raise ValueError(f"`groups` must be a positive int, got {groups!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"`in_channels` ({in_channels}) and `out_channels` ({out_channels}) must be "
                f"divisible by `groups` ({groups})"
            )
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _ints("kernel_size", kernel_size, 2, 1)
        self.stride = _ints("stride", stride, 2, 1)
        self.dilation = _ints("dilation", dilation, 2, 1)
        self.padding: tuple[int, ...] | str = (
            padding if isinstance(padding, str) else _ints("padding", padding, 2, 0)
        )
        kw = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(
            torch.empty(out_channels, in_channels // groups, *self.kernel_size, **kw)  # type: ignore[arg-type]
        )
        self.bias = nn.Parameter(torch.empty(out_channels, **kw)) if bias else None  # type: ignore[arg-type]
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """``nn.Conv2d``'s initialisation: Kaiming-uniform (a = sqrt 5), bias U(+-1/sqrt fan_in)."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * self.weight.shape[2] * self.weight.shape[3]
            bound = 1 / math.sqrt(fan_in)
            nn.init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        """The constructor arguments, as ``nn.Conv2d`` prints them."""
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
            f"groups={self.groups}, bias={self.bias is not None}"
        )

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Apply :func:`conv2d` with this layer's weights."""
        return conv2d(
            input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )


class MaxPool2d(nn.Module):
    r"""Max pooling computed by :func:`max_pool2d`, with ``nn.MaxPool2d``'s constructor.

    Examples
    --------
    >>> tuple(MaxPool2d(2)(torch.zeros(1, 3, 8, 8)).shape)
    (1, 3, 4, 4)
    """

    def __init__(
        self,
        kernel_size: IntOrPair,
        stride: IntOrPair | None = None,
        padding: IntOrPair = 0,
        dilation: IntOrPair = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def extra_repr(self) -> str:
        """The constructor arguments."""
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )

    def forward(self, input: Tensor) -> Tensor | tuple[Tensor, Tensor]:  # noqa: A002
        """Apply :func:`max_pool2d`."""
        return max_pool2d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
        )


class DigitsCNN(nn.Module):
    r"""The book's small LeNet-style network for the 8x8 digits (Chapter 10).

    ``(N, 1, 8, 8) -> conv 3x3 (c1) -> ReLU -> max-pool 2 -> conv 3x3 (c2) -> ReLU ->
    max-pool 2 -> flatten (4 c2) -> linear -> (N, 10)``, both convolutions padded to keep
    their size; built from this module's :class:`Conv2d` and :class:`MaxPool2d`. With the
    defaults it has 21,386 parameters. Later chapters (e.g. adversarial examples) reuse it.

    Parameters
    ----------
    c1, c2 : int
        Channels of the two convolutions (default 32 and 64).
    num_classes : int
        Outputs (default 10).

    Examples
    --------
    >>> count_parameters(DigitsCNN())
    21386
    """

    def __init__(self, c1: int = 32, c2: int = 64, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            Conv2d(1, c1, 3, padding=1),
            nn.ReLU(),
            MaxPool2d(2),
            Conv2d(c1, c2, 3, padding=1),
            nn.ReLU(),
            MaxPool2d(2),
        )
        self.classifier = nn.Linear(4 * c2, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """Logits of shape (N, num_classes) for images of shape (N, 1, 8, 8)."""
        h = self.features(x)  # (N, c2, 2, 2)
        logits: Tensor = self.classifier(h.flatten(1))  # (N, c2, 2, 2) -> (N, 4 c2) -> (N, 10)
        return logits


def residual_block(
    x: Tensor,
    weight1: Tensor,
    bias1: Tensor,
    weight2: Tensor,
    bias2: Tensor,
    shortcut: bool = True,
) -> Tensor:
    r"""Forward pass of a residual block of two 3x3 convolutions ("same" size).

    .. math::

        \mathbf{h}_{\ell+1} = \mathrm{ReLU}\big(\mathbf{h}_\ell + \mathcal{F}(\mathbf{h}_\ell)\big),
        \qquad \mathcal{F}(\mathbf{h}) = W_2 * \mathrm{ReLU}(W_1 * \mathbf{h} + b_1) + b_2

    (Chapter 10, eq. ``cnn-residual``); without the shortcut,
    :math:`\mathrm{ReLU}(\mathcal{F}(\mathbf{h}_\ell))`.

    Parameters
    ----------
    x : Tensor, shape (N, C, H, W)
    weight1, weight2 : Tensor, shape (C, C, k, k) with k odd
    bias1, bias2 : Tensor, shape (C,)
    shortcut : bool, default True

    Returns
    -------
    Tensor, shape (N, C, H, W)

    Raises
    ------
    TypeError, ValueError
        On non-floating tensors or shapes that do not fit together.

    Examples
    --------
    >>> x = torch.rand(1, 2, 4, 4)
    >>> zero_w, zero_b = torch.zeros(2, 2, 3, 3), torch.zeros(2)
    >>> torch.equal(residual_block(x, zero_w, zero_b, zero_w, zero_b), x)
    True
    """
    x = _float_tensor("x", x, (4,))
    C = x.shape[1]
    for name, w in (("weight1", weight1), ("weight2", weight2)):
        w = _float_tensor(name, w, (4,))
        if w.shape[0] != C or w.shape[1] != C or w.shape[2] % 2 == 0 or w.shape[2] != w.shape[3]:
            raise ValueError(
                f"`{name}` must have shape ({C}, {C}, k, k) with k odd, got {tuple(w.shape)}"
            )
    for name, b in (("bias1", bias1), ("bias2", bias2)):
        b = _float_tensor(name, b, (1,))
        if b.shape[0] != C:
            raise ValueError(f"`{name}` must have shape ({C},), got {tuple(b.shape)}")
    f = F.conv2d(torch.relu(F.conv2d(x, weight1, bias1, padding="same")), weight2, bias2,
                 padding="same")  # fmt: skip
    out: Tensor = torch.relu(x + f if shortcut else f)
    return out


class ResidualBlock(nn.Module):
    r"""Two 3x3 convolutions with ReLU, with or without the identity shortcut.

    .. math::

        \mathbf{h}_{\ell+1} = \mathrm{ReLU}\big(\mathbf{h}_\ell
        + W_2 * \mathrm{ReLU}(W_1 * \mathbf{h}_\ell)\big)

    (He et al. 2016, Chapter 10, residual networks); with ``shortcut=False`` the
    :math:`\mathbf{h}_\ell +` is dropped and the block is a plain pair of layers of the
    same size. Padding keeps the spatial size, so the identity needs no projection.

    Parameters
    ----------
    channels : int
    shortcut : bool, default True

    References
    ----------
    K. He, X. Zhang, S. Ren and J. Sun, "Deep residual learning for image recognition",
    CVPR 2016.

    Examples
    --------
    >>> block = ResidualBlock(4)
    >>> tuple(block(torch.zeros(2, 4, 8, 8)).shape)
    (2, 4, 8, 8)
    """

    def __init__(self, channels: int, shortcut: bool = True) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.shortcut = shortcut

    def forward(self, x: Tensor) -> Tensor:
        """One block: ReLU(x + F(x)) with the shortcut, ReLU(F(x)) without."""
        c1, c2 = self.conv1, self.conv2
        assert c1.bias is not None and c2.bias is not None
        return residual_block(x, c1.weight, c1.bias, c2.weight, c2.bias, self.shortcut)


def digits_cnn(seed: int = 0, c1: int = 32, c2: int = 64) -> DigitsCNN:
    r"""A :class:`DigitsCNN` whose initial weights are drawn from ``seed``.

    The global random state is left as it was (the draw happens in a forked state).

    Examples
    --------
    >>> a, b = digits_cnn(3), digits_cnn(3)
    >>> all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"`seed` must be an int, got {type(seed).__name__}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return DigitsCNN(c1, c2)


# --------------------------------------------------------------------------------------
# Counting parameters
# --------------------------------------------------------------------------------------
def count_parameters(model: nn.Module) -> int:
    r"""Number of trainable scalars in ``model``: :math:`\sum_{\theta} \mathrm{numel}(\theta)`.

    Examples
    --------
    >>> count_parameters(nn.Conv2d(1, 6, 5))  # 6 x 25 weights + 6 biases
    156
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"`model` must be an nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


#: LeNet-5's trainable parameters per layer as printed in LeCun et al. (1998), section II.B.
LENET5_PAPER_PARAMETERS: dict[str, int] = {
    "C1": 156,
    "S2": 12,
    "C3": 1516,
    "S4": 32,
    "C5": 48120,
    "F6": 10164,
}

# Which of S2's six maps each of C3's sixteen maps reads (LeCun et al. 1998, Table I).
_C3_INPUTS: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)  # fmt: skip


def lenet5_parameter_counts() -> dict[str, int]:
    r"""LeNet-5's trainable parameters per layer, counted from its architecture.

    C1: 6 maps of 5x5 kernels on the 32x32 input, plus biases; S2 and S4: subsampling with
    one trainable coefficient and one bias per map; C3: 16 maps, each reading the subset of
    S2's maps in the paper's Table I with 5x5 kernels; C5: 120 units fully connected to
    S4's 16 5x5 maps; F6: 84 units on C5. The output RBF units have fixed weights.

    .. math:: \#\text{C3} = 25 \sum_{j=1}^{16} |\text{inputs}(j)| + 16

    Returns
    -------
    dict of str to int
        Keys C1, S2, C3, S4, C5, F6 (compare :data:`LENET5_PAPER_PARAMETERS`).

    References
    ----------
    Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based learning applied to
    document recognition", Proc. IEEE 86(11), 1998.

    Examples
    --------
    >>> sum(lenet5_parameter_counts().values())
    60000
    """
    k = 5 * 5
    return {
        "C1": count_parameters(nn.Conv2d(1, 6, 5)),
        "S2": 6 * 2,
        "C3": k * sum(len(inputs) for inputs in _C3_INPUTS) + len(_C3_INPUTS),
        "S4": 16 * 2,
        "C5": count_parameters(nn.Conv2d(16, 120, 5)),
        "F6": count_parameters(nn.Linear(120, 84)),
    }


# Every public function checks devices and numpy scalars the same way (dlbook._checks).
_checks.guard_module(globals(), __all__)
