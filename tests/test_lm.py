"""Tests for dlbook.bpe and dlbook.lm against independent references.

References: Hugging Face ``tokenizers`` (BPE), direct counting (n-grams), torch's own
``nn.TransformerEncoderLayer`` (the GPT block), the uncached forward pass (the KV cache),
direct sorting in NumPy float64 (top-k and top-p), ``F.logsigmoid`` (Bradley-Terry) and
the published model sizes (scaling arithmetic).
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from typing import Any, cast

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from dlbook import bpe, data, lm


@pytest.fixture(autouse=True)
def one_thread() -> Any:
    """Tiny tensors: one thread is fastest, and several stall badly on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


SMALL = lm.GPTConfig(vocab_size=11, block_size=16, n_layer=2, n_head=2, d_model=8)


@pytest.fixture(scope="module")
def corpus() -> str:
    return data.text_corpus()[:40_000]


@pytest.fixture(scope="module")
def trained(corpus: str) -> bpe.BPETokenizer:
    return bpe.train_bpe(corpus, 320)


# ---------------------------------------------------------------------------- tokenisers
def test_pretokenize_pieces() -> None:
    assert bpe.pretokenize("a  b\n\nc, d") == ["a", " ", " b", "\n", "\n", "c", ",", " d"]


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=60))
def test_pretokenize_covers_every_character(text: str) -> None:
    assert "".join(bpe.pretokenize(text)) == text


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=80))
def test_bpe_round_trip_on_any_text(trained: bpe.BPETokenizer, text: str) -> None:
    ids = trained.encode(text)
    assert all(0 <= i < trained.vocab_size for i in ids)
    assert trained.decode(ids) == text


def test_bpe_textbook_example() -> None:
    tok = bpe.train_bpe("low lower lowest low", 260)
    # "lo" (4 times), then "low" (4), then " low" (3: the pre-tokeniser keeps the space)
    assert [tok.vocab[i] for i in range(256, 260)] == [b"lo", b"low", b" low", b" lowe"]
    assert tok.encode("lowest") == [257, ord("e"), ord("s"), ord("t")]


def test_bpe_compresses(trained: bpe.BPETokenizer, corpus: str) -> None:
    ids = trained.encode(corpus)
    assert len(corpus.encode()) / len(ids) > 1.5  # 64 merges already save a third


def _hf_merges(text: str, vocab_size: int) -> tuple[list[tuple[bytes, bytes]], Any]:
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(bpe.PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator([text], trainer=trainer)
    merges = json.loads(tok.to_str())["model"]["merges"]
    decode = bpe.byte_level_decoder()
    return [(bytes(decode[c] for c in a), bytes(decode[c] for c in b)) for a, b in merges], tok


def test_bpe_agrees_with_hugging_face(corpus: str) -> None:
    train, held_out = corpus[:30_000], corpus[30_000:]
    ours = bpe.train_bpe(train, 400)
    theirs, tok = _hf_merges(train, 400)
    mine = [(ours.vocab[a], ours.vocab[b]) for a, b in ours.merges]
    # the same merges; their order may differ only where two pairs tie in count
    assert set(mine) == set(theirs) and len(mine) == len(theirs) == 144
    assert len(ours.encode(held_out)) == len(tok.encode(held_out).ids)


def test_char_tokenizer() -> None:
    tok = bpe.CharTokenizer("banana!")
    assert tok.alphabet == ["!", "a", "b", "n"]
    assert tok.decode(tok.encode("nab!")) == "nab!"
    with pytest.raises(ValueError, match="alphabet"):
        tok.encode("x")
    with pytest.raises(ValueError, match="outside"):
        tok.decode([4])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: bpe.train_bpe("abc", 255), ValueError, "vocab_size"),
        (lambda: bpe.train_bpe(b"abc", 300), TypeError, "str"),  # type: ignore[arg-type]
        (lambda: bpe.pretokenize(3), TypeError, "str"),  # type: ignore[arg-type]
        (lambda: bpe.BPETokenizer([(0, 300)]), ValueError, "not yet defined"),
        (lambda: bpe.BPETokenizer([]).decode([256]), ValueError, "outside"),
        (lambda: bpe.CharTokenizer(""), ValueError, "non-empty"),
    ],
)
def test_tokenizer_errors(call: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------------------- n-grams
def _kn_direct(train: list[int], order: int, V: int, context: list[int], w: int) -> float:
    """Interpolated Kneser-Ney written from its definition by scanning the text."""
    D = {}

    def count(g: tuple[int, ...]) -> int:
        n = len(g)
        return sum(tuple(train[i : i + n]) == g for i in range(len(train) - n + 1))

    def cont(g: tuple[int, ...]) -> int:  # distinct left neighbours of g
        return sum(count((u, *g)) > 0 for u in range(V))

    def c(k: int, g: tuple[int, ...]) -> int:
        return count(g) if k == order else cont(g)

    for k in range(1, order + 1):
        grams = {tuple(train[i : i + k]) for i in range(len(train) - k + 1)}
        values = [c(k, g) for g in grams]
        n1, n2 = values.count(1), values.count(2)
        D[k] = n1 / (n1 + 2 * n2) if n1 + n2 else 0.5

    def p(k: int) -> float:
        if k == 0:
            return 1.0 / V
        h = tuple(context[len(context) - (k - 1) :]) if k > 1 else ()
        total = sum(c(k, (*h, u)) for u in range(V))
        if total == 0:  # an unseen history passes the lower order's mass on
            return p(k - 1)
        types = sum(c(k, (*h, u)) > 0 for u in range(V))
        return max(c(k, (*h, w)) - D[k], 0) / total + D[k] * types / total * p(k - 1)

    # a context shorter than order - 1 uses the orders it has
    return p(min(order, len(context) + 1))


TINY = [0, 1, 2, 0, 3, 0, 4, 0, 1, 2, 0]  # "abracadabra"


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_kneser_ney_matches_direct_counting(order: int) -> None:
    model = lm.KneserNey(TINY, order, 5)
    for context in ([], [0], [1, 2], [2, 0, 3], [4, 4, 4]):
        for w in range(5):
            ctx = context[len(context) - (order - 1) :] if order > 1 else []
            expected = _kn_direct(TINY, order, 5, ctx, w)
            assert model.prob(context, w) == pytest.approx(expected, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 3), min_size=1, max_size=40),
    st.integers(1, 5),
    st.lists(st.integers(0, 3), max_size=5),
)
def test_kneser_ney_is_a_distribution(train: list[int], order: int, context: list[int]) -> None:
    model = lm.KneserNey(train, order, 4)
    probs = [model.prob(context, w) for w in range(4)]
    assert all(q >= 0 for q in probs)  # zero only if a discount is 0 (no singletons)
    assert sum(probs) == pytest.approx(1.0, abs=1e-12)
    smoothed = lm.KneserNey(train, order, 4, discount=0.5)
    assert all(smoothed.prob(context, w) > 0 for w in range(4))


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.integers(0, 3), min_size=1, max_size=60),
    st.integers(1, 6),
    st.data(),
    st.sampled_from([None, 0.5]),
)
def test_kneser_ney_at_order_is_the_model_of_that_order(
    train: list[int], order: int, data: st.DataObject, discount: float | None
) -> None:
    # the shared-table shortcut against a model counted from scratch at that order
    n = data.draw(st.integers(1, order))
    test = data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=12))
    smaller = lm.KneserNey(train, order, 4, discount=discount).at_order(n)
    direct = lm.KneserNey(train, n, 4, discount=discount)
    assert smaller.order == n and smaller.num_counts == direct.num_counts
    assert smaller.discounts == direct.discounts
    for t in range(len(test)):  # the same sums in the same order: exactly equal
        for w in range(4):
            assert smaller.prob(test[:t], w) == direct.prob(test[:t], w)
    with pytest.raises(ValueError, match="order"):
        direct.at_order(n + 1)


def test_kneser_ney_nll_is_the_mean_of_log_probs() -> None:
    model = lm.KneserNey(TINY, 3, 5)
    test = [0, 1, 4, 2, 0]
    direct = -sum(math.log(model.prob(test[max(0, t - 2) : t], w)) for t, w in enumerate(test))
    assert model.nll(test) == pytest.approx(direct / 5, rel=1e-14)


def test_kneser_ney_discounts_from_count_of_counts() -> None:
    model = lm.KneserNey(TINY, 2, 5)
    bigrams = Counter(itertools.pairwise(TINY))
    n1 = sum(v == 1 for v in bigrams.values())
    n2 = sum(v == 2 for v in bigrams.values())
    assert model.discounts[2] == pytest.approx(n1 / (n1 + 2 * n2))
    fixed = lm.KneserNey(TINY, 2, 5, discount=0.3)
    assert fixed.discounts == {2: 0.3, 1: 0.3}


def test_add_k_matches_direct_counting() -> None:
    train, test, V = TINY, [0, 1, 4, 0, 2], 5
    for order, k in [(1, 1.0), (2, 0.5), (3, 0.01)]:
        total = 0.0
        for t in range(len(test)):
            n = min(order, t + 1)
            h = tuple(test[t - n + 1 : t])
            num = sum(tuple(train[i : i + n]) == (*h, test[t]) for i in range(len(train) - n + 1))
            den = sum(tuple(train[i : i + n - 1]) == h for i in range(len(train) - n + 1))
            total -= math.log((num + k) / (den + k * V))
        assert lm.add_k_nll(train, test, order, k, V) == pytest.approx(total / 5, rel=1e-13)


def test_choose_add_k_finds_the_grid_minimum() -> None:
    text = data.text_corpus()[:6000]
    tok = bpe.CharTokenizer(text)
    ids = tok.encode(text)
    train, valid = ids[:5000], ids[5000:]
    V = tok.vocab_size
    k = lm.choose_add_k(train, valid, 3, V)
    grid = np.logspace(-4, 1, 101)
    best = min(lm.add_k_nll(train, valid, 3, float(g), V) for g in grid)
    assert lm.add_k_nll(train, valid, 3, k, V) <= best + 1e-9


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: lm.KneserNey([0, 1], 0, 2), "order"),
        (lambda: lm.KneserNey([0, 2], 2, 2), "outside"),
        (lambda: lm.KneserNey([0, 1], 2, 2, discount=1.5), "discount"),
        (lambda: lm.KneserNey([0, 1], 2, 2).nll([]), "empty"),
        (lambda: lm.add_k_nll([0], [1], 1, 0.0, 2), "k must"),
        (lambda: lm.add_k_nll([0], [], 1, 1.0, 2), "empty"),
        (lambda: lm.add_k_nll([0], [1], 1, 1.0, 0), "vocab_size"),
        (lambda: lm.KneserNey(torch.zeros(3), 1, 2), "integer"),
    ],
)
def test_ngram_errors(call: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_ngram_accepts_integer_tensors() -> None:
    for dtype in (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64):
        ids = torch.tensor(TINY, dtype=dtype)
        assert lm.KneserNey(ids, 2, 5).nll(ids) == pytest.approx(lm.KneserNey(TINY, 2, 5).nll(TINY))


# ---------------------------------------------------------------------------- metrics
@settings(max_examples=50, deadline=None)
@given(st.floats(0.0, 20.0), st.integers(1, 1000), st.integers(1, 1000))
def test_perplexity_and_bits_per_character(nll: float, n_tok: int, n_char: int) -> None:
    # bits per token is log2 of the perplexity; spread over the characters
    bits_per_token = math.log2(lm.perplexity(nll)) if nll > 0 else 0.0
    assert lm.bits_per_character(nll, n_tok, n_char) == pytest.approx(
        bits_per_token * n_tok / n_char, rel=1e-12, abs=1e-12
    )
    assert lm.bits_per_character(nll, n_char, n_char) == pytest.approx(nll / math.log(2))


def test_uniform_model_has_perplexity_v() -> None:
    logits = torch.zeros(7, 65, dtype=torch.float64)
    nll = F.cross_entropy(logits, torch.arange(7))
    assert lm.perplexity(nll) == pytest.approx(65.0, rel=1e-12)
    with pytest.raises(ValueError, match="nll"):
        lm.perplexity(-1.0)
    with pytest.raises(ValueError, match="num_chars"):
        lm.bits_per_character(1.0, 3, 0)


# ---------------------------------------------------------------------------- the GPT
def _model(config: lm.GPTConfig = SMALL, seed: int = 0) -> lm.GPT:
    return lm.GPT(config, torch.Generator().manual_seed(seed)).double()


@pytest.mark.parametrize(
    "config",
    [SMALL, lm.GPTConfig(103, 64, 3, 4, 96), lm.GPTConfig(50, 7, 1, 1, 4)],
)
def test_parameter_count_formula(config: lm.GPTConfig) -> None:
    model = lm.GPT(config)
    counted = sum(p.numel() for p in model.parameters())  # the tied matrix once
    assert lm.gpt_num_parameters(config) == counted


def test_weights_are_tied() -> None:
    model = _model()
    assert model.lm_head.weight is model.wte.weight
    logits, _ = model(torch.tensor([[1, 2, 3]]))
    logits.sum().backward()
    assert model.wte.weight.grad is not None


def test_gpt2_and_gpt3_sizes() -> None:
    # Radford et al. 2019, Table 2: 117M, 345M, 762M, 1542M with (layers, d_model).
    # Counted exactly, with the 50,257-token vocabulary and 1,024 positions of GPT-2.
    sizes = {(12, 768): 124_439_808, (24, 1024): 354_823_168, (36, 1280): 774_030_080}
    sizes[(48, 1600)] = 1_557_611_200
    for (M, d), n in sizes.items():
        assert lm.gpt_num_parameters(lm.GPTConfig(50257, 1024, M, max(1, d // 64), d)) == n
    # GPT-3 175B (Brown et al. 2020, Table 2.1): 96 layers, d_model 12,288, context 2,048
    n3 = lm.gpt_num_parameters(lm.GPTConfig(50257, 2048, 96, 96, 12288))
    assert abs(n3 / 175e9 - 1) < 0.005
    assert lm.training_flops(175e9, 300e9) == pytest.approx(3.15e23)
    assert abs(lm.training_flops(n3, 300e9) / 3.14e23 - 1) < 0.005  # the paper's Table D.1


class TorchBlocks(nn.Module):
    """The same network from torch's own pre-LN encoder layers under a causal mask."""

    def __init__(self, config: lm.GPTConfig) -> None:
        super().__init__()
        d = config.d_model
        self.wte = nn.Embedding(config.vocab_size, d)
        self.wpe = nn.Embedding(config.block_size, d)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                d,
                config.n_head,
                4 * d,
                dropout=0.0,
                activation="gelu",
                batch_first=True,
                norm_first=True,
            )
            for _ in range(config.n_layer)
        )
        self.ln_f = nn.LayerNorm(d)

    def load_from(self, model: lm.GPT) -> None:
        with torch.no_grad():
            self.wte.weight.copy_(model.wte.weight)
            self.wpe.weight.copy_(model.wpe.weight)
            self.ln_f.load_state_dict(model.ln_f.state_dict())
            for block, layer in zip(model.h, self.layers, strict=True):
                ours = cast(lm.Block, block)
                theirs = cast(nn.TransformerEncoderLayer, layer)
                theirs.norm1.load_state_dict(ours.ln_1.state_dict())
                theirs.norm2.load_state_dict(ours.ln_2.state_dict())
                theirs.self_attn.in_proj_weight.copy_(ours.attn.c_attn.weight)
                theirs.self_attn.in_proj_bias.copy_(ours.attn.c_attn.bias)
                theirs.self_attn.out_proj.load_state_dict(ours.attn.c_proj.state_dict())
                theirs.linear1.load_state_dict(ours.mlp.c_fc.state_dict())
                theirs.linear2.load_state_dict(ours.mlp.c_proj.state_dict())

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        T = tokens.shape[1]
        x = self.wte(tokens) + self.wpe(torch.arange(T))
        mask = nn.Transformer.generate_square_subsequent_mask(T, dtype=x.dtype)
        for layer in self.layers:
            x = layer(x, src_mask=mask, is_causal=True)
        out: torch.Tensor = self.ln_f(x) @ self.wte.weight.T
        return out


def test_gpt_matches_torch_transformer_layers() -> None:
    model = _model()
    reference = TorchBlocks(SMALL).double()
    reference.load_from(model)
    tokens = torch.randint(0, 11, (3, 16), generator=torch.Generator().manual_seed(1))
    ours, _ = model(tokens)
    theirs = reference(tokens)
    torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-10)
    ours.square().sum().backward()
    theirs.square().sum().backward()
    torch.testing.assert_close(
        cast(lm.Block, model.h[0]).attn.c_attn.weight.grad,
        cast(nn.TransformerEncoderLayer, reference.layers[0]).self_attn.in_proj_weight.grad,
        rtol=1e-9,
        atol=1e-10,
    )


def test_layer_norm_module_is_torch_compatible() -> None:
    ours = lm.LayerNorm(6).double()
    theirs = nn.LayerNorm(6).double()
    with torch.no_grad():
        theirs.weight.normal_()
        theirs.bias.normal_()
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(2, 3, 6, dtype=torch.float64)
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-12, atol=1e-12)


def test_kv_cache_gives_the_uncached_logits() -> None:
    model = _model().eval()
    tokens = torch.randint(0, 11, (2, 16), generator=torch.Generator().manual_seed(2))
    full, _ = model(tokens)
    # one token at a time
    logits, cache = model(tokens[:, :1])
    steps = [logits]
    for t in range(1, 16):
        logits, cache = model(tokens[:, t : t + 1], cache)
        steps.append(logits)
    torch.testing.assert_close(torch.cat(steps, 1), full, rtol=1e-12, atol=1e-12)
    # chunks of several tokens after a prefix (the mask must be offset by the prefix)
    a, cache = model(tokens[:, :5])
    b, cache = model(tokens[:, 5:11], cache)
    c, _ = model(tokens[:, 11:], cache)
    torch.testing.assert_close(torch.cat([a, b, c], 1), full, rtol=1e-12, atol=1e-12)


def test_gpt_is_causal() -> None:
    model = _model()
    x = torch.randint(0, 11, (1, 10), generator=torch.Generator().manual_seed(3))
    y = x.clone()
    y[0, 6] = (y[0, 6] + 1) % 11
    a, _ = model(x)
    b, _ = model(y)
    torch.testing.assert_close(a[:, :6], b[:, :6], rtol=0, atol=0)
    assert not torch.allclose(a[:, 6:], b[:, 6:])


def test_gpt_token_dtypes_and_strides(device: torch.device) -> None:
    model = _model().to(device)
    x = torch.tensor([[1, 5, 10, 0]], device=device)
    expected, _ = model(x)
    for dtype in (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64):
        got, _ = model(x.to(dtype))
        assert got.device == x.device
        torch.testing.assert_close(got, expected, rtol=0, atol=0)
    wide = torch.tensor([[1, 7], [5, 7], [10, 7], [0, 7]], device=device).T  # non-contiguous
    got, _ = model(wide[:1])
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


@pytest.mark.parametrize(
    ("tokens", "error", "match"),
    [
        (torch.zeros(1, 3), TypeError, "integer"),
        (torch.zeros(3, dtype=torch.long), ValueError, r"\(B, T\)"),
        (torch.full((1, 3), 11), ValueError, "vocab_size"),
        (torch.full((1, 3), -1), ValueError, "vocab_size"),
        (torch.zeros(1, 17, dtype=torch.long), ValueError, "block_size"),
        ([[1, 2]], TypeError, "tensor"),
    ],
)
def test_gpt_bad_input(tokens: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        _model()(tokens)


def test_gpt_config_errors() -> None:
    with pytest.raises(ValueError, match="divisible"):
        lm.GPTConfig(10, 8, 1, 3, 8)
    with pytest.raises(ValueError, match="n_layer"):
        lm.GPTConfig(10, 8, 0, 1, 8)
    model = _model()
    _, cache = model(torch.zeros(1, 10, dtype=torch.long))
    with pytest.raises(ValueError, match="block_size"):
        model(torch.zeros(1, 7, dtype=torch.long), cache)


def test_evaluate_nll_matches_direct_cross_entropy() -> None:
    model = _model()
    data_ = torch.randint(0, 11, (40,), generator=torch.Generator().manual_seed(4))
    T = 8
    total, count = 0.0, 0
    for s in range(0, 39, T):  # windows of T + 1 overlapping by one, last one short
        w = data_[s : s + T + 1]
        if len(w) < 2:
            continue
        with torch.no_grad():
            logits, _ = model(w[None, :-1])
        total += float(F.cross_entropy(logits[0], w[1:], reduction="sum"))
        count += len(w) - 1
    assert count == 39
    assert lm.evaluate_nll(model, data_, T, batch_size=2) == pytest.approx(total / count)


def test_kneser_ney_num_counts_is_the_number_of_distinct_grams() -> None:
    # "abab": order 2 stores the bigrams {ab, ba} and the continuation counts of {b, a};
    # order 3 adds the trigrams {aba, bab}.
    tokens = [0, 1, 0, 1]
    assert lm.KneserNey(tokens, 2, 2).num_counts == 4
    assert lm.KneserNey(tokens, 3, 2).num_counts == 6


@pytest.mark.parametrize("block_size", [4, 8])
def test_evaluate_nll_sliding_window_gives_every_token_its_context(block_size: int) -> None:
    # Reference: with stride 1 token t is predicted from the block_size tokens before it
    # (or all of them, near the start), one uncached forward pass per token.
    model = _model()
    data_ = torch.randint(0, 11, (30,), generator=torch.Generator().manual_seed(5))
    total = 0.0
    for t in range(1, len(data_)):
        context = data_[max(0, t - block_size) : t]
        with torch.no_grad():
            logits, _ = model(context[None])
        total -= float(torch.log_softmax(logits[0, -1].double(), -1)[data_[t]])
    got = lm.evaluate_nll(model, data_, block_size, batch_size=3, stride=1)
    assert got == pytest.approx(total / (len(data_) - 1), rel=1e-5)
    # A stride of block_size, on a text of whole windows, is the consecutive cut.
    whole = data_[: 3 * block_size + 1]
    assert lm.evaluate_nll(model, whole, block_size, stride=block_size) == pytest.approx(
        lm.evaluate_nll(model, whole, block_size)
    )
    # Longer left context helps a model that uses it: a trained one is checked in the
    # chapter; here only that intermediate strides score every token once (finite mean).
    assert math.isfinite(lm.evaluate_nll(model, data_, block_size, stride=3))


@pytest.mark.parametrize(("n", "block_size", "stride"), [(30, 8, 4), (31, 8, 3), (27, 6, 5)])
def test_evaluate_nll_intermediate_strides(n: int, block_size: int, stride: int) -> None:
    # Reference, written from the chapter's description: windows of block_size + 1 tokens
    # start every `stride` tokens, the last one clipped to end with the text; each token
    # t >= 1 is scored once, by the first window that holds it as a target, from that
    # window's tokens before it. After the first window, that is >= block_size - stride.
    model = _model()
    data_ = torch.randint(0, 11, (n,), generator=torch.Generator().manual_seed(7))
    starts: list[int] = []
    i = 0
    while not starts or starts[-1] + block_size < n - 1:
        starts.append(min(i * stride, max(0, n - block_size - 1)))
        i += 1
    total = 0.0
    for t in range(1, n):
        s = next(s for s in starts if s + block_size >= t)
        if t > block_size:
            assert t - s >= block_size - stride
        with torch.no_grad():
            logits, _ = model(data_[s:t][None])
        total -= float(torch.log_softmax(logits[0, -1].double(), -1)[data_[t]])
    got = lm.evaluate_nll(model, data_, block_size, batch_size=2, stride=stride)
    assert got == pytest.approx(total / (n - 1), rel=1e-6)


class _Uniform(nn.Module):
    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.vocab_size = vocab_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(*x.shape, self.vocab_size, dtype=torch.float64)


def test_bits_per_character_of_bpe_tokens_is_total_nats_over_characters() -> None:
    # The chapter's accounting: total nats over the scored tokens (all but the first),
    # divided by the characters they spell and ln 2. A uniform model over V tokens pays
    # log2 V bits per token, so (N - 1) log2 V bits in all, whatever the stride.
    text = "the cat sat on the mat; the cat sat on a hat. naïve café. " * 4
    tok = bpe.train_bpe(text, 280)
    ids = torch.tensor(tok.encode(text))
    chars = len(tok.decode(ids[1:].tolist()))
    assert chars == len(text) - len(tok.decode(ids[:1].tolist()))
    assert len(ids) < len(text.encode())  # the merges shorten the sequence
    for stride in (None, 1, 5):
        nll = lm.evaluate_nll(_Uniform(tok.vocab_size), ids, 8, stride=stride)
        bpc = lm.bits_per_character(nll, len(ids) - 1, chars)
        assert bpc * chars == pytest.approx((len(ids) - 1) * math.log2(tok.vocab_size))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"stride": 0}, "stride"),
        ({"stride": 9}, "stride"),
        ({"block_size": 0}, "block_size"),
        ({"batch_size": 0}, "batch_size"),
        ({"data": torch.zeros(5)}, "integer"),
        ({"data": torch.zeros(2, 5, dtype=torch.long)}, "1-D"),
    ],
)
def test_evaluate_nll_rejects_bad_arguments(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"data": torch.arange(10) % 11, "block_size": 8, **kwargs}
    with pytest.raises(ValueError, match=match):
        lm.evaluate_nll(_model(), **args)  # type: ignore[arg-type]


def test_random_batch_and_training() -> None:
    g = torch.Generator().manual_seed(0)
    data_ = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] * 20)
    x, y = lm.random_batch(data_, 4, 8, g)
    assert x.shape == y.shape == (4, 8) and x.dtype == torch.int64
    torch.testing.assert_close(y[:, :-1], x[:, 1:])
    model = lm.GPT(SMALL, torch.Generator().manual_seed(0))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    before = lm.evaluate_nll(model, data_, 8)
    record = lm.train_lm(
        model, opt, data_, steps=80, batch_size=4, block_size=8, generator=g,
        eval_every=40, evaluate=lambda: lm.evaluate_nll(model, data_, 8),
    )  # fmt: skip
    assert [r[0] for r in record] == [40, 80]
    assert record[0][1] < record[1][1]
    assert record[-1][2] < 0.2 * before  # a repeating sequence is easy to predict


def test_gpt_dropout_is_off_in_eval_and_covers_embeddings_and_sub_block_outputs() -> None:
    # In eval mode dropout does nothing: the same logits as the same weights without it.
    cfg = lm.GPTConfig(vocab_size=11, block_size=16, n_layer=2, n_head=2, d_model=8, dropout=0.1)
    no_drop = lm.GPTConfig(vocab_size=11, block_size=16, n_layer=2, n_head=2, d_model=8)
    x = torch.randint(0, 11, (3, 16), generator=torch.Generator().manual_seed(0))
    a = lm.GPT(cfg, torch.Generator().manual_seed(0)).eval()
    b = lm.GPT(no_drop, torch.Generator().manual_seed(0)).eval()
    assert torch.equal(a(x)[0], b(x)[0])
    a.train()
    assert not torch.equal(a(x)[0], b(x)[0])  # and in training mode it does something
    # With rate 1 every dropped tensor is 0. Give every bias and gain but the final layer
    # norm's bias a nonzero value: the residual stream stays 0 only if the embeddings and
    # the output of every sub-block are dropped, and then the logits are lm_head(0) = 0.
    full = lm.GPT(
        lm.GPTConfig(vocab_size=11, block_size=16, n_layer=2, n_head=2, d_model=8, dropout=1.0),
        torch.Generator().manual_seed(0),
    ).train()
    with torch.no_grad():
        for name, p in full.named_parameters():
            if p.ndim == 1 and name != "ln_f.bias":
                p.copy_(torch.linspace(0.5, 1.5, p.numel()))
    assert torch.equal(full(x)[0], torch.zeros(3, 16, 11))
    assert full.eval()(x)[0].abs().max() > 0


def test_train_lm_mixed_precision_matches_a_hand_written_autocast_loop() -> None:
    # The same steps written out with torch.autocast: the same weights after training,
    # the weights and the optimiser's state still float32.
    data_ = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] * 20)
    models = [lm.GPT(SMALL, torch.Generator().manual_seed(0)) for _ in range(2)]
    opts = [torch.optim.AdamW(m.parameters(), lr=1e-2) for m in models]
    lm.train_lm(
        models[0], opts[0], data_, steps=5, batch_size=4, block_size=8,
        generator=torch.Generator().manual_seed(1), autocast_dtype=torch.bfloat16,
    )  # fmt: skip
    g = torch.Generator().manual_seed(1)
    models[1].train()
    for _ in range(5):
        x, y = lm.random_batch(data_, 4, 8, g)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = models[1](x)[0]
        assert logits.dtype == torch.bfloat16  # the products did run in bfloat16
        loss = torch.nn.functional.cross_entropy(logits.float().flatten(0, 1), y.flatten())
        opts[1].zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(models[1].parameters(), 1.0)
        opts[1].step()
    for (name, a), b in zip(models[0].named_parameters(), models[1].parameters(), strict=True):
        assert a.dtype == torch.float32, name
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)
    state = opts[0].state[next(models[0].parameters())]
    assert state["exp_avg"].dtype == torch.float32
    with pytest.raises(ValueError, match="autocast_dtype"):
        lm.train_lm(
            models[0], opts[0], data_, steps=1, batch_size=4, block_size=8,
            generator=g, autocast_dtype=torch.float64,
        )  # fmt: skip


def test_train_lm_steps_a_list_of_optimisers_like_a_hand_written_loop() -> None:
    # Muon on the blocks' weight matrices and AdamW on the rest, as in Chapter 13: the same
    # weights as the loop written out with both optimisers and the schedule set in each.
    data_ = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] * 20)
    models = [lm.GPT(SMALL, torch.Generator().manual_seed(0)) for _ in range(2)]

    def optimisers(model: lm.GPT) -> list[torch.optim.Optimizer]:
        hidden = [p for n, p in model.named_parameters() if n.startswith("h.") and p.ndim == 2]
        rest = [p for n, p in model.named_parameters() if not (n.startswith("h.") and p.ndim == 2)]
        return [
            torch.optim.Muon(hidden, lr=1e-2, adjust_lr_fn="match_rms_adamw"),
            torch.optim.AdamW(rest, lr=1e-2),
        ]

    def schedule(step: int) -> float:
        return 1e-2 / step

    opts = [optimisers(m) for m in models]
    lm.train_lm(
        models[0], opts[0], data_, steps=4, batch_size=4, block_size=8,
        generator=torch.Generator().manual_seed(1), lr_schedule=schedule,
    )  # fmt: skip
    g = torch.Generator().manual_seed(1)
    models[1].train()
    for step in range(1, 5):
        for opt in opts[1]:
            for group in opt.param_groups:
                group["lr"] = schedule(step)
        x, y = lm.random_batch(data_, 4, 8, g)
        loss = torch.nn.functional.cross_entropy(models[1](x)[0].flatten(0, 1), y.flatten())
        for opt in opts[1]:
            opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(models[1].parameters(), 1.0)
        for opt in opts[1]:
            opt.step()
    for (name, a), b in zip(models[0].named_parameters(), models[1].parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)
    fresh = lm.GPT(SMALL, torch.Generator().manual_seed(0))
    assert not torch.equal(models[0].lm_head.weight, fresh.lm_head.weight)  # it did train
    for bad in ([], [object()], "adam"):
        with pytest.raises(TypeError, match=r"`optimizer` must be a torch\.optim\.Optimizer"):
            lm.train_lm(
                models[0], bad, data_, steps=1, batch_size=4, block_size=8,  # type: ignore[arg-type]
                generator=g,
            )  # fmt: skip


def test_train_lm_after_step_keeps_an_exponential_average_of_the_weights() -> None:
    # after_step runs once per step, after the update: with torch's AveragedModel the
    # average equals the one computed by hand from the weights after each step.
    data_ = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] * 20)
    model = lm.GPT(SMALL, torch.Generator().manual_seed(0))
    ema = torch.optim.swa_utils.AveragedModel(
        model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(0.9)
    )
    by_hand = [p.detach().clone() for p in model.parameters()]
    seen: list[int] = []

    def after(step: int) -> None:
        seen.append(step)
        ema.update_parameters(model)
        for avg, p in zip(by_hand, model.parameters(), strict=True):
            if step > 1:  # AveragedModel copies the weights at its first update
                avg.mul_(0.9).add_(p.detach(), alpha=0.1)
            else:
                avg.copy_(p.detach())

    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    lm.train_lm(
        model, opt, data_, steps=6, batch_size=4, block_size=8,
        generator=torch.Generator().manual_seed(1), after_step=after,
    )  # fmt: skip
    assert seen == [1, 2, 3, 4, 5, 6]
    for avg, p in zip(by_hand, ema.module.parameters(), strict=True):
        torch.testing.assert_close(p, avg, rtol=1e-6, atol=1e-7)
    assert not torch.equal(next(ema.module.parameters()), next(model.parameters()))


# ---------------------------------------------------------------------------- decoding
def _np_top_k(z: np.ndarray, k: int) -> np.ndarray:
    keep = np.zeros_like(z, dtype=bool)
    order = np.argsort(-z, kind="stable")
    keep[order[:k]] = True
    p = np.where(keep, np.exp(z - z.max()), 0.0)
    out: np.ndarray = p / p.sum()
    return out


def _np_top_p(z: np.ndarray, top_p: float) -> np.ndarray:
    p = np.exp(z - z.max())
    p /= p.sum()
    order = np.argsort(-p, kind="stable")
    mass = np.cumsum(p[order])
    m = int(np.searchsorted(mass, top_p - 1e-15)) + 1  # smallest m with mass >= top_p
    keep = np.zeros_like(p, dtype=bool)
    keep[order[:m]] = True
    q = np.where(keep, p, 0.0)
    out: np.ndarray = q / q.sum()
    return out


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 12), st.floats(0.01, 1.0))
def test_filters_against_direct_computation(seed: int, k: int, p: float) -> None:
    z = torch.randn(10, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 3
    got_k = torch.softmax(lm.top_k_filter(z, k), -1).numpy()
    np.testing.assert_allclose(got_k, _np_top_k(z.numpy(), min(k, 10)), rtol=1e-12, atol=1e-15)
    got_p = torch.softmax(lm.top_p_filter(z, p), -1).numpy()
    np.testing.assert_allclose(got_p, _np_top_p(z.numpy(), p), rtol=1e-12, atol=1e-15)


def test_top_p_keeps_the_smallest_set_reaching_p() -> None:
    z = torch.log(torch.tensor([0.1, 0.4, 0.3, 0.2], dtype=torch.float64))

    def kept(p: float) -> list[bool]:
        out: list[bool] = torch.isfinite(lm.top_p_filter(z, p)).tolist()
        return out

    # (p exactly at a partial sum, 0.4, 0.7 or 0.9, is decided by rounding: not tested)
    assert kept(0.39) == [False, True, False, False]
    assert kept(0.41) == [False, True, True, False]
    assert kept(0.7) == [False, True, True, False]
    assert kept(0.89) == [False, True, True, True]
    assert kept(1.0) == [True, True, True, True]


def test_filters_on_batches_and_extreme_logits() -> None:
    for dtype in (torch.float32, torch.float64):
        for scale in (1e4, 1e8):
            z = torch.tensor([[0.0, 1.0, -1.0], [2.0, 0.5, 1.0]], dtype=dtype) * scale
            for out in (lm.top_k_filter(z, 2), lm.top_p_filter(z, 0.5), lm.filter_logits(z, 0.7)):
                assert out.dtype == dtype and out.shape == z.shape
                probs = torch.softmax(out, -1)
                assert torch.isfinite(probs).all()
                torch.testing.assert_close(probs.argmax(-1), torch.tensor([1, 0]))


def test_temperature() -> None:
    z = torch.randn(2, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    p = torch.softmax(z, -1)
    for tau in (0.5, 2.0):
        expected = p ** (1 / tau) / (p ** (1 / tau)).sum(-1, keepdim=True)
        torch.testing.assert_close(torch.softmax(lm.filter_logits(z, tau), -1), expected)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: lm.top_k_filter(torch.zeros(3), 0), ValueError, "k must"),
        (lambda: lm.top_k_filter(torch.zeros(3, dtype=torch.long), 1), TypeError, "floating"),
        (lambda: lm.top_p_filter(torch.zeros(3), 0.0), ValueError, "p must"),
        (lambda: lm.top_p_filter(torch.zeros(3), 1.5), ValueError, "p must"),
        (lambda: lm.top_p_filter([0.0, 1.0], 0.5), TypeError, "tensor"),  # type: ignore[arg-type]
        (lambda: lm.filter_logits(torch.zeros(3), 0.0), ValueError, "temperature"),
        (lambda: lm.top_k_filter(torch.zeros(0), 1), ValueError, "non-empty"),
    ],
)
def test_filter_errors(call: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()


def test_generate_is_seeded_and_greedy_matches_argmax(device: torch.device) -> None:
    model = _model().to(device)
    prompt = torch.tensor([[1, 2, 3]], device=device)

    def gen(seed: int, **kw: Any) -> torch.Tensor:
        g = torch.Generator(device).manual_seed(seed)
        return lm.generate(model, prompt, 20, generator=g, **kw)

    a, b = gen(0, top_p=0.9), gen(0, top_p=0.9)
    assert torch.equal(a, b) and a.shape == (1, 23) and a.device == prompt.device
    greedy = gen(0, top_k=1)
    seq = prompt
    for _ in range(20):  # greedy without the cache, sliding the window when it is full
        logits, _ = model(seq[:, -SMALL.block_size :])
        seq = torch.cat([seq, logits[:, -1:].argmax(-1)], 1)
    assert torch.equal(greedy, seq)


def test_sampling_frequencies_follow_the_filtered_distribution() -> None:
    z = torch.tensor([[2.0, 1.0, 0.5, 0.0, -1.0]], dtype=torch.float64)
    probs = torch.softmax(lm.filter_logits(z, 0.8, top_k=4, top_p=0.9), -1)[0]
    g = torch.Generator().manual_seed(0)
    draws = torch.multinomial(probs, 20_000, replacement=True, generator=g)
    freq = torch.bincount(draws, minlength=5).double() / 20_000
    assert freq[probs == 0].sum() == 0
    assert (freq - probs).abs().max() < 0.015  # > 4 standard errors


# ---------------------------------------------------------------------------- preferences
def test_bradley_terry_loss_against_logsigmoid() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(2, 50, generator=g, dtype=torch.float64)
    torch.testing.assert_close(lm.bradley_terry_loss(a, b), -F.logsigmoid(a - b).mean())
    for dtype in (torch.float32, torch.float64):
        big = torch.tensor([1e4, -1e8, 1e8], dtype=dtype)
        loss = lm.bradley_terry_loss(big, -big)
        expected = torch.tensor(1e8 / 3 * 2, dtype=torch.float64)  # only -1e8 vs 1e8 costs
        torch.testing.assert_close(loss.double(), expected, rtol=1e-6, atol=0)


def test_bradley_terry_recovers_a_known_reward() -> None:
    g = torch.Generator().manual_seed(0)
    w_true = torch.randn(5, generator=g, dtype=torch.float64)
    items = torch.randn(200, 5, generator=g, dtype=torch.float64)
    i, j = torch.randint(0, 200, (2, 4000), generator=g)
    r = items @ w_true
    first_wins = torch.rand(4000, generator=g, dtype=torch.float64) < torch.sigmoid(r[i] - r[j])
    chosen, rejected = torch.where(first_wins, i, j), torch.where(first_wins, j, i)
    w = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w], max_iter=100)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = lm.bradley_terry_loss(items[chosen] @ w, items[rejected] @ w)
        loss.backward()
        return loss

    opt.step(closure)
    assert F.cosine_similarity(w.detach(), w_true, dim=0) > 0.98


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((torch.zeros(3), torch.zeros(4)), ValueError, "N"),
        ((torch.zeros(2, 2), torch.zeros(2, 2)), ValueError, "N"),
        ((torch.zeros(0), torch.zeros(0)), ValueError, "N >= 1"),
        ((torch.zeros(3, dtype=torch.long), torch.zeros(3)), TypeError, "r_chosen"),
        ((torch.zeros(3), torch.zeros(3, device="meta")), ValueError, "meta"),
    ],
)
def test_bradley_terry_errors(args: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        lm.bradley_terry_loss(*args)


def test_cached_attention_against_torch_with_explicit_mask() -> None:
    g = torch.Generator().manual_seed(6)
    q = torch.randn(2, 3, 4, 5, generator=g, dtype=torch.float64)
    k, v = torch.randn(2, 2, 3, 9, 5, generator=g, dtype=torch.float64)
    y, k_all, v_all = lm.cached_causal_attention(
        q, k[:, :, 5:], v[:, :, 5:], (k[:, :, :5], v[:, :, :5])
    )
    mask = torch.ones(9, 9, dtype=torch.bool).tril()[5:]  # rows of the last four positions
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(y, expected, rtol=1e-12, atol=1e-12)
    assert torch.equal(k_all, k) and torch.equal(v_all, v)
    with pytest.raises(ValueError, match="past"):
        lm.cached_causal_attention(q, k[:, :, 5:], v[:, :, 5:], (k[:, :, :5, :4], v[:, :, :5, :4]))


def test_merge_pair() -> None:
    ids = [1, 1, 1, 2, 1, 1]
    assert bpe.merge_pair(ids, (1, 1), 9) == [9, 1, 2, 9]
    assert ids == [1, 1, 1, 2, 1, 1]
    assert bpe.merge_pair([], (1, 2), 9) == []
    with pytest.raises(TypeError, match="ids"):
        bpe.merge_pair("ab", (97, 98), 9)  # type: ignore[arg-type]
