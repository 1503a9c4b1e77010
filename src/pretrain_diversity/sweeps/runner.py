"""Sweeps: a study's runs, each cached in its own folder (DomainBed), executed by a launcher.

Each run lives in ``output_dir / cfg.run_id()`` (``runs.layout``); the run function
(``run_experiment``) writes ``metrics.json`` atomically and then a ``done`` marker, so:

- a rerun skips finished runs (no training happens), and, given a records folder, so does a rerun
  on a fresh machine: a run with a usable record (``records.py``) counts as cached;
- a run without ``done`` is rerun, and ``run_experiment`` resumes it from its last checkpoint;
- a run that raised leaves ``failed.json`` (with its traceback) and never ``done``; a rerun retries
  it and deletes the record once it succeeds;
- a file that cannot be read back (metrics.json, failed.json, a record, the manifest) is named in
  the report, set aside and its run trained again: it never crashes the sweep;
- a run is claimed with an exclusive ``flock`` (``runs.locks``), so two sweeps over the same folder
  never train the same run twice, and a killed worker leaves no stale claim behind.

Launchers (``launchers.py``) all consume the same list of ``Job``s; a progress bar over runs
estimates the time left from each run's estimated cost (``cost.py``), not a plain count of runs.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from pretrain_diversity.config import ConfigError, RunConfig
from pretrain_diversity.runs.layout import (
    FAILED,
    DamagedFile,
    manifest_path,
    read_finished,
    read_json,
    set_aside,
)
from pretrain_diversity.runs.validation import check
from pretrain_diversity.storage import atomic_write_json
from pretrain_diversity.sweeps import launchers as L
from pretrain_diversity.sweeps.jobs import (
    DEFAULT_RUN_FN,
    IN_PROCESS,
    VIAS,
    Job,
    JobResult,
    fn_spec,
)
from pretrain_diversity.sweeps.records import usable_record, write_record
from pretrain_diversity.sweeps.spec import Study, StudyError, load_study, variant_of

# Callers import the spec's names from here too (the book pages, the studies).
__all__ = ["Study", "StudyError", "load_study", "variant_of", "run_study", "SweepReport",
           "make_jobs", "write_manifest", "STATUSES"]
STATUSES = ("done", "cached", "failed")  # what a sweep reports per run (busy runs are waited for)


@dataclass
class SweepReport:
    study: str
    output_dir: str
    launcher: str
    results: list[JobResult]
    skipped: list[str]  # invalid combinations of the spec
    wall_s: float
    damaged: list[str] = field(default_factory=list)  # files set aside, one line each
    records_dir: str | None = None

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def failed(self) -> list[JobResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        parts = [f"{self.count(s)} {s}" for s in STATUSES]
        lines = [
            f"study {self.study!r}: {len(self.results)} runs in {self.output_dir} "
            f"({', '.join(parts)}) in {self.wall_s:.1f} s with the {self.launcher} launcher"
        ]
        for r in self.failed:
            lines.append(f"  FAILED {r.name} [{r.run_id}]: {r.error}")
            lines.append(f"         traceback: {Path(self.output_dir) / r.run_id / FAILED}")
        for d in self.damaged:
            lines.append(f"  {d}")
        if self.skipped:
            lines.append(f"  {len(self.skipped)} invalid combination(s) of the spec skipped")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["counts"] = {s: self.count(s) for s in STATUSES}
        return d


def make_jobs(
    configs: Iterable[RunConfig],
    output_dir: str | os.PathLike,
    *,
    via: str = "function",
    run_fn: str | Callable | None = None,
    notebook: str | os.PathLike | None = None,
    force: bool = False,
    threads: int | None = None,
) -> list[Job]:
    if via not in VIAS:
        raise ValueError(f"unknown via={via!r}; allowed: {', '.join(VIAS)}")
    spec = run_fn if isinstance(run_fn, str) else DEFAULT_RUN_FN
    if callable(run_fn):
        try:
            spec = fn_spec(run_fn)
        except ValueError:
            spec = IN_PROCESS  # serial only; other launchers call fn_spec() and raise
    out = str(Path(output_dir).resolve())
    return [
        Job(
            config=c.to_dict(),
            output_dir=out,
            via=via,
            run_fn=spec,
            notebook=str(notebook) if notebook else None,
            force=force,
            threads=threads,
        )
        for c in configs
    ]


def study_configs(study, *, device: str | None = None) -> tuple[list[RunConfig], list[str], str]:
    """(configs, skipped combinations, name) of a Study, a spec path or a list of RunConfigs."""
    if isinstance(study, (str, os.PathLike)):
        study = load_study(study)
    if isinstance(study, Study):
        configs, skipped, name = *study.plan(), study.name
        if not configs:
            raise StudyError(f"study {name!r} expands to no valid run"
                             + (": " + "; ".join(skipped[:3]) if skipped else ""))
    else:
        configs, skipped, name = list(study), [], "runs"
    if device:  # where the runs execute: not part of their identity
        configs = [c.with_(device=device) for c in configs]
    return configs, skipped, name


def check_runs(configs: Iterable[RunConfig], name: str = "runs") -> None:
    """Every run's parameters against the data sets (limits, real data on disk), before any run
    starts: StudyError naming the parameter and the run, or DataNotFound naming the missing data.
    The device is checked where each run executes (a driver may have no GPU)."""
    for c in configs:
        try:
            check(c.with_(device="cpu"))
        except ConfigError as e:
            raise StudyError(f"study {name!r}: {e} (in the run {c.short_name()})") from None


def run_study(
    study: Study | str | os.PathLike | Iterable[RunConfig],
    output_dir: str | os.PathLike,
    *,
    launcher: str = "serial",
    workers: int | None = None,
    address: str | None = None,
    via: str = "function",
    run_fn: str | Callable | None = None,
    notebook: str | os.PathLike | None = None,
    force: bool = False,
    threads: int | None = None,
    progress: bool = True,
    records: str | os.PathLike | None = None,
    device: str | None = None,
    shared_records: Sequence[str | os.PathLike] = (),
) -> SweepReport:
    """Run every unfinished run of a study; return a report (failures are in it, not raised).

    ``study`` is a Study, a path to a spec file, or a list of RunConfigs. Finished runs (in
    ``output_dir``, or recorded in ``records``) are skipped before any worker starts; ``force``
    reruns them. Each run that finishes gets its record at once. ``run_fn`` (default: the real
    ``run_experiment``) may be a callable or ``"module:function"``; launchers other than serial
    need it importable by name. ``device`` overrides where every run trains.

    ``shared_records`` are other studies' records folders: a run recorded there (the same run id:
    the same configuration) is not trained again but its record is copied into ``records``, with
    ``copied_from`` naming where it came from, so two studies that share points share their runs.
    """
    t0 = time.perf_counter()
    if launcher not in L.LAUNCHERS:
        raise ValueError(f"unknown launcher {launcher!r}; allowed: {', '.join(L.LAUNCHERS)}")
    if isinstance(study, (str, os.PathLike)):
        study = load_study(study)
    configs, skipped, name = study_configs(study, device=device)
    check_runs(configs, name)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    damaged: list[str] = []
    if isinstance(study, Study):
        write_manifest(study, configs, output_dir, on_damaged=damaged.append)

    jobs = make_jobs(
        configs, output_dir, via=via, run_fn=run_fn, notebook=notebook, force=force, threads=threads
    )
    cached, pending = [], []
    for j in jobs:
        if not force and finished(j, records, damaged.append, shared_records):
            cached.append(j)
        else:
            pending.append(j)
            check_failure_record(j, damaged.append)
    results = [JobResult(j.cfg.run_id(), j.cfg.short_name(), "cached") for j in cached]

    bar = _progress_bar(name, pending, len(cached), enabled=progress)
    counts = {"done": 0, "failed": 0, "cached": len(cached)}

    def on_result(job: Job, res: JobResult) -> None:
        if res.status in ("done", "cached") and records is not None:
            res = keep_record(job, res, records, damaged.append)
        results.append(res)
        counts[res.status] = counts.get(res.status, 0) + 1
        if bar is not None:
            bar.set_description_str(_describe(name, counts, len(jobs)), refresh=False)
            bar.update(job.cost)
            if res.status == "failed":
                bar.write(f"FAILED {res.name}: {res.error}")

    def launch(batch: list[Job], report: Callable[[Job, JobResult], None]) -> None:
        if launcher == "serial":
            L.serial(batch, report, run_fn=run_fn if callable(run_fn) else None)
        elif launcher == "processes":
            L.processes(batch, report, workers=workers)
        else:
            L.ray(batch, report, workers=workers, address=address)

    busy: list[Job] = []

    def first_pass(job: Job, res: JobResult) -> None:
        if res.status == "busy":
            busy.append(job)
        else:
            on_result(job, res)

    try:
        # Runs another sweep holds are skipped at first, then waited for at the end (and run
        # here if their owner died without finishing them), so a sweep that returns leaves no
        # run of its study unfinished but the failed ones.
        if pending:
            launch(pending, first_pass)
        if busy:
            launch([replace(j, wait=True) for j in busy], on_result)
    finally:
        if bar is not None:
            bar.close()
    order = {c.run_id(): i for i, c in enumerate(configs)}
    results.sort(key=lambda r: order.get(r.run_id, len(order)))
    return SweepReport(
        study=name,
        output_dir=str(output_dir),
        launcher=launcher,
        results=results,
        skipped=skipped,
        wall_s=time.perf_counter() - t0,
        damaged=damaged,
        records_dir=str(records) if records is not None else None,
    )


def finished(job: Job, records, on_damaged: Callable[[str], None],
             shared_records: Sequence[str | os.PathLike] = ()) -> bool:
    """Whether the run needs no training: a usable record (this study's, or another study's,
    which is then copied), or a readable finished run folder (which then gets its record)."""
    rid = job.cfg.run_id()
    if records is not None and usable_record(records, rid, on_damaged) is not None:
        return True
    if records is not None and copy_shared_record(rid, records, shared_records):
        return True
    metrics = read_finished(job.run_dir, on_damaged)
    if metrics is None:
        return False
    if records is not None:
        write_record(records, metrics)
    return True


def copy_shared_record(run_id: str, records, shared_records) -> bool:
    """Copy ``run_id``'s record from another records folder that has a usable one.

    A run id names a configuration, not the software: two studies may hold the same run measured
    under different versions (a migrated table beside a rerun), with different numbers. A copy
    stands in for training the run here and now, so a record made under this environment's
    versions is preferred; otherwise the first folder's (in ``shared_records`` order).
    """
    from pretrain_diversity.runs.machine import versions

    found = []
    for other in shared_records:
        if Path(other).resolve() == Path(records).resolve():
            continue
        rec = usable_record(other, run_id, lambda _: None)  # another study's damage: not ours
        if rec is not None:
            found.append((other, rec))
    if not found:
        return False
    here = versions()
    other, rec = next(((o, r) for o, r in found if r.get("versions") == here), found[0])
    write_record(records, {**rec, "copied_from": shown_path(other)})
    return True


def shown_path(path) -> str:
    """A records folder as a record names it: from ``results/`` on (where the studies keep
    them), so the name is the same on every clone; else the absolute path."""
    path = Path(path).resolve()
    parts = path.parts
    if "results" in parts:
        i = len(parts) - 1 - parts[::-1].index("results")
        return Path(*parts[i:]).as_posix()
    return path.as_posix()


def keep_record(job: Job, res: JobResult, records, on_damaged) -> JobResult:
    """Write the record of a run that just finished (in this sweep or another one)."""
    metrics = read_finished(job.run_dir, on_damaged)
    if metrics is None:
        return replace(res, status="failed",
                       error="finished, but its metrics.json could not be read (set aside)")
    write_record(records, metrics)
    return res


def check_failure_record(job: Job, on_damaged: Callable[[str], None]) -> None:
    path = job.run_dir / FAILED
    if not path.exists():
        return
    try:
        read_json(path)
    except DamagedFile as e:
        moved = set_aside(path)
        on_damaged(f"damaged {e}; set aside as {moved.name}")


def write_manifest(study: Study, configs: list[RunConfig], output_dir: Path, *,
                   on_damaged: Callable[[str], None] = print) -> Path:
    """``output_dir/study-NAME.json``: the spec and its run ids (concurrent writers agree)."""
    path = manifest_path(output_dir, study.name)
    if path.exists():
        try:
            read_json(path)
        except DamagedFile as e:
            moved = set_aside(path)
            on_damaged(f"damaged manifest {e}; set aside as {moved.name}, written again")
    return atomic_write_json(
        path, {"study": study.to_dict(), "run_ids": [c.run_id() for c in configs]}
    )


def _describe(name: str, counts: dict, total: int) -> str:
    finished_ = counts["done"] + counts["cached"]
    s = f"sweep {name}: runs {finished_}/{total}"
    extra = [f"{counts[k]} {k}" for k in ("done", "cached", "failed") if counts.get(k)]
    return s + (f" ({', '.join(extra)})" if extra else "")


def _progress_bar(name: str, pending: list[Job], n_cached: int, *, enabled: bool):
    """tqdm over the pending runs' estimated cost, so the time left weighs big runs correctly."""
    if not enabled:
        return None
    from tqdm.auto import tqdm

    counts = {"done": 0, "cached": n_cached, "failed": 0}
    return tqdm(
        total=sum(j.cost for j in pending) or 1,
        desc=_describe(name, counts, len(pending) + n_cached),
        bar_format="{desc} {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]",
        file=sys.stderr,
        dynamic_ncols=True,
    )
