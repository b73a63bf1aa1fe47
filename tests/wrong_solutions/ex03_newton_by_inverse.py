"""Exercise 3.3 forming the inverse Hessian, which the statement rules out (passed: the rule
was not enforced)."""

import torch

SET = "ex03_calculus"
TESTS = ["test_newton_on_a_quadratic"]
MATCH = "torch.linalg.inv"


def newton(grad_fn, hess_fn, x0, steps):  # type: ignore[no-untyped-def]
    if x0.ndim != 1:
        raise ValueError("x0 must be a vector")
    xs = [x0.clone()]
    for _ in range(steps):
        H = hess_fn(xs[-1])
        if int(torch.linalg.cholesky_ex(H @ H.T).info) != 0:
            raise ValueError("singular Hessian")
        xs.append(xs[-1] - torch.linalg.inv(H) @ grad_fn(xs[-1]))
    return torch.stack(xs)
