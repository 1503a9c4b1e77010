"""The invariance page's figures: slopes per condition, optima against N, U-curves, fitted
exponents, and the live condition x budget explorer (Vega-Lite, computed in the browser)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pretrain_diversity.analysis import optimum
from pretrain_diversity.figures.baselines import draw_baselines
from pretrain_diversity.figures.budget_curve import draw_budget_curve
from pretrain_diversity.figures.style import (
    FULL_WIDTH_IN, book_style, budget_colors, legend_outside, panel_grid,
)
from pretrain_diversity.studies.invariance.conditions import BASELINE, FULL_GRID, knob_groups
from pretrain_diversity.studies.invariance.load import METRIC
from pretrain_diversity.studies.invariance.stats import Invariance
from pretrain_diversity.studies.slope_verdicts import star_of


KNOB_COLORS = {"variety": "C0", "capacity": "C2", "training budget": "C3", "baseline": "k",
               "grid check": "0.6"}


def _knob_of(cond: str, groups: dict) -> str:
    if cond == FULL_GRID:
        return "grid check"
    if cond == BASELINE:
        return "baseline"
    for k, members in groups.items():
        if cond in members:
            return k
    return "baseline"


def plot_slopes(inv: Invariance):
    """One panel per task, stacked (the condition names need the width): the slope of log2 r*
    on log2 N per condition, with its interval."""
    import matplotlib.pyplot as plt

    tasks = sorted(inv.trend["task"].unique())
    conds = inv.conditions
    groups = knob_groups([c for c in conds if c != FULL_GRID])
    with book_style():
        fig, axes = plt.subplots(len(tasks), 1, figsize=(FULL_WIDTH_IN, (0.28 * len(conds) + 0.9)
                                                          * len(tasks) + 0.4),
                                 squeeze=False, sharex=True, layout="constrained")
    for ax, task in zip(axes[:, 0], tasks):
        for i, cond in enumerate(conds):
            t = inv.trend[(inv.trend.condition == cond) & (inv.trend.task == task)]
            if t.empty:
                continue
            t = t.iloc[0]
            col = KNOB_COLORS[_knob_of(cond, groups)]
            ax.errorbar(t.slope, i, xerr=[[t.slope - t.slope_lo], [t.slope_hi - t.slope]],
                        fmt="o", color=col, capsize=3, ms=6)
        ax.axvline(0, color="0.5", lw=1, ls="--")
        ax.set_yticks(range(len(conds)), conds)
        ax.set_ylim(len(conds) - 0.5, -0.5)  # first condition on top
        ax.set_title(task)
        ax.grid(axis="x", alpha=0.3)
    axes[-1, 0].set_xlabel("slope of log2 K*/n* against log2 N  (0 = invariant)")
    fig.suptitle(f"Drift of the optimal ratio per condition ({inv.level:.0%} bootstrap intervals "
                 "over seeds)")
    return fig


def plot_optima(inv: Invariance):
    """One panel per task, two a row: log2 r* against log2 N per condition (interval bars,
    fitted line); the legend in the spare slot or below."""
    import matplotlib.pyplot as plt

    tasks = sorted(inv.optima["task"].unique())
    conds = [c for c in inv.conditions if c != FULL_GRID]
    cmap = plt.get_cmap("tab10")
    fig, axes, spare = panel_grid(len(tasks), row_in=3.2)
    for ax, task in zip(axes, tasks):
        for i, cond in enumerate(conds):
            o = inv.optima[(inv.optima.condition == cond) & (inv.optima.task == task)]
            o = o.sort_values("budget")
            x = np.log2(o.budget.to_numpy(float)) + (i - len(conds) / 2) * 0.04
            y = o.log2_r_star.to_numpy()
            ax.errorbar(x, y, yerr=[y - o.log2_r_lo, o.log2_r_hi - y], fmt="o", color=cmap(i),
                        capsize=2, ms=4, label=cond)
            if len(x) >= 2:
                b, a = np.polyfit(x, y, 1)
                ax.plot(x, a + b * x, "-", color=cmap(i), lw=1)
        ax.set(xlabel="log2 N", ylabel="log2 K*/n*", title=task)
        ax.grid(alpha=0.3)
    legend_outside(fig, axes, spare, ncols=1 if len(spare) else 2)
    return fig


def plot_ucurves(inv: Invariance, task: str, metric: str = METRIC, *,
                 baselines: dict | None = None):
    """One task's curves, one panel per condition, two a row: error against log2(K/n) per budget
    (mean ± std over seeds), the optimum of each budget as a star with its interval; the axes
    are shared so that conditions compare at a glance. One figure a task, because conditions ×
    tasks panels in one figure would not fit the column. ``baselines`` ({task: {kind: error}})
    adds the no-pre-training reference lines."""
    df = optimum.add_log_columns(inv.data, metric)
    dt = df[df.task == task]
    conds = inv.conditions
    budgets = sorted(df["budget"].unique())
    colors = budget_colors(budgets)
    fig, axes, spare = panel_grid(len(conds), row_in=2.4, sharex=True, sharey=True)
    for ci, (ax, cond) in enumerate(zip(axes, conds)):
        for n in budgets:
            o = inv.optima[(inv.optima.condition == cond) & (inv.optima.task == task)
                           & (inv.optima.budget == n)]
            draw_budget_curve(ax, dt[(dt.condition == cond) & (dt.budget == n)], metric,
                              colors[n], f"N = {n}", star_of(o), ms=3, lw=1.2, star_ms=10,
                              capsize=2)
        draw_baselines(ax, (baselines or {}).get(task))
        ax.axvline(0, color="0.6", lw=0.8, ls=":")
        ax.set_title(cond)
        if ci % 2 == 0:
            ax.set_ylabel("test error (%)")
        ax.tick_params(labelbottom=True)
        ax.set_xlabel("log2 (K / n)")
    fig.suptitle(f"{task}: error along each budget, per condition")
    legend_outside(fig, axes, spare, ncols=1 if len(spare) else 3)
    return fig


def plot_exponents(fits: pd.DataFrame):
    """One panel per task, stacked (the condition names need the width): fitted alpha (class
    term) and beta (per-class sample term) with their intervals per condition; their gap sets
    the drift (beta - alpha)/(alpha + beta). The legend sits below the panels."""
    import matplotlib.pyplot as plt

    tasks = sorted(fits["task"].unique())
    conds = list(dict.fromkeys(fits["condition"]))
    with book_style():
        fig, axes = plt.subplots(len(tasks), 1, figsize=(FULL_WIDTH_IN, (0.28 * len(conds) + 0.9)
                                                          * len(tasks) + 0.5),
                                 squeeze=False, sharex=True, layout="constrained")
    for ax, task in zip(axes[:, 0], tasks):
        f = fits[fits.task == task].set_index("condition")
        for name, sym, col, off in (("alpha", "α (classes)", "C0", -0.12),
                                    ("beta", "β (images per class)", "C1", 0.12)):
            ys, xs, lo, hi = [], [], [], []
            for i, c in enumerate(conds):
                if c in f.index:
                    r = f.loc[c]
                    ys.append(i + off)
                    xs.append(r[name])
                    lo.append(max(0.0, r[name] - r[f"{name}_lo"]))
                    hi.append(max(0.0, r[f"{name}_hi"] - r[name]))
            ax.errorbar(xs, ys, xerr=[lo, hi], fmt="o", color=col, capsize=3, ms=5, label=sym)
        ax.set_yticks(range(len(conds)), conds)
        ax.set_ylim(len(conds) - 0.5, -0.5)  # first condition on top
        ax.set_title(task)
        ax.grid(axis="x", alpha=0.3)
    axes[-1, 0].set_xlabel("fitted exponent")
    legend_outside(fig, list(axes[:, 0]), ncols=2)
    return fig


def condition_grid(inv: Invariance, conditions: list[str] | None = None) -> pd.DataFrame:
    """Seed means with their 95% intervals per condition, task, split and budget, on every integer
    log2(K/n) (``analysis.ucurves.integer_grid``): the table the condition explorer embeds.
    The full-Figure-1-grid check is left out: it is the original sampler on a denser grid, a check
    of the thinning, not a condition a reader would choose."""
    from pretrain_diversity.analysis.ucurves import integer_grid, seed_curves

    conds = conditions or [c for c in inv.conditions if c != FULL_GRID]
    data = inv.data[inv.data["condition"].isin(conds)]
    return integer_grid(seed_curves(data, by=("condition",)), by=("condition",))


def condition_optimum(grid: pd.DataFrame, condition: str, task: str, split: str,
                      log2_n: float) -> dict:
    """What the condition explorer prints: the lowest point of the curve at budget 2^log2_n,
    interpolated in log N between the measured budgets around it (``ucurves.optimum_at_budget``
    on the condition's rows). The browser test compares the page's read-out with this."""
    from pretrain_diversity.analysis.ucurves import optimum_at_budget

    return optimum_at_budget(grid[grid["condition"] == condition], task, split, log2_n)


def condition_widget(inv: Invariance, *, conditions: list[str] | None = None, width: int = 600):
    """Pick a condition, a task and the error to read, slide the budget anywhere between the
    measured ones: the seed-mean curve with its 95% band, interpolated in log N between measured
    budgets, its lowest point printed; the triangles on the floor are the page's own optimum at
    each measured budget (parabola through the best point and its neighbours, on validation
    error), so sliding N shows whether the optimum moves or stays.

    Computed in the reader's browser (``figures.figure1_explorer``'s chart with one more choice);
    ``condition_optimum`` is the same computation in Python."""
    import altair as alt

    from pretrain_diversity.figures.figure1_explorer import explorer_chart
    from pretrain_diversity.figures.live import LiveWidget

    grid = condition_grid(inv, conditions)
    conds = list(dict.fromkeys(grid["condition"]))
    first = BASELINE if BASELINE in conds else conds[0]
    o = inv.optima[inv.optima["condition"].isin(conds)]
    floor = pd.DataFrame({
        "condition": o["condition"], "task": o["task"],
        "x": o["log2_r_star"].round(2), "lo": o["log2_r_lo"].round(2),
        "hi": o["log2_r_hi"].round(2), "log2_budget": np.log2(o["budget"].to_numpy(float)),
        "N": o["budget"].astype(int),
    })
    optima = (
        alt.Chart(alt.Data(values=floor.to_dict("records")))
        .transform_filter("datum.condition == condition && datum.task == task")
        .mark_point(shape="triangle-up", size=120, filled=True, stroke="black", strokeWidth=0.6,
                    clip=False)
        .encode(
            x="x:Q", y=alt.value(330), color=alt.Color("log2_budget:O"),
            tooltip=[alt.Tooltip("N:Q", title="measured budget N", format=","),
                     alt.Tooltip("x:Q", title="page's optimum log2(K*/n*)", format=".2f"),
                     alt.Tooltip("lo:Q", title=f"{inv.level:.0%} from", format=".2f"),
                     alt.Tooltip("hi:Q", title=f"{inv.level:.0%} to", format=".2f")],
        )
    )
    chart = explorer_chart(grid, width=width, choices={"condition": ("condition ", first)},
                           layers=[optima])
    return LiveWidget(chart, "invariance-explorer")
