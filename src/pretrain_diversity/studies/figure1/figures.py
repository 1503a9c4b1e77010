"""Figure 1's figures: contours over (log2 K, log2 n), U-curves per budget, the iso-N widget."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pretrain_diversity.analysis.optimum import add_log_columns, optima
from pretrain_diversity.figures.baselines import draw_baselines
from pretrain_diversity.figures.budget_curve import draw_budget_curve
from pretrain_diversity.figures.style import budget_colors, legend_outside, panel_grid
from pretrain_diversity.studies.slope_verdicts import star_of
from pretrain_diversity.studies.figure1.load import LEVEL, METRIC


def plot_contours(df: pd.DataFrame, opt: pd.DataFrame | None = None, *, metric: str = METRIC):
    """One panel per task: seed-mean error over (log2 K, log2 n), iso-N diagonals, optima.

    The surface is interpolated (linear, on a triangulation) between the measured points, which
    lie on the iso-N diagonals only; the dots mark them.
    """
    import matplotlib.tri as mtri

    df = add_log_columns(df, metric)
    opt = optima(df, metric=metric, level=LEVEL) if opt is None else opt
    tasks = sorted(df["task"].unique())
    fig, axes, spare = panel_grid(len(tasks), row_in=3.6)
    for ax, task in zip(axes, tasks):
        m = df[df.task == task].groupby(["budget", "log2_K", "log2_n"], as_index=False)
        m = m[metric].mean()
        x, y, z = m["log2_K"].to_numpy(), m["log2_n"].to_numpy(), m[metric].to_numpy()
        if len(m) >= 3 and m["budget"].nunique() > 1:
            cs = ax.tricontourf(mtri.Triangulation(x, y), z * 100, levels=14, cmap="viridis_r")
            fig.colorbar(cs, ax=ax, label="test error (%)")
        ax.scatter(x, y, s=8, c="k", alpha=0.6, label="measured (K, n)")
        lo, hi = min(x.min(), y.min()) - 0.5, max(x.max(), y.max()) + 0.5
        budgets = sorted(m["budget"].unique())
        for i, n in enumerate(budgets):  # the diagonals lie too close to label one by one
            ln = math.log2(n)
            ax.plot([lo, ln - lo], [ln - lo, lo], "r--", lw=1, label=None if i else
                    f"fixed budget N = {budgets[0]:,} … {budgets[-1]:,}\n(lower left to upper right)")
        o = opt[opt.task == task]
        ax.plot(o["log2_K_star"], np.log2(o["n_star"]), "*", color="white", mec="k", ms=14,
                label="optimum per N")
        ax.set(xlim=(lo, hi), ylim=(lo, hi), xlabel="log2 K (classes)",
               ylabel="log2 n (images per class)", title=task)
        ax.set_aspect("equal")
    legend_outside(fig, axes, spare)
    return fig


def plot_ucurves(df: pd.DataFrame, opt: pd.DataFrame | None = None, *, metric: str = METRIC,
                 baselines: dict | None = None):
    """One panel per task: error against log2(K/n) per budget, mean ± 1 std over seeds, optima
    with their bootstrap interval (horizontal bar); ``baselines`` ({task: {kind: error}}, e.g.
    ``slope_verdicts.baseline_lines``) adds the no-pre-training reference lines."""
    df = add_log_columns(df, metric)
    opt = optima(df, metric=metric, level=LEVEL) if opt is None else opt
    tasks = sorted(df["task"].unique())
    budgets = sorted(df["budget"].unique())
    colors = budget_colors(budgets)
    fig, axes, spare = panel_grid(len(tasks), row_in=3.2)
    for ax, task in zip(axes, tasks):
        for n in budgets:
            o = opt[(opt.task == task) & (opt.budget == n)]
            draw_budget_curve(ax, df[(df.task == task) & (df.budget == n)], metric, colors[n],
                              f"N = {n}", star_of(o))
        draw_baselines(ax, (baselines or {}).get(task))
        ax.axvline(0, color="0.6", lw=0.8, ls=":")
        ax.set(xlabel="log2 (K / n)\n← more images per class · more classes →",
               ylabel="test error (%)", title=task)
    legend_outside(fig, axes, spare)
    return fig
