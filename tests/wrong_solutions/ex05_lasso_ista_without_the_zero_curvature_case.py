"""Exercise 5.4 dividing by L without the statement's "if L = 0, use eta = 1" (constant features
crash it; passed: no case had L = 0)."""

import torch

SET = "ex05_regression"
TESTS = ["test_lasso_ista_fixed_inputs"]
MATCH = "ZeroDivisionError"


def lasso_ista(X, y, lam, *, steps=1000, lr=None, fit_intercept=True):  # type: ignore[no-untyped-def]
    if lam < 0 or steps < 1:
        raise ValueError("bad lam or steps")
    N = X.shape[0]
    x_mean = X.mean(0) if fit_intercept else torch.zeros_like(X[0])
    y_mean = y.mean() if fit_intercept else torch.zeros_like(y[0])
    Xc, yc = X - x_mean, y - y_mean
    if lr is None:
        lr = 1.0 / (float(torch.linalg.matrix_norm(Xc, ord=2)) ** 2 / N)
    w = torch.zeros_like(X[0])

    def objective(w):  # type: ignore[no-untyped-def]
        r = yc - Xc @ w
        return r @ r / (2 * N) + lam * w.abs().sum()

    values = [objective(w)]
    for _ in range(steps):
        v = w - lr / N * Xc.T @ (Xc @ w - yc)
        w = torch.sign(v) * torch.clamp(v.abs() - lr * lam, min=0)
        values.append(objective(w))
    return (w, y_mean - x_mean @ w), torch.stack(values)
