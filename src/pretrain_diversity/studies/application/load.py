"""The application study's table (the target budget): where it is, how to remake it, reading it,
and where it came from."""

from __future__ import annotations

import os

import pandas as pd

from pretrain_diversity.paths import repo_root
from pretrain_diversity.sweeps import catalog
from pretrain_diversity.sweeps import provenance as prov

APPLICATION = catalog.study("application")
RESULTS = APPLICATION.table
STUDY = APPLICATION.spec
RUNS_DIR = APPLICATION.runs_dir
COMMAND = APPLICATION.command


def load_application(root: str | os.PathLike | None = None) -> pd.DataFrame:
    """The committed target-budget results; a clear error with the command if they are missing."""
    from pretrain_diversity.analysis.tables import load_results

    path = repo_root(root) / RESULTS
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: the application page compares measured runs at the target "
            f"budget. Regenerate them from the repository root with\n    {COMMAND}\n(the study is "
            f"{STUDY}; about 20-25 minutes on 2 CPU cores) and commit {APPLICATION.results_dir}/."
        )
    return load_results(path)


def sweep_record(root: str | os.PathLike | None = None) -> dict | None:
    """The sweep record (command, wall time, machine) written beside the table, if any."""
    return prov.read_record(RESULTS, repo_root(root))
