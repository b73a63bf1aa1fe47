"""Grader for the open Exercise 2.5 (README.md beside this file). Do not edit.

Graded on measured properties, not on equality with a reference: for each training set and
bound, PCA with the returned number of components, fitted on the training digits, must
reconstruct *held-out* digits (which the function never sees) with a mean squared error per
digit at most ``SLACK`` times the bound, using at most ``EXTRA`` more components than the
fewest that meet the bound on those held-out digits. The digits are rotated by a secret
orthogonal matrix (reconstruction errors do not change), so they cannot be looked up.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import Tensor

from dlbook import data, linalg
from dlbook.grading import NotImplementedYetError, run_with_timeout, with_references_hidden

SUBMISSION = "linalg.py"
REFERENCES = {"choose_components": linalg.choose_components}
F64 = torch.float64
SLACK = 1.03  # held-out error may exceed the bound by 3 % (held-out sets are finite)
EXTRA = 3  # at most three components more than the fewest that meet the bound
# Switched off while the student's code runs, under any name it was imported as.
HIDDEN = [linalg.choose_components]
EXERCISE = "Exercise 2.5"


def run(function: Callable[..., Any], *args: Any) -> Any:
    try:
        hidden = with_references_hidden(function, HIDDEN, exercise=EXERCISE)
        return run_with_timeout(hidden, args, seconds=60.0, what=EXERCISE)
    except NotImplementedError:
        raise NotImplementedYetError(
            f"{EXERCISE}: `choose_components` is not implemented yet (it raises "
            "NotImplementedError). Replace the `raise NotImplementedError` line in "
            "linalg.py with your code."
        ) from None


def held_out_errors(X: Tensor, H: Tensor) -> Tensor:
    """Error per held-out digit of PCA fitted on X, for k = 1, ..., 64 (computed directly)."""
    mean = X.mean(dim=0)
    _, _, Vh = torch.linalg.svd(X - mean, full_matrices=False)  # (r, 64)
    out = []
    for k in range(1, 65):
        V = Vh[: min(k, Vh.shape[0])]  # (k, 64)
        residual = (H - mean) - (H - mean) @ V.mT @ V  # (n, 64)
        out.append(residual.pow(2).sum() / len(H))
    return torch.stack(out)


def digits(n: int, seed: int, device: torch.device) -> tuple[Tensor, Tensor]:
    split = data.load_digits(dtype=F64)
    pool = torch.cat([split.X_train, split.X_val, split.X_test])  # (1797, 64)
    g = torch.Generator().manual_seed(1000 + seed)
    Q, _ = torch.linalg.qr(torch.randn(64, 64, generator=g, dtype=F64))  # secret rotation
    perm = torch.randperm(len(pool), generator=g)
    rotated = pool @ Q  # (1797, 64): same distances, unrecognisable pixels
    return rotated[perm[:n]].to(device), rotated[perm[n:]].to(device)


def _switched_off(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError(f"{EXERCISE}: dlbook's choose_components is switched off")


@pytest.mark.points(3)
@pytest.mark.parametrize(("n", "seed"), [(150, 0), (150, 1), (300, 2), (300, 3)])
def test_chosen_k_meets_the_bound_on_held_out_digits_with_few_components(
    submission: types.ModuleType,
    device: torch.device,
    n: int,
    seed: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    student = submission.choose_components
    assert student is not linalg.choose_components, "write the function yourself"
    monkeypatch.setattr(linalg, "choose_components", _switched_off)
    X, H = digits(n, seed, device)
    errors = held_out_errors(X, H)
    for i, bound in enumerate((1.2, 0.8, 0.5, 0.3)):
        torch.manual_seed(10 * seed + i)  # a random split inside your function repeats
        k = run(student, X.clone(), bound)
        assert isinstance(k, int) and not isinstance(k, bool), (
            f"{EXERCISE}: return a Python int, got {type(k).__name__}"
        )
        assert 1 <= k <= 64, f"{EXERCISE}: k must be in 1..64, got {k}"
        fewest = int(torch.nonzero(errors <= bound)[0]) + 1
        got = float(errors[k - 1])
        assert got <= SLACK * bound, (
            f"{EXERCISE}: {n} training digits, bound {bound}: with k = {k} the held-out error "
            f"per digit is {got:.3f} > {SLACK} x bound (it needs k >= {fewest}). The training "
            "error underestimates the error on new digits: estimate it on data PCA did not see."
        )
        assert k <= fewest + EXTRA, (
            f"{EXERCISE}: {n} training digits, bound {bound}: k = {k} meets the bound, but "
            f"{fewest} components already do (at most {fewest + EXTRA} accepted)."
        )


@pytest.mark.points(1)
def test_a_looser_bound_never_needs_more_components(
    submission: types.ModuleType, device: torch.device
) -> None:
    X, _ = digits(200, 7, device)
    torch.manual_seed(7)
    ks = [run(submission.choose_components, X.clone(), b) for b in (2.0, 1.0, 0.5, 0.25)]
    assert ks == sorted(ks) and ks[0] < ks[-1], (
        f"{EXERCISE}: for bounds 2, 1, 0.5, 0.25 you chose k = {ks}: a tighter bound must "
        "need at least as many components"
    )
