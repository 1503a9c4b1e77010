"""What the Figure 1 design can tell: its committed power tables (``analysis.power``: tables with
its grid, seeds, split sizes and noise, whose optimum moves at a known slope, read by the page's
procedure), so that a 'cannot tell' is read beside what the design could have told."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from pretrain_diversity.paths import repo_root


def load_power(folder: str | os.PathLike, root: str | os.PathLike | None = None) -> dict:
    """The committed power tables of a study (``analysis.power``), ``results/<study>/power``:
    {(task, scenario): table}, scenario "as run" or "cross-fitted" (``<task>-crossfit.csv``, the
    same design selecting on half the test split). Empty if none were computed."""
    folder = repo_root(root) / folder
    out = {}
    for path in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
        task, crossfit = path.stem.removesuffix("-crossfit"), path.stem.endswith("-crossfit")
        out[(task, "cross-fitted" if crossfit else "as run")] = pd.read_csv(path)
    return out


def power_overview(power: dict) -> pd.DataFrame:
    """One row per (task, scenario): P(invariant | slope 0), the weakest detection of a drift of
    0.5 or more, the smallest drift found both ways with probability >= 0.8, simulations per slope
    (all after the robustness panel, in %)."""
    from pretrain_diversity.analysis.power import power_summary

    rows = []
    for (task, scenario), table in power.items():
        s = power_summary(table)
        rows.append({"task": task, "design": scenario,
                     "P(invariant | slope 0) %": round(100 * s["p_invariant_at_0"]),
                     "P(drift found | |slope| >= 0.5) %, weakest": round(100 * s["p_detect_far"]),
                     "smallest drift found 80% of the time": (
                         "none simulated" if not np.isfinite(s["smallest_detected"])
                         else f"±{s['smallest_detected']:g}"),
                     "tables per slope": s["sims"]})  # fmt: skip
    return pd.DataFrame(rows).set_index(["task", "design"]) if rows else pd.DataFrame()
