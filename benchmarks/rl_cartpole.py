"""Chapter 21's long runs on CartPole-v1: REINFORCE over five seeds and DQN for longer.

Run from the repository root (about 2 minutes of CPU on one thread):

    .venv/bin/python benchmarks/rl_cartpole.py          # train, write the JSON and figure
    .venv/bin/python benchmarks/rl_cartpole.py --plot   # redraw the figure from the JSON

It writes ``benchmarks/rl_cartpole.json``, which Chapter 21 reads and draws, and
``benchmarks/rl_cartpole.png``, the learning curves of all runs. Every agent is
evaluated greedily over the same 100 episodes (seeds 10_000 ... 10_099), as the solved
threshold of CartPole-v1 (mean return 475 over 100 episodes) is defined.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

from dlbook import rl

OUT = Path(__file__).with_name("rl_cartpole.json")
FIGURE = OUT.with_suffix(".png")
EVAL_SEED = 10_000


def main() -> None:
    torch.set_num_threads(1)
    result: dict[str, object] = {"eval_seed": EVAL_SEED, "episodes": 100}
    reinforce = []
    for seed in range(5):
        start = time.process_time()
        policy, history = rl.train_reinforce(iterations=60, num_envs=16, seed=seed)
        cpu = time.process_time() - start
        score = float(rl.evaluate_policy(policy, seed=EVAL_SEED).mean())
        reinforce.append({"seed": seed, "history": history, "eval_mean": score, "cpu_s": cpu})
        print(f"REINFORCE seed {seed}: eval {score:.1f}, {cpu:.1f} s CPU", flush=True)
    result["reinforce"] = reinforce
    dqn = []
    for seed in range(3):
        start = time.process_time()
        q_net, log = rl.train_dqn(steps=40_000, seed=seed)
        cpu = time.process_time() - start
        score = float(rl.evaluate_policy(q_net, seed=EVAL_SEED).mean())
        dqn.append({"seed": seed, **log, "eval_mean": score, "cpu_s": cpu})
        print(f"DQN seed {seed}: eval {score:.1f}, {cpu:.1f} s CPU", flush=True)
    result["dqn"] = dqn
    result["dqn_steps"] = 40_000
    result["dqn_num_envs"] = 4
    OUT.write_text(json.dumps(result))
    plot(result)


def plot(result: dict[str, object]) -> None:
    """Learning curves of every run, with the solved threshold 475 dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 3.4))
    for run in result["reinforce"]:  # type: ignore[attr-defined]
        ax.plot(np.arange(1, len(run["history"]) + 1), run["history"], lw=1)
    ax.set(xlabel="batch of 16 episodes", ylabel="mean return", title="REINFORCE, 5 seeds")
    for run in result["dqn"]:  # type: ignore[attr-defined]
        returns = np.asarray(run["episode_returns"], dtype=float)
        smooth = [returns[max(0, i - 19) : i + 1].mean() for i in range(len(returns))]
        ax2.plot(run["episode_end_step"], smooth, lw=1)
    ax2.set(xlabel="environment transitions", xscale="log", title="DQN, 3 seeds (mean of 20)")
    for a in (ax, ax2):
        a.axhline(475, color="0.3", ls="--", lw=1)
    fig.tight_layout()
    fig.savefig(FIGURE, dpi=120)


if __name__ == "__main__":
    if "--plot" in sys.argv[1:]:
        plot(json.loads(OUT.read_text()))
    else:
        main()
