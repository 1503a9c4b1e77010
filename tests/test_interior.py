"""Interior tested, not located: each grid end against the selected K, paired by seed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pretrain_diversity.analysis.interior import AT_EDGE, FLAT, INTERIOR, edge_tests
from pretrain_diversity.analysis.tables import load_results
from pretrain_diversity.paths import repo_root


def curve_table(shape, seeds=5, noise=0.002, seed=0) -> pd.DataFrame:
    """One task at N = 1,024: error = shape(log2 K) + a seed offset + noise, val and test."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(seeds):
        offset = rng.normal(0, 0.02)  # shared by every K of a seed: pairing removes it
        for k in (2, 4, 8, 16, 32, 64):
            base = shape(np.log2(k)) + offset
            rows.append(dict(task="t", budget=1024, n_classes=k, samples_per_class=1024 // k,
                             seed=s, val_error=base + rng.normal(0, noise),
                             test_error=base + rng.normal(0, noise)))
    return pd.DataFrame(rows)


def test_a_u_curve_is_interior_a_flat_one_flat_a_slope_at_its_edge():
    u = edge_tests(curve_table(lambda x: 0.3 + 0.02 * (x - 3.5) ** 2)).iloc[0]
    assert u["shape"] == INTERIOR and u["K_selected"] in (8, 16)
    assert u["small_K_diff"] > 0 and u["large_K_diff"] > 0
    flat = edge_tests(curve_table(lambda x: 0.3 + 0 * x, noise=0.01)).iloc[0]
    assert flat["shape"] == FLAT
    falling = edge_tests(curve_table(lambda x: 0.5 - 0.03 * x)).iloc[0]
    assert falling["shape"] == AT_EDGE and falling["K_selected"] == 64
    assert falling["small_K_worse"] and not falling["large_K_worse"]


def test_pairing_by_seed_removes_the_shared_offset():
    """A seed offset 10x the curve's depth hides the U from unpaired means but not from pairs."""
    table = curve_table(lambda x: 0.3 + 0.004 * (x - 3.5) ** 2, noise=0.0005)
    assert edge_tests(table).iloc[0]["shape"] == INTERIOR


def test_on_the_figure1_table_every_cell_is_tested():
    df = load_results(repo_root() / "results" / "figure1" / "runs.csv")
    tests = edge_tests(df)
    assert len(tests) == df.groupby(["task", "budget"]).ngroups
    assert set(tests["shape"]) <= {INTERIOR, FLAT, AT_EDGE}
    assert (tests["shape"] == INTERIOR).sum() >= len(tests) // 2
