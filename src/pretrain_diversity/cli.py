"""Command line: ``pretrain-diversity run``, ``sweep``, ``results``, ``estimate-ratio``, ``recommend``.

Examples::

    pretrain-diversity run --n-classes 500 --samples-per-class 32 --out runs
    pretrain-diversity sweep studies/figure1.toml --out runs/figure1 --csv results/figure1/runs.csv
    pretrain-diversity sweep studies/figure1.toml --out runs/figure1 --dry-run
    pretrain-diversity sweep studies/figure1.toml --out /shared/runs --launcher ray --address auto
    pretrain-diversity results runs/figure1 --study figure1 --csv results/figure1/runs.csv
    pretrain-diversity estimate-ratio results/figure1/runs.csv --max-budget 4096
    pretrain-diversity recommend --results results/figure1/runs.csv --max-budget 4096 --budget 32768
    pretrain-diversity recommend --ratio 2 --interval 1 4 --budget 100000
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


def _add_estimate_args(p) -> None:
    p.add_argument("--task", default=None, help="one downstream task (default: each run's error "
                   "averaged over its tasks, since one pre-trained model serves all of them)")
    p.add_argument("--max-budget", type=int, default=None,
                   help="use only budgets N <= this (the cheap runs)")
    p.add_argument("--metric", default="val_error", help="column that selects K (default: the "
                   "probe's validation error; never select on test_error)")
    p.add_argument("--level", type=float, default=0.95, help="interval level (default 0.95)")
    p.add_argument("--n-boot", type=int, default=2000, help="bootstrap draws (default 2000)")


def _add_application(sub) -> None:
    p = sub.add_parser(
        "estimate-ratio",
        help="estimate the optimal classes-to-images ratio r* = K/n from a study's results",
        description="Locate the best K at each budget of a results table (parabola in log K, "
        "bootstrap over seeds) and pool the budgets into one r* with an interval.",
    )
    p.add_argument("results", help="a results table (.csv or .parquet) written by `sweep --csv`")
    _add_estimate_args(p)
    p.set_defaults(func=cmd_estimate_ratio)

    p = sub.add_parser(
        "recommend",
        help="recommend K classes x n images per class for a budget N from r*",
        description="K* = sqrt(r* N), rounded to a K that divides N (nearest in log K), within "
        "the data set's limits (K <= classes in the pool, n <= images per class).",
    )
    p.add_argument("--budget", type=int, required=True, help="target budget N = K n (images)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--ratio", type=float, help="a known r* = K/n")
    src.add_argument("--results", help="estimate r* from this results table first")
    p.add_argument("--interval", type=float, nargs=2, metavar=("LO", "HI"), default=None,
                   help="with --ratio: the interval of r*")
    _add_estimate_args(p)
    p.add_argument("--dataset", default="glyphs", help="whose limits apply (default glyphs)")
    p.add_argument("--pool", type=int, default=None, help="classes available (default: the "
                   "data set's pre-training pool)")
    p.add_argument("--max-per-class", type=int, default=None, help="images available per class "
                   "(default: the data set's)")
    p.add_argument("--grid", choices=("divisors", "powers_of_two"), default="divisors",
                   help="which K are allowed: any divisor of N, or powers of two only")
    p.set_defaults(func=cmd_recommend)


def _estimate(args):
    from pretrain_diversity.analysis.recommend import estimate_ratio
    from pretrain_diversity.analysis.tables import load_results

    df = load_results(args.results)
    return estimate_ratio(df, task=args.task, max_budget=args.max_budget, metric=args.metric,
                          level=args.level, n_boot=args.n_boot)


def cmd_estimate_ratio(args) -> int:
    try:
        est = _estimate(args)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(est.describe())
    return 0


def cmd_recommend(args) -> int:
    from pretrain_diversity.analysis.recommend import few_classes_choice, recommend, standard_choice

    if args.results and args.interval:
        print("error: --interval goes with --ratio; with --results the interval is estimated",
              file=sys.stderr)
        return 2
    try:  # ConfigError (a ValueError) says which budget or limit is impossible, and why
        if args.results:
            r = _estimate(args)
            print(r.describe() + "\n")
        else:
            r = args.ratio
        pool, per_class = args.pool, args.max_per_class
        if pool is None or per_class is None:
            from pretrain_diversity.data.pool import dataset_limits

            d_pool, d_per_class = dataset_limits(args.dataset)
            pool = d_pool if pool is None else pool
            per_class = d_per_class if per_class is None else per_class
        limits = dict(pool_size=pool, max_per_class=per_class, grid=args.grid)
        rec = recommend(r, args.budget, interval=args.interval if args.ratio else None, **limits)
        std = standard_choice(args.budget, **limits)
        few = few_classes_choice(args.budget, **limits)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(rec.describe())
    print(f"  for comparison: every class K = {std[0]:,} (n = {std[1]:,}); few classes "
          f"K = {few[0]:,} (n = {few[1]:,}); limits: {pool:,} classes, {per_class:,} images each")
    return 0


def _add_run(sub) -> None:
    """One option per RunConfig field, generated from the dataclass (one source of truth)."""
    from dataclasses import fields

    from pretrain_diversity.config import RunConfig

    p = sub.add_parser(
        "run",
        help="pre-train one configuration and probe it (what the notebook does)",
        description="Pre-train on K classes x n images and linear-probe the frozen features; "
        "every option is a field of RunConfig. A finished configuration is loaded, not retrained.",
    )
    defaults = RunConfig()
    for f in fields(RunConfig):
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        if isinstance(default, bool):
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
        elif isinstance(default, tuple):
            p.add_argument(flag, default=",".join(default), help="comma-separated (default: %(default)s)")
        else:
            kind = type(default) if default is not None else str
            p.add_argument(flag, type=kind, default=default, help="default: %(default)s")
    p.add_argument("--budget", type=int, default=None, help="N; sets n = N / n_classes")
    p.add_argument("--out", default="runs", help="output folder (default: %(default)s)")
    p.add_argument("--force", action="store_true", help="retrain even if finished")
    p.set_defaults(func=cmd_run)


def cmd_run(args) -> int:
    import json

    from pretrain_diversity.config import ConfigError, RunConfig
    from pretrain_diversity.runs.experiment import run_dir_for, run_experiment

    try:
        cfg = RunConfig.from_parameters(vars(args))
        metrics = run_experiment(cfg, args.out, force=args.force)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    probe = {t: round(100 * r["test_error"], 2) for t, r in metrics["metrics"]["probe"].items()}
    print(json.dumps({"run_id": metrics["run_id"], "test_error_percent": probe}))
    print(f"metrics: {run_dir_for(cfg, args.out) / 'metrics.json'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pretrain-diversity",
        description="Classes vs. images per class in supervised pre-training, reproduced small.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _add_run(sub)
    _add_sweep(sub)
    _add_results(sub)
    _add_application(sub)
    return parser


def cmd_sweep(args) -> int:
    from pretrain_diversity.sweeps.runner import (
        ASSUMED_IMAGES_PER_S,
        Job,
        StudyError,
        is_done,
        load_study,
        run_dir_for,
        run_status,
        run_study,
    )

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
        from pretrain_diversity.analysis.tables import collect, write_results

        done = [r for r in report.results if is_done(Path(args.out) / r.run_id)]
        if done:
            df = collect(args.out, study=study.name)
            path = write_results(df, args.csv)
            write_sweep_record(Path(path).with_name("sweep.json"), args, report, df, started)
            print(f"wrote {len(df)} rows ({df['run_id'].nunique()} runs) to {path}")
    return 0 if report.ok else 1


def write_sweep_record(path: Path, args, report, df, started: str) -> None:
    """What regenerated the table: the command, its wall time, how much was cached, the machine."""
    from pretrain_diversity.storage import atomic_write_json
    from pretrain_diversity.sweeps.runner import STATUSES

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
    from pretrain_diversity.analysis.tables import collect, collect_failures, summarize, write_results

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
