"""The invariance studies' tables: where they are, how to remake them, reading them together."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from pretrain_diversity.paths import repo_root
from pretrain_diversity.studies import tradeoff as F
from pretrain_diversity.sweeps import provenance as prov


RESULTS_DIR = Path("results") / "invariance"
KNOBS = ("variety", "capacity", "epochs")
SPECS = {k: Path("studies") / f"invariance-{k}.toml" for k in KNOBS}
RUNS_DIR = "runs/invariance"
METRIC = F.METRIC


# Protocol v2 (shapes probed, 5 seeds, N = 1,024 ... 32,768): read instead of v1 once committed.
SPECS_V2 = {k: Path("studies") / f"invariance-v2-{k}.toml" for k in KNOBS}


def results_path(knob: str, version: int = 1) -> Path:
    return RESULTS_DIR / (knob if version == 1 else f"v2-{knob}") / "runs.csv"


def knob_table(knob: str, root: Path) -> tuple[Path, str]:
    """(table, command) of a knob: the v2 table where it is committed, else v1's."""
    v2 = results_path(knob, 2)
    if (root / v2).exists():
        return root / v2, prov.sweep_command(SPECS_V2[knob], v2, RUNS_DIR)
    return root / results_path(knob), command(knob)


def command(knob: str) -> str:
    """The command (from the repository root) that regenerates one knob's results."""
    return prov.sweep_command(SPECS[knob], results_path(knob), RUNS_DIR)


def load_invariance(root: str | os.PathLike | None = None, knobs=KNOBS) -> pd.DataFrame:
    """The Figure 1 table plus each knob's table, one frame, only the tasks all of them probed.

    Raises FileNotFoundError naming every missing table and the command that makes it.
    """
    from pretrain_diversity.analysis.tables import load_results

    root = repo_root(root)
    wanted = {"figure1": (root / F.RESULTS, F.COMMAND)}
    wanted.update({k: knob_table(k, root) for k in knobs})
    missing = {k: (p, c) for k, (p, c) in wanted.items() if not p.exists()}
    if missing:
        lines = "\n".join(f"  {p.relative_to(root)}: regenerate with\n      {c}"
                          for p, c in missing.values())
        raise FileNotFoundError(
            "The invariance page draws only measured results, and these tables are missing:\n"
            f"{lines}\n(run from the repository root; `pretrain-diversity plan "
            "studies/invariance-<knob>.toml` estimates their cost) and commit results/."
        )
    frames = [load_results(p).assign(source=k) for k, (p, _) in wanted.items()]
    tasks = set.intersection(*(set(f["task"]) for f in frames))
    return pd.concat([f[f["task"].isin(tasks)] for f in frames], ignore_index=True)


def provenance(root: str | os.PathLike | None = None) -> str:
    """Markdown: per table (the Figure 1 study and each knob's), where it is, its measured wall
    time and the command that regenerates it."""
    root = repo_root(root)
    lines = []
    for name, path, spec, runs_dir in [("Figure 1 (original sampler)", F.RESULTS, F.STUDY,
                                        F.RUNS_DIR)] + [
        (k, results_path(k), SPECS[k], RUNS_DIR) for k in KNOBS
    ]:
        rec = prov.read_record(path, root)
        when = prov.wall_time(rec, label="measured wall time", missing=(
            f"wall time not recorded (no `{prov.record_path(path).as_posix()}`)"))
        cmd = prov.shown_command(rec, spec, path, runs_dir)
        lines.append(f"- **{name}**: `{path.as_posix()}`, {when}:\n\n  ```\n  {cmd}\n  ```")
    return "\n".join(lines)


def v2_status(root: str | os.PathLike | None = None) -> str:
    """Markdown: which knobs this page reads under protocol v2 and which still under v1 (a v2
    table replaces its v1 table on this page as soon as it is committed)."""
    from pretrain_diversity.studies.slope_verdicts import recorded_runs
    from pretrain_diversity.sweeps.spec import load_study

    root = repo_root(root)
    waiting = [k for k in KNOBS if not (root / results_path(k, 2)).exists()]
    if not waiting:
        return "Every knob is read from its protocol v2 table (5 seeds, N = 1,024 to 32,768, shapes probed)."
    parts = [f"`{SPECS_V2[k].as_posix()}` ({recorded_runs(results_path(k, 2), root)} of "
             f"{len(load_study(root / SPECS_V2[k]).expand())} runs recorded)" for k in waiting]
    return (f"**Protocol v2 has not run for {', '.join(waiting)}.** This page reads "
            f"{'their' if len(waiting) > 1 else 'its'} v1 table{'s' if len(waiting) > 1 else ''} "
            "(fewer seeds, 8× of budgets, shapes not probed), so shapes is missing below and the "
            "v1 limits hold. The v2 studies: " + "; ".join(parts) + ". `make studies "
            f"STUDY={'invariance-v2-' + waiting[0]}` (and the others) runs them, resumably; each "
            "replaces its v1 table here once committed.")
