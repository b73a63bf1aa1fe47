"""Grader for exercise set 20 (README.md beside this file). Do not edit."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import dlbook.data
from dlbook import cnn, robust
from dlbook.grading import Case, NotImplementedYetError, check, check_raises, run_with_timeout

SUBMISSION = "robustness.py"
REFERENCES = {
    "fgsm": robust.fgsm,
    "project_linf": robust.project_linf,
    "pgd": robust.pgd,
    "integrated_gradients": robust.integrated_gradients,
    "equalized_odds_difference": robust.equalized_odds_difference,
    "make_robust_classifier": cnn.digits_cnn,
}
F64 = torch.float64


def call(function: Callable[..., Any], *args: Any, exercise: str, seconds: float = 10.0) -> Any:
    """Run the student's function directly (for properties the reference cannot give)."""
    try:
        return run_with_timeout(function, args, seconds=seconds, what=exercise)
    except NotImplementedError:
        raise NotImplementedYetError(
            f"{exercise}: `{function.__name__}` is not implemented yet (it raises "
            "NotImplementedError). Replace the `raise NotImplementedError` line in "
            "robustness.py with your code."
        ) from None


def _keeps_dtype(function: Callable[..., Any], *args: Any, exercise: str) -> None:
    """check() compares only the kind of number; the README asks for the input's dtype."""
    got = call(function, *args, exercise=exercise)
    assert got.dtype == args[1].dtype, (
        f"{exercise}: float32 input gave a {got.dtype} result; keep the dtype of the input"
    )


def _tiny_cnn(device: torch.device, dtype: torch.dtype = F64) -> nn.Module:
    torch.manual_seed(0)
    return cnn.DigitsCNN(4, 8).to(device=device, dtype=dtype).eval()


def _linear(device: torch.device) -> nn.Module:
    torch.manual_seed(1)
    return nn.Linear(6, 3).to(device=device, dtype=F64)


def _images(seed: int, n: int, device: torch.device, dtype: torch.dtype = F64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 8, 8, generator=g, dtype=dtype).to(device)


def _labels(seed: int, n: int, k: int, device: torch.device) -> torch.Tensor:
    return torch.randint(0, k, (n,), generator=torch.Generator().manual_seed(seed)).to(device)


@pytest.fixture
def no_captum(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stub allows torch, numpy and math: Captum's attacks and attributions are off."""
    import captum.attr
    import captum.robust

    def blocked(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("Captum is switched off in Exercises 20.1-20.3: write it yourself")

    for cls in (captum.robust.FGSM, captum.robust.PGD):
        monkeypatch.setattr(cls, "perturb", blocked)
    for cls in (captum.attr.IntegratedGradients, captum.attr.Saliency):
        monkeypatch.setattr(cls, "attribute", blocked)


# ---------------------------------------------------------------------- Exercise 20.1
@pytest.mark.usefixtures("no_captum")
def test_fgsm(submission: types.ModuleType, device: torch.device) -> None:
    model, lin = _tiny_cnn(device), _linear(device)
    x, y = _images(0, 6, device), _labels(0, 6, 10, device)
    v = torch.rand(5, 6, generator=torch.Generator().manual_seed(2), dtype=F64).to(device)
    cases = [
        Case("softmax regression, eps 0.1", (lin, v, _labels(1, 5, 3, device), 0.1)),
        Case("CNN, eps 0.1", (model, x, y, 0.1)),
        Case("CNN, eps 0.3: pixels must be clipped to [0, 1]", (model, x, y, 0.3)),
        Case("no clipping with clamp=None", (model, x, y, 0.3), {"clamp": None}),
        Case("another box", (model, x, y, 0.2), {"clamp": (0.1, 0.9)}),
        Case("eps 0", (model, x, y, 0.0)),
        Case("uint8 labels", (model, x, y.to(torch.uint8), 0.1)),
        Case("non-contiguous input", (model, x.transpose(2, 3), y, 0.1)),
        Case(
            "float32",
            (_tiny_cnn(device, torch.float32), x.float(), y, 0.1),
        ),
    ]
    check(submission.fgsm, robust.fgsm, cases, exercise="Exercise 20.1", rtol=0, atol=1e-6)
    model32 = _tiny_cnn(device, torch.float32)
    _keeps_dtype(submission.fgsm, model32, x.float(), y, 0.1, exercise="Exercise 20.1")
    bad = [Case("negative eps", (model, x, y, -0.1))]
    check_raises(submission.fgsm, robust.fgsm, bad, ValueError, exercise="Exercise 20.1")


@pytest.mark.usefixtures("no_captum")
def test_fgsm_leaves_the_model_alone(submission: types.ModuleType) -> None:
    model = _tiny_cnn(torch.device("cpu"))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    call(
        submission.fgsm,
        model,
        _images(3, 4, torch.device("cpu")),
        torch.tensor([0, 1, 2, 3]),
        0.1,
        exercise="Exercise 20.1",
    )
    assert not model.training, "Exercise 20.1: the model was switched to train mode"
    assert all(p.grad is None for p in model.parameters()), (
        "Exercise 20.1: the model's parameters now hold .grad values; use torch.autograd.grad "
        "with respect to the input only"
    )
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


# ---------------------------------------------------------------------- Exercise 20.2
@pytest.mark.usefixtures("no_captum")
def test_project_linf(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(4)
    x = torch.rand(3, 1, 4, 4, generator=g, dtype=F64).to(device)
    far = x + 0.8 * torch.randn(3, 1, 4, 4, generator=g, dtype=F64).to(device)
    cases = [
        Case("inside the ball: unchanged", (x + 0.01, x, 0.05)),
        Case("far outside", (far, x, 0.1)),
        Case("no box", (far, x, 0.1), {"clamp": None}),
        Case("eps 0 gives x back", (far, x, 0.0)),
        Case("a narrower box", (far, x, 0.3), {"clamp": (0.2, 0.7)}),
        Case("float32", (far.float(), x.float(), 0.2)),
    ]
    check(
        submission.project_linf,
        robust.project_linf,
        cases,
        exercise="Exercise 20.2",
        rtol=0,
        atol=1e-7,
    )
    bad = [Case("shapes differ", (far[:1], x, 0.1)), Case("negative eps", (far, x, -0.1))]
    check_raises(
        submission.project_linf, robust.project_linf, bad, ValueError, exercise="Exercise 20.2"
    )


@pytest.mark.usefixtures("no_captum")
def test_pgd(submission: types.ModuleType, device: torch.device) -> None:
    model = _tiny_cnn(device)
    x, y = _images(5, 6, device), _labels(5, 6, 10, device)
    cases = [
        Case("one step of alpha = eps is FGSM", (model, x, y, 0.1, 0.1, 1, False)),
        Case("10 steps", (model, x, y, 0.1, 0.025, 10, False)),
        Case("steps larger than eps: projection needed", (model, x, y, 0.05, 0.04, 6, False)),
        Case("no box", (model, x, y, 0.2, 0.05, 5, False), {"clamp": None}),
        Case(
            "random start from a given generator",
            (model, x, y, 0.1, 0.03, 4, True),
            {"generator": torch.Generator(device).manual_seed(7)},
        ),
        Case("int8 labels", (model, x, y.to(torch.int8), 0.1, 0.05, 3, False)),
    ]
    check(submission.pgd, robust.pgd, cases, exercise="Exercise 20.2", rtol=0, atol=1e-9)
    model32 = _tiny_cnn(device, torch.float32)
    args32 = (model32, x.float(), y, 0.1, 0.05, 3, False)
    _keeps_dtype(submission.pgd, *args32, exercise="Exercise 20.2")
    bad = [
        Case("zero steps", (model, x, y, 0.1, 0.05, 0)),
        Case("alpha 0", (model, x, y, 0.1, 0.0, 3)),
    ]
    check_raises(submission.pgd, robust.pgd, bad, ValueError, exercise="Exercise 20.2")


@pytest.mark.usefixtures("no_captum")
def test_pgd_stays_in_the_ball_and_beats_fgsm(submission: types.ModuleType) -> None:
    digits = dlbook.data.load_digits(images=True, dtype=F64)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10)).to(F64)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(60):
        loss = F.cross_entropy(model(digits.X_train), digits.y_train)
        opt.zero_grad()
        loss.backward()
        opt.step()
    x, y = digits.X_val, digits.y_val
    g = torch.Generator().manual_seed(0)
    x_adv = call(
        submission.pgd, model, x, y, 0.1, 0.025, 10, True, (0.0, 1.0), g, exercise="Exercise 20.2"
    )
    assert float((x_adv - x).abs().max()) <= 0.1 + 1e-12, "Exercise 20.2: left the eps-ball"
    assert float(x_adv.min()) >= 0 and float(x_adv.max()) <= 1, "Exercise 20.2: left [0, 1]"
    with torch.no_grad():
        acc_pgd = (model(x_adv).argmax(1) == y).double().mean().item()
        acc_fgsm = (model(robust.fgsm(model, x, y, 0.1)).argmax(1) == y).double().mean().item()
    assert acc_pgd <= acc_fgsm, (
        f"Exercise 20.2: PGD leaves {acc_pgd:.1%} accuracy, more than FGSM's {acc_fgsm:.1%}"
    )


# ---------------------------------------------------------------------- Exercise 20.3
@pytest.mark.usefixtures("no_captum")
def test_integrated_gradients(submission: types.ModuleType, device: torch.device) -> None:
    model, lin = _tiny_cnn(device), _linear(device)
    x, y = _images(6, 4, device), _labels(6, 4, 10, device)
    base = _images(7, 4, device) * 0.2
    v = torch.rand(3, 6, generator=torch.Generator().manual_seed(8), dtype=F64).to(device)
    cases = [
        Case("Gauss-Legendre, zero baseline, one class", (model, x, None, 3)),
        Case("Gauss-Legendre, a class per example", (model, x, None, y), {"n_steps": 20}),
        Case(
            "trapezoid: weights 1/(n-1), ends halved", (model, x, base, y, 16, "riemann_trapezoid")
        ),
        Case("left Riemann sum", (model, x, base, y, 16, "riemann_left")),
        Case("constant baseline", (model, x, 0.5, y, 12)),
        Case("a linear model on vectors", (lin, v, None, 1, 2, "riemann_trapezoid")),
        Case(
            "float32",
            (_tiny_cnn(device, torch.float32), x.float(), None, y.to(torch.int32), 10),
        ),
    ]
    check(
        submission.integrated_gradients,
        robust.integrated_gradients,
        cases,
        exercise="Exercise 20.3",
        rtol=1e-5,
        atol=1e-7,
    )
    model32 = _tiny_cnn(device, torch.float32)
    for method in ("gausslegendre", "riemann_trapezoid"):
        args32 = (model32, x.float(), None, y, 8, method)
        _keeps_dtype(submission.integrated_gradients, *args32, exercise="Exercise 20.3")
    bad = [
        Case("unknown method", (model, x, None, 0, 8, "simpson")),
        Case("trapezoid with one node", (model, x, None, 0, 1, "riemann_trapezoid")),
    ]
    check_raises(
        submission.integrated_gradients,
        robust.integrated_gradients,
        bad,
        ValueError,
        exercise="Exercise 20.3",
    )


# ---------------------------------------------------------------------- Exercise 20.4
@pytest.fixture
def no_fairlearn(monkeypatch: pytest.MonkeyPatch) -> None:
    import fairlearn.metrics as fm

    def blocked(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("fairlearn is switched off in Exercise 20.4: write it yourself")

    for name in (
        "equalized_odds_difference",
        "true_positive_rate",
        "false_positive_rate",
        "MetricFrame",
        "equalized_odds_ratio",
    ):
        monkeypatch.setattr(fm, name, blocked)


@pytest.mark.usefixtures("no_fairlearn")
def test_equalized_odds_difference(submission: types.ModuleType) -> None:
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 2, 400)
    y_pred = np.where(rng.random(400) < 0.75, y_true, 1 - y_true)
    two, three = rng.integers(0, 2, 400), rng.choice(np.array(["x", "y", "z"]), 400)
    score, y, a = robust.risk_population(3000, generator=torch.Generator().manual_seed(0))
    cases = [
        Case("two groups", (y_true, y_pred), {"sensitive_features": two}),
        # a list: the grader's inputs-unchanged check cannot compare numpy string arrays
        Case("three string groups", (y_true, y_pred), {"sensitive_features": three.tolist()}),
        Case(
            "lists", (list(y_true[:50]), list(y_pred[:50])), {"sensitive_features": list(two[:50])}
        ),
        Case("boolean groups", (y_true, y_pred), {"sensitive_features": two == 1}),
        Case(
            "tensors: the chapter's population",
            (y, (score > 0.5).long()),
            {"sensitive_features": a},
        ),
        Case(
            "the FPR gap is the larger one",
            ([1, 0, 0, 1, 0, 0], [1, 1, 1, 1, 0, 0]),
            {"sensitive_features": [0, 0, 0, 1, 1, 1]},
        ),
    ]
    check(
        submission.equalized_odds_difference,
        robust.equalized_odds_difference,
        cases,
        exercise="Exercise 20.4",
        rtol=0,
        atol=1e-12,
    )
    bad = [
        Case("a label of 2", ([0, 2], [1, 1]), {"sensitive_features": [0, 1]}),
        Case("lengths differ", ([0, 1, 1], [1, 1]), {"sensitive_features": [0, 1]}),
        Case(
            "a group with no negatives", ([1, 1, 0], [1, 0, 0]), {"sensitive_features": [0, 0, 1]}
        ),
        Case(
            "one complete group, one with no negatives: do not skip it",
            ([1, 0, 1, 1], [1, 0, 0, 1]),
            {"sensitive_features": [0, 0, 1, 1]},
        ),
    ]
    check_raises(
        submission.equalized_odds_difference,
        robust.equalized_odds_difference,
        bad,
        ValueError,
        exercise="Exercise 20.4",
    )


# ---------------------------------------------------------------------- Exercise 20.5 (open)
def _adversarial_training(model: nn.Module, steps: int = 250) -> tuple[float, float]:
    """The grader's fixed recipe (README); returns (clean, robust) validation accuracy."""
    digits = dlbook.data.load_digits(images=True)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 1e-2, total_steps=steps)
    g = torch.Generator().manual_seed(0)
    for _ in range(steps):
        idx = torch.randint(0, len(digits.X_train), (64,), generator=g)
        xb, yb = cnn.random_shift(digits.X_train[idx], 1, g), digits.y_train[idx]
        model.eval()
        xb = robust.pgd(model, xb, yb, 0.1, 0.05, 3, generator=g)
        model.train()
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    x, y = digits.X_val, digits.y_val
    x_adv = robust.pgd(model, x, y, 0.1, 0.025, 10, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        clean = (model(x).argmax(1) == y).double().mean().item()
        robust_acc = (model(x_adv).argmax(1) == y).double().mean().item()
    return clean, robust_acc


def test_open_a_network_that_survives_an_attack(submission: types.ModuleType) -> None:
    torch.set_num_threads(1)  # small networks: one thread is fastest and reproducible
    model = call(submission.make_robust_classifier, 0, exercise="Exercise 20.5")
    assert isinstance(model, nn.Module), "Exercise 20.5: return a torch.nn.Module"
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert 0 < n_params <= 25_000, f"Exercise 20.5: {n_params:,} parameters; the budget is 25,000"
    with torch.no_grad():
        out = model(torch.zeros(3, 1, 8, 8))
    assert out.shape == (3, 10), f"Exercise 20.5: logits must be (N, 10), got {tuple(out.shape)}"
    clean, robust_acc = run_with_timeout(
        _adversarial_training, (model,), seconds=120, what="Exercise 20.5 training"
    )
    assert clean >= 0.90, f"Exercise 20.5: clean validation accuracy {clean:.1%} < 90 %"
    assert robust_acc >= 0.70, (
        f"Exercise 20.5: accuracy under 10-step PGD at eps 0.1 is {robust_acc:.1%}; the target "
        "is 70 %"
    )
