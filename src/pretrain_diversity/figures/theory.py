"""The theory chapter's static figures: measured curves against the fitted bound, r* against N.

Drawn here, not on the pages, so a page only chooses what to show. The chapter's widgets compute
in the browser: ``figures.theory_explorer`` (the bound) and ``figures.fit_explorer`` (the fit at
any budget).
"""

from __future__ import annotations

import numpy as np

from pretrain_diversity.analysis import theory as th
from pretrain_diversity.analysis.theory import EmpiricalOptima, TradeoffFit, error_at_budget
from pretrain_diversity.figures.style import FULL_WIDTH_IN, book_style, legend_outside, panel_grid

LOG2 = np.log(2)


def plot_curves(ax, fit: TradeoffFit, empirical: EmpiricalOptima | None = None, budgets=None,
                cmap: str = "viridis", log2: bool = True):
    """Measured mean error (with seed standard errors) against log(K/n), one colour per budget,
    the fitted bound dashed (thin where it extrapolates beyond the fitted window), the fitted
    optimum as a triangle on the curve and the model-free optimum as a vertical tick."""
    import matplotlib.pyplot as plt

    t = fit.table
    budgets = fit.budgets if budgets is None else budgets
    colours = plt.get_cmap(cmap)(np.linspace(0.1, 0.85, len(budgets)))
    unit = np.log(2) if log2 else 1.0
    for N, col in zip(budgets, colours):
        g = t[t["budget"] == N].sort_values("log_ratio")
        x = g["log_ratio"].to_numpy() / unit
        ax.errorbar(x, g["test_error"], yerr=g["sem"], fmt="o-", ms=3, lw=1, color=col, capsize=2,
                    label=f"N = {N:,}")
        xs = np.linspace(g["log_ratio"].min(), g["log_ratio"].max(), 200)
        inside = (xs >= g.loc[g["in_fit"], "log_ratio"].min()) & (xs <= g.loc[g["in_fit"], "log_ratio"].max())
        ys = error_at_budget(xs, N, fit.params)
        ax.plot(xs / unit, np.where(inside, ys, np.nan), "--", color=col, lw=1.6)
        ax.plot(xs / unit, np.where(inside, np.nan, ys), ":", color=col, lw=0.8)
        xstar = fit.log_ratio_star.get(N, np.nan)
        if np.isfinite(xstar):
            ax.plot([xstar / unit], [error_at_budget(xstar, N, fit.params)], "v", color=col, ms=8,
                    mec="k", mew=0.6)
        if empirical is not None and N in empirical.log_ratio:
            ax.axvline(empirical.log_ratio[N] / unit, color=col, lw=0.8, alpha=0.6)
    ax.set_xlabel("log2(K / n)" if log2 else "log(K / n)")
    ax.set_ylabel("downstream test error")
    return ax


def plot_optima(ax, fits: dict, empirical: EmpiricalOptima | None = None):
    """r* against N on log-log axes: model-free minima with bootstrap intervals, and each fit's
    r*(N) with its interval band (flat for equal exponents)."""
    styles = ["-", "--", "-.", ":"]
    if empirical is not None:
        Ns = np.array(sorted(empirical.log_ratio))
        x = np.array([empirical.log_ratio[N] for N in Ns])
        lo = np.array([empirical.log_ratio_ci[N][0] for N in Ns])
        hi = np.array([empirical.log_ratio_ci[N][1] for N in Ns])
        ax.errorbar(Ns, np.exp(x), yerr=[np.exp(x) - np.exp(lo), np.exp(hi) - np.exp(x)], fmt="ko",
                    capsize=3, label="measured minimum (model-free)", zorder=3)
    for (label, f), ls in zip(fits.items(), styles):
        Ns = np.array(f.budgets, dtype=float)
        r = np.array([f.ratio_star[N] for N in f.budgets])
        lo = np.array([f.ratio_star_ci[N][0] for N in f.budgets])
        hi = np.array([f.ratio_star_ci[N][1] for N in f.budgets])
        line, = ax.plot(Ns, r, ls, lw=1.8, label=label)
        ax.fill_between(Ns, lo, hi, color=line.get_color(), alpha=0.2)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("budget N = K n")
    ax.set_ylabel("optimal ratio r* = K*/n*")
    return ax



# --------------------------------------------------------------------------- the derivation
def bound_at_fixed_budget(settings: dict, budgets=(1e3, 1e4, 1e5, 1e6)):
    """One panel per exponent setting: the ratio-dependent part of g_N against log(K/n) for
    several budgets, relative to its minimum, the optimum marked."""
    import matplotlib.pyplot as plt

    fig, axes, spare = panel_grid(len(settings), row_in=2.9, sharey=True)
    x = np.linspace(-8, 8, 400)
    for i, (ax, (name, p)) in enumerate(zip(axes, settings.items())):
        for N, shade in zip(budgets, np.linspace(0.35, 0.95, len(budgets))):
            g = th.deviation_at_budget(x, N, p) - p.c * N ** -p.gamma
            xs = th.optimal_log_ratio(p, N)
            gs = th.deviation_at_budget(xs, N, p) - p.c * N ** -p.gamma
            ax.plot(x, g / gs, color=plt.cm.viridis(shade), label=f"N = {N:.0e}")
            ax.plot([xs], [1.0], "o", color=plt.cm.viridis(shade))
        ax.set_title(name)
        ax.set_xlabel("log(K / n)")
        ax.set_ylim(0.9, 3)
        ax.tick_params(labelleft=True)
        if i % 2 == 0:
            ax.set_ylabel("ratio-dependent part of g_N,\nrelative to its minimum")
    legend_outside(fig, axes, spare, ncols=1 if len(spare) else 4)
    fig.suptitle("Bound at fixed budget: the optimum (dots) stays put only when α = β")
    return fig


# ---------------------------------------------------------------------------------- the fit
def fit_overview(analyses: dict):
    """Per task: measured curves with the equal-exponent fit, and r* against N for both fits."""
    import matplotlib.pyplot as plt

    with book_style():
        fig, axes = plt.subplots(len(analyses), 2, figsize=(FULL_WIDTH_IN, 3.0 * len(analyses) + 1),
                                 squeeze=False, gridspec_kw={"width_ratios": [1.4, 1]},
                                 layout="constrained")
    for (t, an), (ax0, ax1) in zip(analyses.items(), axes):
        plot_curves(ax0, an.equal, empirical=an.empirical)
        lo, hi = an.equal.table["test_error"].min(), an.equal.table["test_error"].max()
        ax0.set_ylim(lo - 0.05 * (hi - lo), hi + 0.1 * (hi - lo))
        ax0.set_title(f"{t}: error and fit")
        plot_optima(ax1, {"fit, equal exponents": an.equal, "fit, free exponents": an.free},
                    an.empirical)
        ax1.set_title(f"{t}: optimal ratio")
    fig.suptitle("Measured (points ± s.e. over seeds) and the equal-exponent fit (dashed)")
    legend_outside(fig, list(axes.flat), ncols=3)
    return fig


# --------------------------------------------------------------------------- the simulation
def simulation_overview(an, refs, chance_error: float):
    """The simulated curves with the equal-exponent fit and the reference errors (true subspace,
    raw input, random projection, chance), and r* against N for both fits."""
    import matplotlib.pyplot as plt

    emp, eq, free = an.empirical, an.equal, an.free
    with book_style():
        fig, axes = plt.subplots(1, 2, figsize=(FULL_WIDTH_IN, 4.6),
                                 gridspec_kw={"width_ratios": [1.4, 1]}, layout="constrained")
    plot_curves(axes[0], eq, empirical=emp)
    ref = refs[["oracle", "raw", "random"]].mean()
    for name, val, ls in [("true class subspace U", ref["oracle"], "-"),
                          ("raw input (all D dims)", ref["raw"], "--"),
                          ("random k-dim projection", ref["random"], ":")]:
        axes[0].axhline(val, color="grey", ls=ls, lw=1, label=name)
    axes[0].axhline(chance_error, color="k", lw=0.8, label="chance")
    axes[0].set_ylim(0.15, 0.95)
    axes[0].set_title("Simulated error and fit")
    plot_optima(axes[1], {"fit, equal exponents": eq, "fit, free exponents": free}, emp)
    axes[1].set_title("Where the minimum falls")
    fig.suptitle("Points: mean ± s.e. over seeds; dashed: the equal-exponent fit")
    legend_outside(fig, list(axes), ncols=3)
    return fig
