"""The invariance page: it executes on results tables, and its live widget works offline.

The page is executed (as the book build would) in a scratch repository whose results tables are
synthetic. What the condition explorer computes is checked against the package in
``tests/test_live_widgets.py``; here the page as the session's book build renders it is checked:
the widget is drawn, nothing is fetched off localhost, no console error.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from browser import check_built_live_widgets
from test_invariance import synthetic_condition

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def _synthetic_root(root: Path) -> Path:
    """A scratch repository: the study specs and synthetic results for every table the page reads
    (the original sampler's table on the knobs' grid copies the Figure 1 runs, as the real one
    mostly does)."""
    (root / "studies").mkdir(parents=True)
    (root / "book").mkdir()
    (root / "pyproject.toml").write_text("")  # marks the repository root (paths.repo_root)
    for f in (ROOT / "studies").glob("*.toml"):
        shutil.copy(f, root / "studies")
    rng = np.random.default_rng(3)

    def save(df, rel):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        # the pages select on validation error: a noisy copy of the test error
        df = df.assign(val_error=df.test_error + rng.normal(0, 0.01, len(df)))
        df.assign(run_id=[f"{rel}-{i}" for i in range(len(df))]).to_csv(path, index=False)

    fig1 = synthetic_condition(0.4, 0.6, b=0.5, full=True, rng=rng, noise=0.01)
    save(fig1.drop(columns=["styles_per_class"]), "results/figure1/runs.csv")  # an older table
    (root / "results/invariance/v2-sampler").mkdir(parents=True)
    shutil.copy(root / "results/figure1/runs.csv", root / "results/invariance/v2-sampler")
    save(pd.concat([synthetic_condition(0.3, 0.7, styles_per_class=1, rng=rng, noise=0.01),
                    synthetic_condition(0.4, 0.6, styles_per_class=8, rng=rng, noise=0.01),
                    synthetic_condition(0.5, 0.5, b=0.5, styles_per_class=0, rng=rng,
                                        noise=0.01)]),
         "results/invariance/v2-variety/runs.csv")
    save(synthetic_condition(0.45, 0.55, b=0.5, width=16, rng=rng, noise=0.01),
         "results/invariance/v2-capacity/runs.csv")
    save(synthetic_condition(0.35, 0.65, b=0.5, epochs=40.0, rng=rng, noise=0.01),
         "results/invariance/v2-epochs/runs.csv")
    return root


def test_invariance_page_executes_on_results_tables(tmp_path):
    import jupytext
    from nbclient import NotebookClient

    root = _synthetic_root(tmp_path / "repo")
    # the verdict and its evidence on one page, the controls and the robustness panel on another
    nbs = [jupytext.read(ROOT / "book" / page) for page in ("invariance.md",
                                                             "invariance-controls.md")]
    env_path = os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = env_path  # the kernel imports this checkout's package
    try:
        for nb in nbs:
            NotebookClient(nb, timeout=600, kernel_name="python3",
                           resources={"metadata": {"path": str(root / "book")}}).execute()
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old
    cells = [c for nb in nbs for c in nb.cells if c.cell_type == "code"]
    text = "\n".join(o.get("data", {}).get("text/markdown", "") for c in cells
                     for o in c.get("outputs", []))
    assert "**Overall**" in text and "*V = 1*" in text and "What a misplaced ratio costs" in text
    assert "verdict (after the panel)" in text and "conditions' verdicts survive every check" in text
    assert "figure1-fixed-steps.toml` has no table yet" in text
    assert "Every knob is read from its own table (3 seeds" in text and "width 16" in text
    from pretrain_diversity.figures.live import VEGALITE_MIME

    widgets = [o for c in cells for o in c.get("outputs", []) if VEGALITE_MIME in o.get("data", {})]
    assert len(widgets) == 1
    assert 'id="vw-invariance-explorer"' in widgets[0]["data"]["text/html"]
    errors = [o for c in cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors


def test_built_invariance_page_has_a_working_explorer(book):
    """The page as the book build renders it (the session's build, tests/conftest.py): the
    explorer starts between two measured budgets, so its read-out says it interpolates."""
    texts = check_built_live_widgets(book["html"], "invariance.html")
    assert any(t.startswith("N =") and "(interpolated between" in t
               and "optimum at log2(K/n)" in t for t in texts), texts
