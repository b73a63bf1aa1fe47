"""dlbook.history: threshold units, gates, DNF networks, Hebb, perceptron, XOR, parity."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit
from sklearn.linear_model import Perceptron

from dlbook import history

BIB = Path(__file__).resolve().parents[1] / "book" / "references.bib"
CHAPTER = Path(__file__).resolve().parents[1] / "book" / "ch01_history.md"
PYTHON_GATES: dict[str, Callable[[bool, bool], bool]] = {
    "AND": lambda a, b: a and b,
    "OR": lambda a, b: a or b,
    "NAND": lambda a, b: not (a and b),
    "NOR": lambda a, b: not (a or b),
}


def bits(n: int) -> list[tuple[int, ...]]:
    """All n-bit inputs in the order of boolean_inputs, written with itertools."""
    return list(itertools.product((0, 1), repeat=n))


# ------------------------------------------------------------------ units and gates
def test_boolean_inputs_match_itertools() -> None:
    for n in (1, 3, 6):
        assert history.boolean_inputs(n).tolist() == [list(map(float, b)) for b in bits(n)]


@pytest.mark.parametrize("name", sorted(PYTHON_GATES))
def test_two_input_gates_match_python(name: str, device: torch.device) -> None:
    x = torch.tensor(bits(2), device=device)
    out = history.gate(name, x)
    assert out.device == x.device
    assert out.tolist() == [float(PYTHON_GATES[name](bool(a), bool(b))) for a, b in bits(2)]


def test_not_gate_matches_python(device: torch.device) -> None:
    x = torch.tensor([[0], [1]], device=device)
    assert history.gate("NOT", x).tolist() == [float(not False), float(not True)]


def test_nand_is_universal_for_not_and_or() -> None:
    # NOT x = NAND(x, x); OR(a, b) = NAND(NOT a, NOT b): NAND alone is universal.
    x = history.boolean_inputs(2)
    not_a = history.gate("NAND", torch.stack([x[:, 0], x[:, 0]], dim=1))
    not_b = history.gate("NAND", torch.stack([x[:, 1], x[:, 1]], dim=1))
    or_ab = history.gate("NAND", torch.stack([not_a, not_b], dim=1))
    assert or_ab.tolist() == [float(a or b) for a, b in bits(2)]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-3, 3, allow_nan=False), min_size=1, max_size=5).flatmap(
        lambda w: st.tuples(
            st.just(w),
            st.lists(st.floats(-3, 3, allow_nan=False), min_size=len(w), max_size=len(w)),
            st.floats(-3, 3, allow_nan=False),
        )
    )
)
def test_threshold_unit_matches_numpy(args: tuple[list[float], list[float], float]) -> None:
    w, x, theta = args
    expected = float(np.dot(np.array(x), np.array(w)) >= theta)
    got = history.threshold_unit(torch.tensor(x, dtype=torch.float64), torch.tensor(w), theta)
    assert got.dtype == torch.float64
    # away from the boundary the float32/float64 sums cannot disagree
    if abs(np.dot(x, w) - theta) > 1e-9:
        assert float(got) == expected


def test_threshold_unit_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match="`w` must be 1-D"):
        history.threshold_unit(torch.zeros(4, 3), torch.ones(2), 1.0)
    with pytest.raises(TypeError, match=r"`x` must be a torch\.Tensor"):
        history.threshold_unit([1, 0], torch.ones(2), 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`name` must be one of"):
        history.gate("XOR", torch.zeros(1, 2))
    with pytest.raises(ValueError, match="`n` must be an integer from 1 to 20"):
        history.boolean_inputs(0)


# ------------------------------------------------------------------ DNF networks
@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6).flatmap(lambda n: st.lists(st.booleans(), min_size=2**n, max_size=2**n)))
def test_dnf_network_computes_any_truth_table(table: list[bool]) -> None:
    n = len(table).bit_length() - 1
    layers = history.dnf_network(torch.tensor(table))
    out = history.threshold_network(history.boolean_inputs(n), layers)
    # row k of the inputs is the binary expansion of k, so the output must be table[k]
    assert out[:, 0].tolist() == [float(v) for v in table]
    assert history.count_units(layers) == sum(table) + 1


def test_dnf_network_rejects_bad_tables() -> None:
    with pytest.raises(ValueError, match="length 2\\*\\*n"):
        history.dnf_network(torch.tensor([0, 1, 1]))
    with pytest.raises(ValueError, match="only 0/1"):
        history.dnf_network(torch.tensor([0, 2]))


def test_threshold_network_checks_shapes() -> None:
    with pytest.raises(ValueError, match="must have shape \\(N, 2\\)"):
        history.threshold_network(torch.zeros(4, 3), history.xor_network())
    bad = [(torch.ones(2, 2), torch.ones(2)), (torch.ones(1, 3), torch.ones(1))]
    with pytest.raises(ValueError, match="layer 1 expects 3 inputs"):
        history.threshold_network(torch.zeros(4, 2), bad)
    with pytest.raises(ValueError, match="non-empty list"):
        history.count_units([])


# ------------------------------------------------------------------ Hebb's rule
def test_hebb_update_single_and_batch_match_numpy() -> None:
    rng = np.random.default_rng(0)
    w0, X, y = rng.normal(size=4), rng.normal(size=(6, 4)), rng.normal(size=6)
    expected = w0.copy()
    for x_i, y_i in zip(X, y, strict=True):
        expected += 0.1 * y_i * x_i
    batch = history.hebb_update(torch.tensor(w0), torch.tensor(X), torch.tensor(y), lr=0.1)
    np.testing.assert_allclose(batch.numpy(), expected, rtol=1e-12, atol=1e-12)
    one = history.hebb_update(torch.tensor(w0), torch.tensor(X[0]), float(y[0]), lr=0.1)
    np.testing.assert_allclose(one.numpy(), w0 + 0.1 * y[0] * X[0], rtol=1e-12, atol=1e-12)


def test_hebb_update_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match="`w` must be 1-D"):
        history.hebb_update(torch.zeros(3), torch.zeros(2), 1.0)
    with pytest.raises(ValueError, match="`y` must have shape \\(5,\\)"):
        history.hebb_update(torch.zeros(3), torch.zeros(5, 3), torch.zeros(4))


# ------------------------------------------------------------------ the perceptron
@pytest.mark.parametrize("gamma", [0.02, 0.1, 0.3])
def test_perceptron_matches_sklearn_and_obeys_novikoff(gamma: float) -> None:
    X, y, u = history.separable_data(150, gamma, seed=1)
    X64 = X.double()
    result = history.perceptron(X64, y, max_epochs=10_000)
    assert result.converged
    assert np.all(y.numpy() * (X64.numpy() @ result.w.numpy() + result.b) > 0)
    # the margin and bound from the definition, in numpy
    Xn, yn, un = X.double().numpy(), y.double().numpy(), u.double().numpy()
    gamma_np = np.min(yn * (Xn @ un)) / np.linalg.norm(un)
    assert gamma_np >= gamma - 1e-6
    bound = (np.max(np.sum(Xn**2, axis=1)) + 1) / gamma_np**2
    assert history.mistake_bound(X64, y, u.double()) == pytest.approx(bound, rel=1e-9)
    assert result.mistakes <= bound
    # scikit-learn's Perceptron runs the same rule (in order, eta = 1, no penalty)
    sk = Perceptron(shuffle=False, eta0=1.0, alpha=0.0, tol=None, max_iter=result.epochs)
    sk.fit(Xn, yn)
    np.testing.assert_allclose(result.w.numpy(), sk.coef_[0], rtol=1e-9, atol=1e-9)
    assert result.b == pytest.approx(float(sk.intercept_[0]), abs=1e-9)


def test_perceptron_never_converges_on_xor(device: torch.device) -> None:
    X = history.boolean_inputs(2, device=device)
    y = torch.tensor([-1.0, 1.0, 1.0, -1.0], device=device)
    result = history.perceptron(X, y, max_epochs=50)
    assert not result.converged
    assert result.epochs == 50 and min(result.mistakes_per_epoch) > 0
    assert result.w.device == X.device
    # and no separator exists: every (w, b) on a grid misclassifies a corner
    grid = np.linspace(-3, 3, 25)
    Xn, yn = X.cpu().numpy(), y.cpu().numpy()
    for w1, w2, b in itertools.product(grid, grid, grid):
        assert np.min(yn * (Xn @ np.array([w1, w2]) + b)) <= 0


def test_perceptron_learns_and_or_on_device(device: torch.device) -> None:
    X = history.boolean_inputs(2, device=device)
    for name in ("AND", "OR", "NAND"):
        y = 2 * history.gate(name, X) - 1
        result = history.perceptron(X, y)
        assert result.converged
        assert torch.equal(torch.sign(X @ result.w + result.b), y)


def test_margin_and_bound_reject_bad_input() -> None:
    X, y = torch.tensor([[1.0, 0.0], [-1.0, 0.0]]), torch.tensor([1.0, -1.0])
    with pytest.raises(ValueError, match="must not be zero"):
        history.margin(X, y, torch.zeros(2))
    with pytest.raises(ValueError, match="positive margin"):
        history.mistake_bound(X, y, torch.tensor([-1.0, 0.0]))
    with pytest.raises(ValueError, match="labels in \\{-1, \\+1\\}"):
        history.perceptron(X, torch.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="`y` must have shape \\(2,\\)"):
        history.perceptron(X, torch.ones(3))
    with pytest.raises(ValueError, match="`max_epochs` must be a positive integer"):
        history.perceptron(X, y, max_epochs=0)
    with pytest.raises(ValueError, match="`gamma` must lie in"):
        history.separable_data(10, 0.9)


# ------------------------------------------------------------------ XOR and parity
def test_xor_network_matches_python(device: torch.device) -> None:
    layers = history.xor_network(device=device)
    x = history.boolean_inputs(2, device=device)
    out = history.threshold_network(x, layers)
    assert out.device == x.device
    assert out[:, 0].tolist() == [float(a ^ b) for a, b in bits(2)]


@pytest.mark.parametrize("n", range(2, 11))
def test_parity_networks_compute_parity(n: int) -> None:
    x = history.boolean_inputs(n)
    expected = [float(sum(b) % 2) for b in bits(n)]
    builders = [history.parity_shallow, history.parity_deep]
    if n <= 8:
        builders.append(history.parity_dnf)
    for build in builders:
        assert history.threshold_network(x, build(n))[:, 0].tolist() == expected, build


@pytest.mark.parametrize("n", range(2, 17))
def test_parity_unit_counts_match_closed_forms(n: int) -> None:
    assert history.count_units(history.parity_shallow(n)) == n + 1
    assert history.count_weights(history.parity_shallow(n)) == n * n + n
    if n <= 10:
        assert history.count_units(history.parity_dnf(n)) == 2 ** (n - 1) + 1
    deep = history.parity_deep(n)
    depth = math.ceil(math.log2(n))
    assert len(deep) == 2 * depth
    units = history.count_units(deep)
    if n & (n - 1) == 0:  # a full binary tree: n - 1 XOR blocks of 3 units, 6 weights
        assert units == 3 * (n - 1)
        assert history.count_weights(deep) == 6 * (n - 1)
    # at most one copied signal per level, two units each
    assert 3 * (n - 1) <= units <= 3 * (n - 1) + 2 * depth
    assert all(int((W != 0).sum(dim=1).max()) <= 2 for W, _ in deep)  # fan-in <= 2


def test_parity_rejects_bad_n() -> None:
    for build in (history.parity_shallow, history.parity_deep, history.parity_dnf):
        with pytest.raises(ValueError, match="`n` must be an integer from 2 to 20"):
            build(1)


# ------------------------------------------------------------------ the sigmoid
def test_sigmoid_unit_matches_scipy_and_its_gradient(device: torch.device) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(7, 3, generator=g, dtype=torch.float64).to(device)
    w = torch.randn(3, generator=g, dtype=torch.float64).to(device).requires_grad_()
    y = history.sigmoid_unit(x, w, 0.3, k=2.5)
    assert y.device == x.device
    expected = expit(2.5 * (x.detach().cpu().numpy() @ w.detach().cpu().numpy() - 0.3))
    np.testing.assert_allclose(y.detach().cpu().numpy(), expected, rtol=1e-12, atol=1e-12)
    (grad,) = torch.autograd.grad(y.sum(), w)
    closed = (2.5 * expected * (1 - expected))[:, None] * x.detach().cpu().numpy()
    np.testing.assert_allclose(grad.cpu().numpy(), closed.sum(axis=0), rtol=1e-10, atol=1e-12)


def test_sigmoid_unit_approaches_the_step() -> None:
    z = torch.linspace(-1, 1, 201, dtype=torch.float64)[:, None]
    z = z[z[:, 0].abs() > 0.05]  # away from the jump
    step = (z[:, 0] > 0).double()
    gaps = [
        float((history.sigmoid_unit(z, torch.ones(1), 0.0, k=k) - step).abs().max())
        for k in (1.0, 10.0, 100.0, 1000.0)
    ]
    assert all(a > b for a, b in itertools.pairwise(gaps)) and gaps[-1] < 1e-12
    with pytest.raises(ValueError, match="`k` must be positive"):
        history.sigmoid_unit(z, torch.ones(1), 0.0, k=0.0)


# ------------------------------------------------------------------ the chapter's data
def test_every_timeline_and_ilsvrc_key_is_in_the_bibliography() -> None:
    keys = set(re.findall(r"^@\w+\{([^,]+),", BIB.read_text(), flags=re.M))
    for event in history.TIMELINE:
        assert event.key in keys, event
        assert 1873 <= event.year <= 2025
        assert event.kind in {"idea", "setback", "milestone"}, event
    for result in history.ILSVRC_RESULTS:
        assert result.key in keys, result
    years = [e.year for e in history.TIMELINE]
    assert years == sorted(years)
    winners = [r for r in history.ILSVRC_RESULTS if r.place == 1]
    errors = [r.top5_error for r in sorted(winners, key=lambda r: r.year)]
    assert errors == sorted(errors, reverse=True)  # each winner improved on the last


def test_every_timeline_and_ilsvrc_key_is_cited_in_chapter_1() -> None:
    # the timeline's caption says each event is cited in the text
    cited = set()
    for group in re.findall(r"\{cite\}`([^`]+)`", CHAPTER.read_text()):
        cited |= {key.strip() for key in group.split(",")}
    keys = {e.key for e in history.TIMELINE} | {r.key for r in history.ILSVRC_RESULTS}
    assert keys <= cited, sorted(keys - cited)


def test_timeline_has_no_long_gap_after_1943_and_names_the_laureates_work() -> None:
    years = [e.year for e in history.TIMELINE if e.year >= 1943]
    gaps = [b - a for a, b in itertools.pairwise(years)]
    assert max(gaps) <= 7, gaps  # the review found 1973-1986 empty
    keys = {e.key for e in history.TIMELINE}
    # the 2024 Nobel entry names Hopfield and Hinton: their cited work is on the line too
    assert {"hopfield1982neural", "ackley1985learning", "nobel2024physics"} <= keys
    assert len({e.label for e in history.TIMELINE}) == len(history.TIMELINE)


def test_perceptron_epoch_matches_one_sklearn_pass(device: torch.device) -> None:
    X, y, _ = history.separable_data(40, 0.05, seed=2)
    X64, y64 = X.double().to(device), y.double().to(device)
    w, b, m = history.perceptron_epoch(
        torch.zeros(2, dtype=torch.float64, device=device), torch.tensor(0.0), X64, y64
    )
    assert w.device == X64.device and m > 0
    sk = Perceptron(shuffle=False, eta0=1.0, alpha=0.0, tol=None, max_iter=1)
    sk.fit(X.double().numpy(), y.double().numpy())
    np.testing.assert_allclose(w.cpu().numpy(), sk.coef_[0], rtol=1e-9, atol=1e-9)
    assert float(b) == pytest.approx(float(sk.intercept_[0]), abs=1e-9)
    with pytest.raises(ValueError, match="`b` be a scalar"):
        history.perceptron_epoch(torch.zeros(2), torch.zeros(2), X, y)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    gamma=st.floats(0.05, 0.5),
    d=st.integers(1, 4),
    n=st.integers(2, 60),
)
def test_perceptron_converges_within_novikoff_bound(
    seed: int, gamma: float, d: int, n: int
) -> None:
    X, y, u = history.separable_data(n, gamma, d, seed=seed)
    X64 = X.double()
    result = history.perceptron(X64, y, max_epochs=100_000)
    assert result.converged
    assert result.mistakes <= history.mistake_bound(X64, y, u.double()) + 1e-9


def test_separable_data_has_its_margin_and_is_reproducible() -> None:
    X, y, u = history.separable_data(300, 0.2, 3, seed=5)
    assert X.shape == (300, 3) and y.shape == (300,) and u.shape == (3,)
    Xn, un = X.double().numpy(), u.double().numpy()
    assert np.all(np.abs(Xn) <= 1) and np.isclose(np.linalg.norm(un), 1.0)
    assert np.all(y.numpy() == np.sign(Xn @ un))
    assert np.min(np.abs(Xn @ un)) >= 0.2 - 1e-6
    X2, y2, _ = history.separable_data(300, 0.2, 3, seed=5)
    assert torch.equal(X, X2) and torch.equal(y, y2)
    with pytest.raises(ValueError, match="`n` and `d` must be positive"):
        history.separable_data(0, 0.2)


def optimal_margin(X: np.ndarray, y: np.ndarray) -> float:
    """The largest augmented margin, by scipy's SLSQP on min ||w||^2 s.t. y w.x~ >= 1."""
    from scipy.optimize import minimize

    Y = y[:, None] * np.hstack([X, np.ones((len(X), 1))])  # (N, d + 1)
    start = 10 * np.linalg.lstsq(Y, np.ones(len(X)), rcond=None)[0]
    res = minimize(
        lambda w: w @ w,
        start,
        jac=lambda w: 2 * w,
        constraints=[{"type": "ineq", "fun": lambda w: Y @ w - 1, "jac": lambda w: Y}],
        method="SLSQP",
        options={"maxiter": 500, "ftol": 1e-12},
    )
    return float((Y @ res.x).min() / np.linalg.norm(res.x))


@pytest.mark.parametrize(("gamma", "seed"), [(0.05, 0), (0.1, 1), (0.2, 2)])
def test_margin_perceptron_keeps_four_ninths_of_the_best_margin(
    gamma: float, seed: int, device: torch.device
) -> None:
    X, y, _ = history.separable_data(100, gamma, seed=seed)
    X64, y64 = X.double().to(device), y.double().to(device)
    res = history.margin_perceptron(X64, y64, max_epochs=20_000)
    assert res.converged and res.w.device == X64.device and res.b.shape == ()
    best = optimal_margin(X.double().numpy(), y.double().numpy())
    got = history.margin(X64, y64, res.w, float(res.b))
    assert got >= 4 / 9 * best  # the guarantee in the docstring
    assert got <= best * (1 + 1e-6)  # no separator beats the optimum


def test_margin_perceptron_with_tau_zero_is_sklearns_perceptron() -> None:
    X, y, _ = history.separable_data(60, 0.05, seed=4)
    res = history.margin_perceptron(X.double(), y.double(), max_epochs=500, tau=0.0)
    sk = Perceptron(shuffle=False, eta0=1.0, alpha=0.0, tol=None, max_iter=500)
    sk.fit(X.double().numpy(), y.double().numpy())
    assert res.converged
    np.testing.assert_allclose(res.w.numpy(), sk.coef_[0], rtol=1e-9, atol=1e-9)
    assert float(res.b) == pytest.approx(float(sk.intercept_[0]), abs=1e-9)


def test_margin_perceptron_stops_and_says_so_on_xor() -> None:
    X = history.boolean_inputs(2)
    res = history.margin_perceptron(X, torch.tensor([-1.0, 1.0, 1.0, -1.0]), max_epochs=50)
    assert not res.converged and res.epochs == 50
