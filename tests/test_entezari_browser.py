"""The Entezari chapter's built pages, in headless Chromium, offline (the session's book build).

What the shots explorer computes is checked against the package in ``tests/test_live_widgets.py``;
here the built sources page must draw it with no network request and no console error.
"""

from __future__ import annotations

import pytest
from browser import check_built_live_widgets

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("page", ["index", "sources", "size", "curation", "methods"])
def test_built_chapter_pages_carry_their_verdicts(book, page):
    html = book["html"] / "entezari" / f"{page}.html"
    assert html.exists(), f"{html} was not built: is it in _toc.yml?"
    text = html.read_text()
    assert "Traceback" not in text  # the build stops on a failing cell; belt and braces
    if page != "index":
        assert "Verdict" in text
        assert any(w in text for w in ("reproduced", "partly reproduced", "not reproduced"))


def test_built_sources_page_has_a_working_shots_explorer(book):
    """The explorer starts at 1 shot with every source ticked, and the paper's spread beside it."""
    texts = check_built_live_widgets(book["html"], "entezari/sources.html")
    assert any(t.startswith("1-shot, linear probe: spread = ") and "across 5 of 5 sources" in t
               for t in texts), texts
    assert any(t.startswith("theirs (CIFAR-100") and "spread = 12.6" in t for t in texts), texts


@pytest.mark.parametrize("page", ["index", "sources", "size", "curation", "methods"])
def test_chapter_page_executes_on_results_tables(tmp_path, page):
    import os
    from pathlib import Path

    import jupytext
    from nbclient import NotebookClient
    from test_entezari import synthetic_root

    here = Path(__file__).resolve().parents[1]
    root = synthetic_root(tmp_path / "repo")
    (root / "book" / "entezari").mkdir()
    nb = jupytext.read(here / "book" / "entezari" / f"{page}.md")
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(here / "src"), old or ""])
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(root / "book" / "entezari")}}).execute()
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(o.get("data", {}).get("text/markdown", "") for o in outputs)
    if page != "index":
        assert "Verdict" in text and "reproduced" in text
    else:
        assert "choosing on test would add" in text
