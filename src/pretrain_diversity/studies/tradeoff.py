"""Figure 1 of Zhang et al. from a sweep's results table: where is the best K at each budget N?

Inputs are the tidy rows of ``results.collect`` (one per run and downstream task). All logs are
base 2. At budget N a run with K classes has n = N / K images per class and class-to-sample ratio
r = K / n = K^2 / N, so along a fixed-budget diagonal log2 r = 2 log2 K - log2 N.

The optimum per budget and its trend over budgets come from ``optimum`` (the one implementation
the Figure 1, theory and application pages share):

- ``optimum.optima``: per (task, N), the K with the lowest seed-mean test error, refined between
  grid points by the parabola through it and its two neighbours (in log2 K), with a bootstrap
  interval over seeds (the same draw for every K of a budget, budgets drawn independently),
  whether the grid minimum is interior, and how often it is interior across bootstrap draws.
- ``optimum.ratio_trend``: the slope b of log2 r* against log2 N, with a bootstrap interval.
  b = 0 is the paper's claim (optimal ratio independent of N); then K* and n* both grow as
  sqrt(N). In general K* ~ N^((1+b)/2) and n* ~ N^((1-b)/2).

This module adds:

- ``verdict``: the two answers in words, computed from the above.
- plots: contours over (log2 K, log2 n) with iso-N diagonals and optima, error against
  log2(K/n) with seed bands, and the frames of the iso-N widget.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from pretrain_diversity.analysis.optimum import add_log_columns, optima

RESULTS = Path("results") / "figure1" / "runs.csv"
STUDY = Path("studies") / "figure1.toml"
COMMAND = (
    "pretrain-diversity sweep studies/figure1.toml --out runs/figure1 "
    "--csv results/figure1/runs.csv"
)
METRIC = "test_error"
LEVEL = 0.95  # the page's intervals


# ------------------------------------------------------------------------------------ loading
def find_root(start: str | os.PathLike | None = None) -> Path:
    """The repository root: the first folder upwards from ``start`` (or cwd) holding studies/."""
    here = Path(start or Path.cwd()).resolve()
    for p in (here, *here.parents):
        if (p / STUDY).exists():
            return p
    raise FileNotFoundError(f"no {STUDY} in {here} or any folder above it")


def load_figure1(root: str | os.PathLike | None = None) -> pd.DataFrame:
    """The committed Figure 1 results; a clear error with the command to make them if missing."""
    from pretrain_diversity.analysis.tables import load_results

    path = find_root(root) / RESULTS
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: the Figure 1 page draws only measured results. Regenerate them "
            f"from the repository root with\n    {COMMAND}\n(the study is {STUDY}; about half "
            f"an hour on 2 CPU cores) and commit results/figure1/."
        )
    return load_results(path)


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
            f"N = {r.budget}: K* ≈ {r.K_star:.0f}, n* ≈ {r.n_star:.0f}, K/n ≈ {_ratio(r.r_star)} "
            f"[{_ratio(2 ** r.log2_r_lo)}, {_ratio(2 ** r.log2_r_hi)}]"
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


def _ratio(r: float) -> str:
    return f"{r:.2g}" if r < 10 else f"{r:.0f}"


# ------------------------------------------------------------------------------------ plots
def _panels(n: int, width: float = 4.6, height: float = 4.0):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, n, figsize=(width * n, height), squeeze=False)
    return fig, axes[0]


def plot_contours(df: pd.DataFrame, opt: pd.DataFrame | None = None, *, metric: str = METRIC):
    """One panel per task: seed-mean error over (log2 K, log2 n), iso-N diagonals, optima.

    The surface is interpolated (linear, on a triangulation) between the measured points, which
    lie on the iso-N diagonals only; the dots mark them.
    """
    import matplotlib.tri as mtri

    df = add_log_columns(df, metric)
    opt = optima(df, metric=metric, level=LEVEL) if opt is None else opt
    tasks = sorted(df["task"].unique())
    fig, axes = _panels(len(tasks))
    for ax, task in zip(axes, tasks):
        m = df[df.task == task].groupby(["budget", "log2_K", "log2_n"], as_index=False)
        m = m[metric].mean()
        x, y, z = m["log2_K"].to_numpy(), m["log2_n"].to_numpy(), m[metric].to_numpy()
        if len(m) >= 3 and m["budget"].nunique() > 1:
            cs = ax.tricontourf(mtri.Triangulation(x, y), z * 100, levels=14, cmap="viridis_r")
            fig.colorbar(cs, ax=ax, label=f"{task} test error (%)")
        ax.scatter(x, y, s=8, c="k", alpha=0.6, label="measured (K, n)")
        lo, hi = min(x.min(), y.min()) - 0.5, max(x.max(), y.max()) + 0.5
        for n in sorted(m["budget"].unique()):
            ln = math.log2(n)
            ax.plot([lo, ln - lo], [ln - lo, lo], "r--", lw=1)
            xl = m.loc[m.budget == n, "log2_K"].max()  # label the diagonal at its lower end
            ax.text(xl + 0.15, ln - xl + 0.15, f"N={n}", color="r", fontsize=7, rotation=-45,
                    rotation_mode="anchor", ha="left", va="bottom")
        o = opt[opt.task == task]
        ax.plot(o["log2_K_star"], np.log2(o["n_star"]), "*", color="white", mec="k", ms=14,
                label="optimum per N")
        ax.set(xlim=(lo, hi), ylim=(lo, hi), xlabel="log2 K (classes)",
               ylabel="log2 n (images per class)", title=task)
        ax.set_aspect("equal")
        ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    return fig


def _budget_colors(budgets):
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("plasma")
    return {n: cmap(0.1 + 0.75 * i / max(1, len(budgets) - 1)) for i, n in enumerate(budgets)}


def plot_ucurves(df: pd.DataFrame, opt: pd.DataFrame | None = None, *, metric: str = METRIC):
    """One panel per task: error against log2(K/n) per budget, mean ± 1 std over seeds, optima
    with their bootstrap interval (horizontal bar)."""
    df = add_log_columns(df, metric)
    opt = optima(df, metric=metric, level=LEVEL) if opt is None else opt
    tasks = sorted(df["task"].unique())
    budgets = sorted(df["budget"].unique())
    colors = _budget_colors(budgets)
    fig, axes = _panels(len(tasks), width=5.2)
    for ax, task in zip(axes, tasks):
        for n in budgets:
            s = df[(df.task == task) & (df.budget == n)].groupby("log2_r")[metric]
            s = s.agg(["mean", "std"])
            if s.empty:
                continue
            x = s.index.to_numpy()
            mu, sd = s["mean"].to_numpy() * 100, s["std"].fillna(0).to_numpy() * 100
            ax.plot(x, mu, "o-", color=colors[n], ms=4, label=f"N = {n}")
            ax.fill_between(x, mu - sd, mu + sd, color=colors[n], alpha=0.2, lw=0)
            o = opt[(opt.task == task) & (opt.budget == n)]
            if len(o):
                o = o.iloc[0]
                ax.errorbar(o.log2_r_star, o.err_star * 100,
                            xerr=[[o.log2_r_star - o.log2_r_lo], [o.log2_r_hi - o.log2_r_star]],
                            fmt="*", color=colors[n], mec="k", ms=13, capsize=3)
        ax.axvline(0, color="0.6", lw=0.8, ls=":")
        ax.set(xlabel="log2 (K / n)  (many images per class ← → many classes)",
               ylabel="test error (%)", title=task)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def iso_n_frames(df: pd.DataFrame, opt: pd.DataFrame | None = None, *, metric: str = METRIC,
                 dpi: int = 80) -> tuple[dict, list[str], list[str]]:
    """PNG frames for the iso-N widget: (task index, budget index) -> error along that diagonal.

    The y-axis is fixed per task so that moving the slider compares heights honestly.
    """
    import matplotlib.pyplot as plt

    from pretrain_diversity.figures.widgets import figure_png

    df = add_log_columns(df, metric)
    opt = optima(df, metric=metric, level=LEVEL) if opt is None else opt
    tasks = sorted(df["task"].unique())
    budgets = sorted(df["budget"].unique())
    colors = _budget_colors(budgets)
    xlim = (df["log2_r"].min() - 1, df["log2_r"].max() + 1)
    frames = {}
    for ti, task in enumerate(tasks):
        dt = df[df.task == task]
        ylim = (dt[metric].min() * 100 - 2, dt[metric].max() * 100 + 2)
        for bi, n in enumerate(budgets):
            fig, ax = plt.subplots(figsize=(6.0, 3.4))
            s = dt[dt.budget == n]
            g = s.groupby("log2_r")[metric].mean()
            ax.scatter(s["log2_r"], s[metric] * 100, s=14, color=colors[n], alpha=0.5,
                       label="one seed")
            ax.plot(g.index, g.to_numpy() * 100, "-", color=colors[n], lw=2,
                    label="mean over seeds")
            o = opt[(opt.task == task) & (opt.budget == n)]
            title = f"{task}, N = {n}"
            if len(o):
                o = o.iloc[0]
                ax.axvspan(o.log2_r_lo, o.log2_r_hi, color=colors[n], alpha=0.12,
                           label=f"{o.level:.0%} bootstrap interval of the optimum")
                ax.plot(o.log2_r_star, o.err_star * 100, "*", color=colors[n], mec="k", ms=16,
                        label="optimum")
                title += (f": best K ≈ {o.K_star:.0f}, n ≈ {o.n_star:.0f} "
                          f"(K/n ≈ {_ratio(o.r_star)}); lowest measured error {o.err_grid:.1%}")
            ax.axvline(0, color="0.6", lw=0.8, ls=":")
            ax.set(xlim=xlim, ylim=ylim, xlabel="log2 (K / n)", ylabel="test error (%)")
            ax.set_title(title, fontsize=9)
            ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
            frames[(ti, bi)] = figure_png(fig, dpi=dpi)
    return frames, tasks, [f"N = {n}" for n in budgets]


def iso_n_widget(df: pd.DataFrame, opt: pd.DataFrame | None = None, *, metric: str = METRIC,
                 dpi: int = 80, width: str = "640px"):
    """Task dropdown x budget slider over pre-rendered frames; works in the static book."""
    from pretrain_diversity.figures.widgets import frame_grid

    frames, tasks, budgets = iso_n_frames(df, opt, metric=metric, dpi=dpi)
    return frame_grid(frames, tasks, budgets, "downstream task", "budget", width=width)
