"""The theory chapter's live widgets, as the book build renders them, work offline in Chromium.

What they compute is checked against the package's formulas in ``tests/test_live_widgets.py``;
this only checks the built pages (the session's build, tests/conftest.py): each widget is drawn,
prints its read-out, fetches nothing off localhost and logs no console error.
"""

from __future__ import annotations

import pytest
from browser import check_built_live_widgets

pytestmark = pytest.mark.slow


def test_built_explorer_page_draws_the_bound(book):
    """The bound explorer prints its optimum and drift exponent at its starting values."""
    texts = check_built_live_widgets(book["html"], "theory/explorer.html")
    assert any(t.startswith("N =") and "K* =" in t and "(β − α)/(α + β) =" in t
               for t in texts), texts


def test_built_fit_page_has_a_working_fit_explorer(book):
    """The fit explorer starts between the measured budgets (half way in log N), so its read-out
    names the nearest measured one."""
    texts = check_built_live_widgets(book["html"], "theory/fit.html")
    assert any(t.startswith("N =") and "fitted optimum log2(K*/n*)" in t
               and "(nearest measured budget)" in t for t in texts), texts
