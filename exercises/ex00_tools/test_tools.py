"""Grader for exercise set 0 (README.md beside this file). Do not edit."""

from __future__ import annotations

import types

import numpy as np
import torch

from dlbook import data, train
from dlbook.grading import Case, check, check_raises

SUBMISSION = "tools.py"
REFERENCES = {"one_hot": data.one_hot, "accuracy": train.accuracy, "parse_idx": data.parse_idx}

# IDX element types: code -> big-endian numpy type, as in the exercise statement.
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def idx_bytes(array: np.ndarray, code: int) -> bytes:
    """Encode ``array`` as an IDX file (written here, independently of dlbook)."""
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    return header + np.ascontiguousarray(array, dtype=IDX_TYPES[code]).tobytes()


# ---------------------------------------------------------------------- Exercise 0.1
def test_one_hot_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    cases = [
        Case("three labels, K=3", (torch.tensor([2, 0, 1], device=device), 3)),
        Case("repeated labels, K=5", (torch.tensor([4, 4, 0], device=device), 5)),
        Case("a 2-D batch of labels", (torch.tensor([[1, 0], [3, 2]], device=device), 4)),
        Case("one class", (torch.zeros(3, dtype=torch.int64, device=device), 1)),
        Case("int32 labels", (torch.tensor([1, 0], dtype=torch.int32, device=device), 2)),
        # uint8 labels index as a boolean mask (torch.eye(K)[labels] without .long())
        Case("uint8 labels", (torch.tensor([2, 0, 1], dtype=torch.uint8, device=device), 3)),
        Case("no labels at all", (torch.empty(0, dtype=torch.int64, device=device), 4)),
    ]
    check(submission.one_hot, data.one_hot, cases, exercise="Exercise 0.1")


def test_one_hot_random_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(1)
    cases = []
    for i in range(12):
        k = int(torch.randint(1, 12, (1,), generator=g))
        shape = tuple(int(s) for s in torch.randint(1, 6, (1 + i % 3,), generator=g))
        labels = torch.randint(0, k, shape, generator=g).to(device)
        cases.append(Case(f"random #{i}: shape {shape}, K={k}", (labels, k)))
    check(submission.one_hot, data.one_hot, cases, exercise="Exercise 0.1")


def test_one_hot_rejects_bad_labels(submission: types.ModuleType) -> None:
    out_of_range = [
        Case("label equal to K", (torch.tensor([0, 3]), 3)),
        Case("negative label", (torch.tensor([-1, 0]), 2)),
    ]
    check_raises(
        submission.one_hot, data.one_hot, out_of_range, ValueError, exercise="Exercise 0.1"
    )
    not_integers = [
        Case("float labels", (torch.tensor([0.0, 1.0]), 2)),
        Case("boolean labels", (torch.tensor([True, False]), 2)),
    ]
    check_raises(submission.one_hot, data.one_hot, not_integers, TypeError, exercise="Exercise 0.1")


# ---------------------------------------------------------------------- Exercise 0.2
def test_accuracy_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    def t(values: list[list[float]]) -> torch.Tensor:
        return torch.tensor(values, device=device)

    cases = [
        Case("all right", (t([[2.0, 1.0], [0.0, 3.0]]), torch.tensor([0, 1], device=device))),
        Case("half right", (t([[2.0, 1.0], [0.0, 3.0]]), torch.tensor([0, 0], device=device))),
        Case("all wrong", (t([[2.0, 1.0], [0.0, 3.0]]), torch.tensor([1, 0], device=device))),
        Case(
            "a tie: the first largest wins",
            (t([[1.0, 3.0, 3.0], [0.0, 0.0, 0.0]]), torch.tensor([2, 0], device=device)),
        ),
        Case(
            "one example, negative scores",
            (t([[-5.0, -1.0, -3.0]]), torch.tensor([1], device=device)),
        ),
        Case(
            "float64 logits: the accuracy is still float32",
            (t([[2.0, 1.0], [0.0, 3.0]]).double(), torch.tensor([0, 0], device=device)),
        ),
    ]
    check(submission.accuracy, train.accuracy, cases, exercise="Exercise 0.2")


def test_accuracy_random_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(2)
    cases = []
    for i in range(12):
        n = int(torch.randint(1, 200, (1,), generator=g))
        k = int(torch.randint(2, 11, (1,), generator=g))
        logits = torch.randn(n, k, generator=g).to(device)
        targets = torch.randint(0, k, (n,), generator=g).to(device)
        cases.append(Case(f"random #{i}: N={n}, K={k}", (logits, targets)))
    check(submission.accuracy, train.accuracy, cases, exercise="Exercise 0.2")


def test_accuracy_rejects_bad_shapes(submission: types.ModuleType) -> None:
    cases = [
        Case("1-D logits", (torch.zeros(4), torch.zeros(4, dtype=torch.int64))),
        Case("targets too long", (torch.zeros(3, 2), torch.zeros(4, dtype=torch.int64))),
        Case("2-D targets", (torch.zeros(3, 2), torch.zeros(3, 1, dtype=torch.int64))),
        Case("empty batch", (torch.zeros(0, 2), torch.zeros(0, dtype=torch.int64))),
    ]
    check_raises(submission.accuracy, train.accuracy, cases, ValueError, exercise="Exercise 0.2")


# ---------------------------------------------------------------------- Exercise 0.3
def test_parse_idx_every_type(submission: types.ModuleType) -> None:
    rng = np.random.default_rng(3)
    cases = [
        Case("unsigned bytes, 2 x 3", (idx_bytes(rng.integers(0, 256, (2, 3)), 0x08),)),
        Case("signed bytes, 4", (idx_bytes(rng.integers(-128, 128, 4), 0x09),)),
        Case("int16, 3 x 2", (idx_bytes(rng.integers(-30000, 30000, (3, 2)), 0x0B),)),
        Case("int32, 2 x 2 x 2", (idx_bytes(rng.integers(-(2**31), 2**31, (2, 2, 2)), 0x0C),)),
        Case("float32, 5", (idx_bytes(rng.normal(size=5), 0x0D),)),
        Case("float64, 1 x 3", (idx_bytes(rng.normal(size=(1, 3)), 0x0E),)),
        Case(
            "a tiny 'image file': 3 images of 4 x 4",
            (idx_bytes(rng.integers(0, 256, (3, 4, 4)), 0x08),),
        ),
    ]
    check(submission.parse_idx, data.parse_idx, cases, exercise="Exercise 0.3", rtol=0, atol=0)


def test_parse_idx_random_files(submission: types.ModuleType) -> None:
    rng = np.random.default_rng(4)
    cases = []
    for i in range(10):
        code = int(rng.choice(list(IDX_TYPES)))
        shape = tuple(int(s) for s in rng.integers(1, 5, size=int(rng.integers(1, 4))))
        values = (
            rng.normal(scale=50, size=shape)
            if code in (0x0D, 0x0E)
            else rng.integers(0, 100, size=shape)
        )
        cases.append(
            Case(f"random #{i}: type 0x{code:02X}, shape {shape}", (idx_bytes(values, code),))
        )
    check(submission.parse_idx, data.parse_idx, cases, exercise="Exercise 0.3", rtol=0, atol=0)


def test_parse_idx_rejects_corrupt_files(submission: types.ModuleType) -> None:
    good = idx_bytes(np.arange(6).reshape(2, 3), 0x08)
    cases = [
        Case("truncated payload", (good[:-1],)),
        Case("extra bytes after the payload", (good + b"\x00",)),
        Case("wrong magic bytes", (b"\x01" + good[1:],)),
        Case("unknown type code 0x07", (good[:2] + b"\x07" + good[3:],)),
        Case("header cut short", (good[:6],)),
    ]
    check_raises(submission.parse_idx, data.parse_idx, cases, ValueError, exercise="Exercise 0.3")
    check_raises(
        submission.parse_idx,
        data.parse_idx,
        [Case("a str instead of bytes", ("not bytes",))],
        TypeError,
        exercise="Exercise 0.3",
    )
