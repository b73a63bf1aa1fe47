"""What does writing attention out cost? dlbook.attention against PyTorch's fused kernels.

    python benchmarks/bench_attention.py [--device cpu|cuda] [--threads 2] [--rounds 5]

Forward and backward of ``dlbook.attention.scaled_dot_product_attention`` (readable
operations: a matrix product, a mask, a softmax, a matrix product; Chapter 12; long causal
self-attention by blocks of 128 queries, so that the scores above each block's diagonal
are never computed) against ``torch.nn.functional.scaled_dot_product_attention`` (a fused
kernel that never stores the whole score matrix on CPU), at the shapes of Chapter 12 and
one larger shape, and ``dlbook.attention.MultiheadAttention`` against
``nn.MultiheadAttention``. Outputs are compared first, so the timing is of the same
arithmetic; then ``benchmarks/harness.py`` times both sides (warm-up,
``blocked_autorange``, the two sides interleaved over ``--rounds`` rounds, explicit
``num_threads``) and prints each side's median and interquartile range, the median ratio
dlbook / torch with the lowest and highest round's ratio, and the GFLOP/s of the two
matrix products counted densely (forward 4 B h T_q T_k d, backward twice that; both sides
skip part of it when causal, so their causal figures are "dense-equivalent").
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
import torch.nn.functional as F
from harness import Comparison, compare, report
from torch import nn

import dlbook
from dlbook import attention

# (name, B, h, T, d, causal): the sorting model's self-attention (batch 128, 2 heads of
# 16, 16 tokens), a row of the O(T^2) figure (1 x 1 x 1024 x 64), and a larger shape.
SDPA_SHAPES = [
    ("ch12 sorting model", 128, 2, 16, 16, True),
    ("ch12 O(T^2) figure, T=1024", 1, 1, 1024, 64, False),
    ("larger: 8 x 8 x 512 x 64", 8, 8, 512, 64, True),
]
MHA_SHAPES = [("ch12 sorting model", 128, 16, 32, 2), ("larger", 16, 256, 256, 8)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    device = dlbook.device(args.device)
    torch.set_num_threads(args.threads)
    rows: list[Comparison] = []
    g = torch.Generator(device="cpu").manual_seed(0)
    for name, B, h, T, d, causal in SDPA_SHAPES:
        q, k, v = (
            torch.randn(B, h, T, d, generator=g).to(device).requires_grad_(True) for _ in range(3)
        )
        w = torch.randn(B, h, T, d, generator=g).to(device)

        def step(
            fn: Callable[..., torch.Tensor],
            qkv: tuple[torch.Tensor, ...] = (q, k, v),
            w: torch.Tensor = w,
            causal: bool = causal,
        ) -> Callable[[], object]:
            def run() -> None:
                out = fn(*qkv, is_causal=causal)
                torch.autograd.grad(out, qkv, w)

            return run

        ref = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        ours = attention.scaled_dot_product_attention(q, k, v, is_causal=causal)
        torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-5)
        rows.append(
            compare(
                name,
                step(attention.scaled_dot_product_attention),
                step(F.scaled_dot_product_attention),
                rounds=args.rounds,
                num_threads=args.threads,
                flops=12.0 * B * h * T * T * d,  # 4 B h T^2 d forward, twice that backward
            )
        )
    title = f"device: {device}, torch {torch.__version__}, {args.threads} threads, float32"
    report(rows, title=f"scaled_dot_product_attention forward + backward; {title}")

    mha_rows: list[Comparison] = []
    for name, N, T, E, h in MHA_SHAPES:
        torch.manual_seed(0)
        theirs = nn.MultiheadAttention(E, h, batch_first=True).to(device)
        ours_m = attention.MultiheadAttention(E, h, batch_first=True).to(device)
        ours_m.load_state_dict(theirs.state_dict())
        x = torch.randn(N, T, E, generator=g).to(device).requires_grad_(True)
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool, device=device), 1)

        def mha_step(
            module: nn.Module, x: torch.Tensor = x, mask: torch.Tensor = mask
        ) -> Callable[[], object]:
            def run() -> None:
                out, _ = module(x, x, x, attn_mask=mask, need_weights=False)
                out.sum().backward()

            return run

        torch.testing.assert_close(
            ours_m(x, x, x, attn_mask=mask)[0],
            theirs(x, x, x, attn_mask=mask)[0],
            rtol=1e-4,
            atol=1e-5,
        )
        mha_rows.append(
            compare(
                f"MHA {name}: {N}x{T}x{E}, h={h}",
                mha_step(ours_m),
                mha_step(theirs),
                rounds=args.rounds,
                num_threads=args.threads,
            )
        )
    report(mha_rows, title=f"MultiheadAttention forward + backward; {title}")


if __name__ == "__main__":
    main()
