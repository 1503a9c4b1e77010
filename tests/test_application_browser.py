"""The application page's calculator, as the book build renders it, works offline in Chromium.

What the calculator computes is checked against ``pretrain-diversity recommend`` in
``tests/test_live_widgets.py``; this only checks the built page (the session's build,
tests/conftest.py).
"""

from __future__ import annotations

import pytest
from browser import check_built_live_widgets

pytestmark = pytest.mark.slow


def test_built_application_page_has_a_working_calculator(book):
    """The calculator starts at the target budget with the page's estimate."""
    texts = check_built_live_widgets(book["html"], "application.html")
    assert any(t.startswith("K* =") for t in texts), texts
