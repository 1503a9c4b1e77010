"""Which tables the invariance page reads: one protocol at a time, never v1 and v2 mixed.

Small hand-made tables in a scratch repository; the assertions are on what the page would load
and say, so a change that mixed a v1 knob into a v2 page (and thinned every condition back to
v1's grid) or counted a copied Figure 1 run twice would fail here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from pretrain_diversity.studies import invariance as I

ROOT = Path(__file__).resolve().parents[1]


def _table(path: Path, runs, tasks=("glyphs-heldout", "digits", "shapes"), **config):
    """runs: (run_id, N, K) rows; every task gets a row per run."""
    rows = [dict(run_id=r, task=t, budget=n, n_classes=k, samples_per_class=n // k, seed=0,
                 test_error=0.3, val_error=0.3, width=8, epochs=20.0, **config)
            for r, n, k in runs for t in tasks]
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    shutil.copytree(ROOT / "studies", tmp_path / "studies")
    fig1 = [("f1", 1024, 2), ("f2", 1024, 8), ("f3", 32768, 64)]
    _table(tmp_path / "results/figure1/runs.csv", fig1)
    for k in I.KNOBS:  # v1: no shapes
        _table(tmp_path / I.results_path(k), [(f"{k}1", 2048, 8)], tasks=("glyphs-heldout", "digits"))
    return tmp_path


def test_v1_tables_are_read_until_a_v2_table_exists(repo):
    assert I.protocol(repo) == 1 and I.knobs_read(repo) == list(I.KNOBS)
    df = I.load_invariance(repo)
    assert set(df.source) == {"figure1", *I.KNOBS}
    assert set(df.task) == {"glyphs-heldout", "digits"}  # v1 never probed shapes
    assert "Protocol v2 has not run for variety, capacity, epochs" in I.v2_status(repo)


def test_a_v2_table_switches_the_page_to_v2_only(repo):
    _table(repo / I.results_path("variety", 2), [("v1", 1024, 2), ("v2", 32768, 16)],
           styles_per_class=1)
    with pytest.raises(FileNotFoundError, match="invariance-v2-sampler.toml"):
        I.load_invariance(repo)  # the original sampler on the v2 grid is required
    # the sampler table copies Figure 1's runs (same ids) and adds the point Figure 1 lacks
    _table(repo / I.SAMPLER_RESULTS, [("f1", 1024, 2), ("f3", 32768, 64), ("s1", 32768, 16)])
    assert I.protocol(repo) == 2 and I.knobs_read(repo) == ["variety"]
    df = I.load_invariance(repo)
    assert set(df.source) == {"figure1", "sampler", "variety"}  # no v1 knob mixed in
    assert "shapes" in set(df.task)
    assert len(df[df.run_id == "f1"]) == 3  # read from two tables, counted once per task
    assert set(df[df.source == "sampler"].run_id) == {"s1"}
    note = I.sampler_note(repo)
    assert "holds its 3 runs" in note and "2 of them Figure 1's own runs" in note
    assert "1 that Figure 1's grid lacks (K = 16 at N = 32,768)" in note
    status = I.v2_status(repo)
    assert status.startswith("**This page reads protocol v2**") and "for variety." in status
    assert "capacity, epochs have not finished" in status and "left out of this page" in status
    prov = I.provenance(repo)
    assert "results/invariance/v2-variety/runs.csv" in prov and "v2-sampler" in prov
    assert "results/invariance/capacity/runs.csv" not in prov
