"""Every command the READMEs show works from a fresh shell.

``make book`` and ``make test`` are what CI runs (``.ci/run``). Every other ``make``
command quoted in ``README.md`` or ``exercises/README.md`` is checked here: each one must
name a real target and expand without error (``make -n``), with a minimal environment (no
activated venv); the cheap ones also run for real.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
READMES = [ROOT / "README.md", ROOT / "exercises" / "README.md"]
# A fresh shell: no activated venv, no project variables, just a PATH.
FRESH = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root")}
if "PYENV_ROOT" in os.environ:  # where python3 comes from on some machines
    FRESH["PATH"] = f"{os.environ['PYENV_ROOT']}/shims:" + FRESH["PATH"]


def make_commands() -> list[str]:
    """Every ``make ...`` command in the READMEs, from code blocks and inline code."""
    found: list[str] = []
    for readme in READMES:
        text = readme.read_text()
        quoted = re.findall(r"`((?:[A-Z_]+=\S+ )*make [^`]+)`", text)
        blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
        lines = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
        for command in quoted + [line for line in lines if line.startswith("make ")]:
            if command not in found:
                found.append(command)
    return found


def run(command: str, *, dry: bool) -> subprocess.CompletedProcess[str]:
    words = shlex.split(command)
    at = words.index("make")
    settings = dict(word.split("=", 1) for word in words[:at])  # VAR=value make ...
    arguments = words[at + 1 :]
    return subprocess.run(
        ["make", *(["-n"] if dry else []), *arguments],
        cwd=ROOT,
        env={**FRESH, **settings},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_readmes_show_the_commands_this_test_checks() -> None:
    commands = make_commands()
    for expected in ("make book", "make test", "make grade EX=ex00_tools", "make bench"):
        assert expected in commands, f"{expected!r} is no longer in a README"


@pytest.mark.parametrize("command", make_commands())
def test_every_make_command_in_a_readme_expands(command: str) -> None:
    completed = run(command, dry=True)
    venv = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=False,
    )
    if "PYTHON=python3.12" in command and venv.stdout.strip() != "(3, 12)":
        # .venv was made by another Python: make refuses, saying so (the README's promise
        # is that PYTHON picks the interpreter of a new .venv, never a silent mismatch).
        assert completed.returncode != 0, completed.stdout
        assert ".venv was made with Python" in completed.stderr, completed.stderr
        return
    assert completed.returncode == 0, f"{command}: {completed.stderr[-1500:]}"


def test_make_grade_prints_the_scores() -> None:
    completed = run("make grade EX=ex00_tools", dry=False)
    assert "ex00_tools:" in completed.stdout and "points" in completed.stdout, completed.stdout
    assert re.search(r"total\s+\d+ / 9 points", completed.stdout), completed.stdout[-2000:]


@pytest.mark.slow
def test_make_chapter_builds_one_chapter() -> None:
    # The shortest executable chapter; links to chapters outside the small book must not
    # fail it (they did before).
    completed = run("make chapter CH=book/ch01_history", dry=False)
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert (ROOT / "_build/chapters/ch01_history/_build/html/book/ch01_history.html").is_file()


def test_jupytext_from_the_venv_converts_a_chapter(tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            str(ROOT / ".venv/bin/jupytext"),
            *("--to", "ipynb", "book/preface.md", "-o", str(tmp_path / "preface.ipynb")),
        ],
        cwd=ROOT,
        env=FRESH,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "preface.ipynb").stat().st_size > 1000
