"""A character-level version of Chapter 13's small GPT, trained for minutes on the CPU.

    python benchmarks/lm_long_run.py [--steps 8000] [--threads 1] [--out FILE.json]
    python benchmarks/lm_long_run.py --tokens bpe --steps 1500 --eval-every 150

The chapter trains its GPT on BPE tokens for a fixed, small number of steps so that the
book builds in minutes. This script trains a GPT of the same depth, width and heads on
*characters* (the corpus's alphabet, a context of 64 characters, 32 windows a step,
learning rate 2e-3) with a longer cosine schedule, scored in consecutive 64-character
windows, and records the validation bits per character against the process CPU time
spent training (``time.process_time``, which does not count the time other programs take
from a shared machine). The chapter reads the JSON file it writes and draws it beside
its own runs, as what characters and a short evaluation context reach in several times
the chapter's CPU budget.

With ``--tokens bpe`` it trains the chapter's earlier configuration instead (before
dropout, bfloat16 and the 1,024-token vocabulary were chosen with ``lm_tune.py``), for
longer: a 512-token BPE tokeniser trained on the training text, float32, no dropout,
64 windows of 64 tokens a step, learning rate 6e-3 with 50 warm-up steps, scored with
the sliding window of stride 32 and converted to bits per character as the chapter
does (total nats over the scored tokens / the characters they spell / ln 2); it writes
``lm_long_run_bpe.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from collections.abc import Callable
from pathlib import Path

import torch

from dlbook import bpe, data, lm, optim

#: The chapter's GPT shape (Chapter 13, section "A small GPT"), on characters.
CONFIG = {"block_size": 64, "n_layer": 3, "n_head": 4, "d_model": 96}
BATCH_SIZE = 32
LR = 2e-3
WARMUP = 100


def lr_schedule(steps: int) -> Callable[[int], float]:
    """Linear warm-up for WARMUP steps, then cosine decay to a tenth of LR at ``steps``."""

    def at(step: int) -> float:
        if step < WARMUP:
            return LR * step / WARMUP
        progress = (step - WARMUP) / max(1, steps - WARMUP)
        return LR * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))

    return at


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--steps", type=int, default=8000)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tokens", choices=("char", "bpe"), default="char")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    bpe_run = args.tokens == "bpe"
    name = "lm_long_run_bpe.json" if bpe_run else "lm_long_run.json"
    out = Path(args.out) if args.out else Path(__file__).with_name(name)

    text = data.text_corpus()
    cut = int(0.9 * len(text))  # first 90 % train, last 10 % validation, as in Chapter 11
    stride: int | None = None
    if bpe_run:
        tok = bpe.train_bpe(text[:cut], 512)
        train = torch.tensor(tok.encode(text[:cut]))
        valid_list = tok.encode(text[cut:])
        valid = torch.tensor(valid_list)
        vocab_size, batch_size, lr, warmup = tok.vocab_size, 64, 6e-3, 50
        chars = len(tok.decode(valid_list[1:]))  # characters of the scored tokens
        stride = CONFIG["block_size"] // 2
    else:
        alphabet = sorted(set(text))
        index = {c: i for i, c in enumerate(alphabet)}
        ids = torch.tensor([index[c] for c in text])
        train, valid = ids[:cut], ids[cut:]
        vocab_size, batch_size, lr, warmup = len(alphabet), BATCH_SIZE, LR, WARMUP
        chars = len(valid) - 1

    g = torch.Generator().manual_seed(0)
    config = lm.GPTConfig(vocab_size=vocab_size, **CONFIG)
    model = lm.GPT(config, g)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.99), weight_decay=0.1)

    result: dict[str, object] = {
        "config": CONFIG,
        "tokens": args.tokens,
        "vocab_size": vocab_size,
        "batch_size": batch_size,
        "lr": lr,
        "eval_stride": stride,
        "steps": args.steps,
        "threads": args.threads,
        "torch": torch.__version__,
        "machine": platform.processor() or platform.machine(),
    }
    record: list[dict[str, float]] = []
    result["record"] = record
    start = time.process_time()
    spent_evaluating = [0.0]

    def valid_bpc() -> float:
        # Called by train_lm every eval_every steps; the file is rewritten each time so a
        # run stopped early keeps what it measured.
        before = time.process_time()
        nll = lm.evaluate_nll(model, valid, config.block_size, stride=stride)
        bpc = lm.bits_per_character(nll, len(valid) - 1, chars)
        cpu = before - start - spent_evaluating[0]
        spent_evaluating[0] += time.process_time() - before
        step = (len(record) + 1) * args.eval_every
        record.append({"step": min(step, args.steps), "cpu_seconds": cpu, "valid_bpc": bpc})
        out.write_text(json.dumps(result, indent=1) + "\n")
        print(f"step {step:6d}  cpu {cpu:8.1f} s  valid {bpc:.4f} bpc", flush=True)
        return bpc

    def bpe_schedule(step: int) -> float:
        return optim.warmup_cosine_lr(
            step, lr=lr, warmup_steps=warmup, total_steps=args.steps, lr_min=0.1 * lr,
            start_factor=0.01,
        )  # fmt: skip

    lm.train_lm(
        model,
        opt,
        train,
        steps=args.steps,
        batch_size=batch_size,
        block_size=config.block_size,
        generator=torch.Generator().manual_seed(0) if bpe_run else g,  # as the chapter
        eval_every=args.eval_every,
        evaluate=valid_bpc,
        lr_schedule=bpe_schedule if bpe_run else lr_schedule(args.steps),
    )


if __name__ == "__main__":
    main()
