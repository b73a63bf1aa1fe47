"""Exercise 0.2 returning the accuracy in the dtype of the logits (float64 for float64 logits;
the statement fixes float32; passed: every case had float32 logits)."""

import torch

SET = "ex00_tools"
TESTS = ["test_accuracy_fixed_inputs"]
MATCH = "float64"


def accuracy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    if logits.ndim != 2 or targets.shape != logits.shape[:1] or logits.shape[0] == 0:
        raise ValueError("shapes do not fit")
    return (logits.argmax(dim=1) == targets).to(logits.dtype).mean()
