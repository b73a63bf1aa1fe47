"""Grader for exercise set 12 (README.md beside this file). Do not edit."""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils import _pytree as pytree
from torch.utils._python_dispatch import TorchDispatchMode

from dlbook import attention
from dlbook.grading import Case, NotImplementedYetError, check, check_raises

SUBMISSION = "attention.py"
REFERENCES = {
    "scaled_dot_product_attention": attention.scaled_dot_product_attention,
    "split_heads": attention.split_heads,
    "merge_heads": attention.merge_heads,
    "sinusoidal_encoding": attention.sinusoidal_encoding,
    "apply_rope": attention.apply_rope,
    "blockwise_attention": attention.blockwise_attention,
}
# Other dlbook functions that would do an exercise's work.
HIDDEN: list[Callable[..., Any]] = [
    attention.attention,
    attention.blockwise_attention,
    attention.scaled_dot_product_attention,
]


class _Forbidden:
    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"{self.name} is switched off while your code runs: write it yourself")


@pytest.fixture(autouse=True)
def no_builtin_attention(monkeypatch: pytest.MonkeyPatch) -> None:
    """PyTorch's own attention is off for the student's code (the references never use it)."""
    monkeypatch.setattr(
        F, "scaled_dot_product_attention", _Forbidden("F.scaled_dot_product_attention")
    )
    monkeypatch.setattr(nn, "MultiheadAttention", _Forbidden("nn.MultiheadAttention"))


def randn(
    g: torch.Generator, *shape: int, device: torch.device, dtype: torch.dtype = torch.float64
) -> Tensor:
    return torch.randn(*shape, generator=g, dtype=dtype).to(device)


def same_dtype_and_device(
    student: Callable[..., Any], reference: Callable[..., Any], cases: list[Case], exercise: str
) -> None:
    """The grader's comparison checks the kind of number; this checks the exact dtype."""
    for case in cases:
        expected = reference(*case.args, **case.kwargs)
        got = student(*case.args, **case.kwargs)
        assert isinstance(got, Tensor), f"{exercise}: expected a tensor, got {type(got).__name__}"
        assert got.dtype == expected.dtype, (
            f"{exercise}: on input '{case.name}' the result has dtype {got.dtype}, "
            f"expected {expected.dtype}"
        )
        assert got.device == expected.device, (
            f"{exercise}: on input '{case.name}' the result is on {got.device}, "
            f"expected {expected.device}"
        )


def _call(fn: Callable[..., Any], *args: Any, exercise: str, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise NotImplementedYetError(
            f"{exercise}: `{fn.__name__}` is not implemented yet (it raises NotImplementedError)."
        ) from None


# ---------------------------------------------------------------------- Exercise 12.1
def sdpa_cases(device: torch.device) -> list[Case]:
    g = torch.Generator().manual_seed(0)
    q, k, v = (
        randn(g, 2, 3, 5, 4, device=device),
        randn(g, 2, 3, 7, 4, device=device),
        randn(g, 2, 3, 7, 6, device=device),
    )
    keep = torch.rand(5, 7, generator=g) > 0.4
    keep[:, 0] = True
    keep = keep.to(device)
    dead = keep.clone()
    dead[2] = False  # query 2 sees no key: zeros, not NaN
    additive = randn(g, 5, 7, device=device)
    return [
        Case("no mask (is the scale 1/sqrt(d_k)?)", (q, k, v)),
        Case("boolean mask, True = takes part", (q, k, v, keep)),
        Case("additive float mask", (q, k, v, additive)),
        Case("a fully masked row gives zeros", (q, k, v, dead)),
        Case("causal, T_q < T_k (top-left aligned)", (q, k, v), {"is_causal": True}),
        Case("causal, T_q > T_k", (k, q, randn(g, 2, 3, 5, 2, device=device)), {"is_causal": True}),
        Case("causal, T_q = T_k", (q, q, q), {"is_causal": True}),
        Case("scale given", (q, k, v), {"scale": 0.3}),
        Case("broadcast leading dims", (q[0, 0], k, v)),
        Case("no leading dims", (q[0, 0], k[0, 0], v[0, 0])),
        Case("non-contiguous inputs", (q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1))),
    ]


def test_sdpa_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    check(
        submission.scaled_dot_product_attention,
        attention.scaled_dot_product_attention,
        sdpa_cases(device),
        exercise="Exercise 12.1",
        rtol=1e-10,
        atol=1e-12,
        also_hidden=HIDDEN,
    )


def test_sdpa_extreme_scores_float32(submission: types.ModuleType, device: torch.device) -> None:
    """Scores of 1e4 and 1e8 in float32: a softmax without its maximum subtracted overflows."""
    cases = []
    for size in (1e4, 1e8):
        q = torch.tensor([[size, 0.0], [0.0, size], [size, size]], device=device)
        k = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], device=device)
        v = torch.tensor([[1.0], [2.0], [3.0]], device=device)
        cases.append(Case(f"scores of {size:g}, float32", (q, k, v)))
    check(
        submission.scaled_dot_product_attention,
        attention.scaled_dot_product_attention,
        cases,
        exercise="Exercise 12.1",
        rtol=1e-6,
        atol=1e-6,
        also_hidden=HIDDEN,
    )
    same_dtype_and_device(
        submission.scaled_dot_product_attention,
        attention.scaled_dot_product_attention,
        cases,
        "Exercise 12.1",
    )


def test_sdpa_random_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(1)
    cases = []
    for i in range(8):
        T_q, T_k, d = (int(torch.randint(1, 9, (1,), generator=g)) for _ in range(3))
        q, k, v = (
            randn(g, 3, T_q, d, device=device),
            randn(g, 3, T_k, d, device=device),
            randn(g, 3, T_k, 2, device=device),
        )
        kwargs: dict[str, Any] = {"is_causal": True} if i % 2 else {}
        if i % 4 == 2:
            kwargs = {"attn_mask": (torch.rand(T_q, T_k, generator=g) > 0.5).to(device)}
        cases.append(Case(f"random #{i}", (q, k, v), kwargs))
    check(
        submission.scaled_dot_product_attention,
        attention.scaled_dot_product_attention,
        cases,
        exercise="Exercise 12.1",
        rtol=1e-10,
        atol=1e-12,
        also_hidden=HIDDEN,
    )


def test_sdpa_rejects_bad_input(submission: types.ModuleType) -> None:
    x = torch.zeros(2, 3, 4)
    cases = [
        Case(
            "attn_mask and is_causal",
            (x, x, x, torch.ones(3, 3, dtype=torch.bool)),
            {"is_causal": True},
        ),
        Case("d_k of query and key differ", (x, torch.zeros(2, 3, 5), torch.zeros(2, 3, 5))),
    ]
    check_raises(
        submission.scaled_dot_product_attention,
        attention.scaled_dot_product_attention,
        cases,
        ValueError,
        exercise="Exercise 12.1",
        also_hidden=HIDDEN,
    )


# ---------------------------------------------------------------------- Exercise 12.2
def test_split_and_merge_heads(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(2)
    x = randn(g, 2, 5, 12, device=device)
    split_cases = [
        Case("(N, T, E), 3 heads", (x, 3)),
        Case("(N, T, E), 4 heads (features 3i..3i+2 in head i)", (x, 4)),
        Case("(T, E) without a batch", (x[0], 2)),
        Case("(a, b, T, E)", (x.reshape(2, 1, 5, 12), 6)),
        Case("non-contiguous", (x.transpose(0, 1), 3)),
        Case("one head", (x, 1)),
    ]
    check(
        submission.split_heads,
        attention.split_heads,
        split_cases,
        exercise="Exercise 12.2",
        rtol=0,
        atol=0,
        also_hidden=HIDDEN,
    )
    heads = randn(g, 2, 3, 5, 4, device=device)
    merge_cases = [
        Case("(N, h, T, d)", (heads,)),
        Case("(h, T, d)", (heads[0],)),
        Case("non-contiguous", (heads.transpose(0, 1),)),
    ]
    check(
        submission.merge_heads,
        attention.merge_heads,
        merge_cases,
        exercise="Exercise 12.2",
        rtol=0,
        atol=0,
        also_hidden=HIDDEN,
    )
    check_raises(
        submission.split_heads,
        attention.split_heads,
        [Case("5 heads of 12", (x, 5))],
        ValueError,
        exercise="Exercise 12.2",
    )
    check_raises(
        submission.merge_heads,
        attention.merge_heads,
        [Case("2-D input", (x[0],))],
        ValueError,
        exercise="Exercise 12.2",
    )


# ---------------------------------------------------------------------- Exercise 12.3
def test_sinusoidal_encoding(submission: types.ModuleType, device: torch.device) -> None:
    cases = [
        Case("T=4, d=2", (4, 2), {"device": device}),
        Case("T=50, d=16 (sin at even, cos at odd features)", (50, 16), {"device": device}),
        Case(
            "float64, T=3000 (angles computed in float64)",
            (3000, 8),
            {"dtype": torch.float64, "device": device},
        ),
        Case("another base", (10, 6), {"base": 100.0, "device": device}),
        Case("T=1", (1, 4), {"device": device}),
    ]
    check(
        submission.sinusoidal_encoding,
        attention.sinusoidal_encoding,
        cases,
        exercise="Exercise 12.3",
        rtol=1e-7,
        atol=1e-10,
        also_hidden=HIDDEN,
    )
    same_dtype_and_device(
        submission.sinusoidal_encoding, attention.sinusoidal_encoding, cases, "Exercise 12.3"
    )
    check_raises(
        submission.sinusoidal_encoding,
        attention.sinusoidal_encoding,
        [Case("odd d_model", (4, 5)), Case("T = 0", (0, 4))],
        ValueError,
        exercise="Exercise 12.3",
    )


# ---------------------------------------------------------------------- Exercise 12.4
def test_apply_rope(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(3)
    x = randn(g, 2, 3, 7, 8, device=device)
    cases = [
        Case("default positions", (x,)),
        Case(
            "explicit positions",
            (
                x,
                torch.tensor(
                    [5.0, 0.0, 2.0, 9.0, 1.0, 100.0, 3.5], dtype=torch.float64, device=device
                ),
            ),
        ),
        Case("integer positions", (x, torch.arange(7, device=device) * 3)),
        Case("another base", (x,), {"base": 50.0}),
        Case("(T, d) without a batch", (x[0, 0],)),
        Case("float32", (x.float(),)),
        Case("non-contiguous", (x.transpose(0, 1),)),
    ]
    check(
        submission.apply_rope,
        attention.apply_rope,
        cases,
        exercise="Exercise 12.4",
        rtol=1e-6,
        atol=1e-6,
        also_hidden=HIDDEN,
    )
    check(
        submission.apply_rope,
        attention.apply_rope,
        [c for c in cases if c.name != "float32"],
        exercise="Exercise 12.4",
        rtol=1e-10,
        atol=1e-12,
        also_hidden=HIDDEN,
    )
    same_dtype_and_device(submission.apply_rope, attention.apply_rope, cases, "Exercise 12.4")
    check_raises(
        submission.apply_rope,
        attention.apply_rope,
        [
            Case("odd d", (x[..., :7],)),
            Case("positions of the wrong length", (x, torch.arange(6, device=device))),
        ],
        ValueError,
        exercise="Exercise 12.4",
    )


# ---------------------------------------------------------------------- Exercise 12.5
class _LargestTensor(TorchDispatchMode):
    """Records the largest storage (in elements) of any tensor an operation creates."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.largest = 0

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for t in pytree.tree_leaves(out):
            if isinstance(t, Tensor) and t.device.type != "meta":
                self.largest = max(self.largest, t.untyped_storage().nbytes() // t.element_size())
        return out


def test_blockwise_attention_is_exact_and_small(
    submission: types.ModuleType, device: torch.device
) -> None:
    g = torch.Generator().manual_seed(4)
    for T_q, T_k, block, causal in [
        (64, 64, 8, False),
        (64, 64, 8, True),
        (40, 96, 16, True),
        (96, 40, 5, False),
        (33, 70, 7, True),
    ]:
        q = 30 * randn(g, 2, 2, T_q, 16, device=device)  # scores in the hundreds
        k = 30 * randn(g, 2, 2, T_k, 16, device=device)
        v = randn(g, 2, 2, T_k, 8, device=device)
        mode = _LargestTensor()
        with mode:
            got = _call(
                submission.blockwise_attention,
                q,
                k,
                v,
                block_size=block,
                is_causal=causal,
                exercise="Exercise 12.5",
            )
        expected = attention.attention(q, k, v, is_causal=causal)[0]
        assert isinstance(got, Tensor) and got.shape == expected.shape, (
            f"Exercise 12.5: expected a tensor of shape {tuple(expected.shape)}, got {got!r:.80}"
        )
        assert torch.isfinite(got).all(), (
            "Exercise 12.5: the result has inf or NaN (subtract the running maximum)"
        )
        err = (got - expected).abs().max().item()
        assert err < 1e-10, (
            f"Exercise 12.5: T_q={T_q}, T_k={T_k}, block {block}, causal={causal}: "
            f"max error {err:.2e}"
        )
        cap = 4 * max(T_q, T_k) * max(block, 16, 8)
        assert mode.largest <= cap, (
            f"Exercise 12.5: T_q={T_q}, T_k={T_k}, block {block}: your function created a "
            f"tensor of {mode.largest} elements; the bound is {cap} (the full score matrix "
            f"has {4 * T_q * T_k})"
        )
    scale_case = _call(
        submission.blockwise_attention, q, k, v, block_size=6, scale=0.01, exercise="Exercise 12.5"
    )
    torch.testing.assert_close(
        scale_case, attention.attention(q, k, v, scale=0.01)[0], rtol=1e-10, atol=1e-12
    )


def test_blockwise_attention_of_a_single_block_row(
    submission: types.ModuleType, device: torch.device
) -> None:
    """One query, one key, block larger than T_k."""
    q = torch.tensor([[2.0, 0.0]], dtype=torch.float64, device=device)
    v = torch.tensor([[3.0, -1.0]], dtype=torch.float64, device=device)
    got = _call(submission.blockwise_attention, q, q, v, block_size=10, exercise="Exercise 12.5")
    assert torch.allclose(got, v), f"Exercise 12.5: one key must give its value, got {got}"
    assert math.isfinite(got.sum().item())
