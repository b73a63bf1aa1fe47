"""Exercise 9.3 whose cosine half is `dlbook.optim.cosine_lr` (passed: only
`warmup_cosine_lr` itself was switched off)."""

from dlbook.optim import cosine_lr as _cosine

SET = "ex09_training"
TESTS = ["test_warmup_cosine_lr_fixed_inputs"]
MATCH = "dlbook.optim.cosine_lr"


def warmup_cosine_lr(step, *, lr, warmup_steps, total_steps, lr_min=0.0, start_factor=0.1):  # type: ignore[no-untyped-def]
    if step < 0 or lr < 0 or lr_min < 0 or warmup_steps < 0 or total_steps <= warmup_steps:
        raise ValueError("bad schedule")
    if not 0 < start_factor <= 1:
        raise ValueError("bad start_factor")
    if step < warmup_steps:
        return lr * (start_factor + (1 - start_factor) * step / warmup_steps)
    t = min(step, total_steps) - warmup_steps
    return _cosine(t, lr=lr, total_steps=total_steps - warmup_steps, lr_min=lr_min)
