"""Where each study's files live, by the study's name: the one registry the CLI and the pages use.

A study is named by its spec's stem under ``studies/`` (``studies/invariance-v2-epochs.toml`` is
the study ``invariance-v2-epochs``). Everything else follows from the name by one rule, the part
before the first ``-`` naming the family:

========================  =====================================================================
spec                      ``studies/<name>.toml``
results folder            ``results/figure1`` for ``figure1``; ``results/invariance/v2-epochs``
                          for ``invariance-v2-epochs`` (family, then the rest of the name)
table                     ``<results folder>/runs.csv`` (derived from the records)
records                   ``<results folder>/records`` (one JSON file per finished run)
run folders               ``runs/<family>`` (related studies share runs, so they share it)
regeneration command      the ``pretrain-diversity sweep`` that remakes the table (resumable)
========================  =====================================================================

Paths are relative to the repository root (``pretrain_diversity.paths.repo_root``), as the pages
print them; join them to a root to read a file. Pure path work, no torch, no file access except in
``names``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pretrain_diversity.sweeps import provenance as prov
from pretrain_diversity.sweeps.records import RECORDS

SPECS = Path("studies")
RESULTS = Path("results")
RUNS = Path("runs")
TABLE = "runs.csv"


@dataclass(frozen=True)
class StudyFiles:
    """The files of the study ``name``, relative to the repository root."""

    name: str

    def __post_init__(self):
        if not self.name or "/" in self.name or self.name != self.name.strip("-"):
            raise ValueError(f"not a study name: {self.name!r} (the stem of a studies/*.toml)")

    @property
    def family(self) -> str:
        """The part of the name before the first ``-``: ``invariance`` for ``invariance-epochs``."""
        return self.name.partition("-")[0]

    @property
    def spec(self) -> Path:
        return SPECS / f"{self.name}.toml"

    @property
    def results_dir(self) -> Path:
        head, _, tail = self.name.partition("-")
        return RESULTS / head / tail if tail else RESULTS / head

    @property
    def table(self) -> Path:
        return self.results_dir / TABLE

    @property
    def records(self) -> Path:
        return self.results_dir / RECORDS

    @property
    def runs_dir(self) -> str:
        """The run folders' parent, as a command line names it (``runs/invariance``)."""
        return (RUNS / self.family).as_posix()

    @property
    def command(self) -> str:
        """The command, from the repository root, that remakes the table (finished runs cached)."""
        return prov.sweep_command(self.spec, self.table, self.runs_dir)

    @property
    def make_command(self) -> str:
        """The same through ``make``: plan, resume from the records, derive the table."""
        return f"make studies STUDY={self.name}"


def study(name: str) -> StudyFiles:
    """The files of the study ``name`` (the stem of its spec under ``studies/``)."""
    return StudyFiles(name)


def names(root: str | os.PathLike) -> list[str]:
    """Every study whose spec is in ``root/studies`` (``*.toml``), in the order of the spec files'
    names (``figure1-fixed-steps.toml`` before ``figure1.toml``), the order ``studies`` runs them."""
    return [p.stem for p in sorted((Path(root) / SPECS).glob("*.toml"))]
