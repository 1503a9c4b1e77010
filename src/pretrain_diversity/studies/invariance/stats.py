"""The invariance statistics: per condition and task, the slope of log2 r* on log2 N with its
bootstrap interval, paired contrasts between conditions, the regret of extrapolating the small-N
ratio, the grid's own bias, the free-exponent fit, and the reading of a slope against the margin.
Pure functions of a results table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pretrain_diversity.analysis import optimum
from pretrain_diversity.analysis.bootstrap import interval, percentiles, slope_draws
from pretrain_diversity.analysis.verdict_rule import MARGIN  # noqa: F401 (the page's margin)
from pretrain_diversity.studies.invariance.conditions import (
    BASELINE, FULL_GRID, conditions_in_order, label_conditions, match_grid,
)
from pretrain_diversity.studies.invariance.load import METRIC


@dataclass
class Invariance:
    """Per condition and task: optima per budget, slope of log2 r* on log2 N, its draws."""

    optima: pd.DataFrame  # optimum.optima rows + condition
    trend: pd.DataFrame  # optimum.ratio_trend rows + condition
    draws: dict = field(repr=False)  # (condition, task) -> bootstrap slope draws
    conditions: list[str] = field(default_factory=list)
    level: float = 0.95
    data: pd.DataFrame | None = field(default=None, repr=False)  # the rows analysed


def analyse(
    df: pd.DataFrame,
    *,
    match: bool = True,
    full_grid_check: bool = True,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
    metric: str = METRIC,
    report: str | None = None,
) -> Invariance:
    """Optimum per budget and ratio trend for every condition (``optimum.optima``/``ratio_trend``).

    With ``match`` the conditions are compared on their common (N, K) points; with
    ``full_grid_check`` the original sampler is also analysed on all its points (condition
    ``FULL_GRID``), to show how much the thinner common grid moves its answer. The pages pass
    ``metric="val_error", report="test_error"`` (selected on validation, test quoted).
    """
    df = label_conditions(df) if "condition" not in df else df
    full = df
    if match and df["condition"].nunique() > 1:
        df = match_grid(df)
    parts = {c: df[df["condition"] == c] for c in conditions_in_order(df)}
    if full_grid_check and BASELINE in parts:
        base_full = full[full["condition"] == BASELINE]
        if len(base_full) > len(parts[BASELINE]):
            parts[FULL_GRID] = base_full.assign(condition=FULL_GRID)
    opts, trends, draws = [], [], {}
    for cond, sub in parts.items():
        opt, d = optimum.optima(sub, metric=metric, n_boot=n_boot, seed=seed, level=level,
                                return_draws=True, report=report)
        tr = optimum.ratio_trend(opt, d, level=level)
        opts.append(opt.assign(condition=cond))
        trends.append(tr.assign(condition=cond))
        for task, s in slope_draws(opt, d).items():
            draws[(cond, task)] = s
    data = pd.concat(parts.values(), ignore_index=True)
    return Invariance(
        optima=pd.concat(opts, ignore_index=True),
        trend=pd.concat(trends, ignore_index=True),
        draws=draws,
        conditions=list(parts),
        level=level,
        data=data,
    )


def contrasts(inv: Invariance, reference: str | None = None, pairs=None) -> pd.DataFrame:
    """Slope differences between conditions, per task, with percentile bootstrap intervals.

    ``pairs``: (condition, reference) tuples; default: every condition against ``reference``
    (default: the original sampler if present, else the first condition). The draws of two
    conditions come from the same resamples of seeds (``optimum.optima`` draws them from one RNG
    seed in the same order), so the difference is a paired bootstrap when both conditions have the
    same seeds and budgets, as the invariance studies do.
    """
    conds = [c for c in inv.conditions if c != FULL_GRID]
    if pairs is None:
        reference = reference or (BASELINE if BASELINE in conds else conds[0])
        pairs = [(c, reference) for c in conds if c != reference]
    q = percentiles(inv.level)
    rows = []
    for cond, ref in pairs:
        for task in sorted(inv.trend["task"].unique()):
            a, b = inv.draws.get((cond, task)), inv.draws.get((ref, task))
            if a is None or b is None:
                continue
            ta = inv.trend[(inv.trend.condition == cond) & (inv.trend.task == task)].iloc[0]
            tb = inv.trend[(inv.trend.condition == ref) & (inv.trend.task == task)].iloc[0]
            diff = a - b
            lo, hi = np.percentile(diff, q)
            rows.append(dict(task=task, condition=cond, reference=ref,
                             difference=float(ta.slope - tb.slope), lo=float(lo), hi=float(hi)))
    return pd.DataFrame(rows, columns=["task", "condition", "reference", "difference", "lo", "hi"])


def extrapolation_regret(inv: Invariance, metric: str = METRIC) -> pd.DataFrame:
    """What the paper's recipe costs: the ratio found at the smallest N, used at the largest N.

    Per condition and task: the seed-mean error at the largest budget, read off its curve over
    log2(K/n) (linear between grid points) at the optimal ratio of the smallest budget, minus the
    lowest seed-mean error measured at the largest budget. ``clipped`` marks a ratio outside the
    largest budget's grid (read at the nearest edge).
    """
    df = optimum.add_log_columns(inv.data, metric)
    rows = []
    for (cond, task), opt in inv.optima.groupby(["condition", "task"], sort=False):
        opt = opt.sort_values("budget")
        small, large = opt.iloc[0], opt.iloc[-1]
        sub = df[(df.condition == cond) & (df.task == task) & (df.budget == large.budget)]
        curve = sub.groupby("log2_r")[metric].mean().sort_index()
        x = curve.index.to_numpy(float)
        r0 = float(small.log2_r_star)
        err = float(np.interp(r0, x, curve.to_numpy()))
        rows.append(dict(
            condition=cond, task=task, small_budget=int(small.budget),
            large_budget=int(large.budget), log2_r_small=r0, log2_r_large=float(large.log2_r_star),
            err_at_small_ratio=err, err_best=float(curve.min()),
            regret=err - float(curve.min()), clipped=bool(r0 < x.min() or r0 > x.max()),
        ))  # fmt: skip
    return pd.DataFrame(rows)


NULL_LOG2_RATIOS = tuple(np.arange(-3.0, 3.01, 0.5))  # where grid_bias puts the true optimum


def grid_bias(data: pd.DataFrame, *, log2_r_true=NULL_LOG2_RATIOS) -> pd.DataFrame:
    """Slope an exactly invariant optimum would show on this grid, from interpolation alone.

    For every condition's (N, K) grid: noise-free errors 0.1 + a K^-1/2 + n^-1/2 (the theory's
    symmetric case; r* = a^2 whatever N), with a set so that log2 r* takes each value of
    ``log2_r_true``; the slope of the located optima on log2 N should be 0, and what is not is the
    bias of placing a minimum between grid points by a parabola. Returns the largest |slope| per
    condition and the mean.
    """
    rows = []
    for cond, sub in data.groupby("condition", sort=False):
        pts = sub[["budget", "n_classes"]].drop_duplicates()
        slopes = []
        for lr in log2_r_true:
            a = 2 ** (lr / 2)
            t = pts.assign(task="null", seed=0, samples_per_class=pts.budget // pts.n_classes)
            t[METRIC] = 0.1 + a * t.n_classes**-0.5 + t.samples_per_class**-0.5
            opt, d = optimum.optima(t, n_boot=2, return_draws=True)
            slopes.append(float(optimum.ratio_trend(opt, d).slope.iloc[0]))
        slopes = np.array(slopes)
        rows.append(dict(condition=cond, max_abs_bias=float(np.abs(slopes).max()),
                         mean_bias=float(slopes.mean())))
    return pd.DataFrame(rows)


def fit_exponents(inv_or_df, *, window: int | None = 5, n_boot: int = 100, level: float = 0.95,
                  seed: int = 0) -> pd.DataFrame:
    """Free-exponent fit of the theory chapter's bound per condition and task.

    err = floor + a K^-alpha + b n^-beta + c (K n)^-gamma (``theory.fit_tradeoff`` with
    ``free_exponents=True``, identity link, ``window`` splits nearest each budget's minimum).
    alpha is the exponent of the class term, beta of the per-class sample term; the optimum drifts
    as N^((beta - alpha)/(alpha + beta)). Intervals: percentiles over bootstrap-over-seeds refits.
    """
    from pretrain_diversity.analysis import theory as theory

    data = inv_or_df.data if isinstance(inv_or_df, Invariance) else label_conditions(inv_or_df)
    order = (inv_or_df.conditions if isinstance(inv_or_df, Invariance)
             else conditions_in_order(data))
    rows = []
    for cond in order:
        sub = data[data["condition"] == cond]
        for task in sorted(sub["task"].unique()):
            f = theory.fit_tradeoff(sub, True, task=task, window=window, n_boot=n_boot,
                                    level=level, seed=seed)
            row = dict(condition=cond, task=task, r2=f.r2, rmse=f.rmse, noise_rmse=f.noise_rmse,
                       n_configs=f.n_configs, drift=f.drift, drift_lo=f.drift_ci[0],
                       drift_hi=f.drift_ci[1])
            for name in ("alpha", "beta", "gamma"):
                vals = np.array([getattr(p, name) for p in f.boot], float)
                row[name] = getattr(f.params, name)
                row[f"{name}_lo"], row[f"{name}_hi"] = (
                    interval(vals, level)
                    if len(vals) else (np.nan, np.nan)
                )
            rows.append(row)
    return pd.DataFrame(rows)
