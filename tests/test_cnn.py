"""Tests for dlbook.cnn against torch.nn.functional (float64, forward and backward), PyTorch's
own OpInfo samples, finite differences, Chapter 2's Toeplitz matrices, and the sizes torch
produces."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor, nn

from dlbook import cnn, linalg

F64 = torch.float64


def _op_db() -> list[Any]:
    """PyTorch's OpInfo database (its test utilities need `expecttest`, pinned)."""
    from torch.testing._internal.common_methods_invocations import op_db

    return list(op_db)


OURS: dict[str, Callable[..., Any]] = {
    "nn.functional.conv1d": cnn.conv1d,
    "nn.functional.conv2d": cnn.conv2d,
    "nn.functional.max_pool2d": cnn.max_pool2d,
    "nn.functional.avg_pool2d": cnn.avg_pool2d,
}


def _outputs(result: Any) -> list[Tensor]:
    return list(result) if isinstance(result, tuple) else [result]


# ------------------------------------------------------------------ OpInfo samples
@pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")
@pytest.mark.parametrize("name", sorted(OURS))
def test_agrees_with_torch_on_opinfo_samples(name: str) -> None:
    (op,) = [o for o in _op_db() if o.name == name and o.variant_test_name == ""]
    samples = list(op.sample_inputs("cpu", F64, requires_grad=True))
    assert len(samples) > 5
    for k, s in enumerate(samples):
        x = s.input.detach().clone().requires_grad_()
        expected = _outputs(op.op(s.input, *s.args, **s.kwargs))
        got = _outputs(OURS[name](x, *s.args, **s.kwargs))
        assert len(got) == len(expected)
        for g, e in zip(got, expected, strict=True):
            assert g.shape == e.shape and g.dtype == e.dtype, (name, s.kwargs)
            if e.dtype == torch.int64:  # max_pool2d's indices
                assert torch.equal(g, e), (name, s.args, s.kwargs)
            else:
                torch.testing.assert_close(g, e, rtol=1e-12, atol=1e-12)
        if k % 40 and name == "nn.functional.max_pool2d":
            continue  # 1,440 pooling samples: check the backward on every 40th
        # Backward: the same cotangent through both, gradients for every input.
        v = torch.randn_like(expected[0])
        leaves = [s.input, *[a for a in s.args if isinstance(a, Tensor) and a.requires_grad]]
        theirs = torch.autograd.grad((expected[0] * v).sum(), leaves)
        mine_leaves = [x, *[a for a in s.args if isinstance(a, Tensor) and a.requires_grad]]
        mine = torch.autograd.grad(
            (
                OURS[name](x, *s.args, **s.kwargs)
                if name != "nn.functional.max_pool2d"
                else _outputs(OURS[name](x, *s.args, **s.kwargs))[0]
            )
            .mul(v)
            .sum(),
            mine_leaves,
        )
        for a, b in zip(mine, theirs, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------ conv2d, random configs
@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 2),
    groups=st.sampled_from([1, 2]),
    c_per_group=st.integers(1, 3),
    o_per_group=st.integers(1, 3),
    size=st.tuples(st.integers(5, 9), st.integers(5, 9)),
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_conv2d_matches_torch_forward_and_backward(
    n: int,
    groups: int,
    c_per_group: int,
    o_per_group: int,
    size: tuple[int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    bias: bool,
    seed: int,
) -> None:
    g = torch.Generator().manual_seed(seed)
    C, O = c_per_group * groups, o_per_group * groups  # noqa: E741
    x = torch.randn(n, C, *size, generator=g, dtype=F64, requires_grad=True)
    w = torch.randn(O, c_per_group, *kernel, generator=g, dtype=F64, requires_grad=True)
    b = torch.randn(O, generator=g, dtype=F64, requires_grad=True) if bias else None
    args = (stride, padding, dilation, groups)
    ours, theirs = cnn.conv2d(x, w, b, *args), F.conv2d(x, w, b, *args)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    v = torch.randn(theirs.shape, generator=g, dtype=F64)
    leaves = [x, w] + ([b] if b is not None else [])
    for a, e in zip(
        torch.autograd.grad((ours * v).sum(), leaves),
        torch.autograd.grad((theirs * v).sum(), leaves),
        strict=True,
    ):
        torch.testing.assert_close(a, e, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"stride": 2, "padding": 1},
        {"padding": "same", "dilation": 2},
        {"padding": "valid", "groups": 2},
        {"padding": (0, 2), "dilation": (2, 1), "stride": (1, 2)},
    ],
)
def test_conv2d_gradcheck(kwargs: dict[str, Any]) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 4, 6, 5, generator=g, dtype=F64, requires_grad=True)
    w = torch.randn(2, 4 // kwargs.get("groups", 1), 3, 2, generator=g, dtype=F64)
    w.requires_grad_()
    b = torch.randn(2, generator=g, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w, b: cnn.conv2d(x, w, b, **kwargs), (x, w, b))


def test_conv1d_gradcheck_and_torch() -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 2, 11, generator=g, dtype=F64, requires_grad=True)
    w = torch.randn(4, 2, 3, generator=g, dtype=F64, requires_grad=True)
    for kwargs in ({"stride": 2, "padding": 1}, {"padding": "same", "dilation": 3}):
        assert torch.autograd.gradcheck(lambda x, w: cnn.conv1d(x, w, **kwargs), (x, w))  # noqa: B023
        torch.testing.assert_close(cnn.conv1d(x, w, **kwargs), F.conv1d(x, w, **kwargs))


def test_pooling_gradcheck() -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 3, 7, 6, generator=g, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x: cnn.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), (x,)
    )
    # Max pooling is piecewise linear; random inputs have no ties, so it is differentiable.
    assert torch.autograd.gradcheck(lambda x: cnn.max_pool2d(x, (3, 2), 2, 1, (1, 2)), (x,))


def test_unbatched_and_non_contiguous_inputs(device: torch.device) -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.randn(3, 9, 8, generator=g, dtype=F64).to(device).transpose(1, 2)  # (3, 8, 9)
    w = torch.randn(2, 3, 3, 3, generator=g, dtype=F64).to(device)[:, :, ::1, ::1]
    assert not x.is_contiguous()
    ours = cnn.conv2d(x, w, padding=1)
    assert ours.device == x.device and ours.shape == (2, 8, 9)
    torch.testing.assert_close(ours, F.conv2d(x, w, padding=1))
    torch.testing.assert_close(cnn.max_pool2d(x, 2), F.max_pool2d(x, 2))
    torch.testing.assert_close(cnn.avg_pool2d(x, 3, 1, 1), F.avg_pool2d(x, 3, 1, 1))
    torch.testing.assert_close(cnn.unfold(x, 2, 1, 1, 2), F.unfold(x, 2, 1, 1, 2))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_float32_and_large_values(dtype: torch.dtype) -> None:
    g = torch.Generator().manual_seed(4)
    x = (1e4 * torch.randn(2, 2, 6, 6, generator=g)).to(dtype)
    w = torch.randn(3, 2, 3, 3, generator=g).to(dtype)
    ours, theirs = cnn.conv2d(x, w, stride=2), F.conv2d(x, w, stride=2)
    assert ours.dtype == dtype
    # float32: the two sum 18 products in different orders; relative error ~ 18 eps.
    tol = {"rtol": 1e-5, "atol": 1e-1} if dtype == torch.float32 else {}
    torch.testing.assert_close(ours, theirs, **tol)  # type: ignore[arg-type]
    torch.testing.assert_close(cnn.max_pool2d(x * 1e4, 3, 2), F.max_pool2d(x * 1e4, 3, 2))


def test_unfold_matches_torch() -> None:
    g = torch.Generator().manual_seed(5)
    x = torch.randn(2, 3, 7, 8, generator=g, dtype=F64)
    cases: list[tuple[Any, ...]] = [(2,), ((3, 2), (1, 2), (1, 0), (2, 1)), (3, 2, 2, 3)]
    for args in cases:
        torch.testing.assert_close(cnn.unfold(x, *args), F.unfold(x, *args))


# ------------------------------------------------------------------ Toeplitz structure
def test_conv1d_is_chapter2s_toeplitz_product() -> None:
    g = torch.Generator().manual_seed(6)
    x, k = torch.randn(12, generator=g, dtype=F64), torch.randn(4, generator=g, dtype=F64)
    # conv1d correlates; convolution_matrix convolves: they differ by flipping the kernel.
    T = linalg.convolution_matrix(k.flip(0), 12, "valid")
    torch.testing.assert_close(cnn.conv1d(x[None], k[None, None])[0], T @ x)


@settings(max_examples=20, deadline=None)
@given(
    H=st.integers(2, 7),
    W=st.integers(2, 7),
    kh=st.integers(1, 2),
    kw=st.integers(1, 2),
    seed=st.integers(0, 1000),
)
def test_conv2d_toeplitz(H: int, W: int, kh: int, kw: int, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    K = torch.randn(kh, kw, generator=g, dtype=F64)
    X = torch.randn(H, W, generator=g, dtype=F64)
    T = cnn.conv2d_toeplitz(K, (H, W))
    Ho, Wo = H - kh + 1, W - kw + 1
    assert T.shape == (Ho * Wo, H * W)
    torch.testing.assert_close(
        (T @ X.flatten()).reshape(Ho, Wo), F.conv2d(X[None, None], K[None, None])[0, 0]
    )
    # Doubly block-Toeplitz: the entry depends only on the row and column offsets.
    blocks = T.reshape(Ho, Wo, H, W)
    for a in range(1, Ho):
        torch.testing.assert_close(blocks[a, :, a:, :], blocks[0, :, : H - a, :])
    for b in range(1, Wo):
        torch.testing.assert_close(blocks[:, b, :, b:], blocks[:, 0, :, : W - b])


# ------------------------------------------------------------------ sizes
@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 30),
    k=st.integers(1, 6),
    s=st.integers(1, 4),
    p=st.integers(0, 3),
    d=st.integers(1, 3),
    ceil=st.booleans(),
)
def test_output_size_matches_torch(n: int, k: int, s: int, p: int, d: int, ceil: bool) -> None:
    span = d * (k - 1) + 1
    x = torch.zeros(1, 1, n)
    if n + 2 * p < span:
        with pytest.raises(ValueError, match="larger than the padded input"):
            cnn.conv_output_size(n, k, s, p, d, ceil)
        return
    if not ceil:
        conv = F.conv1d(x, torch.zeros(1, 1, k), stride=s, padding=p, dilation=d)
        assert cnn.conv_output_size(n, k, s, p, d) == conv.shape[-1]
    if p <= k // 2:  # torch's pooling limit on padding
        pool = F.max_pool1d(x, k, s, p, d, ceil_mode=ceil)
        assert cnn.conv_output_size(n, k, s, p, d, ceil) == pool.shape[-1]


def test_receptive_field_matches_the_gradient_support() -> None:
    # Independent check: which inputs move the central output of a stack of layers.
    layers = [(3, 1, 1), (3, 2, 1), (3, 1, 2), (2, 2, 1), (3, 1, 1)]
    x = torch.randn(1, 1, 101, dtype=F64, requires_grad=True)
    h = x
    for k, s, d in layers:
        h = F.conv1d(h, torch.rand(1, 1, k, dtype=F64) + 0.1, stride=s, dilation=d)
    out = cnn.receptive_field(layers)
    h[0, 0, h.shape[-1] // 2].backward()
    support = torch.nonzero(x.grad[0, 0]).flatten()  # type: ignore[index]
    assert out[-1][0] == int(support.max() - support.min() + 1)
    assert out[-1][1] == math.prod(s for _, s, _ in layers)
    # Neighbouring outputs' fields are one jump apart.
    x.grad = None
    h2 = x
    for k, s, d in layers:
        h2 = F.conv1d(h2, torch.ones(1, 1, k, dtype=F64), stride=s, dilation=d)
    h2[0, 0, 1].backward()
    assert int(torch.nonzero(x.grad[0, 0]).min()) == out[-1][1]  # type: ignore[index]


# ------------------------------------------------------------------ modules
def test_conv2d_module_loads_torch_state_dict_and_agrees(device: torch.device) -> None:
    kwargs = {"stride": (2, 1), "padding": 1, "dilation": (1, 2), "groups": 2}
    theirs = nn.Conv2d(4, 6, (3, 2), **kwargs).to(device, F64)  # type: ignore[arg-type]
    ours = cnn.Conv2d(4, 6, (3, 2), **kwargs, device=device, dtype=F64)  # type: ignore[arg-type]
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in theirs.state_dict().items()
    }
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(2, 4, 7, 8, dtype=F64, device=device)
    torch.testing.assert_close(ours(x), theirs(x))
    ours(x).square().sum().backward()
    theirs(x).square().sum().backward()
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad)
    pool, tpool = cnn.MaxPool2d(3, 2, 1, ceil_mode=True), nn.MaxPool2d(3, 2, 1, ceil_mode=True)
    torch.testing.assert_close(pool(x), tpool(x))


def test_conv2d_module_initialisation_matches_torch() -> None:
    torch.manual_seed(0)
    theirs = nn.Conv2d(3, 5, 3)
    torch.manual_seed(0)
    ours = cnn.Conv2d(3, 5, 3)
    torch.testing.assert_close(ours.weight, theirs.weight)
    torch.testing.assert_close(ours.bias, theirs.bias)
    assert cnn.Conv2d(2, 2, 1, bias=False).bias is None
    with pytest.raises(ValueError, match="padding_mode"):
        cnn.Conv2d(1, 1, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="divisible"):
        cnn.Conv2d(3, 4, 3, groups=2)


def test_digits_cnn_and_residual_block() -> None:
    model = cnn.DigitsCNN()
    assert cnn.count_parameters(model) == (32 * 9 + 32) + (64 * 32 * 9 + 64) + (256 * 10 + 10)
    assert model(torch.zeros(5, 1, 8, 8)).shape == (5, 10)
    block = cnn.ResidualBlock(3)
    with torch.no_grad():
        block.conv2.weight.zero_()
        block.conv2.bias.zero_()  # type: ignore[union-attr]
    x = torch.rand(2, 3, 5, 5)  # non-negative, so ReLU(x + 0) = x
    torch.testing.assert_close(block(x), x)  # a residual block can be the identity
    plain = cnn.ResidualBlock(3, shortcut=False)
    plain.load_state_dict(block.state_dict())
    assert torch.all(plain(x) == 0)  # the plain block, with the same weights, cannot


def test_residual_block_function_matches_torch_layers(device: torch.device) -> None:
    torch.manual_seed(1)
    conv1 = nn.Conv2d(3, 3, 5, padding=2).to(device, F64)
    conv2 = nn.Conv2d(3, 3, 5, padding=2).to(device, F64)
    x = torch.randn(2, 3, 6, 7, dtype=F64, device=device)
    expected = torch.relu(x + conv2(torch.relu(conv1(x))))
    args = (conv1.weight, conv1.bias, conv2.weight, conv2.bias)
    torch.testing.assert_close(cnn.residual_block(x, *args), expected)  # type: ignore[arg-type]
    torch.testing.assert_close(
        cnn.residual_block(x, *args, shortcut=False),  # type: ignore[arg-type]
        torch.relu(conv2(torch.relu(conv1(x)))),
    )
    with pytest.raises(ValueError, match="k odd"):
        cnn.residual_block(x, torch.zeros(3, 3, 2, 2, dtype=F64), *args[1:])  # type: ignore[arg-type]


def test_lenet5_counts_equal_the_paper() -> None:
    counts = cnn.lenet5_parameter_counts()
    assert counts == cnn.LENET5_PAPER_PARAMETERS
    assert sum(counts.values()) == 60_000  # "about 60,000" in the paper: exactly
    # C3's 60 kernel connections (the paper's Table I): 6 x 3 + 9 x 4 + 1 x 6.
    assert counts["C3"] == 25 * (6 * 3 + 9 * 4 + 6) + 16


# ------------------------------------------------------------------ filters
def test_sobel_on_a_ramp_and_gaussian_kernel() -> None:
    rows, cols = torch.meshgrid(torch.arange(6.0), torch.arange(7.0), indexing="ij")
    ramp = (2 * cols + 3 * rows)[None, None]  # slope 2 across, 3 down
    edges = cnn.conv2d(ramp, cnn.sobel_kernels())
    torch.testing.assert_close(edges[0, 0], torch.full((4, 5), 8 * 2.0))  # 1+2+1 times 2 steps
    torch.testing.assert_close(edges[0, 1], torch.full((4, 5), 8 * 3.0))
    from scipy.signal.windows import gaussian

    g = torch.as_tensor(gaussian(7, 1.5), dtype=F64)
    torch.testing.assert_close(
        cnn.gaussian_kernel(7, 1.5, dtype=F64), torch.outer(g, g) / torch.outer(g, g).sum()
    )


def test_random_shift_moves_whole_images() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(200, 2, 6, 5, dtype=F64)
    out = cnn.random_shift(x, 1, g)
    padded = F.pad(x, (1, 1, 1, 1))
    seen = set()
    for n in range(len(x)):  # each output is one of the nine zero-filled shifts of its input
        hits = [
            (dy, dx)
            for dy in range(3)
            for dx in range(3)
            if torch.equal(out[n], padded[n, :, dy : dy + 6, dx : dx + 5])
        ]
        assert hits
        seen.update(hits)
    assert len(seen) == 9


# ------------------------------------------------------------------ bad input
X4 = torch.zeros(1, 2, 5, 5)
W4 = torch.zeros(3, 2, 3, 3)
BAD: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    ("input not a tensor", lambda: cnn.conv2d([1.0], W4), TypeError, "input"),  # type: ignore[arg-type]
    ("integer input", lambda: cnn.conv2d(X4.long(), W4), TypeError, "floating"),
    ("input 2-D", lambda: cnn.conv2d(X4[0, 0], W4), ValueError, "3-D or 4-D"),
    ("weight 3-D", lambda: cnn.conv2d(X4, W4[0]), ValueError, "weight"),
    ("channels", lambda: cnn.conv2d(X4, torch.zeros(3, 1, 3, 3)), ValueError, "channels"),
    ("groups", lambda: cnn.conv2d(X4, W4, groups=2), ValueError, "groups"),
    ("bias shape", lambda: cnn.conv2d(X4, W4, torch.zeros(2)), ValueError, "bias"),
    ("dtype", lambda: cnn.conv2d(X4, W4.double()), ValueError, "dtype"),
    ("device", lambda: cnn.conv2d(X4, W4.to("meta")), ValueError, "meta"),
    ("stride 0", lambda: cnn.conv2d(X4, W4, stride=0), ValueError, "stride"),
    ("negative padding", lambda: cnn.conv2d(X4, W4, padding=-1), ValueError, "padding"),
    ("padding string", lambda: cnn.conv2d(X4, W4, padding="full"), ValueError, "padding"),
    ("same with stride", lambda: cnn.conv2d(X4, W4, stride=2, padding="same"), ValueError, "same"),
    ("kernel too large", lambda: cnn.conv2d(X4, torch.zeros(1, 2, 7, 7)), ValueError, "larger"),
    ("three strides", lambda: cnn.conv2d(X4, W4, stride=(1, 1, 1)), ValueError, "stride"),
    ("conv1d 4-D", lambda: cnn.conv1d(X4, W4), ValueError, "2-D or 3-D"),
    ("pool padding", lambda: cnn.max_pool2d(X4, 2, padding=2), ValueError, "half"),
    ("avg padding", lambda: cnn.avg_pool2d(X4, 3, padding=2), ValueError, "half"),
    ("pool integer", lambda: cnn.max_pool2d(X4.int(), 2), TypeError, "floating"),
    ("divisor 0", lambda: cnn.avg_pool2d(X4, 2, divisor_override=0), ValueError, "divisor"),
    ("gaussian even", lambda: cnn.gaussian_kernel(4, 1.0), ValueError, "odd"),
    ("gaussian sigma", lambda: cnn.gaussian_kernel(3, 0.0), ValueError, "sigma"),
    ("receptive field", lambda: cnn.receptive_field([(3, 1)]), ValueError, "layers"),  # type: ignore[list-item]
    (
        "toeplitz size",
        lambda: cnn.conv2d_toeplitz(torch.zeros(3, 3), (2, 5)),
        ValueError,
        "input_size",
    ),
]


@pytest.mark.parametrize(("case", "call", "error", "match"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_rejected_clearly(
    case: str, call: Callable[[], object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        call()
