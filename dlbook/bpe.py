r"""Tokenisers from scratch: characters and byte-level byte-pair encoding (Chapter 13).

A tokeniser turns text into a sequence of integer ids and back. :class:`CharTokenizer`
gives every character of a fixed alphabet its own id. :func:`train_bpe` learns a
byte-level byte-pair encoding (:class:`BPETokenizer`) in the manner of GPT-2: the text is
first cut into words by :data:`PATTERN` (*pre-tokenisation*), each word is written as its
UTF-8 bytes (ids 0-255), and the most frequent adjacent pair of ids is merged into a new
id, again and again, until the vocabulary has the requested size. Since every string is a
sequence of bytes, ``decode(encode(s)) == s`` for *any* string, whatever its alphabet.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from dlbook import _checks

__all__ = [
    "PATTERN",
    "BPETokenizer",
    "CharTokenizer",
    "byte_level_decoder",
    "merge_pair",
    "pretokenize",
    "train_bpe",
]

#: The pre-tokeniser: a word with at most one leading space, a run of punctuation with
#: at most one leading space, or whitespace (leaving the last space of a run to the next
#: word). The three classes partition all characters, so the pieces concatenate back to
#: the text. GPT-2's pattern, simplified to what Python's ``re`` supports.
PATTERN = r" ?\w+| ?[^\w\s]+|\s+(?!\S)|\s+"

_SPLIT = re.compile(PATTERN)


def pretokenize(text: str) -> list[str]:
    r"""Cut ``text`` into the pieces BPE merges within (never across).

    Defined in Chapter 13 (byte-pair encoding). ``"".join(pretokenize(s)) == s``.

    Examples
    --------
    >>> pretokenize("def f(x):  return x")
    ['def', ' f', '(', 'x', '):', ' ', ' return', ' x']
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return _SPLIT.findall(text)


def byte_level_decoder() -> dict[str, int]:
    r"""GPT-2's map from the printable characters that stand for bytes back to the bytes.

    GPT-2 (and Hugging Face ``tokenizers``' ``ByteLevel``) writes each byte as a printable
    character: the printable Latin-1 bytes as themselves, the other 68 (controls, space,
    soft hyphen) as the code points from U+0100 on, so a space shows as ``"Ġ"``. This
    inverts that map, to read merges saved by ``tokenizers`` as bytes.

    Examples
    --------
    >>> decode = byte_level_decoder()
    >>> decode["a"], decode["Ġ"], len(decode)
    (97, 32, 256)
    """
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    codes = {b: b for b in printable}
    extra = 0
    for b in range(256):
        if b not in codes:
            codes[b] = 256 + extra
            extra += 1
    return {chr(c): b for b, c in codes.items()}


class CharTokenizer:
    r"""One id per character of an alphabet, in sorted order of the characters.

    Defined in Chapter 13 (tokenisation).

    Parameters
    ----------
    text : str
        The characters of this text form the alphabet.

    Examples
    --------
    >>> tok = CharTokenizer("hello")
    >>> tok.encode("hole"), tok.decode([2, 1])
    ([1, 3, 2, 0], 'lh')
    """

    def __init__(self, text: str) -> None:
        if not isinstance(text, str) or not text:
            raise ValueError("text must be a non-empty str")
        self.alphabet = sorted(set(text))
        self._index = {c: i for i, c in enumerate(self.alphabet)}

    @property
    def vocab_size(self) -> int:
        return len(self.alphabet)

    def encode(self, text: str) -> list[int]:
        """The id of each character; a character outside the alphabet raises ValueError."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        try:
            return [self._index[c] for c in text]
        except KeyError as err:
            raise ValueError(f"character {err.args[0]!r} is not in the alphabet") from None

    def decode(self, ids: Sequence[int]) -> str:
        """The characters of the ids; an id outside ``[0, vocab_size)`` raises ValueError."""
        V = self.vocab_size
        bad = [i for i in ids if not 0 <= i < V]
        if bad:
            raise ValueError(f"id {bad[0]} is outside [0, vocab_size={V})")
        return "".join(self.alphabet[i] for i in ids)


@dataclass
class BPETokenizer:
    r"""A byte-level BPE tokeniser: ids 0-255 are bytes, id ``256 + r`` is merge ``r``.

    ``merges[r] = (a, b)`` says that the adjacent ids ``a, b`` become ``256 + r``. To
    encode a word, repeatedly merge the adjacent pair of *lowest* rank until no pair of
    the word is a merge (the order the merges were learned in).
    """

    merges: list[tuple[int, int]]
    _ranks: dict[tuple[int, int], int] = field(init=False, repr=False)
    vocab: list[bytes] = field(init=False, repr=False)
    _cache: dict[str, list[int]] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._ranks = {pair: r for r, pair in enumerate(self.merges)}
        self.vocab = [bytes([b]) for b in range(256)]
        for a, b in self.merges:
            if not (0 <= a < len(self.vocab) and 0 <= b < len(self.vocab)):
                raise ValueError(f"merge ({a}, {b}) refers to an id not yet defined")
            self.vocab.append(self.vocab[a] + self.vocab[b])

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def _encode_word(self, word: str) -> list[int]:
        ids = list(word.encode("utf-8"))
        while len(ids) > 1:
            ranked = [(self._ranks[p], p) for p in itertools.pairwise(ids) if p in self._ranks]
            if not ranked:
                break
            _, pair = min(ranked)
            ids = merge_pair(ids, pair, 256 + self._ranks[pair])
        return ids

    def encode(self, text: str) -> list[int]:
        r"""The ids of ``text``: pre-tokenise, then merge within each piece."""
        out: list[int] = []
        for word in pretokenize(text):
            ids = self._cache.get(word)
            if ids is None:
                ids = self._cache[word] = self._encode_word(word)
            out.extend(ids)
        return out

    def decode(self, ids: Sequence[int]) -> str:
        r"""The text of ``ids`` (invalid UTF-8 from an arbitrary id sequence becomes U+FFFD)."""
        V = self.vocab_size
        bad = [i for i in ids if not 0 <= i < V]
        if bad:
            raise ValueError(f"id {bad[0]} is outside [0, vocab_size={V})")
        return b"".join(self.vocab[i] for i in ids).decode("utf-8", errors="replace")


def merge_pair(ids: Sequence[int], pair: tuple[int, int], new: int) -> list[int]:
    r"""Replace every occurrence of the adjacent ``pair`` in ``ids``, left to right, by ``new``.

    One merge step of byte-pair encoding: scanning from the left, whenever ``ids[i],
    ids[i + 1] == pair`` the two become ``new`` and the scan resumes after them, so
    overlapping occurrences (``a a a`` with the pair ``(a, a)``) merge from the left.
    Defined in Chapter 13 (byte-pair encoding, Exercise 13.1).

    Parameters
    ----------
    ids : sequence of int
    pair : (int, int)
    new : int
        The id of the merged token.

    Returns
    -------
    list of int
        A new list; ``ids`` is not modified.

    Examples
    --------
    >>> merge_pair([1, 1, 1, 2, 1, 1], (1, 1), 9)
    [9, 1, 2, 9]
    """
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Sequence):
        raise TypeError(f"ids must be a sequence of ints, got {type(ids).__name__}")
    if not (isinstance(pair, tuple) and len(pair) == 2):
        raise TypeError(f"pair must be a tuple of two ints, got {pair!r}")
    out: list[int] = []
    i = 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def train_bpe(text: str, vocab_size: int) -> BPETokenizer:
    r"""Learn a byte-level BPE of ``vocab_size`` ids (256 bytes and ``vocab_size - 256`` merges).

    Each round counts every adjacent pair of ids inside the pre-tokenised words, weighted
    by how often each word occurs, and merges the most frequent pair :math:`(a, b)`:

    .. math:: (a, b) = \operatorname*{arg\,max}_{(a, b)} \sum_{w} c(w)\, n_{ab}(w)

    Ties go to the smallest pair of ids. Training stops early if no pair is left.
    Only the words that contain the merged pair are recounted, so a round costs the
    length of those words rather than of the whole text. Defined in Chapter 13.

    Parameters
    ----------
    text : str
    vocab_size : int
        At least 256.

    Returns
    -------
    BPETokenizer

    Raises
    ------
    TypeError
        If ``text`` is not a str.
    ValueError
        If ``vocab_size`` is not an int >= 256.

    References
    ----------
    .. [1] R. Sennrich, B. Haddow and A. Birch, "Neural machine translation of rare words
       with subword units", ACL 2016.
    .. [2] A. Radford et al., "Language models are unsupervised multitask learners", 2019.

    Examples
    --------
    >>> tok = train_bpe("low lower lowest", 258)
    >>> [tok.vocab[i] for i in range(256, 258)]
    [b'lo', b'low']
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 256:
        raise ValueError(f"vocab_size must be an int >= 256, got {vocab_size!r}")
    counts = Counter(pretokenize(text))
    words = [list(w.encode("utf-8")) for w in counts]
    freq = list(counts.values())
    pair_counts: Counter[tuple[int, int]] = Counter()
    where: dict[tuple[int, int], set[int]] = {}
    for i, ids in enumerate(words):
        for p in itertools.pairwise(ids):
            pair_counts[p] += freq[i]
            where.setdefault(p, set()).add(i)
    merges: list[tuple[int, int]] = []
    while len(merges) < vocab_size - 256 and pair_counts:
        # most frequent pair; among equals the smallest (a, b)
        pair = max(pair_counts, key=lambda p: (pair_counts[p], -p[0], -p[1]))
        new = 256 + len(merges)
        merges.append(pair)
        for i in where.pop(pair, set()):
            old = words[i]
            merged = merge_pair(old, pair, new)
            if len(merged) == len(old):
                continue  # a stale entry: the word lost the pair to an earlier merge
            for p in itertools.pairwise(old):
                pair_counts[p] -= freq[i]
                if pair_counts[p] == 0:
                    del pair_counts[p]
            for p in itertools.pairwise(merged):
                pair_counts[p] += freq[i]
                where.setdefault(p, set()).add(i)
            words[i] = merged
        pair_counts.pop(pair, None)
    return BPETokenizer(merges)


# Every public function checks devices and numpy scalars the same way (dlbook._checks).
_checks.guard_module(globals(), __all__)
