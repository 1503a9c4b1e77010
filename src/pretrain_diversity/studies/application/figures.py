"""The application page's figures: the target-budget curve with the four choices, and r* against
the budget (the calculator is ``figures.recommend_calculator``)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pretrain_diversity.analysis.formatting import ratio_fraction
from pretrain_diversity.analysis.recommend import mean_over_tasks
from pretrain_diversity.figures.style import book_style, legend_outside, panel_grid
from pretrain_diversity.studies.application.stats import (
    CHOICES, SELECT_METRIC, Plan, TaskComparison,
)


CHOICE_STYLE = {"recommended": ("*", "C3", 16), "standard": ("s", "C0", 9),
          "few classes": ("^", "C2", 9), "oracle": ("D", "k", 7)}


def plot_target(cmp: dict[str, TaskComparison], p: Plan):
    """One panel per task and one for the mean: test error along the target budget (mean ± std
    over seeds) with the four choices marked and the K interval of the estimate shaded."""
    tasks = list(cmp)
    fig, axes, spare = panel_grid(len(tasks), row_in=3.0)
    rec = p.recommendation
    for ax, task in zip(axes, tasks):
        c = cmp[task]
        x = np.log2(c.curve.index.to_numpy(float))
        mu, sd = c.curve["test_mean"] * 100, c.curve["test_std"].fillna(0) * 100
        ax.plot(x, mu, "-", color="0.3", lw=1.5)
        ax.fill_between(x, mu - sd, mu + sd, color="0.6", alpha=0.25, lw=0)
        if rec.K_interval is not None:
            ax.axvspan(*np.log2(rec.K_interval), color="C3", alpha=0.1,
                       label=f"K* interval ({p.estimate.level:.0%})")
        for name in CHOICES:
            k = c.ks[name]
            marker, col, ms = CHOICE_STYLE[name]
            ax.plot(math.log2(k), c.curve.loc[k, "test_mean"] * 100, marker, color=col, ms=ms,
                    mec="k", mew=0.6, ls="none", label=name)  # its K: the x position
        ax.set_xticks(x, [f"{2 ** t:.0f}" for t in x], rotation=45)
        ax.set(xlabel=f"K classes at N = {p.budget:,} (log scale)", ylabel="test error (%)",
               title=task)
    legend_outside(fig, axes, spare, ncols=1 if len(spare) else 3)
    return fig


def plot_ratio_by_budget(estimation: pd.DataFrame, target: pd.DataFrame, p: Plan, **kwargs):
    """The optimal ratio (validation error, mean over tasks) at every measured budget, the
    budgets used for the estimate filled, the pooled estimate and its interval as a band."""
    import matplotlib.pyplot as plt

    from pretrain_diversity.analysis.optimum import optima

    both = pd.concat([mean_over_tasks(estimation, (SELECT_METRIC,)),
                      mean_over_tasks(target, (SELECT_METRIC,))], ignore_index=True)
    opt = optima(both, metric=SELECT_METRIC, level=p.estimate.level, **kwargs)
    e = p.estimate
    with book_style():
        fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    ns = opt["budget"].to_numpy(float)
    ax.axhspan(*e.interval, color="C3", alpha=0.12, label=f"estimate, {e.level:.0%} interval")
    ax.axhline(e.r_star, color="C3", lw=1.2, label=f"estimate r* = {e.r_star:.2g}")
    used = opt["budget"].isin(e.budgets).to_numpy()
    for mask, face, label in ((used, "k", "used for the estimate"), (~used, "white", "not used")):
        o = opt[mask]
        if len(o):
            ax.errorbar(o["budget"], o["r_star"],
                        yerr=[o["r_star"] - 2 ** o["log2_r_lo"], 2 ** o["log2_r_hi"] - o["r_star"]],
                        fmt="o", color="k", mfc=face, capsize=3, label=f"measured optimum, {label}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xticks(ns, [f"{n:,.0f}" for n in ns])
    lo = min(np.nanmin(opt["log2_r_lo"]), math.log2(e.interval[0]))
    hi = max(np.nanmax(opt["log2_r_hi"]), math.log2(e.interval[1]))
    ticks = np.arange(math.floor(lo), math.ceil(hi) + 1)
    ax.set_yticks(2.0**ticks, [ratio_fraction(2.0**t) for t in ticks])
    ax.minorticks_off()
    ax.set(xlabel="budget N = K n", ylabel="optimal ratio r* = K*/n*",
           title="Is the optimal ratio the same at every budget?")
    legend_outside(fig, [ax], ncols=2)
    return fig, opt
