"""One study read three ways: at fixed epochs, at fixed compute, and trained to its plateau.

A run with ``RunConfig.lengths`` has a table row per (training length, task)
(``tables.rows_of``). Where the optimum of the K x n trade-off sits depends on how long the runs
trained: at 20 epochs the many-class runs had not fitted their classes, so a slope of log2 r*
on log2 N measured steps per class as much as data. Each function here turns that table into the
rows of one protocol, with the same columns as a single-length study, so that the optimum and
verdict code reads every protocol the same way:

- ``fixed epochs``: length 1, i.e. ``epochs`` passes over N images at every budget;
- ``fixed compute``: the same number of SGD steps at every budget (the largest step count every
  budget was read at);
- ``trained``: each run at its plateau (``training.lengths.plateau``), the first length from
  which no longer length raises its accuracy on held-out images of its own classes by 2 points
  or more; a run that never gets there is read at its longest length and counted by
  ``training_status``. The plateau is recomputed here from every reading's held-out accuracy
  (``with_plateau``), so records made under the first, loss-based rule are read by this one.
"""

from __future__ import annotations

import pandas as pd

FIXED_EPOCHS, FIXED_COMPUTE, TRAINED = "fixed epochs", "fixed compute", "trained"
PROTOCOLS = (TRAINED, FIXED_EPOCHS, FIXED_COMPUTE)
TRAINED_ENOUGH = 0.5  # seed-mean training accuracy below this: the cell did not fit its classes


def _check(df: pd.DataFrame) -> None:
    missing = {"length", "pretrain_steps", "at_plateau", "budget"} - set(df.columns)
    if missing:
        raise ValueError(f"not a table of runs read at several training lengths: it lacks "
                         f"{sorted(missing)} (a study with `lengths` in its [base] makes them)")


def with_plateau(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with ``plateau_length``, ``plateau_reached`` and ``at_plateau`` recomputed by the
    current rule (``training.lengths.plateau``) from each run's held-out accuracies; the values
    the records hold are kept as ``recorded_plateau_length`` / ``recorded_plateau_reached``."""
    from pretrain_diversity.training.lengths import plateau

    _check(df)
    per_run = (df.drop_duplicates(["run_id", "length"]).sort_values("length")
               .groupby("run_id")[["length", "pretrain_heldout_accuracy"]])
    found = {}
    for rid, g in per_run:
        i = plateau(g["pretrain_heldout_accuracy"].tolist())
        found[rid] = (float(g["length"].iloc[i if i is not None else -1]), i is not None)
    out = df.copy()
    if "recorded_plateau_length" not in out:
        out["recorded_plateau_length"] = out["plateau_length"]
        out["recorded_plateau_reached"] = out["plateau_reached"]
    out["plateau_length"] = out["run_id"].map(lambda r: found[r][0])
    out["plateau_reached"] = out["run_id"].map(lambda r: found[r][1])
    out["at_plateau"] = out["length"] == out["plateau_length"]
    return out


def fixed_compute_steps(df: pd.DataFrame) -> int:
    """The largest number of SGD steps at which every budget of the table was read."""
    _check(df)
    per_budget = [set(g["pretrain_steps"].astype(int)) for _, g in df.groupby("budget")]
    shared = set.intersection(*per_budget) if per_budget else set()
    if not shared:
        raise ValueError("no step count is shared by every budget: the lengths read do not span "
                         "the budgets' ratio, so there is no fixed-compute reading")
    return max(shared)


def protocol_rows(df: pd.DataFrame, protocol: str) -> pd.DataFrame:
    """The rows of one protocol: one per (run, task), as a single-length study's table."""
    _check(df)
    if protocol == FIXED_EPOCHS:
        mask = df["length"] == 1
    elif protocol == FIXED_COMPUTE:
        mask = df["pretrain_steps"].astype(int) == fixed_compute_steps(df)
    elif protocol == TRAINED:
        mask = df["at_plateau"].astype(bool)
    else:
        raise ValueError(f"unknown protocol {protocol!r}; allowed: {', '.join(PROTOCOLS)}")
    out = df[mask]
    if out.empty:
        raise ValueError(f"the table has no row read under {protocol!r}")
    return out.reset_index(drop=True)


def length_rows(df: pd.DataFrame, length: float) -> pd.DataFrame:
    """The rows read at one training length (a multiple of the fixed-epochs steps)."""
    _check(df)
    out = df[df["length"] == length]
    if out.empty:
        raise ValueError(f"no row was read at length {length}; lengths read: "
                         f"{sorted(df['length'].unique())}")
    return out.reset_index(drop=True)


def training_status(df: pd.DataFrame, protocol: str = TRAINED) -> pd.DataFrame:
    """Per (budget, K) under ``protocol``: seeds, the seed-mean training accuracy (over the last
    1% of each run's steps), the steps read, and how many seeds reached the plateau. A cell whose
    mean accuracy is under ``TRAINED_ENOUGH`` is flagged ``under_trained``."""
    rows = protocol_rows(df, protocol).drop_duplicates("run_id")
    g = rows.groupby(["budget", "n_classes"])
    out = pd.DataFrame({
        "n": g["samples_per_class"].first(),
        "seeds": g["seed"].nunique(),
        "train_accuracy": g["pretrain_final_accuracy"].mean(),
        "heldout_accuracy": g["pretrain_heldout_accuracy"].mean(),
        "steps_min": g["pretrain_steps"].min(),
        "steps_max": g["pretrain_steps"].max(),
        "plateaued": g["plateau_reached"].sum().astype(int),
    }).reset_index()  # fmt: skip
    out["under_trained"] = out["train_accuracy"] < TRAINED_ENOUGH
    return out


def optimum_path(df: pd.DataFrame, *, metric: str = "val_error",
                 report: str = "test_error") -> pd.DataFrame:
    """The optimum of every (task, budget) at every training length: located on ``metric`` (the
    grid minimum refined by the shared estimator, no bootstrap), with ``report`` read there.
    Columns: task, budget, length, steps, K_star, log2_r_star, err_star, report_star."""
    from pretrain_diversity.analysis.optimum import drop_sparse_budgets, optima

    parts = []
    for length, sub in df.groupby("length", sort=True):
        sub = drop_sparse_budgets(sub)
        if sub.empty:
            continue
        o = optima(sub, metric=metric, report=report, n_boot=0)
        o["length"] = float(length)
        steps = sub.groupby("budget")["pretrain_steps"].first()
        o["steps"] = o["budget"].map(steps).astype(int)
        parts.append(o)
    if not parts:
        raise ValueError("no (task, budget) has enough values of K to locate an optimum")
    cols = ["task", "budget", "length", "steps", "K_star", "log2_r_star", "err_star",
            "report_star", "K_grid", "interior"]
    return pd.concat(parts, ignore_index=True)[cols]


def crossfit_table(df: pd.DataFrame, select_half: str = "a") -> pd.DataFrame:
    """The table with the optimum selected on one half of the test split and reported on the
    other (cross-fitting): ``val_error`` becomes the selecting half's error and ``test_error``
    the other half's, so the optimum and verdict code reads it unchanged. The validation splits
    of digits and shapes hold 100 images; half their test splits hold 798 and 250, which locate
    an optimum with far less sampling noise. Rows recorded before the halves were kept (NaN)
    are dropped, and so is a budget left incomplete by that."""
    if select_half not in ("a", "b"):
        raise ValueError(f"select_half must be 'a' or 'b', got {select_half!r}")
    other = "b" if select_half == "a" else "a"
    cols = {f"test_error_half_{h}" for h in "ab"}
    if not cols <= set(df.columns):
        raise ValueError("the table has no test-split halves (runs recorded before the probe "
                         "kept them); cross-fitting needs them")
    out = df.dropna(subset=sorted(cols)).copy()
    out["val_error"] = out[f"test_error_half_{select_half}"]
    out["test_error"] = out[f"test_error_half_{other}"]
    return out.reset_index(drop=True)
