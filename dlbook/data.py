r"""The book's data, all of it available offline.

* :func:`load_digits` - scikit-learn's 1,797 real 8x8 handwritten digits under the book's
  one fixed train/validation/test split (Preface, "The data").
* Synthetic generators - :func:`linear_data`, :func:`two_moons`, :func:`spirals`,
  :func:`xor`, :func:`gaussian_ring`, :func:`gaussian_grid`.
* Real photographs and a real time series shipped inside installed packages -
  :func:`photo`, :func:`stock_prices`; a real graph, :func:`karate_club`.
* An offline text corpus - :func:`text_corpus`, and :func:`deduplicate_paragraphs` to
  remove its repeats.
* Tensors from labels and series - :func:`one_hot`, :func:`sliding_windows`.
* MNIST-format IDX files - :func:`parse_idx`, :func:`read_idx`, :func:`write_idx`, and for
  readers with a network :func:`download` (checksum-verified, cached, atomic) and
  :func:`load_mnist`.

Every generator takes an explicit ``seed`` and draws its numbers on the CPU before moving
them to ``device``, so the same seed gives the same data on every device.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import urllib.request
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from dlbook import _checks
from dlbook._io import atomic_write
from dlbook.devices import generator as _generator

__all__ = [
    "DIGITS_SPLIT",
    "MNIST_FILES",
    "MNIST_MIRROR",
    "Split",
    "deduplicate_paragraphs",
    "digits_split_indices",
    "download",
    "gaussian_grid",
    "gaussian_ring",
    "karate_club",
    "linear_data",
    "load_digits",
    "load_mnist",
    "one_hot",
    "parse_idx",
    "photo",
    "read_idx",
    "sliding_windows",
    "spirals",
    "stock_prices",
    "text_corpus",
    "two_moons",
    "write_idx",
    "xor",
]

DeviceLike = str | torch.device | None


# --------------------------------------------------------------------------------------
# Argument checks shared by every loader
# --------------------------------------------------------------------------------------
def _positive_int(name: str, value: object, minimum: int = 1) -> int:
    return _checks.positive_int(name, value, minimum)


def _non_negative(name: str, value: object) -> float:
    return _checks.non_negative(name, value)


def _float_dtype(dtype: torch.dtype) -> torch.dtype:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    return dtype


# --------------------------------------------------------------------------------------
# The digits and the book's fixed split
# --------------------------------------------------------------------------------------
#: The book's split of the digits: fractions per class, and the seed of the legacy NumPy
#: ``RandomState`` (whose stream NumPy keeps frozen across versions) that shuffles each class.
DIGITS_SPLIT: Mapping[str, float | int] = {"train": 0.6, "val": 0.2, "test": 0.2, "seed": 0}


@dataclass(frozen=True)
class Split:
    r"""Features and targets for the three parts of a data set.

    Attributes are named as in the book: ``X_train`` of shape :math:`(N, D)` (or
    :math:`(N, 1, H, W)` for images) and ``y_train`` of shape :math:`(N,)`, likewise for
    ``val`` and ``test``.
    """

    X_train: Tensor
    y_train: Tensor
    X_val: Tensor
    y_val: Tensor
    X_test: Tensor
    y_test: Tensor

    def to(self, device: str | torch.device) -> Split:
        """Return a copy with every tensor moved to ``device``."""
        return Split(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})

    @property
    def sizes(self) -> dict[str, int]:
        """Number of examples in each part, e.g. ``{'train': 1078, 'val': 359, 'test': 360}``."""
        return {"train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test)}


def digits_split_indices() -> dict[str, np.ndarray]:
    r"""Indices of the book's fixed, stratified 60/20/20 split of the 1,797 digits.

    Each class :math:`c` is shuffled on its own by ``numpy.random.RandomState(0)`` (classes
    in order 0-9, one shared stream); its first :math:`\mathrm{round}(0.6 n_c)` examples go
    to training, the next :math:`\mathrm{round}(0.2 n_c)` to validation and the rest to
    test. Each part is returned sorted.

    Returns
    -------
    dict of str to numpy.ndarray
        ``{'train': ..., 'val': ..., 'test': ...}``, disjoint int64 index arrays that
        together cover ``range(1797)``.

    Examples
    --------
    >>> parts = digits_split_indices()
    >>> sum(len(v) for v in parts.values())
    1797
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    target = _sk_load_digits().target
    rng = np.random.RandomState(int(DIGITS_SPLIT["seed"]))
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for c in range(10):
        members = rng.permutation(np.flatnonzero(target == c))
        n_train = round(float(DIGITS_SPLIT["train"]) * len(members))
        n_val = round(float(DIGITS_SPLIT["val"]) * len(members))
        parts["train"].append(members[:n_train])
        parts["val"].append(members[n_train : n_train + n_val])
        parts["test"].append(members[n_train + n_val :])
    return {k: np.sort(np.concatenate(v)).astype(np.int64) for k, v in parts.items()}


def load_digits(
    device: DeviceLike = None,
    *,
    dtype: torch.dtype = torch.float32,
    images: bool = False,
) -> Split:
    r"""The 1,797 scikit-learn digits under the book's fixed split.

    Pixels are scaled from :math:`\{0, \dots, 16\}` to :math:`[0, 1]`.

    Parameters
    ----------
    device : str or torch.device, optional
        Where the tensors are created (default: the CPU).
    dtype : torch.dtype, default torch.float32
        Floating-point type of the features.
    images : bool, default False
        Return features of shape :math:`(N, 1, 8, 8)` instead of :math:`(N, 64)`.

    Returns
    -------
    Split
        ``X_*`` of shape :math:`(N, 64)` (or :math:`(N, 1, 8, 8)`) and int64 labels ``y_*``.

    Examples
    --------
    >>> split = load_digits()
    >>> split.sizes
    {'train': 1078, 'val': 359, 'test': 360}
    >>> tuple(split.X_train.shape)
    (1078, 64)
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    dtype = _float_dtype(dtype)
    raw = _sk_load_digits()
    X = torch.as_tensor(raw.data / 16.0, dtype=dtype)
    if images:
        X = X.reshape(-1, 1, 8, 8)  # (N, 64) -> (N, 1, 8, 8)
    y = torch.as_tensor(raw.target, dtype=torch.int64)
    idx = {k: torch.as_tensor(v) for k, v in digits_split_indices().items()}
    split = Split(
        X_train=X[idx["train"]],
        y_train=y[idx["train"]],
        X_val=X[idx["val"]],
        y_val=y[idx["val"]],
        X_test=X[idx["test"]],
        y_test=y[idx["test"]],
    )
    return split.to(device) if device is not None else split


def one_hot(labels: Tensor, num_classes: int) -> Tensor:
    r"""One-hot encode integer class labels.

    .. math:: Y_{ik} = [\,y_i = k\,], \qquad i = 1..N,\; k = 0..K-1

    Parameters
    ----------
    labels : Tensor
        Integer labels of any shape :math:`(\ldots)` with values in :math:`[0, K)`.
    num_classes : int
        :math:`K`, the number of classes.

    Returns
    -------
    Tensor
        Float32 tensor of shape :math:`(\ldots, K)` on the device of ``labels``.

    Raises
    ------
    TypeError
        If ``labels`` is not an integer tensor or ``num_classes`` not an int.
    ValueError
        If a label lies outside :math:`[0, K)`.

    Examples
    --------
    >>> one_hot(torch.tensor([2, 0]), 3)
    tensor([[0., 0., 1.],
            [1., 0., 0.]])
    """
    if not isinstance(labels, Tensor):
        raise TypeError(f"labels must be a torch.Tensor, got {type(labels).__name__}")
    if labels.dtype.is_floating_point or labels.dtype.is_complex or labels.dtype == torch.bool:
        raise TypeError(f"labels must hold integers, got dtype {labels.dtype}")
    num_classes = _positive_int("num_classes", num_classes)
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"labels must lie in [0, {num_classes}) for num_classes={num_classes}, got values "
            f"from {int(labels.min())} to {int(labels.max())}"
        )
    eye = torch.eye(num_classes, dtype=torch.float32, device=labels.device)
    return eye[labels.long()]  # (...) -> (..., K)


def sliding_windows(
    series: Tensor, length: int, horizon: int = 1, *, stride: int = 1
) -> tuple[Tensor, Tensor]:
    r"""Cut a time series into (input window, target window) pairs: a 3-D batch.

    Window :math:`i` starts at :math:`t_i = i s` (stride :math:`s`); its input is the
    :math:`n_w` steps :math:`\mathbf{x}_{t_i}, \dots, \mathbf{x}_{t_i + n_w - 1}` and its
    target the :math:`P` steps that follow, :math:`\mathbf{x}_{t_i + n_w}, \dots,
    \mathbf{x}_{t_i + n_w + P - 1}`. With :math:`T` steps there are
    :math:`N = \lfloor (T - n_w - P) / s \rfloor + 1` windows. Defined in Chapter 7
    (tensors and shapes).

    Parameters
    ----------
    series : Tensor, shape (T,) or (T, F)
        The series; a 1-D series is treated as :math:`F = 1` feature.
    length : int
        :math:`n_w`, the number of input steps per window (>= 1).
    horizon : int, default 1
        :math:`P`, the number of target steps per window (>= 1).
    stride : int, default 1
        :math:`s`, the step between the starts of consecutive windows (>= 1).

    Returns
    -------
    inputs : Tensor, shape (N, L, F)
    targets : Tensor, shape (N, P, F)
        Copies (not views) on the device and with the dtype of ``series``.

    Raises
    ------
    TypeError
        If ``series`` is not a tensor or an argument is not an int.
    ValueError
        If ``series`` is not 1-D or 2-D, an argument is below 1, or the series is shorter
        than :math:`L + P`.

    Examples
    --------
    >>> inputs, targets = sliding_windows(torch.arange(6.0), length=3)
    >>> inputs.shape, targets.shape
    (torch.Size([3, 3, 1]), torch.Size([3, 1, 1]))
    >>> inputs[:, :, 0], targets[:, 0, 0]
    (tensor([[0., 1., 2.],
            [1., 2., 3.],
            [2., 3., 4.]]), tensor([3., 4., 5.]))
    """
    if not isinstance(series, Tensor):
        raise TypeError(f"series must be a torch.Tensor, got {type(series).__name__}")
    if series.dim() not in (1, 2):
        raise ValueError(f"series must have shape (T,) or (T, F), got shape {tuple(series.shape)}")
    length = _positive_int("length", length)
    horizon = _positive_int("horizon", horizon)
    stride = _positive_int("stride", stride)
    if series.dim() == 1:
        series = series.unsqueeze(1)  # (T,) -> (T, 1)
    steps = series.shape[0]
    if steps < length + horizon:
        raise ValueError(
            f"series has {steps} steps, fewer than length + horizon = {length + horizon}"
        )
    # (T, F) -> (N, F, n_w + P): one row per window, the window's steps on the last axis
    windows = series.unfold(0, length + horizon, stride)
    windows = windows.permute(0, 2, 1)  # (N, F, L + P) -> (N, L + P, F)
    return windows[:, :length].clone(), windows[:, length:].clone()


# --------------------------------------------------------------------------------------
# Synthetic data
# --------------------------------------------------------------------------------------
def _finish(X: Tensor, y: Tensor, device: DeviceLike, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    X = X.to(dtype=_float_dtype(dtype))
    if device is not None:
        X, y = X.to(device), y.to(device)
    return X, y


def linear_data(
    n: int,
    weight: Tensor | list[float],
    bias: float = 0.0,
    *,
    noise: float = 0.1,
    seed: int = 0,
    device: DeviceLike = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[Tensor, Tensor]:
    r"""Noisy samples of a linear function, :math:`y = \mathbf{w}^\top \mathbf{x} + b + \epsilon`.

    Inputs are standard normal, :math:`\mathbf{x} \sim \mathcal{N}(0, I_D)`, and the noise
    is :math:`\epsilon \sim \mathcal{N}(0, \sigma^2)` with :math:`\sigma` = ``noise``.

    Parameters
    ----------
    n : int
        Number of samples :math:`N`.
    weight : Tensor or list of float
        The true weights :math:`\mathbf{w}`, shape :math:`(D,)`.
    bias : float, default 0.0
        The true bias :math:`b`.
    noise : float, default 0.1
        Standard deviation :math:`\sigma` of the noise.
    seed : int, default 0
        Seed of the random draws.
    device, dtype
        Where and in which floating-point type to return the tensors.

    Returns
    -------
    X : Tensor, shape (N, D)
    y : Tensor, shape (N,)

    Examples
    --------
    >>> X, y = linear_data(5, [2.0, -1.0], 0.5)
    >>> tuple(X.shape), tuple(y.shape)
    ((5, 2), (5,))
    """
    n = _positive_int("n", n)
    noise = _non_negative("noise", noise)
    w = torch.as_tensor(weight, dtype=torch.float64).cpu()
    if w.ndim != 1 or w.numel() == 0:
        raise ValueError(f"weight must be a non-empty 1-D vector, got shape {tuple(w.shape)}")
    g = _generator(seed)
    X = torch.randn(n, w.numel(), generator=g, dtype=torch.float64)
    y = (
        X @ w
        + _checks.number("bias", bias)
        + noise * torch.randn(n, generator=g, dtype=torch.float64)
    )
    return _finish(X, y.to(_float_dtype(dtype)), device, dtype)


def two_moons(
    n: int,
    *,
    noise: float = 0.1,
    seed: int = 0,
    device: DeviceLike = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[Tensor, Tensor]:
    r"""Two interleaving half circles, labels 0 (upper) and 1 (lower).

    Class 0 lies on :math:`(\cos t, \sin t)` and class 1 on :math:`(1 - \cos t, 0.5 - \sin t)`
    for :math:`t \in [0, \pi]`, plus Gaussian noise of standard deviation ``noise``.

    Returns
    -------
    X : Tensor, shape (N, 2)
    y : Tensor, shape (N,), int64
    """
    n = _positive_int("n", n, 2)
    noise = _non_negative("noise", noise)
    g = _generator(seed)
    n0 = n // 2
    y = torch.cat([torch.zeros(n0, dtype=torch.int64), torch.ones(n - n0, dtype=torch.int64)])
    t = torch.rand(n, generator=g, dtype=torch.float64) * math.pi
    upper = torch.stack([torch.cos(t), torch.sin(t)], dim=1)
    lower = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], dim=1)
    X = torch.where((y == 0)[:, None], upper, lower)
    X = X + noise * torch.randn(n, 2, generator=g, dtype=torch.float64)
    return _finish(X, y, device, dtype)


def spirals(
    n: int,
    *,
    classes: int = 2,
    turns: float = 1.5,
    noise: float = 0.05,
    seed: int = 0,
    device: DeviceLike = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[Tensor, Tensor]:
    r"""Interleaved spiral arms, one per class.

    Arm :math:`k` is :math:`r(\cos\theta, \sin\theta)` with :math:`r \in [0, 1]` and
    :math:`\theta = 2\pi(\text{turns}\cdot r + k/K)`, plus Gaussian noise.

    Returns
    -------
    X : Tensor, shape (N, 2)
    y : Tensor, shape (N,), int64 in ``range(classes)``
    """
    n = _positive_int("n", n)
    classes = _positive_int("classes", classes, 2)
    noise = _non_negative("noise", noise)
    turns = _non_negative("turns", turns)
    g = _generator(seed)
    y = torch.arange(n) % classes
    r = torch.rand(n, generator=g, dtype=torch.float64)
    theta = 2 * math.pi * (turns * r + y.double() / classes)
    X = torch.stack([r * torch.cos(theta), r * torch.sin(theta)], dim=1)
    X = X + noise * torch.randn(n, 2, generator=g, dtype=torch.float64)
    return _finish(X, y, device, dtype)


def xor(
    n: int,
    *,
    noise: float = 0.1,
    seed: int = 0,
    device: DeviceLike = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[Tensor, Tensor]:
    r"""Noisy copies of the four XOR corners, label :math:`x_1 \oplus x_2`.

    Corners :math:`(0,0), (0,1), (1,0), (1,1)` are drawn uniformly; the label is 1 exactly
    when the two coordinates of the corner differ.

    Returns
    -------
    X : Tensor, shape (N, 2)
    y : Tensor, shape (N,), int64
    """
    n = _positive_int("n", n)
    noise = _non_negative("noise", noise)
    g = _generator(seed)
    corners = torch.randint(0, 2, (n, 2), generator=g)
    y = (corners[:, 0] ^ corners[:, 1]).to(torch.int64)
    X = corners.double() + noise * torch.randn(n, 2, generator=g, dtype=torch.float64)
    return _finish(X, y, device, dtype)


def gaussian_ring(
    n: int,
    *,
    modes: int = 8,
    radius: float = 2.0,
    std: float = 0.02,
    seed: int = 0,
    device: DeviceLike = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[Tensor, Tensor]:
    r"""A mixture of ``modes`` equal Gaussians on a circle (the GAN mode-collapse benchmark).

    Mode :math:`k` is centred at :math:`R(\cos(2\pi k/K), \sin(2\pi k/K))`.

    Returns
    -------
    X : Tensor, shape (N, 2)
        The samples.
    y : Tensor, shape (N,), int64
        The mode each sample came from.
    """
    n = _positive_int("n", n)
    modes = _positive_int("modes", modes)
    std = _non_negative("std", std)
    radius = _non_negative("radius", radius)
    g = _generator(seed)
    y = torch.randint(0, modes, (n,), generator=g)
    angle = 2 * math.pi * y.double() / modes
    centres = radius * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    X = centres + std * torch.randn(n, 2, generator=g, dtype=torch.float64)
    return _finish(X, y, device, dtype)


def gaussian_grid(
    n: int,
    *,
    side: int = 5,
    spacing: float = 2.0,
    std: float = 0.05,
    seed: int = 0,
    device: DeviceLike = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[Tensor, Tensor]:
    r"""A mixture of ``side`` x ``side`` equal Gaussians on a square grid centred at 0.

    Returns
    -------
    X : Tensor, shape (N, 2)
    y : Tensor, shape (N,), int64
        The mode (row-major grid index) each sample came from.
    """
    n = _positive_int("n", n)
    side = _positive_int("side", side)
    std = _non_negative("std", std)
    spacing = _non_negative("spacing", spacing)
    g = _generator(seed)
    y = torch.randint(0, side * side, (n,), generator=g)
    offset = (side - 1) / 2
    centres = spacing * (torch.stack([y // side, y % side], dim=1).double() - offset)
    X = centres + std * torch.randn(n, 2, generator=g, dtype=torch.float64)
    return _finish(X, y, device, dtype)


# --------------------------------------------------------------------------------------
# Real data shipped inside installed packages
# --------------------------------------------------------------------------------------
def _matplotlib_sample(name: str) -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "sample_data" / name


PhotoName = Literal["china", "flower", "grace_hopper"]
_PHOTOS: tuple[str, ...] = ("china", "flower", "grace_hopper")


def photo(
    name: PhotoName = "grace_hopper",
    device: DeviceLike = None,
    *,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    r"""A real colour photograph as a :math:`(3, H, W)` tensor with values in :math:`[0, 1]`.

    ``"china"`` and ``"flower"`` (427 x 640) ship with scikit-learn; ``"grace_hopper"``
    (600 x 512) ships with matplotlib.

    Raises
    ------
    ValueError
        If ``name`` is not one of the three photographs.
    """
    if name not in _PHOTOS:
        raise ValueError(f"name must be one of {_PHOTOS}, got {name!r}")
    if name == "grace_hopper":
        import matplotlib.image as mimage

        pixels = np.asarray(mimage.imread(_matplotlib_sample("grace_hopper.jpg")))
    else:
        from sklearn.datasets import load_sample_image

        pixels = np.asarray(load_sample_image(f"{name}.jpg"))
    image = torch.as_tensor(pixels.copy()).permute(2, 0, 1)  # (H, W, 3) -> (3, H, W)
    image = image.to(_float_dtype(dtype)) / 255.0
    return image.to(device) if device is not None else image


def stock_prices() -> tuple[np.ndarray, np.ndarray]:
    r"""Daily adjusted closing prices of Google (GOOG), Aug 2004 - Oct 2008, from matplotlib.

    Returns
    -------
    dates : numpy.ndarray of datetime64[D], shape (1047,)
    close : numpy.ndarray of float64, shape (1047,)
    """
    with np.load(_matplotlib_sample("goog.npz")) as archive:
        prices = archive["price_data"]
    return np.asarray(prices["date"]), np.asarray(prices["adj_close"], dtype=np.float64)


def karate_club() -> tuple[Tensor, Tensor]:
    r"""Zachary's karate-club graph (34 members, 78 friendships) from networkx.

    Returns
    -------
    edge_index : Tensor, shape (2, 156), int64
        Both directions of every undirected edge.
    club : Tensor, shape (34,), int64
        0 for members who followed Mr. Hi, 1 for those who followed the Officer.
    """
    import networkx as nx

    graph = nx.karate_club_graph()
    edges = torch.tensor(sorted(graph.edges()), dtype=torch.int64).T  # (E, 2) -> (2, E)
    edge_index = torch.cat([edges, edges.flip(0)], dim=1)
    club = torch.tensor([int(graph.nodes[i]["club"] != "Mr. Hi") for i in range(34)])
    return edge_index, club


def text_corpus() -> str:
    r"""An offline English corpus: the help topics bundled with Python (``pydoc_data``).

    The topics are joined in sorted order of their names, separated by blank lines, so
    the text is the same on every build of a given Python version (about 0.5 MB).
    """
    from pydoc_data.topics import topics

    return "\n\n".join(topics[key].strip() for key in sorted(topics))


def deduplicate_paragraphs(text: str, *, seen: str = "", min_chars: int = 50) -> str:
    r"""Drop every repeat of a paragraph, and every paragraph already in ``seen``.

    The text is cut into paragraphs at blank lines (``"\n\n"``). A paragraph of at least
    ``min_chars`` characters (leading and trailing whitespace stripped) is kept at its
    first occurrence only, and not at all if it also occurs in ``seen``; shorter ones
    (headings, "Changed in version 3.3.") are always kept. The kept paragraphs are joined
    by blank lines again, in their order. With the training text as ``seen``, this
    removes from a validation text what a model could simply recall (exact-duplicate
    removal at the granularity of paragraphs, in the spirit of Lee et al. 2022; Chapter
    13, deduplication).

    Parameters
    ----------
    text : str
    seen : str, default ""
        Text whose paragraphs count as already seen.
    min_chars : int, default 50
        Paragraphs shorter than this are never dropped; 0 drops every repeat.

    Returns
    -------
    str

    Raises
    ------
    TypeError
        If ``text`` or ``seen`` is not a ``str``.
    ValueError
        If ``min_chars`` is not a non-negative integer.

    References
    ----------
    K. Lee, D. Ippolito, A. Nystrom, C. Zhang, D. Eck, C. Callison-Burch and N. Carlini,
    "Deduplicating training data makes language models better", ACL 2022.

    Examples
    --------
    >>> deduplicate_paragraphs("one\n\ntwo\n\none", min_chars=0)
    'one\n\ntwo'
    >>> deduplicate_paragraphs("a\n\nb", seen="b", min_chars=0)
    'a'
    """
    for name, value in (("text", text), ("seen", seen)):
        if not isinstance(value, str):
            raise TypeError(f"`{name}` must be a str, got {type(value).__name__}")
    if isinstance(min_chars, bool) or not isinstance(min_chars, int) or min_chars < 0:
        raise ValueError(f"`min_chars` must be a non-negative int, got {min_chars!r}")
    known = {p.strip() for p in seen.split("\n\n")} if seen else set()
    kept = []
    for paragraph in text.split("\n\n"):
        key = paragraph.strip()
        if len(key) >= min_chars and key in known:
            continue  # a repeat (or already in `seen`)
        known.add(key)
        kept.append(paragraph)
    return "\n\n".join(kept)


# --------------------------------------------------------------------------------------
# IDX files (the MNIST format) and checksum-verified downloads
# --------------------------------------------------------------------------------------
#: IDX type codes (third magic byte) and the big-endian NumPy types they stand for.
IDX_TYPES: Mapping[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def parse_idx(data: bytes) -> np.ndarray:
    r"""Decode an IDX file's bytes (the format MNIST is distributed in) into an array.

    The format is a 4-byte magic number ``0x00 0x00 t d`` (``t`` the element type, ``d``
    the number of dimensions), then ``d`` big-endian unsigned 32-bit sizes, then the
    elements in row-major order, big-endian.

    Parameters
    ----------
    data : bytes
        The whole (uncompressed) file.

    Returns
    -------
    numpy.ndarray
        Array of the stored shape, in native byte order.

    Raises
    ------
    TypeError
        If ``data`` is not bytes-like.
    ValueError
        If the magic number, the type code or the length of the payload is wrong.

    Examples
    --------
    >>> parse_idx(bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 8, 9]))
    array([7, 8, 9], dtype=uint8)
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(
            f"data is not an IDX file: it must start with bytes 0x00 0x00, got {data[:4]!r}"
        )
    code, ndim = data[2], data[3]
    if code not in IDX_TYPES:
        known = ", ".join(f"0x{k:02X}" for k in IDX_TYPES)
        raise ValueError(f"IDX type code 0x{code:02X} is unknown; expected one of {known}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"IDX header promises {ndim} dimensions but the data ends early")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = IDX_TYPES[code]
    expected = math.prod(shape) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(
            f"IDX payload for shape {shape} of {dtype} needs {expected} bytes, "
            f"got {len(data) - header}: the file is truncated or corrupt"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file, gzip-compressed or not (see :func:`parse_idx`)."""
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":  # the gzip magic number
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:  # zlib.error: a corrupt deflate stream
            raise ValueError(
                f"{path} looks gzip-compressed but cannot be decompressed: {err}"
            ) from err
    try:
        return parse_idx(raw)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None


def write_idx(array: np.ndarray, path: str | os.PathLike[str], *, compress: bool = False) -> Path:
    """Write ``array`` as an IDX file (gzip-compressed if ``compress``), atomically."""
    array = np.asarray(array)
    code = next((c for c, t in IDX_TYPES.items() if t == array.dtype.newbyteorder(">")), None)
    if code is None and array.dtype == np.uint8:
        code = 0x08
    if code is None:
        raise TypeError(f"array dtype {array.dtype} has no IDX type code")
    if array.ndim > 255:
        raise ValueError(f"IDX stores at most 255 dimensions, got {array.ndim}")
    big = array.astype(IDX_TYPES[code], copy=False)
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(s).to_bytes(4, "big") for s in array.shape
    )
    payload = header + big.tobytes()
    with atomic_write(path) as handle:
        handle.write(gzip.compress(payload, mtime=0) if compress else payload)
    return Path(path)


def _checksum(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _parse_checksum(checksum: str) -> tuple[str, str]:
    if not isinstance(checksum, str) or ":" not in checksum:
        raise ValueError(f"checksum must look like 'sha256:<hex>' or 'md5:<hex>', got {checksum!r}")
    algorithm, _, hexdigest = checksum.partition(":")
    sizes = {"sha256": 64, "md5": 32}
    if algorithm not in sizes or len(hexdigest) != sizes[algorithm]:
        raise ValueError(f"checksum must look like 'sha256:<hex>' or 'md5:<hex>', got {checksum!r}")
    return algorithm, hexdigest.lower()


def download(
    url: str,
    checksum: str,
    cache_dir: str | os.PathLike[str],
    *,
    filename: str | None = None,
    timeout: float = 60.0,
) -> Path:
    r"""Fetch ``url`` into ``cache_dir`` once, verified by its checksum, written atomically.

    A cached file whose checksum matches is returned without touching the network. A new
    download is streamed into a temporary file beside the destination and hashed as it
    arrives; only if the checksum matches is it renamed into place. A mismatch or an
    interrupted transfer leaves the cache as it was and raises.

    Parameters
    ----------
    url : str
        Where to fetch from (``https://``, ``http://`` or ``file://``).
    checksum : str
        ``"sha256:<64 hex digits>"`` or ``"md5:<32 hex digits>"``.
    cache_dir : path
        Folder for the cached file (created if missing).
    filename : str, optional
        Name in the cache (default: the last part of the URL).
    timeout : float, default 60
        Seconds to wait for the server.

    Returns
    -------
    pathlib.Path
        The verified file.

    Raises
    ------
    ValueError
        If ``checksum`` is malformed or the downloaded bytes do not match it.
    ConnectionError
        If the server sends fewer bytes than it announced (an interrupted transfer).
    """
    algorithm, expected = _parse_checksum(checksum)
    name = filename or url.rstrip("/").rsplit("/", 1)[-1]
    if not name or "/" in name or name in {".", ".."}:
        raise ValueError(f"cannot take a file name from url {url!r}; pass filename=")
    target = Path(cache_dir) / name
    if target.is_file() and _checksum(target, algorithm) == expected:
        return target
    digest = hashlib.new(algorithm)
    with urllib.request.urlopen(url, timeout=timeout) as response, atomic_write(target) as out:
        received = 0
        for block in iter(lambda: response.read(1 << 20), b""):
            digest.update(block)
            out.write(block)
            received += len(block)
        promised = response.headers.get("Content-Length") if response.headers else None
        if promised is not None and promised.isdigit() and received != int(promised):
            raise ConnectionError(
                f"download of {url} was interrupted: received {received} of {promised} bytes; "
                f"the cache ({target}) was left unchanged"
            )
        got = digest.hexdigest()
        if got != expected:
            # Raising inside atomic_write discards the temporary file.
            raise ValueError(
                f"download of {url} has {algorithm} {got}, expected {expected}; "
                f"the cache ({target}) was left unchanged"
            )
    return target


#: Where :func:`load_mnist` fetches from (the mirror torchvision uses).
MNIST_MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"

#: The four MNIST files and their MD5 checksums (the values torchvision verifies).
MNIST_FILES: Mapping[str, str] = {
    "train-images-idx3-ubyte.gz": "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "md5:d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "md5:9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "md5:ec29112dd5afa0611ce80d1b7f02629c",
}


def load_mnist(
    root: str | os.PathLike[str],
    *,
    download_missing: bool = False,
    validation: int = 10_000,
    mirror: str = MNIST_MIRROR,
    files: Mapping[str, str] = MNIST_FILES,
    device: DeviceLike = None,
    dtype: torch.dtype = torch.float32,
) -> Split:
    r"""MNIST from IDX files in ``root``, for readers with the files or a network.

    The book never calls this while it builds. The last ``validation`` training images
    become the validation set; pixels are scaled to :math:`[0, 1]`; images have shape
    :math:`(N, 1, 28, 28)`.

    Parameters
    ----------
    root : path
        Folder holding (or to receive) the four files named in ``files``.
    download_missing : bool, default False
        Fetch missing files from ``mirror`` with :func:`download`.
    validation : int, default 10000
        How many training images to hold out.
    mirror, files
        Where to download from, and the file names with their checksums.

    Raises
    ------
    FileNotFoundError
        If a file is missing and ``download_missing`` is False.
    ValueError
        If a file is corrupt or the images and labels disagree.
    """
    root = Path(root)
    names = list(files)
    if len(names) != 4:
        raise ValueError(f"files must name 4 files (train/test images/labels), got {len(names)}")
    paths: list[Path] = []
    for name in names:
        path = root / name
        if download_missing:
            path = download(mirror.rstrip("/") + "/" + name, files[name], root)
        elif not path.is_file():
            raise FileNotFoundError(f"{path} is missing; pass download_missing=True to fetch it")
        paths.append(path)
    train_x, train_y, test_x, test_y = (read_idx(p) for p in paths)
    for x, y, part in ((train_x, train_y, "train"), (test_x, test_y, "test")):
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(
                f"MNIST {part} images {x.shape} and labels {y.shape} do not match: expected "
                "(N, H, W) images and (N,) labels"
            )
    if not 0 <= validation < len(train_x):
        raise ValueError(f"validation must lie in [0, {len(train_x)}), got {validation}")
    dtype = _float_dtype(dtype)

    def images(x: np.ndarray) -> Tensor:
        return torch.as_tensor(x.astype(np.float32) / 255.0, dtype=dtype)[:, None]  # (N,1,H,W)

    def labels(y: np.ndarray) -> Tensor:
        return torch.as_tensor(y.astype(np.int64))

    cut = len(train_x) - validation
    split = Split(
        X_train=images(train_x[:cut]),
        y_train=labels(train_y[:cut]),
        X_val=images(train_x[cut:]),
        y_val=labels(train_y[cut:]),
        X_test=images(test_x),
        y_test=labels(test_y),
    )
    return split.to(device) if device is not None else split


# Every public function checks devices and numpy scalars the same way (dlbook._checks).
_checks.guard_module(globals(), __all__)
