"""Tests for dlbook.graphs against PyTorch Geometric (to_dense_adj, gcn_norm, SimpleConv,
GCNConv), networkx (adjacency and normalised Laplacian), scikit-learn's LabelPropagation and
closed forms, in float64."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import networkx as nx
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor

from dlbook import graphs

F64 = torch.float64

warnings.filterwarnings("ignore", message=".*[Ss]parse.*", category=UserWarning)
pyg_utils = pytest.importorskip("torch_geometric.utils")
pyg_nn = pytest.importorskip("torch_geometric.nn")
from torch_geometric.nn.conv.gcn_conv import gcn_norm  # noqa: E402


def karate() -> tuple[nx.Graph, Tensor]:
    G = nx.karate_club_graph()
    edges = torch.tensor(list(G.edges())).T
    return G, torch.cat([edges, edges.flip(0)], dim=1)  # both directions


def random_graph(
    g: torch.Generator, N: int, E: int, *, loops: bool = True, device: str | torch.device = "cpu"
) -> tuple[Tensor, Tensor]:
    """A random directed multigraph with weights; node N - 1 is isolated."""
    ei = torch.randint(0, N - 1, (2, E), generator=g)
    is_loop = ei[0] == ei[1]
    if loops:  # at most one self-loop per node (PyG keeps one of repeated self-loops)
        first = torch.zeros(N, dtype=torch.bool)
        keep = ~is_loop
        for e in torch.nonzero(is_loop).ravel().tolist():
            keep[e] = not first[ei[0, e]]
            first[ei[0, e]] = True
        ei = ei[:, keep]
    else:
        ei = ei[:, ~is_loop]
    w = torch.rand(ei.shape[1], generator=g, dtype=F64) + 0.1
    return ei.to(device), w.to(device)


def pyg_dense(ei: Tensor, w: Tensor | None, N: int) -> Tensor:
    """PyG's dense adjacency is A[source, target]; ours is its transpose."""
    dense: Tensor = pyg_utils.to_dense_adj(ei, edge_attr=w, max_num_nodes=N)[0]
    return dense.T


# ---------------------------------------------------------------------- adjacency
def test_dense_adjacency_matches_networkx_on_the_karate_club() -> None:
    G, ei = karate()
    expected = torch.from_numpy(nx.to_numpy_array(G, nodelist=range(34), weight=None))
    torch.testing.assert_close(graphs.to_dense_adjacency(ei, 34, dtype=F64), expected)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int16, torch.int32, torch.int64])
def test_dense_adjacency_matches_pyg_with_weights_duplicates_and_isolated_nodes(
    dtype: torch.dtype, device: torch.device
) -> None:
    g = torch.Generator().manual_seed(0)
    ei, w = random_graph(g, 9, 30, device=device)
    ours = graphs.to_dense_adjacency(ei.to(dtype), 9, w)
    assert ours.device == ei.device and ours.dtype == F64
    torch.testing.assert_close(ours.cpu(), pyg_dense(ei.cpu(), w.cpu(), 9))
    assert ours[:, 8].abs().sum() == 0 and ours[8].abs().sum() == 0


# ---------------------------------------------------------------------- normalisation
def test_normalized_adjacency_is_identity_minus_networkx_normalized_laplacian() -> None:
    G, ei = karate()
    H = nx.Graph(G)
    H.add_edges_from((i, i) for i in H.nodes)  # A + I
    L = nx.normalized_laplacian_matrix(H, nodelist=range(34), weight=None).toarray()
    A = graphs.to_dense_adjacency(ei, 34, dtype=F64)
    torch.testing.assert_close(graphs.normalized_adjacency(A), torch.eye(34, dtype=F64) - L)


@pytest.mark.parametrize("add_self_loops", [True, False])
def test_normalized_adjacency_matches_pyg_gcn_norm(add_self_loops: bool) -> None:
    """Directed, weighted, with repeated edges, existing self-loops and an isolated node."""
    g = torch.Generator().manual_seed(1)
    ei, w = random_graph(g, 10, 40)
    ei_n, w_n = gcn_norm(ei, w, num_nodes=10, add_self_loops=add_self_loops)
    expected = pyg_dense(ei_n, w_n, 10)
    A = graphs.to_dense_adjacency(ei, 10, w)
    torch.testing.assert_close(
        graphs.normalized_adjacency(A, add_self_loops=add_self_loops), expected
    )
    sparse = graphs.normalized_adjacency(A.to_sparse(), add_self_loops=add_self_loops)
    torch.testing.assert_close(sparse, expected)


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 12), st.integers(0, 2**31 - 1))
def test_renormalised_adjacency_has_spectrum_in_minus_one_one(N: int, seed: int) -> None:
    """The law of Section 18.3: eigenvalues of \\hat A lie in (-1, 1], with 1 attained."""
    g = torch.Generator().manual_seed(seed)
    upper = (torch.rand(N, N, generator=g) < 0.4).triu(1).to(F64)
    A = upper + upper.T
    eig = torch.linalg.eigvalsh(graphs.normalized_adjacency(A))
    assert eig.min() > -1 + 1e-9
    assert abs(eig.max().item() - 1) < 1e-9


# ---------------------------------------------------------------------- message passing
@pytest.mark.parametrize("aggr", ["sum", "mean", "max"])
def test_propagate_matches_pyg_simple_conv(aggr: str, device: torch.device) -> None:
    g = torch.Generator().manual_seed(2)
    ei, w = random_graph(g, 12, 50, device=device)
    x = torch.randn(12, 5, generator=g, dtype=F64).to(device)
    conv = pyg_nn.SimpleConv(aggr=aggr)
    for weight in (None, w):
        ours = graphs.propagate(x, ei, weight, aggr=aggr)  # type: ignore[arg-type]
        assert ours.device == x.device and ours.dtype == F64
        torch.testing.assert_close(
            ours.cpu(), conv(x.cpu(), ei.cpu(), None if weight is None else w.cpu())
        )


def test_sum_propagation_is_the_adjacency_matrix_times_x() -> None:
    g = torch.Generator().manual_seed(3)
    ei, w = random_graph(g, 8, 25)
    x = torch.randn(8, 3, generator=g, dtype=F64)
    A = graphs.to_dense_adjacency(ei, 8, w)
    torch.testing.assert_close(graphs.propagate(x, ei, w), A @ x)


def test_propagate_works_on_non_contiguous_input() -> None:
    g = torch.Generator().manual_seed(4)
    ei, _ = random_graph(g, 6, 15)
    x = torch.randn(3, 6, generator=g, dtype=F64).T  # (6, 3), not contiguous
    torch.testing.assert_close(
        graphs.propagate(x, ei.T.contiguous().T), graphs.propagate(x.contiguous(), ei)
    )


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 10), st.integers(0, 30), st.integers(0, 2**31 - 1))
def test_message_passing_and_gcn_are_permutation_equivariant(N: int, E: int, seed: int) -> None:
    """The law of Section 18.2: renumbering the nodes renumbers the output."""
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, N, (2, E), generator=g)
    x = torch.randn(N, 3, generator=g, dtype=F64)
    W = torch.randn(2, 3, generator=g, dtype=F64)
    perm = torch.randperm(N, generator=g)
    renumbered = torch.argsort(perm)[ei]
    for aggr in ("sum", "mean", "max"):
        torch.testing.assert_close(
            graphs.propagate(x[perm], renumbered, aggr=aggr),
            graphs.propagate(x, ei, aggr=aggr)[perm],
        )
    torch.testing.assert_close(
        graphs.gcn_conv(x[perm], renumbered, W), graphs.gcn_conv(x, ei, W)[perm]
    )


# ---------------------------------------------------------------------- GCN layer
def _pyg_and_ours(in_c: int, out_c: int, **kwargs: Any) -> tuple[torch.nn.Module, graphs.GCNConv]:
    torch.manual_seed(0)
    theirs = pyg_nn.GCNConv(in_c, out_c, **kwargs).double()
    if theirs.bias is not None:
        torch.nn.init.normal_(theirs.bias)  # a nonzero bias, so that a dropped bias shows
    ours = graphs.GCNConv(in_c, out_c, **kwargs).double()
    ours.load_state_dict(theirs.state_dict())
    return theirs, ours


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"add_self_loops": False}, {"normalize": False}, {"bias": False}],
    ids=["default", "no-self-loops", "no-normalize", "no-bias"],
)
def test_gcn_conv_equals_pyg_gcnconv_on_edge_index(kwargs: dict[str, bool]) -> None:
    g = torch.Generator().manual_seed(5)
    ei, w = random_graph(g, 11, 40)  # self-loops, repeated edges, node 10 isolated
    x = torch.randn(11, 4, generator=g, dtype=F64, requires_grad=True)
    theirs, ours = _pyg_and_ours(4, 3, **kwargs)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    for weight in (None, w):
        expected = theirs(x, ei, weight)
        got = ours(x, ei, weight)
        torch.testing.assert_close(got, expected)
        (g_exp,) = torch.autograd.grad(expected.square().sum(), x)
        (g_got,) = torch.autograd.grad(got.square().sum(), x)
        torch.testing.assert_close(g_got, g_exp)


def test_gcn_conv_equals_pyg_gcnconv_on_sparse_adjacency() -> None:
    g = torch.Generator().manual_seed(6)
    ei, w = random_graph(g, 9, 30, loops=False)
    x = torch.randn(9, 4, generator=g, dtype=F64)
    theirs, ours = _pyg_and_ours(4, 2)
    adj_t = torch.sparse_coo_tensor(ei.flip(0), w, (9, 9)).coalesce()  # [target, source]
    torch.testing.assert_close(ours(x, adj_t), theirs(x, adj_t))
    torch.testing.assert_close(ours(x, adj_t.to_sparse_csr()), theirs(x, ei, w))


def test_gcn_conv_is_renormalised_adjacency_times_x_w_plus_b(device: torch.device) -> None:
    """The dense formula of Section 18.3 on the karate club, on each device."""
    _, ei = karate()
    g = torch.Generator().manual_seed(7)
    x = torch.randn(34, 5, generator=g, dtype=F64).to(device)
    W = torch.randn(2, 5, generator=g, dtype=F64).to(device)
    b = torch.randn(2, generator=g, dtype=F64).to(device)
    A_hat = graphs.normalized_adjacency(graphs.to_dense_adjacency(ei.to(device), 34, dtype=F64))
    got = graphs.gcn_conv(x, ei.to(device), W, b)
    assert got.device == x.device
    torch.testing.assert_close(got, A_hat @ x @ W.T + b)


def test_gcn_conv_float32_matches_pyg() -> None:
    _, ei = karate()
    torch.manual_seed(1)
    theirs = pyg_nn.GCNConv(34, 4)
    ours = graphs.GCNConv(34, 4)
    ours.load_state_dict(theirs.state_dict())
    x = torch.eye(34)
    out = ours(x, ei)
    assert out.dtype == torch.float32
    # float32: both sum the same few terms in a different order
    torch.testing.assert_close(out, theirs(x, ei), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------- label propagation
def _sklearn_label_propagation(A: Tensor, y: Tensor, mask: Tensor) -> np.ndarray:
    from sklearn.semi_supervised import LabelPropagation

    A_np = A.numpy()

    def kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        block: np.ndarray = A_np[np.ix_(a[:, 0].astype(int), b[:, 0].astype(int))]
        return block

    target = np.where(mask.numpy(), y.numpy(), -1)
    nodes = np.arange(len(A_np), dtype=float)[:, None]
    model = LabelPropagation(kernel=kernel, max_iter=100_000, tol=1e-13).fit(nodes, target)
    result: np.ndarray = model.label_distributions_
    return result


@pytest.mark.parametrize("labelled", [[0, 33], [0, 4, 8, 24], [0, 1, 2, 30, 31, 33]])
def test_label_propagation_matches_sklearn_on_the_karate_club(labelled: list[int]) -> None:
    _, ei = karate()
    A = graphs.to_dense_adjacency(ei, 34, dtype=F64)
    y = torch.tensor(
        [
            i % 2 if len(labelled) != 4 else labelled.index(i) if i in labelled else 0
            for i in range(34)
        ]
    )
    mask = torch.zeros(34, dtype=torch.bool)
    mask[labelled] = True
    ours = graphs.label_propagation(A, y, mask)
    expected = _sklearn_label_propagation(A, y, mask)
    np.testing.assert_allclose(ours.numpy(), expected, rtol=0, atol=1e-8)


def test_label_propagation_is_harmonic_and_clamped() -> None:
    g = torch.Generator().manual_seed(8)
    upper = (torch.rand(15, 15, generator=g) < 0.3).triu(1).to(F64) * torch.rand(
        15, 15, generator=g, dtype=F64
    )
    A = upper + upper.T + torch.diag(torch.ones(15, dtype=F64))  # a connected ring too
    ring = torch.roll(torch.eye(15, dtype=F64), 1, 0)
    A = A + ring + ring.T
    y = torch.randint(0, 3, (15,), generator=g, dtype=torch.int8)
    mask = torch.zeros(15, dtype=torch.bool)
    mask[[0, 5, 10]] = True
    y[[0, 5, 10]] = torch.tensor([0, 1, 2], dtype=torch.int8)
    P = graphs.label_propagation(A, y, mask)
    torch.testing.assert_close(P[mask], torch.eye(3, dtype=F64))
    A0 = A - torch.diag(torch.diagonal(A))
    mean_of_neighbours = (A0 @ P) / A0.sum(1, keepdim=True)
    torch.testing.assert_close(P[~mask], mean_of_neighbours[~mask])
    torch.testing.assert_close(P.sum(1), torch.ones(15, dtype=F64))


# ---------------------------------------------------------------------- Dirichlet energy
def test_dirichlet_energy_is_trace_with_networkx_laplacian() -> None:
    G, ei = karate()
    A = graphs.to_dense_adjacency(ei, 34, dtype=F64)
    L = torch.from_numpy(
        nx.normalized_laplacian_matrix(G, nodelist=range(34), weight=None).toarray()
    )
    x = torch.randn(34, 3, generator=torch.Generator().manual_seed(9), dtype=F64)
    torch.testing.assert_close(graphs.dirichlet_energy(x, A), torch.trace(x.T @ L @ x))
    smooth = A.sum(1, keepdim=True).sqrt()  # D^{1/2} 1: the over-smoothed state
    assert graphs.dirichlet_energy(smooth, A).abs() < 1e-10


# ---------------------------------------------------------------------- training
@pytest.fixture
def one_thread() -> Any:
    """Tiny training loops: one thread avoids a 50x slow-down on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.usefixtures("one_thread")
def test_classify_nodes_recovers_a_planted_partition() -> None:
    sizes = [12, 12, 12]
    probs = [[0.5, 0.03, 0.03], [0.03, 0.5, 0.03], [0.03, 0.03, 0.5]]
    G = nx.stochastic_block_model(sizes, probs, seed=0)
    edges = torch.tensor(list(G.edges())).T
    ei = torch.cat([edges, edges.flip(0)], dim=1)
    y = torch.arange(3).repeat_interleave(12)
    mask = torch.zeros(36, dtype=torch.bool)
    mask[[0, 12, 24]] = True
    pred = graphs.classify_nodes(torch.eye(36), ei, y, mask, steps=100)
    assert pred.dtype == torch.int64
    assert (pred == y).float().mean() >= 0.9
    again = graphs.classify_nodes(torch.eye(36), ei, y, mask, steps=100)
    assert torch.equal(pred, again)


# ---------------------------------------------------------------------- bad input
_X = torch.zeros(4, 3)
_EI = torch.tensor([[0, 1], [1, 0]])
_W = torch.zeros(2, 3)
_A = torch.zeros(4, 4)
_Y = torch.zeros(4, dtype=torch.long)
_M = torch.tensor([True, False, False, False])

BAD: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    ("float edge_index", lambda: graphs.to_dense_adjacency(_EI.float(), 2), TypeError, "integer"),
    (
        "edge_index (3, E)",
        lambda: graphs.to_dense_adjacency(torch.zeros(3, 2, dtype=torch.long)),
        ValueError,
        "(2, E)",
    ),
    ("index out of range", lambda: graphs.to_dense_adjacency(_EI, 1), ValueError, "[0, 1)"),
    ("negative index", lambda: graphs.propagate(_X, -_EI), ValueError, "edge_index"),
    (
        "weight length",
        lambda: graphs.to_dense_adjacency(_EI, 2, torch.ones(3)),
        ValueError,
        "edge_weight",
    ),
    ("integer x", lambda: graphs.propagate(_X.long(), _EI), TypeError, "x"),
    ("1-D x", lambda: graphs.propagate(torch.zeros(4), _EI), ValueError, "x"),
    ("unknown aggr", lambda: graphs.propagate(_X, _EI, aggr="min"), ValueError, "aggr"),  # type: ignore[arg-type]
    ("edges on meta", lambda: graphs.propagate(_X, _EI.to("meta")), ValueError, "device"),
    ("non-square A", lambda: graphs.normalized_adjacency(torch.zeros(3, 4)), ValueError, "square"),
    (
        "integer A",
        lambda: graphs.normalized_adjacency(torch.zeros(3, 3, dtype=torch.long)),
        TypeError,
        "adjacency",
    ),
    (
        "weight (out, wrong in)",
        lambda: graphs.gcn_conv(_X, _EI, torch.zeros(2, 5)),
        ValueError,
        "weight",
    ),
    ("bias shape", lambda: graphs.gcn_conv(_X, _EI, _W, torch.zeros(3)), ValueError, "bias"),
    ("dtype mix", lambda: graphs.gcn_conv(_X, _EI, _W.double()), TypeError, "dtype"),
    ("weight on meta", lambda: graphs.gcn_conv(_X, _EI, _W.to("meta")), ValueError, "device"),
    (
        "sparse of wrong size",
        lambda: graphs.gcn_conv(_X, torch.eye(3).to_sparse(), _W),
        ValueError,
        "(N, N)",
    ),
    ("channels 0", lambda: graphs.GCNConv(0, 2), ValueError, "in_channels"),
    (
        "loops without normalize",
        lambda: graphs.gcn_conv(_X, _EI, _W, add_self_loops=True, normalize=False),
        ValueError,
        "normalize",
    ),
    ("float labels", lambda: graphs.label_propagation(_A, _Y.float(), _M), TypeError, "y"),
    ("int mask", lambda: graphs.label_propagation(_A, _Y, _M.long()), TypeError, "train_mask"),
    (
        "no labels",
        lambda: graphs.label_propagation(_A, _Y, ~torch.ones(4, dtype=torch.bool)),
        ValueError,
        "labelled",
    ),
    ("stranded node", lambda: graphs.label_propagation(_A, _Y, _M), ValueError, "connected"),
    (
        "negative weight",
        lambda: graphs.label_propagation(-torch.ones(4, 4), _Y, _M),
        ValueError,
        "non-negative",
    ),
    (
        "asymmetric A",
        lambda: graphs.dirichlet_energy(_X, torch.triu(torch.ones(4, 4))),
        ValueError,
        "symmetric",
    ),
    (
        "A of wrong size",
        lambda: graphs.dirichlet_energy(_X, torch.zeros(3, 3)),
        ValueError,
        "adjacency",
    ),
    ("bool labels", lambda: graphs.classify_nodes(_X, _EI, _M, _M), TypeError, "y"),
    ("dropout 1", lambda: graphs.GCN(3, 4, 2, dropout=1.0), ValueError, "dropout"),
]


@pytest.mark.parametrize(("name", "call", "error", "words"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_rejected_clearly(
    name: str, call: Callable[[], object], error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=None) as info:
        call()
    assert words in str(info.value), f"{name}: {info.value}"
