"""The Figure 1 page's hero figure: does the best ratio K*/n* stay put as the budget N grows?

log2 K*/n* against log2 N, one panel per downstream task, for the runs trained to their plateau
(the headline reading, from the figure1-trained study), the fixed-epochs runs (Figure 1) and the
fixed-steps control beside them, each optimum with its seed-bootstrap interval, and the
invariance band: the slopes within the shared rule's margin (±0.2) drawn through the smallest
budget's fixed-epochs optimum. A point outside the band at a larger budget has moved further than
an invariant ratio allows.

``hero_data`` builds the table the figure draws (tested in tests/test_figure1_hero.py), and
``plot_hero`` draws it; the page computes the optima once (``slope_verdicts.
selected_optima_and_trend``) and passes them in, so the figure adds no bootstrap of its own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pretrain_diversity.analysis.verdict_rule import MARGIN

PROTOCOL_STYLE = {  # protocol: (colour, marker, line style, sideways shift in log2 N)
    "trained": ("#009e73", "D", "-", 0.0),
    "fixed epochs": ("#1f4e9c", "o", "-", -0.1),
    "fixed steps": ("#d55e00", "s", "--", 0.1),
}
WIDTH_IN = 8.0  # the book's column is ~790 px: drawn 8 in wide at 100 dpi, fonts stay >= 10 pt
FONT_PT = 11


def hero_data(optima: dict[str, pd.DataFrame], trends: dict[str, pd.DataFrame] | None = None,
              *, margin: float = MARGIN) -> pd.DataFrame:
    """One row per (protocol, task, budget): log2 N, log2 K*/n* and its bootstrap interval,
    and the invariance band at that budget (``band_lo``/``band_hi``: the protocol's own optimum
    at its smallest budget ± ``margin`` × the distance in log2 N), plus ``outside`` (the optimum
    lies outside the band) and, where ``trends`` are given, the protocol's fitted ``slope``.

    ``optima``: protocol -> ``optimum.optima`` table (task, budget, log2_r_star, log2_r_lo,
    log2_r_hi); ``trends``: protocol -> ``optimum.ratio_trend`` table (task, slope, ...)."""
    rows = []
    for protocol, opt in optima.items():
        slopes = ({} if trends is None or protocol not in trends else
                  dict(zip(trends[protocol].task, trends[protocol].slope)))
        anchor = opt.loc[opt.groupby("task")["budget"].idxmin()].set_index("task")
        for r in opt.sort_values(["task", "budget"]).itertuples():
            a = anchor.loc[r.task]
            dx = abs(np.log2(r.budget) - np.log2(a.budget))
            rows.append({
                "protocol": protocol, "task": r.task, "budget": int(r.budget),
                "log2_N": float(np.log2(r.budget)), "log2_r_star": float(r.log2_r_star),
                "log2_r_lo": float(r.log2_r_lo), "log2_r_hi": float(r.log2_r_hi),
                "band_lo": float(a.log2_r_star - margin * dx),
                "band_hi": float(a.log2_r_star + margin * dx),
                "slope": float(slopes.get(r.task, np.nan)),
            })
    out = pd.DataFrame(rows)
    out["outside"] = (out.log2_r_star < out.band_lo - 1e-12) | (out.log2_r_star > out.band_hi + 1e-12)
    return out


def plot_hero(data: pd.DataFrame, *, margin: float = MARGIN, labels: dict | None = None):
    """Draw ``hero_data``: up to two panels a row, ``WIDTH_IN`` wide, fonts of ``FONT_PT``.
    ``labels``: optional {(protocol, task): verdict text} shown in each panel's legend."""
    import matplotlib.pyplot as plt

    tasks = sorted(data.task.unique())
    ncols = 1 if len(tasks) == 1 else 2
    nrows = -(-len(tasks) // ncols)
    with plt.rc_context({"font.size": FONT_PT, "axes.titlesize": FONT_PT + 1,
                         "legend.fontsize": FONT_PT - 1}):
        fig, axes = plt.subplots(nrows, ncols, figsize=(WIDTH_IN, 4.0 * nrows + 0.6),
                                 squeeze=False, sharex=True, constrained_layout=True)
        x_all = np.sort(data.log2_N.unique())
        xs = np.linspace(x_all.min() - 0.3, x_all.max() + 0.3, 50)
        for ax, task in zip(axes.flat, tasks):
            d = data[data.task == task]
            ax.axhline(0, color="0.6", lw=0.8, ls=":")
            for i, (protocol, g) in enumerate(d.groupby("protocol", sort=False)):
                colour, marker, ls, shift = PROTOCOL_STYLE.get(protocol, ("k", "^", "-.", 0.0))
                g = g.sort_values("log2_N")
                if i == 0:  # one wedge, the first (headline) reading's: three would hide points
                    x0, y0 = g.log2_N.iloc[0], g.band_lo.iloc[0]  # anchor: band_lo == band_hi
                    band = xs[(xs >= x0 - 0.15) & (xs <= g.log2_N.iloc[-1] + 0.3)]
                    ax.fill_between(band, y0 - margin * np.abs(band - x0),
                                    y0 + margin * np.abs(band - x0), color=colour, alpha=0.15,
                                    lw=0)
                x = g.log2_N + shift
                slope = g.slope.iloc[0]
                text = protocol + ("" if np.isnan(slope) else f": slope {slope:+.2f}")
                if labels and (protocol, task) in labels:
                    text += f" ({labels[(protocol, task)]})"
                ax.errorbar(x, g.log2_r_star,
                            yerr=[g.log2_r_star - g.log2_r_lo, g.log2_r_hi - g.log2_r_star],
                            color=colour, marker=marker, ls=ls, lw=1.6, ms=6, capsize=3,
                            mfc=colour if marker == "o" else "white", label=text)
            ax.set_title(task)
            ax.set_xticks(x_all, [f"{int(2 ** v):,}" for v in x_all], rotation=0)
            ax.set_ylabel("log₂ K*/n*")
            ax.set_xlabel("budget N = K·n (log scale)")
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False,
                      borderaxespad=0.0)  # below the panel, never over a point
            ax.grid(alpha=0.25)
            ax.tick_params(labelbottom=True)
        for ax in list(axes.flat)[len(tasks):]:
            ax.set_visible(False)
        if len(tasks) < axes.size:  # the empty slot holds the key to the figure
            spare = list(axes.flat)[len(tasks)]
            spare.set_visible(True)
            spare.axis("off")
            spare.text(0.02, 0.95, "How to read it", weight="bold", va="top",
                       transform=spare.transAxes)
            spare.text(0.02, 0.80,
                       "Each point: the best ratio K*/n* at one\n"
                       "budget, with its 95% bootstrap interval\n"
                       "over seeds.\n"
                       "Shaded wedge: where an invariant ratio\n"
                       f"may lie (slope within ±{margin:g} of 0), drawn\n"
                       "from the first reading's optimum at its\n"
                       "smallest budget.\n"
                       + ("Green: each run trained to its plateau\n"
                          "(Figure 1, trained).\n" if "trained" in set(data.protocol) else "")
                       + "Blue: fixed epochs (Figure 1).\n"
                       "Orange: the same SGD steps at every N.",
                       va="top", transform=spare.transAxes, linespacing=1.35)
    return fig
