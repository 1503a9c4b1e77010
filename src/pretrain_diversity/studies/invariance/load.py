"""The invariance studies' tables: where they are, how to remake them, reading them together.

The page reads the Figure 1 table, one table per knob, and the original sampler on the knobs' grid
(``studies/invariance-v2-sampler.toml``: Figure 1's runs, copied, plus the points Figure 1 lacks),
so every condition is compared on the same points with shapes probed. The knobs' first tables
(``results/invariance/<knob>``: 3 seeds, 8x of budgets, no shapes) stay in ``results/`` as history
and are not read: mixed in, they would thin every condition back to their grid.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from pretrain_diversity.paths import repo_root
from pretrain_diversity.studies import figure1 as F
from pretrain_diversity.sweeps import catalog
from pretrain_diversity.sweeps import provenance as prov

KNOBS = ("variety", "capacity", "epochs")
METRIC = F.METRIC
STUDIES = {k: catalog.study(f"invariance-v2-{k}") for k in KNOBS}
SPECS = {k: s.spec for k, s in STUDIES.items()}
RUNS_DIR = STUDIES[KNOBS[0]].runs_dir  # shared by every invariance study
SAMPLER = catalog.study("invariance-v2-sampler")
SAMPLER_SPEC = SAMPLER.spec
SAMPLER_RESULTS = SAMPLER.table


def results_path(knob: str) -> Path:
    return STUDIES[knob].table


def command(knob: str) -> str:
    """The command (from the repository root) that regenerates one knob's results."""
    return STUDIES[knob].command


def tables(root: str | os.PathLike | None = None) -> dict[str, tuple[Path, str]]:
    """Name -> (table, command) of every table the page reads, the Figure 1 table first."""
    root = repo_root(root)
    return {"figure1": (root / F.RESULTS, F.COMMAND),
            "sampler": (root / SAMPLER_RESULTS, SAMPLER.command),
            **{k: (root / results_path(k), command(k)) for k in KNOBS}}


def load_invariance(root: str | os.PathLike | None = None) -> pd.DataFrame:
    """Every table the page reads, one frame, only the tasks all of them probed; a run read twice
    (the sampler table copies Figure 1's runs) counts once.

    Raises FileNotFoundError naming every missing table and the command that makes it.
    """
    from pretrain_diversity.analysis.tables import load_results

    root = repo_root(root)
    wanted = tables(root)
    missing = {k: (p, c) for k, (p, c) in wanted.items() if not p.exists()}
    if missing:
        lines = "\n".join(f"  {p.relative_to(root)}: regenerate with\n      {c}"
                          for p, c in missing.values())
        raise FileNotFoundError(
            "The invariance page draws only measured results, and these tables are missing:\n"
            f"{lines}\n(run from the repository root; `pretrain-diversity plan <spec>` estimates "
            "their cost) and commit results/."
        )
    frames = [load_results(p).assign(source=k) for k, (p, _) in wanted.items()]
    tasks = set.intersection(*(set(f["task"]) for f in frames))
    df = pd.concat([f[f["task"].isin(tasks)] for f in frames], ignore_index=True)
    if "run_id" in df:
        df = df.drop_duplicates(["run_id", "task"], ignore_index=True)
    return df


def tables_note(df: pd.DataFrame) -> str:
    """Markdown: the design of the knob tables ``load_invariance`` read, counted from them."""
    runs = df[df["source"].isin(KNOBS)].drop_duplicates("run_id")
    budgets = sorted(runs.budget.unique())
    return (f"Every knob is read from its own table ({runs.seed.nunique()} seeds, "
            f"N = {budgets[0]:,} to {budgets[-1]:,}, shapes "
            f"{'probed' if 'shapes' in set(df.task) else 'not probed'}).")


def provenance(root: str | os.PathLike | None = None) -> str:
    """Markdown: per table the page reads, where it is, its measured wall time and the command
    that regenerates it."""
    root = repo_root(root)
    rows = [("Figure 1 (original sampler)", catalog.study("figure1")),
            ("original sampler on the knobs' grid", SAMPLER), *STUDIES.items()]
    lines = []
    for name, study in rows:
        path = study.table
        rec = prov.read_record(path, root)
        when = prov.wall_time(rec, label="measured wall time", missing=(
            f"wall time not recorded (no `{prov.record_path(path).as_posix()}`)"))
        cmd = prov.shown_command(rec, study.spec, path, study.runs_dir)
        lines.append(f"- **{name}**: `{path.as_posix()}`, {when}:\n\n  ```\n  {cmd}\n  ```")
    return "\n".join(lines)


def sampler_note(root: str | os.PathLike | None = None) -> str:
    """Markdown: where the original sampler's runs on the invariance grid come from (counted)."""
    from pretrain_diversity.analysis.tables import load_results

    root = repo_root(root)
    fig1 = set(load_results(root / F.RESULTS)["run_id"])
    sampler = load_results(root / SAMPLER_RESULTS).drop_duplicates("run_id")
    new = sampler[~sampler["run_id"].isin(fig1)]
    where = ", ".join(
        f"K = {', '.join(str(k) for k in sorted(g.n_classes.unique()))} at N = {n:,}"
        for n, g in new.groupby("budget")) or "none"
    return (f"The original sampler is compared on the same points as every knob: "
            f"`{SAMPLER_SPEC.as_posix()}` holds its {len(sampler)} runs on the knobs' grid, "
            f"{len(sampler) - len(new)} of them Figure 1's own runs (the same run ids, copied, "
            f"not retrained) and {len(new)} that Figure 1's grid lacks ({where}).")
