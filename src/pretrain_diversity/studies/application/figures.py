"""The application page's figures: the target-budget curve with the four choices, r* against the
budget, and the frames of the recommendation widget."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pretrain_diversity.analysis.formatting import ratio_fraction
from pretrain_diversity.analysis.recommend import (
    few_classes_choice, mean_over_tasks, recommend, standard_choice,
)
from pretrain_diversity.figures.style import book_style, legend_outside, panel_grid
from pretrain_diversity.studies.application.stats import (
    CHOICES, EVAL_METRIC, GRID, SELECT_METRIC, Plan, TaskComparison,
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


def recommendation_frames(p: Plan, measured: dict[int, pd.DataFrame],
                          budgets=tuple(2**k for k in range(11, 21)), dpi: int = 72):
    """PNG frames, one per target budget N: the recommended K*, n* (with the interval), the
    standard and few-class choices on a K axis, and the measured curve where N was run.

    ``measured`` maps a budget to its mean-over-tasks rows (``mean_over_tasks``).
    """
    import matplotlib.pyplot as plt

    from pretrain_diversity.figures.widgets import figure_png

    frames, labels = [], []
    kmax = math.log2(p.pool_size) + 0.5
    errs = [d[EVAL_METRIC].to_numpy() * 100 for d in measured.values()]
    ylim = (min(e.min() for e in errs) - 1, max(e.max() for e in errs) + 1) if errs else (0, 1)
    for n_total in budgets:
        limits = dict(pool_size=p.pool_size, max_per_class=p.max_per_class, grid=GRID)
        r = recommend(p.estimate, n_total, **limits)
        std = standard_choice(n_total, **limits)
        few = few_classes_choice(n_total, **limits)
        fig, (top, ax) = plt.subplots(2, 1, figsize=(6.2, 4.4), sharex=True,
                                      gridspec_kw={"height_ratios": [1, 3]})
        top.axvspan(*np.log2(r.K_interval), color="C3", alpha=0.15)
        top.plot(math.log2(r.K), 0, "*", color="C3", ms=16, mec="k")
        top.plot(math.log2(std[0]), 0, "s", color="C0", ms=9, mec="k")
        top.plot(math.log2(few[0]), 0, "^", color="C2", ms=9, mec="k")
        top.set_yticks([])
        top.set_title(f"N = {n_total:,}: K* = {r.K:,}, n* = {r.n:,} (K from {r.K_interval[0]:,.0f} "
                      f"to {r.K_interval[1]:,.0f}); standard K = {std[0]:,}", fontsize=9)
        d = measured.get(n_total)
        if d is not None:
            g = d.groupby("n_classes")[EVAL_METRIC].agg(["mean", "std"])
            x = np.log2(g.index.to_numpy(float))
            ax.plot(x, g["mean"] * 100, "o-", color="0.3", ms=3)
            ax.fill_between(x, (g["mean"] - g["std"].fillna(0)) * 100,
                            (g["mean"] + g["std"].fillna(0)) * 100, color="0.6", alpha=0.25, lw=0)
            for k, (marker, col, ms) in ((r.K, CHOICE_STYLE["recommended"]), (std[0], CHOICE_STYLE["standard"]),
                                         (few[0], CHOICE_STYLE["few classes"])):
                if k in g.index:
                    ax.plot(math.log2(k), g.loc[k, "mean"] * 100, marker, color=col, ms=ms, mec="k")
            used = n_total in p.estimate.budgets
            ax.set_title("measured (mean over tasks ± std over seeds)"
                         + ("; used for the estimate" if used else ""), fontsize=8)
        else:
            ax.text(0.5, 0.5, f"no runs at N = {n_total:,}: only the recommendation",
                    transform=ax.transAxes, ha="center", va="center", color="0.4")
        ax.set_xlim(-0.5, kmax)
        ax.set_ylim(*ylim)
        ax.set_xticks(range(0, int(kmax) + 1, 2), [f"{2 ** k}" for k in range(0, int(kmax) + 1, 2)])
        ax.set(xlabel="K classes (log scale)", ylabel="test error (%)")
        frames.append(figure_png(fig, dpi=dpi))
        labels.append(f"N = {n_total:,}")
    return frames, labels


def recommendation_widget(p: Plan, measured: dict[int, pd.DataFrame], *, start_budget=None,
                          width: str = "600px", **kwargs):
    """A slider over target budgets N showing each frame of ``recommendation_frames``."""
    from pretrain_diversity.figures.widgets import frame_slider

    budgets = kwargs.pop("budgets", tuple(2**k for k in range(11, 21)))
    frames, labels = recommendation_frames(p, measured, budgets=budgets, **kwargs)
    start = list(budgets).index(start_budget) if start_budget in budgets else 0
    return frame_slider(frames, labels, "target budget", start=start, width=width)
