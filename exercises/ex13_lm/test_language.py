"""Grader for exercise set 13 (README.md beside this file). Do not edit."""

from __future__ import annotations

import math
import types

import numpy as np
import pytest
import torch

from dlbook import bpe, data, lm
from dlbook.grading import (
    Case,
    NotImplementedYetError,
    check,
    check_raises,
    run_with_timeout,
)

SUBMISSION = "language.py"
REFERENCES = {
    "merge_pair": bpe.merge_pair,
    "add_k_nll": lm.add_k_nll,
    "top_k_filter": lm.top_k_filter,
    "top_p_filter": lm.top_p_filter,
    "cached_causal_attention": lm.cached_causal_attention,
    "bradley_terry_loss": lm.bradley_terry_loss,
    "choose_add_k": lm.choose_add_k,
}


def call(
    exercise: str, function: types.FunctionType, *args: object, seconds: float = 10.0
) -> object:
    """Run the student's function directly (for the property-graded checks)."""
    try:
        return run_with_timeout(function, args, seconds=seconds, what=f"{exercise}: your function")
    except NotImplementedError:
        raise NotImplementedYetError(
            f"{exercise}: `{function.__name__}` is not implemented yet (it raises "
            "NotImplementedError). Replace the `raise NotImplementedError` line with your code."
        ) from None


def randn(g: torch.Generator, *shape: int, device: torch.device) -> torch.Tensor:
    return torch.randn(*shape, generator=g, dtype=torch.float64).to(device)


# ---------------------------------------------------------------------- Exercise 13.1
def test_merge_pair_fixed_inputs(submission: types.ModuleType) -> None:
    cases = [
        Case("one occurrence", ([1, 2, 3], (1, 2), 9)),
        Case("overlapping run merges from the left", ([1, 1, 1], (1, 1), 9)),
        Case("an even run", ([1, 1, 1, 1], (1, 1), 9)),
        Case("pair at the end", ([3, 1, 2], (1, 2), 9)),
        Case("alternating", ([1, 2, 1, 2, 1], (1, 2), 9)),
        Case("the reversed pair only", ([2, 1, 2, 1], (1, 2), 9)),
        Case("no occurrence", ([2, 1, 3], (1, 2), 9)),
        Case("a single id", ([1], (1, 1), 9)),
        Case("empty", ([], (1, 2), 9)),
        Case("new id already in the text", ([9, 1, 2, 9], (1, 2), 9)),
    ]
    check(submission.merge_pair, bpe.merge_pair, cases, exercise="Exercise 13.1")


def test_merge_pair_random_inputs(submission: types.ModuleType) -> None:
    g = torch.Generator().manual_seed(0)
    cases = []
    for i in range(15):
        n = int(torch.randint(0, 40, (1,), generator=g))
        ids = torch.randint(0, 3, (n,), generator=g).tolist()
        a, b = torch.randint(0, 3, (2,), generator=g).tolist()
        cases.append(Case(f"random #{i}", (ids, (a, b), 256 + i)))
    check(submission.merge_pair, bpe.merge_pair, cases, exercise="Exercise 13.1")


def test_merge_pair_errors(submission: types.ModuleType) -> None:
    cases = [Case("a str", ("abc", (97, 98), 256)), Case("a list pair", ([1, 2], [1, 2], 3))]
    check_raises(submission.merge_pair, bpe.merge_pair, cases, TypeError, exercise="13.1")


# ---------------------------------------------------------------------- Exercise 13.2
TINY = [0, 1, 2, 0, 3, 0, 4, 0, 1, 2, 0]


def test_add_k_fixed_inputs(submission: types.ModuleType) -> None:
    cases = [
        Case("unigram, k = 1", (TINY, [0, 1, 4], 1, 1.0, 5)),
        Case("bigram, k = 0.5", (TINY, [0, 1, 4, 0, 2], 2, 0.5, 5)),
        Case("trigram, small k", (TINY, [0, 1, 4, 0, 2, 0, 1], 3, 0.01, 5)),
        Case("order longer than the test", (TINY, [1, 2], 4, 0.1, 5)),
        Case("unseen tokens in a bigger vocabulary", (TINY, [5, 6, 5], 2, 0.2, 8)),
        Case("a one-token test", (TINY, [3], 3, 1.0, 5)),
        Case("a large k", (TINY, [0, 1, 2], 2, 1e3, 5)),
    ]
    check(
        submission.add_k_nll, lm.add_k_nll, cases, exercise="Exercise 13.2", rtol=1e-10, atol=1e-12
    )


def test_add_k_random_inputs(submission: types.ModuleType) -> None:
    g = torch.Generator().manual_seed(1)
    cases = []
    for i in range(8):
        V = int(torch.randint(2, 6, (1,), generator=g))
        train = torch.randint(0, V, (60,), generator=g).tolist()
        test = torch.randint(0, V, (20,), generator=g).tolist()
        order = 1 + i % 4
        cases.append(Case(f"random #{i}", (train, test, order, 0.05 * (i + 1), V)))
    check(
        submission.add_k_nll, lm.add_k_nll, cases, exercise="Exercise 13.2", rtol=1e-10, atol=1e-12
    )


def test_add_k_errors(submission: types.ModuleType) -> None:
    cases = [
        Case("k = 0", (TINY, [0], 2, 0.0, 5)),
        Case("negative k", (TINY, [0], 2, -1.0, 5)),
        Case("order 0", (TINY, [0], 0, 1.0, 5)),
        Case("empty test", (TINY, [], 2, 1.0, 5)),
        Case("a test token out of range", (TINY, [5], 2, 1.0, 5)),
        Case("a train token out of range", ([0, 7], [0], 2, 1.0, 5)),
    ]
    check_raises(submission.add_k_nll, lm.add_k_nll, cases, ValueError, exercise="13.2")


# ---------------------------------------------------------------------- Exercise 13.3
def _logit_cases(device: torch.device) -> list[tuple[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(2)
    out = [
        ("a row", torch.tensor([1.0, 3.0, 2.0, -1.0, 0.5], dtype=torch.float64)),
        ("ties with the k-th", torch.tensor([2.0, 1.0, 1.0, 1.0, 0.0], dtype=torch.float64)),
        ("a batch", randn(g, 3, 7, device=device)),
        ("a 3-D batch", randn(g, 2, 2, 6, device=device)),
        ("float32 at 1e4", torch.tensor([[0.0, 1.0, -1.0, 0.5]]) * 1e4),
        ("float32 at 1e8", torch.tensor([[0.0, 1.0, -1.0, 0.5]]) * 1e8),
        ("a peaked row", torch.tensor([10.0, 0.0, 0.0, 0.0], dtype=torch.float64)),
    ]
    return [(name, z.to(device)) for name, z in out]


def test_top_k_filter(submission: types.ModuleType, device: torch.device) -> None:
    cases = []
    for name, z in _logit_cases(device):
        for k in (1, 2, 3, 10):
            cases.append(Case(f"{name}, k = {k}", (z, k)))
    check(submission.top_k_filter, lm.top_k_filter, cases, exercise="Exercise 13.3", rtol=0, atol=0)
    z = _logit_cases(device)[4][1]
    got = submission.top_k_filter(z, 2)
    assert got.dtype == z.dtype, f"Exercise 13.3: top_k_filter returned {got.dtype} for {z.dtype}"


def test_top_p_filter(submission: types.ModuleType, device: torch.device) -> None:
    cases = []
    for name, z in _logit_cases(device):
        for p in (0.05, 0.5, 0.8, 0.95, 1.0):
            cases.append(Case(f"{name}, p = {p}", (z, p)))
    # mass just below and above a partial sum: 0.5, then 0.5 + 0.3
    z = torch.log(torch.tensor([0.2, 0.5, 0.3], dtype=torch.float64, device=device))
    cases += [Case("p just below 0.5", (z, 0.49)), Case("p just above 0.5", (z, 0.51))]
    cases += [Case("p just above 0.8", (z, 0.81))]
    check(submission.top_p_filter, lm.top_p_filter, cases, exercise="Exercise 13.3", rtol=0, atol=0)
    z32 = _logit_cases(device)[5][1]
    got = submission.top_p_filter(z32, 0.9)
    assert got.dtype == z32.dtype, f"Exercise 13.3: top_p_filter returned {got.dtype}"


def test_filter_errors(submission: types.ModuleType) -> None:
    z = torch.zeros(4)
    check_raises(
        submission.top_k_filter, lm.top_k_filter, [Case("k = 0", (z, 0))], ValueError,
        exercise="13.3",
    )  # fmt: skip
    check_raises(
        submission.top_p_filter,
        lm.top_p_filter,
        [Case("p = 0", (z, 0.0)), Case("p > 1", (z, 1.5))],
        ValueError,
        exercise="13.3",
    )
    check_raises(
        submission.top_k_filter,
        lm.top_k_filter,
        [Case("integer logits", (torch.zeros(4, dtype=torch.long), 1))],
        TypeError,
        exercise="13.3",
    )


# ---------------------------------------------------------------------- Exercise 13.4
def test_cached_attention_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(3)
    cases = []
    for B, h, T0, T, d in [(1, 1, 0, 4, 3), (2, 2, 3, 1, 4), (1, 2, 3, 2, 4), (2, 1, 5, 3, 8)]:
        q, k, v = (randn(g, B, h, T, d, device=device) for _ in range(3))
        past = None if T0 == 0 else (
            randn(g, B, h, T0, d, device=device), randn(g, B, h, T0, d, device=device)
        )  # fmt: skip
        cases.append(Case(f"B={B} h={h} T0={T0} T={T}", (q, k, v, past)))
    check(
        submission.cached_causal_attention,
        lm.cached_causal_attention,
        cases,
        exercise="Exercise 13.4",
        rtol=1e-10,
        atol=1e-12,
    )


def test_cached_attention_equals_one_pass(submission: types.ModuleType) -> None:
    """Feeding a sequence in pieces must give the outputs of one causal pass."""
    g = torch.Generator().manual_seed(4)
    cpu = torch.device("cpu")
    q, k, v = (randn(g, 1, 2, 7, 4, device=cpu) for _ in range(3))
    whole, _, _ = lm.cached_causal_attention(q, k, v)
    f = submission.cached_causal_attention
    first = call("Exercise 13.4", f, q[:, :, :4], k[:, :, :4], v[:, :, :4])
    assert isinstance(first, tuple) and len(first) == 3, "Exercise 13.4: return (Y, K, V)"
    y1, k1, v1 = first
    second = call("Exercise 13.4", f, q[:, :, 4:], k[:, :, 4:], v[:, :, 4:], (k1, v1))
    assert isinstance(second, tuple) and len(second) == 3, "Exercise 13.4: return (Y, K, V)"
    y2 = second[0]
    torch.testing.assert_close(torch.cat([y1, y2], 2), whole, rtol=1e-10, atol=1e-12)


def test_cached_attention_errors(submission: types.ModuleType) -> None:
    x = torch.zeros(1, 1, 2, 4)
    cases = [
        Case("3-D query", (torch.zeros(1, 2, 4), x, x)),
        Case("keys of another width", (x, torch.zeros(1, 1, 2, 3), torch.zeros(1, 1, 2, 3))),
        Case("cache of another width", (x, x, x, (torch.zeros(1, 1, 3, 5),) * 2)),
    ]
    check_raises(
        submission.cached_causal_attention,
        lm.cached_causal_attention,
        cases,
        ValueError,
        exercise="13.4",
    )


# ---------------------------------------------------------------------- Exercise 13.5
def test_bradley_terry_fixed_and_random(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(5)
    cases = [
        Case("equal rewards", (torch.zeros(3, device=device), torch.zeros(3, device=device))),
        Case("random", (randn(g, 50, device=device), randn(g, 50, device=device))),
        Case("one pair", (torch.tensor([2.0], device=device), torch.tensor([-1.0], device=device))),
    ]
    for dtype in (torch.float32, torch.float64):
        big = torch.tensor([1e4, -1e8, 1e8, 3.0], dtype=dtype, device=device)
        cases.append(Case(f"extreme differences, {dtype}", (big, -big)))
    check(
        submission.bradley_terry_loss,
        lm.bradley_terry_loss,
        cases,
        exercise="Exercise 13.5",
        rtol=1e-6,
        atol=1e-7,
    )
    got = submission.bradley_terry_loss(torch.zeros(2, device=device), torch.ones(2, device=device))
    assert got.ndim == 0 and got.dtype == torch.float32, (
        f"Exercise 13.5: expected a 0-d float32 tensor, got shape {tuple(got.shape)}, {got.dtype}"
    )


def test_bradley_terry_errors(submission: types.ModuleType) -> None:
    cases = [
        Case("shapes differ", (torch.zeros(3), torch.zeros(4))),
        Case("2-D", (torch.zeros(2, 2), torch.zeros(2, 2))),
        Case("empty", (torch.zeros(0), torch.zeros(0))),
        # nine entries: the grader prints the values of tensors of up to eight, which a meta
        # tensor does not have
        Case("another device", (torch.zeros(9), torch.zeros(9, device="meta"))),
    ]
    check_raises(
        submission.bradley_terry_loss, lm.bradley_terry_loss, cases, ValueError, exercise="13.5"
    )
    check_raises(
        submission.bradley_terry_loss,
        lm.bradley_terry_loss,
        [Case("integer rewards", (torch.zeros(3, dtype=torch.long), torch.zeros(3)))],
        TypeError,
        exercise="13.5",
    )


# ---------------------------------------------------------------------- Exercise 13.6
@pytest.fixture(scope="module")
def char_ids() -> tuple[list[int], int]:
    text = data.text_corpus()[:40_000]
    tok = bpe.CharTokenizer(text)
    return tok.encode(text), tok.vocab_size


@pytest.mark.parametrize(("order", "offset"), [(3, 0), (2, 20_000)])
def test_choose_add_k_is_near_optimal(
    submission: types.ModuleType, char_ids: tuple[list[int], int], order: int, offset: int
) -> None:
    ids, V = char_ids
    train = ids[offset : offset + 15_000]
    valid = ids[offset + 15_000 : offset + 17_500]
    test = ids[offset + 17_500 : offset + 20_000]
    k = call(
        "Exercise 13.6", submission.choose_add_k, list(train), list(valid), order, V, seconds=60.0
    )
    assert isinstance(k, (int, float)) and math.isfinite(k) and k > 0, (
        f"Exercise 13.6: choose_add_k must return a positive float, got {k!r}"
    )
    grid = np.logspace(-4, 1, 81)
    best_valid = min(lm.add_k_nll(train, valid, order, float(x), V) for x in grid)
    best_test = min(lm.add_k_nll(train, test, order, float(x), V) for x in grid)
    got_valid = lm.add_k_nll(train, valid, order, float(k), V)
    got_test = lm.add_k_nll(train, test, order, float(k), V)
    assert got_valid <= best_valid * 1.002, (
        f"Exercise 13.6 (order {order}): validation NLL {got_valid:.5f} at k = {k:.3g} is more "
        f"than 0.2 % above the best on the grid, {best_valid:.5f}"
    )
    assert got_test <= best_test * 1.01, (
        f"Exercise 13.6 (order {order}): test NLL {got_test:.5f} at k = {k:.3g} is more than "
        f"1 % above the best on the grid, {best_test:.5f}"
    )
