"""Figures and tables of one run's stored metrics (the notebook and the book share them)."""

from __future__ import annotations

import pandas as pd


def training_curve(metrics: dict, ax=None):
    """Pre-training loss and accuracy against optimiser steps."""
    import matplotlib.pyplot as plt

    h = metrics["history"]
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.2))
    ax.plot(h["step"], h["loss"], color="C0", label="loss")
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("training loss (cross-entropy)", color="C0")
    acc = ax.twinx()
    acc.plot(h["step"], [100 * a for a in h["accuracy"]], color="C1", label="accuracy")
    acc.set_ylabel("training accuracy (%)", color="C1")
    acc.set_ylim(0, 100)
    c = metrics["config"]
    ax.set_title(
        f"K = {c['n_classes']} classes x n = {c['samples_per_class']} images "
        f"(N = {c['n_classes'] * c['samples_per_class']:,}), seed {c['seed']}"
    )
    ax.grid(alpha=0.3)
    return ax


def probe_table(metrics: dict, baselines: dict | None = None) -> pd.DataFrame:
    """One row per downstream task: test error (%), validation error (%), the chosen C."""
    rows = []
    for task, r in metrics["metrics"]["probe"].items():
        row = {
            "task": task,
            "test error (%)": 100 * r["test_error"],
            "val error (%)": 100 * r["val_error"],
            "chosen C": r["C"],
            "train / test images": f"{r['n_train']} / {r['n_test']}",
        }
        if baselines and task in baselines:
            row["raw-pixel probe test error (%)"] = 100 * baselines[task]
        rows.append(row)
    return pd.DataFrame(rows).set_index("task").round(2)


def transfer_table(metrics: dict) -> pd.DataFrame:
    """Few-shot transfer results (``transfer.py``) as a table: test error per task, protocol and
    k, with the hyper-parameters chosen on validation and the test-selected error beside it."""
    rows = []
    for task, protocols in metrics["metrics"].get("transfer", {}).items():
        for protocol, by_k in protocols.items():
            for k, r in by_k.items():
                rows.append({"task": task, "protocol": protocol,
                             "k": "all" if k == "0" else int(k), "train images": r["n_train"],
                             "test error": round(r["test_error"], 4),
                             "chosen on val": r["chosen"],
                             "test error if chosen on test": round(r["test_error_testselected"], 4)})
    return pd.DataFrame(rows)


def lengths_table(metrics: dict) -> pd.DataFrame:
    """A run read at several training lengths (``RunConfig.lengths``): per length, the steps,
    how well it fits its own classes (training accuracy, held-out loss and accuracy) and each
    task's test error (%), with the plateau reading marked."""
    readings = metrics["metrics"].get("lengths") or {}
    at = (metrics["metrics"].get("plateau") or {}).get("length")
    rows = []
    for r in readings.values():
        p = r["pretrain"]
        rows.append({
            "length (x base steps)": p["length"], "steps": p["steps"],
            "training accuracy (%)": round(100 * p["final_accuracy"], 1),
            "held-out loss (nats)": round(p["heldout_loss"], 3),
            "held-out accuracy (%)": round(100 * p["heldout_accuracy"], 1),
            **{f"{task} test error (%)": round(100 * res["test_error"], 1)
               for task, res in r["probe"].items()},
            "plateau": "trained reading" if p["length"] == at else "",
        })  # fmt: skip
    return pd.DataFrame(rows)
