"""The invariance page's words: the summary table, the verdict per task and the takeaways, every
statement computed from the statistics. The verdict and the takeaways speak after the robustness
panel (``robust.condition_verdicts`` and ``robust.knob_contrast_verdicts``), so a page cannot say
'drifts' where its own panel says 'inconclusive'; the summary table shows the rule as reported."""

from __future__ import annotations

import math

import pandas as pd

from pretrain_diversity.analysis.formatting import ratio as ratio_text
from pretrain_diversity.analysis.formatting import signed_interval
from pretrain_diversity.studies.invariance.conditions import BASELINE, FULL_GRID, knob_groups
from pretrain_diversity.analysis.verdict_rule import DOWN, INVARIANT, SMALL, UP, read_slope
from pretrain_diversity.studies.invariance.stats import MARGIN, Invariance


def classify(slope: float, lo: float, hi: float, margin: float = MARGIN) -> str:
    """The shared slope rule's label (``verdict_rule.read_slope``), as the tables need it."""
    return read_slope(slope, lo, hi, margin=margin).label


def summary_table(inv: Invariance, fits: pd.DataFrame | None = None,
                  regret: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per condition and task: r* per budget, the slope with its interval, exponents."""
    pct = f"{inv.level:.0%}"
    rows = []
    for cond in inv.conditions:
        for task in sorted(inv.trend["task"].unique()):
            t = inv.trend[(inv.trend.condition == cond) & (inv.trend.task == task)]
            o = inv.optima[(inv.optima.condition == cond) & (inv.optima.task == task)]
            if t.empty:
                continue
            t = t.iloc[0]
            row = {"condition": cond, "task": task}
            for r in o.sort_values("budget").itertuples():
                row[f"K*/n* at N={r.budget}"] = (f"{ratio_text(r.r_star)}"
                                                 + ("" if r.interior else " (edge)"))
            row[f"slope [{pct}]"] = f"{t.slope:+.2f} [{t.slope_lo:+.2f}, {t.slope_hi:+.2f}]"
            # the verdict's reading (``verdict_rule.read_slope``): an interval that merely contains 0 but reaches
            # far beyond the margin is "inconclusive", not evidence of invariance
            row[f"reading (margin ±{MARGIN:g})"] = classify(t.slope, t.slope_lo, t.slope_hi)
            if regret is not None:
                g = regret[(regret.condition == cond) & (regret.task == task)]
                if len(g):
                    row["regret of extrapolating"] = f"{100 * g.iloc[0].regret:.1f} pts"
            if fits is not None:
                g = fits[(fits.condition == cond) & (fits.task == task)]
                if len(g):
                    g = g.iloc[0]
                    row["α [fit]"] = f"{g.alpha:.2f} [{g.alpha_lo:.2f}, {g.alpha_hi:.2f}]"
                    row["β [fit]"] = f"{g.beta:.2f} [{g.beta_lo:.2f}, {g.beta_hi:.2f}]"
                    row["fit drift"] = f"{g.drift:+.2f} [{g.drift_lo:+.2f}, {g.drift_hi:+.2f}]"
            rows.append(row)
    return pd.DataFrame(rows)


def names(conditions) -> str:
    return "; ".join(f"*{c}*" for c in conditions)


def _labels(cv: pd.DataFrame, task: str, conds) -> dict[str, str]:
    """Condition -> its verdict on ``task`` after the robustness panel."""
    g = cv[(cv.task == task) & cv.condition.isin(conds)].set_index("condition")
    return {c: g.at[c, "verdict"] for c in conds if c in g.index}


def _effect_words(knob: str, label: str, margin: float) -> str:
    """What a knob's slope change means, by the shared rule's label of the difference."""
    if label in (UP, DOWN):
        return f": the {knob} moves the drift"
    if label == SMALL:
        return f": a detectable but small effect (within ±{margin:g})"
    if label == INVARIANT:
        return (f": the interval lies within ±{margin:g}, so the {knob} changes the drift by "
                "less than the margin")
    return (f", an interval that contains 0 and reaches beyond ±{margin:g}: no detectable "
            "effect on the drift, and none ruled out")


def verdict(inv: Invariance, fits: pd.DataFrame | None = None,
            regret: pd.DataFrame | None = None, *, cv: pd.DataFrame, kc: pd.DataFrame,
            margin: float = MARGIN) -> str:
    """Markdown: per task, where invariance holds (``verdict_rule.read_slope``), what each knob does to the
    slope (paired contrast between its extreme levels), which fitted exponent moves, what
    extrapolating the small-N ratio costs, and the overall answer.

    Every label is the verdict after the robustness panel (``cv``, ``kc``), and the cases the
    panel overturned are named with the checks that broke them."""
    pct = f"{inv.level:.0%}"
    conds = [c for c in inv.conditions if c != FULL_GRID]
    out = []
    for task in sorted(inv.trend["task"].unique()):
        tr = inv.trend[(inv.trend.task == task) & inv.trend.condition.isin(conds)]
        tr = tr.set_index("condition").reindex(conds).dropna(subset=["slope"])
        kinds = _labels(cv, task, list(tr.index))
        lines = [f"**{task}**"]
        desc = "; ".join(f"*{c}* {r.slope:+.2f} {signed_interval(r.slope_lo, r.slope_hi)}"
                         for c, r in tr.iterrows())
        lines.append(f"- Slope of log K*/n* against log N ({pct} bootstrap intervals): {desc}.")
        for kind, words in (
            ("invariant", f"Invariant (the interval lies within ±{margin:g})"),
            ("drifts up", "The optimal ratio grows with N (interval above 0, slope beyond "
                          f"±{margin:g})"),
            ("drifts down", "The optimal ratio shrinks with N (interval below 0, slope beyond "
                            f"±{margin:g})"),
            ("small drift", f"A drift distinguishable from 0 but within ±{margin:g}"),
            ("inconclusive", "Inconclusive (the interval contains 0 but reaches beyond "
                             f"±{margin:g}, or a check of the robustness panel disagrees)"),
        ):
            members = [c for c, k in kinds.items() if k == kind]
            if members:
                lines.append(f"- {words}: {names(members)}.")
        g = cv[(cv.task == task) & cv.condition.isin(list(kinds)) & (cv.rule != cv.verdict)]
        if len(g):
            lines.append("- Overturned by the robustness panel: " + "; ".join(
                f"*{r.condition}* reads '{r.rule}' as reported, broken by {r.broken}"
                for r in g.itertuples()) + ".")
        for c in kc[kc.task == task].itertuples():
            text = (f"- {c.knob.capitalize()} changes the slope by {c.difference:+.2f} "
                    f"{signed_interval(c.lo, c.hi)} from *{c.reference}* to *{c.condition}*"
                    + _effect_words(c.knob, c.rule, margin))
            if c.verdict != c.rule:
                text += (f"; the robustness panel does not confirm this (broken by {c.broken}), "
                         "so it is inconclusive")
            text += "."
            if fits is not None:
                text += " " + exponent_shift(fits, task, c.reference, c.condition)
            lines.append(text)
        if regret is not None:
            g = regret[(regret.task == task) & regret.condition.isin(conds)]
            if len(g):
                worst = g.loc[g.regret.idxmax()]
                lines.append(
                    f"- Using the ratio found at N = {int(worst.small_budget)} at N = "
                    f"{int(worst.large_budget)} costs between {100 * g.regret.min():.1f} and "
                    f"{100 * g.regret.max():.1f} points of error over the best measured split, "
                    f"depending on the condition (most: *{worst.condition}*)."
                )
        out.append("\n".join(lines))
    kinds = [k for task in sorted(inv.trend["task"].unique())
             for k in _labels(cv, task, conds).values()]
    counts = {k: kinds.count(k) for k in dict.fromkeys(kinds)}
    out.append(
        f"**Overall**, over {len(kinds)} (condition, task) cases, after the robustness panel: "
        + ", ".join(f"{v} {k}" for k, v in counts.items())
        + ". The paper's claim (an N-invariant optimal ratio) is supported where the slope is "
        "'invariant', contradicted where it 'drifts', and not decided by these data elsewhere."
    )
    return "\n\n".join(out)


def _labels_of(inv: Invariance, cond: str, cv: pd.DataFrame) -> dict[str, str]:
    """Task -> the verdict on ``cond``."""
    tasks = inv.trend[inv.trend.condition == cond].task
    return {t: _labels(cv, t, [cond]).get(cond, "inconclusive") for t in tasks}


def _condition_kind(inv: Invariance, cond: str, cv: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    """'invariant' if every task's slope is, 'drifts' if any task's drifts, else 'unclear'."""
    kinds = list(_labels_of(inv, cond, cv).values())
    t = inv.trend[inv.trend.condition == cond]
    if kinds and all(k == "invariant" for k in kinds):
        return "invariant", t
    if any(k.startswith("drifts") for k in kinds):
        return "drifts", t
    return "unclear", t


def _labelled_slopes(inv: Invariance, cond: str, cv: pd.DataFrame) -> str:
    """'drifts up on glyphs-heldout (+0.78); inconclusive on digits (+0.67), shapes (+0.54)':
    each task under its own label, so a drift on one task is not read as the condition's."""
    labels = _labels_of(inv, cond, cv)
    groups: dict[str, list[str]] = {}
    for r in inv.trend[inv.trend.condition == cond].itertuples():
        groups.setdefault(labels[r.task], []).append(f"{r.task} ({r.slope:+.2f})")
    return "; ".join(f"{k} on {', '.join(v)}" for k, v in groups.items())


def takeaways(inv: Invariance, regret: pd.DataFrame | None = None, *, cv: pd.DataFrame,
              kc: pd.DataFrame) -> str:
    """Markdown bullets for a practitioner, every statement computed from the analysis (each
    label after the robustness panel)."""
    conds = [c for c in inv.conditions if c != FULL_GRID]
    groups = knob_groups(conds)
    out = []

    def slopes(t):
        return ", ".join(f"{r.task} {r.slope:+.2f}" for r in t.itertuples())

    if BASELINE in conds:
        kind, t = _condition_kind(inv, BASELINE, cv)
        span = float(t.span.max())
        drifting = _labels_of(inv, BASELINE, cv)
        moved = ", ".join(f"×{2 ** (r.slope * math.log2(r.span)):.2g} ({r.task})"
                          for r in t.itertuples()
                          if drifting.get(r.task, "").startswith("drifts"))
        if kind == "invariant":
            out.append(f"- On the glyph data as first built (the Figure 1 condition), the "
                       f"paper's recipe transfers: the best ratio stays put within the margin "
                       f"over the {span:.0f}-fold range of budgets (slopes: {slopes(t)}).")
        else:
            out.append(f"- On the glyph data as first built (the Figure 1 condition), the best "
                       f"ratio is {'not' if kind == 'drifts' else 'not shown to be'} invariant "
                       f"over the {span:.0f}-fold range of budgets: "
                       f"{_labelled_slopes(inv, BASELINE, cv)}"
                       + (f"; where it drifts, it changes by {moved}" if moved else "")
                       + ". A ratio found with small runs should not be reused unchecked at a "
                       "larger budget.")
    if "variety" in groups:
        v = groups["variety"]
        rows = [(c, _condition_kind(inv, c, cv)) for c in v]
        text = "; ".join(f"*{c}*: {_labelled_slopes(inv, c, cv)}" for c, _ in rows)
        mean = [float(t.slope.mean()) for _, (_, t) in rows]
        if all(b < a for a, b in zip(mean, mean[1:])):
            trend = ("the drift shrinks as a class gets more variety (mean slope over tasks "
                     + " > ".join(f"{m:+.2f}" for m in mean) + ")")
        elif all(b > a for a, b in zip(mean, mean[1:])):
            trend = ("the drift grows as a class gets more variety (mean slope over tasks "
                     + " < ".join(f"{m:+.2f}" for m in mean) + ")")
        else:
            trend = "the drift does not change monotonically with the variety of a class"
        out.append(f"- Variety of a class, from fewest to most styles: {text}. Point estimates "
                   f"say {trend}; the paired contrast in the verdict says whether that is more "
                   f"than noise.")
    moves = kc.verdict.isin([UP, DOWN])
    for knob in ("capacity", "training budget"):
        if knob in groups:
            lo_c, hi_c = groups[knob][0], groups[knob][-1]
            c = kc[kc.knob == knob]
            if c.empty:
                continue
            clear = moves[c.index]
            eff = ("changes the drift beyond the margin for " + ", ".join(c.task[clear])
                   if clear.any() else "shows no detectable change of the drift")
            lost = c[c.rule.isin([UP, DOWN]) & (c.verdict != c.rule)]
            out.append(f"- {knob.capitalize()} (*{lo_c}* → *{hi_c}*) {eff} "
                       f"(slope differences: " + ", ".join(
                           f"{r.task} {r.difference:+.2f} [{r.lo:+.2f}, {r.hi:+.2f}]"
                           for r in c.itertuples()) + ")"
                       + "".join(f"; on {r.task} a change beyond the margin as reported does "
                                 f"not survive the robustness panel ({r.broken})"
                                 for r in lost.itertuples()) + ".")
    if regret is not None and len(regret):
        g = regret[regret.condition.isin(conds)]
        spread = inv.optima[inv.optima.condition.isin(conds)]["err_std"].median()
        out.append(
            f"- What a misplaced ratio costs: reusing the ratio of N = {int(g.small_budget.min())}"
            f" at N = {int(g.large_budget.max())} costs {100 * g.regret.min():.1f} to "
            f"{100 * g.regret.max():.1f} points of test error over the best measured split "
            f"(median {100 * g.regret.median():.1f}), against a typical spread over seeds of "
            f"{100 * spread:.1f} points at the optima."
        )
    moved = [f"{r.knob} on {r.task}" for r in kc[moves].itertuples()]
    stuck = []  # tasks whose ratio drifts up under every condition
    for task in sorted(inv.trend["task"].unique()):
        labels = _labels(cv, task, conds)
        if labels and all(k.startswith("drifts up") for k in labels.values()):
            stuck.append(task)
    tail = "."
    if moved:
        tail = f", and expect b to depend on the data and the training: here it moved with {', '.join(moved)}"
        tail += (f", while on {', '.join(stuck)} the ratio drifted up under every condition." if stuck
                 else ".")
    elif stuck:
        tail = f"; on {', '.join(stuck)} the ratio drifted up under every condition we tried."
    out.append(
        "- The recipe that survives either way: measure the optimum at two or more budgets. If "
        "its slope b is near 0, reuse the ratio (K* = sqrt(r* N)); if not, extrapolate the trend "
        "(K* ∝ N^((1+b)/2), n* ∝ N^((1−b)/2)) rather than the ratio" + tail
    )
    return "\n".join(out)


def exponent_shift(fits: pd.DataFrame, task: str, lo_c: str, hi_c: str) -> str:
    """Which fitted exponent moves between two conditions (intervals separate or overlap)."""
    a = fits[(fits.task == task) & (fits.condition == lo_c)]
    b = fits[(fits.task == task) & (fits.condition == hi_c)]
    if a.empty or b.empty:
        return ""
    a, b = a.iloc[0], b.iloc[0]
    parts, moved = [], []
    for name, sym in (("alpha", "α"), ("beta", "β")):
        sep = a[f"{name}_hi"] < b[f"{name}_lo"] or b[f"{name}_hi"] < a[f"{name}_lo"]
        parts.append(f"{sym} {a[name]:.2f} → {b[name]:.2f}"
                     + (" (intervals separate)" if sep else " (intervals overlap)"))
        if sep:
            moved.append(sym)
    which = (f"{' and '.join(moved)} moved" if moved else
             "neither exponent moved beyond its interval")
    return f"Fitted exponents: {'; '.join(parts)}; {which}."


def exponents_table(fits: pd.DataFrame) -> pd.DataFrame:
    """The page's table of the free-exponent fit: α, β, fit quality and the implied drift."""
    table = fits[["condition", "task", "alpha", "beta", "drift", "drift_lo", "drift_hi", "r2",
                  "rmse", "noise_rmse"]].copy()
    table["drift [95%]"] = [f"{d:+.2f} [{lo:+.2f}, {hi:+.2f}]"
                            for d, lo, hi in zip(table.drift, table.drift_lo, table.drift_hi)]
    table = table.drop(columns=["drift", "drift_lo", "drift_hi"]).round(3)
    table.columns = ["condition", "task", "α (classes)", "β (images per class)", "R²", "RMSE",
                     "seed s.e.", "drift (β−α)/(α+β) [95%]"]
    return table


def grid_note(bias: pd.DataFrame, margin: float = MARGIN) -> str:
    """Markdown: how large a slope the grid alone produces (``grid_bias``), against the margin."""
    b = bias.set_index("condition")["max_abs_bias"]
    worst = float(b.max())
    thin = float(b.drop(FULL_GRID, errors="ignore").max())
    # the word comes from the number: a bias is "within" the margin's tenth, else its share
    against = (f"under a tenth of the ±{margin:g} margin" if worst < margin / 10 else
               f"{worst / margin:.0%} of the ±{margin:g} margin" if margin else "")
    return (
        f"- **Grid resolution.** Placing a minimum between grid points by a parabola has a bias. On "
        f"this study's grid, an exactly invariant optimum (noise-free curves of the theory's symmetric "
        f"form, optimum moved across the grid) shows slopes of at most ±{b.drop(FULL_GRID, errors='ignore').max():.3f}"
        f" from interpolation alone, and ±{b.get(FULL_GRID, float('nan')):.3f} on the full Figure 1 "
        f"grid: {against}."
        + (f" So on the thinner grid a slope within about ±{thin:.2f} cannot tell invariance "
           f"from a drift: the grid alone reaches beyond the margin, and the full-grid row (and "
           f"the panel's 'every second K' check) is where such a reading is tested."
           if thin > margin else "")
        + " Noise is another matter: on a flat minimum the parabola through close neighbours "
        "moves with it, which the bootstrap does include."
    )
