"""Scores for a graded run: a per-set summary on the terminal and Gradescope's results.json.

Every grader test is worth one point unless it says otherwise next to it, with
``@pytest.mark.points(3)``. A test belongs to the exercise named in the section comment
above it in its grader (``# ---- Exercise 9.1``). ``make grade`` prints, per set, the
points of each exercise and the total, and one line for each failing test: the grader's
message, without pytest's traceback (``pytest exercises/<set>`` shows the full report).

``--results-json=PATH`` also writes the scores in the format of Gradescope's autograder
(https://gradescope-autograders.readthedocs.io/en/latest/specs/): ``score``,
``max_score``, ``execution_time`` and one entry per test with ``name``, ``number``,
``score``, ``max_score``, ``output`` and ``visibility``.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SECTION = re.compile(r"^#\s*-*\s*(Exercise\s+\d+\.\d+)\b")


@dataclass
class Result:
    """The outcome of one grader test."""

    exercise_set: str
    exercise: str
    test: str
    points: float
    passed: bool
    message: str


def exercise_of(item: pytest.Item) -> str:
    """The exercise a test belongs to: the nearest section comment above its definition."""
    path = Path(str(item.fspath))
    line = item.reportinfo()[1]
    label = "Other"
    if line is None:
        return label
    for text in path.read_text(encoding="utf-8").splitlines()[: int(line) + 1]:
        found = SECTION.match(text)
        if found:
            label = re.sub(r"\s+", " ", found.group(1))
    return label


def points_of(item: pytest.Item) -> float:
    """The points a test is worth: its ``points`` marker, else 1."""
    marker = item.get_closest_marker("points")
    if marker is None:
        return 1.0
    (value,) = marker.args
    if not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{item.nodeid}: points must be a non-negative number, got {value!r}")
    return float(value)


def short_message(report: pytest.TestReport) -> str:
    """The grader's message for a failed test, without the traceback."""
    crash = getattr(report.longrepr, "reprcrash", None)
    message = str(crash.message) if crash is not None else str(report.longrepr)
    # Assertion messages carry pytest's "assert ..." rewrite after the grader's text, and
    # the grader's own errors their class name before it.
    message = message.split("\nassert ")[0].strip()
    return re.sub(r"^(?:[A-Za-z_][\w.]*(?:Error|Exception)): ", "", message)


class Scores:
    """A pytest plugin that records every grader test and reports the points."""

    def __init__(self, results_json: str | None) -> None:
        self.results_json = results_json
        self.items: dict[str, tuple[str, str, float]] = {}
        self.results: dict[str, Result] = {}
        self.started = time.monotonic()

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            folder = Path(str(item.fspath)).parent.name
            self.items[item.nodeid] = (folder, exercise_of(item), points_of(item))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid not in self.items:
            return
        folder, exercise, points = self.items[report.nodeid]
        failed = report.failed or (report.when == "call" and report.skipped)
        if report.when == "call" or failed:
            previous = self.results.get(report.nodeid)
            if previous is not None and not previous.passed:
                return  # keep the first failure (a teardown error must not hide it)
            self.results[report.nodeid] = Result(
                folder,
                exercise,
                report.nodeid.split("::")[-1],
                points,
                passed=report.passed and report.when == "call",
                message="" if report.passed else short_message(report),
            )

    def totals(self) -> tuple[float, float]:
        earned = sum((r.points for r in self.results.values() if r.passed), 0.0)
        return earned, sum((r.points for r in self.results.values()), 0.0)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.results:
            return
        write = terminalreporter.write_line
        terminalreporter.section("scores")
        by_set: dict[str, list[Result]] = {}
        for result in self.results.values():
            by_set.setdefault(result.exercise_set, []).append(result)
        for exercise_set, results in sorted(by_set.items()):
            write(f"{exercise_set}:")
            exercises: dict[str, list[Result]] = {}
            for result in results:
                exercises.setdefault(result.exercise, []).append(result)
            for exercise, group in exercises.items():
                earned = sum(r.points for r in group if r.passed)
                possible = sum(r.points for r in group)
                write(f"  {exercise:<14} {earned:g} / {possible:g} points")
                reasons: dict[str, list[str]] = {}
                for result in group:
                    if not result.passed:
                        first = result.message.splitlines()[0] if result.message else ""
                        reasons.setdefault(first[:200], []).append(result.test)
                for reason, names in reasons.items():
                    which = names[0] if len(names) == 1 else f"{len(names)} tests"
                    write(f"      {which} failed: {reason}")
            earned = sum(r.points for r in results if r.passed)
            possible = sum(r.points for r in results)
            write(f"  {'total':<14} {earned:g} / {possible:g} points")
        earned, possible = self.totals()
        if len(by_set) > 1:
            write(f"all sets: {earned:g} / {possible:g} points")

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.results_json is None:
            return
        earned, possible = self.totals()
        tests = [
            {
                "name": f"{r.exercise_set}: {r.exercise}: {r.test}",
                "number": r.exercise.removeprefix("Exercise "),
                "score": r.points if r.passed else 0.0,
                "max_score": r.points,
                "output": "passed" if r.passed else r.message,
                "visibility": "visible",
            }
            for r in self.results.values()
        ]
        payload = {
            "score": earned,
            "max_score": possible,
            "execution_time": round(time.monotonic() - self.started, 3),
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": tests,
        }
        target = Path(self.results_json)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        partial.replace(target)
