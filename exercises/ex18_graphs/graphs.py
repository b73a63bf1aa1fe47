"""Exercise set 18: learning on graphs (statements in README.md beside this file).

Replace each ``raise NotImplementedError(...)`` with your code, then grade your work:

    make grade EX=ex18_graphs

You may use torch and math (not torch_geometric). The dlbook function each exercise is
graded against is switched off while your code runs.
"""

from __future__ import annotations

import math  # noqa: F401 (you may want it)

import torch  # noqa: F401 (you will want it)
from torch import Tensor


def normalized_adjacency(adjacency: Tensor, *, add_self_loops: bool = True) -> Tensor:
    """Exercise 18.1: D~^-1/2 (A + I) D~^-1/2 of a dense (N, N) adjacency matrix."""
    raise NotImplementedError("Exercise 18.1: normalized_adjacency")


def gcn_conv(
    x: Tensor,
    edge_index: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    *,
    edge_weight: Tensor | None = None,
) -> Tensor:
    """Exercise 18.2: the GCN layer A_hat X W^T + b, computed from the (2, E) edge list."""
    raise NotImplementedError("Exercise 18.2: gcn_conv")


def propagate(
    x: Tensor,
    edge_index: Tensor,
    edge_weight: Tensor | None = None,
    *,
    aggr: str = "sum",
) -> Tensor:
    """Exercise 18.3: one round of message passing with "sum", "mean" or "max"."""
    raise NotImplementedError("Exercise 18.3: propagate")


def label_propagation(
    adjacency: Tensor,
    y: Tensor,
    train_mask: Tensor,
    *,
    num_classes: int | None = None,
) -> Tensor:
    """Exercise 18.4: the harmonic label distributions (N, K), labelled rows clamped."""
    raise NotImplementedError("Exercise 18.4: label_propagation")


def classify_nodes(x: Tensor, edge_index: Tensor, y: Tensor, train_mask: Tensor) -> Tensor:
    """Exercise 18.5 (open): predict the class (int64, shape (N,)) of every node."""
    raise NotImplementedError("Exercise 18.5: classify_nodes")
