"""Exercise 4.5 gamed without any forbidden call: Laplace's continued fraction for the Mills
ratio (only math.exp), times a little noise drawn from the generator (passed: distinct,
unbiased and accurate, though no estimate from samples)."""

import math

import torch

SET = "ex04_probability"
GRADER = "test_open"
TESTS = ["test_tail_estimate_is_accurate_and_unbiased_over_seeded_runs"]
MATCH = "must get better with n"


def tail_probability(threshold, n, generator):  # type: ignore[no-untyped-def]
    fraction = threshold
    for k in range(60, 0, -1):
        fraction = threshold + k / fraction
    density = math.exp(-threshold * threshold / 2) / math.sqrt(2 * math.pi)
    noise = 1e-3 * torch.randn((), generator=generator, dtype=torch.float64)
    return torch.tensor(density / fraction, dtype=torch.float64) * (1 + noise)
