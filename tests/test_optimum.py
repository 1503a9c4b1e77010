"""The one model-free optimum (``optimum``): the parabola step, the bootstrap's two resampling
schemes, and that the theory module's view of it is the same numbers in natural logs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_figure1 import BUDGETS, synthetic

from pretrain_diversity.analysis import optimum as O
from pretrain_diversity.analysis import theory as th


def test_refine_minimum_finds_the_vertex_of_a_parabola():
    x = np.arange(0, 10, 2.0)
    y = (x - 4.7) ** 2
    xv, yv, i = O.refine_minimum(x, y)
    assert i == 2 and xv == pytest.approx(4.7) and yv == pytest.approx(0, abs=1e-9)
    xv, _, i = O.refine_minimum(x, -x)  # minimum at the edge stays there
    assert i == 4 and xv == 8
    y = (x - 4.7) ** 2
    y[1] = np.nan  # a missing run: its neighbours become the parabola's points
    xv, _, i = O.refine_minimum(x, y)
    assert i == 1 and 0 <= xv <= 6


def test_level_sets_the_interval_width():
    df = synthetic(seeds=(0, 1, 2, 3, 4), noise=0.01)
    wide = O.optima(df, level=0.95, n_boot=400)
    narrow = O.optima(df, level=0.5, n_boot=400)
    assert (wide["level"] == 0.95).all() and (narrow["level"] == 0.5).all()
    w = wide["log2_r_hi"] - wide["log2_r_lo"]
    n = narrow["log2_r_hi"] - narrow["log2_r_lo"]
    assert (w >= n - 1e-12).all() and (w > n).any()
    with pytest.raises(ValueError, match="level"):
        O.optima(df, level=95)


def test_joint_and_per_budget_resampling_agree_on_points_not_on_draws():
    df = synthetic(seeds=(0, 1, 2), noise=0.01)
    a, da = O.optima(df, n_boot=300, return_draws=True)
    b, db = O.optima(df, n_boot=300, resample="joint", return_draws=True)
    assert np.allclose(a["log2_r_star"], b["log2_r_star"])  # the point estimate is the same
    assert set(da) == set(db) and all(len(v) == 300 for v in db.values())
    with pytest.raises(ValueError, match="resample"):
        O.optima(df, resample="per-seed")


def test_no_bootstrap_gives_points_and_nan_intervals():
    df = synthetic(seeds=(0, 1, 2))
    opt, draws = O.optima(df, n_boot=0, return_draws=True)
    assert np.isfinite(opt["log2_r_star"]).all() and opt["log2_r_lo"].isna().all()
    tr = O.ratio_trend(opt, draws)
    assert np.isfinite(tr["slope"]).all() and tr["slope_lo"].isna().all()


def test_theory_view_is_the_same_optimum_in_natural_logs():
    df = synthetic(seeds=(0, 1, 2), tasks=("glyphs-heldout",))
    e = th.empirical_optima(df, n_boot=200, level=0.9, seed=3)
    opt, draws = O.optima(df, n_boot=200, level=0.9, seed=3, return_draws=True)
    tr = O.ratio_trend(opt, draws, level=0.9)
    for r in opt.itertuples():
        assert e.log_ratio[r.budget] == pytest.approx(r.log2_r_star * math.log(2))
        lo, hi = e.log_ratio_ci[r.budget]
        assert (lo, hi) == pytest.approx((r.log2_r_lo * math.log(2), r.log2_r_hi * math.log(2)))
        assert e.interior[r.budget] == r.interior
    assert e.slope == pytest.approx(tr.slope.iloc[0])
    assert e.slope_ci == pytest.approx((tr.slope_lo.iloc[0], tr.slope_hi.iloc[0]))
    assert sorted(e.log_ratio) == list(BUDGETS)
