"""A character-level version of Chapter 13's small GPT, trained for minutes on the CPU.

    python benchmarks/lm_long_run.py [--steps 4000] [--threads 1] [--out FILE.json]

The chapter trains its GPT on BPE tokens for a fixed, small number of steps so that the
book builds in minutes. This script trains a GPT of the same depth, width and heads on
*characters* (the corpus's alphabet, a context of 64 characters, 32 windows a step,
AdamW with learning rate 2e-3 and weight decay 0.1, no dropout) with a longer cosine
schedule, scored in consecutive 64-character windows, and records the validation bits
per character against the process CPU time spent training (``time.process_time``, which
does not count the time other programs take from a shared machine). The text is the
chapter's: the corpus cut by position (first 90 % train, last 10 % validation), then
deduplicated (``data.deduplicate_paragraphs``: the training text keeps the first
occurrence of each paragraph, the validation text loses its repeats and every paragraph
the training text has). The chapter reads the JSON file it writes and draws it beside its
own runs, as what characters and a short evaluation context reach in several times the
chapter's CPU budget.
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

from dlbook import data, lm

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
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out) if args.out else Path(__file__).with_name("lm_long_run.json")

    text = data.text_corpus()
    cut = int(0.9 * len(text))  # first 90 % train, last 10 % validation, as in Chapter 11
    train_text = data.deduplicate_paragraphs(text[:cut])
    valid_text = data.deduplicate_paragraphs(text[cut:], seen=train_text)
    alphabet = sorted(set(text))
    index = {c: i for i, c in enumerate(alphabet)}
    train = torch.tensor([index[c] for c in train_text])
    valid = torch.tensor([index[c] for c in valid_text])
    chars = len(valid) - 1

    g = torch.Generator().manual_seed(0)
    config = lm.GPTConfig(vocab_size=len(alphabet), **CONFIG)
    model = lm.GPT(config, g)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=(0.9, 0.99), weight_decay=0.1)

    result: dict[str, object] = {
        "config": CONFIG,
        "tokens": "char",
        "deduplicated": True,
        "vocab_size": len(alphabet),
        "batch_size": BATCH_SIZE,
        "lr": LR,
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
        nll = lm.evaluate_nll(model, valid, config.block_size)
        bpc = lm.bits_per_character(nll, len(valid) - 1, chars)
        cpu = before - start - spent_evaluating[0]
        spent_evaluating[0] += time.process_time() - before
        step = (len(record) + 1) * args.eval_every
        record.append({"step": min(step, args.steps), "cpu_seconds": cpu, "valid_bpc": bpc})
        out.write_text(json.dumps(result, indent=1) + "\n")
        print(f"step {step:6d}  cpu {cpu:8.1f} s  valid {bpc:.4f} bpc", flush=True)
        return bpc

    lm.train_lm(
        model,
        opt,
        train,
        steps=args.steps,
        batch_size=BATCH_SIZE,
        block_size=config.block_size,
        generator=g,
        eval_every=args.eval_every,
        evaluate=valid_bpc,
        lr_schedule=lr_schedule(args.steps),
    )


if __name__ == "__main__":
    main()
