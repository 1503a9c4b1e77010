"""Figure 1 analysis on synthetic results tables whose optimum is known in closed form.

err(K, n) = e0 + a K^-alpha + b n^-beta (+ seed noise). At budget N = K n the best K is
K* = (alpha a / (beta b))^(1/(alpha+beta)) N^(beta/(alpha+beta)), so the best ratio r* = K*^2 / N
has slope (beta - alpha) / (alpha + beta) in log N: 0 (an N-invariant ratio, r* = (a/b)^2) when
alpha = beta.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pretrain_diversity.studies import figure1 as F
from pretrain_diversity.analysis import optimum as O

BUDGETS = (2048, 8192, 32768)


def synthetic(alpha=0.5, beta=0.5, a=1.0, b=0.5, noise=0.002, seeds=(0, 1, 2, 3, 4),
              budgets=BUDGETS, step=1, k_min=2, k_max=None, tasks=("glyphs-heldout", "digits")):
    rng = np.random.default_rng(0)
    rows = []
    for t, task in enumerate(tasks):
        for n_total in budgets:
            top = int(math.log2(k_max or n_total))
            for lk in range(int(math.log2(k_min)), top + 1, step):
                k = 2**lk
                n = n_total // k
                for s in seeds:
                    err = 0.05 * t + 0.1 + a * k**-alpha + b * n**-beta
                    rows.append(dict(task=task, n_classes=k, samples_per_class=n, seed=s,
                                     budget=n_total, test_error=err + noise * rng.normal()))
    return pd.DataFrame(rows)


def true_log2_r(n_total, alpha, beta, a, b):
    k = (alpha * a / (beta * b)) ** (1 / (alpha + beta)) * n_total ** (beta / (alpha + beta))
    return 2 * math.log2(k) - math.log2(n_total)


def test_optimum_invariant_ratio_is_found_with_a_covering_interval():
    df = synthetic(alpha=0.5, beta=0.5, a=1.0, b=0.5)  # r* = (a/b)^2 = 4 at every N
    opt = O.optima(df)
    assert len(opt) == 2 * len(BUDGETS)
    assert opt["interior"].all() and (opt["p_interior"] > 0.95).all()
    for r in opt.itertuples():
        assert abs(r.log2_r_star - 2.0) < 0.6, r  # within a third of a K-grid step (factor 4 in r)
        assert r.log2_r_lo <= 2.0 <= r.log2_r_hi or abs(r.log2_r_star - 2) < 0.3
        assert r.n_seeds == 5 and r.K_star * r.n_star == pytest.approx(r.budget)
        assert r.log2_r_lo <= r.log2_r_star + 1e-9 and r.log2_r_star - 1e-9 <= r.log2_r_hi


def test_ratio_trend_zero_for_invariant_and_recovers_a_drift():
    opt, draws = O.optima(synthetic(), return_draws=True)
    tr = O.ratio_trend(opt, draws)
    assert len(tr) == 2
    for r in tr.itertuples():
        assert abs(r.slope) < 0.15 and r.slope_lo <= 0 <= r.slope_hi
        assert r.K_exp == pytest.approx(0.5, abs=0.1) and r.span == 16
    text = F.verdict(opt, tr)
    # read by the shared rule (verdict_rule.read_slope): the interval lies within ±0.2
    assert text.count("reads 'invariant' by the shared rule") == 2
    assert "strictly inside the grid at every budget" in text

    alpha, beta = 0.3, 0.7  # the best ratio grows as N^0.4
    df = synthetic(alpha=alpha, beta=beta, a=1.0, b=1.0, noise=0.0005)
    opt, draws = O.optima(df, return_draws=True)
    for r in opt.itertuples():
        assert r.log2_r_star == pytest.approx(true_log2_r(r.budget, alpha, beta, 1, 1), abs=0.6)
    tr = O.ratio_trend(opt, draws)
    want = (beta - alpha) / (alpha + beta)
    for r in tr.itertuples():
        assert r.slope == pytest.approx(want, abs=0.12) and r.slope_lo > 0
    assert F.verdict(opt, tr).count("reads 'drifts up' by the shared rule") == 2


def test_edge_optimum_is_reported_not_interior():
    df = synthetic(a=1.0, b=0.5, k_max=8)  # K <= 8 but the optimum K* = 2 sqrt(N) >= 90
    opt = O.optima(df)
    assert not opt["interior"].any() and (opt["K_grid"] == 8).all()
    opt, draws = O.optima(df, return_draws=True)
    text = F.verdict(opt, O.ratio_trend(opt, draws))
    assert "NOT interior" in text and "largest K = 8" in text


def test_missing_run_does_not_break_the_bootstrap():
    df = synthetic(seeds=(0, 1, 2))
    df = df.drop(df.index[(df.n_classes == 64) & (df.seed == 1)])
    opt = O.optima(df, n_boot=300)
    assert np.isfinite(opt[["log2_r_star", "log2_r_lo", "log2_r_hi"]].to_numpy()).all()


def test_plots_render():
    import matplotlib

    matplotlib.use("Agg")
    df = synthetic(seeds=(0, 1, 2), step=2)
    opt = O.optima(df, n_boot=200)
    for fig in (F.plot_contours(df, opt), F.plot_ucurves(df, opt)):
        assert len([a for a in fig.axes if a.get_title()]) == 2


def test_missing_results_fail_loudly_with_the_command(tmp_path):
    (tmp_path / "studies").mkdir()
    (tmp_path / "studies" / "figure1.toml").write_text("")
    (tmp_path / "pyproject.toml").write_text("")  # a repository root (paths.repo_root)
    with pytest.raises(FileNotFoundError, match="pretrain-diversity sweep studies/figure1.toml"):
        F.load_figure1(tmp_path)
