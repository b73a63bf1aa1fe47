"""The built site reads offline: math typeset locally, no remote assets, no console errors.

Needs the site (``make book``) and, for the browser tests, Debian's ``chromium`` package,
which ``.ci/run`` installs. Screenshots land in ``_build/screenshots/`` for a person to see.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import pytest
import yaml

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage, Error, Route

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
IN_CI = bool(os.environ.get("CI"))

# Outside CI a reader may run `make test` before `make book`; in CI the site must exist.
needs_site = pytest.mark.skipif(
    not (SITE / "index.html").exists() and not IN_CI,
    reason="the site is not built: run `make book` first",
)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="needs Debian's package 'chromium' (apt-get install chromium); .ci/run installs it",
)


def pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    names = [toc["root"]] + [c["file"] for p in toc["parts"] for c in p["chapters"]]
    return [f"{name}.html" for name in names]


def notebook_pages() -> list[str]:
    return [
        p for p in pages() if "```{code-cell}" in (ROOT / p.replace(".html", ".md")).read_text()
    ]


REMOTE = re.compile(
    r"""<(?:script|img|iframe|source|audio|video)\b[^>]*\bsrc=["'](?:https?:)?//"""
    r"""|<link\b[^>]*\bhref=["'](?:https?:)?//[^"']*["'][^>]*>""",
    re.IGNORECASE,
)


@needs_site
def test_no_page_references_a_remote_asset() -> None:
    html_files = sorted(SITE.rglob("*.html"))
    assert html_files, "no HTML in _build/html"
    for path in html_files:
        for tag in REMOTE.findall(path.read_text(errors="replace")):
            # <link rel="canonical"/"preconnect"> are not assets; anything else loads remotely.
            assert re.search(r"rel=[\"'](?:canonical|alternate)", tag), f"{path}: {tag}"


@needs_site
@pytest.mark.parametrize("page", notebook_pages())
def test_each_chapter_offers_its_executed_notebook(page: str) -> None:
    html = (SITE / page).read_text()
    notebook = f"_sources/{page.replace('.html', '.ipynb')}"
    assert notebook.split("/", 1)[1] in html, f"{page} has no .ipynb download link"
    link = re.search(r'<a href="[^"]*' + re.escape(notebook.split("/", 1)[1]) + r'"[^>]*>', html)
    assert link is not None and " download" in link.group(0), f"{page}: the link opens a tab"
    cells = json.loads((SITE / notebook).read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert code and any(c.get("outputs") for c in code), f"{notebook} was not executed"


OUTPUT = re.compile(r'<div class="cell_output[^"]*">(.*?)</div>\s*</div>', re.S)
FIGURE = re.compile(r"<figure\b.*?</figure>", re.S)
MYST_ROLE = re.compile(r"\{(?:glue:text|glue|cite|ref|doc|numref|eq)\}`")


@needs_site
@pytest.mark.parametrize("page", notebook_pages())
def test_every_figure_has_a_caption_and_alt_text(page: str) -> None:
    html = (SITE / page).read_text()
    images = sum(output.count("<img") for output in OUTPUT.findall(html))
    figures = FIGURE.findall(html)
    captioned = [f for f in figures if "<figcaption" in f and "<img" in f]
    assert images <= len(captioned), f"{page}: {images} figures, {len(captioned)} with captions"
    for figure in captioned:
        for alt in re.findall(r'<img[^>]*\balt="([^"]*)"', figure):
            assert alt and not alt.endswith((".png", ".svg", ".jpg")), f"{page}: alt {alt!r}"


@needs_site
@pytest.mark.parametrize("page", notebook_pages())
def test_downloaded_notebook_is_plain_jupyter_markdown(page: str) -> None:
    notebook = SITE / "_sources" / page.replace(".html", ".ipynb")
    cells = json.loads(notebook.read_text())["cells"]
    markdown = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    raw = MYST_ROLE.findall(markdown)
    assert not raw, f"{notebook.name} shows {len(raw)} raw MyST roles, e.g. {raw[:3]}"
    assert "{admonition}" not in markdown, f"{notebook.name} shows a raw directive"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def served_site() -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


MATH_STATE = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const spans = [...document.querySelectorAll('span.math, div.math')];
  return {
    math: spans.length,
    typeset: spans.filter(s => s.querySelector('mjx-container')).length,
    errors: document.querySelectorAll('mjx-merror').length,
    mathjax: Boolean(window.MathJax && MathJax.version),
  };
}
"""


@needs_site
@needs_chromium
def test_pages_read_offline_in_chromium(served_site: str) -> None:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    remote: list[str] = []
    problems: list[str] = []
    typeset_total = 0
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})

        def cut_off(route: Route) -> None:
            if urlparse(route.request.url).hostname in {"127.0.0.1", "localhost"}:
                route.continue_()
            else:
                remote.append(route.request.url)
                route.abort()

        context.route("**/*", cut_off)
        for page_name in pages():
            page = context.new_page()
            errors: list[str] = []

            def on_console(message: ConsoleMessage, errors: list[str] = errors) -> None:
                if message.type == "error":
                    errors.append(message.text)

            def on_page_error(error: Error, errors: list[str] = errors) -> None:
                errors.append(str(error))

            page.on("console", on_console)
            page.on("pageerror", on_page_error)
            response = page.goto(f"{served_site}/{page_name}", wait_until="networkidle")
            assert response is not None and response.ok, f"{page_name}: HTTP error"
            state = page.evaluate(MATH_STATE)
            page.screenshot(
                path=str(SHOTS / page_name.replace("/", "_").replace(".html", ".png")),
                full_page=True,
            )
            if state["math"]:
                typeset_total += state["typeset"]
                if not state["mathjax"]:
                    problems.append(f"{page_name}: MathJax did not load")
                if state["typeset"] != state["math"] or state["errors"]:
                    problems.append(
                        f"{page_name}: {state['typeset']} of {state['math']} "
                        f"formulas typeset, {state['errors']} TeX errors"
                    )
            problems.extend(f"{page_name}: console error: {text}" for text in errors)
            page.close()
        browser.close()
    assert not remote, f"pages asked for remote resources: {sorted(set(remote))}"
    assert not problems, "\n".join(problems)
    assert typeset_total > 0, "no page had any math typeset"
