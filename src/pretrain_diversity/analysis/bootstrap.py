"""Bootstrap over seeds: the one home of resampling draws and percentile intervals.

Every study's intervals are percentile intervals of statistics recomputed on seeds drawn with
replacement: the seeds are the only independent replicates a table has (the grid points of one
seed share its pre-training data stream). Keeping the draw and the interval here means every page
reads "95% interval" the same way.
"""

from __future__ import annotations

import math

import numpy as np


def mean_draws(values, rng: np.random.Generator, n_boot: int) -> np.ndarray:
    """``n_boot`` bootstrap draws of the mean of ``values`` (seeds resampled with replacement)."""
    values = np.asarray(values, dtype=float)
    idx = rng.integers(0, len(values), size=(n_boot, len(values)))
    return values[idx].mean(1)


def interval(draws, level: float) -> tuple[float, float]:
    """The central ``level`` percentile interval of ``draws``."""
    a = (1 - level) / 2
    return float(np.quantile(draws, a)), float(np.quantile(draws, 1 - a))


def distinct_draws(n_seeds: int) -> int:
    """Distinct bootstrap resamples of n seeds with replacement (multisets): C(2n-1, n). Few seeds
    have few, which is why the pages call their intervals indicative."""
    return math.comb(2 * n_seeds - 1, n_seeds)


def percentiles(level: float) -> list[float]:
    """The two percentiles (0-100) that bound the central ``level`` interval."""
    return [(1 - level) / 2 * 100, (1 + level) / 2 * 100]


def slope_draws(opt, draws: dict) -> dict[str, np.ndarray]:
    """Per task, bootstrap draws of the least-squares slope of log2 r* on log2 N.

    ``opt`` and ``draws`` are what ``optimum.optima(..., return_draws=True)`` returns: the slope is
    the one ``optimum.ratio_trend`` summarises, applied to every draw of the per-budget optima, so
    two conditions' draws can be differenced (a paired bootstrap when they share seeds).
    """
    out = {}
    for task, sub in opt.groupby("task", sort=True):
        sub = sub.sort_values("budget")
        x = np.log2(sub["budget"].to_numpy(float))
        if len(x) < 2:
            continue
        boot = np.stack([draws[(task, n)] for n in sub["budget"]], axis=1)
        xc = x - x.mean()
        out[task] = (boot - boot.mean(axis=1, keepdims=True)) @ xc / (xc @ xc)
    return out
