"""Plausible wrong (and a few right but unusual) homework solutions; see test_wrong_solutions."""
