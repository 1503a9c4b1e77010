"""The book builds, and its widget and maths pages work as a static site: state embedded, sliders
live in a browser, formulas typeset by the vendored MathJax, nothing fetched from the network.

The build runs once per session (``jb build book`` from the repository root, output redirected to
a temporary folder so a developer's ``book/_build`` is neither used nor disturbed). Set
``BOOK_HTML`` to an already built ``.../_build/html`` to skip the build (e.g. in CI after the build
step), and ``BOOK_MATH_SCREENSHOT`` to a path to keep a picture of the first theory page with
maths. Each live widget's page has its own browser test (tests/test_*_browser.py).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browser import (
    BrowserLog,
    chromium_driver,
    collect_log,
    math_report,
    serve,
    wait_for_mathjax,
)

from book_widgets import missing_models, widget_state, widget_views

pytestmark = pytest.mark.slow


# Console errors every page of a jupyter-book 1.0.4 site has, unrelated to the widgets:
# sphinx-thebe's inline `const THEBE_JS_URL` script is emitted twice by Sphinx 7.4 (the second
# copy throws), and the pydata theme logs its default colour mode as an error.
KNOWN_CONSOLE_NOISE = ("Identifier 'THEBE_JS_URL' has already been declared", "invalid theme mode")
# Requested by the browser itself, not by the page.
KNOWN_FAILED_REQUESTS = ("/favicon.ico",)

# The vendored MathJax (book/_static/mathjax, mathjax_path in _config.yml), relative to _static.
MATHJAX_JS = "mathjax/es5/tex-mml-chtml.js"
_SCRIPT_SRC = re.compile(r"<script\b[^>]*\bsrc=\"([^\"]+)\"")


def _assert_offline_and_clean(log: BrowserLog) -> None:
    """Nothing requested outside localhost, no failed request, no console error (known noise
    aside)."""
    assert not log.non_local_requests(), f"fetched from the network: {log.non_local_requests()}"
    failed = [f for f in log.failed if not any(k in f for k in KNOWN_FAILED_REQUESTS)]
    assert not failed, f"failed requests: {failed}"
    errors = [
        e
        for e in log.console_errors
        if not any(k in e for k in KNOWN_CONSOLE_NOISE + KNOWN_FAILED_REQUESTS)
    ]
    assert not errors, f"browser console errors: {json.dumps(errors, indent=1)}"


def _has_maths(html: str) -> bool:
    return 'class="math notranslate' in html


def _theory_maths_pages(html_dir: Path) -> list[Path]:
    """The built pages of the theory part that contain maths (whatever their names)."""
    return [
        page
        for page in sorted((html_dir / "theory").rglob("*.html"))
        if _has_maths(page.read_text(encoding="utf8"))
    ]


def test_every_code_cell_was_run_as_a_notebook(book):
    """A page with code cells but no jupytext front matter is silently *not executed* by myst-nb
    (only a warning): catch it here since it does not fail the build."""
    assert "[mystnb.nbcell]" not in book["log"], "a page's code cells were not executed"


def test_widget_scripts_only_on_widget_pages(book):
    """jupyter-book would put every _static/**/*.js on every page; book_widgets and book_vega undo
    that: a page loads the frame-widget manager only if it displays a frame widget (after
    require.js, once) and the Vega scripts only if it holds a live widget (each once)."""
    pages = sorted(book["html"].rglob("*.html"))
    with_vega = 0
    for page in pages:
        html = page.read_text(encoding="utf8")
        name = page.relative_to(book["html"]).as_posix()
        if widget_views(html):
            assert not missing_models(widget_views(html), widget_state(html)), name
            assert html.count("jupyter-widgets/embed-amd.js") == 1, name
            assert html.index("jupyter-widgets/require.js") < html.index(
                "jupyter-widgets/embed-amd.js"), name
        else:
            assert "embed-amd.js" not in html, f"{name} shows no frame widget but loads the manager"
        scripts = [src.split("?")[0] for src in _SCRIPT_SRC.findall(html)]
        vega = [s for s in scripts if "_static/vega/" in s]
        if 'class="vega-widget"' in html:
            with_vega += 1
            assert sorted(s.rsplit("/", 1)[1] for s in vega) == [
                "embed-widgets.js", "vega-embed.min.js", "vega-lite.min.js", "vega.min.js"], name
        else:
            assert not vega, f"{name} holds no live widget but loads {vega}"
    assert with_vega >= 4, "the figure1, invariance, application and theory pages hold live widgets"


def test_mathjax_is_the_vendored_copy(book):
    """Every page with maths loads MathJax once, from _static/mathjax with the ../ its depth needs;
    pages without maths load none of it (jupyter-book would add every _static/**/*.js to every
    page; book_mathjax undoes that for the MathJax files)."""
    html_dir = book["html"]
    assert (html_dir / "_static" / MATHJAX_JS).is_file()
    pages = sorted(html_dir.rglob("*.html"))
    with_maths = 0
    for page in pages:
        html = page.read_text(encoding="utf8")
        scripts = [src.split("?")[0] for src in _SCRIPT_SRC.findall(html)]
        name = page.relative_to(html_dir).as_posix()
        assert not [s for s in scripts if "mathjax" in s.lower() and "://" in s], name
        assert not [s for s in scripts if "_static/mathjax/" in s and not s.endswith(MATHJAX_JS)]
        prefix = "../" * (len(page.relative_to(html_dir).parts) - 1)
        mathjax = [s for s in scripts if s.endswith(MATHJAX_JS)]
        if _has_maths(html):
            with_maths += 1
            assert mathjax == [f"{prefix}_static/{MATHJAX_JS}"], name
        else:
            assert not mathjax, f"{name} has no maths but loads MathJax"
    assert with_maths and _theory_maths_pages(html_dir), "no page with maths under theory/"


def test_theory_maths_renders_offline(book):
    """The theory pages' formulas are typeset in a browser with no network: every Sphinx maths
    element holds MathJax output, none is left as TeX or became a MathJax error box, and the
    fonts and autoloaded TeX extensions came from localhost."""
    html_dir = book["html"]
    pages = _theory_maths_pages(html_dir)
    assert pages, "no page with maths under theory/"

    with chromium_driver() as driver, serve(html_dir) as base:
        for page in pages:
            name = page.relative_to(html_dir).as_posix()
            driver.get(base + name)
            wait_for_mathjax(driver)
            report = math_report(driver)
            assert report["math"] and report["containers"] >= report["math"], (name, report)
            assert not report["raw"], f"{name}: formulas left as TeX: {report['raw']}"
            assert not report["visible_tex"], f"{name}: raw TeX in the page: {report}"
            assert not report["errors"], f"{name}: MathJax errors: {report['errors']}"
            if page == pages[0] and os.environ.get("BOOK_MATH_SCREENSHOT"):
                driver.save_screenshot(os.environ["BOOK_MATH_SCREENSHOT"])
        log = collect_log(driver)

    local = [urlsplit(url).path for url in log.requests]
    assert any(path.endswith("/_static/" + MATHJAX_JS) for path in local)
    assert any(path.startswith("/_static/mathjax/es5/output/chtml/fonts/") for path in local)
    _assert_offline_and_clean(log)
