"""Run records: the small, committed trace of each finished run (no weights), so a study outlives
the machine and the session it ran in.

``results/<study>/records/<run_id>.json`` holds what ``run_experiment`` wrote to metrics.json
except the training curve: config, metrics, timings, hardware, versions. The sweep writes one the
moment a run finishes; a sweep on a fresh clone, with an empty ``runs/``, counts a run with a
readable record as cached and trains only the rest; the results table is derived from the
records, so it does not depend on where or in how many sessions the study ran.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from pretrain_diversity.runs.layout import DamagedFile, check_metrics, read_json, report_damaged, set_aside
from pretrain_diversity.runs.machine import now
from pretrain_diversity.storage import atomic_write_json

RECORDS = "records"
LEFT_OUT = ("history",)  # the training curve stays in the run folder


def default_records_dir(table: str | os.PathLike) -> Path:
    """Records sit beside the study's table: ``results/<study>/runs.csv`` -> ``.../records``."""
    return Path(table).parent / RECORDS


def record_path(records_dir: str | os.PathLike, run_id: str) -> Path:
    return Path(records_dir) / f"{run_id}.json"


def record_of(metrics: dict) -> dict:
    rec = {k: v for k, v in metrics.items() if k not in LEFT_OUT}
    rec.setdefault("recorded", now())
    return rec


def write_record(records_dir: str | os.PathLike, metrics: dict) -> Path:
    return atomic_write_json(record_path(records_dir, metrics["run_id"]), record_of(metrics))


def read_record(records_dir: str | os.PathLike, run_id: str) -> dict | None:
    """The record of ``run_id``; None if there is none; DamagedFile if it cannot be used."""
    path = record_path(records_dir, run_id)
    if not path.exists():
        return None
    return check_metrics(read_json(path), path, run_id)


def usable_record(records_dir, run_id: str,
                  on_damaged: Callable[[str], None] = report_damaged) -> dict | None:
    """``read_record``, but a damaged record is set aside and reported: its run is trained again."""
    try:
        return read_record(records_dir, run_id)
    except DamagedFile as e:
        moved = set_aside(e.path)
        on_damaged(f"damaged record {e}; set aside as {moved.name}, the run is trained again")
        return None


def load_records(records_dir: str | os.PathLike, run_ids: Iterable[str] | None = None, *,
                 on_damaged: Callable[[str], None] = report_damaged) -> list[dict]:
    """The usable records of ``run_ids`` (default: every record in the folder), in that order."""
    records_dir = Path(records_dir)
    if run_ids is None:
        run_ids = sorted(p.stem for p in records_dir.glob("*.json"))
    out = []
    for rid in run_ids:
        try:
            rec = read_record(records_dir, rid)
        except DamagedFile as e:  # the next sweep sets it aside and trains the run again
            on_damaged(f"damaged record {e}; left out")
            continue
        if rec is not None:
            out.append(rec)
    return out
