"""Grader for exercise set 22 (README.md beside this file). Do not edit."""

from __future__ import annotations

import types
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from dlbook import distributed, lm
from dlbook.grading import (
    Case,
    NotImplementedYetError,
    check,
    check_raises,
    run_with_timeout,
)

SUBMISSION = "scaling.py"
REFERENCES = {
    "gpt_forward_flops": distributed.gpt_forward_flops,
    "ring_allreduce": distributed.ring_allreduce,
    "accumulate_gradients": distributed.accumulate_gradients,
    "scaled_sgd_step": distributed.scaled_sgd_step,
    "checkpointed_lm_loss": distributed.checkpointed_lm_loss,
}


def call(exercise: str, function: Any, *args: object, **kwargs: object) -> Any:
    """Run the student's function directly (for the property-graded checks)."""
    try:
        return run_with_timeout(
            lambda: function(*args, **kwargs), (), seconds=30.0, what=f"{exercise}: your function"
        )
    except NotImplementedError:
        name = getattr(function, "__name__", "your function")
        raise NotImplementedYetError(
            f"{exercise}: `{name}` is not implemented yet (it raises "
            "NotImplementedError). Replace the `raise NotImplementedError` line with your code."
        ) from None


# ---------------------------------------------------------------------- Exercise 22.1
def test_gpt_forward_flops(submission: types.ModuleType) -> None:
    C = lm.GPTConfig
    cases = [
        Case("one block, full context", (C(10, 4, 1, 1, 2), 4)),
        Case("T shorter than the context", (C(10, 16, 1, 1, 8), 5)),
        Case("several heads: attention counts all heads together", (C(50, 32, 2, 4, 16), 32)),
        Case("a large vocabulary (the output layer dominates)", (C(5000, 8, 1, 2, 8), 8)),
        Case("a deep model", (C(65, 64, 6, 4, 64), 64)),
        Case("GPT-2 small", (C(50257, 1024, 12, 12, 768), 1024)),
        Case("one token", (C(7, 3, 2, 1, 4), 1)),
    ]
    check(
        submission.gpt_forward_flops,
        distributed.gpt_forward_flops,
        cases,
        exercise="Exercise 22.1",
        rtol=0,
        atol=0,
    )


def test_gpt_forward_flops_rejects_bad_input(submission: types.ModuleType) -> None:
    C = lm.GPTConfig(10, 4, 1, 1, 2)
    check_raises(
        submission.gpt_forward_flops,
        distributed.gpt_forward_flops,
        [Case("seq_len > block_size", (C, 5)), Case("seq_len 0", (C, 0))],
        ValueError,
        exercise="Exercise 22.1",
    )
    check_raises(
        submission.gpt_forward_flops,
        distributed.gpt_forward_flops,
        [Case("not a GPTConfig", ({"n_layer": 1}, 4))],
        TypeError,
        exercise="Exercise 22.1",
    )


# ---------------------------------------------------------------------- Exercise 22.2
def _workers(p: int, shape: tuple[int, ...], seed: int, device: torch.device) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    # mixed magnitudes: the order of the additions shows in the float32 round-off
    return [
        (torch.randn(shape, generator=g) * 10.0 ** torch.randint(-3, 4, shape, generator=g)).to(
            device
        )
        for _ in range(p)
    ]


def test_ring_allreduce_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    cases = [
        Case("one worker", (_workers(1, (5,), 0, device),)),
        Case("two workers", (_workers(2, (6,), 1, device),)),
        Case("four workers, chunks of equal size", (_workers(4, (8,), 2, device),)),
        Case("five workers, uneven chunks", (_workers(5, (13,), 3, device),)),
        Case("more workers than entries (empty chunks)", (_workers(6, (4,), 4, device),)),
        Case("a matrix keeps its shape", (_workers(3, (4, 5), 5, device),)),
        Case(
            "float64",
            ([t.double() for t in _workers(4, (9,), 6, device)],),
        ),
    ]
    check(
        submission.ring_allreduce,
        distributed.ring_allreduce,
        cases,
        exercise="Exercise 22.2",
        rtol=0,
        atol=0,
    )


def test_ring_allreduce_random_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(7)
    cases = []
    for i in range(8):
        p = int(torch.randint(2, 9, (1,), generator=g))
        n = int(torch.randint(1, 40, (1,), generator=g))
        cases.append(
            Case(f"random #{i}: p = {p}, {n} entries", (_workers(p, (n,), 10 + i, device),))
        )
    check(
        submission.ring_allreduce,
        distributed.ring_allreduce,
        cases,
        exercise="Exercise 22.2",
        rtol=0,
        atol=0,
    )


def test_ring_allreduce_rejects_bad_input(submission: types.ModuleType) -> None:
    check_raises(
        submission.ring_allreduce,
        distributed.ring_allreduce,
        [
            Case("shapes differ", ([torch.zeros(3), torch.zeros(4)],)),
            Case("dtypes differ", ([torch.zeros(3), torch.zeros(3, dtype=torch.float64)],)),
            Case("devices differ", ([torch.zeros(3), torch.zeros(3, device="meta")],)),
        ],
        ValueError,
        exercise="Exercise 22.2",
    )
    check_raises(
        submission.ring_allreduce,
        distributed.ring_allreduce,
        [Case("no workers", ([],))],
        TypeError,
        exercise="Exercise 22.2",
    )


# ---------------------------------------------------------------------- Exercise 22.3
def _net(seed: int, device: torch.device, stale_grads: bool = False) -> nn.Module:
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 4)).double().to(device)
    if stale_grads:  # gradients left from an earlier step must not count
        for p in net.parameters():
            p.grad = torch.ones_like(p)
    return net


def test_accumulate_gradients(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(10, 6, generator=g, dtype=torch.float64).to(device)
    y = torch.randint(0, 4, (10,), generator=g).to(device)
    Y = torch.randn(10, 4, generator=g, dtype=torch.float64).to(device)
    cases = [
        Case("one micro-batch", (_net(0, device), F.cross_entropy, X, y, 1)),
        Case("equal pieces", (_net(1, device), F.cross_entropy, X, y, 5)),
        Case(
            "uneven pieces (4, 3, 3): weight |B_j|/|B|", (_net(2, device), F.cross_entropy, X, y, 3)
        ),
        Case("uneven pieces, 4 of them", (_net(3, device), F.mse_loss, X, Y, 4)),
        Case("one example each", (_net(4, device), F.cross_entropy, X, y, 10)),
        Case(
            "stale gradients must be replaced",
            (_net(5, device, stale_grads=True), F.cross_entropy, X, y, 3),
        ),
    ]
    check(
        submission.accumulate_gradients,
        distributed.accumulate_gradients,
        cases,
        exercise="Exercise 22.3",
        rtol=1e-10,
        atol=1e-12,
    )


def test_accumulate_gradients_rejects_bad_input(submission: types.ModuleType) -> None:
    X, y = torch.zeros(3, 2), torch.zeros(3, 1)
    check_raises(
        submission.accumulate_gradients,
        distributed.accumulate_gradients,
        [
            Case("more pieces than examples", (nn.Linear(2, 1), F.mse_loss, X, y, 4)),
            Case("zero pieces", (nn.Linear(2, 1), F.mse_loss, X, y, 0)),
            Case("lengths differ", (nn.Linear(2, 1), F.mse_loss, X, y[:2], 1)),
        ],
        ValueError,
        exercise="Exercise 22.3",
    )


# ---------------------------------------------------------------------- Exercise 22.4
def test_scaled_sgd_step(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(0)

    def t(*shape: int, dtype: torch.dtype = torch.float32, scale: float = 1.0) -> torch.Tensor:
        return (scale * torch.randn(shape, generator=g)).to(device=device, dtype=dtype)

    p = [t(3, 2), t(2)]
    ok = [t(3, 2, scale=1024.0), t(2, scale=1024.0)]
    inf = [ok[0].clone(), ok[1].clone()]
    inf[1][0] = float("inf")
    neg = [ok[0].clone(), ok[1].clone()]
    neg[0][1, 1] = float("-inf")
    half_p = [t(4, dtype=torch.float16)]
    half_g = [t(4, dtype=torch.float16, scale=4096.0)]
    cases = [
        Case("a clean step", (p, ok, 1024.0, 0), {"lr": 0.1}),
        Case("an inf: skip and back off", (p, inf, 1024.0, 7), {"lr": 0.1}),
        Case("a -inf: skip and back off", (p, neg, 1024.0, 3), {"lr": 0.1}),
        Case(
            "the growth interval is reached",
            (p, ok, 1024.0, 2),
            {"lr": 0.1, "growth_interval": 3},
        ),
        Case(
            "other factors",
            (p, inf, 1024.0, 2),
            {"lr": 0.1, "backoff_factor": 0.25, "growth_factor": 4.0},
        ),
        Case("float16 parameters and gradients", (half_p, half_g, 4096.0, 0), {"lr": 0.5}),
        Case(
            "float64",
            ([x.double() for x in p], [x.double() for x in ok], 1024.0, 5),
            {"lr": 0.01},
        ),
    ]
    check(
        submission.scaled_sgd_step,
        distributed.scaled_sgd_step,
        cases,
        exercise="Exercise 22.4",
        rtol=1e-6,
        atol=1e-7,
    )


def test_scaled_sgd_step_skips_a_nan(submission: types.ModuleType) -> None:
    # (graded directly: NaN != NaN, so a NaN input cannot be compared for changes)
    p = [torch.tensor([1.0, 2.0])]
    nan = [torch.tensor([float("nan"), 1.0])]
    out = call("Exercise 22.4", submission.scaled_sgd_step, p, nan, 512.0, 4, lr=0.1)
    new, scale, tracker, skipped = out
    assert skipped is True and scale == 256.0 and tracker == 0, (
        f"Exercise 22.4: a NaN gradient must skip the step and halve the scale; got "
        f"skipped={skipped!r}, scale={scale!r}, tracker={tracker!r}"
    )
    assert torch.equal(new[0], p[0]), "Exercise 22.4: a skipped step must keep the parameters"


def test_scaled_sgd_step_rejects_bad_input(submission: types.ModuleType) -> None:
    check_raises(
        submission.scaled_sgd_step,
        distributed.scaled_sgd_step,
        [
            Case("lengths differ", ([torch.zeros(2)], [], 1.0, 0), {"lr": 0.1}),
            Case("shapes differ", ([torch.zeros(2)], [torch.zeros(3)], 1.0, 0), {"lr": 0.1}),
        ],
        ValueError,
        exercise="Exercise 22.4",
    )


# ---------------------------------------------------------------------- Exercise 22.5
def test_checkpointed_lm_loss_fits_the_budget(submission: types.ModuleType) -> None:
    config = lm.GPTConfig(vocab_size=32, block_size=16, n_layer=4, n_head=2, d_model=32)
    model = lm.GPT(config, torch.Generator().manual_seed(0)).double()
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, 32, (4, 16), generator=g)
    y = torch.randint(0, 32, (4, 16), generator=g)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    params = list(model.parameters())

    def plain() -> torch.Tensor:
        logits = model(x)[0]
        return F.cross_entropy(logits.reshape(-1, 32), y.reshape(-1))

    ref = plain()
    ref_grads = torch.autograd.grad(ref, params)
    loss = call("Exercise 22.5", submission.checkpointed_lm_loss, model, x, y)
    assert isinstance(loss, torch.Tensor) and loss.shape == (), (
        f"Exercise 22.5: return a scalar tensor, got {type(loss).__name__}"
    )
    assert abs(loss.item() - ref.item()) <= 1e-10, (
        f"Exercise 22.5: loss {loss.item():.12f}, the plain loss is {ref.item():.12f}"
    )
    budget = 0.4 * distributed.saved_tensor_bytes(plain, exclude=params)
    kept = distributed.saved_tensor_bytes(
        submission.checkpointed_lm_loss, model, x, y, exclude=params
    )
    assert kept <= budget, (
        f"Exercise 22.5: your loss keeps {kept:,} bytes for the backward pass; the budget is "
        f"{budget:,.0f} (40 % of the plain loss's)"
    )
    grads = torch.autograd.grad(loss, params)
    for (name, _), a, b in zip(model.named_parameters(), grads, ref_grads, strict=True):
        assert torch.allclose(a, b, rtol=0, atol=1e-9), f"Exercise 22.5: gradient of {name} differs"
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), f"Exercise 22.5: the model's {k} was modified"
