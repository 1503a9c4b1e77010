"""What a run folder holds, and how to read it without trusting it (no torch here).

Layout of ``output_dir / run_id`` (files marked * belong to the sweep)::

    checkpoint.pt   while training (atomic, periodic); removed when the run is done
    model.pt        final weights
    metrics.json    config, metrics, training curve, timings, hardware, versions (atomic)
    done            written last: a folder without it is not a result
    failed.json *   why the last attempt failed (traceback); never beside ``done``
    lock *          the claim of the worker running it (``locks.RunLock``)
    worker.log *    output of a ``processes`` worker
    pretrain.ipynb *  the executed notebook of a ``--via notebook`` run

and ``output_dir / study-NAME.json``, a sweep's manifest (its spec and run ids).

Every file here is read as data (JSON), never executed or unpickled. A file that cannot be read
(truncated, invalid JSON, the wrong shape) raises ``DamagedFile`` naming it; ``set_aside`` renames
it out of the way so the run it belonged to is simply run again.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from pretrain_diversity.config import RunConfig
from pretrain_diversity.runs.locks import LOCK, RunLock
from pretrain_diversity.runs.machine import stamp

DONE = "done"
METRICS = "metrics.json"
CHECKPOINT = "checkpoint.pt"
MODEL = "model.pt"
FAILED = "failed.json"
WORKER_LOG = "worker.log"
NOTEBOOK = "pretrain.ipynb"
__all__ = ["DONE", "METRICS", "CHECKPOINT", "MODEL", "FAILED", "LOCK", "WORKER_LOG", "NOTEBOOK"]


class DamagedFile(ValueError):
    """A file a run or sweep wrote earlier cannot be read back; its path says which."""

    def __init__(self, path: str | os.PathLike, why: str):
        self.path = Path(path)
        super().__init__(f"{path}: {why}")


def run_dir_for(cfg: RunConfig, output_dir) -> Path:
    return Path(output_dir) / cfg.run_id()


def manifest_path(output_dir, study: str) -> Path:
    return Path(output_dir) / f"study-{study}.json"


def is_done(run_dir) -> bool:
    return (Path(run_dir) / DONE).exists() and (Path(run_dir) / METRICS).exists()


def read_json(path: str | os.PathLike) -> dict:
    """A JSON object from ``path``; DamagedFile if it is not one (FileNotFoundError if absent)."""
    path = Path(path)
    text = path.read_bytes()  # FileNotFoundError passes: a missing file is not a damaged one
    try:
        obj = json.loads(text)
    except (ValueError, UnicodeDecodeError) as e:
        raise DamagedFile(path, f"not valid JSON ({e})") from None
    if not isinstance(obj, dict):
        raise DamagedFile(path, f"holds a JSON {type(obj).__name__}, not an object")
    return obj


def check_metrics(m: dict, path, run_id: str | None = None) -> dict:
    """``m`` if it has the shape ``run_experiment`` writes (and belongs to ``run_id``)."""
    for key, kind in (("run_id", str), ("config", dict), ("metrics", dict), ("timing", dict)):
        if not isinstance(m.get(key), kind):
            raise DamagedFile(path, f"'{key}' is missing or not a {kind.__name__}")
    if not isinstance(m["metrics"].get("probe", {}), dict) or not (
        m["metrics"].get("probe") or m["metrics"].get("transfer")
    ):
        raise DamagedFile(path, "holds no probe or transfer results")
    try:
        cfg = RunConfig.from_dict(m["config"])
        rid = cfg.run_id()
    except (TypeError, ValueError) as e:
        raise DamagedFile(path, f"its config is not a run configuration ({e})") from None
    if rid != m["run_id"] or (run_id is not None and rid != run_id):
        raise DamagedFile(path, f"its config hashes to {rid}, not to run {run_id or m['run_id']}")
    return m


def load_metrics(run_dir) -> dict:
    """A finished run's metrics.json, checked (DamagedFile if it cannot be used)."""
    path = Path(run_dir) / METRICS
    return check_metrics(read_json(path), path, Path(run_dir).name)


def set_aside(path: str | os.PathLike) -> Path:
    """Rename a damaged file to ``NAME.damaged-<UTC time>`` (kept for a look, never read again)."""
    path = Path(path)
    target = path.with_name(f"{path.name}.damaged-{stamp()}")
    os.replace(path, target)
    return target


def report_damaged(message: str) -> None:
    print(message, file=sys.stderr)


def read_finished(run_dir, on_damaged: Callable[[str], None] = report_damaged) -> dict | None:
    """The metrics of a finished run, or None: not finished, or damaged. A damaged metrics.json
    is set aside (``on_damaged`` gets one line naming it) and its done marker removed, so the
    run is trained again instead of crashing whoever reads it."""
    run_dir = Path(run_dir)
    if not is_done(run_dir):
        return None
    try:
        return load_metrics(run_dir)
    except DamagedFile as e:
        moved = set_aside(e.path)
        (run_dir / DONE).unlink(missing_ok=True)
        on_damaged(f"damaged {e}; set aside as {moved.name}, the run is trained again")
        return None


def run_status(run_dir: str | os.PathLike) -> str:
    """'done', 'running' (claimed by a live worker), 'failed', 'partial' (no marker) or 'new'."""
    run_dir = Path(run_dir)
    if is_done(run_dir):
        return "done"
    if not run_dir.exists():
        return "new"
    if RunLock(run_dir).held_elsewhere():
        return "running"
    if (run_dir / FAILED).exists():
        return "failed"
    return "partial"


def study_run_ids(output_dir: str | os.PathLike, name: str) -> list[str]:
    path = manifest_path(output_dir, name)
    if not path.exists():
        raise FileNotFoundError(f"no manifest {path}: has study {name!r} been swept into it?")
    ids = read_json(path).get("run_ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise DamagedFile(path, "'run_ids' is missing or not a list of run ids")
    return ids
