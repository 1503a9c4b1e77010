"""Command line: ``pretrain-diversity sweep STUDY --out DIR`` and ``... results DIR``.

Examples::

    pretrain-diversity sweep studies/figure1.toml --out runs/figure1 --csv results/figure1/runs.csv
    pretrain-diversity sweep studies/figure1.toml --out runs/figure1 --dry-run
    pretrain-diversity sweep studies/figure1.toml --out /shared/runs --launcher ray --address auto
    pretrain-diversity results runs/figure1 --study figure1 --csv results/figure1/runs.csv
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from pathlib import Path


def _add_sweep(sub) -> None:
    p = sub.add_parser(
        "sweep",
        help="run every unfinished run of a study (cached, resumable)",
        description="Expand a study spec to runs and execute the unfinished ones. Finished runs "
        "are skipped, failed and half-finished ones are rerun (resuming from their checkpoint).",
    )
    p.add_argument("study", help="study spec: a .toml, .json or .yaml file (see studies/)")
    p.add_argument("--out", required=True, help="output folder; one subfolder per run")
    p.add_argument("--launcher", choices=("serial", "processes", "ray"), default="serial")
    p.add_argument("--workers", type=int, default=None,
                   help="runs at a time (processes; local Ray CPUs). Default: CPU count")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads per run. Default: CPU count / workers")
    p.add_argument("--address", default=None, help="Ray cluster address (e.g. 'auto'); "
                   "without it --launcher ray starts a local Ray instance")
    p.add_argument("--via", choices=("function", "notebook"), default="function",
                   help="call run_experiment directly, or execute notebooks/pretrain.ipynb "
                   "with papermill and keep the executed notebook in the run folder")
    p.add_argument("--force", action="store_true", help="rerun finished runs too")
    p.add_argument("--dry-run", action="store_true", help="print the plan; run nothing")
    p.add_argument("--csv", default=None, help="afterwards, write the study's results table "
                   "here and a sweep record (command, wall time, hardware) beside it")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_sweep)


def _add_results(sub) -> None:
    p = sub.add_parser("results", help="collect finished runs into one tidy table")
    p.add_argument("dir", help="a sweep's output folder")
    p.add_argument("--study", default=None, help="only the runs of this study (its name)")
    p.add_argument("--csv", default=None, help="write the table here (.csv or .parquet)")
    p.add_argument("--summary", action="store_true", help="print means and spreads over seeds")
    p.set_defaults(func=cmd_results)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pretrain-diversity",
        description="Classes vs. images per class in supervised pre-training, reproduced small.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _add_sweep(sub)
    _add_results(sub)
    return parser


def cmd_sweep(args) -> int:
    from .sweep import (ASSUMED_IMAGES_PER_S, Job, StudyError, is_done, load_study, run_dir_for,
                        run_study, run_status)

    try:
        study = load_study(args.study)
        configs, skipped = study.plan()
    except (StudyError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for why in skipped:
        print(f"skipped: {why}", file=sys.stderr)
    if args.dry_run:
        status = [run_status(run_dir_for(c, args.out)) for c in configs]
        todo = [c for c, s in zip(configs, status) if s != "done" or args.force]
        images = sum(c.epochs * c.budget for c in todo)
        minutes = sum(Job(c.to_dict(), args.out).cost for c in todo) / ASSUMED_IMAGES_PER_S / 60
        print(f"study {study.name!r}: {len(configs)} runs, "
              + ", ".join(f"{status.count(s)} {s}" for s in sorted(set(status)))
              + f"; {len(todo)} to run, {images / 1e6:.1f} M training images, about "
              f"{minutes:.0f} min at {ASSUMED_IMAGES_PER_S} images/s (default model, 2 CPU cores)")
        for c, s in zip(configs, status):
            print(f"  {s:8s} {c.run_id()}  N={c.budget:<6d} K={c.n_classes:<5d} "
                  f"n={c.samples_per_class:<5d} seed={c.seed}")
        return 0
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    report = run_study(
        study,
        args.out,
        launcher=args.launcher,
        workers=args.workers,
        address=args.address,
        via=args.via,
        force=args.force,
        threads=args.threads,
        progress=not args.no_progress,
    )
    print(report.summary())
    if args.csv:
        from .results import collect, write_results

        done = [r for r in report.results if is_done(Path(args.out) / r.run_id)]
        if done:
            df = collect(args.out, study=study.name)
            path = write_results(df, args.csv)
            write_sweep_record(Path(path).with_name("sweep.json"), args, report, df, started)
            print(f"wrote {len(df)} rows ({df['run_id'].nunique()} runs) to {path}")
    return 0 if report.ok else 1


def write_sweep_record(path: Path, args, report, df, started: str) -> None:
    """What regenerated the table: the command, its wall time, how much was cached, the machine."""
    from .storage import atomic_write_json
    from .sweep import STATUSES

    argv = ["pretrain-diversity", "sweep", args.study, "--out", args.out]
    for flag in ("launcher", "workers", "threads", "address", "via"):
        v = getattr(args, flag)
        if v is not None and not (flag == "launcher" and v == "serial") and not (
            flag == "via" and v == "function"
        ):
            argv += [f"--{flag}", str(v)]
    argv += ["--csv", args.csv]
    counts = {s: report.count(s) for s in STATUSES}
    atomic_write_json(
        path,
        {
            "command": shlex.join(argv),
            "study": report.study,
            "started": started,
            "wall_s": round(report.wall_s, 1),
            "runs": counts,
            "sum_run_total_s": round(float(df.drop_duplicates("run_id")["total_s"].sum()), 1)
            if "total_s" in df else None,
            "launcher": report.launcher,
            "machine": {
                "host_cpus": os.cpu_count(),
                "platform": platform.platform(),
                "processor": platform.processor() or platform.machine(),
                "python": platform.python_version(),
            },
        },
    )


def cmd_results(args) -> int:
    from .results import collect, collect_failures, summarize, write_results

    try:
        df = collect(args.dir, study=args.study)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.csv:
        write_results(df, args.csv)
        print(f"wrote {len(df)} rows ({df['run_id'].nunique()} runs) to {args.csv}")
    if args.summary or not args.csv:
        import pandas as pd

        with pd.option_context("display.width", 160, "display.max_rows", 500):
            print(summarize(df).to_string(index=False))
    failures = collect_failures(args.dir)
    if len(failures):
        print(f"\n{len(failures)} failed run(s), not in the table:", file=sys.stderr)
        for _, f in failures.iterrows():
            print(f"  {f['name']} [{f['run_id']}]: {f['error_type']}: {f['message']}",
                  file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
