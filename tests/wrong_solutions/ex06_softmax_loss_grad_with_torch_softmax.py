"""Exercise 6.2 with `torch.softmax` / `torch.log_softmax` (the review: passed)."""

import torch

SET = "ex06_classification"
TESTS = ["test_softmax_loss_grad_fixed_inputs"]
MATCH = "forbids"


def softmax_regression_loss_grad(W, b, X, y, lam=0.0):  # type: ignore[no-untyped-def]
    logits = X @ W.T + b
    n = X.shape[0]
    logp = torch.log_softmax(logits, dim=1)
    loss = -logp[torch.arange(n, device=X.device), y].mean() + lam / 2 * (W * W).sum()
    delta = torch.softmax(logits, dim=1)
    delta[torch.arange(n, device=X.device), y] -= 1
    delta = delta / n
    return loss, delta.T @ X + lam * W, delta.sum(dim=0)
