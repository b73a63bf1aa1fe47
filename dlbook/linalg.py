r"""Linear algebra for deep learning: norms, structured matrices, the SVD and its uses.

Defined in Chapter 2 (Linear algebra). The module reads top to bottom in the chapter's
order: vector norms, structured matrices (Toeplitz, circulant, Givens, the DFT), matrix
norms, rank and conditioning, orthonormal bases, then the three workhorses built on the
singular value decomposition: the pseudo-inverse and least squares, ridge regression in
closed form, and principal component analysis.

Every function works on the device and (floating) dtype of its inputs.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from dlbook import _checks

__all__ = [
    "PCAResult",
    "PowerIterationResult",
    "choose_components",
    "circulant",
    "condition_number",
    "convolution_matrix",
    "dft_matrix",
    "givens",
    "gram_schmidt",
    "is_positive_definite",
    "least_squares",
    "lp_norm",
    "matrix_norm",
    "matrix_with_singular_values",
    "pca",
    "pca_transform",
    "pinv",
    "power_iteration",
    "projection_matrix",
    "random_orthogonal",
    "rank",
    "reconstruction_error",
    "ridge",
    "toeplitz",
    "unit_sphere",
]

MATRIX_NORMS = ("fro", "spectral", "nuclear", "1", "inf")


# --------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------
def _tensor(name: str, x: object, ndim: int | None = None, *, floating: bool = True) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor, got {type(x).__name__}")
    if floating and not (x.dtype.is_floating_point or x.dtype.is_complex):
        raise TypeError(f"`{name}` must have a floating-point dtype, got {x.dtype}")
    if ndim is not None and x.ndim != ndim:
        kind = {1: "a vector (1-D)", 2: "a matrix (2-D)"}.get(ndim, f"{ndim}-D")
        raise ValueError(f"`{name}` must be {kind}, got shape {tuple(x.shape)}")
    return x


def _square(name: str, A: object) -> Tensor:
    A = _tensor(name, A, 2)
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"`{name}` must be a square matrix, got shape {tuple(A.shape)}")
    return A


def _int(name: str, value: object, minimum: int) -> int:
    return _checks.positive_int(name, value, minimum)


def _nonneg(name: str, value: object) -> float:
    return _checks.non_negative(name, value)


def _finite(name: str, A: Tensor) -> Tensor:
    return _checks.finite_tensor(name, A)


# --------------------------------------------------------------------------------------
# Vector norms and their unit balls
# --------------------------------------------------------------------------------------
def lp_norm(x: Tensor, p: float) -> Tensor:
    r"""The :math:`L^p` norm of a vector (or of each row of a batch).

    .. math::

        \|\vx\|_p = \Big(\sum_i |x_i|^p\Big)^{1/p}, \qquad
        \|\vx\|_\infty = \max_i |x_i|, \qquad
        \|\vx\|_0 = \#\{i : x_i \ne 0\}.

    For :math:`0 < p < 1` the formula is only a *quasi*-norm (the triangle inequality
    fails), and :math:`\|\cdot\|_0` is no norm at all (it ignores scale); both are
    computed because sparsity is measured with them. Defined in Chapter 2 (Norms).

    Parameters
    ----------
    x : Tensor, shape (..., n)
        The vector(s); the norm is taken over the last axis.
    p : float
        ``0`` (count of nonzeros), any real ``p > 0``, or ``math.inf``.

    Returns
    -------
    Tensor, shape (...)
        The norms, in ``x``'s dtype and on its device.

    Raises
    ------
    TypeError
        If ``x`` is not a floating-point tensor or ``p`` is not a real number.
    ValueError
        If ``x`` is 0-D, or ``p`` is negative or NaN.

    Examples
    --------
    >>> x = torch.tensor([3.0, -4.0, 0.0])
    >>> [round(float(lp_norm(x, p)), 4) for p in (0, 0.5, 1, 2, math.inf)]
    [2.0, 13.9282, 7.0, 5.0, 4.0]
    """
    x = _tensor("x", x)
    if x.ndim == 0:
        raise ValueError("`x` must have at least one axis, got a 0-D tensor")
    p = _checks.number("p", p, minimum=0.0, finite=False, what=">= 0 (0 counts nonzeros)")
    a = x.abs()
    if p == 0:
        return (a != 0).sum(dim=-1).to(a.dtype)  # ||x||_0: how many entries are nonzero
    if math.isinf(p):
        return a.amax(dim=-1)
    return _scaled_norm(a, p, dim=-1)


def _scaled_norm(a: Tensor, p: float, dim: int | tuple[int, ...]) -> Tensor:
    """(sum a^p)^(1/p) of non-negative ``a`` over ``dim``, scaled by the largest entry first
    so that a^p neither overflows nor underflows; an infinite entry gives inf (not NaN)."""
    if a.numel() == 0:  # an empty sum is 0
        return a.sum(dim=dim)
    scale = a.amax(dim=dim, keepdim=True)
    safe = torch.where((scale > 0) & torch.isfinite(scale), scale, torch.ones_like(scale))
    out = safe * ((a / safe) ** p).sum(dim=dim, keepdim=True) ** (1.0 / p)
    out = torch.where(torch.isinf(scale), scale, out)  # any inf entry: the norm is inf
    out = torch.where(scale == 0, torch.zeros_like(out), out)
    return out.squeeze(dim) if isinstance(dim, int) else out.reshape(out.shape[: a.ndim - len(dim)])


def unit_sphere(p: float, num: int = 400, *, dtype: torch.dtype = torch.float64) -> Tensor:
    r"""Points on the 2-D unit sphere :math:`\{\vx \in \R^2 : \|\vx\|_p = 1\}`, for drawing.

    For finite :math:`p` the curve is the superellipse

    .. math::

        \vx(\phi) = \big(\operatorname{sign}(\cos\phi)\,|\cos\phi|^{2/p},\;
        \operatorname{sign}(\sin\phi)\,|\sin\phi|^{2/p}\big),
        \qquad |x_1|^p + |x_2|^p = \cos^2\phi + \sin^2\phi = 1,

    which spreads the points evenly even for the spiky :math:`p \ll 1`; for
    :math:`p = \infty` each direction :math:`\vu` is rescaled to
    :math:`\vu / \|\vu\|_\infty`. Defined in Chapter 2 (Norms).

    Parameters
    ----------
    p : float
        Any ``p > 0`` or ``math.inf`` (the :math:`L^0` "ball" is the two axes, not a curve).
    num : int, default 400
        Number of points; the curve is closed (first point = last point).
    dtype : torch.dtype, default torch.float64

    Returns
    -------
    Tensor, shape (num, 2)

    Raises
    ------
    ValueError
        If ``p <= 0`` or ``num < 3``.

    Examples
    --------
    >>> pts = unit_sphere(0.5, num=5)
    >>> pts.tolist()
    [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [1.0, 0.0]]
    """
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not p > 0:
        raise ValueError(f"`p` must be a number > 0 (the L0 ball is not a curve), got {p!r}")
    num = _int("num", num, 3)
    phi = torch.linspace(0.0, 2 * math.pi, num, dtype=dtype)
    u = torch.stack([phi.cos(), phi.sin()], dim=1)  # (num,) -> (num, 2)
    # cos(pi/2) is 6e-17, not 0, and 6e-17 ** 0.1 = 0.02 would bend the curve: snap it.
    u = torch.where(u.abs() < 1e-12, torch.zeros_like(u), u)
    if math.isinf(p):
        return u / lp_norm(u, p).unsqueeze(1)
    return u.sign() * u.abs() ** (2.0 / p)


# --------------------------------------------------------------------------------------
# Structured matrices
# --------------------------------------------------------------------------------------
def toeplitz(c: Tensor, r: Tensor | None = None) -> Tensor:
    r"""The Toeplitz matrix with first column ``c`` and first row ``r``.

    .. math:: T_{ij} = t_{i-j}, \qquad t_k = c_k \ (k \ge 0), \quad t_{-k} = r_k \ (k > 0).

    Every diagonal is constant. As in :func:`scipy.linalg.toeplitz`, ``r[0]`` is ignored
    (the diagonal is ``c[0]``) and ``r = None`` means ``r = c`` (a symmetric matrix for
    real ``c``). Defined in Chapter 2 (Structured matrices).

    Parameters
    ----------
    c : Tensor, shape (m,)
        First column.
    r : Tensor, shape (n,), optional
        First row (default ``c``).

    Returns
    -------
    Tensor, shape (m, n)

    Raises
    ------
    ValueError
        If ``c`` or ``r`` is not a non-empty vector, or they differ in dtype or device.

    Examples
    --------
    >>> toeplitz(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0.0, 4.0])).tolist()
    [[1.0, 4.0], [2.0, 1.0], [3.0, 2.0]]
    """
    c = _tensor("c", c, 1, floating=False)
    r = c if r is None else _tensor("r", r, 1, floating=False)
    if c.numel() == 0 or r.numel() == 0:
        raise ValueError(f"`c` and `r` must be non-empty, got lengths {c.numel()}, {r.numel()}")
    if r.dtype != c.dtype or r.device != c.device:
        raise ValueError(f"`r` must match `c` in dtype and device, got {r.dtype} vs {c.dtype}")
    m, n = c.numel(), r.numel()
    # t = (r_{n-1}, ..., r_1, c_0, ..., c_{m-1}); T_ij = t[(n - 1) + i - j].
    t = torch.cat([r[1:].flip(0), c])
    i = torch.arange(m, device=c.device).unsqueeze(1)  # (m, 1)
    j = torch.arange(n, device=c.device).unsqueeze(0)  # (1, n)
    return t[(n - 1) + i - j]


def circulant(c: Tensor) -> Tensor:
    r"""The circulant matrix whose first column is ``c``: each column is the last, rotated.

    .. math:: C_{ij} = c_{(i - j) \bmod n}.

    As :func:`scipy.linalg.circulant`. Multiplying by :math:`C` is *circular* convolution
    with ``c``, and the DFT diagonalises it (see :func:`dft_matrix`). Defined in Chapter 2
    (Structured matrices).

    Parameters
    ----------
    c : Tensor, shape (n,)

    Returns
    -------
    Tensor, shape (n, n)

    Raises
    ------
    ValueError
        If ``c`` is not a non-empty vector.

    Examples
    --------
    >>> circulant(torch.tensor([1.0, 2.0, 3.0])).tolist()
    [[1.0, 3.0, 2.0], [2.0, 1.0, 3.0], [3.0, 2.0, 1.0]]
    """
    c = _tensor("c", c, 1, floating=False)
    n = c.numel()
    if n == 0:
        raise ValueError("`c` must be non-empty, got length 0")
    i = torch.arange(n, device=c.device).unsqueeze(1)  # (n, 1)
    j = torch.arange(n, device=c.device).unsqueeze(0)  # (1, n)
    return c[(i - j) % n]


def convolution_matrix(kernel: Tensor, n: int, mode: str = "full") -> Tensor:
    r"""The Toeplitz matrix :math:`T` with :math:`T\vx = \vk * \vx` for every ``x`` of length ``n``.

    One-dimensional convolution :math:`(\vk * \vx)_i = \sum_j k_{i-j} x_j` is linear in
    :math:`\vx`, and :math:`T_{ij} = k_{i-j}` depends on :math:`i - j` only: a Toeplitz
    matrix with ``kernel`` (then zeros) down its first column. Modes follow
    :func:`numpy.convolve`: ``"full"`` gives :math:`n + n_k - 1` rows, ``"valid"``
    :math:`\max(n, n_k) - \min(n, n_k) + 1` (the rows where kernel and signal overlap fully),
    ``"same"`` the :math:`\max(n, n_k)` central rows of ``"full"``. Defined in Chapter 2
    (Structured matrices).

    Parameters
    ----------
    kernel : Tensor, shape (n_k,)
    n : int
        Length of the signal.
    mode : {"full", "valid", "same"}, default "full"

    Returns
    -------
    Tensor, shape (rows, n)

    Raises
    ------
    ValueError
        If ``kernel`` is not a non-empty vector, ``n < 1`` or ``mode`` is unknown.

    Examples
    --------
    >>> convolution_matrix(torch.tensor([1.0, -1.0]), 3).tolist()
    [[1.0, 0.0, 0.0], [-1.0, 1.0, 0.0], [0.0, -1.0, 1.0], [0.0, 0.0, -1.0]]
    """
    kernel = _tensor("kernel", kernel, 1, floating=False)
    n = _int("n", n, 1)
    size = kernel.numel()
    if size == 0:
        raise ValueError("`kernel` must be non-empty, got length 0")
    if mode not in ("full", "valid", "same"):
        raise ValueError(f"`mode` must be 'full', 'valid' or 'same', got {mode!r}")
    zeros = kernel.new_zeros
    column = torch.cat([kernel, zeros(n - 1)])  # k_0, ..., k_{n_k-1}, 0, ..., 0
    row = torch.cat([kernel[:1], zeros(n - 1)])  # nothing above the diagonal
    full = toeplitz(column, row)  # (n + n_k - 1, n)
    if mode == "full":
        return full
    lo, hi = min(n, size), max(n, size)
    if mode == "same":
        start = (lo - 1) // 2  # numpy keeps the central max(n, n_k) entries of "full"
        return full[start : start + hi]
    return full[lo - 1 : hi]


def givens(
    n: int,
    i: int,
    j: int,
    theta: float,
    *,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device | None = None,
) -> Tensor:
    r"""The Givens rotation by ``theta`` in the :math:`(i, j)` coordinate plane.

    .. math::

        G = I \text{ except } G_{ii} = G_{jj} = \cos\theta,\;
        G_{ij} = -\sin\theta,\; G_{ji} = \sin\theta.

    :math:`G` is orthogonal (:math:`G^\top G = I`, :math:`\det G = 1`) and changes only
    coordinates :math:`i` and :math:`j` of the vector it multiplies. Defined in Chapter 2
    (Structured matrices).

    Parameters
    ----------
    n : int
        Size of the matrix.
    i, j : int
        Distinct indices in ``[0, n)``.
    theta : float
        Angle in radians.
    dtype : torch.dtype, default torch.float64
    device : str or torch.device, optional

    Returns
    -------
    Tensor, shape (n, n)

    Raises
    ------
    ValueError
        If ``n < 2``, or ``i``, ``j`` are equal or out of range.

    Examples
    --------
    >>> givens(2, 0, 1, math.pi / 2).round().tolist()
    [[0.0, -1.0], [1.0, 0.0]]
    """
    n = _int("n", n, 2)
    for name, k in (("i", i), ("j", j)):
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < n:
            raise ValueError(f"`{name}` must be an int in [0, {n}), got {k!r}")
    if i == j:
        raise ValueError(f"`i` and `j` must differ, got i = j = {i}")
    G = torch.eye(n, dtype=dtype, device=device)
    c, s = math.cos(theta), math.sin(theta)
    G[i, i], G[j, j], G[i, j], G[j, i] = c, c, -s, s
    return G


def dft_matrix(
    n: int, *, dtype: torch.dtype = torch.complex128, device: str | torch.device | None = None
) -> Tensor:
    r"""The discrete Fourier transform matrix, :math:`F\vx = \mathrm{fft}(\vx)`.

    .. math:: F_{jk} = \omega^{jk}, \qquad \omega = e^{-2\pi \mathrm{i}/n}.

    :math:`F/\sqrt{n}` is unitary, and every circulant matrix is diagonalised by it:
    :math:`C = F^{-1} \operatorname{diag}(F\vc)\, F`. Defined in Chapter 2
    (Structured matrices).

    Parameters
    ----------
    n : int
    dtype : torch.dtype, default torch.complex128
    device : str or torch.device, optional

    Returns
    -------
    Tensor, shape (n, n), complex

    Raises
    ------
    TypeError
        If ``dtype`` is not complex.
    ValueError
        If ``n < 1``.

    Examples
    --------
    >>> x = torch.tensor([1.0, 2.0, 0.0, -1.0], dtype=torch.complex128)
    >>> bool(torch.allclose(dft_matrix(4) @ x, torch.fft.fft(x)))
    True
    """
    n = _int("n", n, 1)
    if not dtype.is_complex:
        raise TypeError(f"`dtype` must be complex, got {dtype}")
    k = torch.arange(n, device=device, dtype=torch.float64)
    # jk mod n keeps the angle small, so F stays accurate for large n.
    angle = (-2 * math.pi / n) * torch.remainder(torch.outer(k, k), n)  # (n, n)
    return torch.polar(torch.ones_like(angle), angle).to(dtype)


def random_orthogonal(
    n: int,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device | None = None,
) -> Tensor:
    r"""A random orthogonal matrix, uniformly (Haar) distributed.

    .. math::

        G = QR,\; G_{ij} \sim \mathcal{N}(0, 1), \qquad
        Q \leftarrow Q \operatorname{diag}(\operatorname{sign} R_{ii}).

    Fixing the signs of :math:`R`'s diagonal makes the QR factorisation unique, and then
    :math:`Q` is Haar distributed (Mezzadri, 2007). Defined in Chapter 2 (Orthogonal matrices).

    Parameters
    ----------
    n : int
    generator : torch.Generator, optional
        Source of randomness (on the CPU; the result is moved to ``device``).
    dtype : torch.dtype, default torch.float64
    device : str or torch.device, optional

    Returns
    -------
    Tensor, shape (n, n)

    Raises
    ------
    ValueError
        If ``n < 1``.

    References
    ----------
    F. Mezzadri, "How to generate random matrices from the classical compact groups",
    Notices of the AMS 54(5), 2007.

    Examples
    --------
    >>> Q = random_orthogonal(3, generator=torch.Generator().manual_seed(0))
    >>> bool(torch.allclose(Q.T @ Q, torch.eye(3, dtype=Q.dtype)))
    True
    """
    n = _int("n", n, 1)
    G = torch.randn(n, n, generator=generator, dtype=torch.float64)
    Q, R = torch.linalg.qr(G)
    sign = torch.where(R.diagonal() < 0, -1.0, 1.0).to(Q.dtype)
    out: Tensor = (Q * sign).to(dtype=dtype, device=device)  # scale column k by sign(R_kk)
    return out


def matrix_with_singular_values(
    s: Tensor, m: int | None = None, *, generator: torch.Generator | None = None
) -> Tensor:
    r"""A random ``(m, n)`` matrix :math:`U \operatorname{diag}(\vs) V^\top`: given singular values.

    :math:`U` and :math:`V` are random orthogonal (:func:`random_orthogonal`), so the
    condition number is exactly :math:`s_{\max}/s_{\min}`: the tool for experiments at a
    chosen conditioning. Defined in Chapter 2 (Condition number).

    Parameters
    ----------
    s : Tensor, shape (n,)
        Non-negative singular values.
    m : int, optional
        Number of rows, ``m >= n`` (default ``n``).
    generator : torch.Generator, optional

    Returns
    -------
    Tensor, shape (m, n), on ``s``'s device and dtype

    Raises
    ------
    ValueError
        If ``s`` is not a non-empty vector of non-negative values, or ``m < n``.

    Examples
    --------
    >>> s = torch.tensor([10.0, 1.0], dtype=torch.float64)
    >>> A = matrix_with_singular_values(s, generator=torch.Generator().manual_seed(0))
    >>> [round(float(v), 6) for v in torch.linalg.svdvals(A)]
    [10.0, 1.0]
    """
    s = _tensor("s", s, 1)
    n = s.numel()
    if n == 0 or bool((s < 0).any()):
        raise ValueError(f"`s` must be a non-empty vector of values >= 0, got {s.tolist()}")
    m = n if m is None else _int("m", m, n)
    U = random_orthogonal(m, generator=generator, dtype=s.dtype, device=s.device)[:, :n]
    V = random_orthogonal(n, generator=generator, dtype=s.dtype, device=s.device)
    return (U * s) @ V.T  # U diag(s) V^T: scale column k of U by s_k


# --------------------------------------------------------------------------------------
# Matrix norms, rank, conditioning
# --------------------------------------------------------------------------------------
def matrix_norm(A: Tensor, kind: str = "fro") -> Tensor:
    r"""A matrix norm: Frobenius, spectral, nuclear, max column sum or max row sum.

    .. math::

        \|A\|_F = \sqrt{\textstyle\sum_{ij} A_{ij}^2} = \sqrt{\operatorname{tr}(A^\top A)}
        = \|\boldsymbol\sigma\|_2, \quad
        \|A\|_2 = \sigma_1 = \|\boldsymbol\sigma\|_\infty, \quad
        \|A\|_* = \textstyle\sum_i \sigma_i = \|\boldsymbol\sigma\|_1,

    .. math::

        \|A\|_1 = \max_j \textstyle\sum_i |A_{ij}|, \qquad
        \|A\|_\infty = \max_i \textstyle\sum_j |A_{ij}|.

    The spectral, 1 and :math:`\infty` norms are induced by the vector norms of the same
    name (:math:`\|A\|_p = \max_{\vx \ne 0} \|A\vx\|_p / \|\vx\|_p`). Defined in Chapter 2
    (Matrix norms).

    Parameters
    ----------
    A : Tensor, shape (m, n)
    kind : {"fro", "spectral", "nuclear", "1", "inf"}, default "fro"

    Returns
    -------
    Tensor, shape ()

    Raises
    ------
    ValueError
        If ``A`` is not a matrix or ``kind`` is unknown.

    Examples
    --------
    >>> A = torch.tensor([[3.0, 0.0], [0.0, -4.0]])
    >>> [round(float(matrix_norm(A, k)), 4) for k in ("fro", "spectral", "nuclear", "1", "inf")]
    [5.0, 4.0, 7.0, 4.0, 4.0]
    """
    A = _tensor("A", A, 2)
    if kind not in MATRIX_NORMS:
        raise ValueError(f"`kind` must be one of {MATRIX_NORMS}, got {kind!r}")
    if kind == "fro":
        # scaled by the largest entry: no overflow where the true norm is finite (1e30 in float32)
        return _scaled_norm(A.abs().reshape(-1), 2.0, dim=-1)
    if A.numel() == 0:
        raise ValueError(f"`A` must be non-empty for the {kind!r} norm, got shape {tuple(A.shape)}")
    if kind in ("spectral", "nuclear"):
        _finite("A", A)  # the SVD of a matrix with inf/NaN entries is undefined
    if kind == "1":
        return A.abs().sum(dim=0).max()  # largest column sum
    if kind == "inf":
        return A.abs().sum(dim=1).max()  # largest row sum
    sigma = torch.linalg.svdvals(A)
    out: Tensor = sigma.max() if kind == "spectral" else sigma.sum()
    return out


def _default_rtol(A: Tensor) -> float:
    # The tolerance of numpy.linalg.matrix_rank and torch.linalg.pinv: max(m, n) * eps.
    return max(A.shape) * torch.finfo(A.real.dtype if A.is_complex() else A.dtype).eps


def rank(A: Tensor, rtol: float | None = None) -> int:
    r"""The numerical rank: the number of singular values above :math:`\text{rtol}\cdot\sigma_1`.

    .. math:: \operatorname{rank}(A) = \#\{i : \sigma_i > \text{rtol}\,\sigma_1\}.

    In exact arithmetic the rank is the number of nonzero singular values; in floating
    point, "zero" means "below the rounding noise of the largest one". Defined in
    Chapter 2 (Rank and span).

    Parameters
    ----------
    A : Tensor, shape (m, n)
    rtol : float, optional
        Relative tolerance (default :math:`\max(m, n)\,\varepsilon`, as NumPy).

    Returns
    -------
    int

    Raises
    ------
    ValueError
        If ``A`` is not a matrix or ``rtol`` is negative.

    Examples
    --------
    >>> rank(torch.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=torch.float64))
    1
    """
    A = _tensor("A", A, 2)
    tol = _default_rtol(A) if rtol is None else _nonneg("rtol", rtol)
    if A.numel() == 0:
        return 0
    _finite("A", A)
    sigma = torch.linalg.svdvals(A)
    return int((sigma > tol * sigma[0]).sum())


def condition_number(A: Tensor) -> float:
    r"""The 2-norm condition number :math:`\kappa(A) = \sigma_{\max} / \sigma_{\min}`.

    .. math::

        \kappa(A) = \|A\|_2 \, \|A^{-1}\|_2 = \frac{\sigma_1}{\sigma_n},
        \qquad
        \frac{\|\delta\vx\|}{\|\vx\|} \le \kappa(A)\, \frac{\|\delta\vb\|}{\|\vb\|}
        \text{ when } A(\vx + \delta\vx) = \vb + \delta\vb.

    It is the worst-case factor by which solving :math:`A\vx = \vb` amplifies a relative
    error in :math:`\vb`; ``inf`` for a singular matrix. Defined in Chapter 2
    (Condition number).

    Parameters
    ----------
    A : Tensor, shape (n, n)

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``A`` is not a non-empty square matrix.

    Examples
    --------
    >>> condition_number(torch.tensor([[100.0, 0.0], [0.0, 0.5]]))
    200.0
    """
    A = _square("A", A)
    if A.numel() == 0:
        raise ValueError("`A` must be non-empty, got shape (0, 0)")
    _finite("A", A)
    sigma = torch.linalg.svdvals(A)
    smallest = float(sigma[-1])
    # Singular up to rounding (sigma_n at the noise level of sigma_1): kappa is infinite,
    # not the 1e16 that dividing by the rounding error would give.
    eps = torch.finfo(sigma.dtype).eps
    if smallest <= A.shape[0] * eps * float(sigma[0]):
        return math.inf
    return float(sigma[0]) / smallest


def gram_schmidt(A: Tensor, rtol: float | None = None) -> Tensor:
    r"""An orthonormal basis of the column span of ``A`` (modified Gram-Schmidt).

    .. math::

        \vq_k = \frac{\vv_k}{\|\vv_k\|_2}, \qquad
        \vv_k = \Big(\prod_{i<k} (I - \vq_i \vq_i^\top)\Big) \va_k,

    skipping a column whose remainder :math:`\vv_k` is below
    :math:`\text{rtol}\cdot\max_j\|\va_j\|` (it already lies in the span of the earlier
    ones). The number of columns returned is the rank of ``A``. Subtracting projections
    one at a time from the running remainder ("modified") loses far less orthogonality to
    rounding than subtracting them all from :math:`\va_k`. Defined in Chapter 2
    (Rank and span).

    Parameters
    ----------
    A : Tensor, shape (m, n)
    rtol : float, optional
        Default :math:`\max(10^{-10}, 10 \max(m, n)\,\varepsilon)`: 1e-10 in float64, and
        large enough in float32 (whose rounding noise is about 1e-7) that a dependent
        column is skipped.

    Returns
    -------
    Tensor, shape (m, r)
        Orthonormal columns with :math:`\operatorname{span}(Q) = \operatorname{span}(A)`.

    Raises
    ------
    ValueError
        If ``A`` is not a real matrix or ``rtol`` is negative.

    Examples
    --------
    >>> A = torch.tensor([[1.0, 2.0, 1.0], [1.0, 2.0, 0.0]], dtype=torch.float64)
    >>> Q = gram_schmidt(A)
    >>> tuple(Q.shape), round(float(Q[:, 0] @ Q[:, 1]), 8)
    ((2, 2), 0.0)
    """
    A = _tensor("A", A, 2)
    if A.is_complex():
        raise ValueError(f"`A` must be real, got {A.dtype}")
    _finite("A", A)
    if rtol is None:
        rtol = max(1e-10, 10 * max(A.shape) * torch.finfo(A.dtype).eps)
    tol = _nonneg("rtol", rtol) * float(A.norm(dim=0).max()) if A.numel() else 0.0
    basis: list[Tensor] = []
    for k in range(A.shape[1]):
        v = A[:, k].clone()
        for q in basis:
            v = v - (q @ v) * q  # remove the component along q (modified Gram-Schmidt)
        norm = float(v.norm())
        if norm > tol and norm > 0:
            basis.append(v / norm)
    if not basis:
        return A.new_zeros(A.shape[0], 0)
    return torch.stack(basis, dim=1)  # r x (m,) -> (m, r)


def projection_matrix(A: Tensor, rtol: float | None = None) -> Tensor:
    r"""The orthogonal projection onto the column span of ``A``.

    .. math::

        P = A (A^\top A)^{-1} A^\top = Q Q^\top, \qquad P^2 = P = P^\top,

    where :math:`Q` holds an orthonormal basis of the span (the first formula needs
    independent columns; the second does not). Computed as :math:`U_r U_r^\top` from the
    SVD, keeping the :math:`r` singular values above :math:`\text{rtol}\cdot\sigma_1`, so it
    is well defined for rank-deficient ``A`` too. :math:`P\vb` is the point of the span
    closest to :math:`\vb`: the fitted values of least squares. Defined in Chapter 2
    (Orthogonal projections).

    Parameters
    ----------
    A : Tensor, shape (m, n)
    rtol : float, optional
        Relative tolerance for the rank (default :math:`\max(m, n)\,\varepsilon`).

    Returns
    -------
    Tensor, shape (m, m)

    Raises
    ------
    ValueError
        If ``A`` is not a non-empty finite matrix or ``rtol`` is negative.

    Examples
    --------
    >>> A = torch.tensor([[1.0], [1.0]], dtype=torch.float64)
    >>> projection_matrix(A).round(decimals=12).tolist()
    [[0.5, 0.5], [0.5, 0.5]]
    """
    A = _tensor("A", A, 2)
    if A.numel() == 0:
        raise ValueError(f"`A` must be non-empty, got shape {tuple(A.shape)}")
    _finite("A", A)
    tol = _default_rtol(A) if rtol is None else _nonneg("rtol", rtol)
    U, s, _ = torch.linalg.svd(A, full_matrices=False)  # U: (m, min(m, n))
    r = int((s > tol * s[0]).sum()) if float(s[0]) > 0 else 0
    Ur = U[:, :r]  # (m, r): an orthonormal basis of the span
    out: Tensor = Ur @ Ur.mH  # (m, r) @ (r, m) -> (m, m)
    return out


def is_positive_definite(A: Tensor, *, semi: bool = False) -> bool:
    r"""Whether a symmetric matrix is positive definite (or semi-definite), by Cholesky.

    .. math::

        A \succ 0 \iff \vx^\top A \vx > 0 \;\; \forall \vx \ne \mathbf{0}
        \iff \lambda_{\min}(A) > 0 \iff A = LL^\top \text{ with } L_{ii} > 0 .

    The test is the Cholesky factorisation: it succeeds exactly when every pivot is
    positive, which costs :math:`n^3/3` operations, a fraction of an eigendecomposition.
    With ``semi=True`` the question is :math:`A \succeq 0` (every eigenvalue
    :math:`\ge 0`), tested as :math:`A + \tau I \succ 0` with
    :math:`\tau = n\,\varepsilon\,\max(1, \max_i |A_{ii}|)`, so that a singular
    semi-definite matrix is not rejected for a rounding error. Defined in Chapter 2
    (Positive definite matrices).

    Parameters
    ----------
    A : Tensor, shape (n, n)
        Symmetric (up to rounding: :math:`\|A - A^\top\| \le 100\,n\,\varepsilon\,\|A\|`).
    semi : bool, default False
        Test for semi-definiteness instead.

    Returns
    -------
    bool

    Raises
    ------
    ValueError
        If ``A`` is not a non-empty, finite, real, symmetric square matrix.

    References
    ----------
    G. H. Golub and C. F. Van Loan, *Matrix Computations*, 4th ed., section 4.2, 2013.

    Examples
    --------
    >>> A = torch.tensor([[2.0, -1.0], [-1.0, 2.0]], dtype=torch.float64)
    >>> is_positive_definite(A), is_positive_definite(-A)
    (True, False)
    """
    A = _square("A", A)
    if A.numel() == 0:
        raise ValueError("`A` must be non-empty, got shape (0, 0)")
    if A.is_complex():
        raise ValueError(f"`A` must be real, got {A.dtype}")
    _finite("A", A)
    n = A.shape[0]
    eps = torch.finfo(A.dtype).eps
    scale = float(A.abs().max())
    if float((A - A.mT).abs().max()) > 100 * n * eps * max(scale, 1e-300):
        raise ValueError("`A` must be symmetric, got a matrix with A != A^T")
    if semi:
        tau = n * eps * max(1.0, float(A.diagonal().abs().max()))
        A = A + tau * torch.eye(n, dtype=A.dtype, device=A.device)
    _, info = torch.linalg.cholesky_ex(A)
    return int(info) == 0


class PowerIterationResult(NamedTuple):
    r"""What :func:`power_iteration` returns.

    Attributes
    ----------
    eigenvalue : Tensor, shape ()
        The last Rayleigh quotient :math:`\vq_t^\top A \vq_t`.
    eigenvector : Tensor, shape (n,)
        The last iterate :math:`\vq_t`, of unit length.
    estimates : Tensor, shape (steps,)
        The Rayleigh quotient after each step, to measure convergence.
    iterates : Tensor, shape (steps + 1, n)
        :math:`\vq_0, \dots, \vq_t`, the start included.
    """

    eigenvalue: Tensor
    eigenvector: Tensor
    estimates: Tensor
    iterates: Tensor


def power_iteration(
    A: Tensor, steps: int, *, generator: torch.Generator | None = None
) -> PowerIterationResult:
    r"""The dominant eigenpair of a square matrix by power iteration.

    .. math::

        \vq_{t} = \frac{A \vq_{t-1}}{\|A \vq_{t-1}\|_2}, \qquad
        \hat\lambda_t = \vq_t^\top A \vq_t ,

    from a random unit vector :math:`\vq_0`. If :math:`|\lambda_1| > |\lambda_2| \ge \dots`
    and :math:`\vq_0` has a component along the eigenvector :math:`\vv_1`, the angle between
    :math:`\vq_t` and :math:`\pm\vv_1` shrinks like :math:`|\lambda_2/\lambda_1|^t`, and for a
    symmetric :math:`A` the Rayleigh quotient's error like :math:`|\lambda_2/\lambda_1|^{2t}`.
    Each step costs one matrix-vector product. Defined in Chapter 2 (Power iteration).

    Parameters
    ----------
    A : Tensor, shape (n, n)
        Real; its dominant eigenvalue should be real and strictly largest in magnitude.
    steps : int
        Number of matrix-vector products, at least 1.
    generator : torch.Generator, optional
        For the random start (drawn on the CPU in float64, then moved to ``A``'s device).

    Returns
    -------
    PowerIterationResult
        ``eigenvalue`` (), ``eigenvector`` (n,), ``estimates`` (steps,),
        ``iterates`` (steps + 1, n).

    Raises
    ------
    ValueError
        If ``A`` is not a non-empty finite real square matrix, if ``steps < 1``, or if an
        iterate becomes zero (the start lies in the null space).

    References
    ----------
    G. H. Golub and C. F. Van Loan, *Matrix Computations*, 4th ed., section 7.3.1, 2013.

    Examples
    --------
    >>> A = torch.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    >>> res = power_iteration(A, 60, generator=torch.Generator().manual_seed(0))
    >>> round(float(res.eigenvalue), 10), res.estimates.shape
    (2.0, torch.Size([60]))
    """
    A = _square("A", A)
    if A.numel() == 0:
        raise ValueError("`A` must be non-empty, got shape (0, 0)")
    if A.is_complex():
        raise ValueError(f"`A` must be real, got {A.dtype}")
    _finite("A", A)
    steps = _int("steps", steps, 1)
    n = A.shape[0]
    q = torch.randn(n, generator=generator, dtype=torch.float64).to(A.device, A.dtype)
    q = q / q.norm()
    iterates = [q]
    estimates = []
    for _ in range(steps):
        z = A @ q  # (n, n) @ (n,) -> (n,): the one matrix-vector product of a step
        norm = z.norm()
        if float(norm) == 0.0:
            raise ValueError("power iteration reached the zero vector: `A` maps the start to 0")
        q = z / norm
        iterates.append(q)
        estimates.append(q @ (A @ q))  # Rayleigh quotient (a second product, for display)
    return PowerIterationResult(
        estimates[-1],
        q,
        torch.stack(estimates),
        torch.stack(iterates),  # (steps + 1, n)
    )


# --------------------------------------------------------------------------------------
# Least squares, the pseudo-inverse and ridge, all through the SVD
# --------------------------------------------------------------------------------------
def _rhs(A: Tensor, b: object) -> Tensor:
    b = _tensor("b", b)
    if b.ndim not in (1, 2) or b.shape[0] != A.shape[0]:
        raise ValueError(
            f"`b` must have shape ({A.shape[0]},) or ({A.shape[0]}, m) to match `A` of shape "
            f"{tuple(A.shape)}, got {tuple(b.shape)}"
        )
    if b.dtype != A.dtype or b.device != A.device:
        raise ValueError(
            f"`b` must match `A` in dtype and device, got {b.dtype} on {b.device} "
            f"vs {A.dtype} on {A.device}"
        )
    return b


def pinv(A: Tensor, rcond: float | None = None) -> Tensor:
    r"""The Moore-Penrose pseudo-inverse through the SVD.

    .. math::

        A = U \Sigma V^\top \quad\Longrightarrow\quad
        A^+ = V \Sigma^+ U^\top, \qquad
        \Sigma^+_{ii} = \begin{cases} 1/\sigma_i & \sigma_i > \text{rcond}\cdot\sigma_1 \\
        0 & \text{otherwise.} \end{cases}

    Singular values below the cut-off are treated as exact zeros: inverting rounding
    noise would give huge, meaningless entries. Defined in Chapter 2 (Least squares).

    Parameters
    ----------
    A : Tensor, shape (m, n)
    rcond : float, optional
        Relative cut-off (default :math:`\max(m, n)\,\varepsilon`, as ``torch.linalg.pinv``).

    Returns
    -------
    Tensor, shape (n, m)

    Raises
    ------
    ValueError
        If ``A`` is not a matrix or ``rcond`` is negative.

    Examples
    --------
    >>> pinv(torch.tensor([[2.0, 0.0], [0.0, 0.0]])).tolist()
    [[0.5, 0.0], [0.0, 0.0]]
    """
    A = _tensor("A", A, 2)
    tol = _default_rtol(A) if rcond is None else _nonneg("rcond", rcond)
    U, s, Vh = torch.linalg.svd(A, full_matrices=False)  # (m, r), (r,), (r, n)
    if s.numel() == 0:
        return A.new_zeros(A.shape[1], A.shape[0])
    keep = s > tol * s[0]
    s_inv = torch.where(keep, 1.0 / torch.where(keep, s, torch.ones_like(s)), torch.zeros_like(s))
    # V diag(s^+) U^H: (n, r) * (r,) @ (r, m); the conjugate transpose, for complex A
    out: Tensor = (Vh.mH * s_inv.to(Vh.dtype)) @ U.mH
    return out


def least_squares(A: Tensor, b: Tensor, rcond: float | None = None) -> Tensor:
    r"""The minimum-norm least-squares solution :math:`\vx^\star = A^+\vb`.

    .. math::

        \vx^\star = \argmin_{\vx \in S} \|\vx\|_2, \quad
        S = \argmin_{\vx} \|A\vx - \vb\|_2^2; \qquad
        \vx^\star = V \Sigma^+ U^\top \vb.

    When :math:`A` has full column rank this is the unique solution of the normal
    equations :math:`A^\top A \vx = A^\top\vb`; otherwise it is the one with no component in
    the null space of :math:`A`. Computed from the SVD, never from :math:`A^\top A`, whose
    condition number is :math:`\kappa(A)^2`. Defined in Chapter 2 (Least squares).

    Parameters
    ----------
    A : Tensor, shape (N, d)
    b : Tensor, shape (N,) or (N, m)
        One right-hand side or ``m`` of them (solved column by column).
    rcond : float, optional
        Relative cut-off for small singular values (see :func:`pinv`).

    Returns
    -------
    Tensor, shape (d,) or (d, m)

    Raises
    ------
    ValueError
        If the shapes do not match, or ``b`` differs from ``A`` in dtype or device.

    Examples
    --------
    >>> A = torch.tensor([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]], dtype=torch.float64)
    >>> b = torch.tensor([1.0, 2.0, 4.0], dtype=torch.float64)
    >>> [round(float(v), 4) for v in least_squares(A, b)]
    [0.8333, 1.5]
    """
    A = _tensor("A", A, 2)
    b = _rhs(A, b)
    return pinv(A, rcond) @ b


def ridge(A: Tensor, b: Tensor, lam: float) -> Tensor:
    r"""Ridge regression in closed form, through the SVD.

    .. math::

        \vx_\lambda = \argmin_{\vx} \|A\vx - \vb\|_2^2 + \lambda\|\vx\|_2^2
        = (A^\top A + \lambda I)^{-1} A^\top \vb
        = V \operatorname{diag}\Big(\frac{\sigma_i}{\sigma_i^2 + \lambda}\Big) U^\top \vb.

    The SVD form is used rather than a solve with :math:`A^\top A + \lambda I`: it never
    forms :math:`A^\top A` (which squares the condition number), it works for wide
    :math:`A` (:math:`N < d`) as well as tall, and it shows what ridge does: each
    direction's gain :math:`1/\sigma_i` becomes :math:`\sigma_i/(\sigma_i^2+\lambda)`, so
    directions with :math:`\sigma_i^2 \ll \lambda` are shrunk towards zero. At
    :math:`\lambda = 0` it returns :func:`least_squares` (the minimum-norm solution, the
    limit :math:`\lambda \to 0^+`). No intercept is fitted; centre the data for one.
    Same objective as ``sklearn.linear_model.Ridge(alpha=lam, fit_intercept=False)``.
    Defined in Chapter 2 (Ridge).

    Parameters
    ----------
    A : Tensor, shape (N, d)
    b : Tensor, shape (N,) or (N, m)
    lam : float
        Regularisation strength :math:`\lambda \ge 0`.

    Returns
    -------
    Tensor, shape (d,) or (d, m)

    Raises
    ------
    TypeError
        If ``lam`` is not a real number.
    ValueError
        If the shapes do not match or ``lam`` is negative.

    References
    ----------
    A. E. Hoerl and R. W. Kennard, "Ridge regression: biased estimation for nonorthogonal
    problems", Technometrics 12(1), 1970.

    Examples
    --------
    >>> A = torch.eye(2, dtype=torch.float64)
    >>> ridge(A, torch.tensor([2.0, 4.0], dtype=torch.float64), lam=1.0).tolist()
    [1.0, 2.0]
    """
    A = _tensor("A", A, 2)
    b = _rhs(A, b)
    lam = _nonneg("lam", lam)
    if lam == 0.0:
        return least_squares(A, b)
    U, s, Vh = torch.linalg.svd(A, full_matrices=False)  # (N, r), (r,), (r, d)
    gain = s / (s**2 + lam)  # sigma_i / (sigma_i^2 + lambda), the shrunk inverse
    gain = gain.to(U.dtype)
    Utb = U.mH @ b  # (r, N) @ (N,) or (N, m) -> (r,) or (r, m); U^H for complex A
    scaled = gain * Utb if b.ndim == 1 else gain.unsqueeze(1) * Utb
    out: Tensor = Vh.mH @ scaled  # (d, r) @ (r, ...) -> (d, ...)
    return out


# --------------------------------------------------------------------------------------
# Principal component analysis
# --------------------------------------------------------------------------------------
class PCAResult(NamedTuple):
    r"""What :func:`pca` learns from data: the mean, the directions and their variances.

    Attributes
    ----------
    mean : Tensor, shape (d,)
        The column means :math:`\bar{\vx}` subtracted before the SVD.
    components : Tensor, shape (k, d)
        Orthonormal rows :math:`\vv_1, \dots, \vv_k`, by decreasing variance; each row's
        largest-magnitude entry is positive (a deterministic sign).
    explained_variance : Tensor, shape (k,)
        Variance of the data along each component, :math:`\sigma_i^2 / (N - 1)`.
    """

    mean: Tensor
    components: Tensor
    explained_variance: Tensor


def pca(X: Tensor, k: int) -> PCAResult:
    r"""Principal component analysis by the SVD of the centred data.

    .. math::

        X - \mathbf{1}\bar{\vx}^\top = U \Sigma V^\top, \qquad
        \text{components} = V_{:, 1:k}^\top, \qquad
        \text{explained variance}_i = \frac{\sigma_i^2}{N - 1}.

    The right singular vectors of the centred data are the eigenvectors of the sample
    covariance :math:`S = \tfrac{1}{N-1} X_c^\top X_c`, with eigenvalues
    :math:`\sigma_i^2/(N-1)`; the SVD reaches them without forming :math:`S`. Singular
    vectors are defined up to sign; here each component's largest-magnitude entry is made
    positive, so the result is deterministic. Matches ``sklearn.decomposition.PCA`` up to
    the sign of each component. Defined in Chapter 2 (PCA).

    Parameters
    ----------
    X : Tensor, shape (N, d)
        Data, one example per row.
    k : int
        Number of components, ``1 <= k <= min(N, d)``.

    Returns
    -------
    PCAResult
        ``mean`` (d,), ``components`` (k, d), ``explained_variance`` (k,).

    Raises
    ------
    ValueError
        If ``X`` is not a matrix with at least two rows, or ``k`` is out of range.

    References
    ----------
    K. Pearson, "On lines and planes of closest fit to systems of points in space",
    Philosophical Magazine 2(11), 1901.

    Examples
    --------
    >>> X = torch.tensor([[2.0, 0.0], [0.0, 0.0], [-2.0, 0.0]], dtype=torch.float64)
    >>> res = pca(X, 1)
    >>> res.components.tolist(), round(float(res.explained_variance[0]), 6)
    ([[1.0, 0.0]], 4.0)
    """
    X = _tensor("X", X, 2)
    if X.is_complex():
        raise ValueError(f"`X` must be real, got {X.dtype}")
    N, d = X.shape
    if N < 2:
        raise ValueError(f"`X` must have at least 2 rows (examples), got shape {tuple(X.shape)}")
    k = _int("k", k, 1)
    if k > min(N, d):
        raise ValueError(f"`k` must be at most min(N, d) = {min(N, d)}, got {k}")
    mean = X.mean(dim=0)
    _, s, Vh = torch.linalg.svd(X - mean, full_matrices=False)  # Vh: (min(N, d), d)
    components = Vh[:k]
    # Deterministic sign: the largest-|entry| of each component is positive.
    pivot = components.abs().argmax(dim=1, keepdim=True)  # (k, 1)
    sign = torch.where(components.gather(1, pivot) < 0, -1.0, 1.0).to(X.dtype)
    return PCAResult(mean, components * sign, s[:k] ** 2 / (N - 1))


def pca_transform(X: Tensor, result: PCAResult) -> Tensor:
    r"""Project data onto the principal components: the scores.

    .. math:: Z = (X - \mathbf{1}\bar{\vx}^\top)\, V_k, \qquad Z \in \R^{N \times k}.

    Defined in Chapter 2 (PCA).

    Parameters
    ----------
    X : Tensor, shape (N, d)
    result : PCAResult
        From :func:`pca`, fitted on this or other data with the same ``d``.

    Returns
    -------
    Tensor, shape (N, k)

    Raises
    ------
    ValueError
        If ``X`` has the wrong number of columns.

    Examples
    --------
    >>> X = torch.tensor([[2.0, 1.0], [0.0, 1.0], [-2.0, 1.0]])
    >>> pca_transform(X, pca(X, 1)).flatten().tolist()
    [2.0, 0.0, -2.0]
    """
    X = _tensor("X", X, 2)
    if not isinstance(result, PCAResult):
        raise TypeError(f"`result` must be a PCAResult, got {type(result).__name__}")
    d = result.components.shape[1]
    if X.shape[1] != d:
        raise ValueError(f"`X` must have {d} columns like the fitted PCA, got {tuple(X.shape)}")
    return (X - result.mean) @ result.components.mT  # (N, d) @ (d, k) -> (N, k)


def reconstruction_error(X: Tensor, result: PCAResult) -> Tensor:
    r"""The squared error of reconstructing data from its principal components.

    .. math::

        E_k = \big\| X_c - X_c V_k V_k^\top \big\|_F^2
        = \sum_{i > k} \sigma_i^2 \quad\text{(on the data PCA was fitted to)},

    with :math:`X_c = X - \mathbf{1}\bar{\vx}^\top` centred by the fitted mean and
    :math:`V_k` the fitted components as columns. On the fitting data it equals the sum of
    the discarded squared singular values, the smallest error any rank-:math:`k`
    approximation of :math:`X_c` can have (Eckart-Young); on other data it measures how
    well the components generalise. Divide by :math:`\|X_c\|_F^2` for the fraction of
    variance lost. Defined in Chapter 2 (PCA).

    Parameters
    ----------
    X : Tensor, shape (N, d)
    result : PCAResult
        From :func:`pca`, with the same ``d``.

    Returns
    -------
    Tensor, shape ()
        The sum over examples and coordinates of the squared residuals.

    Raises
    ------
    ValueError
        If ``X`` has the wrong number of columns.

    References
    ----------
    C. Eckart and G. Young, "The approximation of one matrix by another of lower rank",
    Psychometrika 1(3), 1936.

    Examples
    --------
    >>> X = torch.tensor([[2.0, 1.0], [0.0, -1.0], [-2.0, 0.0]], dtype=torch.float64)
    >>> round(float(reconstruction_error(X, pca(X, 1))), 6)
    1.394449
    """
    Xc = X - result.mean if isinstance(result, PCAResult) else X  # checked just below
    Z = pca_transform(X, result)  # (N, k), checks X and result
    residual = Xc - Z @ result.components  # (N, d) - (N, k) @ (k, d)
    return residual.pow(2).sum()


def choose_components(
    X: Tensor, bound: float, folds: int = 5, *, generator: torch.Generator | None = None
) -> int:
    r"""The fewest principal components whose cross-validated reconstruction error is small.

    .. math::

        \widehat{E}_k = \frac{1}{N} \sum_{f=1}^{F}
        \big\| X^{(f)}_c - X^{(f)}_c V^{(-f)}_k V^{(-f)\top}_k \big\|_F^2,
        \qquad k^\star = \min\{k : \widehat{E}_k \le \text{bound}\},

    where fold :math:`f` is centred by, and projected on, the mean and components fitted on
    the other :math:`F - 1` folds. :math:`\widehat{E}_k` estimates the squared error per
    example on *new* data; the training error :math:`\sum_{i>k}\sigma_i^2/N` would
    underestimate it (the components were fitted to those very examples). One SVD per fold
    gives every :math:`k` at once. Defined in Chapter 2 (Exercise 2.5, PCA).

    Parameters
    ----------
    X : Tensor, shape (N, d)
        Data, one example per row; ``N >= folds``.
    bound : float
        Largest acceptable mean squared reconstruction error per example, > 0.
    folds : int, default 5
        Number of cross-validation folds, at least 2.
    generator : torch.Generator, optional
        For the random assignment of examples to folds.

    Returns
    -------
    int
        The smallest ``k`` whose estimate is at most ``bound``, or ``min(N, d)`` if none is.

    Raises
    ------
    ValueError
        If ``X`` is not a finite real matrix with at least ``folds`` rows, ``bound`` is not
        positive or ``folds < 2``.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> X = torch.randn(200, 2, generator=g, dtype=torch.float64) @ torch.tensor(
    ...     [[3.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=torch.float64)
    >>> choose_components(X, 2.0), choose_components(X, 1e-6)
    (1, 2)
    """
    X = _tensor("X", X, 2)
    if X.is_complex():
        raise ValueError(f"`X` must be real, got {X.dtype}")
    _finite("X", X)
    bound = _checks.positive("bound", bound)
    folds = _int("folds", folds, 2)
    N, d = X.shape
    if folds > N:
        raise ValueError(f"`X` must have at least `folds` = {folds} rows, got shape {(N, d)}")
    perm = torch.randperm(N, generator=generator).to(X.device)
    total = X.new_zeros(d)  # summed held-out error for k = 1, ..., d
    for held in perm.chunk(folds):
        keep = torch.ones(N, dtype=torch.bool, device=X.device)
        keep[held] = False
        fit, test = X[keep], X[held]
        mean = fit.mean(dim=0)
        _, _, Vh = torch.linalg.svd(fit - mean, full_matrices=False)  # (r, d), r <= d
        Z = (test - mean) @ Vh.mT  # (n_f, d) @ (d, r) -> (n_f, r): scores on the fold
        captured = (Z**2).sum(dim=0).cumsum(dim=0)  # (r,): energy kept by the first k
        if captured.shape[0] < d:  # fewer components than d: the rest keep nothing more
            pad = captured[-1:].expand(d - captured.shape[0])
            captured = torch.cat([captured, pad])
        total = total + ((test - mean) ** 2).sum() - captured
    estimate = total / N  # (d,): cross-validated error per example for k = 1, ..., d
    meets = torch.nonzero(estimate <= bound).flatten()
    return int(meets[0]) + 1 if meets.numel() and int(meets[0]) < min(N, d) else min(N, d)


# Every public function checks devices and numpy scalars the same way (dlbook._checks).
_checks.guard_module(globals(), __all__)
