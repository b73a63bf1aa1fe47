"""Chapter 13's GPT on a development split, to choose its settings without the validation text.

    python benchmarks/lm_tune.py --tag adamw --steps 600 --dropout 0.1 --vocab 1024 --bf16
    python benchmarks/lm_tune.py --tag muon --steps 600 --dropout 0.1 --vocab 1024 --bf16 --muon
    python benchmarks/lm_tune.py --tag kneser-ney --kneser-ney
    python benchmarks/lm_tune.py --tag wd2-drop0.05-seed0 --steps 660 --dropout 0.05 \
        --vocab 1024 --bf16 --muon --ema 0.99 --seed 0 --wd 2.0 --round 3

The chapter judges its models on the last 10 % of the corpus (the validation text). To
choose the GPT's settings without looking at that text, this script cuts the first 90 %
(the chapter's training text) once more by position: it trains the BPE tokeniser and the
GPT on the first 80 % of the corpus and scores the next 10 % (the *development* text),
with the chapter's sliding-window evaluation (stride half the context) and its
bits-per-character accounting. Every run starts from the same seeded weights and draws
the same seeded batches, with AdamW (weight decay ``--wd``, default 0.1, on the weight
matrices and embeddings only) or, with ``--muon``, Muon (``torch.optim.Muon``,
``adjust_lr_fn="match_rms_adamw"``, the same rate and decay) on the blocks' weight
matrices and AdamW on the rest, under a warm-up-then-cosine schedule that ends at
``--lr-min`` (default 0.1) times the peak rate; ``--bf16`` runs the forward pass under
``torch.autocast`` with bfloat16 (the loss, weights and optimiser state in float32). The
CPU seconds are the process time spent training (``time.process_time``, one thread,
evaluation excluded). Each run appends one record to ``lm_tune.json`` (a run with an
existing tag replaces it); ``--round N`` stores the round of tuning with it (Chapter 13
draws its weight-decay grid from the runs of round 3).

As in the chapter, the text is deduplicated after the cut (``data.deduplicate_paragraphs``):
the training part keeps the first occurrence of each paragraph of 50 characters or more,
and the development part loses its own repeats and every paragraph the training part has.
``--raw`` skips that. ``--seed S`` draws the initial weights, the batches and the
dropout masks from seed ``S``, to measure the spread between runs. ``--ema D`` scores an
exponential moving average of the weights (decay ``D``, updated after every step,
``torch.optim.swa_utils.AveragedModel``) instead of the weights themselves. ``--kneser-ney``
scores interpolated Kneser-Ney character models of the chapter's orders on the
development text instead of training a GPT.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
from pathlib import Path
from typing import Any

import torch

from dlbook import bpe, data, lm, optim

#: The n-gram orders the chapter scores.
ORDERS = (1, 2, 3, 4, 5, 6, 8, 12, 16, 24)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tag", required=True)
    parser.add_argument("--steps", type=int, default=450)
    parser.add_argument("--block", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--d", type=int, default=96)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--lr", type=float, default=6e-3)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--wd", type=float, default=0.1, help="weight decay of the matrices")
    parser.add_argument(
        "--lr-min", dest="lr_min", type=float, default=0.1, help="final rate / peak rate"
    )
    parser.add_argument("--vocab", type=int, default=512)
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--muon", action="store_true")
    parser.add_argument("--ema", type=float, default=0.0, help="score an EMA of the weights")
    parser.add_argument("--raw", action="store_true", help="do not deduplicate")
    parser.add_argument("--kneser-ney", dest="kneser_ney", action="store_true")
    parser.add_argument(
        "--seed", type=int, default=None,
        help="seed of the weights, batches and dropout (default: weights and batches 0)",
    )  # fmt: skip
    parser.add_argument("--evals", type=int, default=6)
    parser.add_argument(
        "--round", type=int, default=None, help="the round of tuning, stored with the run"
    )
    parser.add_argument("--out", default=str(Path(__file__).with_name("lm_tune.json")))
    args = parser.parse_args()
    torch.set_num_threads(1)

    text = data.text_corpus()
    n = len(text)
    train_text, dev_text = text[: int(0.8 * n)], text[int(0.8 * n) : int(0.9 * n)]
    if not args.raw:
        train_text = data.deduplicate_paragraphs(train_text)
        dev_text = data.deduplicate_paragraphs(dev_text, seen=train_text)
    out = Path(args.out)
    doc: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {"runs": []}
    doc["about"] = __doc__  # the current description of the runs' arguments
    doc["runs"] = [r for r in doc["runs"] if r["tag"] != args.tag]
    if args.kneser_ney:
        chars_tok = bpe.CharTokenizer(text)
        largest = lm.KneserNey(chars_tok.encode(train_text), max(ORDERS), chars_tok.vocab_size)
        dev_ids = chars_tok.encode(dev_text)
        bpc = {n: largest.at_order(n).nll(dev_ids) / math.log(2) for n in ORDERS}
        doc["runs"].append({"tag": args.tag, "raw": args.raw, "kneser_ney_dev_bpc": bpc})
        out.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"{args.tag}: " + ", ".join(f"{n}: {b:.4f}" for n, b in bpc.items()), flush=True)
        return
    tok = bpe.train_bpe(train_text, args.vocab)
    train = torch.tensor(tok.encode(train_text))
    dev_list = tok.encode(dev_text)
    dev = torch.tensor(dev_list)
    chars = len(tok.decode(dev_list[1:]))  # characters of the scored tokens

    config = lm.GPTConfig(
        vocab_size=tok.vocab_size, block_size=args.block, n_layer=args.layers,
        n_head=args.heads, d_model=args.d, dropout=args.dropout,
    )  # fmt: skip
    seed = 0 if args.seed is None else args.seed
    if args.seed is not None:
        torch.manual_seed(args.seed)  # the dropout masks
    model = lm.GPT(config, torch.Generator().manual_seed(seed))
    # weight decay on the weight matrices and embeddings only, not on biases and gains
    hidden = [p for name, p in model.named_parameters() if args.muon and name.startswith("h.")
              and p.ndim == 2]  # fmt: skip
    rest = [p for p in model.parameters() if all(p is not q for q in hidden)]
    groups = [
        {"params": [p for p in rest if p.ndim == 2], "weight_decay": args.wd},
        {"params": [p for p in rest if p.ndim < 2], "weight_decay": 0.0},
    ]
    opt: list[torch.optim.Optimizer] = [torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.99))]
    if hidden:
        opt.append(
            torch.optim.Muon(
                hidden, lr=args.lr, weight_decay=args.wd, adjust_lr_fn="match_rms_adamw"
            )
        )

    def schedule(step: int) -> float:
        return optim.warmup_cosine_lr(
            step, lr=args.lr, warmup_steps=args.warmup, total_steps=args.steps,
            lr_min=args.lr_min * args.lr, start_factor=0.01,
        )  # fmt: skip

    average = torch.optim.swa_utils.AveragedModel(
        model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(args.ema or 0.5)
    )

    def dev_bpc() -> float:
        scored = average.module if args.ema else model
        nll = lm.evaluate_nll(scored, dev, args.block, stride=args.block // 2)
        return lm.bits_per_character(nll, len(dev) - 1, chars)

    record = lm.train_lm(
        model, opt, train, steps=args.steps, batch_size=args.batch, block_size=args.block,
        generator=torch.Generator().manual_seed(seed), eval_every=args.steps // args.evals,
        evaluate=dev_bpc, lr_schedule=schedule,
        autocast_dtype=torch.bfloat16 if args.bf16 else None,
        after_step=(lambda step: average.update_parameters(model)) if args.ema else None,
    )  # fmt: skip
    doc["runs"].append(
        {
            "tag": args.tag,
            "args": {
                k: v for k, v in vars(args).items() if k not in ("out", "tag", "evals", "round")
            },
            "torch": torch.__version__,
            "machine": platform.processor() or platform.machine(),
            "record": [{"step": s, "cpu_seconds": c, "dev_bpc": b} for s, c, b in record],
        }
        | ({} if args.round is None else {"round": args.round})
    )
    out.write_text(json.dumps(doc, indent=1) + "\n")
    for s, c, b in record:
        print(f"{args.tag}: step {s:5d}  cpu {c:7.1f} s  dev {b:.4f} bpc", flush=True)


if __name__ == "__main__":
    main()
