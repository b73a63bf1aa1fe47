"""Scores of a graded run: the per-set summary and Gradescope's results.json.

The fields checked are those of Gradescope's autograder specification
(https://gradescope-autograders.readthedocs.io/en/latest/specs/): a top-level ``score``
and ``max_score``, ``execution_time``, and ``tests``, each with ``name``, ``score``,
``max_score`` and ``output``, plus the optional ``number`` and ``visibility``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}


def run_grader(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def validate(results: dict[str, Any]) -> None:
    """Raise AssertionError unless ``results`` follows Gradescope's results.json format."""
    assert isinstance(results["score"], float) and isinstance(results["max_score"], float)
    assert isinstance(results["execution_time"], float) and results["execution_time"] >= 0
    assert results.get("visibility", "visible") in VISIBILITIES
    assert results.get("stdout_visibility", "hidden") in VISIBILITIES
    assert isinstance(results["tests"], list) and results["tests"]
    for test in results["tests"]:
        assert set(test) <= {"name", "number", "score", "max_score", "output", "visibility", "tags"}
        assert isinstance(test["name"], str) and test["name"]
        assert isinstance(test["output"], str)
        assert 0 <= test["score"] <= test["max_score"]
        assert test.get("visibility", "visible") in VISIBILITIES
    assert results["score"] == sum(test["score"] for test in results["tests"])
    assert results["max_score"] == sum(test["max_score"] for test in results["tests"])


def test_results_json_for_the_reference_and_for_the_stubs(tmp_path: Path) -> None:
    full = tmp_path / "reference.json"
    run_grader("exercises/ex09_training", "--solutions=reference", f"--results-json={full}")
    results = json.loads(full.read_text())
    validate(results)
    assert results["score"] == results["max_score"] > 0
    assert all(test["score"] == test["max_score"] > 0 for test in results["tests"])
    # 9.5, the open exercise (test_open.py), declares more than one point per test
    assert {test["number"] for test in results["tests"]} == {"9.1", "9.2", "9.3", "9.4", "9.5"}

    stubs = tmp_path / "stubs" / "ex09_training"
    stubs.mkdir(parents=True)
    shown = subprocess.run(
        ["git", "show", "HEAD:exercises/ex09_training/training.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    source = ROOT / "exercises" / "ex09_training" / "training.py"
    (stubs / "training.py").write_text(
        shown.stdout if shown.returncode == 0 else source.read_text()
    )
    empty = tmp_path / "stubs.json"
    completed = run_grader(
        "exercises/ex09_training",
        f"--submission-dir={tmp_path / 'stubs'}",
        f"--results-json={empty}",
        "-q",
        "--tb=no",
    )
    results = json.loads(empty.read_text())
    validate(results)
    assert results["score"] == 0 and results["max_score"] > 0
    assert all("not implemented yet" in test["output"] for test in results["tests"])
    assert "Exercise 9.1   0 / 3 points" in completed.stdout
    assert f"total          0 / {results['max_score']:g} points" in completed.stdout


def test_an_instructors_private_tests_with_their_own_points(tmp_path: Path) -> None:
    # An instructor's own cases, kept outside the book: a folder named like the set, the
    # book's grading fixtures loaded as a plugin, and the points declared by the test.
    private = tmp_path / "private" / "ex09_training"
    private.mkdir(parents=True)
    (private / "test_private.py").write_text(
        textwrap.dedent(
            """
            import pytest
            import torch

            from dlbook import optim
            from dlbook.grading import Case, check

            SUBMISSION = "training.py"
            REFERENCES = {"warmup_cosine_lr": optim.warmup_cosine_lr}


            # ---- Exercise 9.3
            @pytest.mark.points(5)
            def test_a_long_warm_up(submission):
                cases = [Case("step 7 of 40, warm-up 30", (7,),
                              {"lr": 0.1, "warmup_steps": 30, "total_steps": 40})]
                check(submission.warmup_cosine_lr, optim.warmup_cosine_lr, cases,
                      exercise="Exercise 9.3")
            """
        )
    )
    report = tmp_path / "private.json"
    completed = run_grader(
        str(private),
        "-p",
        "exercises.conftest",
        "--solutions=reference",
        f"--submission-dir={ROOT / 'exercises'}",
        f"--results-json={report}",
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    results = json.loads(report.read_text())
    validate(results)
    assert results["score"] == results["max_score"] == 5.0
    assert results["tests"][0]["number"] == "9.3"
