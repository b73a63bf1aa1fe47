"""Grader for exercise set 11 (README.md beside this file). Do not edit."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import Tensor

from dlbook import rnn
from dlbook.grading import Case, NotImplementedYetError, check, check_raises

SUBMISSION = "recurrent.py"
REFERENCES = {
    "rnn_forward": rnn.rnn_forward,
    "lstm_cell": rnn.lstm_cell,
    "gru_cell": rnn.gru_cell,
    "clip_grad_norm_": rnn.clip_grad_norm_,
    "rnn_bptt": rnn.rnn_bptt,
    "lstm_init": rnn.lstm_init,
}
# Other dlbook functions that would do an exercise's work.
HIDDEN: list[Callable[..., Any]] = [
    rnn.rnn_cell,
    rnn.rnn_forward,
    rnn.lstm_cell,
    rnn.gru_cell,
    rnn.state_jacobian_norms,
]
F64 = torch.float64


def randn(
    g: torch.Generator, *shape: int, device: torch.device, dtype: torch.dtype = F64
) -> Tensor:
    return torch.randn(*shape, generator=g, dtype=dtype).to(device)


def dtype_and_device(result: Any, args: Any, kwargs: Any) -> list[str]:
    tensors = result if isinstance(result, (tuple, list)) else [result]
    return [f"{t.dtype} on {t.device}" for t in tensors]


def rnn_args(
    g: torch.Generator,
    T: int,
    B: int,
    F: int,
    H: int,
    device: torch.device,
    scale: float = 0.7,
    dtype: torch.dtype = F64,
) -> tuple[Tensor, ...]:
    return (
        randn(g, T, B, F, device=device, dtype=dtype),
        randn(g, B, H, device=device, dtype=dtype),
        scale * randn(g, H, F, device=device, dtype=dtype),
        scale * randn(g, H, H, device=device, dtype=dtype),
        randn(g, H, device=device, dtype=dtype),
        randn(g, H, device=device, dtype=dtype),
    )


# ---------------------------------------------------------------------- Exercise 11.1
def test_rnn_forward(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(0)
    a = rnn_args(g, 6, 3, 4, 5, device)
    x, h0, w_ih, w_hh, b_ih, b_hh = a
    cases = [
        Case("tanh, with biases", a),
        Case("ReLU", a, {"nonlinearity": "relu"}),
        Case("no biases", (x, h0, w_ih, w_hh)),
        Case("only the input bias", (x, h0, w_ih, w_hh, b_ih, None)),
        Case("one step", rnn_args(g, 1, 2, 3, 4, device)),
        Case("one sequence, one feature", rnn_args(g, 9, 1, 1, 3, device)),
        Case("a nonzero initial state matters", (x, 3 * h0, w_ih, w_hh, b_ih, b_hh)),
        Case("non-square W_ih", rnn_args(g, 4, 2, 7, 3, device)),
        Case("non-contiguous input", (x.transpose(0, 1).contiguous().transpose(0, 1), *a[1:])),
    ]
    for i in range(6):
        T, B, F, H = (int(v) for v in torch.randint(1, 7, (4,), generator=g))
        cases.append(Case(f"random #{i}", rnn_args(g, T, B, F, H, device, scale=1.0)))
    check(
        submission.rnn_forward,
        rnn.rnn_forward,
        cases,
        exercise="Exercise 11.1",
        rtol=1e-10,
        atol=1e-12,
        also_hidden=HIDDEN,
    )
    check(
        submission.rnn_forward,
        rnn.rnn_forward,
        [Case("float32", rnn_args(g, 3, 2, 2, 3, device, dtype=torch.float32))],
        exercise="Exercise 11.1 (dtype and device of the result)",
        observe=dtype_and_device,
        also_hidden=HIDDEN,
    )


def test_rnn_forward_rejects_bad_input(submission: types.ModuleType) -> None:
    g = torch.Generator().manual_seed(1)
    x, h0, w_ih, w_hh, b_ih, b_hh = rnn_args(g, 4, 2, 3, 5, torch.device("cpu"))
    cases = [
        Case("2-D input", (x[0], h0, w_ih, w_hh)),
        Case("h0 of another batch", (x, h0[:1], w_ih, w_hh)),
        Case("W_ih transposed", (x, h0, w_ih.T, w_hh)),
        Case("W_hh of the wrong size", (x, h0, w_ih, w_hh[:4, :4])),
        Case("bias of the wrong size", (x, h0, w_ih, w_hh, b_ih[:4], b_hh)),
        Case("unknown nonlinearity", (x, h0, w_ih, w_hh), {"nonlinearity": "sigmoid"}),
    ]
    check_raises(
        submission.rnn_forward,
        rnn.rnn_forward,
        cases,
        ValueError,
        exercise="Exercise 11.1",
        also_hidden=HIDDEN,
    )


# ---------------------------------------------------------------------- Exercise 11.2
def cell_args(
    g: torch.Generator,
    gates: int,
    B: int | None,
    F: int,
    H: int,
    device: torch.device,
    dtype: torch.dtype = F64,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    lead = () if B is None else (B,)
    return (
        randn(g, *lead, F, device=device, dtype=dtype),
        randn(g, *lead, H, device=device, dtype=dtype),
        randn(g, *lead, H, device=device, dtype=dtype),
        randn(g, gates * H, F, device=device, dtype=dtype),
        randn(g, gates * H, H, device=device, dtype=dtype),
        randn(g, gates * H, device=device, dtype=dtype),
        randn(g, gates * H, device=device, dtype=dtype),
    )


def lstm_case(name: str, a: tuple[Tensor, ...], biases: bool = True) -> Case:
    x, h, c, w_ih, w_hh, b_ih, b_hh = a
    if not biases:
        return Case(name, (x, (h, c), w_ih, w_hh))
    return Case(name, (x, (h, c), w_ih, w_hh, b_ih, b_hh))


def test_lstm_cell(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(2)
    a = cell_args(g, 4, 3, 4, 5, device)
    x, h, c, w_ih, w_hh, b_ih, b_hh = a
    # A bias that opens exactly one gate: catches a wrong gate order.
    order = torch.zeros(20, dtype=F64, device=device)
    order[5:10] = 6.0  # the forget gate open, the others at sigmoid(0) = 1/2
    cases = [
        lstm_case("batched, with biases", a),
        lstm_case("no biases", a, biases=False),
        lstm_case("unbatched", cell_args(g, 4, None, 3, 4, device)),
        Case("only the forget-gate bias (gate order)", (x, (h, c), 0 * w_ih, 0 * w_hh, order)),
        lstm_case("one unit", cell_args(g, 4, 2, 1, 1, device)),
        Case("saturated gates, inputs 1e4", (1e4 * x, (h, c), w_ih, w_hh, b_ih, b_hh)),
        Case("saturated gates, inputs -1e4", (-1e4 * x, (h, c), w_ih, w_hh, b_ih, b_hh)),
    ]
    for i in range(6):
        B, F, H = (int(v) for v in torch.randint(1, 6, (3,), generator=g))
        cases.append(lstm_case(f"random #{i}", cell_args(g, 4, B, F, H, device)))
    check(
        submission.lstm_cell,
        rnn.lstm_cell,
        cases,
        exercise="Exercise 11.2",
        rtol=1e-10,
        atol=1e-12,
        also_hidden=HIDDEN,
    )
    a32 = cell_args(g, 4, 2, 3, 4, device, dtype=torch.float32)
    x32, h32, c32, w1, w2, b1, b2 = a32
    check(
        submission.lstm_cell,
        rnn.lstm_cell,
        [
            lstm_case("float32", a32),
            Case("float32, inputs 1e8", (1e8 * x32, (h32, c32), w1, w2, b1, b2)),
        ],
        exercise="Exercise 11.2 (float32, and the dtype and device of the result)",
        rtol=1e-5,
        atol=1e-6,
        also_hidden=HIDDEN,
    )
    check(
        submission.lstm_cell,
        rnn.lstm_cell,
        [lstm_case("float32", a32)],
        exercise="Exercise 11.2 (dtype and device of the result)",
        observe=dtype_and_device,
        also_hidden=HIDDEN,
    )


def test_lstm_cell_rejects_bad_input(submission: types.ModuleType) -> None:
    g = torch.Generator().manual_seed(3)
    x, h, c, w_ih, w_hh, b_ih, b_hh = cell_args(g, 4, 2, 3, 4, torch.device("cpu"))
    shape_cases = [
        Case("W_ih with 3H rows", (x, (h, c), w_ih[:12], w_hh)),
        Case("W_hh transposed", (x, (h, c), w_ih, w_hh.T)),
        Case("bias of the wrong size", (x, (h, c), w_ih, w_hh, b_ih[:8], b_hh)),
        Case("h of another batch", (x, (h[:1], c), w_ih, w_hh)),
    ]
    check_raises(
        submission.lstm_cell,
        rnn.lstm_cell,
        shape_cases,
        ValueError,
        exercise="Exercise 11.2",
        also_hidden=HIDDEN,
    )
    check_raises(
        submission.lstm_cell,
        rnn.lstm_cell,
        [Case("hx a single tensor", (x, h, w_ih, w_hh))],
        TypeError,
        exercise="Exercise 11.2",
        also_hidden=HIDDEN,
    )


# ---------------------------------------------------------------------- Exercise 11.3
def gru_case(name: str, a: tuple[Tensor, ...], biases: bool = True) -> Case:
    x, h, _, w_ih, w_hh, b_ih, b_hh = a
    if not biases:
        return Case(name, (x, h, w_ih, w_hh))
    return Case(name, (x, h, w_ih, w_hh, b_ih, b_hh))


def test_gru_cell(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(4)
    a = cell_args(g, 3, 3, 4, 5, device)
    x, h, _, w_ih, w_hh, b_ih, b_hh = a
    # A large hidden-side n bias separates r (W h + b) from W (r h) + b.
    b_hn = b_hh.clone()
    b_hn[10:] = 3.0
    cases = [
        gru_case("batched, with biases", a),
        gru_case("no biases", a, biases=False),
        gru_case("unbatched", cell_args(g, 3, None, 2, 4, device)),
        Case("a large hidden-side n bias (reset gate placement)", (x, h, w_ih, w_hh, b_ih, b_hn)),
        Case("only the hidden-side bias", (x, h, w_ih, w_hh, None, b_hh)),
        Case("saturated gates, inputs 1e4", (1e4 * x, h, w_ih, w_hh, b_ih, b_hh)),
    ]
    for i in range(6):
        B, F, H = (int(v) for v in torch.randint(1, 6, (3,), generator=g))
        cases.append(gru_case(f"random #{i}", cell_args(g, 3, B, F, H, device)))
    check(
        submission.gru_cell,
        rnn.gru_cell,
        cases,
        exercise="Exercise 11.3",
        rtol=1e-10,
        atol=1e-12,
        also_hidden=HIDDEN,
    )
    check(
        submission.gru_cell,
        rnn.gru_cell,
        [gru_case("float32", cell_args(g, 3, 2, 3, 4, device, dtype=torch.float32))],
        exercise="Exercise 11.3 (dtype and device of the result)",
        observe=dtype_and_device,
        also_hidden=HIDDEN,
    )


def test_gru_cell_rejects_bad_input(submission: types.ModuleType) -> None:
    g = torch.Generator().manual_seed(5)
    x, h, _, w_ih, w_hh, b_ih, b_hh = cell_args(g, 3, 2, 3, 4, torch.device("cpu"))
    cases = [
        Case("W_ih with 4H rows", (x, h, torch.zeros(16, 3, dtype=F64), w_hh)),
        Case("W_hh of the wrong size", (x, h, w_ih, w_hh[:, :3])),
        Case("bias of the wrong size", (x, h, w_ih, w_hh, b_ih, b_hh[:6])),
        Case("h of another batch", (x, h[:1], w_ih, w_hh)),
    ]
    check_raises(
        submission.gru_cell,
        rnn.gru_cell,
        cases,
        ValueError,
        exercise="Exercise 11.3",
        also_hidden=HIDDEN,
    )


# ---------------------------------------------------------------------- Exercise 11.4
def params_with_grads(
    g: torch.Generator, shapes: list[tuple[int, ...]], scale: float, device: torch.device
) -> list[Tensor]:
    params = []
    for shape in shapes:
        p = torch.zeros(shape, dtype=F64, device=device, requires_grad=True)
        p.grad = scale * randn(g, *shape, device=device)
        params.append(p)
    return params


def grads_after(result: Any, args: Any, kwargs: Any) -> tuple[Any, list[Tensor | None]]:
    params = args[0]
    params = [params] if isinstance(params, Tensor) else list(params)
    return result, [p.grad for p in params]


def test_clip_grad_norm(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(6)
    shapes = [(3, 4), (5,), (2, 2, 2)]
    no_grad = torch.zeros(3, dtype=F64, device=device, requires_grad=True)
    cases = [
        Case("clipped, L2", (params_with_grads(g, shapes, 2.0, device), 1.0)),
        Case("not clipped: norm below max_norm", (params_with_grads(g, shapes, 0.01, device), 1.0)),
        Case("L1 norm", (params_with_grads(g, shapes, 1.0, device), 0.5), {"norm_type": 1.0}),
        Case(
            "infinity norm",
            (params_with_grads(g, shapes, 1.0, device), 0.5),
            {"norm_type": float("inf")},
        ),
        Case("norm_type 3", (params_with_grads(g, shapes, 1.0, device), 0.5), {"norm_type": 3}),
        Case("max_norm 0", (params_with_grads(g, shapes, 1.0, device), 0.0)),
        Case("a single tensor", (params_with_grads(g, [(4, 4)], 3.0, device)[0], 1.0)),
        Case(
            "a parameter without a gradient",
            ([*params_with_grads(g, shapes, 3.0, device), no_grad], 1.0),
        ),
        Case(
            "norm just above max_norm (the 1e-6)", (params_with_grads(g, [(1,)], 1.0, device), 1e-7)
        ),
    ]
    check(
        submission.clip_grad_norm_,
        rnn.clip_grad_norm_,
        cases,
        exercise="Exercise 11.4",
        rtol=1e-12,
        atol=1e-15,
        observe=grads_after,
        also_hidden=HIDDEN,
    )


def test_clip_grad_norm_rejects_bad_input(submission: types.ModuleType) -> None:
    g = torch.Generator().manual_seed(7)
    params = params_with_grads(g, [(3,)], 1.0, torch.device("cpu"))
    bad = params_with_grads(g, [(3,)], 1.0, torch.device("cpu"))
    assert bad[0].grad is not None
    bad[0].grad[0] = float("nan")
    cases = [
        Case("negative max_norm", (params, -1.0)),
        Case("norm_type 0", (params, 1.0), {"norm_type": 0.0}),
        Case("NaN gradient, error_if_nonfinite", (bad, 1.0), {"error_if_nonfinite": True}),
    ]
    check_raises(
        submission.clip_grad_norm_,
        rnn.clip_grad_norm_,
        cases,
        ValueError,
        exercise="Exercise 11.4",
        also_hidden=HIDDEN,
    )


# ---------------------------------------------------------------------- Exercise 11.5
def bptt_case(
    g: torch.Generator,
    name: str,
    T: int,
    B: int,
    F: int,
    H: int,
    device: torch.device,
    nonlinearity: str = "tanh",
    last_only: bool = False,
) -> Case:
    x, h0, w_ih, w_hh, b_ih, b_hh = rnn_args(g, T, B, F, H, device)
    states = rnn.rnn_forward(x, h0, w_ih, w_hh, b_ih, b_hh, nonlinearity)
    grad_states = randn(g, T, B, H, device=device)
    if last_only:  # a loss on the last state only: the recursion must carry it back
        grad_states[:-1] = 0.0
    return Case(name, (x, h0, states, grad_states, w_ih, w_hh, nonlinearity))


def test_rnn_bptt(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(8)
    cases = [
        bptt_case(g, "tanh", 6, 3, 4, 5, device),
        bptt_case(g, "ReLU", 6, 3, 4, 5, device, "relu"),
        bptt_case(g, "loss on the last state only", 8, 2, 3, 4, device, last_only=True),
        bptt_case(g, "one step", 1, 2, 3, 4, device),
        bptt_case(g, "one sequence", 5, 1, 2, 3, device),
    ]
    for i in range(5):
        T, B, F, H = (int(v) for v in torch.randint(1, 6, (4,), generator=g))
        cases.append(bptt_case(g, f"random #{i}", T, B, F, H, device, ("tanh", "relu")[i % 2]))
    check(
        submission.rnn_bptt,
        rnn.rnn_bptt,
        cases,
        exercise="Exercise 11.5",
        rtol=1e-9,
        atol=1e-12,
        also_hidden=HIDDEN,
    )


def test_rnn_bptt_rejects_bad_input(submission: types.ModuleType) -> None:
    g = torch.Generator().manual_seed(9)
    x, h0, states, grad_states, w_ih, w_hh, _ = bptt_case(
        g, "", 4, 2, 3, 5, torch.device("cpu")
    ).args
    cases = [
        Case("states one step short", (x, h0, states[1:], grad_states, w_ih, w_hh)),
        Case("grad_states of another size", (x, h0, states, grad_states[..., :4], w_ih, w_hh)),
    ]
    check_raises(
        submission.rnn_bptt,
        rnn.rnn_bptt,
        cases,
        ValueError,
        exercise="Exercise 11.5",
        also_hidden=HIDDEN,
    )


# ---------------------------------------------------------------------- Exercise 11.6 (open)
def sensitivities(state: dict[str, Tensor], hidden_size: int) -> tuple[float, float]:
    """Medians over 16 sequences of |d(u^T h_T)/dx_1| and |d(u^T h_T)/dx_T|, T = 100."""
    model = torch.nn.LSTM(1, hidden_size)
    model.load_state_dict(state)
    g = torch.Generator().manual_seed(10)
    x = torch.randn(100, 16, 1, generator=g, requires_grad=True)
    u = torch.randn(hidden_size, generator=g)
    _, (h_n, _) = model(x)
    (grad,) = torch.autograd.grad((h_n[0] @ u).sum(), x)  # sequences are independent
    first = grad[0, :, 0].abs().median()
    last = grad[-1, :, 0].abs().median()
    return float(first), float(last)


@pytest.mark.parametrize("hidden_size", [8, 32])
def test_lstm_init_remembers(submission: types.ModuleType, hidden_size: int) -> None:
    try:
        state = submission.lstm_init(hidden_size, torch.Generator().manual_seed(0))
    except NotImplementedError:
        raise NotImplementedYetError(
            "Exercise 11.6: `lstm_init` is not implemented yet (it raises "
            "NotImplementedError). Replace the `raise NotImplementedError` line in "
            "recurrent.py with your code."
        ) from None
    expected = torch.nn.LSTM(1, hidden_size).state_dict()
    assert isinstance(state, dict), f"Exercise 11.6: return a dict, got {type(state).__name__}"
    assert list(state) == list(expected), (
        f"Exercise 11.6: the keys must be {list(expected)}, got {list(state)}"
    )
    for name, value in state.items():
        assert isinstance(value, Tensor) and value.shape == expected[name].shape, (
            f"Exercise 11.6: {name} must be a tensor of shape {tuple(expected[name].shape)}"
        )
        assert value.dtype == torch.float32, f"Exercise 11.6: {name} must be float32"
        assert bool(torch.isfinite(value).all()), f"Exercise 11.6: {name} is not finite"
        assert float(value.abs().max()) <= 10.0, f"Exercise 11.6: {name} has an entry beyond 10"
    first, last = sensitivities(state, hidden_size)
    assert first >= 1e-3, (
        f"Exercise 11.6: with H = {hidden_size} the gradient reaching x_1 from h_100 has "
        f"median size {first:.1e}, below 1e-3: the network forgets the start"
    )
    assert last >= 1e-3, (
        f"Exercise 11.6: with H = {hidden_size} the gradient reaching x_100 has median size "
        f"{last:.1e}, below 1e-3: the network ignores its input"
    )
    other = submission.lstm_init(hidden_size, torch.Generator().manual_seed(1))
    assert any(not torch.equal(state[k], other[k]) for k in state), (
        "Exercise 11.6: two generator seeds gave the same weights; draw them with `generator`"
    )
