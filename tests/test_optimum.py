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


COLUMNS = ["task", "budget", "n_K", "K_min", "K_max", "n_seeds", "K_grid", "n_grid", "err_grid",
           "err_std", "log2_K_star", "K_star", "n_star", "log2_r_star", "r_star", "err_star",
           "log2_r_lo", "log2_r_hi", "interior", "p_interior", "level"]


def test_defaults_are_the_parabola_with_the_same_columns_and_numbers():
    df = synthetic(seeds=(0, 1, 2), noise=0.01)
    a, da = O.optima(df, n_boot=200, return_draws=True)
    b, db = O.optima(df, n_boot=200, return_draws=True, estimator="parabola", report=None)
    assert list(a.columns) == COLUMNS and a.equals(b)
    assert all(np.array_equal(da[k], db[k]) for k in da)
    same = O.optima(df, n_boot=200, report="test_error")  # reporting the located metric adds nothing
    assert same.equals(a)


def test_estimators_read_one_curve_differently():
    x = np.arange(0, 10, 1.0)
    y = (x - 4.3) ** 2
    for est in O.ESTIMATORS:  # all keep an edge minimum on the edge
        assert O.locate_minimum(x, -x, est)[0] == 9
    assert O.locate_minimum(x, y, "argmin")[:1] == (4.0,)
    assert O.locate_minimum(x, y, "smoothed")[0] == pytest.approx(4.3)  # exact on a parabola
    assert O.locate_minimum(x, y, "parabola") == O.refine_minimum(x, y)
    bumped = y.copy()
    bumped[5] += 0.6  # one noisy neighbour: three points follow it, five average it out
    p = O.locate_minimum(x, bumped, "parabola")[0]
    s = O.locate_minimum(x, bumped, "smoothed")[0]
    assert abs(s - 4.3) < abs(p - 4.3) and 3 <= s <= 5
    with pytest.raises(ValueError, match="estimator"):
        O.locate_minimum(x, y, "lowess")
    with pytest.raises(ValueError, match="estimator"):
        O.optima(synthetic(seeds=(0, 1)), n_boot=0, estimator="lowess")


def test_argmin_optima_lie_on_the_grid():
    df = synthetic(seeds=(0, 1, 2), noise=0.01)
    opt = O.optima(df, n_boot=100, estimator="argmin")
    assert np.allclose(opt.log2_K_star, np.round(opt.log2_K_star))
    assert (opt.K_star == opt.K_grid).all()


def test_locate_on_validation_report_test_error_at_the_selected_point():
    df = synthetic(seeds=(0, 1, 2, 3), noise=0.002, tasks=("glyphs-heldout",))
    # validation error prefers two grid steps more classes than test error does
    lk = np.log2(df.n_classes)
    budget_mid = np.log2(df.budget) / 2
    df["val_error"] = df.test_error + 0.02 * ((lk - budget_mid - 2) ** 2 - (lk - budget_mid) ** 2)
    on_test = O.optima(df, n_boot=100)
    on_val = O.optima(df, metric="val_error", report="test_error", n_boot=100)
    assert (on_val.K_grid > on_test.K_grid).all()
    for r in on_val.itertuples():
        sub = df[(df.budget == r.budget) & (df.n_classes == r.K_grid)]
        assert r.report_metric == "test_error"
        assert r.report_grid == pytest.approx(sub.test_error.mean())
        assert r.report_lo <= r.report_star <= r.report_hi
    # test error read where validation error points is worse than test error's own minimum
    assert (on_val.report_grid.to_numpy() > on_test.err_grid.to_numpy()).all()
    none = O.optima(df, metric="val_error", report="test_error", n_boot=0)
    assert none.report_lo.isna().all() and np.isfinite(none.report_star).all()
    with pytest.raises(ValueError, match="report"):
        O.optima(df, report="train_error")


def test_slope_draws_are_what_ratio_trend_summarises():
    df = synthetic(seeds=(0, 1, 2), noise=0.01)
    opt, draws = O.optima(df, n_boot=300, return_draws=True)
    tr = O.ratio_trend(opt, draws, level=0.9).set_index("task")
    for task, s in O.slope_draws(opt, draws).items():
        assert len(s) == 300
        assert (tr.slope_lo[task], tr.slope_hi[task]) == pytest.approx(tuple(np.percentile(s, [5, 95])))
