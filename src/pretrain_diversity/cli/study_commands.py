"""The study commands of ``pretrain-diversity``: ``sweep``, ``plan`` and ``studies``.

Every error a user can cause (a spec that does not parse, a parameter out of range, a study with
no valid run) is printed as one ``error:`` line and exits 2, before anything runs.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from pretrain_diversity.analysis.tables import collect_records, write_results
from pretrain_diversity.config import ConfigError
from pretrain_diversity.paths import repo_root
from pretrain_diversity.runs.layout import run_dir_for, run_status
from pretrain_diversity.runs.machine import machine, now
from pretrain_diversity.storage import atomic_write_json
from pretrain_diversity.sweeps import catalog, cost
from pretrain_diversity.sweeps.records import default_records_dir, load_records, usable_record
from pretrain_diversity.sweeps.runner import STATUSES, check_runs, run_study, study_configs
from pretrain_diversity.sweeps.spec import StudyError, load_study

USER_ERRORS = (StudyError, ConfigError, FileNotFoundError)


def fail(e: Exception) -> int:
    print(f"error: {e}", file=sys.stderr)
    return 2


# ------------------------------------------------------------------------------------ where
# Where a study's spec, records, table and run folders are: ``sweeps.catalog``, by its name.


def calibrated_rate(records_dirs, *, device: str = "cpu", probe: bool = True) -> cost.Rate:
    """The rate of this machine: from the records it made; else a probe run; else the default."""
    records = [r for d in records_dirs if Path(d).is_dir()
               for r in load_records(d, on_damaged=lambda _: None)]
    rate = cost.calibrate(records, device=device)
    if rate is None and probe:
        rate = cost.probe_rate(device=device)
    return rate or cost.DEFAULT_RATE


def all_records_dirs(root: Path) -> list[Path]:
    return sorted(root.glob("results/**/records"))


# ------------------------------------------------------------------------------------ sweep
def add_sweep(sub) -> None:
    p = sub.add_parser(
        "sweep",
        help="run every unfinished run of a study (cached, resumable)",
        description="Expand a study spec to runs and execute the unfinished ones. Finished runs "
        "(in --out, or recorded in --records) are skipped, failed and half-finished ones are rerun "
        "(resuming from their checkpoint).",
    )
    p.add_argument("study", help="study spec: a .toml, .json or .yaml file (see studies/)")
    p.add_argument("--out", required=True, help="output folder; one subfolder per run")
    add_launch_options(p)
    p.add_argument("--via", choices=("function", "notebook"), default="function",
                   help="call run_experiment directly, or execute notebooks/pretrain.ipynb "
                   "with papermill and keep the executed notebook in the run folder")
    p.add_argument("--force", action="store_true", help="rerun finished runs too")
    p.add_argument("--dry-run", action="store_true", help="print the plan; run nothing")
    p.add_argument("--csv", default=None, help="write the study's results table here (derived "
                   "from its records) and a sweep record (command, wall time, machine) beside it")
    p.add_argument("--records", default=None, help="run records folder (default: 'records' "
                   "beside --csv; none without --csv)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_sweep)


def add_launch_options(p) -> None:
    p.add_argument("--launcher", choices=("serial", "processes", "ray"), default="serial")
    p.add_argument("--workers", type=int, default=None,
                   help="runs at a time (processes; local Ray CPUs). Default: CPU count")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads per run. Default: CPU count / workers")
    p.add_argument("--address", default=None, help="Ray cluster address (e.g. 'auto'); "
                   "without it --launcher ray starts a local Ray instance")
    p.add_argument("--device", default=None, help="train every run here (cpu, cuda, cuda:1); "
                   "where a run executes is not part of its identity")


def cmd_sweep(args) -> int:
    records = args.records or (default_records_dir(args.csv) if args.csv else None)
    try:
        study = load_study(args.study)
        configs, skipped, _ = study_configs(study, device=args.device)
        check_runs(configs, study.name)
        if args.device:
            from pretrain_diversity.runs.validation import validate_device

            validate_device(args.device)
    except USER_ERRORS as e:
        return fail(e)
    for why in skipped:
        print(f"skipped: {why}", file=sys.stderr)
    if args.dry_run:
        return dry_run(study, configs, args, records)
    started = now()
    report = run_study(study, args.out, launcher=args.launcher, workers=args.workers,
                       address=args.address, via=args.via, force=args.force, threads=args.threads,
                       progress=not args.no_progress, records=records, device=args.device)
    print(report.summary())
    if args.csv:
        write_table(report, [c.run_id() for c in configs], records, args.csv, sweep_command(args),
                    started)
    return 0 if report.ok else 1


def dry_run(study, configs, args, records) -> int:
    status = []
    for c in configs:
        if records and usable_record(records, c.run_id(), lambda m: print(m, file=sys.stderr)):
            status.append("recorded")
        else:
            status.append(run_status(run_dir_for(c, args.out)))
    todo = [c for c, s in zip(configs, status) if s not in ("done", "recorded") or args.force]
    rate = calibrated_rate([records] if records else [], device=args.device or "cpu", probe=False)
    p = cost.plan_configs(study.name, todo, rate, workers=args.workers or 1)
    print(f"study {study.name!r}: {len(configs)} runs, "
          + ", ".join(f"{status.count(s)} {s}" for s in sorted(set(status)))
          + f"; {len(todo)} to run, {p.images / 1e6:.1f} M training images, about "
          f"{p.minutes:.0f} min at {rate.describe()}")
    for c, s in zip(configs, status):
        print(f"  {s:8s} {c.run_id()}  N={c.budget:<6d} K={c.n_classes:<5d} "
              f"n={c.samples_per_class:<5d} seed={c.seed}")
    return 0


def sweep_command(args) -> list[str]:
    argv = ["pretrain-diversity", "sweep", args.study, "--out", args.out]
    for flag in ("launcher", "workers", "threads", "address", "via", "device"):
        v = getattr(args, flag, None)
        if v is not None and not (flag == "launcher" and v == "serial") and not (
            flag == "via" and v == "function"
        ):
            argv += [f"--{flag}", str(v)]
    return argv + ["--csv", str(args.csv)]


def write_table(report, run_ids, records, csv, argv, started) -> Path | None:
    """The study's table, derived from its records, and a sweep record (sweep.json) beside it."""
    try:
        df = collect_records(records, run_ids)
    except FileNotFoundError:
        return None
    path = write_results(df, csv)
    print(f"wrote {len(df)} rows ({df['run_id'].nunique()} runs) to {path}")
    counts = {s: report.count(s) for s in STATUSES}
    atomic_write_json(Path(path).with_name("sweep.json"), {
        "command": shlex.join(argv),
        "study": report.study,
        "started": started,
        "wall_s": round(report.wall_s, 1),
        "runs": counts,
        "sum_run_total_s": round(float(df.drop_duplicates("run_id")["total_s"].sum()), 1)
        if "total_s" in df else None,
        "launcher": report.launcher,
        "machine": machine(),
    })
    return path


# ------------------------------------------------------------------------------------ plan
def add_plan(sub) -> None:
    p = sub.add_parser("plan", help="estimate runs, training images and minutes of studies",
                       description="Runs nothing but (when no run was recorded on this machine) "
                       "one short probe run that measures its training speed.")
    p.add_argument("specs", nargs="+", help="study spec files")
    p.add_argument("--workers", type=int, default=1, help="runs at a time (default 1)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--images-per-s", type=float, default=None,
                   help="use this rate per worker instead of measuring one")
    p.set_defaults(func=cmd_plan)


def cmd_plan(args) -> int:
    try:
        studies = [load_study(s) for s in args.specs]
        plans_configs = [(s, study_configs(s)[0]) for s in studies]
    except USER_ERRORS as e:
        return fail(e)
    if args.images_per_s:
        d = cost.DEFAULT_RATE
        rate = cost.Rate(args.images_per_s, d.data_s_per_image, d.probe_s_per_unit,
                         "training rate given, the rest assumed")
    else:
        rate = calibrated_rate(all_records_dirs(repo_root()), device=args.device)
    print(f"at {rate.describe()}, {args.workers} worker(s):")
    total = 0.0
    for study, configs in plans_configs:
        p = cost.plan_configs(study.name, configs, rate, workers=args.workers)
        total += p.minutes
        print(f"  {study.name:22s} {p.runs:4d} runs  {p.images / 1e6:7.1f} M training images  "
              f"~{p.minutes:6.1f} min")
    print(f"  total: ~{total:.1f} min")
    return 0


# ------------------------------------------------------------------------------------ studies
def table_is_current(csv: Path, records: Path, run_ids: list[str]) -> bool:
    """Whether ``csv`` holds exactly the study's recorded runs, with the records' numbers (else it
    is derived again: runs were trained, or copied from another study, or a record was replaced
    by another measurement of the same run id, since it was written)."""
    if not csv.exists():
        return False
    import numpy as np
    import pandas as pd

    recorded = [r for r in run_ids if (records / f"{r}.json").exists()]
    old = pd.read_csv(csv)
    if set(old.run_id) != set(recorded):
        return False
    if not recorded:
        return True
    new = collect_records(records, recorded)
    key = ["run_id", "task"]
    cols = [c for c in ("test_error", "val_error") if c in old and c in new]
    a, b = (t.sort_values(key)[key + cols].reset_index(drop=True) for t in (old, new))
    return (a[key].equals(b[key])
            and all(np.allclose(a[c], b[c], equal_nan=True) for c in cols))


def add_studies(sub) -> None:
    p = sub.add_parser("studies", help="regenerate every study's table (or one): plan, run, "
                       "compare planned with measured time",
                       description="Runs each studies/*.toml whose runs are not recorded under "
                       "results/<study>/records, then derives results/<study>/runs.csv from the "
                       "records. A run another study recorded (the same run id) is copied, not "
                       "trained again. With every record present it trains nothing.")
    p.add_argument("--study", action="append", default=None,
                   help="a study name (e.g. figure1); repeatable. Default: every study")
    add_launch_options(p)
    p.add_argument("--root", default=None, help="repository root (default: found from here)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_studies)


def cmd_studies(args) -> int:
    root = Path(args.root) if args.root else repo_root()
    specs = {n: root / catalog.study(n).spec for n in catalog.names(root)}
    names = args.study or list(specs)
    unknown = [n for n in names if n not in specs]
    if unknown:
        return fail(ValueError(f"unknown study {', '.join(unknown)}; known: {', '.join(specs)}"))
    device = args.device or "cpu"
    try:
        if args.device:
            from pretrain_diversity.runs.validation import validate_device

            validate_device(args.device)
        todo, full = {}, {}
        shared = all_records_dirs(root)  # a run another study recorded is copied, not retrained
        for n in names:
            configs = study_configs(load_study(specs[n]), device=args.device)[0]
            check_runs(configs, n)
            full[n] = configs
            rec = root / catalog.study(n).records
            todo[n] = [c for c in configs
                       if not any(usable_record(d, c.run_id(), lambda m: None)
                                  for d in [rec, *shared])
                       and run_status(run_dir_for(c, root / catalog.study(n).runs_dir)) != "done"]
    except USER_ERRORS as e:
        return fail(e)
    workers = args.workers or 1
    # a probe run only when something is to be trained and nothing was measured here
    rate = calibrated_rate(all_records_dirs(root), device=device, probe=any(todo.values()))
    print(f"plan at {rate.describe()}, {workers} worker(s):")
    planned = {}
    for n in names:
        planned[n] = cost.plan_configs(n, todo[n], rate, workers=workers)
        whole = cost.plan_configs(n, full[n], rate, workers=workers)
        print(f"  {n:22s} {len(todo[n]):4d} of {whole.runs:4d} runs to train  "
              f"~{planned[n].minutes:6.1f} min (the whole study: ~{whole.minutes:.1f} min)")
    measured, ok = {}, True
    for n in names:
        f = catalog.study(n)
        records, table = root / f.records, root / f.table
        started = now()
        report = run_study(specs[n], root / f.runs_dir, launcher=args.launcher,
                           workers=args.workers, address=args.address, threads=args.threads,
                           device=args.device, progress=not args.no_progress, records=records,
                           shared_records=shared)
        print(report.summary())
        ok &= report.ok
        measured[n] = report.wall_s
        ns = argparse.Namespace(study=str(f.spec), out=f.runs_dir, csv=str(f.table), via=None,
                                **{k: getattr(args, k) for k in ("launcher", "workers", "threads",
                                                                 "address", "device")})
        runs = [c.run_id() for c in study_configs(load_study(specs[n]))[0]]
        if report.count("done") or not table_is_current(table, records, runs):
            write_table(report, runs, records, table, sweep_command(ns), started)
    print("planned vs measured wall time:")
    for n in names:
        print(f"  {n:22s} planned {planned[n].minutes:7.1f} min   measured "
              f"{measured[n] / 60:7.1f} min")
    return 0 if ok else 1
