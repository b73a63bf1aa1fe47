r"""Learning on graphs (Chapter 18): adjacency matrices, message passing, the GCN layer of
Kipf and Welling, label propagation, and a measure of over-smoothing.

A graph with :math:`N` nodes is given either as an ``edge_index`` of shape ``(2, E)``, whose
column :math:`e` is an edge from node ``edge_index[0, e]`` (the source :math:`j`) to node
``edge_index[1, e]`` (the target :math:`i`), exactly as in PyTorch Geometric, or as a dense
adjacency matrix :math:`A` of shape ``(N, N)`` with :math:`A_{ij}` the weight of the edge
:math:`j \to i`. Row :math:`i` of :math:`A` lists the nodes that send messages to
:math:`i`, so one round of message passing with sum aggregation is :math:`A X`. An undirected
graph stores each edge in both directions and has a symmetric :math:`A`.

Examples
--------
>>> edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])  # the path 0 - 1 - 2
>>> to_dense_adjacency(edge_index, 3)
tensor([[0., 1., 0.],
        [1., 0., 1.],
        [0., 1., 0.]])
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlbook import _checks as chk

__all__ = [
    "GCN",
    "GCNConv",
    "classify_nodes",
    "dirichlet_energy",
    "gcn_conv",
    "label_propagation",
    "normalized_adjacency",
    "propagate",
    "to_dense_adjacency",
]

Aggregation = Literal["sum", "mean", "max"]


# --------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------
def _edge_index(edge_index: object, num_nodes: int | None = None) -> Tensor:
    """An integer (2, E) tensor with entries in [0, num_nodes), as int64."""
    ei = chk.tensor("edge_index", edge_index, ndim=2)
    if ei.dtype.is_floating_point or ei.dtype.is_complex or ei.dtype == torch.bool:
        raise TypeError(f"`edge_index` must hold integer node indices, got dtype {ei.dtype}")
    if ei.shape[0] != 2:
        raise ValueError(f"`edge_index` must have shape (2, E), got {tuple(ei.shape)}")
    ei = ei.long()
    if num_nodes is not None and ei.numel() and ei.device.type != "meta":
        lo, hi = int(ei.min()), int(ei.max())
        if lo < 0 or hi >= num_nodes:
            raise ValueError(
                f"`edge_index` must hold node indices in [0, {num_nodes}), got values from "
                f"{lo} to {hi}"
            )
    return ei


def _edge_weight(edge_weight: Tensor | None, ei: Tensor, like: Tensor) -> Tensor:
    """Edge weights of shape (E,) in the dtype and on the device of ``like`` (ones if None)."""
    if edge_weight is None:
        return torch.ones(ei.shape[1], dtype=like.dtype, device=like.device)
    w = chk.float_tensor("edge_weight", edge_weight, ndim=1)
    chk.shape("edge_weight", w, (ei.shape[1],), "(one weight per edge)")
    chk.same_device(x=like, edge_weight=w)
    return w.to(like.dtype)


def _square(name: str, adjacency: object) -> Tensor:
    """A dense, floating-point (N, N) matrix."""
    A = chk.float_tensor(name, adjacency, ndim=2)
    if A.layout != torch.strided:
        A = A.to_dense()
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"`{name}` must be square (N, N), got shape {tuple(A.shape)}")
    return A


# --------------------------------------------------------------------------------------
# 18.1 Graphs as matrices
# --------------------------------------------------------------------------------------
def to_dense_adjacency(
    edge_index: Tensor,
    num_nodes: int | None = None,
    edge_weight: Tensor | None = None,
    *,
    dtype: torch.dtype | None = None,
) -> Tensor:
    r"""The dense adjacency matrix of a graph given by its edge list.

    .. math::

        A_{ij} = \sum_{e:\ j \to i} w_e

    (Chapter 18, :ref:`ch-graphs`): row :math:`i` collects the edges *into* node
    :math:`i`; repeated edges add up. This is the transpose of
    ``torch_geometric.utils.to_dense_adj(edge_index)[0]``, and for an undirected graph
    (each edge stored both ways) the same matrix.

    Parameters
    ----------
    edge_index : Tensor, shape (2, E), any integer dtype
        Column :math:`e` is an edge from ``edge_index[0, e]`` to ``edge_index[1, e]``.
    num_nodes : int, optional
        :math:`N` (default: one more than the largest index; give it for isolated nodes).
    edge_weight : Tensor, shape (E,), optional
        :math:`w_e` (default: ones).
    dtype : torch.dtype, optional
        Of the result (default: that of ``edge_weight``, else the default float dtype).

    Returns
    -------
    Tensor, shape (N, N), on the device of ``edge_index``

    Raises
    ------
    TypeError
        If ``edge_index`` is not an integer tensor or ``edge_weight`` not a float one.
    ValueError
        If ``edge_index`` is not (2, E), an index lies outside [0, N), or ``edge_weight``
        does not have shape (E,).

    References
    ----------
    .. [1] M. Fey, J. E. Lenssen, "Fast graph representation learning with PyTorch
       Geometric", ICLR Workshop 2019.

    Examples
    --------
    >>> to_dense_adjacency(torch.tensor([[0], [1]]), 3)  # one edge 0 -> 1, node 2 isolated
    tensor([[0., 0., 0.],
            [1., 0., 0.],
            [0., 0., 0.]])
    """
    ei = _edge_index(edge_index)
    if num_nodes is None:
        num_nodes = int(ei.max()) + 1 if ei.numel() else 0
    num_nodes = chk.positive_int("num_nodes", num_nodes, minimum=0)
    ei = _edge_index(ei, num_nodes)
    if dtype is None:
        dtype = edge_weight.dtype if isinstance(edge_weight, Tensor) else torch.get_default_dtype()
    like = torch.empty(0, dtype=dtype, device=ei.device)
    w = _edge_weight(edge_weight, ei, like)
    A = torch.zeros(num_nodes, num_nodes, dtype=dtype, device=ei.device)
    # A[target, source] += w, duplicates accumulate
    A.index_put_((ei[1], ei[0]), w, accumulate=True)
    return A


def normalized_adjacency(adjacency: Tensor, *, add_self_loops: bool = True) -> Tensor:
    r"""The renormalised adjacency matrix of the GCN layer.

    .. math::

        \hat A = \tilde D^{-1/2} \tilde A \tilde D^{-1/2}, \qquad
        \tilde A = A + I, \qquad \tilde D_{ii} = \textstyle\sum_j \tilde A_{ij}

    (Chapter 18, :ref:`ch-graphs`, the "renormalisation trick" of Kipf and Welling). As in
    PyTorch Geometric, a node that already has a self-loop keeps its weight instead of
    gaining a second one, and a node of degree zero (possible only without self-loops) gets
    a zero row and column instead of a division by zero.

    Parameters
    ----------
    adjacency : Tensor, shape (N, N), floating point
        :math:`A` (dense or a torch sparse matrix), row :math:`i` holding the edges into
        node :math:`i`.
    add_self_loops : bool, default True
        Add the identity first (:math:`\tilde A`); if false, normalise :math:`A` itself.

    Returns
    -------
    Tensor, shape (N, N), dense, of ``adjacency``'s dtype and device

    Raises
    ------
    TypeError
        If ``adjacency`` is not a floating-point tensor.
    ValueError
        If it is not square, or has a negative row sum.

    References
    ----------
    .. [1] T. N. Kipf, M. Welling, "Semi-supervised classification with graph
       convolutional networks", ICLR 2017, eq. (8).

    Examples
    --------
    >>> A = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    >>> normalized_adjacency(A)
    tensor([[0.5000, 0.5000],
            [0.5000, 0.5000]])
    """
    A = _square("adjacency", adjacency)
    if add_self_loops:
        diagonal = torch.diagonal(A)
        # "remaining" self-loops: weight 1 only where there is none yet
        A = A + torch.diag(torch.where(diagonal == 0, torch.ones_like(diagonal), 0.0))
    degree = A.sum(dim=1)
    if A.numel() and A.device.type != "meta" and bool((degree < 0).any()):
        raise ValueError("`adjacency` must have non-negative row sums (degrees)")
    d_inv_sqrt = torch.where(degree > 0, degree.clamp_min(1e-300).rsqrt(), 0.0)
    # D^{-1/2} A D^{-1/2}: scale row i by d_i^{-1/2} and column j by d_j^{-1/2}
    return d_inv_sqrt[:, None] * A * d_inv_sqrt[None, :]


# --------------------------------------------------------------------------------------
# 18.2 Message passing
# --------------------------------------------------------------------------------------
def propagate(
    x: Tensor,
    edge_index: Tensor,
    edge_weight: Tensor | None = None,
    *,
    aggr: Aggregation = "sum",
) -> Tensor:
    r"""One round of message passing: every node aggregates the weighted features of the
    nodes with an edge into it.

    .. math::

        \mathbf{h}_i = \operatorname*{AGG}_{e:\ j \to i}\; w_e\, \vx_j, \qquad
        \operatorname{AGG} \in \{\textstyle\sum, \text{mean}, \max\}

    (Chapter 18, :ref:`ch-graphs`). With ``"sum"`` this is :math:`A X`. A node that no edge
    enters gets zeros, as in PyTorch Geometric's ``SimpleConv``; the mean divides by the
    number of incoming edges, the maximum is taken feature by feature.

    Parameters
    ----------
    x : Tensor, shape (N, F), floating point
        One row of features per node.
    edge_index : Tensor, shape (2, E), any integer dtype
        Edges from ``edge_index[0]`` to ``edge_index[1]``, on ``x``'s device.
    edge_weight : Tensor, shape (E,), optional
        :math:`w_e` (default: ones).
    aggr : {"sum", "mean", "max"}, default "sum"

    Returns
    -------
    Tensor, shape (N, F), of ``x``'s dtype and device

    Raises
    ------
    TypeError
        If ``x`` is not a floating-point tensor or ``edge_index`` not an integer one.
    ValueError
        If a shape is wrong, an index lies outside [0, N), the tensors are on different
        devices, or ``aggr`` is unknown.

    References
    ----------
    .. [1] J. Gilmer, S. S. Schoenholz, P. F. Riley, O. Vinyals, G. E. Dahl, "Neural
       message passing for quantum chemistry", ICML 2017.

    Examples
    --------
    >>> x = torch.tensor([[1.0], [2.0], [4.0]])
    >>> ei = torch.tensor([[0, 1, 2], [2, 2, 0]])  # 0 -> 2, 1 -> 2, 2 -> 0
    >>> propagate(x, ei, aggr="sum").ravel().tolist(), propagate(x, ei, aggr="max").ravel().tolist()
    ([4.0, 0.0, 3.0], [4.0, 0.0, 2.0])
    """
    x = chk.float_tensor("x", x, ndim=2)
    N = x.shape[0]
    ei = chk.tensor("edge_index", edge_index, ndim=2)
    chk.same_device(x=x, edge_index=ei)
    ei = _edge_index(ei, N)
    w = _edge_weight(edge_weight, ei, x)
    if aggr not in ("sum", "mean", "max"):
        raise ValueError(f"`aggr` must be 'sum', 'mean' or 'max', got {aggr!r}")
    source, target = ei[0], ei[1]
    messages = w[:, None] * x[source]  # (E, F): w_e x_j for each edge j -> i
    index = target[:, None].expand_as(messages)  # (E, F)
    if aggr == "max":
        out = torch.zeros_like(x).scatter_reduce(0, index, messages, "amax", include_self=False)
        return out
    out = torch.zeros_like(x).index_add(0, target, messages)
    if aggr == "mean":
        count = torch.zeros(N, dtype=x.dtype, device=x.device).index_add(
            0, target, torch.ones_like(w)
        )
        out = out / count.clamp_min(1.0)[:, None]
    return out


# --------------------------------------------------------------------------------------
# 18.3 The GCN layer
# --------------------------------------------------------------------------------------
def _gcn_edges(
    edge_index: Tensor,
    num_nodes: int,
    edge_weight: Tensor,
    add_self_loops: bool,
    normalize: bool,
) -> tuple[Tensor, Tensor]:
    """Edges and weights of \\hat A: self-loops added where missing, then D^-1/2 A D^-1/2."""
    if add_self_loops:
        is_loop = edge_index[0] == edge_index[1]
        # a node with a self-loop keeps its weight (PyG's add_remaining_self_loops);
        # repeated self-loops add up, as in the dense matrix
        loops = edge_index[0][is_loop]
        zeros = torch.zeros(num_nodes, dtype=edge_weight.dtype, device=edge_weight.device)
        has_loop = zeros.index_add(0, loops, torch.ones_like(edge_weight[is_loop])) > 0
        loop_weight = torch.where(has_loop, zeros.index_add(0, loops, edge_weight[is_loop]), 1.0)
        nodes = torch.arange(num_nodes, device=edge_index.device)
        edge_index = torch.cat([edge_index[:, ~is_loop], torch.stack([nodes, nodes])], dim=1)
        edge_weight = torch.cat([edge_weight[~is_loop], loop_weight])
    if normalize:
        degree = torch.zeros(num_nodes, dtype=edge_weight.dtype, device=edge_weight.device)
        degree = degree.index_add(0, edge_index[1], edge_weight)  # in-degree of each target
        d_inv_sqrt = torch.where(degree > 0, degree.clamp_min(1e-300).rsqrt(), 0.0)
        edge_weight = d_inv_sqrt[edge_index[0]] * edge_weight * d_inv_sqrt[edge_index[1]]
    return edge_index, edge_weight


def gcn_conv(
    x: Tensor,
    edge_index: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    *,
    edge_weight: Tensor | None = None,
    add_self_loops: bool | None = None,
    normalize: bool = True,
) -> Tensor:
    r"""The graph convolutional layer of Kipf and Welling, before its nonlinearity.

    .. math::

        H = \hat A X W^\top + \mathbf{1}\mathbf{b}^\top, \qquad
        \hat A = \tilde D^{-1/2}(A + I)\tilde D^{-1/2}

    (Chapter 18, :ref:`ch-graphs`), computed edge by edge, never forming :math:`\hat A`.
    :math:`W` has the shape ``(out, in)`` of ``nn.Linear``'s weight. It gives the output of
    ``torch_geometric.nn.GCNConv`` with the same weights (``lin.weight`` and ``bias``).

    Parameters
    ----------
    x : Tensor, shape (N, in), floating point
    edge_index : Tensor
        Either the edges, shape (2, E), any integer dtype, from ``edge_index[0]`` to
        ``edge_index[1]``; or a torch sparse (COO or CSR) adjacency matrix of shape (N, N)
        whose entry :math:`(i, j)` is the weight of the edge :math:`j \to i` (what PyG calls
        ``adj_t``; its values are the edge weights).
    weight : Tensor, shape (out, in)
    bias : Tensor, shape (out,), optional
    edge_weight : Tensor, shape (E,), optional
        With a (2, E) ``edge_index`` only (default: ones).
    add_self_loops : bool, optional
        Add :math:`I` where a node has no self-loop (an existing one keeps its weight;
        PyG keeps only one of several repeated self-loops, this function their sum).
        Default: ``normalize``, as in PyG.
    normalize : bool, default True
        Apply :math:`\tilde D^{-1/2} \cdot \tilde D^{-1/2}`; if false, sum the messages.

    Returns
    -------
    Tensor, shape (N, out), of ``x``'s dtype and device

    Raises
    ------
    TypeError
        If ``x``, ``weight`` or ``bias`` is not floating point, or their dtypes differ.
    ValueError
        If a shape is wrong, an index lies outside [0, N), the tensors are on different
        devices, or self-loops are asked for without normalisation (as PyG refuses).

    References
    ----------
    .. [1] T. N. Kipf, M. Welling, "Semi-supervised classification with graph
       convolutional networks", ICLR 2017, eq. (2).

    Examples
    --------
    >>> x = torch.tensor([[1.0], [3.0]])
    >>> ei = torch.tensor([[0, 1], [1, 0]])  # one undirected edge
    >>> gcn_conv(x, ei, torch.tensor([[1.0]]))  # both get the mean of the two
    tensor([[2.0000],
            [2.0000]])
    """
    if add_self_loops is None:
        add_self_loops = normalize
    if add_self_loops and not normalize:
        raise ValueError("`add_self_loops=True` needs `normalize=True` (as in PyG's GCNConv)")
    x = chk.float_tensor("x", x, ndim=2)
    W = chk.float_tensor("weight", weight, ndim=2)
    chk.shape("weight", W, (None, x.shape[1]), f"(out, in) with in = {x.shape[1]}")
    chk.same_device(x=x, weight=W, bias=bias)
    chk.same_dtype(x=x, weight=W)
    if bias is not None:
        b = chk.float_tensor("bias", bias, ndim=1)
        chk.shape("bias", b, (W.shape[0],), "(out,)")
        chk.same_dtype(x=x, bias=b)
    N = x.shape[0]
    if isinstance(edge_index, Tensor) and edge_index.layout != torch.strided:
        if edge_weight is not None:
            raise ValueError("`edge_weight` must be None when `edge_index` is a sparse matrix")
        adj = edge_index
        if adj.ndim != 2 or tuple(adj.shape) != (N, N):
            raise ValueError(
                f"a sparse `edge_index` must be an (N, N) = ({N}, {N}) matrix, got shape "
                f"{tuple(adj.shape)}"
            )
        chk.same_device(x=x, edge_index=adj)
        coo = adj.to_sparse_coo().coalesce()
        ei = coo.indices().flip(0)  # (target, source) -> (source, target)
        w = coo.values().to(x.dtype)
    else:
        ei = chk.tensor("edge_index", edge_index, ndim=2)
        chk.same_device(x=x, edge_index=ei)
        ei = _edge_index(ei, N)
        w = _edge_weight(edge_weight, ei, x)
    ei, w = _gcn_edges(ei, N, w, add_self_loops, normalize)
    out = propagate(x @ W.T, ei, w, aggr="sum")  # \hat A (X W^T)
    return out if bias is None else out + bias


class GCNConv(nn.Module):
    r"""A GCN layer with its parameters, loading ``torch_geometric.nn.GCNConv``'s
    ``state_dict`` (keys ``lin.weight`` of shape (out, in) and ``bias``).

    .. math::

        H = \hat A X W^\top + \mathbf{1}\mathbf{b}^\top

    (Chapter 18, :ref:`ch-graphs`). :math:`W` starts Glorot-uniform and :math:`\mathbf{b}`
    at zero, as in PyTorch Geometric.

    Parameters
    ----------
    in_channels, out_channels : int
    add_self_loops : bool, optional
        Default: ``normalize``.
    normalize : bool, default True
    bias : bool, default True

    Raises
    ------
    ValueError
        If a channel count is not a positive int, or ``add_self_loops`` is true while
        ``normalize`` is false.

    References
    ----------
    .. [1] T. N. Kipf, M. Welling, "Semi-supervised classification with graph
       convolutional networks", ICLR 2017.

    Examples
    --------
    >>> layer = GCNConv(3, 2)
    >>> sorted(layer.state_dict())
    ['bias', 'lin.weight']
    >>> layer(torch.ones(4, 3), torch.tensor([[0, 1], [1, 0]])).shape
    torch.Size([4, 2])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        add_self_loops: bool | None = None,
        normalize: bool = True,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if add_self_loops is None:
            add_self_loops = normalize
        if add_self_loops and not normalize:
            raise ValueError("`add_self_loops=True` needs `normalize=True` (as in PyG)")
        self.in_channels = chk.positive_int("in_channels", in_channels)
        self.out_channels = chk.positive_int("out_channels", out_channels)
        self.add_self_loops = add_self_loops
        self.normalize = normalize
        self.lin = nn.Linear(in_channels, out_channels, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        nn.init.xavier_uniform_(self.lin.weight)

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        """Apply the layer to node features ``x`` (N, in_channels)."""
        return gcn_conv(
            x,
            edge_index,
            self.lin.weight,
            self.bias,
            edge_weight=edge_weight,
            add_self_loops=self.add_self_loops,
            normalize=self.normalize,
        )

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}"


class GCN(nn.Module):
    r"""Kipf and Welling's two-layer network for node classification.

    .. math::

        Z = \hat A\, \operatorname{dropout}\bigl(\operatorname{ReLU}(\hat A X W_1^\top +
        \mathbf{b}_1)\bigr) W_2^\top + \mathbf{b}_2

    (Chapter 18, :ref:`ch-graphs`, eq. (9) of the paper without its softmax: :math:`Z` are
    logits). Dropout also acts on the input, as in the paper's code.

    Parameters
    ----------
    in_channels, hidden_channels, num_classes : int
    dropout : float, default 0.5

    Raises
    ------
    ValueError
        If a size is not a positive int or ``dropout`` is outside [0, 1).

    Examples
    --------
    >>> model = GCN(4, 8, 2)
    >>> model(torch.eye(4), torch.tensor([[0, 1], [1, 0]])).shape
    torch.Size([4, 2])
    """

    def __init__(
        self, in_channels: int, hidden_channels: int, num_classes: int, *, dropout: float = 0.5
    ) -> None:
        super().__init__()
        self.conv1 = GCNConv(in_channels, hidden_channels)
        self.conv2 = GCNConv(hidden_channels, num_classes)
        self.dropout = chk.probability("dropout", dropout, closed=False)

    def forward(
        self, x: Tensor, edge_index: Tensor, *, return_hidden: bool = False
    ) -> Tensor | tuple[Tensor, Tensor]:
        """Logits (N, num_classes); with ``return_hidden`` also the hidden layer (N, hidden)."""
        x = F.dropout(x, self.dropout, self.training)
        hidden = torch.relu(self.conv1(x, edge_index))
        logits = self.conv2(F.dropout(hidden, self.dropout, self.training), edge_index)
        return (logits, hidden) if return_hidden else logits


def classify_nodes(
    x: Tensor,
    edge_index: Tensor,
    y: Tensor,
    train_mask: Tensor,
    *,
    hidden_channels: int = 16,
    steps: int = 200,
    lr: float = 0.01,
    weight_decay: float = 5e-4,
    seed: int = 0,
) -> Tensor:
    r"""Semi-supervised node classification: train a :class:`GCN` on the labelled nodes
    only, then predict every node.

    .. math::

        \min_{\btheta}\; -\frac{1}{|\mathcal{S}|}\sum_{i \in \mathcal{S}}
        \log \operatorname{softmax}(\mathbf{z}_i)_{y_i} + \frac{\lambda}{2} \lVert\btheta\rVert^2

    (Chapter 18, :ref:`ch-graphs`): full-batch Adam for a fixed number of steps with the
    paper's defaults (16 hidden units, rate 0.01, weight decay :math:`\lambda = 5 \cdot
    10^{-4}`, dropout 0.5), on ``x``'s device, from a fixed seed. Unlike the paper, which
    decays only the first layer's weights and stops early on a validation set, this decays
    every parameter (Adam's ``weight_decay``) and always runs ``steps`` steps.

    Parameters
    ----------
    x : Tensor, shape (N, F), floating point
    edge_index : Tensor, shape (2, E), any integer dtype
    y : Tensor, shape (N,), any integer dtype
        Labels; only those where ``train_mask`` is true are read.
    train_mask : Tensor, shape (N,), bool
    hidden_channels, steps : int
    lr, weight_decay : float
    seed : int
        Seeds the initial weights and the dropout masks.

    Returns
    -------
    Tensor, shape (N,), int64: the predicted class of every node

    Raises
    ------
    TypeError, ValueError
        On a tensor of the wrong kind, shape or device, or no labelled node.

    Examples
    --------
    >>> ei = torch.tensor([[0, 1, 2, 3], [1, 0, 3, 2]])  # two separate edges
    >>> y, mask = torch.tensor([0, 0, 1, 1]), torch.tensor([True, False, True, False])
    >>> classify_nodes(torch.eye(4), ei, y, mask, steps=50).tolist()
    [0, 0, 1, 1]
    """
    x = chk.float_tensor("x", x, ndim=2)
    N = x.shape[0]
    y_all = chk.labels("y", y, shape=(N,), device=x.device)
    mask = chk.tensor("train_mask", train_mask, ndim=1)
    if mask.dtype != torch.bool:
        raise TypeError(f"`train_mask` must be a bool tensor, got dtype {mask.dtype}")
    chk.shape("train_mask", mask, (N,))
    chk.same_device(x=x, train_mask=mask)
    if not bool(mask.any()):
        raise ValueError("`train_mask` must mark at least one labelled node")
    ei = chk.tensor("edge_index", edge_index, ndim=2)
    chk.same_device(x=x, edge_index=ei)
    ei = _edge_index(ei, N)
    steps = chk.positive_int("steps", steps)
    K = int(y_all[mask].max()) + 1
    if int(y_all[mask].min()) < 0:
        raise ValueError("`y` must hold non-negative labels on the labelled nodes")
    fork_devices = [x.device] if x.device.type == "cuda" else []
    with torch.random.fork_rng(devices=fork_devices):
        torch.manual_seed(seed)
        model = GCN(x.shape[1], hidden_channels, K).to(device=x.device, dtype=x.dtype)
        opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
        model.train()
        for _ in range(steps):
            opt.zero_grad()
            logits = model(x, ei)
            assert isinstance(logits, Tensor)
            loss = F.cross_entropy(logits[mask], y_all[mask])
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        logits = model(x, ei)
        assert isinstance(logits, Tensor)
    return logits.argmax(dim=1)


# --------------------------------------------------------------------------------------
# 18.4 Label propagation
# --------------------------------------------------------------------------------------
def label_propagation(
    adjacency: Tensor,
    y: Tensor,
    train_mask: Tensor,
    *,
    num_classes: int | None = None,
) -> Tensor:
    r"""Class probabilities of every node by label propagation: the harmonic function that
    equals the labels on the labelled nodes.

    .. math::

        P_{\mathcal{S}} = Y_{\mathcal{S}}, \qquad
        P_{\mathcal{U}} = (D_{\mathcal{UU}} - A_{\mathcal{UU}})^{-1}
        A_{\mathcal{US}}\, Y_{\mathcal{S}}

    (Chapter 18, :ref:`ch-graphs`): every unlabelled row of :math:`P` is the weighted mean
    of its neighbours' rows, :math:`\mathbf{p}_i = \frac{1}{d_i}\sum_j A_{ij}
    \mathbf{p}_j`, which is where the iteration "average your neighbours, reset the
    labelled nodes" converges.

    Parameters
    ----------
    adjacency : Tensor, shape (N, N), floating point
        :math:`A`, with non-negative weights; the diagonal is ignored.
    y : Tensor, shape (N,), any integer dtype
        Labels; only those where ``train_mask`` is true are read.
    train_mask : Tensor, shape (N,), bool
        The labelled nodes :math:`\mathcal{S}` (the rest are :math:`\mathcal{U}`).
    num_classes : int, optional
        :math:`K` (default: one more than the largest label in :math:`\mathcal{S}`).

    Returns
    -------
    Tensor, shape (N, K), of ``adjacency``'s dtype and device; rows sum to one

    Raises
    ------
    TypeError
        If ``adjacency`` is not floating point, ``y`` not integer or ``train_mask`` not bool.
    ValueError
        If a shape is wrong, a weight is negative, no node is labelled, a label lies
        outside [0, K), or some unlabelled node cannot reach a labelled one (then the
        harmonic function is not unique).

    References
    ----------
    .. [1] X. Zhu, Z. Ghahramani, J. Lafferty, "Semi-supervised learning using Gaussian
       fields and harmonic functions", ICML 2003.

    Examples
    --------
    >>> A = torch.tensor([[0.0, 1, 0], [1, 0, 1], [0, 1, 0]])  # path 0 - 1 - 2
    >>> label_propagation(A, torch.tensor([0, 0, 1]), torch.tensor([True, False, True]))
    tensor([[1.0000, 0.0000],
            [0.5000, 0.5000],
            [0.0000, 1.0000]])
    """
    A = _square("adjacency", adjacency)
    N = A.shape[0]
    labels = chk.labels("y", y, shape=(N,), device=A.device)
    mask = chk.tensor("train_mask", train_mask, ndim=1)
    if mask.dtype != torch.bool:
        raise TypeError(f"`train_mask` must be a bool tensor, got dtype {mask.dtype}")
    chk.shape("train_mask", mask, (N,))
    chk.same_device(adjacency=A, train_mask=mask)
    if not bool(mask.any()):
        raise ValueError("`train_mask` must mark at least one labelled node")
    if bool((A < 0).any()):
        raise ValueError("`adjacency` must have non-negative weights")
    known = labels[mask]
    if num_classes is None:
        num_classes = int(known.max()) + 1
    K = chk.positive_int("num_classes", num_classes)
    known = chk.labels("y", known, num_classes=K)
    A = A - torch.diag(torch.diagonal(A))  # a self-loop would only cancel out
    # every unlabelled node must reach a labelled one, else D_UU - A_UU is singular
    reached = mask.clone()
    for _ in range(N):
        grown = reached | ((A > 0) & reached[None, :]).any(dim=1)
        if bool((grown == reached).all()):
            break
        reached = grown
    if not bool(reached.all()):
        stranded = torch.nonzero(~reached).ravel()[:5].tolist()
        raise ValueError(
            f"every node must be connected to a labelled node; nodes {stranded} are not"
        )
    P = torch.zeros(N, K, dtype=A.dtype, device=A.device)
    P[mask] = F.one_hot(known, K).to(A.dtype)
    U = ~mask
    if bool(U.any()):
        A_UU = A[U][:, U]  # (|U|, |U|)
        A_US = A[U][:, mask]  # (|U|, |S|)
        laplacian_UU = torch.diag(A[U].sum(dim=1)) - A_UU
        P[U] = torch.linalg.solve(laplacian_UU, A_US @ P[mask])
    return P


# --------------------------------------------------------------------------------------
# 18.5 Over-smoothing
# --------------------------------------------------------------------------------------
def dirichlet_energy(x: Tensor, adjacency: Tensor) -> Tensor:
    r"""The Dirichlet energy of node features: how much they vary across edges.

    .. math::

        E(X) = \operatorname{tr}\bigl(X^\top \Delta X\bigr)
        = \frac12 \sum_{i,j} A_{ij} \Bigl\lVert \frac{\vx_i}{\sqrt{d_i}} -
        \frac{\vx_j}{\sqrt{d_j}} \Bigr\rVert^2, \qquad \Delta = I - D^{-1/2} A D^{-1/2}

    (Chapter 18, :ref:`ch-graphs`), for a symmetric :math:`A`; nodes of degree zero
    contribute nothing. It is zero exactly when every column of :math:`X` is a multiple of
    :math:`D^{1/2}\mathbf{1}` on each connected component: the state deep stacks of GCN
    layers collapse to (over-smoothing).

    Parameters
    ----------
    x : Tensor, shape (N, F), floating point
    adjacency : Tensor, shape (N, N), floating point, symmetric, non-negative

    Returns
    -------
    Tensor, scalar, of ``x``'s dtype and device

    Raises
    ------
    TypeError
        If a tensor is not floating point.
    ValueError
        If a shape is wrong, the devices differ, or ``adjacency`` is not symmetric.

    References
    ----------
    .. [1] K. Oono, T. Suzuki, "Graph neural networks exponentially lose expressive power
       for node classification", ICLR 2020.

    Examples
    --------
    >>> A = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    >>> dirichlet_energy(torch.tensor([[1.0], [-1.0]]), A)
    tensor(4.)
    """
    x = chk.float_tensor("x", x, ndim=2)
    A = _square("adjacency", adjacency)
    chk.shape("adjacency", A, (x.shape[0], x.shape[0]), "(N, N) with N the rows of x")
    chk.same_device(x=x, adjacency=A)
    if A.device.type != "meta" and not torch.allclose(A, A.T):
        raise ValueError("`adjacency` must be symmetric (an undirected graph)")
    A = A.to(x.dtype)
    degree = A.sum(dim=1)
    d_inv_sqrt = torch.where(degree > 0, degree.clamp_min(1e-300).rsqrt(), 0.0)
    scaled = d_inv_sqrt[:, None] * x  # rows x_i / sqrt(d_i)
    diff = scaled[:, None, :] - scaled[None, :, :]  # (N, N, F)
    return 0.5 * (A[:, :, None] * diff.square()).sum()


# Every public function checks devices and numpy scalars the same way (dlbook._checks).
chk.guard_module(globals(), __all__)
