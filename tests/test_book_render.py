"""Every built page renders what its source means: no Markdown table left as ``| ... |:---|``
text, no ``$...$`` maths left outside MathJax's containers, no glued value shown as a quoted
Python string (``'10.1%'``), no stderr block (warnings) in a page, no output table left without
the styles that separate its columns.

These are defects a reader sees but the build does not report: myst-nb renders a
``display(Markdown(...))`` output with its own Markdown format (``nb_render_markdown_format``,
CommonMark by default, which has no tables), a glued ``str`` is shown by its ``repr``, and a
warning printed while a page executes is published as an output block. The built HTML is read
with BeautifulSoup, without scripts and styles (the embedded widget state holds base64 PNGs).

The two tests of the built book use the session's build (the ``book`` fixture in conftest.py), so
the book is built once for this file, test_book.py and the other book tests; they are ``slow``.
The checker's own test plants each defect in a minimal page and runs in the quick suite.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

# A GFM delimiter row: |---|, |:---|, | --- | ---: |, ... (three dashes a column, or what
# Sphinx's smart quotes make of them in prose: an em or en dash, "|:——|").
RAW_TABLE = re.compile(r"\|\s*:?(?:-{3,}|[\u2013\u2014][-\u2013\u2014]*):?\s*(\||$)", re.M)
# Inline maths left as text: $...$ with a non-space character just inside each dollar.
RAW_MATH = re.compile(r"(?<![\\$])\$(?=\S)[^$\n]{1,200}?(?<=\S)\$(?!\d)")
# A glued value shown by its Python repr: the text of a glue output, quoted.
QUOTED = re.compile(r"^\s*(['\u2018\u2019\"\u201c\u201d]).*(['\u2018\u2019\"\u201c\u201d])\s*$",
                    re.S)
# Where TeX legitimately stays as text: what MathJax typesets, and code shown as code.
MATH_CLASSES = {"math", "MathJax", "MathJax_Preview", "mathjax_process", "tex2jax_process"}
SOURCE_CLASSES = {"cell_input", "highlight-ipython3", "highlight-python", "highlight-bash",
                  "highlight-default", "highlight-toml", "highlight-text"}


TABLES_CSS = "_static/tables.css"


def _links(page: Path, href_end: str) -> bool:
    """Whether ``page`` links a stylesheet whose URL ends with ``href_end``."""
    soup = BeautifulSoup(page.read_text(encoding="utf8"), "html.parser")
    return any(link.get("href", "").split("?")[0].endswith(href_end)
               for link in soup.find_all("link", rel="stylesheet"))


def _pages(html_dir: Path) -> list[Path]:
    """The book's content pages (Sphinx's own genindex and search pages aside)."""
    skip = {"genindex.html", "search.html"}
    return [p for p in sorted(html_dir.rglob("*.html"))
            if p.name not in skip and "_static" not in p.parts and "_sources" not in p.parts]


def _main(page: Path):
    soup = BeautifulSoup(page.read_text(encoding="utf8"), "html.parser")
    for tag in soup(["script", "style", "noscript"]):
        tag.decompose()
    return soup.find("main") or soup.body or soup


def _has_class(tag, names: set[str]) -> bool:
    return any(cls in names for parent in [tag, *tag.parents]
               for cls in (parent.get("class") or []) if hasattr(parent, "get"))


def _prose(main, skip: set[str], skip_tags=("code", "pre")) -> str:
    """The text of ``main`` outside elements with any of the ``skip`` classes and outside code."""
    out = []
    for text in main.find_all(string=True):
        el = text.parent
        if el is None or any(p.name in skip_tags for p in [el, *el.parents]):
            continue
        if _has_class(el, skip):
            continue
        out.append(str(text))
    return "".join(out)


def render_problems(html_dir: Path) -> dict[str, list[str]]:
    """Every page's rendering defects, as {page: [what, ...]} (pages without any left out)."""
    problems: dict[str, list[str]] = {}
    for page in _pages(html_dir):
        main = _main(page)
        found = []
        # 1. Markdown tables shown as text (in prose or in a plain-text output block).
        text = _prose(main, SOURCE_CLASSES, skip_tags=("code",))
        for line in text.splitlines():
            if RAW_TABLE.search(line):
                found.append(f"raw Markdown table: {line.strip()[:120]!r}")
        # 2. Inline maths outside MathJax's containers and outside code.
        for m in RAW_MATH.finditer(_prose(main, MATH_CLASSES | SOURCE_CLASSES)):
            found.append(f"raw maths: {m.group(0)[:120]!r}")
        # 3. Glued values shown as quoted strings.
        for el in main.select("span.output, div.output"):
            if el.find_parent(class_="cell_output") is None and QUOTED.match(el.get_text()):
                found.append(f"quoted glue value: {el.get_text().strip()[:120]!r}")
        # 4. stderr output blocks (warnings published in the page).
        for el in main.select(".output.stderr, .stderr"):
            found.append(f"stderr output: {el.get_text().strip()[:160]!r}")
        # 5. Output tables the theme does not style (pandas Styler: no class) need tables.css,
        #    or their cells are unpadded and adjacent numbers run together ("16384512").
        bare = [t for t in main.select("div.cell_output table")
                if not {"dataframe", "table"} & set(t.get("class") or [])]
        if bare and not _links(page, TABLES_CSS):
            found.append(f"unstyled table: {len(bare)} output table(s) without a class and "
                         f"no {TABLES_CSS} on the page")
        if found:
            problems[page.relative_to(html_dir).as_posix()] = found
    return problems


@pytest.mark.slow
def test_pages_render_tables_maths_glue_and_no_stderr(book):
    problems = render_problems(book["html"])
    report = "\n".join(f"{page}:\n  " + "\n  ".join(items) for page, items in problems.items())
    assert not problems, f"rendering defects in the built book:\n{report}"


@pytest.mark.slow
def test_no_page_printed_to_stderr(book):
    """_config.yml removes stderr from the pages (stderr_output: remove-warn) and myst-nb logs
    each such output instead: a page that prints a warning is a defect even if no reader sees it."""
    lines = [line for line in book["log"].splitlines() if "[mystnb.stderr]" in line]
    assert not lines, "pages printed to stderr while executing:\n" + "\n".join(lines[:20])


def test_the_checks_find_each_defect(tmp_path):
    """The checker is not vacuous: each defect, planted in a minimal page, is reported."""
    page = tmp_path / "bad.html"
    page.write_text("""<html><body><main>
<p>| K | error |
|:---|---:|
| 16 | 0.5 |</p>
<p>| K | n |
|:——|—-:|</p>
<p>with $N \\in \\{1, 2\\}$ budgets and <span class="math notranslate">\\(K\\)</span></p>
<p>raw pixels reach <span class="output text_plain">\u201810.1%\u2019</span> test error</p>
<div class="output stderr"><pre>UserWarning: Glyph 120636 missing</pre></div>
<div class="cell_input"><pre>x = "$a$" | ---</pre></div>
<div class="cell_output"><table id="T_1"><tr><td>16384</td><td>512</td></tr></table></div>
</main></body></html>""", encoding="utf8")
    (found,) = render_problems(tmp_path).values()
    kinds = sorted({f.split(":")[0] for f in found})
    assert kinds == ["quoted glue value", "raw Markdown table", "raw maths", "stderr output",
                     "unstyled table"], found
    assert sum(f.startswith("raw Markdown table") for f in found) == 2, found
    page.write_text("""<html><head><link rel="stylesheet" href="_static/tables.css?v=1" /></head>
<body><main>
<div class="cell_output"><table id="T_1"><tr><td>16384</td><td>512</td></tr></table></div>
<p>with <span class="math notranslate">\\(N \\in \\{1, 2\\}\\)</span> and costs $5 or $6</p>
<p>raw pixels reach <span class="output text_plain">10.1%</span> test error</p>
<div class="cell_input"><pre>x = "$a$"  # |---|</pre></div>
</main></body></html>""", encoding="utf8")
    assert render_problems(tmp_path) == {}
