"""The invariance pages' verdicts: each condition's slope read by the shared rule and its
robustness panel, the fixed-compute comparison, and the page's notes counted from the data.

A condition's verdict stands only if every check of ``robustness.robustness_panel`` gives the
same label (``slope_verdicts.robust_verdicts``); the page says which check broke it otherwise.
Which protocol the paper's claim holds under, if either, is read from the Figure 1 table (fixed
epochs) and its fixed-steps control by the same rule (``figure1.controls``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from pretrain_diversity.analysis.bootstrap import distinct_draws
from pretrain_diversity.analysis.optimum import MIN_K_FOR_OPTIMUM
from pretrain_diversity.analysis.robustness import SlopeDifference, robustness_panel, thin_grid
from pretrain_diversity.analysis.verdict_rule import LEVEL, MARGIN, read_slope
from pretrain_diversity.studies.invariance.conditions import FULL_GRID, knob_groups
from pretrain_diversity.studies.invariance.stats import Invariance
from pretrain_diversity.studies.slope_verdicts import (
    PANEL_BOOT, REPORT, SELECT, robust_verdicts, verdict_table,
)


def condition_verdicts(inv: Invariance, *, n_boot: int = PANEL_BOOT) -> pd.DataFrame:
    """``robust_verdicts`` for every condition (rows: condition, task, ... , panel)."""
    if inv.data is None:
        raise ValueError("the Invariance holds no data rows: analyse() it from a results table")
    parts = []
    for cond in inv.conditions:
        v = robust_verdicts(inv.data[inv.data["condition"] == cond], n_boot=n_boot)
        v.insert(0, "condition", cond)
        parts.append(v)
    return pd.concat(parts, ignore_index=True)


def knob_contrast_verdicts(inv: Invariance, *, n_boot: int = PANEL_BOOT,
                           margin: float = MARGIN, level: float = LEVEL) -> pd.DataFrame:
    """Per knob and task: how much the knob's far level changes the slope against its near one
    (``SlopeDifference``: paired over seeds, read by the shared rule), and whether that reading
    survives the robustness panel.

    A knob's effect is a verdict like any other, so it gets the same panel: "40 epochs halve the
    glyph drift" must hold with test-located optima, without each seed, on every second K and with
    the other estimators, or it is inconclusive. Rows: knob, condition, reference, task,
    difference, lo, hi, rule (as reported), rule_reason, verdict (after the panel), broken.
    """
    if inv.data is None:
        raise ValueError("the Invariance holds no data rows: analyse() it from a results table")
    conds = [c for c in inv.conditions if c != FULL_GRID]
    rows = []
    for knob, levels in knob_groups(conds).items():
        ref, cond = levels[0], levels[-1]
        pair = inv.data[inv.data["condition"].isin([ref, cond])]
        for task in sorted(pair["task"].unique()):
            fn = SlopeDifference(task=task, condition=cond, reference=ref, n_boot=n_boot,
                                 level=level, margin=margin)
            r = robustness_panel(pair[pair["task"] == task], fn, metric=SELECT,
                                 alt_metric=REPORT)
            base = r.panel.iloc[0]
            rule = read_slope(base.estimate, base.lo, base.hi, margin=margin, level=level)
            rows.append(dict(knob=knob, condition=cond, reference=ref, task=task,
                             difference=rule.slope, lo=rule.lo, hi=rule.hi, rule=rule.label,
                             rule_reason=rule.reason, verdict=r.label,
                             broken=", ".join(r.panel.check[~r.panel.agrees])))
    return pd.DataFrame(rows, columns=["knob", "condition", "reference", "task", "difference",
                                       "lo", "hi", "rule", "rule_reason", "verdict", "broken"])


def knob_effect_table(kc: pd.DataFrame) -> pd.DataFrame:
    """Knob, from → to, task, the change of slope [interval], the rule as reported, the verdict
    after the panel, what broke it."""
    return pd.DataFrame({
        "knob": kc.knob,
        "from → to": [f"{r} → {c}" for r, c in zip(kc.reference, kc.condition)],
        "task": kc.task,
        "change of slope": [f"{d:+.2f} [{lo:+.2f}, {hi:+.2f}]"
                            for d, lo, hi in zip(kc.difference, kc.lo, kc.hi)],
        "rule (as reported)": kc.rule,
        "verdict (after the panel)": kc.verdict,
        "broken by": [b or "-" for b in kc.broken],
    })


def with_panel_intervals(inv: Invariance, cv: pd.DataFrame) -> Invariance:
    """``inv`` with each (condition, task) slope interval replaced by the one its panel reads.

    ``analyse`` draws seeds jointly over conditions (what the paired contrasts need), the panel
    draws each condition alone, as the Figure 1 page does; the two intervals of one slope differ
    by bootstrap noise, and near the rule's edges by a label. A page quotes one interval per slope:
    the panel's, which its verdicts are read from. The slopes themselves are the same numbers.
    """
    panel = cv.set_index(["condition", "task"])[["slope", "lo", "hi"]]
    trend = inv.trend.copy()
    for i, r in trend.iterrows():
        key = (r.condition, r.task)
        if key in panel.index:
            p = panel.loc[key]
            if not np.isclose(p.slope, r.slope, atol=1e-9):
                raise ValueError(f"the panel's slope of {key} ({p.slope:+.4f}) is not the "
                                 f"analysis' ({r.slope:+.4f}): they read different tables")
            trend.loc[i, ["slope_lo", "slope_hi"]] = [p.lo, p.hi]
    return replace(inv, trend=trend)


def condition_verdict_table(cv: pd.DataFrame) -> pd.DataFrame:
    """Condition, task, slope [interval], the rule as reported, the verdict, what broke it."""
    t = verdict_table(cv)
    t.insert(0, "condition", cv["condition"].to_numpy())
    return t


def survivors_text(cv: pd.DataFrame) -> str:
    """Markdown: per task, which conditions' verdicts survive their panel, and how often each
    check is the one that breaks a verdict (computed)."""
    parts = []
    for task, g in cv.groupby("task", sort=False):
        stand = g[g.broken == ""]
        kept = ", ".join(f"{r.condition} ('{r.verdict}')" for r in stand.itertuples()) or "none"
        parts.append(f"**{task}**: {len(stand)} of {len(g)} conditions' verdicts survive every "
                     f"check: {kept}.")
    checks = pd.Series([c.strip() for b in cv.broken for c in b.split(",") if c.strip()])
    if len(checks):
        top = checks.value_counts()
        parts.append("Checks that broke a verdict, most often first: " + "; ".join(
            f"{name} ({n} of {len(cv)})" for name, n in top.items()) + ".")
    return "\n\n".join(parts)


def design_note(inv: Invariance) -> str:
    """Markdown: budgets, K grid span, the smallest n and the seeds, as the tables hold them."""
    d = inv.data[inv.data.condition != FULL_GRID]
    tasks = sorted(d.task.unique())
    d = d.drop_duplicates(["condition", "budget", "n_classes", "seed"])
    budgets = sorted(d.budget.unique())
    ks = d.groupby("budget").n_classes.agg(["min", "max", "nunique"])
    span = (ks["max"] / ks["min"]).median()
    seeds = d.groupby("condition").seed.nunique()
    thin = thin_grid(d).groupby("budget").n_classes.nunique()
    sparse = thin[thin < MIN_K_FOR_OPTIMUM]
    return (f"The invariance tables, on the grid all conditions share, hold N = "
            f"{', '.join(f'{b:,}' for b in budgets)} ({budgets[-1] / budgets[0]:.0f}× of budgets) "
            f"with {_range(ks['nunique'])} values of K per budget (a {span:.0f}-fold span, median "
            f"over budgets), n ≥ {int(d.samples_per_class.min())} everywhere, and "
            f"{_range(seeds)} seeds per condition; probed on {', '.join(tasks)}. The panel's "
            f"'every second K' check leaves {_range(thin)} values of K per budget, so on this "
            "grid it asks whether a reading survives optima located from very few points"
            + ("".join(f"; at N = {b:,} it keeps {k}" for b, k in sparse.items())
               + f", too few to locate an optimum (fewer than {MIN_K_FOR_OPTIMUM}), so that "
               "check leaves " + ("that budget" if len(sparse) == 1 else "those budgets")
               + " out" if len(sparse) else "")
            + ".")


def _range(values: pd.Series) -> str:
    lo, hi = int(values.min()), int(values.max())
    return f"{lo}" if lo == hi else f"{lo} to {hi}"


def trust_note(inv: Invariance, *, margin: float = MARGIN, level: float = LEVEL) -> str:
    """Markdown bullets: seeds, bootstrap draws and budgets, counted from the data."""
    d = inv.data[inv.data.condition != FULL_GRID]
    d = d.drop_duplicates(["condition", "budget", "n_classes", "seed"])
    seeds = int(d.groupby("condition").seed.nunique().min())
    budgets = sorted(d.budget.unique())
    return "\n".join([
        f"- **Seeds.** {seeds} seeds per point (fewest over conditions); the bootstrap resamples "
        f"seeds, so it has only {distinct_draws(seeds)} distinct draws per budget and its "
        f"intervals run narrow. The robustness panel (each seed left out, every second K, the "
        f"other estimators, test instead of validation) is how the page checks them.",
        f"- **{len(budgets)} budgets over {budgets[-1] / budgets[0]:.0f}×.** A slope from "
        f"{len(budgets)} points, each an estimated optimum; a curved trend would not show.",
        f"- **The margin.** 'invariant' needs the {level:.0%} interval within ±{margin:g} "
        f"(`analysis.verdict_rule.MARGIN`, fixed before the studies ran).",
    ])
