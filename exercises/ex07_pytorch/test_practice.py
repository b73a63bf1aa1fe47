"""Grader for exercise set 7 (README.md beside this file). Do not edit."""

from __future__ import annotations

import types
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from dlbook import data, train
from dlbook.grading import Case, check, check_raises

SUBMISSION = "practice.py"
REFERENCES = {
    "sliding_windows": data.sliding_windows,
    "train_epoch": train.train_epoch,
    "average_state_dicts": train.average_state_dicts,
}


# ---------------------------------------------------------------------- Exercise 7.1
def test_sliding_windows_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    ramp = torch.arange(10.0, device=device)
    two = torch.arange(24.0, device=device).reshape(12, 2)
    cases = [
        Case("ramp of 10, L=3", (ramp, 3)),
        Case("ramp of 10, L=3, H=2", (ramp, 3, 2)),
        Case("ramp of 10, L=2, stride 3", (ramp, 2), {"stride": 3}),
        Case("exactly one window (T = L + H)", (ramp, 7, 3)),
        Case("two features, L=4, H=2", (two, 4, 2)),
        Case("float64 series", (ramp.double(), 5)),
    ]
    check(submission.sliding_windows, data.sliding_windows, cases, exercise="Exercise 7.1")


def test_sliding_windows_random_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(7)
    cases = []
    for i in range(10):
        steps = int(torch.randint(6, 40, (1,), generator=g))
        length = int(torch.randint(1, 5, (1,), generator=g))
        horizon = int(torch.randint(1, 3, (1,), generator=g))
        stride = int(torch.randint(1, 4, (1,), generator=g))
        shape = (steps,) if i % 2 else (steps, 1 + i % 3)
        series = torch.randn(shape, generator=g).to(device)
        cases.append(
            Case(
                f"random #{i}: shape {shape}, L={length}, H={horizon}, stride={stride}",
                (series, length, horizon),
                {"stride": stride},
            )
        )
    check(submission.sliding_windows, data.sliding_windows, cases, exercise="Exercise 7.1")


def _series_after_writing_into_inputs(
    result: tuple[Tensor, Tensor], args: Sequence[Any], kwargs: Mapping[str, Any]
) -> Tensor:
    result[0].fill_(-1.0)
    series: Tensor = args[0]
    return series  # unchanged if the inputs were a copy


def test_sliding_windows_returns_copies(submission: types.ModuleType) -> None:
    check(
        submission.sliding_windows,
        data.sliding_windows,
        [Case("a ramp of 8, L=3, after writing -1 into the inputs", (torch.arange(8.0), 3))],
        exercise="Exercise 7.1 (the inputs must be copies, not views of the series)",
        observe=_series_after_writing_into_inputs,
    )


def test_sliding_windows_rejects_bad_input(submission: types.ModuleType) -> None:
    type_errors = [
        Case("a list, not a tensor", ([1.0, 2.0, 3.0], 1)),
        Case("a float length", (torch.zeros(5), 2.0)),
    ]
    check_raises(
        submission.sliding_windows,
        data.sliding_windows,
        type_errors,
        TypeError,
        exercise="Exercise 7.1",
    )
    value_errors = [
        Case("a 3-D series", (torch.zeros(2, 3, 4), 1)),
        Case("length 0", (torch.zeros(5), 0)),
        Case("horizon 0", (torch.zeros(5), 2, 0)),
        Case("stride 0", (torch.zeros(5), 2), {"stride": 0}),
        Case("too short: T=5 < L+H=6", (torch.zeros(5), 4, 2)),
    ]
    check_raises(
        submission.sliding_windows,
        data.sliding_windows,
        value_errors,
        ValueError,
        exercise="Exercise 7.1",
    )


# ---------------------------------------------------------------------- Exercise 7.2
def _state_after_epoch(loss: float, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
    return args[0].state_dict()  # every parameter and buffer of the trained model


def _epoch_case(
    name: str,
    seed: int,
    *,
    optimizer: str,
    device: torch.device,
    batch_sizes: tuple[int, ...],
    eval_mode: bool = False,
    batches_on_cpu: bool = False,
) -> Case:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 3))
    model = model.double().to(device)
    if eval_mode:
        model.eval()
    opt: torch.optim.Optimizer
    if optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
    where = torch.device("cpu") if batches_on_cpu else device
    batches = []
    for size in batch_sizes:
        X = torch.randn(size, 5, dtype=torch.float64, device=where)
        y = torch.randint(0, 3, (size,), device=where)
        batches.append((X, y))
    return Case(name, (model, opt, nn.CrossEntropyLoss(), batches))


def _epoch_cases(device: torch.device) -> list[Case]:
    return [
        _epoch_case(
            "SGD+momentum, 4 batches of 8",
            0,
            optimizer="sgd",
            device=device,
            batch_sizes=(8, 8, 8, 8),
        ),
        _epoch_case(
            "Adam, batches of 16, 16 and a last one of 3",
            1,
            optimizer="adam",
            device=device,
            batch_sizes=(16, 16, 3),
        ),
        _epoch_case(
            "a model handed over in eval mode",
            2,
            optimizer="sgd",
            device=device,
            batch_sizes=(10, 10),
            eval_mode=True,
        ),
        _epoch_case(
            "batches on the CPU, model on the test device",
            3,
            optimizer="adam",
            device=device,
            batch_sizes=(6, 12),
            batches_on_cpu=True,
        ),
    ]


def test_train_epoch_returns_the_mean_loss(
    submission: types.ModuleType, device: torch.device
) -> None:
    check(
        submission.train_epoch,
        train.train_epoch,
        _epoch_cases(device),
        exercise="Exercise 7.2",
        rtol=1e-9,
        atol=1e-12,
    )


def test_train_epoch_updates_the_parameters(
    submission: types.ModuleType, device: torch.device
) -> None:
    check(
        submission.train_epoch,
        train.train_epoch,
        _epoch_cases(device),
        exercise="Exercise 7.2 (parameters and buffers after the epoch)",
        rtol=1e-9,
        atol=1e-12,
        observe=_state_after_epoch,
    )


def test_train_epoch_rejects_bad_input(submission: types.ModuleType) -> None:
    model = nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    batch = [(torch.randn(4, 3), torch.randint(0, 2, (4,)))]
    cases = [
        Case("no batches at all", (model, opt, nn.CrossEntropyLoss(), [])),
        Case(
            "a loss that is not reduced to a scalar",
            (model, opt, nn.CrossEntropyLoss(reduction="none"), batch),
        ),
    ]
    check_raises(
        submission.train_epoch, train.train_epoch, cases, ValueError, exercise="Exercise 7.2"
    )


# ---------------------------------------------------------------------- Exercise 7.3
def _states(device: torch.device, count: int, seed: int) -> list[dict[str, Tensor]]:
    torch.manual_seed(seed)
    states = []
    for k in range(count):
        model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)).to(device)
        for _ in range(k + 1):
            model(torch.randn(6, 4, device=device))
        states.append(model.state_dict())
    return states


def test_average_state_dicts_fixed_inputs(
    submission: types.ModuleType, device: torch.device
) -> None:
    half = {"w": torch.tensor([1.0, 2.0], device=device).half()}
    cases = [
        Case(
            "two plain tensors",
            (
                [
                    {"w": torch.tensor([1.0, 3.0], device=device)},
                    {"w": torch.tensor([3.0, 5.0], device=device)},
                ],
            ),
        ),
        Case(
            "weights 3 and 1",
            (
                [
                    {"w": torch.tensor([1.0, 3.0], device=device)},
                    {"w": torch.tensor([3.0, 5.0], device=device)},
                ],
                [3.0, 1.0],
            ),
        ),
        Case("a single state", (_states(device, 1, 0),)),
        Case("three batch-norm models (integer buffer from the last)", (_states(device, 3, 1),)),
        Case("weighted, with a zero weight", (_states(device, 3, 2), [0.0, 1.0, 2.0])),
        Case("float16 entries", ([half, {"w": torch.tensor([2.0, 5.0], device=device).half()}],)),
        Case(
            "float16 entries whose sum overflows float16 (average in float64)",
            (
                [
                    {"w": torch.tensor([40000.0, -60000.0, 1.0], device=device).half()},
                    {"w": torch.tensor([50000.0, -50000.0, 2.0], device=device).half()},
                ],
            ),
        ),
    ]
    check(
        submission.average_state_dicts,
        train.average_state_dicts,
        cases,
        exercise="Exercise 7.3",
        rtol=1e-6,
        atol=1e-7,
    )


def _states_after_writing_into_the_average(
    result: dict[str, Tensor], args: Sequence[Any], kwargs: Mapping[str, Any]
) -> list[dict[str, Tensor]]:
    for value in result.values():
        value.fill_(-1)
    states: list[dict[str, Tensor]] = args[0]
    return states  # unchanged if every entry of the result is new


def test_average_state_dicts_returns_new_tensors(
    submission: types.ModuleType, device: torch.device
) -> None:
    check(
        submission.average_state_dicts,
        train.average_state_dicts,
        [
            Case(
                "one batch-norm model, after writing -1 into the result", (_states(device, 1, 3),)
            ),
            Case("three, after writing -1 into the result", (_states(device, 3, 4),)),
        ],
        exercise="Exercise 7.3 (the result's tensors must be new, not the inputs')",
        observe=_states_after_writing_into_the_average,
    )


def test_average_state_dicts_random_inputs(
    submission: types.ModuleType, device: torch.device
) -> None:
    g = torch.Generator().manual_seed(11)
    cases = []
    for i in range(6):
        count = 1 + i % 4
        weights = (torch.rand(count, generator=g) + 0.1).tolist() if i % 2 else None
        cases.append(
            Case(f"random #{i}: {count} states", (_states(device, count, 20 + i), weights))
        )
    check(
        submission.average_state_dicts,
        train.average_state_dicts,
        cases,
        exercise="Exercise 7.3",
        rtol=1e-6,
        atol=1e-7,
    )


def test_average_state_dicts_rejects_bad_input(submission: types.ModuleType) -> None:
    one = {"w": torch.ones(2)}
    value_errors = [
        Case("no states", ([],)),
        Case("different keys", ([one, {"v": torch.ones(2)}],)),
        Case("different shapes", ([one, {"w": torch.ones(3)}],)),
        Case("different dtypes", ([one, {"w": torch.ones(2, dtype=torch.float64)}],)),
        Case("too many weights", ([one], [1.0, 2.0])),
        Case("a negative weight", ([one, one], [1.0, -1.0])),
        Case("weights summing to zero", ([one, one], [0.0, 0.0])),
        Case("a NaN weight", ([one], [float("nan")])),
    ]
    check_raises(
        submission.average_state_dicts,
        train.average_state_dicts,
        value_errors,
        ValueError,
        exercise="Exercise 7.3",
    )
    type_errors = [
        Case("a single state dict instead of a list", (one,)),
        Case("a list holding a non-mapping", ([[1.0, 2.0]],)),
        Case("an entry that is not a tensor", ([{"w": [1.0, 2.0]}],)),
    ]
    check_raises(
        submission.average_state_dicts,
        train.average_state_dicts,
        type_errors,
        TypeError,
        exercise="Exercise 7.3",
    )
