"""Figure 1's verdict in words, every number computed from the optima and their trend."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pretrain_diversity.analysis.formatting import ratio as ratio_text
from pretrain_diversity.analysis.verdict_rule import read_slope
from pretrain_diversity.studies.figure1.load import LEVEL


def verdict(opt: pd.DataFrame, trend: pd.DataFrame, *, level: float | None = None) -> str:
    """Markdown: is the optimum interior at every N, and does the optimal ratio move with N?

    ``level`` (for the wording) defaults to the one ``ratio_trend`` used."""
    if level is None:
        level = float(trend["level"].iloc[0]) if "level" in trend and len(trend) else LEVEL
    parts = []
    for task, sub in opt.groupby("task", sort=True):
        sub = sub.sort_values("budget")
        edge = sub[~sub["interior"]]
        if edge.empty:
            p = sub["p_interior"].min()
            where = (
                f"the best K lies strictly inside the grid at every budget "
                f"(N = {', '.join(str(n) for n in sub['budget'])}), "
                + ("in every bootstrap draw over seeds" if p == 1 else
                   f"in at least {p:.0%} of the bootstrap draws over seeds at each budget")
            )
        else:
            bad = "; ".join(
                f"at N = {r.budget} the best is the grid's "
                f"{'smallest' if r.K_grid == r.K_min else 'largest'} K = {r.K_grid}"
                for r in edge.itertuples()
            )
            where = f"the best K is NOT interior everywhere ({bad}): the grid may be too narrow"
        opt_txt = ", ".join(
            f"N = {r.budget}: K* ≈ {r.K_star:.0f}, n* ≈ {r.n_star:.0f}, K/n ≈ {ratio_text(r.r_star)} "
            f"[{ratio_text(2 ** r.log2_r_lo)}, {ratio_text(2 ** r.log2_r_hi)}]"
            for r in sub.itertuples()
        )
        t = trend[trend.task == task]
        if t.empty:
            move = "a single budget says nothing about how the optimum moves with N."
        else:
            t = t.iloc[0]
            r = read_slope(t.slope, t.slope_lo, t.slope_hi, level=level)
            factor = 2 ** (t.slope * math.log2(t.span))
            move = (f"The slope of log K*/n* against log N reads '{r.label}' by the shared rule: "
                    f"{r.reason} (the point estimate would mean a {factor:.3g}-fold change of "
                    f"the best ratio over the study's {t.span:.0f}-fold range of budgets; "
                    f"K* ∝ N^{t.K_exp:.2f}, n* ∝ N^{t.n_exp:.2f}).")
        parts.append(f"**{task}**: {where}. Optima: {opt_txt}. {move}")
    return "\n\n".join(parts)


def optima_table(opt: pd.DataFrame) -> pd.DataFrame:
    """The page's table of optima: per task and budget, the best grid point, K*, n*, the ratio
    with its interval, and whether the minimum is interior (and how often across draws). Where
    the optima were selected on one metric and another reported (``optima(report=...)``), the
    error column is the reported one at the selected point, with its bootstrap interval."""
    if "report_star" in opt:
        err = {f"{opt.report_metric.iloc[0]} at the selected point [95%]": [
            f"{e:.1%} [{lo:.1%}, {hi:.1%}]"
            for e, lo, hi in zip(opt.report_star, opt.report_lo, opt.report_hi)]}
    else:
        err = {"error ± std": [f"{e:.1%} ± {s:.1%}" for e, s in zip(opt.err_grid, opt.err_std)]}
    return pd.DataFrame({
        "task": opt.task,
        "N": opt.budget,
        "best K (grid)": opt.K_grid,
        "its n": opt.n_grid,
        **err,
        "K*": opt.K_star.round().astype(int),
        "n*": opt.n_star.round().astype(int),
        "K*/n* [95% interval]": [f"{r:.2g} [{2 ** lo:.2g}, {2 ** hi:.2g}]"
                                 for r, lo, hi in zip(opt.r_star, opt.log2_r_lo, opt.log2_r_hi)],
        "interior": [f"{'yes' if i else 'NO'} ({p:.0%})" for i, p in zip(opt.interior, opt.p_interior)],
    })


def selection_gap_text(gap: pd.DataFrame) -> str:
    """One sentence: how much lower the quoted test error would be if it were also selected on."""
    if gap.empty:
        return "There are no optima to compare."
    d = gap["difference"]
    worst = gap.loc[d.idxmax()]
    return (f"Selecting on test error instead would quote errors lower by {d.mean():.2%} on "
            f"average over the {len(gap)} (task, budget) optima (at most {worst.difference:.2%}, "
            f"{worst.task} at N = {worst.budget}), and move K* by a factor of up to "
            f"{np.exp(np.abs(np.log(gap['K* (val)'] / gap['K* (test)']))).max():.2g}.")
