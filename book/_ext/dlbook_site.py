"""Sphinx glue for the book's offline site.

* Offer each executed chapter as a downloadable ``.ipynb``, outputs included
  (sphinx-book-theme does this only when a launch button is configured, and the book
  has no launch service).
* Drop sphinx-thebe's assets: the book runs no live kernels, and its config script is
  injected twice by this Jupyter Book version, a console error on every page.
* Those notebooks read well in Jupyter: their Markdown is converted to plain Jupyter
  Markdown (``jupyter_markdown``: glued numbers filled in, citations as (Author, year)
  with a reference list, cross-references as links to the site, solutions as
  ``<details>``).
* The download menu's ``.ipynb`` and ``.md`` links download the file instead of opening
  it in a new tab.
* Every figure's image gets its caption as alt text (myst-nb leaves a hashed file name).
* Figures, tables and listings are numbered within their chapter ("Fig. 10.3": the third
  figure of Chapter 10; "Fig. A.1" in the appendix), not across the whole book, which
  Sphinx does when chapters carry no section numbers.
* The student edition (``DLBOOK_EDITION=student``, ``make book EDITION=student``): every
  exercise solution (an ``{admonition}`` titled "Solution") is removed from the pages, the
  search index and the downloadable ``.md`` and ``.ipynb`` files: absent, not hidden. The
  default, full edition keeps them folded for self-learners.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path
from typing import Any

import nbformat
from docutils import nodes
from jupyter_cache import get_cache
from jupyter_markdown import Resolver, jupyter_markdown
from sphinx.application import Sphinx
from sphinx.util import docname_join

EDITIONS = ("full", "student")

# A MyST solution block: a backtick or colon fence of three or more opening
# ``{admonition} Solution`` and the same fence closing it (longer outer fences let a
# solution hold code blocks), indented when it sits inside a list item.
SOLUTION_BLOCK = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|:{3,})\{admonition\}[ \t]*Solution\b.*?"
    r"^[ \t]*(?P=fence)[ \t]*$\n?",
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


def _alt_from_caption(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Give each figure's image its caption as alt text (myst-nb leaves the file name)."""
    for figure in doctree.findall(nodes.figure):
        captions = [child for child in figure.children if isinstance(child, nodes.caption)]
        if not captions:
            continue
        text = " ".join(captions[0].astext().split())
        for image in figure.findall(nodes.image):
            alt = image.get("alt", "")
            if not alt or alt == image.get("uri") or alt.endswith((".png", ".svg", ".jpg")):
                image["alt"] = text


# The theme opens a page's source in a new tab (raw JSON for a notebook): make it download.
SOURCE_LINK = re.compile(r'(<a href="[^"]*_sources/[^"]+\.(?:ipynb|md)")\s+target="_blank"')


def _downloads_download(app: Sphinx, exception: BaseException | None) -> None:
    if exception is not None:
        return
    for page in Path(app.outdir).rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        fixed = SOURCE_LINK.sub(r"\1 download", html)
        if fixed != html:
            page.write_text(fixed, encoding="utf-8")


def _strip_downloads(app: Sphinx, exception: BaseException | None) -> None:
    if exception is not None or edition() != "student":
        return
    for source in (Path(app.outdir) / "_sources").rglob("*"):
        if source.suffix in {".md", ".txt"} and source.is_file():
            text = source.read_text(encoding="utf-8")
            source.write_text(strip_solutions(text), encoding="utf-8")


def _authors(entry: Any) -> str:
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [" ".join(person.last_names) for person in people] or ["Anon."]
    if len(names) == 1:
        return names[0]
    return f"{names[0]} and {names[1]}" if len(names) == 2 else f"{names[0]} et al."


def _bibliography(app: Sphinx) -> dict[str, Any]:
    """The book's bibliography entries by key, parsed once per build."""
    cached = getattr(app, "_dlbook_bibliography", None)
    if cached is None:
        from pybtex.database import parse_file

        cached = {}
        for name in app.config.bibtex_bibfiles:
            cached.update(parse_file(str(Path(app.srcdir) / name)).entries)
        app._dlbook_bibliography = cached  # type: ignore[attr-defined]
    return cached


def _reference_line(key: str, entry: Any) -> str:
    fields = entry.fields
    venue = fields.get("journal") or fields.get("booktitle") or fields.get("publisher") or ""
    title = str(fields.get("title", key)).replace("{", "").replace("}", "")
    parts = [f"{_authors(entry)} ({fields.get('year', 'n.d.')}). {title}."]
    if venue:
        parts.append(str(venue).replace("{", "").replace("}", "") + ".")
    return "- " + " ".join(parts)


def _resolver(app: Sphinx, pagename: str, notebook: Any) -> Resolver:
    glued: dict[str, str] = {}
    # myst-nb keeps what a page glued beside its executed notebook (<page>.glue.json), and
    # a notebook merged from the execution cache also holds it as outputs.
    stored = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.glue.json"
    if stored.is_file():
        for name, value in json.loads(stored.read_text(encoding="utf-8")).items():
            plain = value.get("data", {}).get("text/plain")
            if plain is not None:
                glued[name] = str(plain).strip("'\"")
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            scrap = output.get("metadata", {}).get("scrapbook")
            if scrap:
                plain = output.get("data", {}).get(scrap.get("mime_prefix", "") + "text/plain")
                if plain is not None:
                    glued[scrap["name"]] = str(plain).strip("'\"")
    bibliography = _bibliography(app)
    env = app.env
    labels = env.domaindata["std"]["labels"]
    equations = env.domaindata["math"]["objects"]
    base = app.config.html_baseurl.rstrip("/") + "/" if app.config.html_baseurl else ""

    def uri(docname: str, anchor: str = "") -> str:
        if base:
            target = base + app.builder.get_target_uri(docname)
        else:
            target = app.builder.get_relative_uri(pagename, docname)
        return target + (f"#{anchor}" if anchor else "")

    def link(role: str, target: str) -> tuple[str, str] | None:
        if role == "doc":
            docname = docname_join(pagename, target)
            if docname not in env.titles:
                return None
            return uri(docname), env.titles[docname].astext()
        if target not in labels:
            return None
        docname, anchor, title = labels[target]
        if role == "numref":
            number = env.toc_fignumbers.get(docname, {}).get("figure", {}).get(anchor)
            if number is None:
                return None
            title = app.config.numfig_format["figure"] % ".".join(map(str, number))
        return uri(docname, anchor), title

    def equation(label: str) -> str | None:
        found = equations.get(label)
        return None if found is None else str(found[1])

    def cite(key: str) -> str | None:
        entry = bibliography.get(key)
        return None if entry is None else f"{_authors(entry)}, {entry.fields.get('year', 'n.d.')}"

    return Resolver(glue=glued.get, cite=cite, link=link, equation=equation)


def plain_notebook(app: Sphinx, pagename: str, notebook: Any) -> Any:
    """``notebook`` with every Markdown cell in plain Jupyter Markdown, references last."""
    resolve = _resolver(app, pagename, notebook)
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = jupyter_markdown(cell.source, resolve)
    if resolve.cited:
        bibliography = _bibliography(app)
        lines = [
            _reference_line(key, bibliography[key]) for key in resolve.cited if key in bibliography
        ]
        notebook.cells.append(nbformat.v4.new_markdown_cell("## References\n\n" + "\n".join(lines)))
    return notebook


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
    nbformat.write(plain_notebook(app, pagename, notebook), target)
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


# The chapter a page is: ``book/ch10_cnn`` is Chapter 10, ``book/appendix_tools`` is A.
CHAPTER_DOC = re.compile(r"(?:^|/)ch(?P<number>\d+)_")


def chapter_label(docname: str) -> str | None:
    """The chapter label figures of ``docname`` are numbered under (None: left as is)."""
    match = CHAPTER_DOC.search(docname)
    if match is not None:
        return str(int(match["number"]))
    if docname.rsplit("/", 1)[-1].startswith("appendix"):
        return "A"
    return None


def number_within_chapters(
    fignumbers: dict[str, dict[str, dict[str, tuple[Any, ...]]]],
) -> None:
    """Renumber, in place, each chapter's figures (tables, listings) as (chapter, 1, 2, ...).

    ``fignumbers`` is Sphinx's ``env.toc_fignumbers``: page -> figure type -> node id ->
    number tuple, numbered across the book in reading order. Within a page that order is
    kept; only the numbers change, so every ``{numref}`` and caption follows.
    """
    for docname, by_type in fignumbers.items():
        label = chapter_label(docname)
        if label is None:
            continue
        for ids in by_type.values():
            in_order = sorted(ids, key=lambda node_id: ids[node_id])
            for k, node_id in enumerate(in_order, start=1):
                ids[node_id] = (label, k)


def _number_figures(app: Sphinx, env: Any) -> list[str]:
    """After Sphinx numbers every figure (its own ``env-get-updated`` handler), per chapter."""
    number_within_chapters(env.toc_fignumbers)
    return []  # no further pages to rewrite


def setup(app: Sphinx) -> dict[str, Any]:
    edition()  # an unknown edition fails the build at once
    app.connect("doctree-read", _remove_solutions)
    app.connect("doctree-resolved", _alt_from_caption)
    # Sphinx's toctree collector numbers figures at the default priority (500): run after it.
    app.connect("env-get-updated", _number_figures, priority=900)
    app.connect("build-finished", _strip_downloads)
    app.connect("build-finished", _downloads_download)
    # Before sphinx-book-theme builds its header buttons (default priority 500).
    app.connect("html-page-context", _offer_notebook, priority=400)
    app.connect("html-page-context", _drop_thebe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
