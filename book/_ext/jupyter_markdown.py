"""MyST Markdown to the plain Markdown that Jupyter renders, for the downloadable notebooks.

Jupyter shows MyST's roles and directives raw. In a chapter's downloaded ``.ipynb``:

* ``{glue:text}`name``` becomes the number the run glued;
* ``{cite}`key``` becomes "(Author, year)", and a reference list closes the notebook;
* ``{ref}``, ``{doc}`` and ``{numref}`` become links to the site's pages, and ``{eq}`` the
  equation's number;
* ``(label)=`` targets and equation labels after ``$$`` disappear;
* a solution block becomes a ``<details>`` element that Jupyter folds.

The functions here are pure text transformations; :class:`Resolver` supplies what only the
Sphinx build knows (glued values, bibliography, label targets and numbers).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

ROLE = re.compile(
    r"\{(?P<role>glue:text|glue|cite|cite:p|cite:t|ref|doc|numref|eq)\}`(?P<body>[^`]*)`"
)
TARGET = re.compile(r"^\([\w.:-]+\)=[ \t]*\n", re.MULTILINE)
EQUATION_LABEL = re.compile(r"^(\$\$)[ \t]*\([\w.:-]+\)[ \t]*$", re.MULTILINE)
SOLUTION = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|:{3,})\{admonition\}[ \t]*(?P<title>Solution\b[^\n]*)\n"
    r"(?P<options>(?:[ \t]*:[\w-]+:[^\n]*\n)*)(?P<body>.*?)^[ \t]*(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.DOTALL)


@dataclass
class Resolver:
    """What the build knows, as functions from a role's target to text.

    Each function returns ``None`` when it does not know the target; the role's own text
    (or the bare target) is kept then.
    """

    glue: Callable[[str], str | None] = lambda name: None
    cite: Callable[[str], str | None] = lambda key: None
    link: Callable[[str, str], tuple[str, str] | None] = lambda role, target: None
    equation: Callable[[str], str | None] = lambda label: None
    cited: list[str] = field(default_factory=list)


def _split(body: str) -> tuple[str | None, str]:
    """``text <target>`` -> (text, target); a bare ``target`` -> (None, target)."""
    found = EXPLICIT.match(body.strip())
    if found:
        return found.group("text"), found.group("target").strip()
    return None, body.strip()


def _role(match: re.Match[str], resolve: Resolver) -> str:
    role, body = match.group("role"), match.group("body")
    if role in {"glue:text", "glue"}:
        value = resolve.glue(body.strip())
        return value if value is not None else body
    if role.startswith("cite"):
        keys = [key.strip() for key in body.split(",") if key.strip()]
        for key in keys:
            if key not in resolve.cited:
                resolve.cited.append(key)
        texts = [resolve.cite(key) or key for key in keys]
        return "(" + "; ".join(texts) + ")"
    if role == "eq":
        number = resolve.equation(body.strip())
        return f"({number})" if number is not None else f"({body.strip()})"
    text, target = _split(body)
    found = resolve.link(role, target)
    if found is None:
        return text or target
    url, title = found
    if role == "numref" and text is not None:
        # "Figure %s <fig-x>" or "Fig. {number} <fig-x>": the number comes from title.
        number = title.rsplit(" ", 1)[-1]
        text = text.replace("%s", number).replace("{number}", number)
    return f"[{text or title}]({url})"


def _details(match: re.Match[str]) -> str:
    indent = match.group("indent")  # a solution inside a list item keeps the item's indent
    title, body = match.group("title").strip(), match.group("body").strip("\n")
    return f"{indent}<details>\n{indent}<summary>{title}</summary>\n\n{body}\n\n{indent}</details>"


def jupyter_markdown(source: str, resolve: Resolver) -> str:
    """``source`` (MyST Markdown of one cell) as the plain Markdown Jupyter renders."""
    text = SOLUTION.sub(_details, source)
    text = TARGET.sub("", text)
    text = EQUATION_LABEL.sub(r"\1", text)
    return ROLE.sub(lambda match: _role(match, resolve), text)
