r"""The book's figures: one style, and the plots every chapter reuses.

Plotting lives here and only here (the maths modules never draw). Every function takes an
optional ``ax`` and returns the Axes or Figure it drew on, so a chapter can adjust it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import matplotlib.pyplot as plt
import numpy as np
import torch
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from torch import Tensor

from dlbook.train import History

__all__ = ["PALETTE", "STYLE", "decision_boundary", "image_grid", "plot_history", "use_style"]

#: Qualitative palette for classes and curves: Okabe & Ito's eight colour-blind-safe
#: colours (blue first), then a grey and a wine red for the ninth and tenth class.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#000000",
    "#999999",
    "#882255",
)

#: The book's matplotlib settings (applied by :func:`use_style`).
STYLE: Mapping[str, Any] = {
    "figure.figsize": (6.0, 3.6),
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.prop_cycle": cycler(color=list(PALETTE)),
    "legend.frameon": False,
    "image.cmap": "viridis",
    "lines.linewidth": 1.8,
}


def use_style() -> None:
    """Apply the book's figure style to every later matplotlib figure in this session."""
    # cast: matplotlib types rcParams by its literal key names, STYLE by plain str.
    plt.rcParams.update(cast("dict[Any, Any]", STYLE))


def _new_axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    _, new = plt.subplots()
    return new


def _numpy(array: Tensor | np.ndarray) -> np.ndarray:
    if isinstance(array, Tensor):
        return array.detach().cpu().numpy()
    return np.asarray(array)


def plot_history(
    history: History,
    metrics: Sequence[str] | None = None,
    *,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Plot per-epoch curves from a :class:`~dlbook.train.History`, one line per metric.

    Parameters
    ----------
    history : History
        The record returned by :func:`dlbook.train.fit`.
    metrics : sequence of str, optional
        Which curves to draw (default: every loss, i.e. names ending in ``loss``).
    ax : Axes, optional
        Where to draw (default: a new figure).

    Raises
    ------
    ValueError
        If the history is empty.
    KeyError
        If a requested metric was not recorded.
    """
    if len(history) == 0:
        raise ValueError("history is empty: train for at least one epoch first")
    names = (
        list(metrics) if metrics is not None else [k for k in history.metrics if k.endswith("loss")]
    )
    ax = _new_axes(ax)
    for name in names:
        ax.plot(history.epochs, history[name], marker="o", markersize=3, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(names[0] if len(names) == 1 else "value")
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


def image_grid(
    images: Tensor | np.ndarray,
    labels: Sequence[Any] | Tensor | None = None,
    *,
    ncols: int = 8,
    cmap: str = "gray_r",
    size: float = 0.9,
) -> Figure:
    r"""Show images in a grid, each titled with its label.

    Parameters
    ----------
    images : Tensor or ndarray
        Shape :math:`(N, H, W)`, :math:`(N, 1, H, W)` or :math:`(N, 3, H, W)` (channels
        first, as in PyTorch), or :math:`(N, D)` with :math:`D` a perfect square.
    labels : sequence, optional
        One title per image.
    ncols : int, default 8
    cmap : str, default "gray_r"
        Colour map for one-channel images.
    size : float, default 0.9
        Inches per image.
    """
    array = _numpy(images)
    if array.ndim == 2:
        side = round(float(np.sqrt(array.shape[1])))
        if side * side != array.shape[1]:
            raise ValueError(f"images of shape {array.shape} are not square when unflattened")
        array = array.reshape(-1, side, side)  # (N, D) -> (N, H, W)
    if array.ndim == 4:
        if array.shape[1] not in (1, 3):
            raise ValueError(f"images must have 1 or 3 channels, got shape {array.shape}")
        array = array.transpose(0, 2, 3, 1)  # (N, C, H, W) -> (N, H, W, C)
        if array.shape[-1] == 1:
            array = array[..., 0]
    if array.ndim not in (3, 4) or len(array) == 0:
        raise ValueError(f"images must be a non-empty batch of images, got shape {array.shape}")
    if labels is not None and len(labels) != len(array):
        raise ValueError(f"got {len(labels)} labels for {len(array)} images")
    n = len(array)
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols, size * nrows * 1.15), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= n:
            continue
        ax.imshow(array[i], cmap=cmap if array[i].ndim == 2 else None)
        if labels is not None:
            label = labels[i]
            ax.set_title(str(label.item() if isinstance(label, Tensor) else label), fontsize=8)
    fig.tight_layout(pad=0.2)
    return fig


def decision_boundary(
    predict: Callable[[Tensor], Tensor],
    X: Tensor,
    y: Tensor,
    *,
    ax: Axes | None = None,
    resolution: int = 200,
    margin: float = 0.1,
) -> Axes:
    r"""Colour the plane by a classifier's prediction and scatter the data on top.

    Parameters
    ----------
    predict : callable
        Maps points of shape :math:`(M, 2)` (on ``X``'s device and dtype) to integer
        labels of shape :math:`(M,)`.
    X : Tensor, shape (N, 2)
    y : Tensor, shape (N,)
    resolution : int, default 200
        Grid points per axis.
    margin : float, default 0.1
        Extra room around the data, as a fraction of its range.
    """
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (N, 2), got {tuple(X.shape)}")
    if y.shape != X.shape[:1]:
        raise ValueError(f"y must have shape ({X.shape[0]},), got {tuple(y.shape)}")
    lo, hi = X.min(dim=0).values, X.max(dim=0).values
    pad = margin * (hi - lo)
    xs = torch.linspace(float(lo[0] - pad[0]), float(hi[0] + pad[0]), resolution)
    ys = torch.linspace(float(lo[1] - pad[1]), float(hi[1] + pad[1]), resolution)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")  # (R, R) each
    grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)  # (R*R, 2)
    with torch.no_grad():
        pred = predict(grid.to(device=X.device, dtype=X.dtype))
    labels = _numpy(y).astype(int)
    classes = int(max(labels.max(), int(pred.max()))) + 1
    cmap = ListedColormap(list(PALETTE[:classes]))
    ax = _new_axes(ax)
    ax.contourf(
        _numpy(gx),
        _numpy(gy),
        _numpy(pred).reshape(resolution, resolution),
        levels=np.arange(classes + 1) - 0.5,
        cmap=cmap,
        alpha=0.25,
    )
    points = _numpy(X)
    ax.scatter(
        points[:, 0],
        points[:, 1],
        c=labels,
        cmap=cmap,
        vmin=-0.5,
        vmax=classes - 0.5,
        s=12,
        edgecolors="white",
        linewidths=0.3,
    )
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.grid(False)
    return ax
