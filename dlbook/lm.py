r"""Language models: n-grams, a small GPT, sampling, and the arithmetic of scale (Chapter 13).

A language model gives a probability to every next token given the ones before it. This
module holds the pieces Chapter 13 builds, in the order it builds them:

* measuring a model: :func:`perplexity` and :func:`bits_per_character`;
* a count-based model: :class:`KneserNey` (interpolated Kneser-Ney smoothing, any order)
  and the simpler :func:`add_k_nll`, with :func:`choose_add_k` to tune it on held-out text;
* a neural one: :class:`GPT`, a decoder-only, pre-LN transformer with tied input and
  output embeddings and a key-value cache for incremental decoding, with
  :func:`random_batch`, :func:`evaluate_nll` and :func:`train_lm` to train and measure it;
* decoding: :func:`top_k_filter`, :func:`top_p_filter`, :func:`filter_logits`,
  :func:`generate`;
* scale: :func:`gpt_num_parameters`, :func:`training_flops`;
* preferences: :func:`bradley_terry_loss`, the reward model's loss in InstructGPT.

Tokenisers (characters and byte-pair encoding) are in :mod:`dlbook.bpe`.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlbook import _checks, layers
from dlbook import nn as dnn

try:  # Chapter 12's from-scratch attention; torch's has the same signature
    from dlbook.attention import scaled_dot_product_attention
except ImportError:  # pragma: no cover - until Chapter 12 lands
    from torch.nn.functional import scaled_dot_product_attention

__all__ = [
    "GPT",
    "GPTConfig",
    "KneserNey",
    "add_k_nll",
    "bits_per_character",
    "bradley_terry_loss",
    "cached_causal_attention",
    "choose_add_k",
    "evaluate_nll",
    "filter_logits",
    "generate",
    "gpt_num_parameters",
    "perplexity",
    "random_batch",
    "top_k_filter",
    "top_p_filter",
    "train_lm",
    "training_flops",
]

LN2 = math.log(2.0)

#: Token ids: a sequence of ints, or a 1-D integer tensor.
Tokens = Sequence[int] | Tensor


# --------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------
def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def _real(name: str, value: object, *, low: float, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f"{name} must be a real number in [{low}, {high}], got {value!r}")
    return float(value)


def _token_list(name: str, tokens: Tokens, vocab_size: int) -> list[int]:
    """Tokens as a list of Python ints in [0, vocab_size), from a list or a 1-D int tensor."""
    if isinstance(tokens, Tensor):
        if tokens.ndim != 1 or tokens.dtype.is_floating_point or tokens.dtype == torch.bool:
            raise ValueError(
                f"{name} must be a 1-D integer tensor, got shape {tuple(tokens.shape)} "
                f"and dtype {tokens.dtype}"
            )
        out = [int(t) for t in tokens.tolist()]
    elif isinstance(tokens, (str, bytes)) or not isinstance(tokens, Sequence):
        raise TypeError(f"{name} must be a sequence of ints, got {type(tokens).__name__}")
    else:
        out = list(tokens)
        if not all(isinstance(t, int) and not isinstance(t, bool) for t in out):
            raise TypeError(f"{name} must contain ints only")
    bad = [t for t in out if not 0 <= t < vocab_size]
    if bad:
        raise ValueError(f"{name} has token {bad[0]} outside [0, vocab_size={vocab_size})")
    return out


def _check_logits(logits: object) -> Tensor:
    if not isinstance(logits, Tensor):
        raise TypeError(f"logits must be a tensor, got {type(logits).__name__}")
    if not logits.dtype.is_floating_point:
        raise TypeError(f"logits must be floating point, got dtype {logits.dtype}")
    if logits.ndim < 1 or logits.shape[-1] == 0:
        raise ValueError(f"logits must have a non-empty last axis, got {tuple(logits.shape)}")
    return logits


# --------------------------------------------------------------------------------------
# Measuring a language model
# --------------------------------------------------------------------------------------
def perplexity(nll: float | Tensor) -> float:
    r"""Perplexity from the mean negative log-likelihood per token, in nats.

    .. math::

        \operatorname{PPL} = \exp\Bigl(-\tfrac1N \textstyle\sum_t \log p(x_t \mid x_{<t})\Bigr)

    Defined in Chapter 13 (measuring a language model). A model that spreads its
    probability evenly over :math:`V` tokens has perplexity :math:`V`.

    Parameters
    ----------
    nll : float or 0-d Tensor
        Mean negative log-likelihood per token in nats (natural logarithm).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``nll`` is negative or not finite.

    Examples
    --------
    >>> round(perplexity(math.log(65)), 6)
    65.0
    """
    value = float(nll) if isinstance(nll, Tensor) else nll
    _real("nll", value, low=0.0, high=1e300)
    return math.exp(value)


def bits_per_character(nll: float | Tensor, num_tokens: int, num_chars: int) -> float:
    r"""Bits per character from the mean negative log-likelihood per token, in nats.

    .. math:: \mathrm{bpc} = \frac{N_\text{tok}}{N_\text{char}} \cdot
       \frac{\overline{\mathrm{NLL}}}{\ln 2}

    Defined in Chapter 13. The total code length of the text in bits, divided by its
    number of characters, so models with different tokenisers can be compared: for a
    character model ``num_tokens == num_chars`` and bpc is the NLL in bits,
    :math:`\log_2 \operatorname{PPL}`.

    Parameters
    ----------
    nll : float or 0-d Tensor
        Mean negative log-likelihood per token, in nats.
    num_tokens, num_chars : int
        How many tokens the text was encoded into, and how many characters it has.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``nll`` is negative or the counts are not positive ints.

    Examples
    --------
    >>> bits_per_character(math.log(2), 10, 10)
    1.0
    """
    value = float(nll) if isinstance(nll, Tensor) else nll
    _real("nll", value, low=0.0, high=1e300)
    _positive_int("num_tokens", num_tokens)
    _positive_int("num_chars", num_chars)
    return value * num_tokens / (num_chars * LN2)


# --------------------------------------------------------------------------------------
# n-gram models
# --------------------------------------------------------------------------------------
def _as_text(tokens: Sequence[int]) -> str:
    # Each token id becomes one code point, so n-grams are string slices (fast dict keys).
    return "".join(map(chr, tokens))


def _ngram_counts(text: str, n: int) -> Counter[str]:
    """How often each n-gram (a substring of ``n`` tokens, one character each) occurs."""
    return Counter(text[i : i + n] for i in range(len(text) - n + 1))


class KneserNey:
    r"""An interpolated Kneser-Ney n-gram model of any order.

    With :math:`c` the counts of the training text, :math:`D_n` a discount per order, and
    :math:`h` the last :math:`n-1` tokens, the highest order is

    .. math::

        p_n(w \mid h) = \frac{\max(c(h w) - D_n, 0)}{c(h)}
            + \frac{D_n\, N_{1+}(h\,\bullet)}{c(h)}\; p_{n-1}(w \mid h'),

    where :math:`h'` drops the oldest token and :math:`N_{1+}(h\,\bullet)` is the number of
    distinct tokens seen after :math:`h`. Lower orders replace the count :math:`c(h w)` by
    the *continuation count* :math:`N_{1+}(\bullet\, h w)`, the number of distinct tokens
    seen before :math:`h w`; the recursion ends in the uniform distribution :math:`1/V`.
    A history never seen in training passes its mass on unchanged. The default discount is
    :math:`D_n = n_1 / (n_1 + 2 n_2)` from the numbers of n-grams counted once and twice.

    Defined in Chapter 13 (n-gram models).

    Parameters
    ----------
    tokens : sequence of int
        The training text as token ids in ``[0, vocab_size)``.
    order : int
        :math:`n`, the length of the longest n-gram (1 is a unigram model).
    vocab_size : int
        :math:`V`.
    discount : float, optional
        One discount in ``[0, 1]`` for every order instead of the estimate above.

    Raises
    ------
    ValueError
        If ``order`` or ``vocab_size`` is not a positive int, a token lies outside
        ``[0, vocab_size)``, or ``discount`` is outside ``[0, 1]``.

    References
    ----------
    .. [1] R. Kneser and H. Ney, "Improved backing-off for m-gram language modeling",
       ICASSP 1995.
    .. [2] S. F. Chen and J. Goodman, "An empirical study of smoothing techniques for
       language modeling", Computer Speech and Language 13, 1999.

    Examples
    --------
    >>> lm = KneserNey([0, 1, 0, 1, 0, 2], order=2, vocab_size=3)
    >>> round(sum(lm.prob([0], w) for w in range(3)), 12)
    1.0
    """

    def __init__(
        self,
        tokens: Tokens,
        order: int,
        vocab_size: int,
        *,
        discount: float | None = None,
    ) -> None:
        self.order = _positive_int("order", order)
        self.vocab_size = _positive_int("vocab_size", vocab_size)
        if discount is not None:
            _real("discount", discount, low=0.0, high=1.0)
        text = _as_text(_token_list("tokens", tokens, vocab_size))
        self._text, self._discount = text, discount
        n = self.order
        # tables[n]: the n-gram counts c(g); tables[k], k < n: the continuation counts
        # N1+(. g), the number of distinct tokens seen right before the k-gram g
        tables: dict[int, Counter[str]] = {n: _ngram_counts(text, n)}
        for k in range(n - 1, 0, -1):
            longer = {text[i : i + k + 1] for i in range(len(text) - k)}  # distinct (k+1)-grams
            tables[k] = Counter(g[1:] for g in longer)
        self._tables = tables
        # per order: c(h) (total) and N1+(h .) (distinct followers) for each history h
        self._totals: dict[int, Counter[str]] = {}
        self._types: dict[int, Counter[str]] = {}
        self.discounts: dict[int, float] = {}
        for k, table in tables.items():
            self._add_order(k, table)

    def _add_order(self, k: int, table: Counter[str]) -> None:
        """Store order ``k``'s table with its history totals, follower counts and discount."""
        total: Counter[str] = Counter()
        types: Counter[str] = Counter()
        for gram, count in table.items():
            total[gram[:-1]] += count
            types[gram[:-1]] += 1
        self._tables[k], self._totals[k], self._types[k] = table, total, types
        if self._discount is not None:
            self.discounts[k] = float(self._discount)
        else:
            freq = Counter(table.values())
            n1, n2 = freq[1], freq[2]
            self.discounts[k] = n1 / (n1 + 2 * n2) if n1 + n2 > 0 else 0.5

    def at_order(self, order: int) -> KneserNey:
        r"""The model of order ``order`` (at most this one's) on the same training text.

        Its lower orders are this model's continuation counts (shared, not copied): only
        the n-gram counts of its own highest order are counted anew. So a sweep over
        orders costs one model of the largest order, not one model per order.

        Examples
        --------
        >>> text = [0, 1, 0, 1, 0, 2, 1, 0]
        >>> small = KneserNey(text, order=3, vocab_size=3).at_order(2)
        >>> small.prob([1], 0) == KneserNey(text, order=2, vocab_size=3).prob([1], 0)
        True
        """
        n = _positive_int("order", order)
        if n > self.order:
            raise ValueError(f"order must be at most this model's {self.order}, got {order!r}")
        if n == self.order:
            return self
        smaller = object.__new__(KneserNey)
        smaller.order, smaller.vocab_size = n, self.vocab_size
        smaller._text, smaller._discount = self._text, self._discount
        smaller._tables = {k: self._tables[k] for k in range(1, n)}
        smaller._totals = {k: self._totals[k] for k in range(1, n)}
        smaller._types = {k: self._types[k] for k in range(1, n)}
        smaller.discounts = {k: self.discounts[k] for k in range(1, n)}
        smaller._add_order(n, _ngram_counts(self._text, n))
        return smaller

    @property
    def num_counts(self) -> int:
        r"""How many counts the model stores, over all its orders.

        The n-gram counts of the highest order and the continuation counts of the lower
        ones, one entry per distinct n-gram: the size of the table that plays the part a
        network's parameters play.
        """
        return sum(len(table) for table in self._tables.values())

    def prob(self, context: Sequence[int], token: int) -> float:
        r"""The probability :math:`p(\text{token} \mid \text{context})`.

        Only the last ``order - 1`` tokens of ``context`` matter; a shorter context uses
        the orders it has.
        """
        history = _as_text(context)
        w = chr(token)
        p = 1.0 / self.vocab_size
        for k in range(1, self.order + 1):
            if len(history) < k - 1:
                break
            h = history[len(history) - (k - 1) :] if k > 1 else ""
            total = self._totals[k].get(h, 0)
            if total == 0:
                continue  # an unseen history passes the lower order's mass on
            d = self.discounts[k]
            count = self._tables[k].get(h + w, 0)
            p = max(count - d, 0.0) / total + d * self._types[k][h] / total * p
        return p

    def nll(self, tokens: Tokens) -> float:
        r"""Mean negative log-likelihood in nats of a text, each token given its history.

        The first tokens have shorter histories (the text is scored on its own).
        """
        ids = _token_list("tokens", tokens, self.vocab_size)
        if not ids:
            raise ValueError("tokens must not be empty")
        m = self.order - 1
        total = 0.0
        for t, w in enumerate(ids):
            total -= math.log(self.prob(ids[max(0, t - m) : t], w))
        return total / len(ids)


def add_k_nll(
    train: Tokens,
    test: Tokens,
    order: int,
    k: float,
    vocab_size: int,
) -> float:
    r"""Mean test NLL (nats per token) of an add-k smoothed n-gram model.

    .. math:: p(w \mid h) = \frac{c(h w) + k}{c(h) + k V}

    with :math:`h` the previous ``order - 1`` tokens of the test text (fewer at its start,
    where the counts of the shorter n-grams are used) and :math:`c` counts in ``train``;
    :math:`c(h)` counts the n-grams that start with :math:`h`, so each conditional sums
    to one. Defined in Chapter 13 (n-gram models, Exercise 13.2).

    Parameters
    ----------
    train, test : sequence of int
        Token ids in ``[0, vocab_size)``; ``test`` must not be empty.
    order : int
        :math:`n >= 1`.
    k : float
        The pseudo-count, :math:`k > 0`.
    vocab_size : int
        :math:`V`.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        On a non-positive ``order``, ``vocab_size`` or ``k``, an empty ``test``, or a
        token outside ``[0, vocab_size)``.

    Examples
    --------
    >>> round(add_k_nll([0, 1], [1], order=1, k=1.0, vocab_size=2), 6)  # (1 + 1) / (2 + 2)
    0.693147
    """
    _positive_int("order", order)
    _positive_int("vocab_size", vocab_size)
    if isinstance(k, bool) or not isinstance(k, (int, float)) or not k > 0:
        raise ValueError(f"k must be a positive real number, got {k!r}")
    tr = _as_text(_token_list("train", train, vocab_size))
    te = _as_text(_token_list("test", test, vocab_size))
    if not te:
        raise ValueError("test must not be empty")
    grams: dict[int, Counter[str]] = {}
    hists: dict[int, Counter[str]] = {}
    for n in range(1, order + 1):
        grams[n] = Counter(tr[i : i + n] for i in range(len(tr) - n + 1))
        hist: Counter[str] = Counter()
        for g, c in grams[n].items():
            hist[g[:-1]] += c
        hists[n] = hist
    total = 0.0
    for t in range(len(te)):
        n = min(order, t + 1)
        gram = te[t - n + 1 : t + 1]
        num = grams[n].get(gram, 0) + k
        den = hists[n].get(gram[:-1], 0) + k * vocab_size
        total -= math.log(num / den)
    return total / len(te)


def choose_add_k(
    train: Tokens,
    valid: Tokens,
    order: int,
    vocab_size: int,
) -> float:
    r"""The pseudo-count :math:`k` of :func:`add_k_nll` that minimises the validation NLL.

    A golden-section search over :math:`\log_{10} k \in [-4, 1]` (the validation NLL is
    smooth in :math:`k` and, in practice, unimodal). Defined in Chapter 13 (the open task
    of Exercise 13.6).

    Parameters
    ----------
    train, valid : sequence of int
    order, vocab_size : int

    Returns
    -------
    float
        The chosen :math:`k`.

    Examples
    --------
    >>> 1e-4 <= choose_add_k([0, 1, 0, 1, 0, 0], [0, 1, 0], 2, 3) <= 10
    True
    """
    lo, hi = -4.0, 1.0
    ratio = (math.sqrt(5) - 1) / 2

    def f(log_k: float) -> float:
        return add_k_nll(train, valid, order, 10.0**log_k, vocab_size)

    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = f(a), f(b)
    for _ in range(30):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = f(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = f(b)
    return float(10.0 ** ((lo + hi) / 2))


# --------------------------------------------------------------------------------------
# A small GPT
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GPTConfig:
    r"""The shape of a GPT: vocabulary :math:`V`, context :math:`T_{\max}`, depth :math:`M`,
    heads :math:`h` and width :math:`d`; ``d_model`` must be divisible by ``n_head``."""

    vocab_size: int
    block_size: int
    n_layer: int
    n_head: int
    d_model: int
    dropout: float = 0.0

    def __post_init__(self) -> None:
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "d_model"):
            _positive_int(name, getattr(self, name))
        if self.d_model % self.n_head:
            raise ValueError(f"d_model={self.d_model} must be divisible by n_head={self.n_head}")
        _real("dropout", self.dropout, low=0.0, high=1.0)


def gpt_num_parameters(config: GPTConfig) -> int:
    r"""The number of parameters of :class:`GPT` with this configuration, by formula.

    .. math:: P = V d + T_{\max} d + M\,(12 d^2 + 13 d) + 2 d

    Token embedding (shared with the output layer), position embedding, then per block
    two layer norms (:math:`4d`), the query/key/value projection (:math:`3d^2 + 3d`), the
    output projection (:math:`d^2 + d`) and the MLP (:math:`8 d^2 + 5 d`), and the final
    layer norm. Defined in Chapter 13 (the arithmetic of scale).

    Parameters
    ----------
    config : GPTConfig

    Returns
    -------
    int

    Examples
    --------
    >>> gpt_num_parameters(GPTConfig(50257, 1024, 12, 12, 768))  # GPT-2 "117M"
    124439808
    """
    if not isinstance(config, GPTConfig):
        raise TypeError(f"config must be a GPTConfig, got {type(config).__name__}")
    V, T, M, d = config.vocab_size, config.block_size, config.n_layer, config.d_model
    return V * d + T * d + M * (12 * d * d + 13 * d) + 2 * d


def training_flops(num_parameters: float, num_tokens: float) -> float:
    r"""Training compute of a transformer, :math:`C \approx 6 N D` floating-point operations.

    :math:`N` parameters, :math:`D` training tokens: a forward pass costs about
    :math:`2N` operations per token (a multiply and an add per weight) and the backward
    pass twice that (Kaplan et al. 2020, arXiv:2001.08361). Defined in Chapter 13.

    Parameters
    ----------
    num_parameters, num_tokens : float
        Non-negative.

    Returns
    -------
    float

    Examples
    --------
    >>> f"{training_flops(175e9, 300e9):.3g}"
    '3.15e+23'
    """
    _real("num_parameters", num_parameters, low=0.0)
    _real("num_tokens", num_tokens, low=0.0)
    return 6.0 * float(num_parameters) * float(num_tokens)


class LayerNorm(nn.Module):
    r"""``nn.LayerNorm(d)`` computed by Chapter 9's :func:`dlbook.layers.layer_norm`.

    Same constructor argument, parameters ``weight`` and ``bias`` and outputs as
    ``nn.LayerNorm(d, eps)``.
    """

    def __init__(self, normalized_shape: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(normalized_shape))
        self.bias = nn.Parameter(torch.zeros(normalized_shape))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        return layers.layer_norm(x, self.weight, self.bias, eps=self.eps)


#: A key-value cache: one (keys, values) pair per block, each (B, h, T_past, d_head).
KVCache = list[tuple[Tensor, Tensor]]


def cached_causal_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    past: tuple[Tensor, Tensor] | None = None,
    *,
    dropout_p: float = 0.0,
) -> tuple[Tensor, Tensor, Tensor]:
    r"""Causal attention of new positions over cached and new keys; returns the new cache.

    With :math:`T_0` cached positions and :math:`T` new ones, keys and values are
    :math:`K = [K_\text{past}; K_\text{new}]`, :math:`V = [V_\text{past}; V_\text{new}]`,
    and new position :math:`i` (absolute position :math:`T_0 + i`) attends to keys
    :math:`j \le T_0 + i`:

    .. math::

        Y = \operatorname{softmax}\Bigl(\frac{Q K^\top}{\sqrt{d_k}} + M\Bigr) V, \qquad
        M_{ij} = \begin{cases} 0 & j \le T_0 + i \\ -\infty & \text{otherwise.}\end{cases}

    Without a cache this is ``is_causal=True``; with one the mask is shifted by
    :math:`T_0` (``is_causal`` aligns it to the top-left corner, which would be wrong).
    Defined in Chapter 13 (the key-value cache, Exercise 13.4).

    Parameters
    ----------
    q, k, v : Tensor, shape (B, h, T, d_k)
        Queries, keys and values of the new positions.
    past : (Tensor, Tensor), optional
        Cached keys and values, each (B, h, T_0, d_k).
    dropout_p : float, default 0

    Returns
    -------
    (Tensor, Tensor, Tensor)
        The output (B, h, T, d_k) and the extended keys and values (B, h, T_0 + T, d_k).

    Raises
    ------
    ValueError
        If the shapes disagree.

    Examples
    --------
    >>> q = k = v = torch.ones(1, 1, 2, 4)
    >>> y, k_all, v_all = cached_causal_attention(q, k, v, (torch.zeros(1, 1, 3, 4),) * 2)
    >>> tuple(y.shape), tuple(k_all.shape)
    ((1, 1, 2, 4), (1, 1, 5, 4))
    """
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, Tensor) or t.ndim != 4:
            raise ValueError(f"{name} must be a (B, h, T, d_k) tensor")
    if k.shape != v.shape or q.shape[:2] != k.shape[:2] or q.shape[2] != k.shape[2]:
        raise ValueError(
            f"q, k and v must share (B, h, T): got {tuple(q.shape)}, {tuple(k.shape)}, "
            f"{tuple(v.shape)}"
        )
    if past is not None:
        pk, pv = past
        if pk.shape != pv.shape or pk.shape[:2] != k.shape[:2] or pk.shape[3] != k.shape[3]:
            raise ValueError(
                f"past keys and values must be (B, h, T_0, d_k) like k, got "
                f"{tuple(pk.shape)} and {tuple(pv.shape)} for k of {tuple(k.shape)}"
            )
        k = torch.cat([pk, k], dim=2)  # (B, h, T_0 + T, d_k)
        v = torch.cat([pv, v], dim=2)
    T, T_all = q.shape[2], k.shape[2]
    if T_all == T:
        y = scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)
    else:
        rows = torch.arange(T, device=q.device)[:, None] + (T_all - T)  # absolute positions
        mask = torch.arange(T_all, device=q.device)[None, :] <= rows  # (T, T_0 + T)
        y = scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
    return y, k, v


class CausalSelfAttention(nn.Module):
    r"""Multi-head causal self-attention with one fused query/key/value projection.

    Given the cached keys and values of earlier positions, it computes only the new
    positions' outputs: position :math:`t` attends to positions :math:`\le t`.
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.c_attn = nn.Linear(config.d_model, 3 * config.d_model)
        self.c_proj = nn.Linear(config.d_model, config.d_model)
        self.dropout = config.dropout

    def forward(
        self, x: Tensor, past: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        B, T, d = x.shape
        h = self.n_head
        q, k, v = self.c_attn(x).split(d, dim=2)  # (B, T, 3d) -> 3 x (B, T, d)
        # (B, T, d) -> (B, T, h, d/h) -> (B, h, T, d/h)
        q = q.view(B, T, h, d // h).transpose(1, 2)
        k = k.view(B, T, h, d // h).transpose(1, 2)
        v = v.view(B, T, h, d // h).transpose(1, 2)
        p = self.dropout if self.training else 0.0
        y, k, v = cached_causal_attention(q, k, v, past, dropout_p=p)
        y = y.transpose(1, 2).reshape(B, T, d)  # (B, h, T, d/h) -> (B, T, d)
        return F.dropout(self.c_proj(y), p, self.training), (k, v)


class MLP(nn.Module):
    r"""The block's feed-forward part: :math:`W_2\,\operatorname{GELU}(W_1 x + b_1) + b_2`,
    width :math:`4d`."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.d_model, 4 * config.d_model)
        self.c_proj = nn.Linear(4 * config.d_model, config.d_model)
        self.dropout = config.dropout

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(self.c_proj(dnn.gelu(self.c_fc(x))), self.dropout, self.training)


class Block(nn.Module):
    r"""A pre-LN transformer block: :math:`x + \operatorname{Attn}(\operatorname{LN}(x))`,
    then :math:`x + \operatorname{MLP}(\operatorname{LN}(x))`."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = LayerNorm(config.d_model)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = LayerNorm(config.d_model)
        self.mlp = MLP(config)

    def forward(
        self, x: Tensor, past: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        a, present = self.attn(self.ln_1(x), past)
        x = x + a
        return x + self.mlp(self.ln_2(x)), present


class GPT(nn.Module):
    r"""A decoder-only transformer language model in the layout of GPT-2.

    .. math::

        \mathbf{h}^{(0)}_t = E_{x_t} + P_t, \qquad
        \mathbf{h}^{(m)} = \operatorname{Block}_m(\mathbf{h}^{(m-1)}), \qquad
        \text{logits}_t = E\,\operatorname{LN}(\mathbf{h}^{(M)}_t)

    Token embedding :math:`E` (:math:`V \times d`) and learned position embedding
    :math:`P`; :math:`M` pre-LN blocks (:class:`Block`); a final layer norm; the output
    layer reuses :math:`E` (weight tying, so ``lm_head.weight is wte.weight``). The
    weights start as in GPT-2: normal with standard deviation 0.02, the projections into
    the residual stream scaled by :math:`1/\sqrt{2M}`. Defined in Chapter 13.

    Parameters
    ----------
    config : GPTConfig
    generator : torch.Generator, optional
        Source of the initial weights (default: torch's global generator).

    Shape
    -----
    ``forward(tokens, past=None)``: ``tokens`` (B, T) integer ids, ``past`` an optional
    :data:`KVCache` of earlier positions; returns ``logits`` (B, T, V) and the cache
    extended by these T positions. ``T_past + T`` must not exceed ``block_size``.

    Raises
    ------
    ValueError
        On tokens that are not (B, T), out of range, or longer than the context.
    TypeError
        On tokens that are not an integer tensor.

    References
    ----------
    .. [1] A. Radford et al., "Language models are unsupervised multitask learners", 2019.
    .. [2] A. Vaswani et al., "Attention is all you need", NeurIPS 2017.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> model = GPT(GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=2, d_model=8), g)
    >>> logits, cache = model(torch.tensor([[1, 2, 3]]))
    >>> tuple(logits.shape), tuple(cache[0][0].shape)
    ((1, 3, 10), (1, 2, 3, 4))
    """

    def __init__(self, config: GPTConfig, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise TypeError(f"config must be a GPTConfig, got {type(config).__name__}")
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.d_model)
        self.wpe = nn.Embedding(config.block_size, config.d_model)
        self.h = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = LayerNorm(config.d_model)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying
        std = 0.02
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.endswith("c_proj.weight"):  # into the residual stream
                    p.normal_(0.0, std / math.sqrt(2 * config.n_layer), generator=generator)
                elif p.ndim == 2:
                    p.normal_(0.0, std, generator=generator)
                elif name.endswith("bias"):
                    p.zero_()

    def forward(self, tokens: Tensor, past: KVCache | None = None) -> tuple[Tensor, KVCache]:
        if not isinstance(tokens, Tensor):
            raise TypeError(f"tokens must be a tensor, got {type(tokens).__name__}")
        if tokens.dtype.is_floating_point or tokens.dtype in (torch.bool, torch.complex64):
            raise TypeError(f"tokens must be an integer tensor, got dtype {tokens.dtype}")
        if tokens.ndim != 2:
            raise ValueError(f"tokens must have shape (B, T), got {tuple(tokens.shape)}")
        T = tokens.shape[1]
        T_past = 0 if not past else past[0][0].shape[2]
        if past is not None and past and len(past) != self.config.n_layer:
            raise ValueError(f"past has {len(past)} layers, the model {self.config.n_layer}")
        if T_past + T > self.config.block_size:
            raise ValueError(
                f"T_past + T = {T_past + T} exceeds block_size={self.config.block_size}"
            )
        if tokens.numel() and (
            int(tokens.min()) < 0 or int(tokens.max()) >= self.config.vocab_size
        ):
            raise ValueError(f"tokens must lie in [0, vocab_size={self.config.vocab_size})")
        tokens = tokens.long()  # uint8/int8/... ids index as ids, never as a mask
        pos = torch.arange(T_past, T_past + T, device=tokens.device)
        x = self.wte(tokens) + self.wpe(pos)  # (B, T, d)
        x = F.dropout(x, self.config.dropout, self.training)
        present: KVCache = []
        for i, block in enumerate(self.h):
            x, kv = block(x, past[i] if past else None)
            present.append(kv)
        return self.lm_head(self.ln_f(x)), present  # (B, T, V)


# --------------------------------------------------------------------------------------
# Training and evaluating
# --------------------------------------------------------------------------------------
def random_batch(
    data: Tensor, batch_size: int, block_size: int, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    r"""Sample ``batch_size`` windows of ``block_size + 1`` tokens; return inputs and targets.

    Targets are the inputs shifted by one: the model learns
    :math:`p(x_{t+1} \mid x_{\le t})` at every position of every window.

    Parameters
    ----------
    data : Tensor, shape (N,), integer
    batch_size, block_size : int
    generator : torch.Generator
        On the CPU; the start positions are drawn from it.

    Returns
    -------
    (Tensor, Tensor), each (batch_size, block_size) int64 on ``data``'s device

    Examples
    --------
    >>> x, y = random_batch(torch.arange(10), 2, 3, torch.Generator().manual_seed(0))
    >>> bool((y == x + 1).all())
    True
    """
    if not isinstance(data, Tensor) or data.ndim != 1 or data.dtype.is_floating_point:
        raise ValueError("data must be a 1-D integer tensor")
    _positive_int("batch_size", batch_size)
    _positive_int("block_size", block_size)
    if len(data) < block_size + 1:
        raise ValueError(f"data has {len(data)} tokens, fewer than block_size + 1")
    starts = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    offsets = torch.arange(block_size + 1)
    windows = data[(starts[:, None] + offsets).to(data.device)].long()  # (B, T + 1)
    return windows[:, :-1], windows[:, 1:]


def _logits_of(model: nn.Module, x: Tensor) -> Tensor:
    out = model(x)
    logits: Tensor = out[0] if isinstance(out, tuple) else out
    return logits


@torch.no_grad()
def evaluate_nll(
    model: nn.Module,
    data: Tensor,
    block_size: int,
    batch_size: int = 64,
    stride: int | None = None,
) -> float:
    r"""Mean NLL (nats per token) of ``model`` on ``data``, every token but the first once.

    .. math::

        \overline{\mathrm{NLL}} = -\frac{1}{N - 1} \sum_{t=2}^{N}
        \log p(x_t \mid x_{s(t)}, \dots, x_{t-1})

    where :math:`s(t)` is the start of the window that scores :math:`x_t` (Chapter 13,
    equation ``lm-bpc`` turns the result into bits per character). With ``stride=None``
    the text is cut into consecutive windows of ``block_size + 1`` tokens overlapping by
    one, so a token gets between 0 and ``block_size - 1`` tokens of context (a fresh
    state per window, for recurrent and transformer models alike). With ``stride`` =
    :math:`S \le` ``block_size`` the windows start every :math:`S` tokens (a *sliding
    window*) and each scores only the tokens no earlier window scored, so every token
    after the first window has at least ``block_size - S`` tokens of context; the last
    window is aligned with the end of the text. ``model(x)`` returns logits (B, T, V),
    or a tuple whose first entry they are.

    Parameters
    ----------
    model : nn.Module
    data : Tensor, shape (N,), integer
    block_size, batch_size : int
    stride : int, optional
        Between 1 and ``block_size``; ``None`` for consecutive windows.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``data`` is not a 1-D integer tensor of two tokens or more, or ``stride`` is
        outside ``[1, block_size]``.

    References
    ----------
    .. [1] O. Press, N. A. Smith, M. Lewis, "Shortformer: better language modeling using
       shorter inputs", ACL 2021 (sliding-window evaluation).

    Examples
    --------
    >>> class Uniform(nn.Module):
    ...     def forward(self, x):
    ...         return torch.zeros(*x.shape, 4)
    >>> data = torch.tensor([0, 1, 2, 3, 0, 1, 2])
    >>> round(evaluate_nll(Uniform(), data, 3, stride=1) / math.log(4), 6)
    1.0
    """
    if not isinstance(data, Tensor) or data.ndim != 1 or len(data) < 2:
        raise ValueError("data must be a 1-D integer tensor with at least two tokens")
    if data.dtype.is_floating_point or data.dtype == torch.bool:
        raise ValueError(f"data must be an integer tensor, got dtype {data.dtype}")
    _positive_int("block_size", block_size)
    _positive_int("batch_size", batch_size)
    if stride is not None:
        _positive_int("stride", stride)
        if stride > block_size:
            raise ValueError(f"stride must lie in [1, block_size={block_size}], got {stride}")
    was_training = model.training
    model.eval()
    N = len(data)
    # Windows (start, length, first scored target within the window).
    windows: list[tuple[int, int, int]] = []
    if stride is None:
        for s in range(0, N - 1, block_size):
            windows.append((s, min(block_size + 1, N - s), 0))
    else:
        scored_to = 1  # targets 1 .. scored_to - 1 are scored
        s = 0
        while scored_to < N:
            s = min(s, max(0, N - block_size - 1))  # the last window ends with the text
            length = min(block_size + 1, N - s)
            windows.append((s, length, scored_to - s - 1))
            scored_to = s + length
            s += stride
    total, count = 0.0, 0
    device = data.device
    for i in range(0, len(windows), batch_size):
        group = windows[i : i + batch_size]
        length = group[0][1]
        same = [w for w in group if w[1] == length]
        for part in (same, [w for w in group if w[1] != length]):
            if not part:
                continue
            L = part[0][1]
            starts = torch.tensor([w[0] for w in part])
            idx = (starts[:, None] + torch.arange(L)).to(device)  # (b, L)
            w = data[idx].long()
            logits = _logits_of(model, w[:, :-1])  # (b, L - 1, V)
            nll = F.cross_entropy(logits.transpose(1, 2), w[:, 1:], reduction="none")
            first = torch.tensor([w_[2] for w_ in part], device=device)  # (b,)
            keep = torch.arange(L - 1, device=device)[None, :] >= first[:, None]  # (b, L - 1)
            total += float(nll[keep].sum())
            count += int(keep.sum())
    model.train(was_training)
    return total / count


def train_lm(
    model: nn.Module,
    optimizer: torch.optim.Optimizer | Sequence[torch.optim.Optimizer],
    train_data: Tensor,
    *,
    steps: int,
    batch_size: int,
    block_size: int,
    generator: torch.Generator,
    eval_every: int = 0,
    evaluate: Callable[[], float] | None = None,
    lr_schedule: Callable[[int], float] | None = None,
    clip_norm: float | None = 1.0,
    autocast_dtype: torch.dtype | None = None,
    after_step: Callable[[int], None] | None = None,
) -> list[tuple[int, float, float]]:
    r"""Train a next-token model for a fixed number of steps; record CPU seconds.

    Each step draws a :func:`random_batch`, minimises the mean cross-entropy of the next
    token, clips the gradient norm and steps the optimiser. Every ``eval_every`` steps
    (and after the last) it calls ``evaluate()`` and records ``(step, cpu_seconds,
    value)``; ``cpu_seconds`` is the process CPU time spent training so far
    (``time.process_time``, all threads, evaluation excluded), which does not depend on
    what else the machine runs.

    With ``autocast_dtype`` (``torch.bfloat16`` or ``torch.float16``) the forward pass
    runs under :func:`torch.autocast` on the data's device, so matrix products use the
    16-bit format, while the weights, their gradients, the optimiser's state and the
    cross-entropy (computed from the logits cast back to float32) stay in float32
    (mixed precision, Chapter 13). ``evaluate`` is called outside autocast. There is no
    loss scaling (``torch.amp.GradScaler``): bfloat16 has float32's exponent range and
    needs none, but with float16 small gradients of the activations can underflow to 0.

    ``optimizer`` may be a list of optimisers over disjoint parameters (Muon for the
    hidden weight matrices and AdamW for the rest, Chapter 13): each step zeroes and steps
    them all, and ``lr_schedule`` sets the rate of every group of each.

    ``after_step(step)``, if given, is called after each optimiser step, inside the timed
    part (for example to update an exponential moving average of the weights with
    ``torch.optim.swa_utils.AveragedModel.update_parameters``, Chapter 13).

    Returns
    -------
    list of (int, float, float)

    Raises
    ------
    TypeError
        If ``optimizer`` is not a ``torch.optim.Optimizer`` or a non-empty list of them.
    ValueError
        If ``steps`` is not positive or ``autocast_dtype`` is not a 16-bit float type.
    """
    _positive_int("steps", steps)
    optimizers = [optimizer] if isinstance(optimizer, torch.optim.Optimizer) else optimizer
    if (
        not isinstance(optimizers, (list, tuple))
        or not optimizers
        or not all(isinstance(o, torch.optim.Optimizer) for o in optimizers)
    ):
        raise TypeError(
            "`optimizer` must be a torch.optim.Optimizer or a non-empty list of them, got "
            f"{type(optimizer).__name__}"
        )
    if autocast_dtype is not None and autocast_dtype not in (torch.bfloat16, torch.float16):
        raise ValueError(
            f"autocast_dtype must be torch.bfloat16, torch.float16 or None, got {autocast_dtype}"
        )
    record: list[tuple[int, float, float]] = []
    spent = 0.0
    model.train()
    for step in range(1, steps + 1):
        start = time.process_time()
        if lr_schedule is not None:
            rate = lr_schedule(step)
            for opt in optimizers:
                for group in opt.param_groups:
                    group["lr"] = rate
        x, y = random_batch(train_data, batch_size, block_size, generator)
        if autocast_dtype is None:
            logits = _logits_of(model, x)
        else:
            with torch.autocast(x.device.type, dtype=autocast_dtype):
                logits = _logits_of(model, x)
            logits = logits.float()  # the loss in float32
        loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())  # (B T, V) vs (B T,)
        for opt in optimizers:
            opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip_norm is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        for opt in optimizers:
            opt.step()
        if after_step is not None:
            after_step(step)
        spent += time.process_time() - start
        if evaluate is not None and (step == steps or (eval_every and step % eval_every == 0)):
            record.append((step, spent, evaluate()))
            model.train()
    return record


# --------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------
def top_k_filter(logits: Tensor, k: int) -> Tensor:
    r"""Keep the ``k`` largest logits of each row; set the rest to :math:`-\infty`.

    .. math:: \tilde z_i = z_i \text{ if } z_i \ge z_{(k)}, \text{ else } -\infty

    with :math:`z_{(k)}` the :math:`k`-th largest logit (ties with it are kept).
    Defined in Chapter 13 (decoding).

    Parameters
    ----------
    logits : Tensor, shape (..., V), floating point
    k : int
        :math:`1 \le k`; ``k >= V`` keeps everything.

    Returns
    -------
    Tensor, shape of ``logits``

    Examples
    --------
    >>> top_k_filter(torch.tensor([1.0, 3.0, 2.0]), 2)
    tensor([-inf, 3., 2.])
    """
    logits = _check_logits(logits)
    _positive_int("k", k)
    if k >= logits.shape[-1]:
        return logits.clone()
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]  # (..., 1)
    return logits.masked_fill(logits < kth, -math.inf)


def top_p_filter(logits: Tensor, p: float) -> Tensor:
    r"""Nucleus filtering: keep the smallest set of most likely tokens whose mass is
    :math:`\ge p`.

    Sort the probabilities :math:`\pi = \operatorname{softmax}(z)` in decreasing order,
    :math:`\pi_{(1)} \ge \pi_{(2)} \ge \dots`, and keep token :math:`(j)` if the mass
    before it is below :math:`p`:

    .. math:: \textstyle\sum_{i<j} \pi_{(i)} < p

    so the most likely token is always kept (Holtzman et al., ICLR 2020). Defined in
    Chapter 13 (decoding).

    Parameters
    ----------
    logits : Tensor, shape (..., V), floating point
    p : float
        In :math:`(0, 1]`; ``p = 1`` keeps every token of non-zero probability.

    Returns
    -------
    Tensor, shape of ``logits``, with :math:`-\infty` outside the nucleus

    Examples
    --------
    >>> top_p_filter(torch.log(torch.tensor([0.5, 0.3, 0.2])), 0.75)
    tensor([-0.6931, -1.2040,    -inf])
    """
    logits = _check_logits(logits)
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p <= 1:
        raise ValueError(f"p must be a real number in (0, 1], got {p!r}")
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = torch.softmax(sorted_logits, dim=-1)
    before = torch.cumsum(probs, dim=-1) - probs  # mass of the tokens ranked above
    drop_sorted = before >= p
    drop_sorted[..., 0] = False
    drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, -math.inf)


def filter_logits(
    logits: Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> Tensor:
    r"""Divide by the temperature, then apply top-k, then top-p filtering.

    .. math:: \pi_i \propto \exp(z_i / \tau) \text{ over the kept tokens}

    Defined in Chapter 13 (decoding). ``temperature`` must be positive (greedy decoding
    is ``top_k=1``).

    Examples
    --------
    >>> filter_logits(torch.tensor([2.0, 4.0]), temperature=2.0)
    tensor([1., 2.])
    """
    logits = _check_logits(logits)
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise ValueError(f"temperature must be a positive real number, got {temperature!r}")
    if not temperature > 0:
        raise ValueError(f"temperature must be a positive real number, got {temperature!r}")
    out = logits / temperature
    if top_k is not None:
        out = top_k_filter(out, top_k)
    if top_p is not None:
        out = top_p_filter(out, top_p)
    return out


@torch.no_grad()
def generate(
    model: GPT,
    prompt: Tensor,
    max_new_tokens: int,
    *,
    generator: torch.Generator,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> Tensor:
    r"""Sample a continuation of ``prompt`` token by token, reusing the key-value cache.

    Each new token costs one forward pass over *one* position: the keys and values of
    the earlier ones come from the cache. When the context is full, the oldest token is
    dropped and the cache rebuilt from the last ``block_size - 1`` tokens.

    Parameters
    ----------
    model : GPT
    prompt : Tensor, shape (B, T), integer, ``T >= 1``
    max_new_tokens : int
    generator : torch.Generator
        On the model's device; the only source of randomness.
    temperature, top_k, top_p
        As in :func:`filter_logits`.

    Returns
    -------
    Tensor, shape (B, T + max_new_tokens), int64
    """
    if not isinstance(prompt, Tensor) or prompt.ndim != 2 or prompt.shape[1] < 1:
        raise ValueError("prompt must be a (B, T) integer tensor with T >= 1")
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
    was_training = model.training
    model.eval()
    limit = model.config.block_size
    out = prompt.long()
    logits, cache = model(out[:, -limit:])
    for _ in range(max_new_tokens):
        probs = torch.softmax(filter_logits(logits[:, -1], temperature, top_k, top_p), -1)
        nxt = torch.multinomial(probs, 1, generator=generator)  # (B, 1)
        out = torch.cat([out, nxt], dim=1)
        if cache[0][0].shape[2] >= limit:
            logits, cache = model(out[:, -limit:])  # context full: slide and rebuild
        else:
            logits, cache = model(nxt, cache)
    model.train(was_training)
    return out


# --------------------------------------------------------------------------------------
# Learning from preferences
# --------------------------------------------------------------------------------------
def bradley_terry_loss(r_chosen: Tensor, r_rejected: Tensor) -> Tensor:
    r"""The reward model's loss on preference pairs, mean over pairs.

    .. math:: L = -\frac1N \sum_i \log \sigma\bigl(r(y_i^{+}) - r(y_i^{-})\bigr)

    the negative log-likelihood of the Bradley-Terry model
    :math:`P(y^+ \succ y^-) = \sigma(r^+ - r^-)` (Ouyang et al. 2022), computed as
    :math:`\operatorname{softplus}(r^- - r^+)` so it stays finite for any difference.
    Defined in Chapter 13 (learning from human feedback).

    Parameters
    ----------
    r_chosen, r_rejected : Tensor, shape (N,), floating point
        Rewards of the preferred and of the rejected answer of each pair.

    Returns
    -------
    Tensor, 0-d

    Raises
    ------
    TypeError
        If an input is not a floating-point tensor.
    ValueError
        If the shapes are not the same (N,) with N >= 1.

    Examples
    --------
    >>> bradley_terry_loss(torch.tensor([0.0]), torch.tensor([0.0]))
    tensor(0.6931)
    """
    for name, r in (("r_chosen", r_chosen), ("r_rejected", r_rejected)):
        if not isinstance(r, Tensor) or not r.dtype.is_floating_point:
            raise TypeError(f"{name} must be a floating-point tensor, got {type(r).__name__}")
    if r_chosen.ndim != 1 or r_chosen.shape != r_rejected.shape or len(r_chosen) == 0:
        raise ValueError(
            f"r_chosen and r_rejected must both be (N,) with N >= 1, got "
            f"{tuple(r_chosen.shape)} and {tuple(r_rejected.shape)}"
        )
    if r_chosen.device != r_rejected.device:
        raise ValueError(f"r_chosen is on {r_chosen.device} but r_rejected on {r_rejected.device}")
    loss: Tensor = F.softplus(r_rejected - r_chosen).mean()
    return loss


# Every public function checks devices and numpy scalars the same way (dlbook._checks).
_checks.guard_module(globals(), __all__)
