"""The transfer page's statistics: error against K at one budget, the best K chosen on
validation, and how far it lies from each no-pre-training baseline, with seed intervals.

Intervals are percentile bootstraps over seeds (``analysis.bootstrap``). The best K is chosen
again inside every draw (seeds resampled together across K, as one seed's runs share its data
stream), so the interval carries the uncertainty of the choice, not only of the chosen cell's
mean. The baseline's seeds are drawn independently: a random network of seed s is not paired with
the pre-trained network of seed s. Raw pixels have no seed spread (fixed probe splits).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from pretrain_diversity.analysis.bootstrap import interval, mean_draws
from pretrain_diversity.studies.real_images.load import REPORT, SELECT

LEVEL = 0.95
N_BOOT = 2000


def at_budget(df: pd.DataFrame, budget: int) -> pd.DataFrame:
    """The rows of one budget (K x n = ``budget``)."""
    need = {"task", "n_classes", "samples_per_class", "seed", SELECT, REPORT}
    missing = need - set(df.columns)
    if missing:
        raise ValueError(f"results table lacks columns {sorted(missing)}")
    return df[df["n_classes"] * df["samples_per_class"] == budget]


def error_vs_k(df: pd.DataFrame, budget: int, metric: str = REPORT) -> pd.DataFrame:
    """Per (task, K) at ``budget``: mean and seed sd of ``metric`` and the number of seeds."""
    g = at_budget(df, budget).groupby(["task", "n_classes"])[metric]
    out = g.agg(mean="mean", sd="std", seeds="count").reset_index()
    out["sd"] = out["sd"].fillna(0.0)
    return out


def seed_matrices(sub: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(K grid, validation errors [K, seeds], test errors [K, seeds]) of one task, keeping only
    the K that have every seed the task has: in a half-finished study a K with one seed recorded
    would be compared on one run against means of five, and chosen for its luck."""
    val = sub.pivot_table(index="n_classes", columns="seed", values=SELECT, aggfunc="mean")
    test = sub.pivot_table(index="n_classes", columns="seed", values=REPORT, aggfunc="mean")
    test = test.reindex(index=val.index, columns=val.columns)
    complete = (np.isfinite(val.to_numpy(float)) & np.isfinite(test.to_numpy(float))).all(1)
    return val.index.to_numpy()[complete], val.to_numpy(float)[complete], test.to_numpy(float)[complete]


def complete_k(df: pd.DataFrame, budget: int) -> pd.DataFrame:
    """Per task at ``budget``: the K with every seed recorded (those the best K is chosen among)
    and those still missing seeds."""
    rows = []
    for task, sub in at_budget(df, budget).groupby("task", sort=True):
        ks = seed_matrices(sub)[0]
        rest = sorted(set(sub["n_classes"]) - set(ks))
        rows.append({"task": task, "complete": [int(k) for k in ks], "partial": rest})
    return pd.DataFrame(rows)


def best_k_draws(val: np.ndarray, test: np.ndarray, rng: np.random.Generator,
                 n_boot: int) -> np.ndarray:
    """Bootstrap draws of the test error at the K of lowest mean validation error (seeds
    resampled with replacement, the same draw for every K; K chosen anew in each draw)."""
    n_seeds = val.shape[1]
    idx = rng.integers(0, n_seeds, size=(n_boot, n_seeds))
    out = np.empty(n_boot)
    for b in range(n_boot):
        v, t = val[:, idx[b]], test[:, idx[b]]
        with warnings.catch_warnings():  # a K with no seed in this draw: NaN, never chosen
            warnings.simplefilter("ignore", RuntimeWarning)
            vm, tm = np.nanmean(v, 1), np.nanmean(t, 1)
        vm[~np.isfinite(vm)] = np.inf
        out[b] = tm[int(np.argmin(vm))]
    return out


def best_k(df: pd.DataFrame, budget: int, *, n_boot: int = N_BOOT, level: float = LEVEL,
           seed: int = 0) -> pd.DataFrame:
    """Per task at ``budget``: the K of lowest seed-mean validation error, its n, its mean and
    sd of test error over seeds, the seeds, and a bootstrap interval of that test error."""
    rng = np.random.default_rng(seed)
    rows = []
    for task, sub in at_budget(df, budget).groupby("task", sort=True):
        ks, val, test = seed_matrices(sub)
        if len(ks) == 0:  # no K has every seed yet
            continue
        i = int(np.nanargmin(np.nanmean(val, 1)))
        draws = best_k_draws(val, test, rng, n_boot)
        lo, hi = interval(draws, level)
        t = test[i][np.isfinite(test[i])]
        rows.append({"task": task, "K": int(ks[i]), "n": int(budget // ks[i]),
                     "test_error": float(t.mean()), "sd": float(t.std(ddof=1)) if len(t) > 1 else 0.0,
                     "seeds": len(t), "lo": lo, "hi": hi, "K_grid": len(ks),
                     "edge": i in (0, len(ks) - 1)})
    return pd.DataFrame(rows)


def gain_over_baselines(df: pd.DataFrame, baselines: pd.DataFrame, budget: int, *,
                        n_boot: int = N_BOOT, level: float = LEVEL, seed: int = 0) -> pd.DataFrame:
    """Per (task, baseline kind): effect = baseline error - test error at the validation-chosen
    K (positive: pre-training helps), in error points (fractions), with its bootstrap interval.

    ``baselines`` is ``studies.baselines.load_baselines()``: one row per (seed, task, kind).
    Tasks without a baseline are left out.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for task, sub in at_budget(df, budget).groupby("task", sort=True):
        ks, val, test = seed_matrices(sub)
        if len(ks) == 0:  # no K has every seed yet
            continue
        i = int(np.nanargmin(np.nanmean(val, 1)))
        pre = test[i][np.isfinite(test[i])].mean()
        pre_draws = best_k_draws(val, test, rng, n_boot)
        for kind, base in baselines[baselines["task"] == task].groupby("kind", sort=True):
            b = base[REPORT].to_numpy(float)
            eff = mean_draws(b, rng, n_boot) - pre_draws
            lo, hi = interval(eff, level)
            rows.append({"task": task, "baseline": kind, "K": int(ks[i]), "pretrained": float(pre),
                         "baseline_error": float(b.mean()), "effect": float(b.mean() - pre),
                         "lo": lo, "hi": hi, "level": level})
    return pd.DataFrame(rows)
