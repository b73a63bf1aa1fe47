"""RIGHT: Exercise 1.3 with other weights and thresholds (NAND at -1.5, OR with weights 2, 2).

The review: the grader rejected this valid network; it must pass now.
"""

import torch

SET = "ex01_history"
TESTS = [
    "test_parity_deep_layers",
    "test_parity_deep_every_unit_computes_its_function",
    "test_parity_deep_computes_parity",
]
EXPECT = "pass"


def parity_deep(n: int) -> list:
    if not isinstance(n, int) or not 2 <= n <= 20:
        raise ValueError("n must be in [2, 20]")
    layers, width = [], n
    while width > 1:
        pairs, carry = divmod(width, 2)
        W1 = torch.zeros(2 * pairs + carry, width)
        t1 = torch.zeros(2 * pairs + carry)
        for p in range(pairs):
            W1[2 * p, 2 * p : 2 * p + 2] = 2.0  # OR: 2 a + 2 b >= 1
            t1[2 * p] = 1.0
            W1[2 * p + 1, 2 * p : 2 * p + 2] = -1.0  # NAND: -a - b >= -1.5
            t1[2 * p + 1] = -1.5
        if carry:
            W1[-1, -1], t1[-1] = 3.0, 2.0  # copy: 3 a >= 2
        W2 = torch.zeros(pairs + carry, 2 * pairs + carry)
        t2 = torch.zeros(pairs + carry)
        for p in range(pairs):
            W2[p, 2 * p : 2 * p + 2] = 1.0  # AND: a + b >= 1.5
            t2[p] = 1.5
        if carry:
            W2[-1, -1], t2[-1] = 1.0, 0.5
        layers += [(W1, t1), (W2, t2)]
        width = pairs + carry
    return layers
