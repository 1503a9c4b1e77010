"""Command line: ``pretrain-diversity run``, ``sweep``, ``plan``, ``studies``, ``results``,
``records-from-table``, ``simulate``, ``estimate-ratio``, ``recommend``.

Examples::

    pretrain-diversity run --n-classes 500 --samples-per-class 32 --out runs
    pretrain-diversity sweep studies/figure1.toml --out runs/figure1 --csv results/figure1/runs.csv
    pretrain-diversity sweep studies/figure1.toml --out runs/figure1 --dry-run
    pretrain-diversity plan studies/invariance-*.toml
    pretrain-diversity studies --study figure1 --device cuda
    pretrain-diversity simulate --preset full
    pretrain-diversity sweep studies/figure1.toml --out /shared/runs --launcher ray --address auto
    pretrain-diversity results runs/figure1 --study figure1 --csv results/figure1/runs.csv
    pretrain-diversity estimate-ratio results/figure1/runs.csv --max-budget 4096
    pretrain-diversity recommend --results results/figure1/runs.csv --max-budget 4096 --budget 32768
    pretrain-diversity recommend --ratio 2 --interval 1 4 --budget 100000
"""

from __future__ import annotations

import argparse
import sys

from pretrain_diversity.cli import study_commands as commands


def _add_results(sub) -> None:
    p = sub.add_parser("results", help="collect finished runs into one tidy table")
    p.add_argument("dir", nargs="?", default=None, help="a sweep's output folder")
    p.add_argument("--records", default=None, help="tabulate this run records folder instead")
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
    except (ConfigError, TypeError, FileNotFoundError) as e:  # FileNotFoundError: real data
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
    commands.add_sweep(sub)
    commands.add_plan(sub)
    commands.add_studies(sub)
    _add_results(sub)
    _add_migration(sub)
    _add_simulate(sub)
    _add_application(sub)
    return parser


def _add_simulate(sub) -> None:
    p = sub.add_parser("simulate", add_help=False,
                       help="the two-step sampling simulation (python -m "
                       "pretrain_diversity.analysis.simulation); options after it go there")
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_simulate)


def cmd_simulate(args) -> int:
    from pretrain_diversity.analysis.simulation import main as simulate

    simulate(args.args)
    return 0


def simulate_argv(argv: list[str]) -> int:
    """``simulate`` hands every option to the simulation's own parser (argparse cannot pass
    options that start with ``--`` through a subcommand's REMAINDER)."""
    return cmd_simulate(argparse.Namespace(args=argv))


def _add_migration(sub) -> None:
    p = sub.add_parser("records-from-table",
                       help="rebuild the run records of a committed results table (one per run)")
    p.add_argument("tables", nargs="+", help="results tables (runs.csv)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; fail if a table does not re-derive from its rows")
    p.set_defaults(func=cmd_records_from_table)


def cmd_records_from_table(args) -> int:
    from pretrain_diversity.cli.table_records import migrate

    ok = True
    for t in args.tables:
        try:
            ok &= migrate(t, write=not args.check)
        except (FileNotFoundError, ValueError) as e:
            print(f"error: {t}: {e}", file=sys.stderr)
            ok = False
    return 0 if ok else 1


def cmd_results(args) -> int:
    from pretrain_diversity.analysis.tables import collect, collect_failures, summarize, write_results

    from pretrain_diversity.analysis.tables import collect_records

    if (args.dir is None) == (args.records is None):
        print("error: give a sweep's output folder or --records, not both", file=sys.stderr)
        return 2
    try:
        df = collect_records(args.records) if args.records else collect(args.dir, study=args.study)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.csv:
        write_results(df, args.csv)
        print(f"wrote {len(df)} rows ({df['run_id'].nunique()} runs) to {args.csv}")
    if args.summary or not args.csv:
        import pandas as pd

        with pd.option_context("display.width", 160, "display.max_rows", 500):
            print(summarize(df).to_string(index=False))
    failures = collect_failures(args.dir) if args.dir else []
    if len(failures):
        print(f"\n{len(failures)} failed run(s), not in the table:", file=sys.stderr)
        for _, f in failures.iterrows():
            print(f"  {f['name']} [{f['run_id']}]: {f['error_type']}: {f['message']}",
                  file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["simulate"]:
        return simulate_argv(argv[1:])
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
