"""Run records rebuilt from a committed results table (one row per run x task), so that studies
measured before records existed are not lost: ``pretrain-diversity records-from-table``.

A table row holds a run's config (all but ``probe_tasks``, which its rows' tasks give back), its
pre-training metrics, timings, hardware and versions, and one task's probe (or one
(task, protocol, k) transfer) result. What the table never held stays out of the record: the
training curve and, for few-shot runs, the fine-tuning settings. ``probe_tasks`` order is not in
the table either: the order whose config hashes to the row's run_id is the one kept, and a run
whose config hashes to no order is reported, not recorded.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from dataclasses import fields

from pretrain_diversity.analysis.tables import load_results
from pretrain_diversity.config import RunConfig
from pretrain_diversity.sweeps.records import default_records_dir, write_record

TIMING = ("total_s", "data_s", "train_s", "probe_s", "train_images_per_s")
ROW_KEYS = ("task", "protocol", "k")
DERIVED = ("run_id", "name", "budget", "ratio")
PREFIXES = ("pretrain_", "hardware_", "train_path_", "versions_")


def _py(v):
    """A plain Python value from a pandas cell (NaN -> None, numpy scalars -> Python)."""
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def _result_value(v):
    v = _py(v)
    if isinstance(v, str) and v[:1] in "[{":
        try:
            return json.loads(v)  # tables write lists and dicts as JSON (tables._cell)
        except ValueError:
            return v
    return v


def _field_value(f, v):
    """A table cell as the RunConfig field's type (a float column may hold an int field)."""
    v = _py(v)
    if v is None:
        return None
    kind = str(f.type)
    if "tuple" in kind:
        return tuple(json.loads(v)) if isinstance(v, str) else tuple(v)
    if "bool" in kind:
        return v in (True, "True", "true", 1)
    if kind.startswith("int"):
        return int(v)
    if kind.startswith("float"):
        return float(v)
    return str(v)


def config_of(rows, tasks: list[str], run_id: str) -> RunConfig:
    """The run's config: its fields from the first row, probe_tasks in the order that hashes
    back to ``run_id`` (ValueError if none does)."""
    first = rows.iloc[0]
    values = {f.name: _field_value(f, first[f.name]) for f in fields(RunConfig)
              if f.name != "probe_tasks" and f.name in rows.columns}
    values = {k: v for k, v in values.items() if v is not None}
    for order in itertools.permutations(tasks):
        cfg = RunConfig(**values, probe_tasks=tuple(order))
        if cfg.run_id() == run_id:
            return cfg
    raise ValueError(f"run {run_id}: no order of probe_tasks {tasks} gives a config that hashes "
                     f"to it (a config field the table lacks?)")


def record_of_rows(rows) -> dict:
    """The record (metrics.json without its training curve) of one run's table rows."""
    run_id = rows["run_id"].iloc[0]
    first = rows.iloc[0]
    config_cols = {f.name for f in fields(RunConfig)}
    common = config_cols | set(TIMING) | set(DERIVED)
    transfer = "protocol" in rows.columns and rows["protocol"].notna().any()
    tasks = list(dict.fromkeys(rows["task"]))
    cfg = config_of(rows, tasks, run_id)

    def block(prefix):
        return {c[len(prefix):]: _py(first[c]) for c in rows.columns
                if c.startswith(prefix) and _py(first[c]) is not None}

    results = [c for c in rows.columns
               if c not in common and c not in ROW_KEYS and not c.startswith(PREFIXES)]
    probe, by_task = {}, {}
    for _, row in rows.iterrows():
        res = {c: _result_value(row[c]) for c in results if _py(row[c]) is not None}
        if transfer:
            by_task.setdefault(row["task"], {}).setdefault(row["protocol"], {})[
                str(int(row["k"]))] = res
        else:
            probe[row["task"]] = res
    metrics = {"pretrain": block("pretrain_"), "probe": probe}
    if transfer:
        metrics["transfer"] = by_task
    return {
        "run_id": run_id,
        "name": _py(first["name"]),
        "config": cfg.to_dict(),
        "metrics": metrics,
        "timing": {k: _py(first[k]) for k in TIMING if k in rows.columns},
        "hardware": block("hardware_"),
        **({"train_path": path} if (path := block("train_path_")) else {}),
        "versions": block("versions_"),
        "migrated_from": "results table (no training curve or fine-tuning settings)",
    }


def records_of_table(path: str | os.PathLike) -> tuple[list[dict], list[str]]:
    """(records, problems): one record per run of the table at ``path``."""
    df = load_results(path)
    records, problems = [], []
    for _, rows in df.groupby("run_id", sort=False):
        try:
            records.append(record_of_rows(rows))
        except ValueError as e:
            problems.append(str(e))
    return records, problems


def migrate(table: str | os.PathLike, *, write: bool = True) -> bool:
    """Write the records of ``table`` into its records folder; False if a run could not be."""
    records, problems = records_of_table(table)
    out = default_records_dir(table)
    for p in problems:
        print(f"{table}: {p}")
    if write:
        for r in records:
            write_record(out, r)
    print(f"{table}: {len(records)} runs -> {out}" + ("" if write else " (checked, not written)"))
    return not problems
