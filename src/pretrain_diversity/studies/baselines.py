"""No-pre-training baselines: what every task scores with raw pixels and with the network as
initialised, so each page can show how much pre-training adds (or costs) on that task.

They come from ``studies/baselines.toml`` (``pretrain = false`` runs: 0 SGD steps, the default
architecture, one network per seed), read from its run records: each record holds the probe of the
initialised network and, beside it, the probe of raw pixels (``metrics.probe_pixels``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from pretrain_diversity.paths import repo_root
from pretrain_diversity.sweeps import catalog
from pretrain_diversity.sweeps.records import load_records

BASELINES = catalog.study("baselines")
RECORDS = BASELINES.records
STUDY = BASELINES.spec
KINDS = {"probe": "random network", "probe_pixels": "raw pixels"}


def load_baselines(root: str | os.PathLike | None = None) -> pd.DataFrame:
    """One row per (seed, task, kind): kind is "random network" or "raw pixels"; columns
    test_error, val_error, C (the probe's regularisation, chosen on validation), image_size."""
    folder = Path(root or repo_root()) / RECORDS
    if not folder.is_dir():
        raise FileNotFoundError(
            f"no baseline records in {folder}: run `{BASELINES.command}` (about 2 minutes)"
        )
    rows = []
    for rec in load_records(folder):
        cfg = rec["config"]
        for key, kind in KINDS.items():
            for task, m in rec["metrics"].get(key, {}).items():
                rows.append({"seed": cfg["seed"], "task": task, "kind": kind,
                             "image_size": cfg["image_size"], "arch": cfg["arch"],
                             "width": cfg["width"], "test_error": m["test_error"],
                             "val_error": m["val_error"], "C": m["C"]})
    if not rows:
        raise FileNotFoundError(f"{folder} holds no usable baseline record")
    return pd.DataFrame(rows)


def baseline_summary(df: pd.DataFrame, metric: str = "test_error") -> pd.DataFrame:
    """Per (task, kind): mean and seed sd of ``metric`` and the number of seeds. Raw pixels do
    not depend on the seed (the probe's splits are fixed), so their sd is 0 by construction."""
    g = df.groupby(["task", "kind"])[metric]
    out = g.agg(mean="mean", sd="std", seeds="count").reset_index()
    out["sd"] = out["sd"].fillna(0.0)
    return out


def baseline_of(summary: pd.DataFrame, task: str, kind: str) -> float:
    """The mean baseline error of one task, for a reference line."""
    hit = summary[(summary.task == task) & (summary.kind == kind)]
    if hit.empty:
        raise KeyError(f"no {kind!r} baseline for task {task!r}; tasks with baselines: "
                       f"{', '.join(sorted(summary.task.unique()))}")
    return float(hit["mean"].iloc[0])
