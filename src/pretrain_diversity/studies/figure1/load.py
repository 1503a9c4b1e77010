"""The Figure 1 study's table: where it is, how to remake it, reading it, and where it came from."""

from __future__ import annotations

import os

import pandas as pd

from pretrain_diversity.paths import repo_root
from pretrain_diversity.sweeps import catalog
from pretrain_diversity.sweeps import provenance as prov

FIGURE1 = catalog.study("figure1")
RESULTS = FIGURE1.table
STUDY = FIGURE1.spec
RUNS_DIR = FIGURE1.runs_dir
COMMAND = FIGURE1.command
METRIC = "test_error"
LEVEL = 0.95  # the page's intervals


def load_figure1(root: str | os.PathLike | None = None) -> pd.DataFrame:
    """The committed Figure 1 results; a clear error with the command to make them if missing."""
    from pretrain_diversity.analysis.tables import load_results

    path = repo_root(root) / RESULTS
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: the Figure 1 page draws only measured results. Regenerate them "
            f"from the repository root with\n    {COMMAND}\n(the study is {STUDY}; about half "
            f"an hour on 2 CPU cores) and commit {FIGURE1.results_dir}/."
        )
    return load_results(path)


def provenance(df: pd.DataFrame, root: str | os.PathLike | None = None) -> str:
    """Markdown: the command that made the table, the grid and model it holds, its wall time."""
    from pretrain_diversity.sweeps.runner import load_study

    root = repo_root(root)
    study = load_study(root / STUDY)
    record = prov.read_record(RESULTS, root)
    runs = df.drop_duplicates("run_id")
    cfg = runs.iloc[0]
    cells = runs.groupby(["budget", "n_classes"]).seed.nunique()
    per_budget = runs.groupby("budget").n_classes.nunique()
    k_range = (f"{per_budget.min()}" if per_budget.min() == per_budget.max()
               else f"{per_budget.min()} to {per_budget.max()}")
    seeds = (f"{cells.iloc[0]} seeds" if cells.nunique() == 1
             else f"{cells.min()} to {cells.max()} seeds")
    details = [
        f"- study spec: `{STUDY.as_posix()}` ({study.description})",
        f"- {len(runs)} runs = {len(cells)} (N, K) points × {seeds} (a grid of "
        f"{runs.budget.nunique()} budgets with {k_range} values of K each); downstream tasks: "
        f"{', '.join(sorted(df.task.unique()))}",
        f"- model: {cfg.arch}, width {cfg.width}, depth {cfg.depth}, on {cfg.image_size} px images; "
        f"{cfg.epochs:g} epochs (steps = epochs × N / {cfg.batch_size}), SGD with lr {cfg.lr}",
    ]
    return prov.provenance_block(record, STUDY, RESULTS, RUNS_DIR, details, after=" for the sweep",
                                 processor=True, run_sum=True, note=True)


# Figure 1's controls (``controls``): each its own study, so its own spec, table and command.
CONTROL_STUDIES = {"fixed steps": "figure1-fixed-steps", "pool hygiene": "figure1-hygiene",
                   "seed streams": "figure1-seed-streams"}
CONTROLS = {name: (catalog.study(s).spec, catalog.study(s).table)
            for name, s in CONTROL_STUDIES.items()}


def control_command(name: str) -> str:
    """The command that makes control ``name``'s table (finished runs cached under runs/figure1)."""
    return catalog.study(CONTROL_STUDIES[name]).command


def load_control(name: str, root: str | os.PathLike | None = None) -> pd.DataFrame | None:
    """Control ``name``'s table, or None while it has not been made (the page then says so with
    ``slope_verdicts.missing_study``)."""
    from pretrain_diversity.analysis.tables import load_results

    if name not in CONTROLS:
        raise ValueError(f"unknown control {name!r}; known: {', '.join(CONTROLS)}")
    path = repo_root(root) / CONTROLS[name][1]
    return load_results(path) if path.exists() else None


def missing_control(name: str, root: str | os.PathLike | None = None) -> str:
    """The page's sentence for a control whose table is absent."""
    from pretrain_diversity.studies.slope_verdicts import missing_study

    spec, table = CONTROLS[name]
    return missing_study(spec, table, control_command(name), root)
