"""RIGHT: Exercise 6.4 (open) with the temperature picked on a grid by the validation ECE
itself instead of the validation NLL (another justifiable fit): must pass."""

import itertools

import torch

SET = "ex06_classification"
GRADER = "test_open"
TESTS = ["test_held_out_calibration_error_is_small_and_predictions_unchanged"]
EXPECT = "pass"


def _ece(p, y, bins=15):  # type: ignore[no-untyped-def]
    conf, pred = p.max(dim=1)
    edges = torch.linspace(0, 1, bins + 1, dtype=p.dtype, device=p.device)
    total = torch.zeros((), dtype=p.dtype, device=p.device)
    for lo, hi in itertools.pairwise(edges):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            gap = (pred[inside] == y[inside]).to(p.dtype).mean() - conf[inside].mean()
            total = total + inside.to(p.dtype).mean() * gap.abs()
    return total


def temperature_scale(val_logits, val_labels, logits):  # type: ignore[no-untyped-def]
    temps = torch.logspace(-1.5, 1.5, 121, dtype=logits.dtype)
    errors = [float(_ece(torch.softmax(val_logits / t, dim=1), val_labels)) for t in temps]
    best = temps[min(range(len(temps)), key=errors.__getitem__)]
    return torch.softmax(logits / best.to(logits.device), dim=1)
