"""Where a page's numbers come from: the command that regenerates a results table, and the
measured wall time its sweep recorded.

Every study page shows the same two things above its figures, so they are built here, once: the
``pretrain-diversity sweep`` command for a study spec (what a reader runs from the repository root
to remake ``results/.../runs.csv``), and the lines read from the ``sweep.json`` record that
``pretrain-diversity sweep --csv`` writes beside the table. Pure string work on a JSON file: no
torch, so a page that only reads tables stays fast.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

RECORD = "sweep.json"  # written beside the --csv table by ``pretrain-diversity sweep``
LAUNCH = "--launcher processes --workers 2 --threads 1"  # how the committed tables were made


def sweep_command(spec: str | os.PathLike, csv: str | os.PathLike, out: str) -> str:
    """The command, from the repository root, that reruns ``spec`` into run folders under ``out``
    and rewrites the table ``csv`` (finished runs are cached, so it resumes)."""
    return (f"pretrain-diversity sweep {Path(spec).as_posix()} --out {out} {LAUNCH} "
            f"--csv {Path(csv).as_posix()}")


def record_path(csv: str | os.PathLike, root: str | os.PathLike | None = None) -> Path:
    """Where the sweep record of the table ``csv`` (relative to ``root``) lives."""
    return Path(root or ".") / Path(csv).parent / RECORD


def read_record(csv: str | os.PathLike, root: str | os.PathLike | None = None) -> dict | None:
    """The sweep record beside the table (command, wall time, run counts, machine), or None."""
    path = record_path(csv, root)
    return json.loads(path.read_text()) if path.exists() else None


def shown_command(record: dict | None, spec, csv, out: str) -> str:
    """The command that actually made the table when it was recorded, else the one that would."""
    return record["command"] if record else sweep_command(spec, csv, out)


def command_block(record: dict | None, spec, csv, out: str) -> str:
    """That command as a Markdown code fence."""
    return f"```\n{shown_command(record, spec, csv, out)}\n```"


def run_counts(record: dict) -> str:
    """'12 done, 3 cached': the sweep's runs by status, statuses with none left out."""
    return ", ".join(f"{v} {k}" for k, v in record["runs"].items() if v)


def cpu_cores(machine: dict) -> int | None:
    """The CPU count of a machine block: ``cpu_count`` (``runs.machine``), or ``host_cpus`` in
    sweep records written before that block had one home."""
    return machine.get("cpu_count", machine.get("host_cpus"))


def wall_time(record: dict | None, *, label: str = "measured wall time:", after: str = "",
              processor: bool = False, run_sum: bool | None = None, note: bool = False,
              missing: str | None = None) -> str:
    """One line on the measured wall time of the sweep, or ``missing`` when nothing was recorded.

    The pages word it slightly differently (``label``, ``after`` the minutes, the processor, the
    runs' own summed time, the record's note); the numbers always come from the record. The
    summed time is shown by default when the sweep found runs cached (its wall time then covers
    only the runs it trained: a study made over several sessions, or copied from another).
    """
    if not record:
        return missing if missing is not None else (
            f"{label} not recorded (no `{RECORD}` beside the table)")
    m = record.get("machine", {})
    text = (f"{label} **{record['wall_s'] / 60:.1f} min**{after} ({run_counts(record)} runs) on "
            f"{cpu_cores(m)} CPU cores"
            + (f" ({m.get('processor')})" if processor else "")
            + f", started {record.get('started')}")
    if run_sum is None:
        run_sum = bool(record.get("runs", {}).get("cached")) and "sum_run_total_s" in record
    if run_sum:
        text += (f"; the runs' own times add up to "
                 f"{record.get('sum_run_total_s', float('nan')) / 60:.1f} min")
    if note and record.get("note"):
        text += f" ({record['note']})"
    return text


def wall_times(studies: dict[str, str | os.PathLike], root: str | os.PathLike | None = None):
    """Per study (name -> its table): the recorded wall time in minutes, run counts, start, CPUs
    and the runs' own times summed (minutes; a resumed sweep's wall time covers only what it
    trained, the sum covers every run of the table)."""
    import pandas as pd

    rows = []
    for name, csv in studies.items():
        r = read_record(csv, root)
        if r:
            rows.append({"study": name, "wall_min": r["wall_s"] / 60, "runs": r["runs"],
                         "started": r.get("started"), "cpus": cpu_cores(r.get("machine", {})),
                         "run_sum_min": r.get("sum_run_total_s", float("nan")) / 60})
        else:
            rows.append({"study": name, "wall_min": float("nan"), "runs": {}, "started": None,
                         "cpus": None, "run_sum_min": float("nan")})
    return pd.DataFrame(rows)


def provenance_block(record: dict | None, spec, csv, out: str, details: list[str],
                     **wall_kw) -> str:
    """Markdown: the regenerate command, the page's ``details`` bullets (what the table holds),
    and the measured wall time (``wall_time`` with ``wall_kw``), as every study page opens."""
    return "\n".join([command_block(record, spec, csv, out), *details,
                      f"- {wall_time(record, **wall_kw)}"])
