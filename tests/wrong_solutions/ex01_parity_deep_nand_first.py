"""Exercise 1.3 with NAND before OR in each pair: the parity is right, the units are not
those the statement asks for (unit 2p is OR, 2p + 1 NAND)."""

import torch

SET = "ex01_history"
TESTS = ["test_parity_deep_every_unit_computes_its_function"]
MATCH = "truth table"


def parity_deep(n: int) -> list:
    if not isinstance(n, int) or not 2 <= n <= 20:
        raise ValueError("n must be in [2, 20]")
    layers, width = [], n
    while width > 1:
        pairs, carry = divmod(width, 2)
        W1 = torch.zeros(2 * pairs + carry, width)
        t1 = torch.zeros(2 * pairs + carry)
        for p in range(pairs):
            W1[2 * p, 2 * p : 2 * p + 2] = -1.0
            t1[2 * p] = -1.0
            W1[2 * p + 1, 2 * p : 2 * p + 2] = 1.0
            t1[2 * p + 1] = 1.0
        if carry:
            W1[-1, -1], t1[-1] = 1.0, 1.0
        W2 = torch.zeros(pairs + carry, 2 * pairs + carry)
        t2 = torch.zeros(pairs + carry)
        for p in range(pairs):
            W2[p, 2 * p : 2 * p + 2] = 1.0
            t2[p] = 2.0
        if carry:
            W2[-1, -1], t2[-1] = 1.0, 1.0
        layers += [(W1, t1), (W2, t2)]
        width = pairs + carry
    return layers
