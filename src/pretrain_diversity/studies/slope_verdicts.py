"""The Zhang pages' reading of a slope: select on validation, read by the one rule, let the
verdict stand only if the robustness panel agrees, and say so in words.

A verdict could flip between equally valid choices (test or validation error to locate the
optimum, one seed more or less, every second K, another estimator), so every page that reads a
slope of log2 r* on log2 N calls ``robust_verdicts`` on its table: the optima are located
on ``val_error`` and ``test_error`` is reported at the selected point; the slope is read by
``verdict_rule.read_slope`` and rechecked by ``robustness.robustness_by_task``. The wording comes
from the rule's label and reason, never from the page.

Also here, because several such pages need them: the sentence a page shows when a study's table
is not there yet (``missing_study``) and the no-pre-training baselines beside the curves
(``baseline_table``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from pretrain_diversity.analysis.optimum import optima, ratio_trend
from pretrain_diversity.analysis.robustness import REPORT, SELECT, robust_slope_verdicts
from pretrain_diversity.analysis.verdict_rule import LEVEL, MARGIN
from pretrain_diversity.paths import repo_root

# SELECT: the column every optimum is located on (the selection rule); REPORT: the column quoted
# at the selected point (analysis.robustness holds them, for the power simulation too).
PANEL_BOOT = 1000  # bootstrap draws per robustness check (and for the optima the page shows)


def star_error(o) -> float:
    """The error a plot draws at an optimum row: the reported metric where the optimum was
    selected on another (test error at the validation-selected point), else the located one."""
    reported = "report_star" in o and np.isfinite(o.report_star)
    return float(o.report_star) if reported else float(o.err_star)


def star_of(rows: pd.DataFrame) -> tuple[float, float, float, float] | None:
    """The star a U-curve figure draws for an optimum table's first row (``figures.budget_curve``):
    (log2 r*, its interval's ends, ``star_error``), or None for no row."""
    if not len(rows):
        return None
    o = rows.iloc[0]
    return float(o.log2_r_star), float(o.log2_r_lo), float(o.log2_r_hi), star_error(o)


def recorded_runs(table: str | os.PathLike, root: str | os.PathLike | None = None) -> int:
    """How many run records sit beside ``table`` (``results/<study>/records/``), 0 if none."""
    from pretrain_diversity.sweeps.records import default_records_dir

    folder = repo_root(root) / default_records_dir(table)
    return len(list(folder.glob("*.json"))) if folder.is_dir() else 0


def missing_study(spec: str | os.PathLike, table: str | os.PathLike, command: str,
                  root: str | os.PathLike | None = None) -> str:
    """The one computed sentence a page shows instead of a section whose table is absent."""
    from pretrain_diversity.sweeps.records import default_records_dir

    n = recorded_runs(table, root)
    rec = default_records_dir(table).as_posix()
    return (f"The study `{Path(spec).as_posix()}` has no table yet (`{Path(table).as_posix()}` is "
            f"missing; {n} of its runs are recorded in `{rec}/`). Run it from the repository root "
            f"with `{command}`; this section is drawn when the table is committed.")


def selected_optima(df: pd.DataFrame, *, level: float = LEVEL, n_boot: int = 1000,
                    seed: int = 0, estimator: str = "parabola"):
    """(optima located on validation error with test error reported there, their draws)."""
    return optima(df, metric=SELECT, report=REPORT, level=level, n_boot=n_boot, seed=seed,
                  estimator=estimator, return_draws=True)


def selected_optima_and_trend(df: pd.DataFrame, *, n_boot: int = PANEL_BOOT,
                              level: float = LEVEL, seed: int = 0):
    """(optima, draws, trend) selected on validation, one task at a time with the bootstrap seed
    and draws of ``robust_verdicts``, so the page's optima, its slope and the panel's "as
    reported" row are the same numbers."""
    opts, draws = [], {}
    for task in sorted(df["task"].unique()):
        o, d = selected_optima(df[df["task"] == task], level=level, n_boot=n_boot, seed=seed)
        opts.append(o)
        draws.update(d)
    opt = pd.concat(opts, ignore_index=True)
    return opt, draws, ratio_trend(opt, draws, level=level)


def robust_verdicts(df: pd.DataFrame, *, n_boot: int = PANEL_BOOT, level: float = LEVEL,
                    margin: float = MARGIN, seed: int = 0) -> pd.DataFrame:
    """Per task: the slope located on validation (slope, lo, hi), the rule's label and reason as
    reported, the verdict after the robustness panel (``verdict``: the label if every check
    agrees, else inconclusive), the checks that broke it (``broken``), and the panel (a column of
    frames). ``robustness.robust_slope_verdicts`` with this page family's selection rule."""
    return robust_slope_verdicts(df, select=SELECT, report=REPORT, n_boot=n_boot, level=level,
                                 margin=margin, seed=seed)


def panel_table(verdicts: pd.DataFrame) -> pd.DataFrame:
    """The compact panel: one row per task, one column per check, each cell 'label (estimate)'."""
    rows = []
    for v in verdicts.itertuples():
        row = {"task": v.task}
        for c in v.panel.itertuples():
            row[c.check] = (f"{c.label} ({c.estimate:+.2f})" if c.label != "failed"
                            else "failed")
        row["verdict"] = v.verdict
        rows.append(row)
    return pd.DataFrame(rows)


def verdict_table(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Task, slope [interval], the rule's label as reported, the verdict, what broke it."""
    return pd.DataFrame({
        "task": verdicts.task,
        "slope of log2 r* on log2 N": [f"{s:+.2f} [{lo:+.2f}, {hi:+.2f}]" for s, lo, hi
                                       in zip(verdicts.slope, verdicts.lo, verdicts.hi)],
        "rule (as reported)": verdicts.rule,
        "verdict (after the panel)": verdicts.verdict,
        "broken by": [b or "-" for b in verdicts.broken],
    })


def verdict_text(verdicts: pd.DataFrame, *, margin: float = MARGIN) -> str:
    """Markdown, one paragraph per task, every word from the rule's label and the panel's reason."""
    parts = []
    for v in verdicts.itertuples():
        head = (f"**{v.task}**: located on validation error, the slope of log2 K*/n* on log2 N "
                f"reads '{v.rule}' by the shared rule (margin ±{margin:g}): {v.rule_reason}.")
        if not v.broken:
            tail = f" The verdict stands: {v.reason}."
        elif v.rule == v.verdict:  # inconclusive as reported, and the checks disagree as well
            tail = (f" It stays '{v.verdict}', and the checks do not agree on another reading "
                    f"either: {v.reason.split(': ', 1)[-1]}.")
        else:
            tail = f" The verdict is '{v.verdict}': {v.reason}."
        parts.append(head + tail)
    return "\n\n".join(parts)


def baseline_table(tasks, root: str | os.PathLike | None = None,
                   metric: str = REPORT) -> pd.DataFrame | None:
    """Per task on the page: raw pixels and the randomly initialised network (mean ± seed sd,
    seeds), from ``studies.baselines``; None when the baselines study has no records."""
    from pretrain_diversity.studies.baselines import baseline_summary, load_baselines

    try:
        s = baseline_summary(load_baselines(root), metric)
    except FileNotFoundError:
        return None
    s = s[s.task.isin(list(tasks))]
    out = s.pivot(index="task", columns="kind", values="mean")
    for kind in out.columns:
        sd = s[s.kind == kind].set_index("task")["sd"]
        n = s[s.kind == kind].set_index("task")["seeds"]
        out[kind] = [f"{out.loc[t, kind]:.1%} ± {sd[t]:.1%} ({n[t]} seeds)" for t in out.index]
    return out.reset_index().rename_axis(None, axis=1)


def baseline_lines(tasks, root: str | os.PathLike | None = None,
                   metric: str = REPORT) -> dict[str, dict[str, float]]:
    """{task: {kind: mean error}} for reference lines on the U-curve plots ({} if none)."""
    from pretrain_diversity.studies.baselines import baseline_summary, load_baselines

    try:
        s = baseline_summary(load_baselines(root), metric)
    except FileNotFoundError:
        return {}
    return {t: dict(zip(g.kind, g["mean"])) for t, g in s[s.task.isin(list(tasks))].groupby("task")}
