"""The exercise sets as students receive them: every pencil-and-paper solution removed.

    python -m exercises.handout DIR

copies ``exercises/`` to ``DIR`` (``make handout`` writes ``_build/handout/exercises``)
with each ``<details>`` block whose summary is "Solution" deleted from the READMEs, the
same solutions ``make book EDITION=student`` removes from the chapters. The stubs and the
graders are copied as they are.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOLUTION = re.compile(
    r"^[ \t]*<details>[ \t]*\n[ \t]*<summary>[ \t]*Solution\b.*?</details>[ \t]*\n\n?",
    re.MULTILINE | re.DOTALL,
)


def strip_solutions(markdown: str) -> str:
    """``markdown`` with every ``<details>`` solution block removed."""
    return SOLUTION.sub("", markdown)


def write_handout(target: Path) -> list[Path]:
    """Copy the exercise sets to ``target`` without solutions; return the READMEs written."""
    if target.exists() and any(target.iterdir()):
        raise ValueError(f"target must be an empty or new folder, got {target} (not empty)")
    shutil.copytree(HERE, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    written = []
    for readme in sorted(target.rglob("README.md")):
        readme.write_text(strip_solutions(readme.read_text(encoding="utf-8")), encoding="utf-8")
        written.append(readme)
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m exercises.handout DIR", file=sys.stderr)
        return 2
    written = write_handout(Path(argv[0]))
    print(f"wrote {len(written)} READMEs without solutions under {argv[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
