"""U-curves between measured budgets: seed means on a common ratio grid, interpolated in log N.

A reader who asks "where would the optimum sit at N = 10,000?" is asking about a budget nobody
trained. The honest answer is an interpolation between the two measured budgets around it, at a
fixed ratio K/n, linear in log N, and marked as such. The budgets' ratio grids do not line up
(K and n are powers of 2, so log2(K/n) is even at N = 4,096 and odd at N = 2,048); each measured
curve is therefore first put on every integer log2(K/n) of its own range by linear interpolation
between its neighbouring measured points (flagged ``measured = False``).

``interpolate_at_budget`` is the rule the Figure 1 explorer evaluates in the browser; the browser
test checks that both give the same optimum. ``by`` adds grouping columns (the invariance page's
``condition``): each group is a study of its own, with its own curves, never mixed with another.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

SPLITS = {"test": "test_error", "validation": "val_error"}


def seed_curves(df: pd.DataFrame, by: tuple[str, ...] = ()) -> pd.DataFrame:
    """Seed mean, 95% interval of the mean (t) and seed count per (``by``, task, split, budget, K),
    in %.

    One row per measured point, with ``x`` = log2(K/n) and ``log2_budget``. A table without
    validation errors (an older one) gives test curves only.
    """
    by = list(by)
    rows = []
    for split, col in SPLITS.items():
        if col not in df:
            continue
        g = df.groupby(by + ["task", "budget", "n_classes", "samples_per_class"])[col]
        s = g.agg(["mean", "std", "count"]).reset_index()
        half = stats.t.ppf(0.975, np.maximum(s["count"] - 1, 1)) * s["std"].fillna(0) / np.sqrt(s["count"])
        rows.append(pd.DataFrame({
            **{k: s[k] for k in by},
            "task": s["task"], "split": split, "budget": s["budget"],
            "K": s["n_classes"], "n": s["samples_per_class"],
            "error": 100 * s["mean"], "lo": 100 * (s["mean"] - half), "hi": 100 * (s["mean"] + half),
            "seeds": s["count"],
        }))
    out = pd.concat(rows, ignore_index=True)
    out["x"] = np.log2(out["K"] / out["n"]).round().astype(int)
    out["log2_budget"] = np.log2(out["budget"])
    return out.sort_values(by + ["task", "split", "budget", "x"]).reset_index(drop=True)


def integer_grid(curves: pd.DataFrame, by: tuple[str, ...] = ()) -> pd.DataFrame:
    """Every budget's curve at every integer log2(K/n) of its measured range.

    Measured points keep their numbers; the others are linear in x between their two measured
    neighbours (``measured`` False, ``seeds`` 0).
    """
    keys = list(by) + ["task", "split", "budget"]
    parts = []
    for values, g in curves.groupby(keys):
        g = g.sort_values("x")
        xs = np.arange(g["x"].min(), g["x"].max() + 1)
        part = pd.DataFrame({**dict(zip(keys, values)), "x": xs})
        for col in ("error", "lo", "hi"):
            part[col] = np.interp(xs, g["x"], g[col])
        part = part.merge(g[["x", "K", "n", "seeds"]], on="x", how="left")
        part["measured"] = part["seeds"].notna()
        part["seeds"] = part["seeds"].fillna(0).astype(int)
        part["log2_budget"] = np.log2(part["budget"])
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def bracket(log2_budgets, log2_n: float) -> tuple[float, float]:
    """The measured budgets (in log2) around ``log2_n``: equal when it is one of them."""
    b = np.sort(np.unique(np.asarray(log2_budgets, dtype=float)))
    if not b[0] - 1e-9 <= log2_n <= b[-1] + 1e-9:
        raise ValueError(f"log2 N = {log2_n} is outside the measured budgets 2^{b[0]:g}..2^{b[-1]:g}")
    lo = b[b <= log2_n + 1e-9].max()
    hi = b[b >= log2_n - 1e-9].min()
    return float(lo), float(hi)


def interpolate_at_budget(grid: pd.DataFrame, task: str, split: str, log2_n: float) -> pd.DataFrame:
    """The U-curve at budget 2^log2_n: linear in log N between the two measured budgets around
    it, on the ratios both cover. At a measured budget it is that budget's curve."""
    g = grid[(grid["task"] == task) & (grid["split"] == split)]
    b0, b1 = bracket(g["log2_budget"], log2_n)
    w = 0.0 if b1 == b0 else (log2_n - b0) / (b1 - b0)
    a = g[g["log2_budget"] == b0].set_index("x")
    b = g[g["log2_budget"] == b1].set_index("x")
    xs = a.index.intersection(b.index)
    out = pd.DataFrame({"x": xs})
    for col in ("error", "lo", "hi"):
        out[col] = (1 - w) * a.loc[xs, col].to_numpy() + w * b.loc[xs, col].to_numpy()
    out["interpolated"] = b0 != b1
    return out.reset_index(drop=True)


def optimum_at_budget(grid: pd.DataFrame, task: str, split: str, log2_n: float) -> dict:
    """Where the interpolated curve is lowest (the first such ratio on ties) and its error."""
    c = interpolate_at_budget(grid, task, split, log2_n)
    i = int(np.argmin(c["error"].to_numpy()))
    return {"x": int(c["x"].iloc[i]), "error": float(c["error"].iloc[i]),
            "interpolated": bool(c["interpolated"].iloc[0])}
