"""The wrong solutions a review of the graders tried (and a few right but unusual ones).

Each module in ``tests/wrong_solutions/`` is a submission for one exercise set: ``SET``
names the set, ``TESTS`` the grader tests that must catch it, ``MATCH`` a phrase the
failure must contain (so it fails for the reason it was written for, not by accident),
and ``EXPECT = "pass"`` marks a right solution that an earlier grader wrongly rejected.
The functions a module does not define are stubs. The grader tests are called directly,
in this process, on the CPU (their ``device`` fixture's first value), as pytest would call
them with ``--solutions=student``; only the tests named in ``TESTS`` run, so the whole
file takes seconds.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import types
from pathlib import Path
from typing import Any

import pytest
import torch

from dlbook.grading import load_submission

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "tests" / "wrong_solutions"
SOLUTIONS = sorted(p for p in FOLDER.glob("*.py") if not p.name.startswith("_"))


def header(path: Path) -> dict[str, Any]:
    """The module's SET, TESTS, MATCH and EXPECT, read without importing it."""
    values: dict[str, Any] = {"EXPECT": "fail", "MATCH": ""}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in ("SET", "TESTS", "MATCH", "EXPECT"):
                values[target.id] = ast.literal_eval(node.value)
    return values


def grader_of(exercise_set: str) -> types.ModuleType:
    """The set's main grader module (not test_open.py)."""
    folder = ROOT / "exercises" / exercise_set
    (path,) = (p for p in folder.glob("test_*.py") if p.name != "test_open.py")
    return importlib.import_module(f"exercises.{exercise_set}.{path.stem}")


def submission_for(path: Path, grader: types.ModuleType, tmp_path: Path) -> types.ModuleType:
    """The wrong solution as a submission file, with stubs for the functions it leaves out."""
    source = path.read_text()
    defined = {n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}
    stubs = [
        f"\n\ndef {name}(*args, **kwargs):\n    raise NotImplementedError('not implemented yet')\n"
        for name in grader.REFERENCES
        if name not in defined
    ]
    file = tmp_path / str(grader.SUBMISSION)
    file.write_text(source + "".join(stubs))
    return load_submission(file, grader.REFERENCES)


def run_grader_test(grader: types.ModuleType, name: str, submission: types.ModuleType) -> None:
    test = getattr(grader, name)
    arguments = {"submission": submission, "device": torch.device("cpu")}
    test(**{k: arguments[k] for k in inspect.signature(test).parameters})


def test_there_are_wrong_solutions() -> None:
    assert len(SOLUTIONS) >= 20
    for path in SOLUTIONS:
        spec = header(path)
        assert spec["SET"] and spec["TESTS"], f"{path.name} needs SET and TESTS"
        assert spec["EXPECT"] in ("fail", "pass")
        assert spec["EXPECT"] == "pass" or spec["MATCH"], f"{path.name} needs MATCH"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_the_grader_catches_it(path: Path, tmp_path: Path) -> None:
    spec = header(path)
    grader = grader_of(spec["SET"])
    submission = submission_for(path, grader, tmp_path)
    for name in spec["TESTS"]:
        if spec["EXPECT"] == "pass":
            run_grader_test(grader, name, submission)  # a right solution must pass
            continue
        with pytest.raises(AssertionError) as caught:
            run_grader_test(grader, name, submission)
        message = str(caught.value)
        assert "not implemented yet" not in message, f"{name} failed on a stub: {message}"
        assert spec["MATCH"] in message, f"{name} failed for another reason: {message}"
