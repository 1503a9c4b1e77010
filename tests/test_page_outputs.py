"""Every book page shows exactly what it is pinned to show.

``tests/data/page_outputs/<page>.json`` (one file a page, ``theory/fit.md`` -> ``theory__fit.json``)
holds every Markdown verdict and summary, every table and every figure (as a fingerprint:
titles, labels, scales, limits, line and marker data, texts) the page displays from the committed
results tables. The pins were first written from commit f5dea64, so the restructured package was
shown to display the same, value for value. A change that is meant to alter a page (new data, a
new verdict rule) re-pins that page in the same commit, with the reason in the message::

    python tests/page_outputs.py --write figure1.md theory/fit.md
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import page_outputs  # noqa: E402


def test_every_page_is_pinned():
    pinned = {p.name for p in page_outputs.PINS.glob("*.json")}
    assert pinned == {page_outputs.pin_path(p).name for p in page_outputs.PAGES}


@pytest.mark.parametrize("page", page_outputs.PAGES)
def test_page_shows_what_it_showed(page):
    got = json.loads(json.dumps(page_outputs.run_page(page_outputs.ROOT / "book" / page),
                                sort_keys=True, ensure_ascii=False))
    want = json.loads(page_outputs.pin_path(page).read_text())
    assert [list(o) for o in got] == [list(o) for o in want], "a page shows other kinds of output"
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, f"{page}: output {i} ({list(w)[0]}) differs"
