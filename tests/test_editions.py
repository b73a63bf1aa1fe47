"""The student edition: every exercise solution is absent from the site and its downloads.

A two-page book is built twice with the book's own Sphinx extension (``book/_ext``), once
as the student edition and once as the full edition, so the test also shows that the
solution text it looks for is really there when it should be.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
dlbook_site = importlib.import_module("dlbook_site")  # the book's Sphinx extension

SECRET = "the-answer-is-forty-two"
PAGE = f"""---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

(sec-chapter)=
# A chapter

```{{code-cell}} ipython3
from myst_nb import glue

print(6 * 7)
glue("product", "42", display=False)
```

The product is {{glue:text}}`product`, as {{cite}}`doe2020numbers` showed; the front page
is {{ref}}`the intro <sec-intro>`, and {{eq}}`eq-product` is numbered.

$$
6 \times 7 = 42
$$ (eq-product)

**Exercise 1.5 (a question).** What is six times seven?

```{{admonition}} Solution
:class: dropdown

It is 42, {SECRET} (short fence).
```

**Exercise 1.6 (another).** Show it with code.

````{{admonition}} Solution
:class: dropdown

```python
print("{SECRET} inside a code block, long fence")
```
````

1. **Exercise 1.7 (in a list).** And six times eight?

   ```{{admonition}} Solution
   :class: dropdown
   It is 48, {SECRET} (indented in a list item).
   ```

**Exercise 1.8 (no solution given).** Think about it.

```{{admonition}} Note
A note that stays in every edition.
```
"""


def build(tmp_path: Path, edition: str) -> Path:
    book = tmp_path / edition
    book.mkdir()
    (book / "intro.md").write_text(
        "(sec-intro)=\n# Intro\n\nThe front page.\n\n```{bibliography}\n```\n"
    )
    (book / "references.bib").write_text(
        "@book{doe2020numbers,\n  author = {Doe, Jane and Roe, Richard},\n"
        "  title = {On Numbers},\n  publisher = {Example Press},\n  year = {2020}\n}\n"
    )
    (book / "chapter.md").write_text(PAGE)
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: chapter\n")
    (book / "_config.yml").write_text(
        "title: Editions\n"
        "execute:\n  execute_notebooks: force\n"
        "html:\n  use_download_button: true\n"
        "bibtex_bibfiles:\n  - references.bib\n"
        "sphinx:\n"
        "  local_extensions:\n"
        f"    dlbook_site: {ROOT / 'book' / '_ext'}\n"
        "  extra_extensions:\n    - sphinx_togglebutton\n"
    )
    environment = {**os.environ, "DLBOOK_EDITION": edition}
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "jupyter-book"), "build", "-W", "-n", str(book)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return book / "_build" / "html"


def site_text(site: Path) -> dict[str, str]:
    return {
        str(path.relative_to(site)): path.read_text(errors="replace")
        for path in site.rglob("*")
        if path.is_file() and path.suffix in {".html", ".js", ".md", ".ipynb", ".txt"}
    }


@pytest.mark.slow
def test_student_edition_has_no_solution_anywhere(tmp_path: Path) -> None:
    student = site_text(build(tmp_path, "student"))
    leaks = [name for name, text in student.items() if SECRET in text]
    assert not leaks, f"solution text in the student edition: {leaks}"
    page = student["chapter.html"]
    assert "What is six times seven?" in page and "A note that stays" in page
    downloads = [name for name in student if name.startswith("_sources/chapter")]
    assert any(name.endswith(".ipynb") for name in downloads), downloads
    assert any(name.endswith(".md") for name in downloads), downloads
    for name in downloads:
        assert "Exercise 1.7" in student[name] and "Exercise 1.8" in student[name], name

    full = site_text(build(tmp_path, "full"))
    assert SECRET in full["chapter.html"]
    assert all(SECRET in full[name] for name in downloads), "the full edition keeps them"


@pytest.mark.slow
def test_downloaded_notebooks_are_plain_jupyter_markdown(tmp_path: Path) -> None:
    site = build(tmp_path, "full")
    cells = json.loads((site / "_sources" / "chapter.ipynb").read_text())["cells"]
    texts = ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown"]
    markdown = "\n".join(texts)
    assert re.search(r"\{[a-z:]+\}`", markdown) is None, "a MyST role is left raw"
    assert "(sec-chapter)=" not in markdown and "$$ (eq-product)" not in markdown
    assert "The product is 42, as (Doe and Roe, 2020) showed" in markdown
    assert "[the intro](intro.html#sec-intro)" in markdown and "(1) is numbered" in markdown
    assert markdown.count("<details>") == 3 and "<summary>Solution</summary>" in markdown
    assert "   <details>\n   <summary>Solution</summary>" in markdown  # the list item's indent
    assert texts[-1].startswith("## References")
    assert "Doe and Roe (2020). On Numbers. Example Press." in texts[-1]
    assert "```{code-cell}" not in markdown  # code stays in code cells, run or not


def test_strip_solutions_keeps_everything_else() -> None:
    stripped = dlbook_site.strip_solutions(PAGE)
    assert SECRET not in stripped
    assert stripped.count("**Exercise") == 4 and "A note that stays" in stripped
    assert "print(6 * 7)" in stripped


def test_an_unknown_edition_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLBOOK_EDITION", "teacher")
    with pytest.raises(ValueError, match="DLBOOK_EDITION must be one of"):
        dlbook_site.edition()


def test_the_handout_has_every_problem_and_no_solution(tmp_path: Path) -> None:
    handout = importlib.import_module("exercises.handout")
    written = handout.write_handout(tmp_path / "exercises")
    originals = sorted((ROOT / "exercises").glob("*/README.md"))
    assert len(written) == len(originals) + 1  # exercises/README.md too
    with_solutions = 0
    for original in originals:
        text = original.read_text()
        copy = (tmp_path / "exercises" / original.parent.name / "README.md").read_text()
        assert "<summary>Solution" not in copy, original
        with_solutions += "<summary>Solution" in text
        # every numbered problem survives
        assert re.findall(r"(?m)^\d+\. ", text) == re.findall(r"(?m)^\d+\. ", copy), original
    assert with_solutions >= 9, "the pencil-and-paper problems have their solutions"
    stub = ROOT / "exercises" / "ex09_training" / "training.py"
    assert (
        tmp_path / "exercises" / "ex09_training" / "training.py"
    ).read_text() == stub.read_text()
    with pytest.raises(ValueError, match="empty or new folder"):
        handout.write_handout(tmp_path / "exercises")


def test_figures_are_numbered_within_their_chapter() -> None:
    # Sphinx's numbers across the book, in reading order (here out of dict order on purpose)
    fignumbers: dict[str, dict[str, dict[str, tuple[Any, ...]]]] = {
        "book/ch10_cnn": {"figure": {"fig-b": (12,), "fig-a": (11,)}, "table": {"t": (3,)}},
        "book/appendix_tools": {"figure": {"fig-x": (40,)}},
        "book/preface": {"figure": {"fig-p": (1,)}},
    }
    dlbook_site.number_within_chapters(fignumbers)
    assert fignumbers["book/ch10_cnn"]["figure"] == {"fig-a": ("10", 1), "fig-b": ("10", 2)}
    assert fignumbers["book/ch10_cnn"]["table"] == {"t": ("10", 1)}
    assert fignumbers["book/appendix_tools"]["figure"] == {"fig-x": ("A", 1)}
    assert fignumbers["book/preface"]["figure"] == {"fig-p": (1,)}  # not a chapter: as is
    assert dlbook_site.chapter_label("book/ch03_calculus") == "3"
