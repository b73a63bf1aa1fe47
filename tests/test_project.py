"""The project holds together: the table of contents, the chapters, CI and the README."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        for chapter in part["chapters"]:
            files.append(chapter["file"])
            files.extend(section["file"] for section in chapter.get("sections", []))
    return files


def test_every_toc_entry_exists_and_every_chapter_is_listed() -> None:
    listed = toc_files()
    for entry in listed:
        assert (ROOT / f"{entry}.md").is_file(), f"_toc.yml lists missing {entry}.md"
    on_disk = {f"book/{p.stem}" for p in (ROOT / "book").glob("*.md")}
    assert on_disk == set(listed), f"not in _toc.yml: {on_disk - set(listed)}"


def test_executable_chapters_are_jupytext_notebooks() -> None:
    for path in (ROOT / "book").glob("*.md"):
        text = path.read_text()
        if "```{code-cell}" not in text:
            continue
        front = text.split("---")[1]
        meta = yaml.safe_load(front)
        assert meta["jupytext"]["text_representation"]["format_name"] == "myst", path.name
        assert meta["kernelspec"]["name"] == "python3", path.name


def test_every_citation_has_an_entry() -> None:
    bib = "".join(p.read_text() for p in (ROOT / "book").glob("*.bib"))
    keys = set(re.findall(r"@\w+\{([^,]+),", bib))
    for path in (ROOT / "book").glob("*.md"):
        for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", path.read_text()):
            for key in group.split(","):
                assert key.strip() in keys, f"{path.name} cites unknown {key.strip()!r}"


def test_ci_runs_exactly_the_readme_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    for command in ("make book", "make test"):
        assert command in readme and re.search(rf"^{command}$", ci, re.MULTILINE), command


def test_every_chapter_opens_as_a_notebook() -> None:
    import jupytext
    import nbformat

    for path in (ROOT / "book").glob("*.md"):
        text = path.read_text()
        if "```{code-cell}" not in text:
            continue
        notebook = jupytext.reads(text, fmt="md:myst")
        nbformat.validate(notebook)
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        assert len(code) == text.count("```{code-cell}"), path.name
        assert notebook.metadata["kernelspec"]["name"] == "python3", path.name
