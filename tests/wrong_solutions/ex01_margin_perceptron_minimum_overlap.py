"""RIGHT: Exercise 1.4 (open) by Krauth and Mezard's minimum-overlap rule (always update on the
example of smallest margin, steps normalised): not the book's algorithm; must pass."""

import torch

SET = "ex01_history"
GRADER = "test_open"
TESTS = [
    "test_separable_sets_get_a_wide_margin_and_no_training_error",
    "test_non_separable_sets_stop_and_report_it",
]
EXPECT = "pass"


def margin_perceptron(X, y, max_epochs=1000):  # type: ignore[no-untyped-def]
    A = torch.cat([X, torch.ones(len(X), 1, dtype=X.dtype, device=X.device)], 1)
    Z = y[:, None] * A  # rows y_i (x_i, 1)
    w = torch.zeros(A.shape[1], dtype=X.dtype, device=X.device)
    for _ in range(min(max_epochs * len(X), 20_000)):
        i = int(torch.argmin(Z @ w))
        w = w + Z[i] / (Z[i] @ Z[i])
    return w[:-1].clone(), w[-1].clone(), bool(((Z @ w) > 0).all())
