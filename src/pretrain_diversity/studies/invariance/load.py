"""The invariance studies' tables: where they are, how to remake them, reading them together.

The page reads one protocol at a time. Under protocol v1 (the first tables: 3 seeds, 8x of
budgets, no shapes) every knob's v1 table is read. As soon as any knob's v2 table is committed the
page reads protocol v2 only: the v2 knob tables that exist, and the original sampler on the v2 grid
(Figure 1's runs plus ``studies/invariance-v2-sampler.toml`` for the points Figure 1 lacks). A knob
whose v2 study has not finished is left out and named, not mixed in from v1: the conditions are
compared on the points they all share, and a v1 table would thin every condition back to v1's grid
and drop shapes, which v1 never probed.
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


def study_name(knob: str, version: int = 1) -> str:
    """The study of one knob: ``invariance-epochs`` (v1), ``invariance-v2-epochs`` (v2)."""
    return f"invariance-{knob}" if version == 1 else f"invariance-v{version}-{knob}"


RESULTS_DIR = catalog.RESULTS / "invariance"  # every invariance study's folder is below it
RUNS_DIR = catalog.study(study_name(KNOBS[0])).runs_dir  # shared by every invariance study
SPECS = {k: catalog.study(study_name(k)).spec for k in KNOBS}

# Protocol v2 (shapes probed, 5 seeds, N = 1,024 ... 32,768).
SPECS_V2 = {k: catalog.study(study_name(k, 2)).spec for k in KNOBS}
SAMPLER = catalog.study("invariance-v2-sampler")
SAMPLER_SPEC = SAMPLER.spec
SAMPLER_RESULTS = SAMPLER.table


def results_path(knob: str, version: int = 1) -> Path:
    return catalog.study(study_name(knob, version)).table


def protocol(root: str | os.PathLike | None = None) -> int:
    """2 once any knob's v2 table is committed, else 1: the protocol the page reads."""
    root = repo_root(root)
    return 2 if any((root / results_path(k, 2)).exists() for k in KNOBS) else 1


def knobs_read(root: str | os.PathLike | None = None) -> list[str]:
    """The knobs the page reads: all under v1; under v2 those whose v2 table is committed."""
    root = repo_root(root)
    if protocol(root) == 1:
        return list(KNOBS)
    return [k for k in KNOBS if (root / results_path(k, 2)).exists()]


def spec_path(knob: str, version: int = 1) -> Path:
    return catalog.study(study_name(knob, version)).spec


def knob_table(knob: str, root: Path) -> tuple[Path, str]:
    """(table, command) of a knob under the protocol the page reads."""
    v = protocol(root)
    return root / results_path(knob, v), command(knob, v)


def command(knob: str, version: int = 1) -> str:
    """The command (from the repository root) that regenerates one knob's results."""
    return catalog.study(study_name(knob, version)).command


def sampler_command() -> str:
    return SAMPLER.command


def tables(root: str | os.PathLike | None = None) -> dict[str, tuple[Path, str]]:
    """Name -> (table, command) of every table the page reads, the Figure 1 table first."""
    root = repo_root(root)
    wanted = {"figure1": (root / F.RESULTS, F.COMMAND)}
    if protocol(root) == 2:
        wanted["sampler"] = (root / SAMPLER_RESULTS, sampler_command())
    wanted.update({k: knob_table(k, root) for k in knobs_read(root)})
    return wanted


def load_invariance(root: str | os.PathLike | None = None) -> pd.DataFrame:
    """The Figure 1 table plus the knob tables of one protocol, one frame, only the tasks all of
    them probed; a run read twice (the v2 sampler table copies Figure 1's runs) counts once.

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
            f"{lines}\n(run from the repository root; `pretrain-diversity plan "
            "studies/invariance-<knob>.toml` estimates their cost) and commit results/."
        )
    frames = [load_results(p).assign(source=k) for k, (p, _) in wanted.items()]
    tasks = set.intersection(*(set(f["task"]) for f in frames))
    df = pd.concat([f[f["task"].isin(tasks)] for f in frames], ignore_index=True)
    if "run_id" in df:
        df = df.drop_duplicates(["run_id", "task"], ignore_index=True)
    return df


def provenance(root: str | os.PathLike | None = None) -> str:
    """Markdown: per table the page reads, where it is, its measured wall time and the command
    that regenerates it."""
    root = repo_root(root)
    v = protocol(root)
    rows = [("Figure 1 (original sampler)", catalog.study("figure1"))]
    if v == 2:
        rows.append(("original sampler on the v2 grid", SAMPLER))
    rows += [(k, catalog.study(study_name(k, v))) for k in knobs_read(root)]
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
    if protocol(root) == 1:
        return ("Every K of the v1 invariance grids is also in the Figure 1 grid, so the original "
                "sampler is compared on exactly the same points: its Figure 1 runs are reused, "
                "thinned to this grid.")
    fig1 = set(load_results(root / F.RESULTS)["run_id"])
    sampler = load_results(root / SAMPLER_RESULTS).drop_duplicates("run_id")
    new = sampler[~sampler["run_id"].isin(fig1)]
    where = ", ".join(
        f"K = {', '.join(str(k) for k in sorted(g.n_classes.unique()))} at N = {n:,}"
        for n, g in new.groupby("budget")) or "none"
    return (f"The original sampler is compared on the same points as every knob: "
            f"`{SAMPLER_SPEC.as_posix()}` holds its {len(sampler)} runs on the v2 grid, "
            f"{len(sampler) - len(new)} of them Figure 1's own runs (the same run ids, copied, "
            f"not retrained) and {len(new)} that Figure 1's grid lacks ({where}).")


def v2_status(root: str | os.PathLike | None = None) -> str:
    """Markdown: which protocol the page reads, and which knobs' v2 studies have not finished
    (with their records counted and the command that continues them)."""
    from pretrain_diversity.studies.slope_verdicts import recorded_runs
    from pretrain_diversity.sweeps.spec import load_study

    root = repo_root(root)
    waiting = [k for k in KNOBS if not (root / results_path(k, 2)).exists()]
    if not waiting:
        return ("Every knob is read from its protocol v2 table (5 seeds, N = 1,024 to 32,768, "
                "shapes probed).")
    parts = [f"`{SPECS_V2[k].as_posix()}` ({recorded_runs(results_path(k, 2), root)} of "
             f"{len(load_study(root / SPECS_V2[k]).expand())} runs recorded)" for k in waiting]
    run = (f"`{catalog.study(study_name(waiting[0], 2)).make_command}`"
           + (" (and the same for the others)" if len(waiting) > 1 else "")
           + " continues them from their records")
    plural = len(waiting) > 1
    if protocol(root) == 1:
        return (f"**Protocol v2 has not run for {', '.join(waiting)}.** This page reads "
                f"{'their' if plural else 'its'} v1 table{'s' if plural else ''} "
                "(fewer seeds, 8× of budgets, shapes not probed), so shapes is missing below and "
                "the v1 limits hold. The v2 studies: " + "; ".join(parts) + f". {run}; each "
                "replaces its v1 table here once committed.")
    read = [k for k in KNOBS if k not in waiting]
    return (f"**This page reads protocol v2** (5 seeds, N = 1,024 to 32,768, shapes probed) for "
            f"{', '.join(read)}. The v2 stud{'ies' if plural else 'y'} of {', '.join(waiting)} "
            f"{'have' if plural else 'has'} not finished: " + "; ".join(parts) + ". Until "
            f"{'they are' if plural else 'it is'} committed {'these knobs are' if plural else 'this knob is'} "
            "left out of this page rather than read from v1, whose grid would thin every "
            f"condition back to 8× of budgets and drop shapes ({run}).")
