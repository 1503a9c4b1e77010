"""Every book page shows what it is pinned to show.

``tests/data/page_outputs/<page>.json`` (one file a page, ``theory/fit.md`` -> ``theory__fit.json``)
holds every Markdown verdict and summary, every table and every figure (as a fingerprint:
titles, labels, scales, limits, line and marker data, texts, image summaries) the page displays
from the committed results tables. The pins were first written from commit f5dea64, so the
restructured package was shown to display the same, value for value. A change that is meant to
alter a page (new data, a new verdict rule) re-pins that page in the same commit, with the reason
in the message::

    python tests/page_outputs.py --write figure1.md theory/fit.md

Text, table labels, integers and the kinds of output must agree exactly; floats to within
``figure_fingerprint.REL_TOL``, and pictures of the data (integer pixels) to within a grey level
or two of every thumbnail block (``figure_fingerprint.same``): the same code computes values that
differ in the last bits on another kind of CPU, so no pin holds exact image bytes or a digest.
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import figure_fingerprint as fp  # noqa: E402
import page_outputs  # noqa: E402


def test_every_page_is_pinned():
    pinned = {p.name for p in page_outputs.PINS.glob("*.json")}
    assert pinned == {page_outputs.pin_path(p).name for p in page_outputs.PAGES}


def _stacks(tree):
    """The frames (Image values) of every Stack-like container of a widget tree, in order."""
    if not isinstance(tree, dict):
        return
    kids = tree.get("children", [])
    frames = [k["value"] for k in kids if isinstance(k, dict) and k.get("type") == "Image"]
    if len(frames) >= 2:
        yield frames
    for k in kids:
        yield from _stacks(k)


@pytest.mark.parametrize("page", page_outputs.PAGES)
def test_page_shows_what_it_showed(page):
    got = json.loads(json.dumps(page_outputs.run_page(page_outputs.ROOT / "book" / page),
                                sort_keys=True, ensure_ascii=False))
    want = json.loads(page_outputs.pin_path(page).read_text())
    assert [list(o) for o in got] == [list(o) for o in want], "a page shows other kinds of output"
    for i, (g, w) in enumerate(zip(got, want)):
        diffs = fp.same(g, w)
        assert not diffs, f"{page}: output {i} ({list(w)[0]}) differs:\n" + "\n".join(diffs[:20])
    # A slider over frames that all look alike would pass the comparison above by accident.
    for o in got:
        for frames in _stacks(o.get("widget")):
            for (i, a), (j, b) in itertools.combinations(enumerate(frames), 2):
                assert fp.same(a, b), f"{page}: widget frames {i} and {j} show the same thing"


def test_a_running_studys_progress_is_masked_and_nothing_else():
    assert page_outputs.steady("not yet measured (2 of 25 runs recorded)") == \
        "not yet measured (… of … runs recorded)"
    assert page_outputs.steady("3 of 4 cells agree") == "3 of 4 cells agree"
