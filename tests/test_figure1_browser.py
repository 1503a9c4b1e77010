"""The Figure 1 page's live explorer, as the book build renders it, works offline in Chromium.

What the explorer computes is checked against ``analysis.ucurves`` in
``tests/test_live_widgets.py``; this only checks the built page (the session's build,
tests/conftest.py).
"""

from __future__ import annotations

import pytest
from browser import check_built_live_widgets

pytestmark = pytest.mark.slow


def test_built_figure1_page_has_a_working_explorer(book):
    texts = check_built_live_widgets(book["html"], "figure1.html")
    assert any(t.startswith("N =") and "optimum at log2(K/n)" in t for t in texts), texts
