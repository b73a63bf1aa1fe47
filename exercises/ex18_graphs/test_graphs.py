"""Grader for exercise set 18 (README.md beside this file). Do not edit."""

from __future__ import annotations

import ast
import types
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
import torch
from torch import Tensor

from dlbook import graphs
from dlbook.grading import Case, NotImplementedYetError, check, check_raises

SUBMISSION = "graphs.py"
REFERENCES = {
    "normalized_adjacency": graphs.normalized_adjacency,
    "gcn_conv": graphs.gcn_conv,
    "propagate": graphs.propagate,
    "label_propagation": graphs.label_propagation,
    "classify_nodes": graphs.classify_nodes,
}
# Other book functions that would do an exercise's work; off while the student's code runs.
HIDDEN: list[Callable[..., Any]] = [
    graphs.normalized_adjacency,
    graphs.gcn_conv,
    graphs.propagate,
    graphs.label_propagation,
    graphs.classify_nodes,
]
# The book's gcn_conv aggregates with its propagate (Exercise 18.3): that one stays on in 18.2.
HIDDEN_GCN = [f for f in HIDDEN if f is not graphs.propagate]
F64 = torch.float64


@pytest.fixture(autouse=True)
def one_thread() -> Any:
    """Tiny graphs: one thread avoids a large slow-down on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def no_torch_geometric(submission: types.ModuleType, exercise: str) -> None:
    """The README puts torch_geometric off limits: no import of it anywhere in the file."""
    path = getattr(submission, "__file__", None)
    if submission.__name__ == "reference_solutions" or path is None:
        return
    for node in ast.walk(ast.parse(Path(path).read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        if any(name.split(".")[0] == "torch_geometric" for name in names):
            raise AssertionError(
                f"{exercise}: torch_geometric is off limits (your file imports it on line "
                f"{node.lineno}); write the exercise with torch"
            )


def karate_edges(device: torch.device) -> Tensor:
    G = nx.karate_club_graph()
    edges = torch.tensor(list(G.edges())).T
    return torch.cat([edges, edges.flip(0)], dim=1).to(device)


def random_graph(
    g: torch.Generator, N: int, E: int, device: torch.device, *, loops: bool = False
) -> tuple[Tensor, Tensor]:
    """A random directed multigraph with positive weights; node N - 1 is isolated."""
    ei = torch.randint(0, N - 1, (2, E), generator=g)
    is_loop = ei[0] == ei[1]
    if loops:  # at most one self-loop per node
        seen: set[int] = set()
        keep = ~is_loop
        for e in torch.nonzero(is_loop).ravel().tolist():
            keep[e] = int(ei[0, e]) not in seen
            seen.add(int(ei[0, e]))
        ei = ei[:, keep]
    else:
        ei = ei[:, ~is_loop]
    w = torch.rand(ei.shape[1], generator=g, dtype=F64) + 0.1
    return ei.to(device), w.to(device)


def randn(g: torch.Generator, *shape: int, device: torch.device) -> Tensor:
    return torch.randn(*shape, generator=g, dtype=F64).to(device)


# ---------------------------------------------------------------------- Exercise 18.1
def test_normalized_adjacency(submission: types.ModuleType, device: torch.device) -> None:
    no_torch_geometric(submission, "Exercise 18.1")
    g = torch.Generator().manual_seed(0)
    A_karate = graphs.to_dense_adjacency(karate_edges(device), 34, dtype=F64)
    ei, w = random_graph(g, 8, 20, device, loops=True)
    directed = graphs.to_dense_adjacency(ei, 8, w)  # weighted, self-loops, node 7 isolated
    path = torch.tensor([[0.0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=F64, device=device)
    looped = path + torch.diag(torch.tensor([2.0, 0.0, 0.0], dtype=F64, device=device))
    cases = [
        Case("the karate club", (A_karate,)),
        Case("a path of three nodes", (path,)),
        Case("an existing self-loop of weight 2 is kept, not added to", (looped,)),
        Case("directed, weighted, an isolated node", (directed,)),
        Case(
            "no self-loops: an isolated node gets a zero row",
            (directed,),
            {"add_self_loops": False},
        ),
        Case("float32", (A_karate.float(),)),
    ]
    for i in range(4):
        upper = (torch.rand(10, 10, generator=g) < 0.3).triu(1).to(F64)
        cases.append(Case(f"random undirected #{i}", ((upper + upper.T).to(device),)))
    check(
        submission.normalized_adjacency,
        graphs.normalized_adjacency,
        cases,
        exercise="Exercise 18.1",
        rtol=1e-10,
        atol=1e-12,
        also_hidden=HIDDEN,
    )
    check_raises(
        submission.normalized_adjacency,
        graphs.normalized_adjacency,
        [Case("a (3, 4) matrix", (torch.zeros(3, 4),))],
        ValueError,
        exercise="Exercise 18.1",
        also_hidden=HIDDEN,
    )


# ---------------------------------------------------------------------- Exercise 18.2
def test_gcn_conv(submission: types.ModuleType, device: torch.device) -> None:
    no_torch_geometric(submission, "Exercise 18.2")
    g = torch.Generator().manual_seed(1)
    ei_k = karate_edges(device)
    x_k = randn(g, 34, 5, device=device)
    W, b = randn(g, 3, 5, device=device), randn(g, 3, device=device)
    ei_d, w_d = random_graph(g, 9, 30, device)  # directed: in-degrees differ from out-degrees
    ei_l, w_l = random_graph(g, 9, 30, device, loops=True)
    x_9 = randn(g, 9, 5, device=device)
    cases = [
        Case("the karate club", (x_k, ei_k, W, b)),
        Case("no bias", (x_k, ei_k, W)),
        Case("int32 edge_index", (x_k, ei_k.int(), W, b)),
        Case("directed graph (degree = sum over edges *into* a node)", (x_9, ei_d, W, b)),
        Case("edge weights", (x_9, ei_d, W, b), {"edge_weight": w_d}),
        Case("existing self-loops keep their weight", (x_9, ei_l, W, b), {"edge_weight": w_l}),
        Case("float32", (x_k.float(), ei_k, W.float(), b.float())),
        Case("no edges at all", (x_9, torch.zeros(2, 0, dtype=torch.long, device=device), W, b)),
    ]
    check(
        submission.gcn_conv,
        graphs.gcn_conv,
        cases,
        exercise="Exercise 18.2",
        rtol=1e-10,
        atol=1e-10,
        also_hidden=HIDDEN_GCN,
    )
    check_raises(
        submission.gcn_conv,
        graphs.gcn_conv,
        [
            Case("weight (3, 4) for 5 features", (x_9, ei_d, W[:, :4])),
            Case("bias of the wrong length", (x_9, ei_d, W, b[:2])),
        ],
        ValueError,
        exercise="Exercise 18.2",
        also_hidden=HIDDEN_GCN,
    )


# ---------------------------------------------------------------------- Exercise 18.3
@pytest.mark.parametrize("aggr", ["sum", "mean", "max"])
def test_propagate(submission: types.ModuleType, device: torch.device, aggr: str) -> None:
    no_torch_geometric(submission, "Exercise 18.3")
    g = torch.Generator().manual_seed(2)
    ei, w = random_graph(g, 10, 35, device, loops=True)  # repeated edges, node 9 isolated
    x = randn(g, 10, 4, device=device) - 3.0  # mostly negative: max must not start at 0
    cases = [
        Case(f"{aggr}, unweighted", (x, ei), {"aggr": aggr}),
        Case(f"{aggr}, weighted", (x, ei, w), {"aggr": aggr}),
        Case(
            f"{aggr}, the karate club",
            (randn(g, 34, 2, device=device), karate_edges(device)),
            {"aggr": aggr},
        ),
        Case(f"{aggr}, uint8 edge_index", (x, ei.to(torch.uint8)), {"aggr": aggr}),
        Case(f"{aggr}, float32", (x.float(), ei, w.float()), {"aggr": aggr}),
    ]
    check(
        submission.propagate,
        graphs.propagate,
        cases,
        exercise="Exercise 18.3",
        rtol=1e-10,
        atol=1e-10,
        also_hidden=HIDDEN,
    )
    if aggr == "sum":
        check_raises(
            submission.propagate,
            graphs.propagate,
            [Case("aggr='min'", (x, ei), {"aggr": "min"})],
            ValueError,
            exercise="Exercise 18.3",
            also_hidden=HIDDEN,
        )


# ---------------------------------------------------------------------- Exercise 18.4
def test_label_propagation(submission: types.ModuleType, device: torch.device) -> None:
    no_torch_geometric(submission, "Exercise 18.4")
    g = torch.Generator().manual_seed(3)
    A = graphs.to_dense_adjacency(karate_edges(device), 34, dtype=F64)
    club = torch.tensor(
        [int(d["club"] == "Officer") for _, d in nx.karate_club_graph().nodes(data=True)]
    )
    two = torch.zeros(34, dtype=torch.bool)
    two[[0, 33]] = True
    four = torch.zeros(34, dtype=torch.bool)
    four[[0, 4, 8, 24]] = True
    y4 = torch.zeros(34, dtype=torch.long)
    y4[[0, 4, 8, 24]] = torch.tensor([1, 3, 0, 2])
    weights = torch.rand(34, 34, generator=g, dtype=F64).to(device)
    A_w = A * (weights + weights.T)
    A_loops = A + torch.eye(34, dtype=F64, device=device)
    cases = [
        Case("2 clubs, 2 labels", (A, club.to(device), two.to(device))),
        Case("4 communities, 4 labels", (A, y4.to(device), four.to(device))),
        Case("weighted edges", (A_w, y4.to(device), four.to(device))),
        Case("self-loops on the diagonal are ignored", (A_loops, y4.to(device), four.to(device))),
        Case("int8 labels", (A, y4.to(torch.int8).to(device), four.to(device))),
        Case("num_classes = 6", (A, y4.to(device), four.to(device)), {"num_classes": 6}),
        Case("float32", (A.float(), club.to(device), two.to(device))),
        Case(
            "every node labelled",
            (A, y4.to(device), torch.ones(34, dtype=torch.bool, device=device)),
        ),
    ]
    check(
        submission.label_propagation,
        graphs.label_propagation,
        cases,
        exercise="Exercise 18.4",
        rtol=1e-8,
        atol=1e-10,
        also_hidden=HIDDEN,
    )
    split = A.clone()
    split[:, 33] = 0
    split[33, :] = 0  # node 33 cut off, unlabelled
    mask0 = torch.zeros(34, dtype=torch.bool, device=device)
    mask0[0] = True
    check_raises(
        submission.label_propagation,
        graphs.label_propagation,
        [
            Case(
                "no labelled node",
                (A, y4.to(device), torch.zeros(34, dtype=torch.bool, device=device)),
            ),
            Case("an unlabelled node with no path to a label", (split, y4.to(device), mask0)),
        ],
        ValueError,
        exercise="Exercise 18.4",
        also_hidden=HIDDEN,
    )
    check_raises(
        submission.label_propagation,
        graphs.label_propagation,
        [Case("a float train_mask", (A, y4.to(device), four.double().to(device)))],
        TypeError,
        exercise="Exercise 18.4",
        also_hidden=HIDDEN,
    )


# ---------------------------------------------------------------------- Exercise 18.5
def _call(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except NotImplementedError:
        raise NotImplementedYetError(
            f"Exercise 18.5: `{fn.__name__}` is not implemented yet "
            "(it raises NotImplementedError)."
        ) from None


class _Forbidden:
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("Exercise 18.5: dlbook.graphs.classify_nodes is off limits")


def _accuracy(
    submission: types.ModuleType, x: Tensor, ei: Tensor, y: Tensor, mask: Tensor
) -> float:
    pred = _call(submission.classify_nodes, x, ei, y.clone(), mask)
    assert isinstance(pred, Tensor) and pred.shape == y.shape, (
        f"Exercise 18.5: expected a tensor of shape {tuple(y.shape)}, got {pred!r:.80}"
    )
    assert pred.dtype == torch.int64 and pred.device == x.device, (
        f"Exercise 18.5: expected int64 on {x.device}, got {pred.dtype} on {pred.device}"
    )
    return (pred[~mask] == y[~mask]).double().mean().item()


def test_classify_nodes_is_accurate(
    submission: types.ModuleType, device: torch.device, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_torch_geometric(submission, "Exercise 18.5")
    if submission.__name__ != "reference_solutions":
        monkeypatch.setattr(graphs, "classify_nodes", _Forbidden())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch_geometric.datasets import KarateClub

        karate = KarateClub()[0]
    mask = karate.train_mask.to(device)
    acc = _accuracy(
        submission,
        torch.eye(34, device=device),
        karate.edge_index.to(device),
        karate.y.to(device),
        mask,
    )
    assert acc >= 0.70, f"Exercise 18.5: karate club, 4 communities: accuracy {acc:.1%} < 70 %"
    accs = []
    P = [[0.3, 0.03, 0.03], [0.03, 0.3, 0.03], [0.03, 0.03, 0.3]]
    for seed in range(5):
        G = nx.stochastic_block_model([20, 20, 20], P, seed=seed)
        edges = torch.tensor(list(G.edges())).T
        ei = torch.cat([edges, edges.flip(0)], dim=1).to(device)
        y = torch.arange(3).repeat_interleave(20).to(device)
        m = torch.zeros(60, dtype=torch.bool, device=device)
        m[[0, 20, 40]] = True
        accs.append(_accuracy(submission, torch.eye(60, device=device), ei, y, m))
    mean = sum(accs) / len(accs)
    assert mean >= 0.75, (
        f"Exercise 18.5: planted partitions: mean accuracy {mean:.1%} < 75 % "
        f"(per graph: {', '.join(f'{a:.0%}' for a in accs)})"
    )
