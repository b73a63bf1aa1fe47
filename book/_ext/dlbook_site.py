"""Sphinx glue for the book's offline site.

* Offer each executed chapter as a downloadable ``.ipynb``, outputs included
  (sphinx-book-theme does this only when a launch button is configured, and the book
  has no launch service).
* Drop sphinx-thebe's assets: the book runs no live kernels, and its config script is
  injected twice by this Jupyter Book version, a console error on every page.
* The student edition (``DLBOOK_EDITION=student``, ``make book EDITION=student``): every
  exercise solution (an ``{admonition}`` titled "Solution") is removed from the pages, the
  search index and the downloadable ``.md`` and ``.ipynb`` files: absent, not hidden. The
  default, full edition keeps them folded for self-learners.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Any

import nbformat
from docutils import nodes
from jupyter_cache import get_cache
from sphinx.application import Sphinx

EDITIONS = ("full", "student")

# A MyST solution block: a backtick or colon fence of three or more opening
# ``{admonition} Solution`` and the same fence closing it (longer outer fences let a
# solution hold code blocks).
SOLUTION_BLOCK = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{admonition\}[ \t]*Solution\b.*?^(?P=fence)[ \t]*$\n?",
    re.MULTILINE | re.DOTALL,
)


def edition() -> str:
    """The edition being built, from ``DLBOOK_EDITION`` (``full`` when unset)."""
    chosen = os.environ.get("DLBOOK_EDITION", "") or "full"
    if chosen not in EDITIONS:
        raise ValueError(f"DLBOOK_EDITION must be one of {EDITIONS}, got {chosen!r}")
    return chosen


def strip_solutions(markdown: str) -> str:
    """``markdown`` with every MyST solution block removed."""
    return SOLUTION_BLOCK.sub("", markdown)


def _is_solution(node: nodes.Node) -> bool:
    if not isinstance(node, nodes.admonition) or not node.children:
        return False
    title = node.children[0]
    return isinstance(title, nodes.title) and title.astext().strip().startswith("Solution")


def _remove_solutions(app: Sphinx, doctree: nodes.document) -> None:
    if edition() != "student":
        return
    for node in list(doctree.findall(_is_solution)):
        node.parent.remove(node)


def _strip_downloads(app: Sphinx, exception: BaseException | None) -> None:
    if exception is not None or edition() != "student":
        return
    for source in (Path(app.outdir) / "_sources").rglob("*"):
        if source.suffix in {".md", ".txt"} and source.is_file():
            text = source.read_text(encoding="utf-8")
            source.write_text(strip_solutions(text), encoding="utf-8")


def _offer_notebook(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if doctree is None or not executed.is_file():
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    notebook = nbformat.read(executed, as_version=4)
    if not any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"):
        # myst-nb 1.4 writes the notebook without its outputs when it took them from the
        # execution cache; merge them back in from that cache.
        cache_path = (
            app.config.nb_execution_cache_path or Path(app.outdir).parent / ".jupyter_cache"
        )
        with contextlib.suppress(KeyError):
            _, notebook = get_cache(str(cache_path)).merge_match_into_notebook(notebook)
    if edition() == "student":
        for cell in notebook.cells:
            if cell.cell_type == "markdown":
                cell.source = strip_solutions(cell.source)
    nbformat.write(notebook, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def _is_thebe(asset: Any) -> bool:
    name = str(getattr(asset, "filename", asset) or "")
    body = str(getattr(asset, "attributes", {}).get("body", ""))
    return "thebe" in name or "THEBE_JS_URL" in body


def _drop_thebe(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [asset for asset in context[key] if not _is_thebe(asset)]


def setup(app: Sphinx) -> dict[str, Any]:
    edition()  # an unknown edition fails the build at once
    app.connect("doctree-read", _remove_solutions)
    app.connect("build-finished", _strip_downloads)
    # Before sphinx-book-theme builds its header buttons (default priority 500).
    app.connect("html-page-context", _offer_notebook, priority=400)
    app.connect("html-page-context", _drop_thebe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
