"""Is the optimum interior, tested rather than located?

"Interior" used to mean only that the grid minimum of the seed-mean curve was not at an end of
the K grid. On a flat curve that is a coin toss. Here each end of the grid is compared with the
selected K, paired by seed, on the reported metric: the optimum is interior if both ends are
worse (their 95% t-interval lies above 0), and the curve is flat where neither is.

Selection and test are kept apart: K is selected on validation error, the ends are compared on
test error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pretrain_diversity.analysis.paired import paired

INTERIOR, FLAT, AT_EDGE = "interior", "flat", "one end not worse"


def edge_tests(df: pd.DataFrame, *, select: str = "val_error",
               report: str = "test_error") -> pd.DataFrame:
    """Per (task, budget): the K selected on ``select`` (grid minimum of the seed mean), and for
    the smallest and largest K of the grid the paired difference end - selected of ``report``
    in percentage points, its 95% t-interval and whether the end is worse (lo > 0). ``shape``
    is ``interior`` (both ends worse), ``flat`` (neither) or ``one end not worse``."""
    rows = []
    budget = df["budget"] if "budget" in df else df["n_classes"] * df["samples_per_class"]
    for (task, n), sub in df.assign(budget=budget).groupby(["task", "budget"], sort=True):
        means = sub.groupby("n_classes")[select].mean()
        k_sel = int(means.idxmin())
        by_seed = {k: g.set_index("seed")[report] for k, g in sub.groupby("n_classes")}
        row = {"task": task, "budget": int(n), "K_selected": k_sel}
        worse = []
        for end, k_end in (("small_K", int(means.index.min())), ("large_K", int(means.index.max()))):
            p = paired(by_seed[k_end], by_seed[k_sel])
            is_worse = bool(k_end != k_sel and np.isfinite(p.lo) and p.lo > 0)
            worse.append(is_worse)
            row.update({f"{end}": k_end, f"{end}_diff": p.mean, f"{end}_lo": p.lo,
                        f"{end}_hi": p.hi, f"{end}_worse": is_worse})
        row["shape"] = INTERIOR if all(worse) else FLAT if not any(worse) else AT_EDGE
        rows.append(row)
    return pd.DataFrame(rows)
