"""The application page's budget slider works in a static page in headless Chromium, offline.

The widget (a slider over target budgets N, each frame the recommendation and, where runs exist,
the measured curve) is embedded with the book's vendored widget JavaScript in a minimal page,
served on localhost and moved like a user would: the visible frame must be the one rendered for
the chosen budget, the readout its label, and nothing may be fetched from outside localhost. The
frames come from synthetic tables (this tests the widget, not the results). When ``BOOK_HTML``
points at a built book with the application page, the built page is checked too.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from browser import (
    check_built_slider,
    chromium_driver,
    collect_log,
    serve,
    step_slider,
    visible_frame,
    wait_for_widgets,
    wait_until,
)
from test_application import LIMITS, synthetic
from test_figure1_browser import WIDGET_JS, _page

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def test_budget_slider_switches_frames_offline(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from pretrain_diversity.analysis import recommend as A
    from pretrain_diversity.studies import application as S

    p = S.plan(synthetic(r_star=4.0), n_boot=100, **LIMITS)
    measured = {32768: A.mean_over_tasks(synthetic(budgets=(32768,), ks=[4, 256, 512, 4096]))}
    budgets = (2**12, 2**15, 2**18)
    frames, labels = S.recommendation_frames(p, measured, budgets=budgets, dpi=30)
    sha = [hashlib.sha256(f).hexdigest() for f in frames]
    widget = S.recommendation_widget(p, measured, budgets=budgets, dpi=30)

    (tmp_path / "_static").mkdir()
    os.symlink(WIDGET_JS, tmp_path / "_static" / "jupyter-widgets")
    (tmp_path / "application.html").write_text(_page(widget))
    with serve(tmp_path) as url, chromium_driver() as driver:
        driver.get(url + "application.html")
        wait_for_widgets(driver, 1)
        assert visible_frame(driver).sha256 == sha[0]
        for i in (1, 2):
            step_slider(driver, 0, +1)
            wait_until(lambda i=i: visible_frame(driver).sha256 == sha[i], timeout=10,
                       message=f"slider step to {labels[i]} did not show its frame")
            readout = driver.find_element("css selector", ".widget-slider .widget-readout").text
            assert readout == labels[i]
        step_slider(driver, 0, -2)
        wait_until(lambda: visible_frame(driver).sha256 == sha[0], timeout=10)
        log = collect_log(driver)
    assert not log.non_local_requests(), log.non_local_requests()
    assert not [f for f in log.failed if "favicon" not in f], log.failed


def test_built_application_page_has_a_working_widget(book):
    """The page as the book build renders it (the session's build, tests/conftest.py)."""
    # the page starts at the target budget, the last one: step left
    check_built_slider(book["html"], "application.html", steps=-1, what="budget slider")
