"""Figure 1's verdict in words, every number computed from the optima and their trend."""

from __future__ import annotations

import math

import pandas as pd

from pretrain_diversity.analysis.formatting import ratio as ratio_text
from pretrain_diversity.studies.tradeoff.load import LEVEL


def verdict(opt: pd.DataFrame, trend: pd.DataFrame, *, level: float | None = None) -> str:
    """Markdown: is the optimum interior at every N, and does the optimal ratio move with N?

    ``level`` (for the wording) defaults to the one ``ratio_trend`` used."""
    if level is None:
        level = float(trend["level"].iloc[0]) if "level" in trend and len(trend) else LEVEL
    pct = f"{level:.0%}"
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
            ci = f"{t.slope:+.2f} ({pct} bootstrap interval {t.slope_lo:+.2f} to {t.slope_hi:+.2f})"
            factor = 2 ** (t.slope * math.log2(t.span))
            if t.slope_lo > 0 or t.slope_hi < 0:
                way = "grows" if t.slope > 0 else "shrinks"
                move = (
                    f"The optimal ratio moves with N: the slope of log K*/n* against log N is "
                    f"{ci}, which excludes 0, so the best ratio {way} about {factor:.3g}-fold "
                    f"over the study's {t.span:.0f}-fold range of budgets (K* ∝ N^{t.K_exp:.2f}, "
                    f"n* ∝ N^{t.n_exp:.2f}). This contradicts an N-invariant optimal ratio here."
                )
            else:
                move = (
                    f"The data are consistent with an optimal ratio that does not depend on N: "
                    f"the slope of log K*/n* against log N is {ci}, which contains 0 "
                    f"(the point estimate would mean a {factor:.3g}-fold change over the "
                    f"{t.span:.0f}-fold range of budgets)."
                )
        parts.append(f"**{task}**: {where}. Optima: {opt_txt}. {move}")
    return "\n\n".join(parts)


def optima_table(opt: pd.DataFrame) -> pd.DataFrame:
    """The page's table of optima: per task and budget, the best grid point, K*, n*, the ratio
    with its interval, and whether the minimum is interior (and how often across draws)."""
    return pd.DataFrame({
        "task": opt.task,
        "N": opt.budget,
        "best K (grid)": opt.K_grid,
        "its n": opt.n_grid,
        "error ± std": [f"{e:.1%} ± {s:.1%}" for e, s in zip(opt.err_grid, opt.err_std)],
        "K*": opt.K_star.round().astype(int),
        "n*": opt.n_star.round().astype(int),
        "K*/n* [95% interval]": [f"{r:.2g} [{2 ** lo:.2g}, {2 ** hi:.2g}]"
                                 for r, lo, hi in zip(opt.r_star, opt.log2_r_lo, opt.log2_r_hi)],
        "interior": [f"{'yes' if i else 'NO'} ({p:.0%})" for i, p in zip(opt.interior, opt.p_interior)],
    })
