"""The tables the transfer pages read: which study made each, where its records are, how to remake
it, and a sentence that says what is (not yet) recorded.

A page must execute whether a study has finished, is half-way, or has not started: ``load_table``
returns None when no record exists, and ``status`` words what there is (the study, the runs
recorded out of the runs planned, the command) so the page never shows a number it does not have.
Records (``results/<study>/records``) are the source of truth; the csv beside them is derived.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pretrain_diversity.paths import repo_root
from pretrain_diversity.sweeps import catalog

REAL_TASKS = ("fashion-mnist", "mnist", "chars-heldout-faces")
BUDGET = 4096  # the fixed budget the transfer page compares the sources at
SELECT, REPORT = "val_error", "test_error"  # K is chosen on validation, reported on test


@dataclass(frozen=True)
class Table:
    """One study's results table under the page's label; where its files are is the study's
    (``sweeps.catalog``): its spec, its csv (records beside it) and its run folder."""

    label: str
    study: str

    @property
    def spec(self) -> Path:
        return catalog.study(self.study).spec

    @property
    def csv(self) -> Path:
        return catalog.study(self.study).table

    @property
    def runs_dir(self) -> str:
        return catalog.study(self.study).runs_dir

    @property
    def records(self) -> Path:
        return catalog.study(self.study).records

    @property
    def command(self) -> str:
        return catalog.study(self.study).command


TABLES = {
    "glyphs": Table("glyphs on real tasks", "glyphs-realtasks"),
    "fonts": Table("fonts K x n", "fonts-tradeoff"),
    "search": Table("fonts one-factor search", "fonts-search"),
    "figure1": Table("Figure 1 (glyphs)", "figure1"),
}
SOURCES = ("glyphs", "fonts")  # the pre-training sources the transfer page compares


def table_spec(name: str) -> Table:
    if name not in TABLES:
        raise KeyError(f"unknown table {name!r}; known: {', '.join(TABLES)}")
    return TABLES[name]


def load_table(name: str, root: str | os.PathLike | None = None) -> pd.DataFrame | None:
    """The study's rows (one per run x task) from its records, else its csv; None if neither."""
    from pretrain_diversity.analysis.tables import collect_records, load_results

    t = table_spec(name)
    root = Path(repo_root(root))
    records = root / t.records
    if records.is_dir() and any(records.glob("*.json")):
        return collect_records(records)
    if (root / t.csv).exists():
        return load_results(root / t.csv)
    return None


def planned_runs(name: str, root: str | os.PathLike | None = None) -> int | None:
    """How many runs the study's spec plans, or None when it cannot be planned here (e.g. the
    font packages are missing, so the font pool's size is unknown)."""
    from pretrain_diversity.sweeps.spec import load_study

    try:
        configs, _ = load_study(Path(repo_root(root)) / table_spec(name).spec).plan()
    except (OSError, ValueError):  # FontsNotFound is an OSError; a StudyError a ValueError
        return None
    return len(configs)


def status(name: str, df: pd.DataFrame | None, root: str | os.PathLike | None = None) -> str:
    """Markdown: the study, how many of its planned runs are recorded, and the command."""
    t = table_spec(name)
    planned = planned_runs(name, root)
    done = 0 if df is None else df["run_id"].nunique()
    plans = "" if planned is None else f"of the {planned} it plans"
    if done:
        head = f"`{t.spec.as_posix()}` ({t.label}): **{done} runs recorded** {plans}".rstrip()
    else:
        head = (f"`{t.spec.as_posix()}` ({t.label}) has **no recorded run yet**"
                + (f" (it plans {planned})" if planned is not None else ""))
    return f"{head}; remake or resume it from the repository root with\n\n```\n{t.command}\n```"
