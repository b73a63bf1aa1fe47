"""Exercise 1.2 returning the number of mistakes as a tensor, not the Python int the statement
asks for (passed: a one-element tensor compared equal to the reference's int)."""

import torch

SET = "ex01_history"
TESTS = ["test_perceptron_epoch_counts_in_a_python_int"]
MATCH = "mistakes of type Tensor"


def perceptron_epoch(w, b, X, y, lr=1.0):  # type: ignore[no-untyped-def]
    if X.ndim != 2 or len(X) == 0 or y.shape != (len(X),) or w.shape != (X.shape[1],):
        raise ValueError("bad shapes")
    if b.ndim != 0 or lr <= 0 or not bool(((y == 1) | (y == -1)).all()):
        raise ValueError("bad b, lr or labels")
    X = X if X.is_floating_point() else X.float()
    w, b, y = w.to(X.dtype).clone(), b.to(X.dtype).clone(), y.to(X.dtype)
    mistakes = torch.zeros((), dtype=torch.int64)
    for i in range(len(X)):
        if y[i] * (X[i] @ w + b) <= 0:
            w, b, mistakes = w + lr * y[i] * X[i], b + lr * y[i], mistakes + 1
    return w, b, mistakes
