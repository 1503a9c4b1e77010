"""Regret of each choice a practitioner would make at the target budget, against the best K on test.

The reviewer found the application check easy to pass: the one "standard choice" sat far out on
the many-class arm, which every K from 64 to 2048 beat. Here K* faces every choice a practitioner
could defend: all classes (the largest K the target grid holds), as many classes as images per
class (K = sqrt(N), r = 1: no pilot runs needed), a thousand classes (the ImageNet habit), the
best ratio measured at the smallest budget reused at the target, and the validation oracle (the K with the lowest
validation error at the target itself). Each is scored by its regret: its test error minus the
best test error any measured K reached at the target (>= 0; the best K on test is a hindsight
bound no selection rule can use), paired by seed, in percentage points.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pretrain_diversity.analysis.optimum import optima
from pretrain_diversity.analysis.recommend import MEAN_TASK, mean_over_tasks
from pretrain_diversity.studies.application.stats import (
    EVAL_METRIC, SELECT_METRIC, Plan, TaskComparison, paired,
)

REGRET_CHOICES = ("recommended K*", "all classes", "K = sqrt(N) (r = 1)", "1,000 classes",
                  "smallest-budget ratio reused", "validation oracle", "best K on test")
# The ImageNet-style standard: a thousand classes, whatever the budget (the measured K nearest).
THOUSAND_CLASSES = 1000


def smallest_budget_ratio(estimation: pd.DataFrame) -> tuple[int, float]:
    """(budget, r*): the optimum at the smallest budget measured, located on validation error
    averaged over tasks (as the recipe's estimate is), without a bootstrap."""
    d = mean_over_tasks(estimation)
    smallest = int(d["budget"].min())
    row = optima(d[d["budget"] == smallest], metric=SELECT_METRIC, n_boot=0).iloc[0]
    return smallest, float(row.r_star)


def nearest_measured(ks, k: float) -> int:
    """The measured K nearest to k in log K (ties: the smaller)."""
    ks = sorted(int(x) for x in ks)
    return min(ks, key=lambda x: (abs(math.log2(x) - math.log2(k)), x))


def regret_ks(target: pd.DataFrame, estimation: pd.DataFrame, p: Plan,
              c: TaskComparison) -> dict[str, int]:
    """The K of each choice on one task's target curve (``c`` from ``stats.compare``)."""
    measured = c.curve.index
    _, r0 = smallest_budget_ratio(estimation)
    return {
        "recommended K*": c.ks["recommended"],
        "all classes": int(max(measured)),
        "K = sqrt(N) (r = 1)": nearest_measured(measured, math.sqrt(p.budget)),
        "1,000 classes": nearest_measured(measured, THOUSAND_CLASSES),
        "smallest-budget ratio reused": nearest_measured(measured, math.sqrt(r0 * p.budget)),
        "validation oracle": c.ks["oracle"],
        "best K on test": int(c.curve["test_mean"].idxmin()),
    }


def regret_table(target: pd.DataFrame, estimation: pd.DataFrame, p: Plan,
                 cmp: dict[str, TaskComparison]) -> pd.DataFrame:
    """Per task and choice: K, n, test error (seed mean) and the regret against the best K on
    test (mean and 95% t-interval over seeds, points; 0 for that choice itself)."""
    at = target[target["n_classes"] * target["samples_per_class"] == p.budget]
    rows = []
    for task, c in cmp.items():
        d = mean_over_tasks(at, (EVAL_METRIC, SELECT_METRIC)) if task == MEAN_TASK else \
            at[at["task"] == task]
        ks = regret_ks(target, estimation, p, c)
        by_seed = {name: d[d["n_classes"] == k].groupby("seed")[EVAL_METRIC].mean()
                   for name, k in ks.items()}
        best = by_seed["best K on test"]
        for name, k in ks.items():
            r = paired(by_seed[name], best)
            rows.append(dict(task=task, choice=name, K=k, n=p.budget // k,
                             test_error=float(by_seed[name].mean()), regret=r.mean,
                             regret_lo=r.lo, regret_hi=r.hi, seeds=r.n))
    return pd.DataFrame(rows)


def regret_view(table: pd.DataFrame) -> pd.DataFrame:
    """The page's table: one row per (task, choice), regret as 'mean [interval]' in points."""
    return pd.DataFrame({
        "task": table.task, "choice": table.choice, "K": table.K, "n": table.n,
        "test error": [f"{e:.1%}" for e in table.test_error],
        "regret (points) [95%]": [
            f"{m:+.2f}" if not np.isfinite(lo) else f"{m:+.2f} [{lo:+.2f}, {hi:+.2f}]"
            for m, lo, hi in zip(table.regret, table.regret_lo, table.regret_hi)],
    })


def regret_text(table: pd.DataFrame) -> str:
    """Markdown: per task, where K* ranks among the practitioner's choices by regret."""
    parts = []
    rivals = [c for c in REGRET_CHOICES if c not in ("recommended K*", "best K on test")]
    for task, g in table.groupby("task", sort=False):
        g = g.set_index("choice")
        k = g.loc["recommended K*"]
        beats = [c for c in rivals if g.loc[c, "regret"] > k.regret]
        ties = [c for c in rivals if g.loc[c, "K"] == k.K]
        loses = [c for c in rivals if c not in beats and c not in ties]
        parts.append(
            f"**{task}**: K* = {int(k.K)} has a regret of {k.regret:+.2f} points against the best "
            f"K on test (K = {int(g.loc['best K on test', 'K'])}); it does better than "
            f"{len(beats)} of the {len(rivals)} other choices ({', '.join(beats) or 'none'})"
            + (f", picks the same K as {', '.join(ties)}" if ties else "")
            + (f", and does worse than {', '.join(loses)}" if loses else "") + ".")
    return "\n\n".join(parts)
