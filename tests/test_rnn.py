"""Tests for dlbook.rnn against torch.nn's recurrent layers and torch.autograd (float64)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor, nn

from dlbook import optim, rnn

TORCH_LAYERS: dict[str, Callable[..., nn.Module]] = {
    "RNN": nn.RNN,
    "LSTM": nn.LSTM,
    "GRU": nn.GRU,
}
OUR_LAYERS: dict[str, Callable[..., nn.Module]] = {"RNN": rnn.RNN, "LSTM": rnn.LSTM, "GRU": rnn.GRU}
T, B, I, H = 5, 3, 4, 5  # noqa: E741 (I is the input size, as in the text)


def pair(
    kind: str, device: torch.device, seed: int = 0, **kwargs: Any
) -> tuple[nn.Module, nn.Module]:
    """Torch's layer (float64, random weights) and ours with its state dict loaded."""
    torch.manual_seed(seed)
    theirs = TORCH_LAYERS[kind](I, H, **kwargs).double().to(device)
    with torch.no_grad():  # wider than the default init, so the gates saturate sometimes
        for p in theirs.parameters():
            p.uniform_(-0.8, 0.8)
    ours = OUR_LAYERS[kind](I, H, **kwargs).double().to(device)
    ours.load_state_dict(theirs.state_dict())
    return theirs, ours


def flat(outputs: Any) -> list[Tensor]:
    if outputs is None:
        return []
    if isinstance(outputs, Tensor):
        return [outputs]
    return [t for o in outputs for t in flat(o)]


def compare_runs(
    theirs: nn.Module, ours: nn.Module, x: Tensor, state: Any, rtol: float = 1e-10
) -> None:
    """Same outputs and final states, and the same gradients of a random loss with
    respect to the input, the initial state and every parameter."""
    inputs_theirs = [x.clone().requires_grad_()] + [s.clone().requires_grad_() for s in flat(state)]
    inputs_ours = [t.detach().clone().requires_grad_() for t in inputs_theirs]

    def call(module: nn.Module, inputs: list[Tensor]) -> list[Tensor]:
        if state is None:
            return flat(module(inputs[0]))
        s = tuple(inputs[1:]) if isinstance(state, tuple) else inputs[1]
        return flat(module(inputs[0], s))

    out_theirs, out_ours = call(theirs, inputs_theirs), call(ours, inputs_ours)
    assert len(out_theirs) == len(out_ours)
    g = torch.Generator().manual_seed(1)
    weights = [torch.randn(o.shape, generator=g, dtype=o.dtype).to(o.device) for o in out_theirs]
    for a, b in zip(out_theirs, out_ours, strict=True):
        assert a.shape == b.shape
        torch.testing.assert_close(b, a, rtol=rtol, atol=1e-12)
    loss_theirs = torch.stack([(w * o).sum() for w, o in zip(weights, out_theirs, strict=True)])
    loss_ours = torch.stack([(w * o).sum() for w, o in zip(weights, out_ours, strict=True)])
    params_theirs = dict(theirs.named_parameters())
    params_ours = dict(ours.named_parameters())
    assert params_theirs.keys() == params_ours.keys()
    names = list(params_theirs)
    grads_theirs = torch.autograd.grad(
        loss_theirs.sum(), inputs_theirs + [params_theirs[n] for n in names]
    )
    grads_ours = torch.autograd.grad(loss_ours.sum(), inputs_ours + [params_ours[n] for n in names])
    for a, b in zip(grads_theirs, grads_ours, strict=True):
        torch.testing.assert_close(b, a, rtol=rtol, atol=1e-12)


def initial_state(kind: str, layers: int, batch: int | None, device: torch.device) -> Any:
    shape = (layers, batch, H) if batch is not None else (layers, H)
    g = torch.Generator().manual_seed(2)
    h0 = torch.randn(shape, generator=g, dtype=torch.float64).to(device)
    if kind == "LSTM":
        return (h0, torch.randn(shape, generator=g, dtype=torch.float64).to(device))
    return h0


# ---------------------------------------------------------------------- layers vs torch.nn
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize(
    ("num_layers", "batch_first", "bidirectional"),
    list(itertools.product([1, 2, 3], [False, True], [False, True])),
)
def test_layers_match_torch(
    kind: str, num_layers: int, batch_first: bool, bidirectional: bool, device: torch.device
) -> None:
    theirs, ours = pair(
        kind, device, num_layers=num_layers, batch_first=batch_first, bidirectional=bidirectional
    )
    shape = (B, T, I) if batch_first else (T, B, I)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    state = initial_state(kind, num_layers * (2 if bidirectional else 1), B, device)
    compare_runs(theirs, ours, x.to(device), state)


@pytest.mark.parametrize(
    ("kind", "kwargs"),
    [
        ("RNN", {"nonlinearity": "relu", "num_layers": 2}),
        ("RNN", {"bias": False}),
        ("LSTM", {"bias": False, "num_layers": 2, "bidirectional": True}),
        ("GRU", {"bias": False, "num_layers": 2}),
        ("LSTM", {"dropout": 0.5, "num_layers": 2}),  # compared in eval mode below
    ],
)
def test_layer_options_match_torch(kind: str, kwargs: dict[str, Any], device: torch.device) -> None:
    theirs, ours = pair(kind, device, **kwargs)
    theirs.eval()
    ours.eval()
    x = torch.randn(T, B, I, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    compare_runs(theirs, ours, x.to(device), None)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_unbatched_input_with_initial_state(
    kind: str, bidirectional: bool, device: torch.device
) -> None:
    theirs, ours = pair(kind, device, num_layers=2, bidirectional=bidirectional)
    x = torch.randn(T, I, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    state = initial_state(kind, 2 * (2 if bidirectional else 1), None, device)
    compare_runs(theirs, ours, x.to(device), state)
    out, _ = ours(x.to(device))
    assert out.shape == (T, H * (2 if bidirectional else 1))


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_state_dict_keys_and_shapes_are_torchs(kind: str) -> None:
    theirs = TORCH_LAYERS[kind](I, H, num_layers=2, bidirectional=True)
    ours = OUR_LAYERS[kind](I, H, num_layers=2, bidirectional=True)
    a, b = theirs.state_dict(), ours.state_dict()
    assert list(a) == list(b)  # the same keys in the same order
    assert all(a[k].shape == b[k].shape for k in a)
    assert "weight_hh_l1_reverse" in b
    theirs.load_state_dict(b)  # and torch loads ours


def test_default_initialisation_has_torchs_scale() -> None:
    torch.manual_seed(0)
    layer = rnn.LSTM(3, 16)
    bound = 1 / 16**0.5
    values = torch.cat([p.flatten() for p in layer.parameters()])
    assert values.abs().max() <= bound
    assert values.abs().max() > 0.95 * bound  # uniform on the whole interval, not a part


def test_dropout_between_layers_matches_torch_in_training_mode() -> None:
    # Both draw the dropout mask from the global generator, one mask per inner layer.
    theirs, ours = pair("LSTM", torch.device("cpu"), num_layers=3, dropout=0.4)
    x = torch.randn(T, B, I, dtype=torch.float64)
    torch.manual_seed(7)
    a = theirs(x)[0]
    torch.manual_seed(7)
    b = ours(x)[0]
    torch.manual_seed(8)
    c = ours(x)[0]
    ours.eval()
    d = ours(x)[0]
    assert not torch.allclose(b, c)  # dropout is random in training mode
    assert not torch.allclose(b, d)  # and off in evaluation mode
    torch.testing.assert_close(b, a)  # torch's CPU kernel draws the same masks


def test_non_contiguous_input_works() -> None:
    theirs, ours = pair("GRU", torch.device("cpu"), num_layers=2)
    x = torch.randn(B, T, I, dtype=torch.float64).transpose(0, 1)  # (T, B, I), not contiguous
    assert not x.is_contiguous()
    compare_runs(theirs, ours, x, None)


@pytest.mark.parametrize("scale", [1e4, 1e8])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_extreme_inputs_saturate_like_torch(scale: float, dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    theirs = nn.LSTM(I, H).to(dtype)
    ours = rnn.LSTM(I, H).to(dtype)
    ours.load_state_dict(theirs.state_dict())
    x = scale * torch.randn(T, B, I, dtype=dtype)
    out_ours, (_, c) = ours(x)
    out_theirs, (_, c_t) = theirs(x)
    assert torch.isfinite(out_ours).all() and torch.isfinite(c).all()
    torch.testing.assert_close(out_ours, out_theirs)
    torch.testing.assert_close(c, c_t)


# ---------------------------------------------------------------------- cells
def cell_weights(gates: int, seed: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)

    def draw(*shape: int) -> Tensor:
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    return draw(gates * H, I), draw(gates * H, H), draw(gates * H), draw(gates * H)


def load_cell(cell: nn.Module, weights: tuple[Tensor, ...]) -> nn.Module:
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    cell.load_state_dict(dict(zip(names, weights, strict=True)))
    return cell


@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_torch_cells(batched: bool) -> None:
    g = torch.Generator().manual_seed(9)
    shape: tuple[int, ...] = (B,) if batched else ()
    x = torch.randn(*shape, I, generator=g, dtype=torch.float64)
    h = torch.randn(*shape, H, generator=g, dtype=torch.float64)
    c = torch.randn(*shape, H, generator=g, dtype=torch.float64)
    for nonlinearity in ("tanh", "relu"):
        w = cell_weights(1, 10)
        ref = load_cell(nn.RNNCell(I, H, nonlinearity=nonlinearity).double(), w)
        torch.testing.assert_close(rnn.rnn_cell(x, h, *w, nonlinearity=nonlinearity), ref(x, h))
    w = cell_weights(4, 11)
    ref_h, ref_c = load_cell(nn.LSTMCell(I, H).double(), w)(x, (h, c))
    ours_h, ours_c = rnn.lstm_cell(x, (h, c), *w)
    torch.testing.assert_close(ours_h, ref_h)
    torch.testing.assert_close(ours_c, ref_c)
    w = cell_weights(3, 12)
    torch.testing.assert_close(
        rnn.gru_cell(x, h, *w), load_cell(nn.GRUCell(I, H).double(), w)(x, h)
    )


def test_gru_reset_gate_placement_matters() -> None:
    """PyTorch's r * (W_hn h + b_hn) is not Cho et al.'s W_hn (r * h) + b_hn."""
    g = torch.Generator().manual_seed(13)
    x = torch.randn(B, I, generator=g, dtype=torch.float64)
    h = torch.randn(B, H, generator=g, dtype=torch.float64)
    w_ih, w_hh, b_ih, b_hh = cell_weights(3, 14)
    torch_gru = load_cell(nn.GRUCell(I, H).double(), (w_ih, w_hh, b_ih, b_hh))(x, h)
    cho = rnn.gru_cell(x, h, w_ih, w_hh, b_ih, b_hh, reset_after=False)
    assert (cho - torch_gru).abs().max() > 1e-2  # a different function of the same weights
    # Cho et al. 2014, eqs. (5)-(8), written out here independently of dlbook:
    w_ir, w_iz, w_in = w_ih.split(H)
    w_hr, w_hz, w_hn = w_hh.split(H)
    b_ir, b_iz, b_in = b_ih.split(H)
    b_hr, b_hz, b_hn = b_hh.split(H)
    r = torch.sigmoid(x @ w_ir.T + b_ir + h @ w_hr.T + b_hr)
    z = torch.sigmoid(x @ w_iz.T + b_iz + h @ w_hz.T + b_hz)
    n = torch.tanh(x @ w_in.T + b_in + (r * h) @ w_hn.T + b_hn)
    torch.testing.assert_close(cho, z * h + (1 - z) * n)
    # With the reset gate fully open (r = 1) the two formulations coincide.
    b_ih_open = b_ih.clone()
    b_ih_open[:H] = 1e3
    torch.testing.assert_close(
        rnn.gru_cell(x, h, w_ih, w_hh, b_ih_open, b_hh, reset_after=False),
        rnn.gru_cell(x, h, w_ih, w_hh, b_ih_open, b_hh),
    )


# ---------------------------------------------------------------------- BPTT and gradients
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_bptt_matches_autograd(nonlinearity: str, device: torch.device) -> None:
    g = torch.Generator().manual_seed(15)

    def draw(*shape: int) -> Tensor:
        return torch.randn(*shape, generator=g, dtype=torch.float64).to(device)

    steps = 7
    x, h0 = draw(steps, B, I), draw(B, H)
    w_ih, w_hh, b_ih, b_hh = 0.5 * draw(H, I), 0.5 * draw(H, H), draw(H), draw(H)
    leaves = [t.clone().requires_grad_() for t in (x, h0, w_ih, w_hh, b_ih, b_hh)]
    x_, h0_, w_ih_, w_hh_, b_ih_, b_hh_ = leaves
    states = rnn.rnn_forward(x_, h0_, w_ih_, w_hh_, b_ih_, b_hh_, nonlinearity)
    grad_states = draw(steps, B, H)
    expected = torch.autograd.grad((states * grad_states).sum(), leaves)
    got = rnn.rnn_bptt(x, h0, states.detach(), grad_states, w_ih, w_hh, nonlinearity)
    for name, a, b in zip(rnn.RNNGradients._fields, expected, got, strict=True):
        torch.testing.assert_close(b, a, rtol=1e-10, atol=1e-12, msg=name)


def test_rnn_forward_matches_nn_rnn() -> None:
    theirs, _ = pair("RNN", torch.device("cpu"))
    x = torch.randn(T, B, I, dtype=torch.float64)
    h0 = torch.randn(1, B, H, dtype=torch.float64)
    p = dict(theirs.named_parameters())
    ours = rnn.rnn_forward(
        x, h0[0], p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"], p["bias_hh_l0"]
    )
    torch.testing.assert_close(ours, theirs(x, h0)[0])


def test_rnn_forward_and_bptt_of_an_empty_sequence() -> None:
    # T = 0: no states, and every gradient is zero (nothing depends on the weights)
    w_ih, w_hh = torch.randn(H, I, dtype=torch.float64), torch.randn(H, H, dtype=torch.float64)
    x, h0 = torch.randn(0, B, I, dtype=torch.float64), torch.randn(B, H, dtype=torch.float64)
    states = rnn.rnn_forward(x, h0, w_ih, w_hh)
    assert states.shape == (0, B, H) and states.dtype == torch.float64
    grads = rnn.rnn_bptt(x, h0, states, torch.zeros_like(states), w_ih, w_hh)
    assert grads.weight_hh.abs().sum() == 0 and grads.h0.abs().sum() == 0


@pytest.mark.parametrize("radius", [0.8, 1.2])
def test_state_jacobian_norms_match_autograd(radius: float) -> None:
    g = torch.Generator().manual_seed(16)
    steps = 6
    q, _ = torch.linalg.qr(torch.randn(H, H, generator=g, dtype=torch.float64))
    w_hh = radius * q  # orthogonal times radius: every singular value is the radius
    w_ih = torch.randn(H, I, generator=g, dtype=torch.float64)
    x = torch.randn(steps, 1, I, generator=g, dtype=torch.float64)
    h0 = torch.zeros(1, H, dtype=torch.float64)
    states = rnn.rnn_forward(x, h0, w_ih, w_hh)
    norms = rnn.state_jacobian_norms(states[:, 0], h0[0], w_hh)
    assert norms.shape == (steps + 1,)
    all_states = torch.cat([h0, states[:, 0]])  # (T + 1, H): h_0 .. h_T
    for k in range(steps + 1):
        start = steps - k

        def run_from(h: Tensor, start: int = start) -> Tensor:
            for t in range(start, steps):
                h = torch.tanh(w_ih @ x[t, 0] + w_hh @ h)
            return h

        jac = torch.autograd.functional.jacobian(run_from, all_states[start])
        torch.testing.assert_close(norms[k], torch.linalg.matrix_norm(jac, ord=2))
    # The bound of the text: ||dh_T/dh_{T-k}|| <= radius ** k, since |tanh'| <= 1
    assert bool((norms <= radius ** torch.arange(steps + 1) * (1 + 1e-12)).all())


# ---------------------------------------------------------------------- clipping
def grads_pair(seed: int, scale: float) -> tuple[list[Tensor], list[Tensor]]:
    g = torch.Generator().manual_seed(seed)
    ours, theirs = [], []
    for shape in [(3, 4), (5,), (2, 2, 2)]:
        p = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
        p.grad = scale * torch.randn(shape, generator=g, dtype=torch.float64)
        q = p.detach().clone().requires_grad_()
        q.grad = p.grad.clone()
        ours.append(p)
        theirs.append(q)
    return ours, theirs


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.1, 1.0, 1e3])
def test_clip_grad_norm_matches_torch(norm_type: float, max_norm: float) -> None:
    ours, theirs = grads_pair(17, 2.0)
    total_ours = rnn.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    total_theirs = nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    torch.testing.assert_close(total_ours, total_theirs)
    for p, q in zip(ours, theirs, strict=True):
        assert p.grad is not None and q.grad is not None
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-12, atol=0.0)


def test_clip_grad_norm_single_tensor_and_no_grads() -> None:
    p = torch.zeros(3, requires_grad=True)
    p.grad = torch.tensor([0.0, 3.0, 4.0])
    assert float(rnn.clip_grad_norm_(p, 1.0)) == 5.0
    torch.testing.assert_close(p.grad, torch.tensor([0.0, 0.6, 0.8]), rtol=1e-6, atol=0.0)
    assert float(rnn.clip_grad_norm_([torch.zeros(2, requires_grad=True)], 1.0)) == 0.0


def test_clip_grad_norm_nonfinite() -> None:
    ours, theirs = grads_pair(18, 1.0)
    assert ours[0].grad is not None and theirs[0].grad is not None
    ours[0].grad[0, 0] = float("inf")
    theirs[0].grad[0, 0] = float("inf")
    with pytest.raises(RuntimeError):
        nn.utils.clip_grad_norm_(theirs, 1.0, error_if_nonfinite=True)
    # one error that is both the book's ValueError and torch's RuntimeError
    for kind in (ValueError, RuntimeError):
        with pytest.raises(kind, match="error_if_nonfinite"):
            rnn.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    assert rnn.clip_grad_norm_ is optim.clip_grad_norm_  # one home: Chapter 9


@settings(max_examples=30, deadline=None)
@given(
    scale=st.floats(1e-3, 1e3),
    max_norm=st.floats(1e-2, 10.0),
    seed=st.integers(0, 1000),
)
def test_clipping_caps_the_norm_and_keeps_the_direction(
    scale: float, max_norm: float, seed: int
) -> None:
    ours, _ = grads_pair(seed, scale)
    before = torch.cat([p.grad.flatten() for p in ours if p.grad is not None])
    total = rnn.clip_grad_norm_(ours, max_norm)
    after = torch.cat([p.grad.flatten() for p in ours if p.grad is not None])
    assert float(after.norm()) <= max_norm * (1 + 1e-9)
    torch.testing.assert_close(float(total), float(before.norm()))
    if float(total) <= max_norm:
        torch.testing.assert_close(after, before, rtol=1e-6, atol=0.0)  # factor 1 (up to 1e-6)
    cosine = torch.dot(after, before) / (after.norm() * before.norm())
    torch.testing.assert_close(float(cosine), 1.0)


# ---------------------------------------------------------------------- CharLSTM
def test_char_lstm_is_embedding_lstm_linear() -> None:
    torch.manual_seed(0)
    model = rnn.CharLSTM(vocab_size=11, embedding_dim=6, hidden_size=7, num_layers=2).double()
    embedding = nn.Embedding(11, 6).double()
    lstm = nn.LSTM(6, 7, num_layers=2, batch_first=True).double()
    head = nn.Linear(7, 11).double()
    embedding.load_state_dict(model.embedding.state_dict())
    lstm.load_state_dict(model.lstm.state_dict())
    head.load_state_dict(model.head.state_dict())
    tokens = torch.randint(0, 11, (3, 9))
    logits, (h, c) = model(tokens)
    hidden, (h_ref, c_ref) = lstm(embedding(tokens))
    torch.testing.assert_close(logits, head(hidden))
    torch.testing.assert_close(h, h_ref)
    torch.testing.assert_close(c, c_ref)
    assert logits.shape == (3, 9, 11) and h.shape == (2, 3, 7)
    # gradients flow to every parameter and agree with the reference's
    target = torch.randint(0, 11, (3, 9))
    loss = nn.functional.cross_entropy(logits.reshape(-1, 11), target.flatten())
    loss_ref = nn.functional.cross_entropy(head(hidden).reshape(-1, 11), target.flatten())
    loss.backward()
    loss_ref.backward()
    assert lstm.weight_hh_l1.grad is not None and model.lstm.weight_hh_l1.grad is not None
    torch.testing.assert_close(model.lstm.weight_hh_l1.grad, lstm.weight_hh_l1.grad)
    assert model.embedding.weight.grad is not None and embedding.weight.grad is not None
    torch.testing.assert_close(model.embedding.weight.grad, embedding.weight.grad)


def test_char_lstm_state_carries_over_windows() -> None:
    torch.manual_seed(1)
    model = rnn.CharLSTM(vocab_size=5, embedding_dim=4, hidden_size=6).double()
    tokens = torch.randint(0, 5, (2, 10))
    whole, _ = model(tokens)
    first, state = model(tokens[:, :6])
    second, _ = model(tokens[:, 6:], state)
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64])
def test_char_lstm_accepts_every_integer_dtype(dtype: torch.dtype) -> None:
    torch.manual_seed(2)
    model = rnn.CharLSTM(vocab_size=7, embedding_dim=3, hidden_size=4)
    tokens = torch.tensor([[0, 6, 3, 1]])
    reference, _ = model(tokens)
    torch.testing.assert_close(model(tokens.to(dtype))[0], reference)


def test_char_lstm_on_device(device: torch.device) -> None:
    torch.manual_seed(3)
    model = rnn.CharLSTM(vocab_size=7, embedding_dim=3, hidden_size=4).to(device)
    logits, (h, c) = model(torch.randint(0, 7, (2, 5), device=device))
    assert logits.device.type == h.device.type == c.device.type == device.type


# ---------------------------------------------------------------------- bad input
def _lstm() -> rnn.LSTM:
    return rnn.LSTM(I, H, num_layers=2)


x3 = torch.zeros(T, B, I)
BAD_CALLS: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    ("input 1-D", lambda: _lstm()(torch.zeros(I)), ValueError, "input"),
    ("input 4-D", lambda: _lstm()(torch.zeros(1, T, B, I)), ValueError, "input"),
    ("wrong input_size", lambda: _lstm()(torch.zeros(T, B, I + 1)), ValueError, "input_size"),
    (
        "integer input",
        lambda: _lstm()(torch.zeros(T, B, I, dtype=torch.int64)),
        TypeError,
        "floating",
    ),
    ("float64 input, float32 module", lambda: _lstm()(x3.double()), ValueError, "dtype|float64"),
    ("input on another device", lambda: _lstm()(x3.to("meta")), ValueError, "meta"),
    ("zero steps", lambda: _lstm()(torch.zeros(0, B, I)), ValueError, "time step"),
    ("hx not a pair", lambda: _lstm()(x3, torch.zeros(2, B, H)), TypeError, "pair"),
    (
        "h0 wrong shape",
        lambda: _lstm()(x3, (torch.zeros(1, B, H), torch.zeros(2, B, H))),
        ValueError,
        "h0",
    ),
    (
        "c0 wrong batch",
        lambda: _lstm()(x3, (torch.zeros(2, B, H), torch.zeros(2, B + 1, H))),
        ValueError,
        "c0",
    ),
    ("GRU hx wrong shape", lambda: rnn.GRU(I, H)(x3, torch.zeros(B, H)), ValueError, "hx"),
    (
        "packed sequence",
        lambda: _lstm()(nn.utils.rnn.pack_padded_sequence(x3, [T] * B)),
        TypeError,
        "PackedSequence",
    ),
    ("hidden_size 0", lambda: rnn.LSTM(I, 0), ValueError, "hidden_size"),
    ("num_layers 1.5", lambda: rnn.GRU(I, H, num_layers=1.5), ValueError, "num_layers"),  # type: ignore[arg-type]
    ("dropout 1.5", lambda: rnn.RNN(I, H, dropout=1.5), ValueError, "dropout"),
    (
        "nonlinearity sigmoid",
        lambda: rnn.RNN(I, H, nonlinearity="sigmoid"),
        ValueError,
        "nonlinearity",
    ),
    ("proj_size", lambda: rnn.LSTM(I, H, proj_size=2), ValueError, "proj_size"),
    (
        "cell weight of the wrong shape",
        lambda: rnn.lstm_cell(
            torch.zeros(B, I), (torch.zeros(B, H),) * 2, torch.zeros(H, I), torch.zeros(4 * H, H)
        ),
        ValueError,
        "weight_ih",
    ),
    (
        "cell state batch differs",
        lambda: rnn.gru_cell(
            torch.zeros(B, I), torch.zeros(B + 1, H), torch.zeros(3 * H, I), torch.zeros(3 * H, H)
        ),
        ValueError,
        "hx",
    ),
    (
        "bptt states of the wrong shape",
        lambda: rnn.rnn_bptt(
            x3,
            torch.zeros(B, H),
            torch.zeros(T, B, H + 1),
            torch.zeros(T, B, H),
            torch.zeros(H, I),
            torch.zeros(H, H),
        ),
        ValueError,
        "states",
    ),
    ("clip negative max_norm", lambda: rnn.clip_grad_norm_([], -1.0), ValueError, "max_norm"),
    (
        "clip norm_type 0",
        lambda: rnn.clip_grad_norm_([], 1.0, norm_type=0),
        ValueError,
        "norm_type",
    ),
    ("tokens float", lambda: rnn.CharLSTM(5, 2, 3)(torch.zeros(1, 4)), TypeError, "integer"),
    (
        "tokens 1-D",
        lambda: rnn.CharLSTM(5, 2, 3)(torch.zeros(4, dtype=torch.int64)),
        ValueError,
        "(B, T)",
    ),
    (
        "tokens out of range",
        lambda: rnn.CharLSTM(5, 2, 3)(torch.tensor([[0, 5]])),
        ValueError,
        "vocab_size",
    ),
    (
        "tokens negative",
        lambda: rnn.CharLSTM(5, 2, 3)(torch.tensor([[-1, 0]])),
        ValueError,
        "vocab_size",
    ),
    ("vocab_size 0", lambda: rnn.CharLSTM(0, 2, 3), ValueError, "vocab_size"),
]


@pytest.mark.parametrize(
    ("label", "call", "error", "match"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS]
)
def test_bad_input_is_rejected_clearly(
    label: str, call: Callable[[], object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------------- lstm_init
def _first_input_sensitivity(state: dict[str, Tensor], hidden: int) -> float:
    model = nn.LSTM(1, hidden)
    model.load_state_dict(state)
    x = torch.randn(100, 16, 1, generator=torch.Generator().manual_seed(0), requires_grad=True)
    _, (h_n, _) = model(x)
    (grad,) = torch.autograd.grad(h_n[0].sum(), x)
    return float(grad[0].abs().median())


def test_lstm_init_keeps_the_first_input_alive_where_the_default_does_not() -> None:
    state = rnn.lstm_init(16, torch.Generator().manual_seed(0))
    assert list(state) == list(nn.LSTM(1, 16).state_dict())
    forget = torch.sigmoid(state["bias_ih_l0"][16:32] + state["bias_hh_l0"][16:32])
    torch.testing.assert_close(forget, torch.full((16,), 1 / (1 + math.exp(-4.0))))
    torch.manual_seed(0)
    assert _first_input_sensitivity(state, 16) > 1e-3
    assert _first_input_sensitivity(nn.LSTM(1, 16).state_dict(), 16) < 1e-10
    other = rnn.lstm_init(16, torch.Generator().manual_seed(1))
    assert not torch.equal(state["weight_hh_l0"], other["weight_hh_l0"])


def test_lstm_second_derivatives_match_torch() -> None:
    """The LSTM's backward is written out for first derivatives; with create_graph=True it
    differentiates the plain loop instead, so second derivatives are nn.LSTM's too."""
    theirs, ours = pair("LSTM", torch.device("cpu"), num_layers=2, bidirectional=True)
    x = torch.randn(T, B, I, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    results = []
    for module in (theirs, ours):
        xi = x.clone().requires_grad_()
        out, (h, c) = module(xi)
        loss = (out.sin().sum() + (h * c).sum()) ** 2
        params = list(module.parameters())
        first = torch.autograd.grad(loss, [xi, *params], create_graph=True)
        total = torch.stack([(g * g).sum() for g in first]).sum()
        results.append(torch.autograd.grad(total, [xi, *params]))
    for a, b in zip(*results, strict=True):
        # float64; second derivatives sum many more terms, in another order than ATen's
        torch.testing.assert_close(b, a, rtol=1e-10, atol=1e-12)
