"""The iso-N widget of the Figure 1 page works in a static page in headless Chromium, offline.

The widget (task dropdown x budget slider over pre-rendered frames) is embedded in a minimal
HTML page together with the book's vendored widget JavaScript, served on localhost, and driven
like a user would: the visible frame must be the one the notebook rendered for the chosen task
and budget, and nothing may be fetched from outside localhost. The frames come from a synthetic
results table (this tests the widget, not the results). When ``BOOK_HTML`` points at a built
book that has the figure1 page, the built page is checked too.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from browser import (
    check_built_live_widgets,
    check_built_slider,
    chromium_driver,
    collect_log,
    serve,
    step_slider,
    visible_frame,
    wait_for_widgets,
    wait_until,
)
from test_figure1 import synthetic

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
WIDGET_JS = ROOT / "book" / "_static" / "jupyter-widgets"


def _page(widget) -> str:
    from ipywidgets.embed import embed_data

    data = embed_data(views=[widget])
    js = "_static/jupyter-widgets"
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8">
<script src="{js}/require.js"></script>
<script src="{js}/require-paths.js"></script>
<script src="{js}/embed-amd.js" data-jupyter-widgets-cdn="{js}/no-cdn/"></script>
<script type="application/vnd.jupyter.widget-state+json">{json.dumps(data["manager_state"])}</script>
</head><body>
<script type="application/vnd.jupyter.widget-view+json">{json.dumps(data["view_specs"][0])}</script>
</body></html>
"""


def _select_task(driver, index: int) -> None:
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("css selector", ".widget-dropdown select")).select_by_index(index)


def drive_frame_grid(folder: Path, name: str, widget, sha: dict, budgets, what: str) -> None:
    """Serve ``widget`` (a 2-row x 3-column frame_grid) as a static page and drive it offline:
    each slider step and the row dropdown must show exactly the expected frame (by sha256), and
    nothing may be fetched from outside localhost."""
    (folder / "_static").mkdir()
    os.symlink(WIDGET_JS, folder / "_static" / "jupyter-widgets")
    (folder / name).write_text(_page(widget))
    with serve(folder) as url, chromium_driver() as driver:
        driver.get(url + name)
        wait_for_widgets(driver, 1)
        assert visible_frame(driver).sha256 == sha[(0, 0)]
        for b in (1, 2):
            step_slider(driver, 0, +1)
            wait_until(lambda b=b: visible_frame(driver).sha256 == sha[(0, b)], timeout=10,
                       message=f"slider step to {budgets[b]} did not show its frame")
        _select_task(driver, 1)  # the other row, at the same budget
        wait_until(lambda: visible_frame(driver).sha256 == sha[(1, 2)], timeout=10,
                   message=f"{what} dropdown did not switch the frame")
        step_slider(driver, 0, -2)
        wait_until(lambda: visible_frame(driver).sha256 == sha[(1, 0)], timeout=10)
        log = collect_log(driver)
    assert not log.non_local_requests(), log.non_local_requests()
    assert not [f for f in log.failed if "favicon" not in f], log.failed


def test_built_figure1_page_has_a_working_explorer(book):
    """The page as the book build renders it (the session's build, tests/conftest.py)."""
    texts = check_built_live_widgets(book["html"], "figure1.html")
    assert any(t.startswith("N =") and "optimum at log2(K/n)" in t for t in texts), texts
