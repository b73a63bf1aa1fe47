"""Tests for dlbook.attention against torch.nn.functional.scaled_dot_product_attention
(its OpInfo samples included), nn.MultiheadAttention, nn.TransformerEncoderLayer, closed
forms for the positional encodings, and the laws Chapter 12 states (permutation
equivariance, causality, RoPE's relative positions)."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor, nn

from dlbook import attention as A

F64 = torch.float64


def randn(g: torch.Generator, *shape: int, dtype: torch.dtype = F64) -> Tensor:
    return torch.randn(*shape, generator=g, dtype=dtype)


# ---------------------------------------------------------------------- OpInfo samples
def _sdpa_samples() -> list[Any]:
    from torch.testing._internal.common_methods_invocations import op_db

    (op,) = [o for o in op_db if o.name == "nn.functional.scaled_dot_product_attention"]
    return list(op.sample_inputs("cpu", F64))


def test_opinfo_samples_match_torch() -> None:
    """Every OpInfo sample, value and gradients. Samples with dropout_p > 0 are run with
    dropout switched off: torch draws its masks from a stream we cannot reproduce (our
    dropout is tested on its own below)."""
    samples = _sdpa_samples()
    assert len(samples) >= 20
    for s in samples:
        kwargs = dict(s.kwargs)
        kwargs["dropout_p"] = 0.0
        inputs = [s.input, *s.args]
        ours_in = [x.detach().clone().requires_grad_(True) for x in inputs]
        ref_in = [x.detach().clone().requires_grad_(True) for x in inputs]
        ours = A.scaled_dot_product_attention(ours_in[0], ours_in[1], ours_in[2], **kwargs)
        ref = F.scaled_dot_product_attention(ref_in[0], ref_in[1], ref_in[2], **kwargs)
        torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
        w = torch.randn_like(ref)
        (ours * w).sum().backward()
        (ref * w).sum().backward()
        for a, b in zip(ours_in, ref_in, strict=True):
            torch.testing.assert_close(a.grad, b.grad, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------- our own inputs
MASKS = ["none", "bool", "float", "causal", "bool broadcast (T_q, T_k)", "float per head"]


@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize(("T_q", "T_k"), [(5, 5), (3, 7), (7, 3), (1, 1)])
def test_matches_torch_value_and_gradient(
    mask: str, T_q: int, T_k: int, device: torch.device
) -> None:
    g = torch.Generator().manual_seed(T_q * 10 + T_k)
    q, k, v = randn(g, 2, 3, T_q, 4), randn(g, 2, 3, T_k, 4), randn(g, 2, 3, T_k, 6)
    kwargs: dict[str, Any] = {}
    if mask == "bool":
        m = torch.rand(2, 3, T_q, T_k, generator=g) > 0.4
        m[..., 0] = True  # keep one key per row (fully masked rows are tested apart)
        kwargs["attn_mask"] = m
    elif mask == "bool broadcast (T_q, T_k)":
        m = torch.rand(T_q, T_k, generator=g) > 0.4
        m[..., -1] = True
        kwargs["attn_mask"] = m
    elif mask == "float":
        kwargs["attn_mask"] = randn(g, T_q, T_k)
    elif mask == "float per head":
        kwargs["attn_mask"] = randn(g, 1, 3, T_q, T_k)
    elif mask == "causal":
        kwargs["is_causal"] = True
    kwargs = {k_: (x.to(device) if isinstance(x, Tensor) else x) for k_, x in kwargs.items()}
    leaves = [x.to(device).requires_grad_(True) for x in (q, k, v)]
    twins = [x.detach().clone().requires_grad_(True) for x in leaves]
    ours = A.scaled_dot_product_attention(leaves[0], leaves[1], leaves[2], **kwargs)
    ref = F.scaled_dot_product_attention(twins[0], twins[1], twins[2], **kwargs)
    assert ours.device == ref.device and ours.dtype == ref.dtype
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    w = torch.randn(ref.shape, generator=g, dtype=F64).to(device)
    (ours * w).sum().backward()
    (ref * w).sum().backward()
    for a, b in zip(leaves, twins, strict=True):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-10, atol=1e-12)


def test_causal_mask_is_top_left_aligned_like_torch() -> None:
    """Torch's is_causal for T_q != T_k: query i sees keys 0..i (tril of a (T_q, T_k)
    matrix), not the bottom-right alignment some libraries use."""
    assert A.causal_mask(2, 4).tolist() == [
        [True, False, False, False],
        [True, True, False, False],
    ]
    assert A.causal_mask(3, 2).tolist() == [[True, False], [True, True], [True, True]]


@pytest.mark.parametrize(
    ("q_shape", "k_shape"),
    [
        ((5, 4), (7, 4)),
        ((6, 5, 4), (6, 7, 4)),
        ((2, 1, 3, 5, 4), (1, 2, 3, 7, 4)),
        ((3, 5, 4), (2, 3, 7, 4)),
    ],
)
def test_leading_dimensions_broadcast_like_torch(
    q_shape: tuple[int, ...], k_shape: tuple[int, ...]
) -> None:
    g = torch.Generator().manual_seed(3)
    q, k, v = randn(g, *q_shape), randn(g, *k_shape), randn(g, *k_shape)
    torch.testing.assert_close(
        A.scaled_dot_product_attention(q, k, v, is_causal=True),
        F.scaled_dot_product_attention(q, k, v, is_causal=True),
        rtol=1e-12,
        atol=1e-12,
    )


@pytest.mark.parametrize("T", [2 * A._CAUSAL_BLOCK, 2 * A._CAUSAL_BLOCK + 45])
@pytest.mark.parametrize("gqa", [False, True])
def test_long_causal_attention_by_query_blocks_matches_torch(T: int, gqa: bool) -> None:
    """From 2 blocks of queries on, causal self-attention skips the keys no query of a
    block sees; outputs and gradients are still torch's, with a last partial block too."""
    g = torch.Generator().manual_seed(5)
    q = randn(g, 2, 4, T, 8).requires_grad_()
    k = randn(g, 2, 2 if gqa else 4, T, 8).requires_grad_()
    v = randn(g, 2, 2 if gqa else 4, T, 8).requires_grad_()
    cot = randn(g, 2, 4, T, 8)
    results = []
    for sdpa in (A.scaled_dot_product_attention, F.scaled_dot_product_attention):
        out = sdpa(q, k, v, is_causal=True, scale=0.3, enable_gqa=gqa)
        grads = torch.autograd.grad(out, (q, k, v), cot)
        results.append((out, *grads))
    for ours, theirs in zip(*results, strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    # the weights-returning path computes the full matrix and agrees with the blocks
    out_full, _ = A.attention(q, k, v, is_causal=True, scale=0.3, enable_gqa=gqa)
    torch.testing.assert_close(out_full, results[0][0], rtol=1e-12, atol=1e-12)


def test_scale_and_grouped_query_attention_match_torch() -> None:
    g = torch.Generator().manual_seed(4)
    q, k, v = randn(g, 2, 6, 5, 4), randn(g, 2, 2, 7, 4), randn(g, 2, 2, 7, 3)
    torch.testing.assert_close(
        A.scaled_dot_product_attention(q, q, q, scale=0.1),
        F.scaled_dot_product_attention(q, q, q, scale=0.1),
        rtol=1e-12,
        atol=1e-12,
    )
    for kwargs in ({"enable_gqa": True}, {"enable_gqa": True, "scale": 2.0}):
        torch.testing.assert_close(
            A.scaled_dot_product_attention(q, k, v, **kwargs),
            F.scaled_dot_product_attention(q, k, v, **kwargs),
            rtol=1e-12,
            atol=1e-12,
        )


@pytest.mark.parametrize("kind", ["bool", "float -inf"])
def test_fully_masked_rows_give_zero_like_torch(kind: str) -> None:
    """Torch (CPU and math kernels) returns 0, with zero gradient, for a query that may see
    no key; so do we, where softmax would give 0/0 = NaN."""
    g = torch.Generator().manual_seed(5)
    q, k, v = (randn(g, 2, 4, 3).requires_grad_(True) for _ in range(3))
    allowed = torch.rand(4, 4, generator=g) > 0.3
    allowed[:, 0] = True
    allowed[2] = False  # query 2 sees nothing
    mask = (
        allowed if kind == "bool" else torch.zeros(4, 4, dtype=F64).masked_fill(~allowed, -math.inf)
    )
    ours = A.scaled_dot_product_attention(q, k, v, mask)
    twins = [x.detach().clone().requires_grad_(True) for x in (q, k, v)]
    ref = F.scaled_dot_product_attention(twins[0], twins[1], twins[2], mask)
    assert torch.equal(ours[:, 2], torch.zeros(2, 3, dtype=F64))
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    ours.sum().backward()
    ref.sum().backward()
    for a, b in zip((q, k, v), twins, strict=True):
        assert a.grad is not None and torch.isfinite(a.grad).all()
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-10, atol=1e-12)
    _, weights = A.attention(q, k, v, mask)
    assert torch.equal(weights[:, 2], torch.zeros(2, 4, dtype=F64))


def test_weights_are_a_softmax_and_give_the_output() -> None:
    g = torch.Generator().manual_seed(6)
    q, k, v = randn(g, 3, 5, 4), randn(g, 3, 6, 4), randn(g, 3, 6, 2)
    out, w = A.attention(q, k, v, is_causal=True)
    scores = q @ k.transpose(-2, -1) / 2.0  # sqrt(d_k) = 2
    allowed = torch.tril(torch.ones(5, 6, dtype=torch.bool))
    expected = torch.softmax(scores.masked_fill(~allowed, -math.inf), dim=-1)
    torch.testing.assert_close(w, expected, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(w.sum(-1), torch.ones(3, 5, dtype=F64), rtol=0, atol=1e-14)
    torch.testing.assert_close(out, w @ v, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize("size", [1e4, 1e8])
def test_extreme_scores_stay_finite_and_exact(dtype: torch.dtype, size: float) -> None:
    """Scores of 1e4..1e16: the softmax picks the best key exactly, as torch does."""
    q = torch.tensor([[size, 0.0], [0.0, size]], dtype=dtype)
    k = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], dtype=dtype)
    v = torch.tensor([[1.0], [2.0], [3.0]], dtype=dtype)
    ours = A.scaled_dot_product_attention(q, k, v)
    assert torch.equal(ours, torch.tensor([[1.0], [2.0]], dtype=dtype))
    torch.testing.assert_close(ours, F.scaled_dot_product_attention(q, k, v))


def test_non_contiguous_inputs_work() -> None:
    g = torch.Generator().manual_seed(7)
    q = randn(g, 4, 2, 5).transpose(0, 1)  # (2, 4, 5), non-contiguous
    k = randn(g, 2, 5, 6).transpose(-2, -1)
    v = randn(g, 6, 2, 3).transpose(0, 1)
    assert not (q.is_contiguous() or k.is_contiguous() or v.is_contiguous())
    torch.testing.assert_close(
        A.scaled_dot_product_attention(q, k, v),
        F.scaled_dot_product_attention(q, k, v),
        rtol=1e-12,
        atol=1e-12,
    )


def test_dropout_uses_the_generator_and_inverted_scaling() -> None:
    g = torch.Generator().manual_seed(8)
    q, k, v = randn(g, 4, 50, 8), randn(g, 4, 60, 8), randn(g, 4, 60, 3)
    p = 0.3
    clean_out, clean_w = A.attention(q, k, v)
    out1, w1 = A.attention(q, k, v, dropout_p=p, generator=torch.Generator().manual_seed(1))
    out2, w2 = A.attention(q, k, v, dropout_p=p, generator=torch.Generator().manual_seed(1))
    assert torch.equal(out1, out2) and torch.equal(w1, w2)  # same generator, same mask
    kept = w1 != 0
    frac_dropped = 1 - kept.double().mean().item()
    n = kept.numel()  # 12,000 Bernoulli(0.3): standard error 0.0042
    assert abs(frac_dropped - p) < 6 * math.sqrt(p * (1 - p) / n)
    torch.testing.assert_close(w1[kept], clean_w[kept] / (1 - p), rtol=1e-12, atol=0)
    torch.testing.assert_close(out1, w1 @ v, rtol=1e-12, atol=1e-14)
    assert not torch.equal(out1, clean_out)
    # The global-generator path of the torch-compatible function: reproducible by seed.
    torch.manual_seed(0)
    a = A.scaled_dot_product_attention(q, k, v, dropout_p=p)
    torch.manual_seed(0)
    b = A.scaled_dot_product_attention(q, k, v, dropout_p=p)
    assert torch.equal(a, b)
    assert torch.equal(A.scaled_dot_product_attention(q, k, v, dropout_p=1.0), torch.zeros_like(a))


def test_signature_is_torchs() -> None:
    """Torch's builtin has no inspectable signature; its documented one (torch 2.13) is
    (query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, *, scale=None,
    enable_gqa=False): scale is keyword-only in both."""
    import inspect

    params = inspect.signature(A.scaled_dot_product_attention).parameters
    assert list(params) == [
        "query",
        "key",
        "value",
        "attn_mask",
        "dropout_p",
        "is_causal",
        "scale",
        "enable_gqa",
    ]
    defaults = {n: p.default for n, p in params.items() if p.default is not inspect.Parameter.empty}
    assert defaults == {
        "attn_mask": None,
        "dropout_p": 0.0,
        "is_causal": False,
        "scale": None,
        "enable_gqa": False,
    }
    assert params["scale"].kind is inspect.Parameter.KEYWORD_ONLY
    x = torch.zeros(1, 2, 2)
    for fn in (A.scaled_dot_product_attention, F.scaled_dot_product_attention):
        with pytest.raises(TypeError):
            fn(x, x, x, None, 0.0, False, 0.5)  # type: ignore[call-arg]


def _bad_inputs() -> list[tuple[str, dict[str, Any], type[Exception], str]]:
    x = torch.zeros(2, 3, 4)
    return [
        ("query a list", {"query": [[1.0]]}, TypeError, "query must be a tensor"),
        (
            "integer query",
            {"query": torch.zeros(2, 3, 4, dtype=torch.int64)},
            TypeError,
            "floating",
        ),
        ("1-D key", {"key": torch.zeros(4)}, ValueError, "key must have shape"),
        ("mixed dtypes", {"value": x.double()}, TypeError, "share a dtype"),
        ("other device", {"key": torch.zeros(2, 3, 4, device="meta")}, ValueError, "device"),
        ("d_k differs", {"key": torch.zeros(2, 3, 5)}, ValueError, "last dimension"),
        ("T_k differs", {"value": torch.zeros(2, 5, 4)}, ValueError, "same length"),
        ("batch differs", {"key": torch.zeros(3, 3, 4)}, ValueError, "broadcast"),
        ("int mask", {"attn_mask": torch.zeros(3, 3, dtype=torch.int64)}, TypeError, "attn_mask"),
        ("float64 mask", {"attn_mask": torch.zeros(3, 3, dtype=F64)}, TypeError, "attn_mask"),
        ("mask shape", {"attn_mask": torch.ones(3, 5, dtype=torch.bool)}, ValueError, "broadcast"),
        (
            "mask and causal",
            {"attn_mask": torch.ones(3, 3, dtype=torch.bool), "is_causal": True},
            ValueError,
            "not both",
        ),
        ("dropout 1.5", {"dropout_p": 1.5}, ValueError, "dropout_p"),
        ("bad gqa", {"key": torch.zeros(3, 3, 4), "enable_gqa": True}, ValueError, "enable_gqa"),
        ("scale a string", {"scale": "big"}, TypeError, "scale"),
    ]


@pytest.mark.parametrize(
    ("name", "change", "error", "match"),
    _bad_inputs(),
    ids=lambda c: c if isinstance(c, str) else "",
)
def test_bad_input_gets_a_clear_error(
    name: str, change: dict[str, Any], error: type[Exception], match: str
) -> None:
    x = torch.zeros(2, 3, 4)
    kwargs: dict[str, Any] = {"query": x, "key": x, "value": x, **change}
    with pytest.raises(error, match=match):
        A.scaled_dot_product_attention(**kwargs)


# ---------------------------------------------------------------------- blockwise attention
@pytest.mark.parametrize("block_size", [1, 3, 8, 100])
@pytest.mark.parametrize(("T_q", "T_k"), [(8, 8), (5, 11), (11, 5)])
def test_blockwise_attention_is_exact(block_size: int, T_q: int, T_k: int) -> None:
    g = torch.Generator().manual_seed(9)
    q, k, v = randn(g, 2, T_q, 4), randn(g, 2, T_k, 4), randn(g, 2, T_k, 3)
    for causal in (False, True):
        torch.testing.assert_close(
            A.blockwise_attention(q, k, v, block_size=block_size, is_causal=causal),
            F.scaled_dot_product_attention(q, k, v, is_causal=causal),
            rtol=1e-12,
            atol=1e-12,
        )


# ---------------------------------------------------------------------- heads
def test_split_and_merge_heads() -> None:
    g = torch.Generator().manual_seed(10)
    x = randn(g, 2, 5, 12)
    heads = A.split_heads(x, 3)
    assert heads.shape == (2, 3, 5, 4)
    for i in range(3):  # head i holds features 4i .. 4i+3, as nn.MultiheadAttention
        assert torch.equal(heads[:, i], x[..., 4 * i : 4 * i + 4])
    assert torch.equal(A.merge_heads(heads), x)
    with pytest.raises(ValueError, match="divisible"):
        A.split_heads(x, 5)
    with pytest.raises(ValueError, match="h, T, d"):
        A.merge_heads(torch.zeros(3, 4))


# ---------------------------------------------------------------------- multi-head attention
MHA_CONFIGS: list[dict[str, Any]] = [
    {},
    {"batch_first": True},
    {"kdim": 3, "vdim": 5},
    {"bias": False},
    {"add_bias_kv": True},
    {"add_zero_attn": True},
    {"add_bias_kv": True, "add_zero_attn": True, "kdim": 6},
]


def _mha_pair(
    config: dict[str, Any], seed: int
) -> tuple[nn.MultiheadAttention, A.MultiheadAttention]:
    torch.manual_seed(seed)
    ref = nn.MultiheadAttention(8, 2, **config).double()
    ours = A.MultiheadAttention(8, 2, **config).double()
    assert set(ours.state_dict()) == set(ref.state_dict())
    for key_, value_ in ref.state_dict().items():
        assert ours.state_dict()[key_].shape == value_.shape, key_
    ours.load_state_dict(ref.state_dict())
    return ref, ours


@pytest.mark.parametrize("config", MHA_CONFIGS, ids=str)
@pytest.mark.parametrize(
    "masks", ["none", "key padding", "attn bool", "attn float per head", "both"]
)
def test_multihead_attention_matches_torch(config: dict[str, Any], masks: str) -> None:
    ref, ours = _mha_pair(config, 11)
    g = torch.Generator().manual_seed(12)
    N, T_q, T_k = 3, 4, 6
    kd, vd = config.get("kdim", 8), config.get("vdim", 8)
    shape = (lambda T, E: (N, T, E)) if config.get("batch_first") else (lambda T, E: (T, N, E))
    q = randn(g, *shape(T_q, 8)).requires_grad_(True)
    k = randn(g, *shape(T_k, kd)).requires_grad_(True)
    v = randn(g, *shape(T_k, vd)).requires_grad_(True)
    kwargs: dict[str, Any] = {}
    if masks in ("key padding", "both"):
        pad = torch.rand(N, T_k, generator=g) > 0.6
        pad[:, 0] = False
        kwargs["key_padding_mask"] = pad
    if masks in ("attn bool", "both"):
        am = torch.rand(T_q, T_k, generator=g) > 0.7
        am[:, 0] = False
        kwargs["attn_mask"] = am
    if masks == "attn float per head":
        kwargs["attn_mask"] = randn(g, N * 2, T_q, T_k)
    for average in (True, False):
        out_r, w_r = ref(q, k, v, average_attn_weights=average, **kwargs)
        out_o, w_o = ours(q, k, v, average_attn_weights=average, **kwargs)
        torch.testing.assert_close(out_o, out_r, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(w_o, w_r, rtol=1e-12, atol=1e-12)
    grads_r = torch.autograd.grad(out_r.square().sum(), [q, k, v, *ref.parameters()])
    grads_o = torch.autograd.grad(out_o.square().sum(), [q, k, v, *ours.parameters()])
    names_r = ["q", "k", "v", *(n for n, _ in ref.named_parameters())]
    names_o = ["q", "k", "v", *(n for n, _ in ours.named_parameters())]
    by_name = dict(zip(names_o, grads_o, strict=True))
    for name, grad in zip(names_r, grads_r, strict=True):
        torch.testing.assert_close(by_name[name], grad, rtol=1e-10, atol=1e-12, msg=name)


def test_multihead_attention_unbatched_causal_and_no_weights() -> None:
    ref, ours = _mha_pair({}, 13)
    g = torch.Generator().manual_seed(14)
    x = randn(g, 5, 8)  # unbatched (T, E)
    mask = nn.Transformer.generate_square_subsequent_mask(5, dtype=F64)
    out_r, w_r = ref(x, x, x, attn_mask=mask)
    out_o, w_o = ours(x, x, x, attn_mask=mask)
    torch.testing.assert_close(out_o, out_r, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(w_o, w_r, rtol=1e-12, atol=1e-12)
    out_c, none = ours(x, x, x, need_weights=False, is_causal=True)
    assert none is None
    torch.testing.assert_close(out_c, out_r, rtol=1e-12, atol=1e-12)


def test_multihead_attention_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="divisible"):
        A.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="dropout"):
        A.MultiheadAttention(8, 2, dropout=2.0)
    mha = A.MultiheadAttention(8, 2)
    x = torch.zeros(4, 3, 8)
    with pytest.raises(ValueError, match="8 features"):
        mha(torch.zeros(4, 3, 7), x, x)
    with pytest.raises(ValueError, match="key_padding_mask"):
        mha(x, x, x, key_padding_mask=torch.zeros(3, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="attn_mask"):
        mha(x, x, x, attn_mask=torch.zeros(4, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="2-D"):
        mha(torch.zeros(8), x, x)


# ---------------------------------------------------------------------- the encoder block
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize(
    "config",
    [{}, {"activation": "gelu", "bias": False}, {"batch_first": True, "layer_norm_eps": 1e-3}],
    ids=str,
)
def test_encoder_layer_matches_torch(norm_first: bool, config: dict[str, Any]) -> None:
    torch.manual_seed(15)
    ref = nn.TransformerEncoderLayer(8, 2, 16, norm_first=norm_first, **config).double().eval()
    ours = A.TransformerEncoderLayer(8, 2, 16, norm_first=norm_first, **config).double().eval()
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in ref.state_dict().items()
    }
    ours.load_state_dict(ref.state_dict())
    g = torch.Generator().manual_seed(16)
    x = randn(g, 3, 5, 8) if config.get("batch_first") else randn(g, 5, 3, 8)
    pad = torch.rand(3, 5, generator=g) > 0.6
    pad[:, 0] = False
    causal = nn.Transformer.generate_square_subsequent_mask(5, dtype=F64)
    for kwargs in (
        {},
        {"src_key_padding_mask": pad},
        {"src_mask": causal},
        {"src_mask": causal, "src_key_padding_mask": pad},
    ):
        xr = x.clone().requires_grad_(True)
        xo = x.clone().requires_grad_(True)
        out_r, out_o = ref(xr, **kwargs), ours(xo, **kwargs)
        torch.testing.assert_close(out_o, out_r, rtol=1e-12, atol=1e-12)
        out_r.square().sum().backward()
        out_o.square().sum().backward()
        torch.testing.assert_close(xo.grad, xr.grad, rtol=1e-10, atol=1e-12)


def test_encoder_layer_dropout_is_off_in_eval_and_on_in_training() -> None:
    layer = A.TransformerEncoderLayer(8, 2, 16, dropout=0.5, batch_first=True)
    x = torch.randn(2, 5, 8)
    layer.eval()
    assert torch.equal(layer(x), layer(x))
    layer.train()
    assert not torch.equal(layer(x), layer(x))
    with pytest.raises(ValueError, match="activation"):
        A.TransformerEncoderLayer(8, 2, activation="swish")


# ---------------------------------------------------------------------- laws (Hypothesis)
@settings(max_examples=25, deadline=None)
@given(T=st.integers(2, 9), seed=st.integers(0, 2**31 - 1))
def test_self_attention_without_positions_is_permutation_equivariant(T: int, seed: int) -> None:
    """Permuting the tokens permutes the outputs: attention alone cannot see order."""
    torch.manual_seed(seed)
    layer = A.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True).double().eval()
    g = torch.Generator().manual_seed(seed)
    x = randn(g, 2, T, 8)
    perm = torch.randperm(T, generator=g)
    torch.testing.assert_close(layer(x[:, perm]), layer(x)[:, perm], rtol=1e-10, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(T=st.integers(2, 9), t=st.integers(0, 8), seed=st.integers(0, 2**31 - 1))
def test_causal_output_never_depends_on_the_future(T: int, t: int, seed: int) -> None:
    t = t % T
    torch.manual_seed(seed)
    layer = A.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True).double().eval()
    g = torch.Generator().manual_seed(seed)
    x = randn(g, 1, T, 8).requires_grad_(True)
    out = layer(x, is_causal=True)
    w = randn(g, 8)  # a random read-out: the plain sum of a layer norm's output is constant
    (grad,) = torch.autograd.grad((out[0, t] * w).sum(), x)
    assert torch.equal(grad[0, t + 1 :], torch.zeros_like(grad[0, t + 1 :]))  # exactly zero
    assert grad[0, : t + 1].abs().sum() > 0
    y = x.detach().clone()
    y[0, t + 1 :] += 100 * randn(g, T - t - 1, 8)
    assert torch.equal(layer(y, is_causal=True)[0, : t + 1], out[0, : t + 1].detach())


@settings(max_examples=40, deadline=None)
@given(
    m=st.integers(0, 500),
    n=st.integers(0, 500),
    shift=st.integers(-200, 200),
    seed=st.integers(0, 2**31 - 1),
)
def test_rope_scores_depend_only_on_the_offset(m: int, n: int, shift: int, seed: int) -> None:
    """<R_m q, R_n k> = <R_{m+s} q, R_{n+s} k>: RoPE's scores see only m - n."""
    g = torch.Generator().manual_seed(seed)
    q, k = randn(g, 1, 16), randn(g, 1, 16)

    def score(a: int, b: int) -> Tensor:
        rq = A.apply_rope(q, torch.tensor([a], dtype=F64))
        rk = A.apply_rope(k, torch.tensor([b], dtype=F64))
        return (rq * rk).sum()

    torch.testing.assert_close(score(m, n), score(m + shift, n + shift), rtol=1e-9, atol=1e-9)


def test_rope_is_a_rotation_by_complex_multiplication() -> None:
    """Independent form: pair (x_2i, x_2i+1) as the complex number x_2i + i x_2i+1 and
    multiply by exp(i m theta_i), theta_i = 10000^(-2i/d)."""
    g = torch.Generator().manual_seed(17)
    x = randn(g, 3, 7, 8)
    z = torch.view_as_complex(x.reshape(3, 7, 4, 2).contiguous())
    theta = torch.tensor([10000.0 ** (-2 * i / 8) for i in range(4)], dtype=F64)
    m = torch.arange(7, dtype=F64).unsqueeze(-1)
    expected = torch.view_as_real(z * torch.polar(torch.ones_like(m * theta), m * theta)).reshape(
        3, 7, 8
    )
    torch.testing.assert_close(A.apply_rope(x), expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(A.apply_rope(x).norm(dim=-1), x.norm(dim=-1), rtol=1e-12, atol=0)


def test_sinusoidal_encoding_closed_form() -> None:
    P = A.sinusoidal_encoding(50, 6, dtype=F64)
    for t in (0, 1, 17, 49):
        for i in range(3):
            w = 1 / 10000 ** (2 * i / 6)
            assert math.isclose(P[t, 2 * i].item(), math.sin(t * w), abs_tol=1e-12)
            assert math.isclose(P[t, 2 * i + 1].item(), math.cos(t * w), abs_tol=1e-12)
    assert A.sinusoidal_encoding(3, 4).dtype == torch.float32
    with pytest.raises(ValueError, match="even"):
        A.sinusoidal_encoding(3, 5)


def test_learned_positional_encoding_adds_its_table() -> None:
    pe = A.LearnedPositionalEncoding(10, 4)
    x = torch.randn(2, 3, 4)
    torch.testing.assert_close(pe(x), x + pe.weight[:3], rtol=0, atol=0)
    with pytest.raises(ValueError, match="T <= 10"):
        pe(torch.zeros(1, 11, 4))


def test_a_mask_with_more_leading_dimensions_than_the_scores() -> None:
    """The mask may add batch dimensions (the scores are then broadcast, not filled in place).
    Torch's kernel refuses this, so its reference gets the query expanded to the mask's batch."""
    g = torch.Generator().manual_seed(18)
    q, k, v = randn(g, 5, 4), randn(g, 7, 4), randn(g, 7, 3)
    keep = torch.rand(2, 5, 7, generator=g) > 0.5
    keep[1, 3] = False  # one fully masked row
    for mask in (keep, torch.zeros(2, 5, 7, dtype=F64).masked_fill(~keep, -math.inf)):
        torch.testing.assert_close(
            A.scaled_dot_product_attention(q, k, v, mask),
            F.scaled_dot_product_attention(q.expand(2, 5, 4), k, v, attn_mask=mask),
            rtol=1e-12,
            atol=1e-12,
        )
