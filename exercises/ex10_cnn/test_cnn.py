"""Grader for exercise set 10 (README.md beside this file). Do not edit."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F

import dlbook.data
from dlbook import cnn
from dlbook.grading import Case, NotImplementedYetError, check, check_raises, run_with_timeout

SUBMISSION = "convolution.py"
REFERENCES = {
    "conv2d": cnn.conv2d,
    "max_pool2d": cnn.max_pool2d,
    "conv_output_size": cnn.conv_output_size,
    "receptive_field": cnn.receptive_field,
    "residual_block": cnn.residual_block,
    "make_classifier": cnn.digits_cnn,
}


def randn(g: torch.Generator, *shape: int, device: torch.device) -> torch.Tensor:
    return torch.randn(*shape, generator=g, dtype=torch.float64).to(device)


def call(function: Callable[..., Any], *args: Any, exercise: str, seconds: float = 10.0) -> Any:
    """Run the student's function directly (for properties the reference cannot give)."""
    try:
        return run_with_timeout(function, args, seconds=seconds, what=f"{exercise}")
    except NotImplementedError:
        raise NotImplementedYetError(
            f"{exercise}: `{function.__name__}` is not implemented yet (it raises "
            "NotImplementedError). Replace the `raise NotImplementedError` line in "
            "convolution.py with your code."
        ) from None


def _blocked(name: str) -> Callable[..., Any]:
    def stand_in(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"{name} is switched off in this exercise: write it yourself")

    return stand_in


@pytest.fixture
def no_builtin_conv(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exercise 10.1 forbids PyTorch's own convolution and im2col."""
    monkeypatch.setattr(F, "conv2d", _blocked("torch.nn.functional.conv2d"))
    monkeypatch.setattr(F, "unfold", _blocked("torch.nn.functional.unfold"))
    monkeypatch.setattr(torch, "conv2d", _blocked("torch.conv2d"))


@pytest.fixture
def no_builtin_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exercise 10.2 forbids PyTorch's own max pooling."""
    for name in ("max_pool2d", "max_pool2d_with_indices", "adaptive_max_pool2d"):
        monkeypatch.setattr(F, name, _blocked(f"torch.nn.functional.{name}"))
    monkeypatch.setattr(torch, "max_pool2d", _blocked("torch.max_pool2d"))


# ---------------------------------------------------------------------- Exercise 10.1
@pytest.mark.usefixtures("no_builtin_conv")
def test_conv2d_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(0)
    x = randn(g, 2, 3, 7, 6, device=device)
    w = randn(g, 4, 3, 3, 2, device=device)
    b = randn(g, 4, device=device)
    cases = [
        Case("valid, no bias", (x, w)),
        Case("with bias", (x, w, b)),
        Case("stride 2", (x, w, b, 2)),
        Case("stride (2, 1): height and width differ", (x, w, b, (2, 1))),
        Case("padding 1 on both sides", (x, w, b, 1, 1)),
        Case("padding (2, 0)", (x, w, b, 1, (2, 0))),
        Case("dilation 2", (x, w, b, 1, 0, 2)),
        Case("dilation (1, 2), stride 2, padding 1", (x, w, b, 2, 1, (1, 2))),
        Case("1x1 kernel", (x, randn(g, 5, 3, 1, 1, device=device))),
        Case(
            "kernel as large as the padded input",
            (x, randn(g, 2, 3, 9, 8, device=device)),
            {"padding": 1},
        ),
        Case("float32 with large values", (1e4 * x.float(), w.float(), b.float(), 2, 1)),
        Case("non-contiguous input", (x.transpose(2, 3), w, b, 1, 1)),
    ]
    check(submission.conv2d, cnn.conv2d, cases, exercise="Exercise 10.1", rtol=1e-5, atol=1e-6)


@pytest.mark.usefixtures("no_builtin_conv")
def test_conv2d_random_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(1)
    cases = []
    for i in range(10):
        r = [int(v) for v in torch.randint(1, 4, (6,), generator=g)]
        x = randn(g, 1 + i % 2, r[0], 6 + r[1], 5 + r[2], device=device)
        w = randn(g, r[3], r[0], r[4], r[5], device=device)
        kwargs = {
            "stride": (1 + i % 2, 1 + i % 3),
            "padding": (i % 3, i % 2),
            "dilation": 1 + i % 2,
        }
        cases.append(Case(f"random #{i}", (x, w, randn(g, r[3], device=device)), kwargs))
    check(submission.conv2d, cnn.conv2d, cases, exercise="Exercise 10.1", rtol=1e-9, atol=1e-10)


@pytest.mark.usefixtures("no_builtin_conv")
def test_conv2d_keeps_dtype_and_device(submission: types.ModuleType, device: torch.device) -> None:
    x = torch.randn(1, 2, 5, 5, device=device)
    w = torch.randn(3, 2, 3, 3, device=device)
    out = call(submission.conv2d, x, w, None, 1, 1, exercise="Exercise 10.1")
    assert out.dtype == torch.float32, f"Exercise 10.1: float32 input gave {out.dtype}"
    assert out.device == x.device, f"Exercise 10.1: the result is on {out.device}, not {x.device}"


@pytest.mark.usefixtures("no_builtin_conv")
def test_conv2d_rejects_bad_input(submission: types.ModuleType) -> None:
    x, w = torch.zeros(1, 2, 5, 5), torch.zeros(3, 2, 3, 3)
    cases = [
        Case("2-D input", (x[0, 0], w)),
        Case("3-D weight", (x, w[0])),
        Case("channel mismatch", (x, torch.zeros(3, 1, 3, 3))),
        Case("stride 0", (x, w, None, 0)),
        Case("negative padding", (x, w, None, 1, -1)),
        Case("dilation 0", (x, w, None, 1, 0, 0)),
        Case("kernel larger than the input", (x, torch.zeros(1, 2, 6, 6))),
    ]
    check_raises(submission.conv2d, cnn.conv2d, cases, ValueError, exercise="Exercise 10.1")


# ---------------------------------------------------------------------- Exercise 10.2
@pytest.mark.usefixtures("no_builtin_pool")
def test_max_pool2d_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(2)
    x = randn(g, 2, 3, 7, 6, device=device)
    cases = [
        Case("2x2, default stride", (x, 2)),
        Case("3x3, stride 1", (x, 3, 1)),
        Case("stride (2, 1)", (x, 2, (2, 1))),
        Case("padding 1: padded values are -inf, not 0", (-x.abs() - 1, 3, 2, 1)),
        Case("dilation 2", (x, 2, 1, 0, 2)),
        Case("ceil mode keeps a last partial window", (x, 2), {"ceil_mode": True}),
        Case(
            "ceil mode drops a window starting in the padding",
            (x[:, :, :5, :5], 2, 2, 1),
            {"ceil_mode": True},
        ),
        Case("rectangular kernel (3, 2)", (x, (3, 2))),
        Case("float32 at 1e8", (1e8 * x.float(), 2)),
    ]
    check(submission.max_pool2d, cnn.max_pool2d, cases, exercise="Exercise 10.2", rtol=0, atol=0)


@pytest.mark.usefixtures("no_builtin_pool")
def test_max_pool2d_random_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(3)
    cases = []
    for i in range(10):
        k = 2 + i % 2
        x = randn(g, 1, 2, 5 + i % 4, 6 + i % 3, device=device)
        cases.append(Case(f"random #{i}", (x, k, 1 + i % 3, i % 2, 1), {"ceil_mode": i % 2 == 0}))
    check(submission.max_pool2d, cnn.max_pool2d, cases, exercise="Exercise 10.2", rtol=0, atol=0)


@pytest.mark.usefixtures("no_builtin_pool")
def test_max_pool2d_rejects_bad_input(submission: types.ModuleType) -> None:
    x = torch.zeros(1, 1, 6, 6)
    cases = [
        Case("padding more than half the kernel", (x, 2, 2, 2)),
        Case("kernel 0", (x, 0)),
        Case("2-D input", (x[0, 0], 2)),
    ]
    check_raises(submission.max_pool2d, cnn.max_pool2d, cases, ValueError, exercise="Exercise 10.2")


# ---------------------------------------------------------------------- Exercise 10.3
def test_conv_output_size(submission: types.ModuleType) -> None:
    cases = [
        Case("LeNet C1: 32 -> 28", (32, 5)),
        Case("stride 2, odd size", (7, 3, 2)),
        Case("padding", (7, 3, 1, 1)),
        Case("dilation", (10, 3, 1, 0, 3)),
        Case("all at once", (33, 4, 3, 2, 2)),
        Case("ceil mode rounds up", (8, 3, 2), {"ceil_mode": True}),
        Case("ceil mode drops a window in the padding", (5, 2, 2, 1), {"ceil_mode": True}),
        Case("kernel equals the padded input", (4, 6, 1, 1)),
    ]
    check(
        submission.conv_output_size,
        cnn.conv_output_size,
        cases,
        exercise="Exercise 10.3",
        rtol=0,
        atol=0,
    )
    bad = [
        Case("kernel longer than the input", (4, 5)),
        Case("dilated kernel longer than the input", (6, 3, 1, 0, 3)),
        Case("stride 0", (8, 3, 0)),
        Case("negative padding", (8, 3, 1, -1)),
    ]
    check_raises(
        submission.conv_output_size, cnn.conv_output_size, bad, ValueError, exercise="Exercise 10.3"
    )


def test_receptive_field(submission: types.ModuleType) -> None:
    g = torch.Generator().manual_seed(4)
    random_stack = [tuple(int(v) for v in torch.randint(1, 4, (3,), generator=g)) for _ in range(8)]
    cases = [
        Case("one layer", ([(5, 1, 1)],)),
        Case("two 3x3 layers", ([(3, 1, 1), (3, 1, 1)],)),
        Case("a stride multiplies later growth", ([(3, 2, 1), (3, 1, 1), (3, 1, 1)],)),
        Case("dilation", ([(3, 1, 1), (3, 1, 2), (3, 1, 4)],)),
        Case("pooling between convolutions", ([(3, 1, 1), (2, 2, 1), (3, 1, 1), (2, 2, 1)],)),
        Case("random stack", (random_stack,)),
        Case("no layers", ([],)),
    ]
    check(
        submission.receptive_field,
        cnn.receptive_field,
        cases,
        exercise="Exercise 10.3",
        rtol=0,
        atol=0,
    )
    bad = [Case("a pair, not a triple", ([(3, 1)],)), Case("stride 0", ([(3, 0, 1)],))]
    check_raises(
        submission.receptive_field, cnn.receptive_field, bad, ValueError, exercise="Exercise 10.3"
    )


# ---------------------------------------------------------------------- Exercise 10.4
def test_residual_block(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(5)
    x = randn(g, 2, 3, 6, 5, device=device)
    w1, w2 = randn(g, 3, 3, 3, 3, device=device), randn(g, 3, 3, 3, 3, device=device)
    b1, b2 = randn(g, 3, device=device), randn(g, 3, device=device)
    zero_w, zero_b = torch.zeros_like(w2), torch.zeros_like(b2)
    cases = [
        Case("with the shortcut", (x, w1, b1, w2, b2)),
        Case("without the shortcut", (x, w1, b1, w2, b2, False)),
        Case("zero second layer: ReLU(x)", (x, w1, b1, zero_w, zero_b)),
        Case(
            "5x5 kernels",
            (x, randn(g, 3, 3, 5, 5, device=device), b1, randn(g, 3, 3, 5, 5, device=device), b2),
        ),
        Case(
            "1x1 kernels",
            (x, randn(g, 3, 3, 1, 1, device=device), b1, randn(g, 3, 3, 1, 1, device=device), b2),
        ),
        Case("float32", (x.float(), w1.float(), b1.float(), w2.float(), b2.float())),
    ]
    check(
        submission.residual_block,
        cnn.residual_block,
        cases,
        exercise="Exercise 10.4",
        rtol=1e-5,
        atol=1e-6,
    )
    bad = [
        Case("even kernel", (x, randn(g, 3, 3, 2, 2, device=device), b1, w2, b2)),
        Case("wrong channels", (x, randn(g, 4, 3, 3, 3, device=device), b1, w2, b2)),
        Case("bias of the wrong shape", (x, w1, b1[:2], w2, b2)),
    ]
    check_raises(
        submission.residual_block, cnn.residual_block, bad, ValueError, exercise="Exercise 10.4"
    )


# ---------------------------------------------------------------------- Exercise 10.5 (open)
def _train_and_score(model: torch.nn.Module, seed: int, steps: int = 300) -> torch.Tensor:
    """The grader's fixed recipe (README): returns the validation predictions."""
    digits = dlbook.data.load_digits(images=True)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 1e-2, total_steps=steps)
    g = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, len(digits.X_train), (64,), generator=g)
        xb = cnn.random_shift(digits.X_train[idx], 1, g)
        loss = F.cross_entropy(model(xb), digits.y_train[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    with torch.no_grad():
        predictions: torch.Tensor = model(digits.X_val).argmax(dim=1)
    return predictions


def test_open_digits_classifier_on_a_budget(submission: types.ModuleType) -> None:
    torch.set_num_threads(1)  # small networks: one thread is fastest and reproducible
    model = call(submission.make_classifier, 0, exercise="Exercise 10.5")
    assert isinstance(model, torch.nn.Module), "Exercise 10.5: return a torch.nn.Module"
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert 0 < n_params <= 25_000, f"Exercise 10.5: {n_params:,} parameters; the budget is 25,000"
    with torch.no_grad():
        out = model(torch.zeros(3, 1, 8, 8))
    assert out.shape == (3, 10), (
        f"Exercise 10.5: logits must have shape (N, 10), got {tuple(out.shape)}"
    )
    predictions = run_with_timeout(
        _train_and_score, (model, 0), seconds=120, what="Exercise 10.5 training"
    )
    y_val = dlbook.data.load_digits().y_val
    acc = (predictions == y_val).float().mean().item()
    assert acc >= 0.975, (
        f"Exercise 10.5: validation accuracy {acc:.1%} after the grader's 300 steps; the target is "
        "97.5 % (think about what the chapter's network assumes about images)"
    )
    again = _train_and_score(call(submission.make_classifier, 0, exercise="Exercise 10.5"), 0)
    assert torch.equal(again, predictions), (
        "Exercise 10.5: the same seed must give the same network"
    )
