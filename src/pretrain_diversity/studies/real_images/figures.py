"""The transfer pages' plots: error against K per real task (one line per pre-training source,
seed bands, the no-pre-training baselines as reference lines), and the optimal n per budget
against a class's face ceiling."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pretrain_diversity.figures.style import legend_outside, panel_grid
from pretrain_diversity.studies.real_images.stats import error_vs_k

BASELINE_STYLE = {"raw pixels": ("k", "--"), "random network": ("0.5", ":")}


def plot_error_vs_k(tables: dict[str, pd.DataFrame], summary: pd.DataFrame | None, budget: int,
                    best: dict[str, pd.DataFrame] | None = None, tasks=None):
    """One panel per task: test error against K at ``budget``, mean ± 1 seed sd per source;
    the validation-chosen K starred; baselines (``baseline_summary``) as horizontal lines."""
    import matplotlib.pyplot as plt

    curves = {src: error_vs_k(df, budget) for src, df in tables.items()}
    tasks = list(tasks or sorted({t for c in curves.values() for t in c["task"]}))
    fig, axes, spare = panel_grid(len(tasks), row_in=3.3)
    colors = dict(zip(tables, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for ax, task in zip(axes, tasks):
        for src, c in curves.items():
            s = c[c.task == task]
            if s.empty:
                continue
            x, mu, sd = s.n_classes.to_numpy(), s["mean"].to_numpy() * 100, s.sd.to_numpy() * 100
            ax.plot(x, mu, "o-", ms=4, color=colors[src], label=f"{src} (pre-trained)")
            ax.fill_between(x, mu - sd, mu + sd, color=colors[src], alpha=0.2, lw=0)
            b = best.get(src) if best else None
            if b is not None and (b.task == task).any():
                r = b[b.task == task].iloc[0]
                ax.plot(r.K, r.test_error * 100, "*", ms=14, color=colors[src], mec="k")
        if summary is not None:
            for kind, (col, ls) in BASELINE_STYLE.items():
                hit = summary[(summary.task == task) & (summary.kind == kind)]
                if len(hit):
                    ax.axhline(hit["mean"].iloc[0] * 100, color=col, ls=ls, lw=1.2, label=kind)
        ax.set_xscale("log", base=2)
        ax.set(xlabel=f"K classes (n = {budget} / K)", ylabel="test error (%)", title=task)
    legend_outside(fig, axes, spare, ncols=1 if len(spare) else 2)
    fig.suptitle(f"N = {budget}: pre-trained features against no pre-training\n"
                 "(★ = K chosen on validation; bands: ± 1 sd over seeds)")
    return fig


def plot_face_ceiling(ceiling: pd.DataFrame, faces: pd.Series | None = None):
    """One panel per task: n at the optimum (with its interval) against N for each source, the
    median pre-training faces per font class as the ceiling line (quartiles shaded)."""
    tasks = sorted(ceiling["task"].unique())
    fig, axes, spare = panel_grid(len(tasks), row_in=3.3)
    for ax, task in zip(axes, tasks):
        for src, s in ceiling[ceiling.task == task].groupby("source", sort=True):
            s = s.sort_values("budget")
            err = [s.n_star - s.n_lo, s.n_hi - s.n_star]
            ax.errorbar(s.budget, s.n_star, yerr=err, fmt="o-", capsize=3, label=f"n* ({src})")
        if faces is not None and len(faces):
            q1, med, q3 = np.percentile(faces, [25, 50, 75])
            ax.axhline(med, color="crimson", lw=1.5,
                       label=f"median pre-training faces per font class ({med:.0f})")
            ax.axhspan(q1, q3, color="crimson", alpha=0.1, lw=0, label="their quartiles")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
        ax.set(xlabel="budget N", ylabel="n* (images per class\nat the optimum)", title=task)
    legend_outside(fig, axes, spare, ncols=1 if len(spare) else 2)
    return fig
