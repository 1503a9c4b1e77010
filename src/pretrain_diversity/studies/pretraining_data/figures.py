"""The chapter's figures: accuracy against k per source or method, the spread between sources,
accuracy against the pre-training budget, clean against noisy labels. The live shots explorer is
``figures.shots_explorer``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pretrain_diversity.figures.style import FULL_WIDTH_IN, book_style, legend_outside
from pretrain_diversity.studies.pretraining_data.load import (
    FULL, PROTOCOL_NAMES, PROTOCOLS, TASK_NAMES, k_label, k_order,
)
from pretrain_diversity.studies.pretraining_data.stats import seed_summary


def _band(ax, x, line: pd.DataFrame, color, label: str) -> None:
    """Seed mean as a line, mean +- one standard deviation over seeds as a band."""
    sd = line["std"].fillna(0)
    ax.plot(x, line["mean"], "o-", color=color, label=label, ms=4)
    ax.fill_between(x, line["mean"] - sd, line["mean"] + sd, color=color, alpha=0.15)


def _budget_axes(ax, title: str) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xlabel("pre-training images N")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)


def _grid(rows: int, cols: int, row_in: float = 3.0, **kw):
    """rows x cols panels across the column's width (``FULL_WIDTH_IN``), constrained layout,
    the book's fonts; the callers have two tasks, so two panels a row."""
    import matplotlib.pyplot as plt

    with book_style():
        fig, axes = plt.subplots(rows, cols, figsize=(FULL_WIDTH_IN, row_in * rows + 0.5),
                                 squeeze=False, layout="constrained", **kw)
    return fig, axes


def _x_positions(ks):
    ks = k_order(ks)
    return ks, {k: i for i, k in enumerate(ks)}


def plot_by_k(df: pd.DataFrame, hue: str = "variant", *, order=None, title: str = ""):
    """Accuracy against k (categorical axis), one line per ``hue`` value with a seed-spread band
    (mean +- std over seeds); a panel per task and protocol."""
    import matplotlib.pyplot as plt

    tasks = sorted(df.task.unique())
    protocols = [p for p in PROTOCOLS if p in set(df.protocol)]
    fig, axes = _grid(len(protocols), len(tasks), sharex=True)
    ks, pos = _x_positions(df.k)
    hues = order or sorted(df[hue].dropna().unique(), key=str)
    colors = plt.cm.tab10(np.arange(len(hues)) % 10)
    for r, protocol in enumerate(protocols):
        for c, task in enumerate(tasks):
            ax = axes[r, c]
            sub = df[(df.task == task) & (df.protocol == protocol)]
            s = seed_summary(sub, [hue, "k"])
            for h, col in zip(hues, colors):
                line = s[s[hue] == h].assign(x=lambda t: t.k.map(pos)).sort_values("x")
                if line.empty:
                    continue
                _band(ax, line.x, line, col, str(h))
            ax.set_xticks(range(len(ks)), [k_label(k) for k in ks])
            ax.set_title(f"{TASK_NAMES.get(task, task)}\n{PROTOCOL_NAMES[protocol]}")
            ax.set_ylabel("test accuracy (%)")
            ax.grid(alpha=0.3)
    legend_outside(fig, axes.flat, ncols=min(len(hues), 4))
    if title:
        fig.suptitle(title)
    return fig


def plot_spread(spread: pd.DataFrame):
    """Spread between sources against k, per task and protocol, with the paper's spreads at the k
    it shares with ours (``analysis.reference_numbers``), labelled as theirs."""
    import matplotlib.pyplot as plt

    with book_style():
        fig, ax = plt.subplots(figsize=(6.4, 4.6), layout="constrained")
    ks, pos = _x_positions(spread.k)
    for (task, protocol), sub in spread.groupby(["task", "protocol"]):
        sub = sub.assign(x=sub.k.map(pos)).sort_values("x")
        ls = "-" if protocol == "finetune" else "--"
        ax.errorbar(sub.x, sub.spread, yerr=[sub.spread - sub.spread_lo, sub.spread_hi - sub.spread],
                    fmt="o" + ls, capsize=3, ms=4,
                    label=f"{TASK_NAMES.get(task, task).split(' (')[0]}, {PROTOCOL_NAMES[protocol]}")
    from pretrain_diversity.analysis.reference_numbers import SOURCE_SPREAD

    theirs = SOURCE_SPREAD["source_spread_cifar100"].by_shots()
    at = [k for k in ks if k in theirs]
    ax.plot([pos[k] for k in at], [theirs[k] for k in at], "k*", ms=12,
            label="theirs: CIFAR-100, CLIP on 7 sources (selected on test, one seed)")
    ax.set_xticks(range(len(ks)), [k_label(k) for k in ks])
    ax.set_ylabel("best minus worst source (points)")
    ax.set_xlabel("downstream images per class")
    ax.grid(alpha=0.3)
    legend_outside(fig, [ax], ncols=1)
    return fig


def plot_size(df: pd.DataFrame):
    """Accuracy against pre-training N (log axis), a line per k, a panel per task and protocol."""
    import matplotlib.pyplot as plt

    tasks = sorted(df.task.unique())
    protocols = [p for p in PROTOCOLS if p in set(df.protocol)]
    fig, axes = _grid(len(protocols), len(tasks))
    ks = k_order(df.k)
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(ks)))
    for r, protocol in enumerate(protocols):
        for c, task in enumerate(tasks):
            ax = axes[r, c]
            s = seed_summary(df[(df.task == task) & (df.protocol == protocol)], ["k", "budget"])
            for k, col in zip(ks, colors):
                line = s[s.k == k].sort_values("budget")
                _band(ax, line.budget, line, col, k_label(k))
            _budget_axes(ax, f"{TASK_NAMES.get(task, task)}\n{PROTOCOL_NAMES[protocol]}")
    legend_outside(fig, axes.flat, ncols=min(len(ks), 5), title="downstream images per class k")
    return fig


def plot_curation(clean: pd.DataFrame, noisy: pd.DataFrame, ks=(1, FULL)):
    """Accuracy against N for clean and noisy labels, a panel per task and k (linear probe)."""
    import matplotlib.pyplot as plt

    both = pd.concat([clean.assign(label_noise=0.0), noisy])
    both = both[both.protocol == "probe"]
    tasks = sorted(both.task.unique())
    fig, axes = _grid(len(ks), len(tasks))
    rates = sorted(both.label_noise.unique())
    colors = plt.cm.plasma(np.linspace(0, 0.8, len(rates)))
    for r, k in enumerate(ks):
        for c, task in enumerate(tasks):
            ax = axes[r, c]
            s = seed_summary(both[(both.task == task) & (both.k == k)], ["label_noise", "budget"])
            for rate, col in zip(rates, colors):
                line = s[s.label_noise == rate].sort_values("budget")
                _band(ax, line.budget, line, col, "clean" if rate == 0 else f"{rate:.0%} wrong labels")
            _budget_axes(ax, f"{TASK_NAMES.get(task, task)}\n{k_label(k)} (linear probe)")
    legend_outside(fig, axes.flat, ncols=min(len(rates), 4))
    return fig
