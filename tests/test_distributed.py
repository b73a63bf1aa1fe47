"""Tests of dlbook.distributed (Chapter 22) against independent references.

References: PyTorch's FlopCounterMode (FLOPs), hand counts of saved activations, PyTorch's
own loss-scale kernel and GradScaler, one backward pass on the whole batch (gradient
accumulation, data parallelism), torch.sum (all-reduce), the unsplit MLP (tensor
parallelism), a simulated GPipe schedule (bubble), and the ZeRO paper's memory table.
"""

from __future__ import annotations

import math
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset
from torch.utils.flop_counter import FlopCounterMode

from dlbook import distributed, lm, train


def counted_flops(fn: Callable[[], Any]) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


# ----------------------------------------------------------------------- FLOPs, roofline
@settings(max_examples=6, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(1, 40))
def test_matmul_flops_matches_flop_counter(m: int, k: int, n: int) -> None:
    a, b = torch.randn(m, k), torch.randn(k, n)
    assert distributed.matmul_flops(m, k, n) == counted_flops(lambda: a @ b)


def test_arithmetic_intensity_closed_forms() -> None:
    for n in [1, 6, 96, 1000]:  # square float32: 2n^3 / (4 * 3n^2) = n / 6
        assert math.isclose(distributed.arithmetic_intensity(n, n, n), n / 6)
    # matrix-vector in bfloat16: 2mk / (2 (mk + k + m))
    assert math.isclose(
        distributed.arithmetic_intensity(30, 20, 1, bytes_per_element=2), 1200 / (2 * 650)
    )


def test_roofline_is_the_minimum_of_its_two_roofs() -> None:
    peak, beta = 300e9, 20e9
    ridge = peak / beta
    assert distributed.roofline(ridge / 4, peak, beta) == pytest.approx(ridge / 4 * beta)
    assert distributed.roofline(ridge, peak, beta) == pytest.approx(peak)
    assert distributed.roofline(ridge * 10, peak, beta) == peak


@pytest.mark.parametrize(
    ("n_layer", "n_head", "d_model", "vocab", "block", "T"),
    [(1, 1, 8, 11, 8, 8), (2, 2, 16, 20, 12, 5), (3, 4, 32, 7, 6, 6)],
)
def test_gpt_forward_flops_matches_flop_counter(
    n_layer: int, n_head: int, d_model: int, vocab: int, block: int, T: int
) -> None:
    config = lm.GPTConfig(vocab, block, n_layer, n_head, d_model)
    model = lm.GPT(config, torch.Generator().manual_seed(0))
    x = torch.randint(0, vocab, (3, T), generator=torch.Generator().manual_seed(1))
    expected = 3 * distributed.gpt_forward_flops(config, T)
    assert counted_flops(lambda: model(x)) == expected
    # forward and backward: three times the forward
    assert counted_flops(lambda: model(x)[0].sum().backward()) == 3 * expected


def test_gpt_forward_flops_is_6nd_without_attention_and_position_embedding() -> None:
    # Kaplan et al.: C_fwd = 2N per token with N the parameters used in products; ours
    # adds the tied output layer (2Vd) and attention (4MTd per token).
    config = lm.GPTConfig(vocab_size=50, block_size=16, n_layer=2, n_head=2, d_model=32)
    T, M, d, V = 16, 2, 32, 50
    n_matmul = M * 12 * d * d + V * d
    assert distributed.gpt_forward_flops(config, T) == T * 2 * n_matmul + 4 * M * T * T * d


# ---------------------------------------------------------------- activation memory
def test_saved_tensor_bytes_of_an_mlp_by_hand() -> None:
    B, d_in, h = 7, 5, 9
    net = nn.Sequential(nn.Linear(d_in, h), nn.ReLU(), nn.Linear(h, 3))
    x = torch.randn(B, d_in)
    got = distributed.saved_tensor_bytes(lambda: net(x).sum(), exclude=list(net.parameters()))
    # the first layer saves x; ReLU saves its output, which the second layer saves too
    assert got == 4 * (B * d_in + B * h)
    # without exclude the second layer's weight counts too (it is needed for the gradient
    # of the hidden units); the first layer's is not saved, as x needs no gradient
    total = distributed.saved_tensor_bytes(lambda: net(x).sum())
    assert total == got + 4 * (3 * h)


def test_checkpointed_gpt_blocks_keep_exactly_their_inputs() -> None:
    B, T, d = 2, 8, 16

    class Checkpointed(nn.Module):
        def __init__(self, block: nn.Module) -> None:
            super().__init__()
            self.block = block

        def forward(self, x: torch.Tensor, past: Any = None) -> Any:
            return torch.utils.checkpoint.checkpoint(self.block, x, past, use_reentrant=False)

    sizes = []
    for M in [1, 3]:
        config = lm.GPTConfig(vocab_size=13, block_size=T, n_layer=M, n_head=2, d_model=d)
        model = lm.GPT(config, torch.Generator().manual_seed(0))
        model.h = nn.ModuleList(Checkpointed(b) for b in model.h)
        x = torch.randint(0, 13, (B, T))
        sizes.append(
            distributed.saved_tensor_bytes(
                lambda m, t: m(t)[0].sum(), model, x, exclude=list(model.parameters())
            )
        )
    assert (sizes[1] - sizes[0]) / 2 == 4 * B * T * d


# ------------------------------------------------------------------ loss scaling
@settings(max_examples=20, deadline=None)
@given(
    st.lists(st.booleans(), min_size=1, max_size=60),
    st.integers(1, 5),
    st.sampled_from([2.0, 4.0]),
    st.sampled_from([0.5, 0.25]),
)
def test_update_loss_scale_matches_torch_kernel(
    overflows: list[bool], interval: int, growth: float, backoff: float
) -> None:
    scale, tracker = 1024.0, 0
    t_scale = torch.tensor([1024.0])
    t_tracker = torch.tensor([0], dtype=torch.int32)
    for found in overflows:
        scale, tracker = distributed.update_loss_scale(
            scale,
            tracker,
            found,
            growth_factor=growth,
            backoff_factor=backoff,
            growth_interval=interval,
        )
        torch._amp_update_scale_(
            t_scale, t_tracker, torch.tensor([float(found)]), growth, backoff, interval
        )
        assert scale == t_scale.item()
        assert tracker == t_tracker.item()


def test_scaled_sgd_step_matches_grad_scaler() -> None:
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    ours = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=256.0, growth_interval=3)
    scale, tracker = 256.0, 0
    X, y = torch.randn(8, 4), torch.randn(8, 2)
    for step in range(8):
        opt.zero_grad()
        scaler.scale(F.mse_loss(model(X), y)).backward()
        if step in (2, 5):  # inject an overflow
            weight_grad = next(model.parameters()).grad
            assert weight_grad is not None
            weight_grad[0, 0] = float("inf")
        grads = [p.grad.detach().clone() for p in model.parameters() if p.grad is not None]
        used = scaler.get_scale()
        scaler.step(opt)
        scaler.update()
        ours, scale, tracker, skipped = distributed.scaled_sgd_step(
            ours, grads, scale, tracker, lr=0.1, growth_interval=3
        )
        assert scale == scaler.get_scale() and used > 0
        assert skipped == (step in (2, 5))
        for a, p in zip(ours, model.parameters(), strict=True):
            torch.testing.assert_close(a, p.detach(), rtol=0, atol=1e-7)
        with torch.no_grad():  # follow the reference exactly from here on
            for a, p in zip(ours, model.parameters(), strict=True):
                a.copy_(p)


def test_scaled_sgd_step_keeps_dtype_and_does_not_modify_inputs() -> None:
    p = [torch.tensor([1.0, 2.0], dtype=torch.float16)]
    g = [torch.tensor([512.0, -1024.0], dtype=torch.float16)]
    before = g[0].clone()
    new, _, _, skipped = distributed.scaled_sgd_step(p, g, 1024.0, 0, lr=0.5)
    assert new[0].dtype == torch.float16 and not skipped
    torch.testing.assert_close(new[0], torch.tensor([0.75, 2.5], dtype=torch.float16))
    assert torch.equal(g[0], before) and torch.equal(p[0], torch.tensor([1.0, 2.0]).half())


# -------------------------------------------------- accumulation and data parallelism
@pytest.mark.parametrize("k", [1, 3, 7, 10])
def test_accumulate_gradients_equals_one_backward_pass(k: int, device: torch.device) -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 4)).double().to(device)
    X = torch.randn(10, 6, dtype=torch.float64, device=device)
    y = torch.randint(0, 4, (10,), device=device)
    loss, returned = distributed.accumulate_gradients(net, F.cross_entropy, X, y, k)
    got = [p.grad.clone() for p in net.parameters() if p.grad is not None]
    assert len(got) == len(returned) == 4
    assert all(r is p.grad for r, p in zip(returned, net.parameters(), strict=True))
    net.zero_grad()
    full = F.cross_entropy(net(X), y)
    full.backward()
    assert loss == pytest.approx(full.item(), rel=1e-12)
    for a, p in zip(got, net.parameters(), strict=True):
        torch.testing.assert_close(a, p.grad, rtol=1e-12, atol=1e-14)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 7), st.integers(1, 23), st.sampled_from([torch.float64, torch.int64]))
def test_ring_allreduce_gives_every_worker_the_sum(p: int, n: int, dtype: torch.dtype) -> None:
    g = torch.Generator().manual_seed(p * 100 + n)
    tensors = [torch.randint(-50, 50, (n,), generator=g).to(dtype) for _ in range(p)]
    total = torch.stack(tensors).sum(0)
    before = [t.clone() for t in tensors]
    out = distributed.ring_allreduce(tensors)
    assert len(out) == p
    for t in out:
        assert t.dtype == dtype
        torch.testing.assert_close(t, total, rtol=1e-12, atol=1e-12)
    for t, b in zip(tensors, before, strict=True):
        assert torch.equal(t, b)


def test_ring_allreduce_keeps_shape_and_device(device: torch.device) -> None:
    tensors = [torch.randn(3, 4, device=device) for _ in range(3)]
    out = distributed.ring_allreduce(tensors)
    assert out[0].shape == (3, 4) and out[0].device == tensors[0].device
    torch.testing.assert_close(out[2], sum(tensors))


def test_ring_allreduce_time_closed_form() -> None:
    assert distributed.ring_allreduce_time(1e9, 1, 1e9, 1e-3) == 0.0
    # p = 4: 6 steps of latency, 1.5 N / beta
    assert distributed.ring_allreduce_time(2e9, 4, 1e9, 1e-3) == pytest.approx(6e-3 + 3.0)


# ------------------------------------------------------------- beyond one device
def test_zero_memory_reproduces_the_paper() -> None:
    # Rajbhandari et al. 2020, Figure 1: 7.5B parameters, N_d = 64, K = 12
    expected_gb = [120.0, 31.4, 16.6, 1.9]
    for stage, gb in enumerate(expected_gb):
        got = 7.5e9 * distributed.zero_bytes_per_parameter(stage, 64) / 1e9
        assert got == pytest.approx(gb, abs=0.05)


@pytest.mark.parametrize("p", [1, 2, 3, 8, 12])
def test_tensor_parallel_mlp_equals_the_unsplit_mlp(p: int, device: torch.device) -> None:
    g = torch.Generator().manual_seed(p)
    kw: dict[str, Any] = {"generator": g, "dtype": torch.float64}
    x, W1, b1 = torch.randn(2, 3, 5, **kw), torch.randn(12, 5, **kw), torch.randn(12, **kw)
    W2, b2 = torch.randn(4, 12, **kw), torch.randn(4, **kw)
    args = [t.to(device) for t in (x, W1, b1, W2, b2)]
    ref = F.linear(F.gelu(F.linear(args[0], args[1], args[2])), args[3], args[4])
    x, W1, b1, W2, b2 = args
    got = distributed.tensor_parallel_mlp(x, W1, b1, W2, b2, p)
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)
    # non-contiguous input works
    xt = x.transpose(0, 1).contiguous().transpose(0, 1)
    torch.testing.assert_close(distributed.tensor_parallel_mlp(xt, W1, b1, W2, b2, p), ref)


@pytest.mark.parametrize(("K", "m"), [(1, 1), (2, 3), (4, 12), (8, 5)])
def test_pipeline_bubble_matches_a_simulated_schedule(K: int, m: int) -> None:
    # GPipe forward sweep: stage k works on micro-batch j in time slot j + k
    busy = {(j + k, k) for j in range(m) for k in range(K)}
    slots = max(t for t, _ in busy) + 1
    idle = slots * K - len(busy)
    assert distributed.pipeline_bubble(K, m) == pytest.approx(idle / (slots * K))


# -------------------------------------------------------------------- bad input
ERRORS: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    ("matmul zero", lambda: distributed.matmul_flops(0, 2, 2), ValueError, "`m`"),
    (
        "matmul float",
        lambda: distributed.matmul_flops(2, 2.0, 2),  # type: ignore[arg-type]
        TypeError,
        "`k`",
    ),
    (
        "intensity bytes",
        lambda: distributed.arithmetic_intensity(2, 2, 2, 0),
        ValueError,
        "bytes_per_element",
    ),
    ("roofline", lambda: distributed.roofline(-1.0, 1.0, 1.0), ValueError, "intensity"),
    (
        "gpt config",
        lambda: distributed.gpt_forward_flops("gpt", 4),  # type: ignore[arg-type]
        TypeError,
        "config",
    ),
    (
        "gpt seq_len",
        lambda: distributed.gpt_forward_flops(lm.GPTConfig(5, 4, 1, 1, 2), 5),
        ValueError,
        "seq_len",
    ),
    ("saved fn", lambda: distributed.saved_tensor_bytes(3), TypeError, "fn"),  # type: ignore[arg-type]
    ("scale zero", lambda: distributed.update_loss_scale(0.0, 0, False), ValueError, "scale"),
    (
        "found_inf",
        lambda: distributed.update_loss_scale(1.0, 0, 1),  # type: ignore[arg-type]
        TypeError,
        "found_inf",
    ),
    (
        "backoff",
        lambda: distributed.update_loss_scale(1.0, 0, False, backoff_factor=1.5),
        ValueError,
        "backoff_factor",
    ),
    (
        "growth",
        lambda: distributed.update_loss_scale(1.0, 0, False, growth_factor=1.0),
        ValueError,
        "growth_factor",
    ),
    (
        "step lengths",
        lambda: distributed.scaled_sgd_step([torch.zeros(2)], [], 1.0, 0, lr=0.1),
        ValueError,
        "scaled_grads",
    ),
    (
        "step shape",
        lambda: distributed.scaled_sgd_step([torch.zeros(2)], [torch.zeros(3)], 1.0, 0, lr=0.1),
        ValueError,
        "scaled_grads[0]",
    ),
    (
        "step int",
        lambda: distributed.scaled_sgd_step(
            [torch.zeros(2, dtype=torch.long)], [torch.zeros(2)], 1.0, 0, lr=0.1
        ),
        TypeError,
        "params[0]",
    ),
    (
        "accumulate k",
        lambda: distributed.accumulate_gradients(
            nn.Linear(2, 1), F.mse_loss, torch.zeros(3, 2), torch.zeros(3, 1), 4
        ),
        ValueError,
        "micro_batches",
    ),
    (
        "accumulate lengths",
        lambda: distributed.accumulate_gradients(
            nn.Linear(2, 1), F.mse_loss, torch.zeros(3, 2), torch.zeros(2, 1), 1
        ),
        ValueError,
        "targets",
    ),
    ("ring empty", lambda: distributed.ring_allreduce([]), TypeError, "tensors"),
    (
        "ring shapes",
        lambda: distributed.ring_allreduce([torch.zeros(2), torch.zeros(3)]),
        ValueError,
        "tensors[1]",
    ),
    (
        "ring devices",
        lambda: distributed.ring_allreduce([torch.zeros(2), torch.zeros(2, device="meta")]),
        ValueError,
        "tensors[1]",
    ),
    (
        "ring time",
        lambda: distributed.ring_allreduce_time(1.0, 2, 0.0),
        ValueError,
        "bandwidth",
    ),
    ("zero stage", lambda: distributed.zero_bytes_per_parameter(4, 8), ValueError, "stage"),
    (
        "tp width",
        lambda: distributed.tensor_parallel_mlp(
            torch.zeros(2, 3),
            torch.zeros(4, 3),
            torch.zeros(4),
            torch.zeros(3, 4),
            torch.zeros(3),
            5,
        ),
        ValueError,
        "world_size",
    ),
    (
        "tp shape",
        lambda: distributed.tensor_parallel_mlp(
            torch.zeros(2, 2),
            torch.zeros(4, 3),
            torch.zeros(4),
            torch.zeros(3, 4),
            torch.zeros(3),
            2,
        ),
        ValueError,
        "`x`",
    ),
    (
        "tp device",
        lambda: distributed.tensor_parallel_mlp(
            torch.zeros(2, 3),
            torch.zeros(4, 3, device="meta"),
            torch.zeros(4),
            torch.zeros(3, 4),
            torch.zeros(3),
            2,
        ),
        ValueError,
        "device",
    ),
    ("bubble", lambda: distributed.pipeline_bubble(0, 3), ValueError, "stages"),
]


@pytest.mark.parametrize(("name", "call", "error", "words"), ERRORS, ids=[e[0] for e in ERRORS])
def test_bad_input_is_rejected_clearly(
    name: str, call: Callable[[], Any], error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=None) as info:
        call()
    assert words in str(info.value), str(info.value)


# ------------------------------------------------ two processes equal one process
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _worker(rank: int, world: int, port: int, X: torch.Tensor, y: torch.Tensor, out: str) -> None:
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.distributed.init_process_group("gloo", rank=rank, world_size=world)
    try:
        model = _mlp()
        opt = torch.optim.SGD(model.parameters(), lr=0.2)
        history = train.fit(
            model, opt, nn.CrossEntropyLoss(), (X, y), epochs=2, batch_size=16, progress=False
        )
        # a DataLoader sharded by DistributedSampler: rank r takes examples r, r + 2, ...
        # of the (unshuffled) data, 8 a batch, so the two ranks' batches make up the
        # one-process batches of 16
        sampler: DistributedSampler[Any] = DistributedSampler(TensorDataset(X, y), shuffle=False)
        loader = DataLoader(TensorDataset(X, y), batch_size=8, sampler=sampler)
        model2 = _mlp()
        opt2 = torch.optim.SGD(model2.parameters(), lr=0.2)
        train.fit(model2, opt2, nn.CrossEntropyLoss(), loader, epochs=2, progress=False)
        if rank == 0:  # rank 0 writes, as fit's users do
            torch.save(
                (
                    [p.detach() for p in model.parameters()],
                    history["train_loss"],
                    [p.detach() for p in model2.parameters()],
                ),
                out,
            )
    finally:
        torch.distributed.destroy_process_group()


def _mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).double()


@pytest.mark.timeout(120)
def test_two_process_fit_equals_one_process_on_the_whole_batches(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(64, 5, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (64,), generator=g)
    out = str(tmp_path / "rank0.pt")
    mp.start_processes(  # type: ignore[attr-defined,no-untyped-call]
        _worker, args=(2, _free_port(), X, y, out), nprocs=2, join=True, start_method="fork"
    )
    params, losses, loader_params = torch.load(out, weights_only=True)
    model = _mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    history = train.fit(
        model, opt, nn.CrossEntropyLoss(), (X, y), epochs=2, batch_size=16, progress=False
    )
    start = _mlp()
    moved = max((a - b).abs().max().item() for a, b in zip(params, start.parameters(), strict=True))
    assert moved > 1e-3  # the parameters did change
    for a, p in zip(params, model.parameters(), strict=True):
        torch.testing.assert_close(a, p.detach(), rtol=0, atol=1e-14)
    assert losses == pytest.approx(history["train_loss"], rel=1e-13)
    # the DataLoader run against one process on the unshuffled batches of 16
    model2 = _mlp()
    opt2 = torch.optim.SGD(model2.parameters(), lr=0.2)
    in_order = [(X[i : i + 16], y[i : i + 16]) for i in range(0, 64, 16)]
    for _ in range(2):
        train.train_epoch(model2, opt2, nn.CrossEntropyLoss(), in_order)
    for a, p in zip(loader_params, model2.parameters(), strict=True):
        torch.testing.assert_close(a, p.detach(), rtol=0, atol=1e-14)
