"""The one way the benchmarks time dlbook against PyTorch: interleaved, warmed up, robust.

``compare(ours, theirs)`` times two zero-argument callables with
``torch.utils.benchmark.Timer.blocked_autorange`` (which warms up, picks the number of
calls per block, and synchronises CUDA), alternating the two sides for ``rounds`` rounds so
that a change in the machine's load hits both alike. Each round gives one paired ratio;
the report is the median time of each side over all blocks, their interquartile ranges,
and the median ratio with the lowest and highest round's ratio as its spread.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.utils import benchmark


@dataclass
class Comparison:
    """Timings of dlbook's side (``ours``) and PyTorch's (``theirs``), in seconds."""

    name: str
    ours: list[float]
    theirs: list[float]
    ratios: list[float]
    flops: float | None = None

    @staticmethod
    def _iqr(times: list[float]) -> float:
        q1, _, q3 = statistics.quantiles(times, n=4) if len(times) > 1 else (0.0, 0.0, 0.0)
        return q3 - q1

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    def row(self) -> str:
        ours, theirs = statistics.median(self.ours), statistics.median(self.theirs)
        text = (
            f"{self.name:36s} {1e3 * ours:9.3f} ±{1e3 * self._iqr(self.ours):7.3f}"
            f" {1e3 * theirs:9.3f} ±{1e3 * self._iqr(self.theirs):7.3f}"
            f" {self.ratio:6.2f} [{min(self.ratios):.2f}, {max(self.ratios):.2f}]"
        )
        if self.flops is not None:
            text += f" {self.flops / ours / 1e9:8.2f} {self.flops / theirs / 1e9:8.2f}"
        return text


HEADER = (
    f"{'what':36s} {'dlbook ms':>9s} {'IQR':>8s} {'torch ms':>9s} {'IQR':>8s}"
    f" {'ratio':>6s} [round min, max]"
)
FLOPS_HEADER = f" {'GFLOP/s':>8s} {'GFLOP/s':>8s}"


def compare(
    name: str,
    ours: Callable[[], object],
    theirs: Callable[[], object],
    *,
    rounds: int = 5,
    min_run_time: float = 0.2,
    num_threads: int | None = None,
    flops: float | None = None,
) -> Comparison:
    """Time ``ours`` against ``theirs``, interleaved over ``rounds`` rounds.

    ``flops`` (floating-point operations of one call, if known) adds the achieved GFLOP/s
    of each side to the report.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    threads = num_threads if num_threads is not None else torch.get_num_threads()
    timers = [
        benchmark.Timer(stmt="work()", globals={"work": work}, num_threads=threads)
        for work in (ours, theirs)
    ]
    ours_times: list[float] = []
    theirs_times: list[float] = []
    ratios: list[float] = []
    for _ in range(rounds):
        a, b = (timer.blocked_autorange(min_run_time=min_run_time) for timer in timers)
        ours_times.extend(a.times)
        theirs_times.extend(b.times)
        ratios.append(a.median / b.median)
    return Comparison(name, ours_times, theirs_times, ratios, flops)


def report(comparisons: list[Comparison], *, title: str) -> None:
    """Print a table of comparisons under ``title``."""
    with_flops = any(c.flops is not None for c in comparisons)
    print(title)
    print(HEADER + (FLOPS_HEADER if with_flops else ""))
    for comparison in comparisons:
        print(comparison.row())
