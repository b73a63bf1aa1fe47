r"""Self-supervised learning: views, InfoNCE, NT-Xent and the linear probe (Chapter 19).

A contrastive method learns an encoder without labels. It makes two random *views* of
each example (:func:`augment`: Chapter 10's :func:`dlbook.cnn.random_shift`, then
:func:`random_erase`, built on the deterministic :func:`erase`, then Gaussian noise) and
trains the encoder to tell which views belong together. The loss is a cross-entropy over
similarity scores: :func:`info_nce` for one direction with the positive on the diagonal
(van den Oord et al.), :func:`nt_xent` for SimCLR's symmetric version over :math:`2N`
views (Chen et al.). The representation is then judged by a *linear probe*
(:func:`linear_probe`, multinomial logistic regression on frozen features) trained on a
few labels drawn by :func:`label_subset`. :func:`gaussian_critic_scores` is the
InfoNCE critic that is optimal for jointly Gaussian pairs, fitted from samples.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from dlbook import _checks
from dlbook.cnn import random_shift

__all__ = [
    "augment",
    "erase",
    "gaussian_critic_scores",
    "info_nce",
    "label_subset",
    "linear_probe",
    "nt_xent",
    "random_erase",
]


def _images(name: str, x: object) -> Tensor:
    t = _checks.float_tensor(name, x, ndim=4)
    return t


def _corner(name: str, c: object, n: int, device: torch.device) -> Tensor:
    if not isinstance(c, Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor of integers, got {type(c).__name__}")
    if c.dtype.is_floating_point or c.dtype.is_complex or c.dtype == torch.bool:
        raise TypeError(f"`{name}` must hold integers, got dtype {c.dtype}")
    if tuple(c.shape) != (n,):
        raise ValueError(f"`{name}` must have shape ({n},) like the batch, got {tuple(c.shape)}")
    if c.device != device:
        raise ValueError(f"`{name}` must be on the images' device {device}, got {c.device}")
    return c.long()


def erase(images: Tensor, top: Tensor, left: Tensor, size: int) -> Tensor:
    r"""Zero a ``size`` x ``size`` square of each image at a given corner (clipped at the border).

    .. math:: \tilde X_{n,c,i,j} = X_{n,c,i,j}\,
        \bigl[\,\neg(t_n \le i < t_n + s \ \wedge\ l_n \le j < l_n + s)\bigr]

    (Chapter 19, views): the deterministic core of :func:`random_erase`, "cutout". Corners
    may lie partly (or wholly) outside the image; only the part inside is erased.

    Parameters
    ----------
    images : Tensor, shape (N, C, H, W)
        Floating point; not modified.
    top, left : Tensor, shape (N,)
        Integer row and column of each square's top-left corner, on the images' device.
    size : int
        Side :math:`s \ge 0` of the square.

    Returns
    -------
    Tensor, shape (N, C, H, W)
        A new tensor of the images' dtype and device.

    Raises
    ------
    TypeError
        If ``images`` is not a floating tensor or the corners are not integer tensors.
    ValueError
        If ``images`` is not 4-D, a corner's shape is not (N,) or it is on another device,
        or ``size`` is negative.

    References
    ----------
    DeVries and Taylor, "Improved regularization of convolutional neural networks with
    cutout", arXiv:1708.04552, 2017.

    Examples
    --------
    >>> x = torch.ones(1, 1, 3, 3)
    >>> erase(x, torch.tensor([1]), torch.tensor([1]), 2)[0, 0]
    tensor([[1., 1., 1.],
            [1., 0., 0.],
            [1., 0., 0.]])
    """
    x = _images("images", images)
    s = _checks.positive_int("size", size, minimum=0)
    N, _, H, W = x.shape
    t = _corner("top", top, N, x.device)
    lft = _corner("left", left, N, x.device)
    rows = torch.arange(H, device=x.device)  # (H,)
    cols = torch.arange(W, device=x.device)  # (W,)
    in_rows = (rows[None, :] >= t[:, None]) & (rows[None, :] < t[:, None] + s)  # (N, H)
    in_cols = (cols[None, :] >= lft[:, None]) & (cols[None, :] < lft[:, None] + s)  # (N, W)
    hole = in_rows[:, :, None] & in_cols[:, None, :]  # (N, H, W)
    return x.masked_fill(hole[:, None, :, :], 0.0)  # broadcast over channels


def random_erase(images: Tensor, size: int, generator: torch.Generator) -> Tensor:
    r"""Erase one ``size`` x ``size`` square per image at a uniformly random corner.

    The corner :math:`(t_n, l_n)` is uniform on :math:`\{-s+1, \dots, H-1\} \times
    \{-s+1, \dots, W-1\}`, so every pixel is equally likely to be erased and squares
    may hang over the border; the rest is :func:`erase` (Chapter 19, views).

    Parameters
    ----------
    images : Tensor, shape (N, C, H, W)
    size : int
        Side :math:`s \ge 0`.
    generator : torch.Generator
        Source of the corners (on the CPU); the result is on the images' device.

    Returns
    -------
    Tensor, shape (N, C, H, W)

    Raises
    ------
    TypeError, ValueError
        As :func:`erase`, and a TypeError if ``generator`` is not a ``torch.Generator``.

    Examples
    --------
    >>> x = torch.ones(2, 1, 8, 8)
    >>> random_erase(x, 0, torch.Generator().manual_seed(0)).equal(x)
    True
    """
    x = _images("images", images)
    s = _checks.positive_int("size", size, minimum=0)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"`generator` must be a torch.Generator, got {type(generator).__name__}")
    N, _, H, W = x.shape
    low = -s + 1 if s > 0 else 0
    top = torch.randint(low, H, (N,), generator=generator).to(x.device)
    left = torch.randint(low, W, (N,), generator=generator).to(x.device)
    return erase(x, top, left, s)


def augment(
    images: Tensor,
    *,
    generator: torch.Generator,
    max_shift: int = 1,
    erase_size: int = 3,
    noise_std: float = 0.1,
) -> Tensor:
    r"""One random view of each image: shift, erase a square, add Gaussian noise.

    .. math:: \tilde{\mathbf x} = \operatorname{erase}\bigl(\operatorname{shift}(\mathbf x)\bigr)
        + \sigma\,\boldsymbol\epsilon, \qquad \boldsymbol\epsilon \sim \mathcal N(0, I)

    (Chapter 19, views). The three draws come from ``generator`` in that order:
    :func:`dlbook.cnn.random_shift`, :func:`random_erase`, then the noise.

    Parameters
    ----------
    images : Tensor, shape (N, C, H, W)
    generator : torch.Generator
        The only source of randomness (on the CPU).
    max_shift : int, default 1
        Largest translation in pixels.
    erase_size : int, default 3
        Side of the erased square (0 erases nothing).
    noise_std : float, default 0.1
        :math:`\sigma \ge 0`.

    Returns
    -------
    Tensor, shape (N, C, H, W)

    Raises
    ------
    TypeError, ValueError
        On a non-4-D or non-floating ``images``, a negative size or noise level.

    References
    ----------
    Chen et al., "A simple framework for contrastive learning of visual representations",
    ICML 2020 (SimCLR's augmentations, of which these are the 8x8 analogues).

    Examples
    --------
    >>> x = torch.zeros(2, 1, 8, 8)
    >>> augment(x, generator=torch.Generator().manual_seed(0), noise_std=0.0).abs().sum()
    tensor(0.)
    """
    x = _images("images", images)
    sigma = _checks.non_negative("noise_std", noise_std)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"`generator` must be a torch.Generator, got {type(generator).__name__}")
    view = random_shift(x, max_shift, generator)
    view = random_erase(view, erase_size, generator)
    noise = torch.randn(view.shape, generator=generator, dtype=view.dtype).to(view.device)
    return view + sigma * noise


def info_nce(scores: Tensor) -> Tensor:
    r"""The InfoNCE loss of a square score matrix whose positives are on the diagonal.

    .. math:: \mathcal L_{\mathrm{NCE}} = -\frac1N \sum_{i=1}^N
        \log \frac{e^{S_{ii}}}{\sum_{j=1}^N e^{S_{ij}}}

    (Chapter 19, eq. ``ssl-infonce``): row :math:`i` scores the query :math:`i` against
    every key, and key :math:`i` is its positive. :math:`\log N - \mathcal L_{\mathrm{NCE}}`
    is a lower bound on the mutual information of the pairs (van den Oord et al.). Computed
    with a log-sum-exp, so scores of :math:`10^8` are exact.

    Parameters
    ----------
    scores : Tensor, shape (N, N)
        Floating-point critic values :math:`S_{ij} = f(\mathbf x_i, \mathbf y_j)`.

    Returns
    -------
    Tensor, shape ()
        The mean loss, in nats.

    Raises
    ------
    TypeError
        If ``scores`` is not a floating tensor.
    ValueError
        If ``scores`` is not a non-empty square matrix.

    References
    ----------
    van den Oord, Li and Vinyals, "Representation learning with contrastive predictive
    coding", arXiv:1807.03748, 2018.

    Examples
    --------
    >>> round(float(info_nce(torch.zeros(4, 4))), 4) == round(math.log(4), 4)
    True
    """
    S = _checks.float_tensor("scores", scores, ndim=2, non_empty=True)
    if S.shape[0] != S.shape[1]:
        raise ValueError(f"`scores` must be square (N, N), got {tuple(S.shape)}")
    diagonal = torch.diagonal(S)  # (N,)
    return (torch.logsumexp(S, dim=1) - diagonal).mean()


def nt_xent(z1: Tensor, z2: Tensor, temperature: float = 0.5) -> Tensor:
    r"""SimCLR's normalised temperature-scaled cross-entropy over :math:`2N` views.

    With :math:`\mathbf u_1, \dots, \mathbf u_{2N}` the rows of ``z1`` then ``z2``,
    normalised to unit length, :math:`s_{kl} = \mathbf u_k^\top \mathbf u_l`, and
    :math:`p(k)` the other view of the same example (:math:`k \pm N`),

    .. math:: \mathcal L = \frac{1}{2N} \sum_{k=1}^{2N} -\log
        \frac{e^{s_{k,p(k)}/\tau}}{\sum_{l \ne k} e^{s_{kl}/\tau}}

    (Chapter 19, eq. ``ssl-ntxent``). Every other view in the batch is a negative; a
    view is never compared with itself.

    Parameters
    ----------
    z1, z2 : Tensor, shape (N, D)
        Projections of the two views, :math:`N \ge 1` examples, same dtype and device.
    temperature : float, default 0.5
        :math:`\tau > 0`; smaller values weigh the hardest negatives more.

    Returns
    -------
    Tensor, shape ()
        The mean loss over the :math:`2N` views.

    Raises
    ------
    TypeError
        If an input is not a floating tensor or the dtypes differ.
    ValueError
        If an input is not 2-D, the shapes differ, they are on different devices, a row
        is zero (no direction), or ``temperature`` is not positive.

    References
    ----------
    Chen, Kornblith, Norouzi and Hinton, "A simple framework for contrastive learning of
    visual representations", ICML 2020, eq. (1).

    Examples
    --------
    >>> z = torch.eye(2)
    >>> round(float(nt_xent(z, z, temperature=1.0)), 4)  # -log(e / (e + 2))
    0.5514
    """
    a = _checks.float_tensor("z1", z1, ndim=2, non_empty=True)
    b = _checks.float_tensor("z2", z2, ndim=2, non_empty=True)
    if a.shape != b.shape:
        raise ValueError(f"`z2` must have the shape of `z1` {tuple(a.shape)}, got {tuple(b.shape)}")
    _checks.same_device(z1=a, z2=b)
    _checks.same_dtype(z1=a, z2=b)
    tau = _checks.positive("temperature", temperature)
    N = a.shape[0]
    u = torch.cat([a, b], dim=0)  # (2N, D)
    norms = torch.linalg.vector_norm(u, dim=1, keepdim=True)  # (2N, 1)
    if u.device.type != "meta" and bool((norms == 0).any()):
        raise ValueError(
            "`z1` and `z2` must have non-zero rows (cosine similarity needs a direction)"
        )
    u = u / norms
    logits = (u @ u.T) / tau  # (2N, 2N) cosine similarities over tau
    self_mask = torch.eye(2 * N, dtype=torch.bool, device=u.device)
    logits = logits.masked_fill(self_mask, -math.inf)  # never compare a view with itself
    positive = torch.cat([torch.arange(N, 2 * N), torch.arange(0, N)]).to(u.device)  # (2N,)
    return F.cross_entropy(logits, positive)


def label_subset(labels: Tensor, fraction: float, generator: torch.Generator) -> Tensor:
    r"""Indices of a stratified random subset holding ``fraction`` of each class's examples.

    Class :math:`c` with :math:`n_c` examples contributes
    :math:`\max(1, \operatorname{round}(f\,n_c))` of them, drawn without replacement
    (Chapter 19, the probe): even 1 % of the labels keeps every class present.

    Parameters
    ----------
    labels : Tensor, shape (N,)
        Integer class labels (any integer dtype).
    fraction : float
        :math:`f \in (0, 1]`.
    generator : torch.Generator
        Source of the draws (on the CPU).

    Returns
    -------
    Tensor, shape (M,)
        Sorted int64 indices into ``labels``, on its device.

    Raises
    ------
    TypeError
        If ``labels`` is not an integer tensor or ``generator`` not a ``torch.Generator``.
    ValueError
        If ``labels`` is not 1-D or ``fraction`` is outside (0, 1].

    Examples
    --------
    >>> y = torch.tensor([0, 0, 0, 1, 1, 1, 1, 1, 1, 1])
    >>> len(label_subset(y, 0.1, torch.Generator().manual_seed(0)))
    2
    """
    y = _checks.labels("labels", labels)
    if y.ndim != 1:
        raise ValueError(f"`labels` must be 1-D, got shape {tuple(y.shape)}")
    f = _checks.number("fraction", fraction)
    if not 0.0 < f <= 1.0:
        raise ValueError(f"`fraction` must lie in (0, 1], got {fraction!r}")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"`generator` must be a torch.Generator, got {type(generator).__name__}")
    y_cpu = y.cpu()
    chosen = []
    for c in torch.unique(y_cpu).tolist():
        members = torch.nonzero(y_cpu == c).flatten()  # (n_c,)
        take = max(1, round(f * len(members)))
        order = torch.randperm(len(members), generator=generator)[:take]
        chosen.append(members[order])
    return torch.sort(torch.cat(chosen)).values.to(y.device)


def linear_probe(
    features: Tensor,
    labels: Tensor,
    num_classes: int,
    *,
    weight_decay: float = 1e-3,
    max_iter: int = 500,
) -> tuple[Tensor, Tensor]:
    r"""Fit multinomial logistic regression on frozen features: the linear probe.

    .. math:: \min_{W, \mathbf b}\ \frac1N \sum_{n=1}^N
        -\log \operatorname{softmax}(W \mathbf h_n + \mathbf b)_{y_n}
        + \frac{\lambda}{2} \lVert W \rVert_F^2

    (Chapter 19, eq. ``ssl-probe``; Chapter 6's model on the encoder's features
    :math:`\mathbf h`). The bias is not penalised, as in scikit-learn, which solves the
    same problem with :math:`C = 1/(N\lambda)`. Solved by L-BFGS with a strong-Wolfe line
    search to a gradient of :math:`10^{-9}`; the features are not changed and get no
    gradient.

    Parameters
    ----------
    features : Tensor, shape (N, D)
        Floating-point features :math:`\mathbf h_n`.
    labels : Tensor, shape (N,)
        Integer labels in :math:`[0, K)`, any integer dtype, on the features' device.
    num_classes : int
        :math:`K \ge 2`.
    weight_decay : float, default 1e-3
        :math:`\lambda > 0` (it makes the problem strictly convex in :math:`W`).
    max_iter : int, default 500
        Largest number of L-BFGS iterations.

    Returns
    -------
    (Tensor, Tensor)
        ``weight`` of shape (K, D) and ``bias`` of shape (K,), as ``nn.Linear`` stores them,
        in the features' dtype and on their device.

    Raises
    ------
    TypeError
        If ``features`` is not floating or ``labels`` not integer.
    ValueError
        If the shapes do not fit, a label is outside :math:`[0, K)`, the devices differ,
        or a hyper-parameter is out of range.

    References
    ----------
    Alain and Bengio, "Understanding intermediate layers using linear classifier probes",
    arXiv:1610.01644, 2016; Chen et al. 2020 (the linear evaluation protocol).

    Examples
    --------
    >>> h = torch.tensor([[-1.0], [1.0]])
    >>> W, b = linear_probe(h, torch.tensor([0, 1]), 2)
    >>> bool(W[1, 0] > W[0, 0])
    True
    """
    X = _checks.finite_tensor(
        "features", _checks.float_tensor("features", features, ndim=2, non_empty=True)
    )
    K = _checks.positive_int("num_classes", num_classes, minimum=2)
    y = _checks.labels("labels", labels, num_classes=K, shape=(X.shape[0],), device=X.device)
    lam = _checks.positive("weight_decay", weight_decay)
    iters = _checks.positive_int("max_iter", max_iter)
    Xd = X.detach()
    W = torch.zeros(K, X.shape[1], dtype=X.dtype, device=X.device, requires_grad=True)
    b = torch.zeros(K, dtype=X.dtype, device=X.device, requires_grad=True)
    opt = torch.optim.LBFGS(
        [W, b],
        lr=1.0,
        max_iter=iters,
        tolerance_grad=1e-9,
        tolerance_change=1e-15,
        history_size=20,
        line_search_fn="strong_wolfe",
    )

    def closure() -> Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(Xd @ W.T + b, y) + 0.5 * lam * (W * W).sum()  # eq. ssl-probe
        loss.backward()
        return loss

    for _ in range(3):  # L-BFGS may stop on a tiny change in the loss; restart it
        opt.step(closure)
        if max(float(W.grad.abs().max()), float(b.grad.abs().max())) <= 1e-8:  # type: ignore[union-attr]
            break
    return W.detach(), b.detach()


def gaussian_critic_scores(x_train: Tensor, y_train: Tensor, x: Tensor, y: Tensor) -> Tensor:
    r"""InfoNCE scores of the log density ratio of a Gaussian fitted to training pairs.

    Fit a joint Gaussian to the pairs :math:`(\mathbf x, \mathbf y)` (sample mean and
    covariance), and score every combination of a new batch with

    .. math:: S_{ij} = \log \hat p(\mathbf y_j \mid \mathbf x_i) - \log \hat p(\mathbf y_j),

    the critic that is optimal for jointly Gaussian data (Chapter 19, eq. ``ssl-bound``):
    :math:`\hat p(\mathbf y \mid \mathbf x) = \mathcal N(\boldsymbol\mu_y + \Sigma_{yx}
    \Sigma_{xx}^{-1}(\mathbf x - \boldsymbol\mu_x),\ \Sigma_{yy} - \Sigma_{yx}
    \Sigma_{xx}^{-1} \Sigma_{xy})` and :math:`\hat p(\mathbf y) = \mathcal N(\boldsymbol
    \mu_y, \Sigma_{yy})`. Score :math:`S_{ij}` depends on :math:`\mathbf x_i` and
    :math:`\mathbf y_j` alone, as a critic must.

    Parameters
    ----------
    x_train, y_train : Tensor, shape (M, d_x) and (M, d_y)
        Training pairs, :math:`M > d_x + d_y`.
    x, y : Tensor, shape (N, d_x) and (N, d_y)
        The batch to score; same dtype and device as the training pairs.

    Returns
    -------
    Tensor, shape (N, N)

    Raises
    ------
    TypeError
        If an input is not a floating tensor or the dtypes differ.
    ValueError
        If the shapes do not fit, the devices differ, or there are too few training pairs
        for a full-rank covariance.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.randn(500, 2, generator=g, dtype=torch.float64)
    >>> y = x + 0.5 * torch.randn(500, 2, generator=g, dtype=torch.float64)
    >>> S = gaussian_critic_scores(x, y, x[:8], y[:8])
    >>> bool((S.diagonal() > S.mean(dim=1)).all())
    True
    """
    xt = _checks.float_tensor("x_train", x_train, ndim=2, non_empty=True)
    yt = _checks.float_tensor("y_train", y_train, ndim=2, non_empty=True)
    xb = _checks.float_tensor("x", x, ndim=2, non_empty=True)
    yb = _checks.float_tensor("y", y, ndim=2, non_empty=True)
    _checks.same_device(x_train=xt, y_train=yt, x=xb, y=yb)
    _checks.same_dtype(x_train=xt, y_train=yt, x=xb, y=yb)
    if xt.shape[0] != yt.shape[0]:
        raise ValueError(
            f"`y_train` must have the {xt.shape[0]} rows of `x_train`, got {yt.shape[0]}"
        )
    if xb.shape[0] != yb.shape[0]:
        raise ValueError(f"`y` must have the {xb.shape[0]} rows of `x`, got {yb.shape[0]}")
    dx, dy = xt.shape[1], yt.shape[1]
    if xb.shape[1] != dx or yb.shape[1] != dy:
        raise ValueError(
            f"`x` and `y` must have {dx} and {dy} columns like the training pairs, got "
            f"{tuple(xb.shape)} and {tuple(yb.shape)}"
        )
    if xt.shape[0] <= dx + dy:
        raise ValueError(
            f"`x_train` must have more than d_x + d_y = {dx + dy} rows for a full-rank "
            f"covariance, got {xt.shape[0]}"
        )
    z = torch.cat([xt, yt], dim=1)  # (M, d_x + d_y)
    mu = z.mean(dim=0)
    cov = torch.cov(z.T)  # (d_x + d_y, d_x + d_y), unbiased
    mu_x, mu_y = mu[:dx], mu[dx:]
    S_xx, S_xy, S_yy = cov[:dx, :dx], cov[:dx, dx:], cov[dx:, dx:]
    B = torch.linalg.solve(S_xx, S_xy)  # (d_x, d_y): Sigma_xx^{-1} Sigma_xy
    S_cond = S_yy - S_xy.T @ B  # (d_y, d_y): covariance of y given x
    mean_cond = mu_y + (xb - mu_x) @ B  # (N, d_y): conditional mean for each x_i

    def log_gauss(diff: Tensor, S: Tensor) -> Tensor:
        L = torch.linalg.cholesky(S)
        # diff (..., d_y) -> whitened (..., d_y) via L^{-1} diff
        w = torch.linalg.solve_triangular(L, diff.unsqueeze(-1), upper=False).squeeze(-1)
        log_det = 2 * torch.log(torch.diagonal(L)).sum()
        out: Tensor = -0.5 * (w**2).sum(-1) - 0.5 * log_det - 0.5 * dy * math.log(2 * math.pi)
        return out

    cond = log_gauss(yb[None, :, :] - mean_cond[:, None, :], S_cond)  # (N, N): row i, column j
    marginal = log_gauss(yb - mu_y, S_yy)  # (N,)
    return cond - marginal[None, :]


# Every public function checks devices and numpy scalars the same way (dlbook._checks).
_checks.guard_module(globals(), __all__)
