"""Exercise 6.3 inverting the Hessian, which the statement rules out (passed: the rule was not
enforced)."""

import torch

SET = "ex06_classification"
TESTS = ["test_newton_step_fixed_inputs"]
MATCH = "torch.linalg.inv"


def newton_step(theta, X, y, lam=0.0):  # type: ignore[no-untyped-def]
    if X.ndim != 2 or theta.shape != (X.shape[1] + 1,) or y.shape != (X.shape[0],) or lam < 0:
        raise ValueError("bad input")
    if not bool(((y == 0) | (y == 1)).all()):
        raise ValueError("labels must be 0 or 1")
    N, D = X.shape
    Xt = torch.cat([X, torch.ones(N, 1, dtype=X.dtype, device=X.device)], dim=1)
    p = 1 / (1 + torch.exp(-(Xt @ theta)))
    penalty = torch.ones(D + 1, dtype=X.dtype, device=X.device)
    penalty[-1] = 0
    grad = Xt.T @ (p - y.to(X.dtype)) / N + lam * penalty * theta
    hess = (Xt.T * (p * (1 - p))) @ Xt / N + lam * torch.diag(penalty)
    return theta - torch.linalg.inv(hess) @ grad
