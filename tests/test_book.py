"""The book builds, and its widget pages work as a static site: state embedded, sliders live in a
browser, nothing fetched from the network.

The build runs once per session (``jb build book`` from the repository root, output redirected to
a temporary folder so a developer's ``book/_build`` is neither used nor disturbed). Set
``BOOK_HTML`` to an already built ``.../_build/html`` to skip the build (e.g. in CI after the build
step), and ``BOOK_SCREENSHOT`` to a path to keep a picture of the data page after the slider moved.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from browser import (
    chromium_driver,
    collect_log,
    serve,
    step_slider,
    visible_frame,
    wait_for_widgets,
    wait_until,
)
from pretrain_diversity.book_widgets import missing_models, widget_state, widget_views

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
BUILD_TIMEOUT_S = int(os.environ.get("BOOK_BUILD_TIMEOUT", "1800"))

# Console errors every page of a jupyter-book 1.0.4 site has, unrelated to the widgets:
# sphinx-thebe's inline `const THEBE_JS_URL` script is emitted twice by Sphinx 7.4 (the second
# copy throws), and the pydata theme logs its default colour mode as an error.
KNOWN_CONSOLE_NOISE = ("Identifier 'THEBE_JS_URL' has already been declared", "invalid theme mode")
# Requested by the browser itself, not by the page.
KNOWN_FAILED_REQUESTS = ("/favicon.ico",)


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> dict:
    """Build the book once; returns the html folder and the build log."""
    if os.environ.get("BOOK_HTML"):
        return {"html": Path(os.environ["BOOK_HTML"]), "log": ""}
    out = tmp_path_factory.mktemp("book")
    # `jb build book` with the interpreter running the tests (whose venv has jupyter-book).
    jb = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()"]
    cmd = [*jb, "build", "book", "--path-output", str(out)]
    # The notebooks import pretrain_diversity: make it this checkout's, installed or not.
    pythonpath = [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(pythonpath))
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S
    )
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        tail = "\n".join(log.splitlines()[-80:])
        pytest.fail(f"`jb build book` failed ({proc.returncode}); log tail:\n{tail}", pytrace=False)
    return {"html": out / "_build" / "html", "log": log}


def _stack_frames(state: dict) -> list[list[str]]:
    """sha256 of each Image in each Stack of the embedded state, in the stacks' child order."""
    stacks = []
    for model in state.values():
        if model["model_name"] != "StackModel":
            continue
        frames = []
        for ref in model["state"]["children"]:
            child = state[ref.removeprefix("IPY_MODEL_")]
            (buffer,) = [b for b in child.get("buffers", []) if b["path"] == ["value"]]
            frames.append(hashlib.sha256(base64.b64decode(buffer["data"])).hexdigest())
        stacks.append(frames)
    return stacks


def test_every_code_cell_was_run_as_a_notebook(book):
    """A page with code cells but no jupytext front matter is silently *not executed* by myst-nb
    (only a warning): catch it here since it does not fail the build."""
    assert "[mystnb.nbcell]" not in book["log"], "a page's code cells were not executed"


def test_data_page_embeds_widget_state(book):
    html = (book["html"] / "data.html").read_text(encoding="utf8")
    views, state = widget_views(html), widget_state(html)
    assert views, "data.html displays no widget"
    assert not missing_models(views, state)
    names = {model["model_name"] for model in state.values()}
    assert {"SelectionSliderModel", "StackModel", "ImageModel", "LinkModel"} <= names
    (frames,) = _stack_frames(state)
    assert len(frames) >= 2 and len(set(frames)) == len(frames), "frames should all differ"


def test_widget_js_only_on_widget_pages(book):
    """jupyter-book would put every _static/**/*.js on every page; book_widgets undoes that."""
    intro = (book["html"] / "intro.html").read_text(encoding="utf8")
    data = (book["html"] / "data.html").read_text(encoding="utf8")
    assert "embed-amd.js" not in intro
    assert data.count("jupyter-widgets/embed-amd.js") == 1
    assert data.index("jupyter-widgets/require.js") < data.index("jupyter-widgets/embed-amd.js")


def test_data_slider_works_offline(book):
    html_dir = book["html"]
    state = widget_state((html_dir / "data.html").read_text(encoding="utf8"))
    (frames,) = _stack_frames(state)
    (slider,) = [m["state"] for m in state.values() if m["model_name"] == "SelectionSliderModel"]
    labels = slider["_options_labels"]

    with chromium_driver() as driver, serve(html_dir) as base:
        driver.get(base + "data.html")
        wait_for_widgets(driver, count=1)
        first = visible_frame(driver, 0)
        assert first.sha256 == frames[slider["index"]], "the page does not start on the saved frame"

        step_slider(driver, 0, +1)
        moved = wait_until(
            lambda: (f := visible_frame(driver, 0)).src != first.src and f,
            message="moving the slider did not change the picture",
        )
        assert moved.sha256 == frames[slider["index"] + 1]
        readout = driver.find_element("css selector", ".widget-slider .widget-readout").text
        assert readout == labels[slider["index"] + 1]

        if os.environ.get("BOOK_SCREENSHOT"):
            driver.save_screenshot(os.environ["BOOK_SCREENSHOT"])
        log = collect_log(driver)

    assert any("jupyter-widgets/embed-amd.js" in url for url in log.requests)
    assert not log.non_local_requests(), f"fetched from the network: {log.non_local_requests()}"
    failed = [f for f in log.failed if not any(k in f for k in KNOWN_FAILED_REQUESTS)]
    assert not failed, f"failed requests: {failed}"
    errors = [
        e
        for e in log.console_errors
        if not any(k in e for k in KNOWN_CONSOLE_NOISE + KNOWN_FAILED_REQUESTS)
    ]
    assert not errors, f"browser console errors: {json.dumps(errors, indent=1)}"
