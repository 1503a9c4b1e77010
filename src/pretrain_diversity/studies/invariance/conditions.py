"""What a condition is: the run parameters other than K, n and the seed, as a readable label.

The Figure 1 study is the condition "original sampler" (styles_per_class unset, width 8, 20
epochs); each knob's study varies one thing. Conditions are compared on the (N, K) points they all
share (``match_grid``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pretrain_diversity.analysis.optimum import MIN_K_FOR_OPTIMUM, drop_sparse_budgets


BASELINE = "original sampler"  # the Figure 1 condition
FULL_GRID = "original sampler, full Figure 1 grid"
DEFAULT_WIDTH, DEFAULT_EPOCHS = 8, 20.0  # of the Figure 1 study (studies/figure1.toml)
# Run parameters that tell conditions apart (anything but K, n and the seed).
CONDITION_COLUMNS = ("styles_per_class", "class_pool", "arch", "width", "depth", "epochs",
                     "image_size", "batch_size", "lr", "momentum", "weight_decay", "warmup_frac",
                     "augment")  # fmt: skip


def variety_label(v) -> str:
    """'V = 1', 'V = ∞' (styles_per_class = 0) or the original sampler (unset: None or NaN)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return BASELINE
    v = int(v)
    return "V = ∞" if v == 0 else f"V = {v}"


def _variety_rank(v) -> float:
    """Sort key: V = 1 < 8 < ... < ∞ < original sampler."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return math.inf
    return 1e12 if int(v) == 0 else float(v)


def label_conditions(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``condition`` (a readable label), ``variety`` (the V label) and ``condition_rank``."""
    df = df.copy()
    cols = [c for c in CONDITION_COLUMNS if c in df]
    for c in ("styles_per_class", "class_pool"):
        if c not in df:
            df[c] = np.nan
    first = df[cols].drop_duplicates()
    if len(first) > 1:  # parameters other than V, width and epochs must not vary silently
        other = [c for c in cols if c not in ("styles_per_class", "class_pool", "width", "epochs")
                 and first[c].nunique(dropna=False) > 1]
    else:
        other = []

    def label(row) -> str:
        parts = [variety_label(row["styles_per_class"])]
        pool = row["class_pool"]
        if isinstance(pool, str):
            parts.append(f"{pool} classes")
        if "width" in row and row["width"] != DEFAULT_WIDTH:
            parts.append(f"width {int(row['width'])}")
        if "epochs" in row and row["epochs"] != DEFAULT_EPOCHS:
            parts.append(f"{row['epochs']:g} epochs")
        parts += [f"{c} {row[c]}" for c in other]
        return ", ".join(parts)

    labels = df.apply(label, axis=1)
    df["variety"] = df["styles_per_class"].map(variety_label)
    df["condition"] = labels
    rank = df["styles_per_class"].map(_variety_rank)
    df["condition_rank"] = (
        rank.rank(method="dense")
        + 0.01 * (df["width"] if "width" in df else 0)
        + 0.0001 * (df["epochs"] if "epochs" in df else 0)
    )
    return df


def conditions_in_order(df: pd.DataFrame) -> list[str]:
    order = df.groupby("condition")["condition_rank"].first().sort_values()
    return list(order.index)


def match_grid(df: pd.DataFrame, *, min_k: int = MIN_K_FOR_OPTIMUM) -> pd.DataFrame:
    """Keep only the (task, N, K) points that every condition measured, and of those only the
    budgets where at least ``min_k`` values of K are shared (``optimum.drop_sparse_budgets``).

    One condition with a budget half-measured (a study stopped partway, a table written early)
    would otherwise leave every condition a one- or two-point "curve" at that budget.
    """
    pts = df.groupby("condition")[["task", "budget", "n_classes"]].apply(
        lambda g: set(map(tuple, g.drop_duplicates().to_numpy().tolist()))
    )
    common = set.intersection(*pts)
    key = pd.Series(list(zip(df["task"], df["budget"], df["n_classes"])), index=df.index)
    shared = drop_sparse_budgets(df[key.isin(common)], min_k)
    if shared.empty:
        raise ValueError("the conditions share no budget with at least "
                         f"{min_k} values of K (task, N, K): nothing to compare")
    return shared


def knob_groups(conditions: list[str]) -> dict[str, list[str]]:
    """Which conditions vary which knob (by label), each list in order, original sampler included."""
    base = BASELINE
    variety = [c for c in conditions if c.startswith("V = ") and "," not in c]
    width = [c for c in conditions if c.startswith(base + ", width")]
    epochs = [c for c in conditions if c.startswith(base + ", ") and c.endswith(" epochs")]
    groups = {}
    if len(variety) >= 2:
        groups["variety"] = variety
    if width and base in conditions:
        groups["capacity"] = [base, *width]
    if epochs and base in conditions:
        groups["training budget"] = [base, *epochs]
    return groups


def condition_table(data: pd.DataFrame, conditions: list[str]) -> pd.DataFrame:
    """One row per condition: what it sets (V, width, epochs) and how much it measured."""
    rows = []
    for cond in conditions:
        d = data[data.condition == cond]
        runs = d.drop_duplicates("run_id") if "run_id" in d else d
        first = runs.iloc[0]
        v = first.get("styles_per_class")
        rows.append({
            "condition": cond,
            "styles per class V": "unset (original sampler)" if pd.isna(v) else
            ("∞ (0)" if v == 0 else int(v)),
            "width": int(first["width"]), "epochs": f"{first['epochs']:g}",
            "budgets N": ", ".join(str(n) for n in sorted(runs.budget.unique())),
            "K per budget": runs.groupby("budget").n_classes.nunique().max(),
            "seeds": runs.seed.nunique(), "runs": len(runs),
        })
    return pd.DataFrame(rows)
