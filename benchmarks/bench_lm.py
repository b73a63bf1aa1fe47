"""What does the book's GPT cost? A training step of dlbook.lm.GPT against torch.nn, side by side.

    python benchmarks/bench_lm.py [--device cpu|cuda] [--threads 1] [--rounds 5]

For each configuration, ``dlbook.lm.GPT`` (Chapter 9's written-out layer norm, Chapter 8's
erf GELU and Chapter 12's scaled dot-product attention) and the same architecture assembled
from ``torch.nn`` modules (``nn.Embedding``, ``nn.LayerNorm``, ``nn.Linear``, ``F.gelu``,
``F.scaled_dot_product_attention``) start from the same weights (the torch model loads
the GPT's ``state_dict``) and take training steps: forward, cross-entropy, backward and an
AdamW step, on the same batch. ``harness.compare`` times one step of each side with
``torch.utils.benchmark.Timer.blocked_autorange``, the two sides interleaved for
``--rounds`` rounds, and ``harness.report`` gives the median time per step with its
interquartile range, the median ratio dlbook / torch with the lowest and highest round's
ratio, and the achieved rate in GFLOP/s by the ``6 N D`` count of Chapter 13 (N
parameters, D tokens per step; attention's own operations are not counted, so the true
rate is a little higher). The first losses of the two models are compared, so the timing
is of the same arithmetic.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
import torch.nn.functional as F
from harness import compare, report
from torch import Tensor, nn

import dlbook
from dlbook import lm

CONFIGS = {
    "chapter (V=1024, M=3, d=96, T=64)": (lm.GPTConfig(1024, 64, 3, 4, 96), 64),
    "wider (M=4, d=256, T=128)": (lm.GPTConfig(103, 128, 4, 4, 256), 16),
}


class TorchAttention(nn.Module):
    def __init__(self, config: lm.GPTConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.c_attn = nn.Linear(config.d_model, 3 * config.d_model)
        self.c_proj = nn.Linear(config.d_model, config.d_model)

    def forward(self, x: Tensor) -> Tensor:
        B, T, d = x.shape
        q, k, v = self.c_attn(x).split(d, dim=2)  # 3 x (B, T, d)
        # (B, T, d) -> (B, h, T, d/h)
        q, k, v = (t.view(B, T, self.n_head, d // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        out: Tensor = self.c_proj(y.transpose(1, 2).reshape(B, T, d))  # (B, h, T, d/h) -> (B, T, d)
        return out


class TorchMLP(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.c_fc = nn.Linear(d, 4 * d)
        self.c_proj = nn.Linear(4 * d, d)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.c_proj(F.gelu(self.c_fc(x)))
        return out


class TorchBlock(nn.Module):
    def __init__(self, config: lm.GPTConfig) -> None:
        super().__init__()
        d = config.d_model
        self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = TorchAttention(config)
        self.mlp = TorchMLP(d)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln_1(x))
        out: Tensor = x + self.mlp(self.ln_2(x))
        return out


class TorchGPT(nn.Module):
    """The architecture of dlbook.lm.GPT from torch.nn parts, with the same state_dict keys."""

    def __init__(self, config: lm.GPTConfig) -> None:
        super().__init__()
        self.wte = nn.Embedding(config.vocab_size, config.d_model)
        self.wpe = nn.Embedding(config.block_size, config.d_model)
        self.h = nn.ModuleList(TorchBlock(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.d_model)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, tokens: Tensor) -> Tensor:
        x = self.wte(tokens) + self.wpe(torch.arange(tokens.shape[1], device=tokens.device))
        for block in self.h:
            x = block(x)
        out: Tensor = self.lm_head(self.ln_f(x))  # (B, T, V)
        return out


def make_step(model: nn.Module, x: Tensor, y: Tensor) -> tuple[Callable[[], float], float]:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def logits() -> Tensor:
        out = model(x)
        result: Tensor = out[0] if isinstance(out, tuple) else out
        return result

    with torch.no_grad():
        first = float(F.cross_entropy(logits().flatten(0, 1), y.flatten()))

    def step() -> float:
        loss = F.cross_entropy(logits().flatten(0, 1), y.flatten())  # (B T, V) vs (B T,)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return float(loss.detach())  # waits for the device, so the timing is complete

    return step, first


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--min-run-time", type=float, default=0.5)
    args = parser.parse_args()
    device = dlbook.device(args.device)
    torch.set_num_threads(args.threads)
    print(
        f"device: {device}, torch {torch.__version__}, {args.threads} thread(s), "
        f"{args.rounds} alternating rounds of blocked_autorange"
    )
    results = []
    for name, (config, batch) in CONFIGS.items():
        g = torch.Generator().manual_seed(0)
        ours = lm.GPT(config, g).to(device)
        theirs = TorchGPT(config).to(device)
        theirs.load_state_dict(ours.state_dict())
        data = torch.randint(0, config.vocab_size, (batch, config.block_size + 1), generator=g)
        x, y = data[:, :-1].to(device), data[:, 1:].to(device)
        step_ours, loss_ours = make_step(ours, x, y)
        step_theirs, loss_theirs = make_step(theirs, x, y)
        print(f"{name}: |first loss, dlbook - torch| = {abs(loss_ours - loss_theirs):.1e}")
        flops = lm.training_flops(lm.gpt_num_parameters(config), batch * config.block_size)
        results.append(
            compare(
                name, step_ours, step_theirs, rounds=args.rounds,
                min_run_time=args.min_run_time, num_threads=args.threads, flops=flops,
            )
        )  # fmt: skip
    report(results, title="one training step (forward, backward, AdamW)")


if __name__ == "__main__":
    main()
