"""The theory chapter's static widgets move in a real browser, with no kernel and no network.

Uses the helpers of ``tests/browser.py``. Set ``BOOK_HTML`` to an already built ``.../_build/html``
to skip the build; otherwise the book is built once into a temporary folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def html(tmp_path_factory) -> Path:
    if os.environ.get("BOOK_HTML"):
        return Path(os.environ["BOOK_HTML"])
    out = tmp_path_factory.mktemp("book")
    cmd = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()",
           "build", "book", "--path-output", str(out)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])))
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        pytest.fail("`jb build book` failed:\n" + "\n".join((proc.stdout + proc.stderr).splitlines()[-60:]))
    return out / "_build" / "html"


def _choose(driver, n: int, index: int) -> None:
    """Pick option ``index`` of the ``n``-th dropdown on the page (a frame_grid's row chooser)."""
    from selenium.webdriver.support.ui import Select

    selects = driver.find_elements("css selector", ".widget-dropdown select")
    Select(selects[n]).select_by_index(index)


@pytest.mark.parametrize(
    "page, widgets",
    [("theory/explorer.html", 2), ("theory/fit.html", 1)],
)
def test_theory_widgets_move_offline(html, page, widgets):
    from browser import chromium_driver, collect_log, serve, step_slider, visible_frame, wait_for_widgets, wait_until

    with serve(html) as base, chromium_driver() as driver:
        driver.get(base + page)
        wait_for_widgets(driver, count=widgets)
        for w in range(widgets):
            # slider: the visible frame of this widget changes and comes back
            first = visible_frame(driver, w)
            step_slider(driver, w, +1)
            moved = wait_until(lambda: visible_frame(driver, w).sha256 != first.sha256 and visible_frame(driver, w),
                               message=f"{page}: widget {w} did not change frame when its slider moved")
            step_slider(driver, w, -1)
            wait_until(lambda: visible_frame(driver, w).sha256 == first.sha256,
                       message=f"{page}: widget {w} did not return to its first frame")
            assert moved.sha256 != first.sha256
        if page.endswith("explorer.html"):
            # the row chooser (exponent setting) switches to a different set of frames
            before = visible_frame(driver, 0)
            _choose(driver, 0, 1)
            wait_until(lambda: visible_frame(driver, 0).sha256 != before.sha256,
                       message="explorer: choosing another exponent setting did not change the frame")
        log = collect_log(driver)
        assert not log.non_local_requests(), log.non_local_requests()
