"""The restructured package shows every page exactly what the code of commit f5dea64 showed.

``tests/data/page_outputs.json`` was written once with ``page_outputs.capture()`` run in a
checkout of that commit (its pages and its package): every Markdown verdict and summary, every table and every
figure (as a fingerprint: titles, labels, scales, limits, line and marker data, texts) each page
displays, from the committed results tables. Here the current pages run against the current package
and must display the same, value for value. A page whose output is meant to change must update the
JSON in the same commit, with the reason.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import page_outputs  # noqa: E402

EXPECTED = json.loads((Path(__file__).parent / "data" / "page_outputs.json").read_text())


def test_every_page_is_pinned():
    assert set(EXPECTED) == set(page_outputs.PAGES)


@pytest.mark.parametrize("page", page_outputs.PAGES)
def test_page_shows_what_it_showed(page):
    got = json.loads(json.dumps(page_outputs.run_page(page_outputs.ROOT / "book" / page),
                                sort_keys=True, ensure_ascii=False))
    want = EXPECTED[page]
    assert [list(o) for o in got] == [list(o) for o in want], "a page shows other kinds of output"
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, f"{page}: output {i} ({list(w)[0]}) differs"
