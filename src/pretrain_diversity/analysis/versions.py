"""Which code and library versions measured a table, and whether a change of version moved it.

A run id names a configuration, not the software that ran it: records migrated from an older
table (torch 2.15, the code of that time) and runs trained since (torch 2.14, today's code) sit
in one table under the same kind of id. Float rounding differs between them, and over thousands
of SGD steps that grows into a different trajectory, so the same id need not give the same
number. What matters for a verdict is whether the change is a bias or only more noise; run ids
measured under both versions (paired, same configuration and seed) answer that.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


VERSION = "versions_torch"


def version_mix(df: pd.DataFrame) -> pd.DataFrame:
    """One row per torch version in a table: its runs, seeds and budgets."""
    if VERSION not in df:
        raise ValueError(f"the table has no {VERSION!r} column (tables derived from run records "
                         "have one)")
    runs = df.drop_duplicates("run_id")
    rows = []
    for v, g in runs.groupby(VERSION, sort=True):
        rows.append({"torch": v, "runs": len(g),
                     "seeds": ", ".join(str(s) for s in sorted(g.seed.unique())),
                     "budgets N": ", ".join(str(n) for n in sorted(g.budget.unique()))})
    return pd.DataFrame(rows)


def paired_version_differences(a: pd.DataFrame, b: pd.DataFrame, metric: str = "test_error",
                               level: float = 0.95) -> pd.DataFrame:
    """Per task: the run ids both tables measured under different torch versions, and the mean
    of b minus a in points of ``metric`` with its t-interval over pairs; sd is the spread of a
    single pair (compare it with the seed spread of the study)."""
    from scipy import stats

    key = ["run_id", "task"]
    cols = key + [metric, VERSION]
    both = a[cols].merge(b[cols], on=key, suffixes=("_a", "_b"))
    both = both[both[f"{VERSION}_a"] != both[f"{VERSION}_b"]]
    rows = []
    for task, g in both.groupby("task", sort=True):
        d = 100 * (g[f"{metric}_b"] - g[f"{metric}_a"]).to_numpy()
        n = len(d)
        mean, sd = float(d.mean()), float(d.std(ddof=1)) if n > 1 else float("nan")
        half = float(stats.t.ppf(0.5 + level / 2, n - 1) * sd / np.sqrt(n)) if n > 1 else np.nan
        rows.append({"task": task, "pairs": n, "mean": mean, "low": mean - half,
                     "high": mean + half, "sd": sd,
                     "versions": f"{g[f'{VERSION}_a'].iloc[0]} → {g[f'{VERSION}_b'].iloc[0]}"})
    return pd.DataFrame(rows)
