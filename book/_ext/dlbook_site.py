"""Sphinx glue for the book's offline site.

* Offer each executed chapter as a downloadable ``.ipynb``, outputs included
  (sphinx-book-theme does this only when a launch button is configured, and the book
  has no launch service).
* Drop sphinx-thebe's assets: the book runs no live kernels, and its config script is
  injected twice by this Jupyter Book version, a console error on every page.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import nbformat
from jupyter_cache import get_cache
from sphinx.application import Sphinx


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
    # Before sphinx-book-theme builds its header buttons (default priority 500).
    app.connect("html-page-context", _offer_notebook, priority=400)
    app.connect("html-page-context", _drop_thebe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
