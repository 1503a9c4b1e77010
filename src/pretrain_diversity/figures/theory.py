"""The theory chapter's figures: measured curves against the fitted bound, r* against N, and the
pre-rendered frames of the chapter's widgets (the bound explorer and the fit per budget).

Every frame is drawn here, not on the pages, so a page only chooses what to show.
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


# ----------------------------------------------------------------------------- the explorer
X_RANGE = (-16, 16)  # log2(K / n) shown in every frame, so that the optimum's motion is visible
EXPLORER_SETTINGS = {
    "equal: α = β = 1/2": (0.5, 0.5),
    "β > α: α = 1/2, β = 1": (0.5, 1.0),
    "β < α: α = 1, β = 1/2": (1.0, 0.5),
}
EXPLORER_BUDGETS = [10.0**k for k in range(2, 9)]
EXPLORER_ALPHAS = {"α = β = 1/4": 0.25, "α = β = 1/2": 0.5, "α = β = 1": 1.0}
EXPLORER_RATIOS = [1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8]


def _explorer_x():
    return np.linspace(*X_RANGE, 400) * LOG2


def budget_frame(p, N, budgets=EXPLORER_BUDGETS, dpi: int = 72) -> bytes:
    """The bound's excess over log2(K/n) at budget N (bold) among all ``budgets`` (faint), and
    r*(N) on log-log axes, as a PNG."""
    import matplotlib.pyplot as plt

    from pretrain_diversity.figures.widgets import figure_png

    x = _explorer_x()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(8.0, 3.0), gridspec_kw={"width_ratios": [1.6, 1]})
    for M in budgets:
        ax.plot(x / LOG2, th.relative_excess(x, M, p), color="0.8", lw=0.8)
    xs = float(th.optimal_log_ratio(p, N))
    ax.plot(x / LOG2, th.relative_excess(x, N, p), color="C0", lw=2)
    ax.plot([xs / LOG2], [1.0], "v", color="C3", ms=9)
    ax.axvline(xs / LOG2, color="C3", lw=0.8)
    K, n = th.optimal_allocation(p, N, K_min=1e-9, n_min=1e-9)
    ax.text(0.02, 0.95, f"r* = {np.exp(xs):.3g}\nK* = {K:,.0f}, n* = {n:,.0f}", transform=ax.transAxes,
            va="top", fontsize=8, bbox=dict(fc="w", ec="0.8"))
    ax.set_ylim(0.9, 3.0)
    ax.set_xlim(*X_RANGE)
    ax.set_xlabel("log2(K / n)")
    ax.set_ylabel("bound excess / its minimum")
    ax.set_title(f"N = {N:.0e}", fontsize=9)
    Ns = np.array(budgets)
    ax2.loglog(Ns, th.optimal_ratio(p, Ns), "C0-", lw=1.5)
    ax2.loglog([N], [np.exp(xs)], "v", color="C3", ms=9)
    ax2.set_ylim(1e-3, 1e3)
    ax2.set_xlabel("budget N")
    ax2.set_ylabel("r* = K*/n*")
    ax2.set_title(f"drift exponent {th.drift_exponent(p):+.3f}", fontsize=9)
    fig.tight_layout()
    return figure_png(fig, dpi=dpi)


def budget_frames(settings=EXPLORER_SETTINGS, budgets=EXPLORER_BUDGETS):
    """Frames (setting, budget) -> ``budget_frame``, with the row and column labels."""
    frames = {
        (r, c): budget_frame(th.Tradeoff(a=1.0, b=0.5, c=2.0, alpha=al, beta=be), N, budgets)
        for r, (al, be) in enumerate(settings.values())
        for c, N in enumerate(budgets)
    }
    return frames, list(settings), [f"1e{round(np.log10(N))}" for N in budgets]


def constants_frame(alpha, a_over_b, N=1e4, dpi: int = 72) -> bytes:
    """The bound's excess over log2(K/n) for equal exponents ``alpha`` and constants a/b."""
    import matplotlib.pyplot as plt

    from pretrain_diversity.figures.widgets import figure_png

    x = _explorer_x()
    p = th.Tradeoff(a=a_over_b, b=1.0, alpha=alpha, beta=alpha)
    fig, ax = plt.subplots(figsize=(6.0, 2.8))
    ax.plot(x / LOG2, th.relative_excess(x, N, p), color="C0", lw=2)
    xs = float(th.optimal_log_ratio(p))
    ax.plot([xs / LOG2], [1.0], "v", color="C3", ms=9)
    ax.axvline(xs / LOG2, color="C3", lw=0.8)
    ax.text(0.02, 0.95, f"r* = (a/b)^(1/α) = {np.exp(xs):.3g}", transform=ax.transAxes, va="top",
            fontsize=8, bbox=dict(fc="w", ec="0.8"))
    ax.set_ylim(0.9, 3.0)
    ax.set_xlim(*X_RANGE)
    ax.set_xlabel("log2(K / n)")
    ax.set_ylabel("bound excess / its minimum")
    ax.set_title(f"α = β = {alpha:g}, a/b = {a_over_b:g}", fontsize=9)
    fig.tight_layout()
    return figure_png(fig, dpi=dpi)


def constants_frames(alphas=EXPLORER_ALPHAS, ratios=EXPLORER_RATIOS):
    """Frames (exponent, a/b) -> ``constants_frame``, with the row and column labels."""
    frames = {(r, c): constants_frame(al, q) for r, al in enumerate(alphas.values())
              for c, q in enumerate(ratios)}
    return frames, list(alphas), [f"{q:g}" for q in ratios]


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


def fit_frame(an, N, dpi: int = 72) -> bytes:
    """One task at one budget: measured errors, both fits and where each puts the optimum."""
    import matplotlib.pyplot as plt

    from pretrain_diversity.figures.widgets import figure_png

    fig, ax = plt.subplots(figsize=(5.6, 3.3))
    t = an.equal.table
    g = t[t["budget"] == N].sort_values("log_ratio")
    x = g["log_ratio"].to_numpy() / np.log(2)
    ax.errorbar(x, g["test_error"], yerr=g["sem"], fmt="ko", ms=4, capsize=2, label="measured")
    xs = np.linspace(g["log_ratio"].min(), g["log_ratio"].max(), 200)
    for f, col, name in ((an.equal, "C0", "equal exp."), (an.free, "C1", "free exp.")):
        ax.plot(xs / np.log(2), th.error_at_budget(xs, N, f.params), color=col, lw=1.5,
                label=f"fit, {name}")
        ax.axvline(f.log_ratio_star[N] / np.log(2), color=col, ls="--", lw=1)
    ax.axvline(an.empirical.log_ratio[N] / np.log(2), color="k", ls=":", lw=1.2,
               label="measured minimum")
    lo, hi = t["test_error"].min(), t["test_error"].max()
    ax.set_ylim(lo - 0.05 * (hi - lo), hi + 0.1 * (hi - lo))
    ax.set_xlabel("log2(K / n)")
    ax.set_ylabel("test error")
    ax.set_title(f"{an.task}, N = {N:,}", fontsize=10)
    ax.legend(fontsize=7, loc="upper center")
    return figure_png(fig, dpi=dpi)


def fit_frames(analyses: dict, budgets, dpi: int = 72):
    """Frames (task, budget) -> ``fit_frame``, or a note where a task has no runs at a budget."""
    import matplotlib.pyplot as plt

    from pretrain_diversity.figures.widgets import figure_png

    frames = {}
    for r, (t, an) in enumerate(analyses.items()):
        for c, N in enumerate(budgets):
            if N in an.equal.budgets:
                frames[(r, c)] = fit_frame(an, N, dpi)
            else:
                fig, ax = plt.subplots(figsize=(5.6, 3.3))
                ax.text(0.5, 0.5, f"{t}: no runs at N = {N:,}", ha="center", va="center")
                ax.axis("off")
                frames[(r, c)] = figure_png(fig, dpi=dpi)
    return frames, list(analyses), [f"{N:,}" for N in budgets]


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
