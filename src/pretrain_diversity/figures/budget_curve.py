"""One budget's U-curve in a panel: error against log2(K/n), mean ± 1 std over seeds, and its
optimum as a star with the optimum's interval as a horizontal bar. The Figure 1 and invariance
pages draw many of these with different sizes; the drawing is one function so they stay alike."""

from __future__ import annotations

import pandas as pd


def draw_budget_curve(ax, rows: pd.DataFrame, metric: str, color, label: str,
                      star: tuple[float, float, float, float] | None = None, *,
                      ms: float = 4, lw: float | None = None, star_ms: float = 13,
                      capsize: float = 3) -> None:
    """``rows``: one budget's runs with ``log2_r`` and ``metric`` (a fraction, drawn in %);
    ``star``: (log2 r*, lo, hi, error there as a fraction) or None."""
    s = rows.groupby("log2_r")[metric].agg(["mean", "std"])
    if s.empty:
        return
    x = s.index.to_numpy()
    mu, sd = s["mean"].to_numpy() * 100, s["std"].fillna(0).to_numpy() * 100
    ax.plot(x, mu, "o-", color=color, ms=ms, label=label, **({"lw": lw} if lw else {}))
    ax.fill_between(x, mu - sd, mu + sd, color=color, alpha=0.2, lw=0)
    if star is not None:
        r, lo, hi, err = star
        ax.errorbar(r, err * 100, xerr=[[r - lo], [hi - r]], fmt="*", color=color, mec="k",
                    ms=star_ms, capsize=capsize)
