"""CI's proof that the homework grading is real.

Every exercise test must pass when the dlbook reference stands in for the student's stub,
and must fail, saying "not implemented yet", against the untouched stubs.
"""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETS = sorted(
    p.name for p in (ROOT / "exercises").iterdir() if p.is_dir() and p.name.startswith("ex")
)


def student_file(exercise_set: str) -> Path:
    """The file a student fills in: the set's one module that is neither a grader nor init."""
    folder = ROOT / "exercises" / exercise_set
    (path,) = (
        p for p in folder.glob("*.py") if p.name != "__init__.py" and not p.stem.startswith("test_")
    )
    return path


def committed_stub(path: Path) -> str:
    """The stub as committed (so a student's solutions in the working copy change nothing).

    Falls back to the working copy outside a git checkout or for a file not yet committed.
    """
    relative = path.relative_to(ROOT).as_posix()
    shown = subprocess.run(
        ["git", "show", f"HEAD:{relative}"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return shown.stdout if shown.returncode == 0 else path.read_text()


def grade(mode: str, tmp_path: Path) -> dict[str, str | None]:
    """Run the grader in a fresh interpreter; map each test to its failure message (or None).

    In ``student`` mode it grades the stubs as committed, copied to ``tmp_path``.
    """
    report = tmp_path / f"{mode}.xml"
    where: list[str] = []
    if mode == "student":
        for exercise_set in SETS:
            stub = student_file(exercise_set)
            copy = tmp_path / "stubs" / exercise_set / stub.name
            copy.parent.mkdir(parents=True)
            copy.write_text(committed_stub(stub))
        where = [f"--submission-dir={tmp_path / 'stubs'}"]
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "exercises",
            f"--solutions={mode}",
            *where,
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={report}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    assert report.exists(), f"the grader did not run:\n{completed.stdout}\n{completed.stderr}"
    outcome: dict[str, str | None] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        assert case.find("skipped") is None, f"{case.get('name')} was skipped"
        name = f"{case.get('classname')}::{case.get('name')}"
        outcome[name] = (
            None if problem is None else (problem.get("message") or "") + (problem.text or "")
        )
    return outcome


def test_there_are_exercise_sets() -> None:
    assert "ex00_tools" in SETS


# Each run grades every set (eighteen of them) in a fresh interpreter: about a minute on an
# idle 2-core machine, several under load, so these two get more than pytest's default 300 s.
@pytest.mark.timeout(1800)
def test_every_exercise_passes_with_the_reference(tmp_path: Path) -> None:
    outcome = grade("reference", tmp_path)
    for exercise_set in SETS:
        assert any(exercise_set in name for name in outcome), f"no tests ran for {exercise_set}"
    failed = {name: message for name, message in outcome.items() if message is not None}
    assert not failed, f"exercise tests fail even with the reference: {failed}"


@pytest.mark.timeout(1800)
def test_every_exercise_fails_against_the_untouched_stubs(tmp_path: Path) -> None:
    outcome = grade("student", tmp_path)
    assert outcome, "no exercise tests ran"
    passed = [name for name, message in outcome.items() if message is None]
    assert not passed, f"these tests pass without any solution, so they grade nothing: {passed}"
    unclear = [
        name
        for name, message in outcome.items()
        if message is not None and "not implemented yet" not in message
    ]
    assert not unclear, f"these tests fail on the stubs for another reason: {unclear}"


@pytest.mark.parametrize("exercise_set", SETS)
def test_each_set_has_statements_stubs_and_three_graded_functions(exercise_set: str) -> None:
    folder = ROOT / "exercises" / exercise_set
    assert (folder / "README.md").is_file()
    # One grader per set, plus (optionally) test_open.py for the set's open exercise.
    tests = sorted(folder.glob("test_*.py"))
    graders = [t for t in tests if t.name != "test_open.py"]
    assert len(graders) == 1, f"one grader file besides test_open.py, got {graders}"
    graded: set[str] = set()
    for test_file in tests:
        namespace: dict[str, object] = {}
        exec(compile(test_file.read_text(), str(test_file), "exec"), namespace)
        references = namespace["REFERENCES"]
        assert isinstance(references, dict)
        assert student_file(exercise_set).name == namespace["SUBMISSION"]
        graded |= set(references)
        if test_file in graders:
            assert len(references) >= 3
    stub = committed_stub(folder / student_file(exercise_set).name)
    stubs = re.findall(r"^\s+raise NotImplementedError\(", stub, re.MULTILINE)
    assert len(stubs) == len(graded), "one stub per graded function"
