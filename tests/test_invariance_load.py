"""Which tables the invariance page reads: Figure 1, the sampler on the knobs' grid and each knob's
table, never the knobs' first tables (kept in results/ as history).

Small hand-made tables in a scratch repository; the assertions are on what the page would load
and say, so a change that mixed a first-protocol knob table into the page (and thinned every
condition back to its grid) or counted a copied Figure 1 run twice would fail here.
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
    for k in I.KNOBS:  # the first protocol's tables: no shapes, never read
        _table(tmp_path / f"results/invariance/{k}/runs.csv", [(f"{k}1", 2048, 8)],
               tasks=("glyphs-heldout", "digits"))
    return tmp_path


def test_missing_tables_are_named_with_their_commands(repo):
    with pytest.raises(FileNotFoundError) as err:
        I.load_invariance(repo)
    msg = str(err.value)
    assert "invariance-v2-sampler.toml" in msg and "results/figure1/runs.csv" not in msg
    for k in I.KNOBS:
        assert I.command(k) in msg


def test_the_page_reads_the_sampler_and_the_knob_tables_only(repo):
    # the sampler table copies Figure 1's runs (same ids) and adds the point Figure 1 lacks
    _table(repo / I.SAMPLER_RESULTS, [("f1", 1024, 2), ("f3", 32768, 64), ("s1", 32768, 16)])
    for k in I.KNOBS:
        _table(repo / I.results_path(k), [(f"{k}2", 1024, 2), (f"{k}3", 32768, 16)],
               styles_per_class=1)
    df = I.load_invariance(repo)
    assert set(df.source) == {"figure1", "sampler", *I.KNOBS}
    assert not df.run_id.isin([f"{k}1" for k in I.KNOBS]).any()  # no first-protocol run
    assert "shapes" in set(df.task)
    assert len(df[df.run_id == "f1"]) == 3  # read from two tables, counted once per task
    assert set(df[df.source == "sampler"].run_id) == {"s1"}
    assert I.tables_note(df) == ("Every knob is read from its own table (1 seeds, "
                                 "N = 1,024 to 32,768, shapes probed).")
    note = I.sampler_note(repo)
    assert "holds its 3 runs" in note and "2 of them Figure 1's own runs" in note
    assert "1 that Figure 1's grid lacks (K = 16 at N = 32,768)" in note
    prov = I.provenance(repo)
    assert "results/invariance/v2-variety/runs.csv" in prov and "v2-sampler" in prov
    assert "results/invariance/capacity/runs.csv" not in prov
