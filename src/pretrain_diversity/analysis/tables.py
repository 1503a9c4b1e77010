"""One tidy table over all finished runs of a study: a row per (run, downstream task).

Columns: the run's identity (``run_id``, ``name``), every RunConfig field except ``probe_tasks``
(the row's ``task`` replaces it), the derived ``budget`` and ``ratio`` = K/n, the probe's
``test_error``/``val_error``/``C``, the pre-training metrics (``pretrain_*``), the timings
(``total_s``, ``data_s``, ...), the hardware, the training path and the versions (``hardware_*``,
``train_path_*``, ``versions_*``).
Only runs with a ``done`` marker are read: a failed or half-finished run never shows as a result.
The same rows come from a run folder's metrics.json or from the run's record (``sweeps.records``):
a study's committed table is ``table_of`` its records.

CSV is the format kept in the repository (small, diffable); parquet is written when the path ends
in ``.parquet``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pandas as pd

from pretrain_diversity.config import RunConfig
from pretrain_diversity.runs.layout import DONE, FAILED, DamagedFile, load_metrics, read_json, study_run_ids
from pretrain_diversity.storage import atomic_write_bytes
from pretrain_diversity.sweeps.records import load_records

# Columns that say which experiment a row belongs to (everything but the seed and bookkeeping).
KEY = ("task", "budget", "n_classes", "samples_per_class")
METRIC_COLUMNS = ("test_error", "val_error", "test_error_testselected")
# Test error on the two fixed halves of a task's test split (evaluation.probe.test_halves), for
# cross-fitted selection: present on runs recorded since the halves were kept.
HALF_COLUMNS = ("test_error_half_a", "test_error_half_b")


def _flatten(prefix: str, d: dict) -> dict:
    out = {}
    for k, v in (d or {}).items():
        key = f"{prefix}_{k}"
        if isinstance(v, dict):
            out.update(_flatten(key, v))
        else:
            out[key] = _cell(v)
    return out


def rows_of(m: dict) -> list[dict]:
    """The table rows of one run's metrics dict (the format ``run_experiment`` returns)."""
    cfg = RunConfig.from_dict(m["config"])
    conf = {k: _cell(v) for k, v in cfg.to_dict().items() if k != "probe_tasks"}
    common = {
        "run_id": m.get("run_id", cfg.run_id()),
        "name": m.get("name", cfg.short_name()),
        **conf,
        "budget": cfg.budget,
        "ratio": cfg.n_classes / cfg.samples_per_class,
        **_flatten("pretrain", m.get("metrics", {}).get("pretrain", {})),
        **{k: v for k, v in m.get("timing", {}).items()},
        **_flatten("hardware", m.get("hardware", {})),
        **_flatten("train_path", m.get("train_path", {})),
        **_flatten("versions", m.get("versions", {})),
    }
    lengths = m.get("metrics", {}).get("lengths")
    if lengths:  # a row per (training length, task); the run's top-level probe is its longest
        plateau = m["metrics"].get("plateau", {})
        common = {**common, "plateau_reached": plateau.get("reached"),
                  "plateau_length": plateau.get("length")}
        rows = []
        for reading in lengths.values():
            at = {**common, **_flatten("pretrain", reading["pretrain"]),
                  "length": reading["pretrain"]["length"],
                  "at_plateau": reading["pretrain"]["length"] == plateau.get("length")}
            rows += [{**at, "task": task, **{k: _cell(v) for k, v in res.items() if k != "task"}}
                     for task, res in reading.get("probe", {}).items()]
            rows += _transfer_rows(at, reading.get("transfer", {}))
        return rows
    probe = m.get("metrics", {}).get("probe", {})
    rows = [
        {**common, "task": task, **{k: _cell(v) for k, v in res.items() if k != "task"}}
        for task, res in probe.items()
    ]
    return rows + _transfer_rows(common, m.get("metrics", {}).get("transfer", {}))


def _transfer_rows(common: dict, transfer: dict) -> list[dict]:
    """Few-shot transfer (transfer.py): a row per (task, protocol, k); shots = 0 is the whole
    pool."""
    return [{**common, "task": task, "protocol": protocol, "k": int(k),
             **{c: _cell(v) for c, v in res.items()}}
            for task, protocols in transfer.items()
            for protocol, by_k in protocols.items()
            for k, res in by_k.items()]


def _cell(v):
    """A table cell: scalars as they are, lists and dicts (the probe's val_errors) as JSON."""
    return json.dumps(v, sort_keys=True) if isinstance(v, (list, tuple, dict)) else v


def collect(output_dir: str | os.PathLike, *, study: str | None = None) -> pd.DataFrame:
    """All finished runs under ``output_dir`` (only those of ``study`` if named) as one table."""
    output_dir = Path(output_dir)
    if study:
        dirs = [output_dir / rid for rid in study_run_ids(output_dir, study)]
    else:
        dirs = sorted(p.parent for p in output_dir.glob(f"*/{DONE}"))
    metrics = []
    for d in dirs:
        if (d / DONE).exists():
            try:
                metrics.append(load_metrics(d))
            except DamagedFile as e:  # the next sweep sets it aside and trains the run again
                print(f"damaged {e}; left out of the table", file=sys.stderr)
    if not metrics:
        raise FileNotFoundError(f"no finished run under {output_dir}" + (
            f" for study {study!r}" if study else ""))
    return table_of(metrics)


def table_of(runs: list[dict]) -> pd.DataFrame:
    """The table of runs given as metrics dicts or records (one row per run x task)."""
    rows = [row for m in runs for row in rows_of(m)]
    if not rows:
        raise FileNotFoundError("no finished run to tabulate")
    return tidy(pd.DataFrame(rows))


def collect_records(records_dir: str | os.PathLike, run_ids: list[str] | None = None) -> pd.DataFrame:
    """The table of the records in ``records_dir`` (only ``run_ids`` if given, e.g. a study's)."""
    records = load_records(records_dir, run_ids)
    if not records:
        raise FileNotFoundError(f"no run record in {records_dir}")
    return table_of(records)


def tidy(df: pd.DataFrame) -> pd.DataFrame:
    """Stable column order and row order, so the written table diffs cleanly between sweeps."""
    first = ["run_id", "name", "task", "protocol", "k", "length", "budget", "n_classes",
             "samples_per_class",
             "ratio", "seed", "test_error", "val_error", "test_error_testselected", "C"]
    cols = [c for c in first if c in df] + [c for c in df.columns if c not in first]
    order = [c for c in ("task", "protocol", "k", "length", "budget", "n_classes", "seed", "run_id")
             if c in df]
    df = df[cols].sort_values(order, kind="stable")
    return df.reset_index(drop=True)


def collect_failures(output_dir: str | os.PathLike) -> pd.DataFrame:
    """One row per run folder holding ``failed.json`` and no ``done``: name, error, attempt."""
    rows = []
    for p in sorted(Path(output_dir).glob(f"*/{FAILED}")):
        if (p.parent / DONE).exists():
            continue
        try:
            f = read_json(p)
        except DamagedFile:
            f = {"run_id": p.parent.name, "error_type": "damaged", "message": f"{p} is unreadable"}
        rows.append({k: f.get(k) for k in ("run_id", "name", "error_type", "message", "attempt",
                                           "time", "host")} | {"path": str(p)})
    return pd.DataFrame(rows, columns=["run_id", "name", "error_type", "message", "attempt",
                                       "time", "host", "path"])


def write_results(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write the table atomically: CSV (6 significant digits) or parquet by the file suffix."""
    path = Path(path)
    if path.suffix == ".parquet":
        import io

        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        return atomic_write_bytes(path, buf.getvalue())
    return atomic_write_bytes(path, df.to_csv(index=False, float_format="%.6g").encode())


def load_results(path: str | os.PathLike) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no results table at {path}")
    df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    missing = {"task", "n_classes", "samples_per_class", "seed", "test_error"} - set(df.columns)
    if missing:
        raise ValueError(f"{path} is not a results table: missing columns {sorted(missing)}")
    if "budget" not in df:
        df["budget"] = df["n_classes"] * df["samples_per_class"]
    return df


def summarize(df: pd.DataFrame, by: list[str] | None = None,
              metrics: tuple[str, ...] = METRIC_COLUMNS) -> pd.DataFrame:
    """Mean, standard deviation and count over seeds of each metric, per experiment.

    ``by`` defaults to the task, N, K, n and every config column that varies apart from the seed
    (so a study that also sweeps, say, ``width`` keeps its widths apart).
    """
    if by is None:
        conf = [f for f in RunConfig.__dataclass_fields__ if f not in ("seed", "probe_tasks")]
        varying = [c for c in conf if c in df and c not in KEY and df[c].nunique(dropna=False) > 1]
        by = list(KEY) + [c for c in ("protocol", "k") if c in df] + varying
    metrics = [m for m in metrics if m in df]
    extra = [c for c in ("total_s",) if c in df]
    g = df.groupby(by, sort=True, dropna=False)
    out = g[metrics].agg(["mean", "std", "count"])
    out.columns = [f"{m}_{s}" for m, s in out.columns]
    for c in extra:
        out[f"{c}_mean"] = g[c].mean()
    out = out.reset_index()
    if {"n_classes", "samples_per_class"} <= set(out.columns):
        out["ratio"] = out["n_classes"] / out["samples_per_class"]
    return out
