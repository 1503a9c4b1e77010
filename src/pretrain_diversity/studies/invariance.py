"""Issue 8: when is the optimal class-to-sample ratio invariant to the budget N?

Zhang et al. claim the best K/n does not depend on N; a trial on glyphs found it grows with N.
This module reads the Figure-1-style grids measured under several *conditions* (intra-class
variety V, model width, epochs per N), and for each condition and downstream task computes

- the optimum per budget and the slope of log2 r* against log2 N with a bootstrap interval, by
  calling ``figure1.optima`` and ``figure1.ratio_trend`` per condition (slope 0 = invariance);
- paired contrasts of the slope between conditions (the effect size of each knob);
- the regret of extrapolating: the error at the largest N when the ratio found at the smallest N
  is used there, against the best measured error (what the paper's recipe would cost);
- the free-exponent fit of the theory chapter's bound, ``theory.fit_tradeoff``, whose drift
  (beta - alpha) / (alpha + beta) says which exponent moves with each knob;
- a verdict in words, plots, and the frames of a condition x budget widget.

A condition is one combination of the run parameters that are not K, n or the seed; the Figure 1
study (``results/figure1/runs.csv``) is the condition "original sampler" (styles_per_class unset,
width 8, 20 epochs). By default every condition is compared on the (N, K) points all conditions
share (``match_grid``), so the Figure 1 grid is thinned to the invariance grid; the original
sampler on its full grid is kept as an extra row that shows how much the thinner grid moves the
answer.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pretrain_diversity.studies import tradeoff as F
from pretrain_diversity.analysis import optimum as optimum

RESULTS_DIR = Path("results") / "invariance"
KNOBS = ("variety", "capacity", "epochs")
SPECS = {k: Path("studies") / f"invariance-{k}.toml" for k in KNOBS}
RUNS_DIR = "runs/invariance"
METRIC = F.METRIC
BASELINE = "original sampler"  # the Figure 1 condition
FULL_GRID = "original sampler, full Figure 1 grid"
DEFAULT_WIDTH, DEFAULT_EPOCHS = 8, 20.0  # of the Figure 1 study (studies/figure1.toml)
# Run parameters that tell conditions apart (anything but K, n and the seed).
CONDITION_COLUMNS = ("styles_per_class", "class_pool", "arch", "width", "depth", "epochs",
                     "image_size", "batch_size", "lr", "momentum", "weight_decay", "warmup_frac",
                     "augment")  # fmt: skip

# Cost model for planning (``plan``): two single-thread workers on 2 cores train the width-8
# convnet at about this many images per second together, and spend about this long per run on
# data and probing. A wider convnet costs (width / 8) ** WIDTH_COST_EXPONENT as much per image
# (measured: width 16 trains 2.3x slower than width 8, one thread, batch 128, 16 px).
# Practical margin for "invariant", fixed before any invariance study ran: a slope of 0.2 moves
# the optimal ratio by a factor 4 (one step of the Figure 1 grid) over a 1000-fold range of
# budgets, the range of the paper's recipe (cheap pilot runs, then the full budget); by the theory
# chapter's cosh penalty that costs under 10% more excess error at alpha = beta = 1/2.
MARGIN = 0.2

IMAGES_PER_S = 16_000
OVERHEAD_S = 5.0
WIDTH_COST_EXPONENT = 1.2


def results_path(knob: str) -> Path:
    return RESULTS_DIR / knob / "runs.csv"


def command(knob: str) -> str:
    """The command (from the repository root) that regenerates one knob's results."""
    return (
        f"pretrain-diversity sweep {SPECS[knob].as_posix()} --out {RUNS_DIR} --launcher processes "
        f"--workers 2 --threads 1 --csv {results_path(knob).as_posix()}"
    )


# ------------------------------------------------------------------------------------ loading
def load_invariance(root: str | os.PathLike | None = None, knobs=KNOBS) -> pd.DataFrame:
    """The Figure 1 table plus each knob's table, one frame, only the tasks all of them probed.

    Raises FileNotFoundError naming every missing table and the command that makes it.
    """
    from pretrain_diversity.analysis.tables import load_results

    root = F.find_root(root)
    wanted = {"figure1": (root / F.RESULTS, F.COMMAND)}
    wanted.update({k: (root / results_path(k), command(k)) for k in knobs})
    missing = {k: (p, c) for k, (p, c) in wanted.items() if not p.exists()}
    if missing:
        lines = "\n".join(f"  {p.relative_to(root)}: regenerate with\n      {c}"
                          for p, c in missing.values())
        raise FileNotFoundError(
            "The invariance page draws only measured results, and these tables are missing:\n"
            f"{lines}\n(run from the repository root; see `python -m pretrain_diversity.studies.invariance "
            "plan` for their cost) and commit results/."
        )
    frames = [load_results(p).assign(source=k) for k, (p, _) in wanted.items()]
    tasks = set.intersection(*(set(f["task"]) for f in frames))
    return pd.concat([f[f["task"].isin(tasks)] for f in frames], ignore_index=True)


# --------------------------------------------------------------------------------- conditions
def variety_label(v) -> str:
    """'V = 1', 'V = ∞' (styles_per_class = 0) or the original sampler (unset: None or NaN)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return BASELINE
    v = int(v)
    return "V = ∞" if v == 0 else f"V = {v}"


def _variety_rank(v) -> float:
    """Sort key: V = 1 < 8 < ... < ∞ < original sampler."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return math.inf
    return 1e12 if int(v) == 0 else float(v)


def label_conditions(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``condition`` (a readable label), ``variety`` (the V label) and ``condition_rank``."""
    df = df.copy()
    cols = [c for c in CONDITION_COLUMNS if c in df]
    for c in ("styles_per_class", "class_pool"):
        if c not in df:
            df[c] = np.nan
    first = df[cols].drop_duplicates()
    if len(first) > 1:  # parameters other than V, width and epochs must not vary silently
        other = [c for c in cols if c not in ("styles_per_class", "class_pool", "width", "epochs")
                 and first[c].nunique(dropna=False) > 1]
    else:
        other = []

    def label(row) -> str:
        parts = [variety_label(row["styles_per_class"])]
        pool = row["class_pool"]
        if isinstance(pool, str):
            parts.append(f"{pool} classes")
        if "width" in row and row["width"] != DEFAULT_WIDTH:
            parts.append(f"width {int(row['width'])}")
        if "epochs" in row and row["epochs"] != DEFAULT_EPOCHS:
            parts.append(f"{row['epochs']:g} epochs")
        parts += [f"{c} {row[c]}" for c in other]
        return ", ".join(parts)

    labels = df.apply(label, axis=1)
    df["variety"] = df["styles_per_class"].map(variety_label)
    df["condition"] = labels
    rank = df["styles_per_class"].map(_variety_rank)
    df["condition_rank"] = (
        rank.rank(method="dense")
        + 0.01 * (df["width"] if "width" in df else 0)
        + 0.0001 * (df["epochs"] if "epochs" in df else 0)
    )
    return df


def conditions_in_order(df: pd.DataFrame) -> list[str]:
    order = df.groupby("condition")["condition_rank"].first().sort_values()
    return list(order.index)


def match_grid(df: pd.DataFrame) -> pd.DataFrame:
    """Keep only the (task, N, K) points that every condition measured."""
    pts = df.groupby("condition")[["task", "budget", "n_classes"]].apply(
        lambda g: set(map(tuple, g.drop_duplicates().to_numpy().tolist()))
    )
    common = set.intersection(*pts)
    if not common:
        raise ValueError("the conditions share no (task, N, K) point: nothing to compare")
    key = pd.Series(list(zip(df["task"], df["budget"], df["n_classes"])), index=df.index)
    return df[key.isin(common)]


# ---------------------------------------------------------------------------------- analysis
def _ratio(r: float) -> str:
    return f"{r:.2g}" if r < 10 else f"{r:.0f}"


def _budget_colors(budgets) -> dict:
    """One colour per budget, as on the Figure 1 page (plasma, small N dark)."""
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("plasma")
    return {n: cmap(0.1 + 0.75 * i / max(1, len(budgets) - 1)) for i, n in enumerate(budgets)}


def slope_draws(opt: pd.DataFrame, draws: dict) -> dict[str, np.ndarray]:
    """Per task, the bootstrap draws of the slope that ``figure1.ratio_trend`` summarises.

    The same least-squares slope over the budgets, applied to each bootstrap draw of the per-budget
    optima (ratio_trend keeps only their percentiles; we need the draws for contrasts).
    TODO after the optimum API is consolidated: take the draws from figure1/theory directly.
    """
    out = {}
    for task, sub in opt.groupby("task", sort=True):
        sub = sub.sort_values("budget")
        x = np.log2(sub["budget"].to_numpy(float))
        if len(x) < 2:
            continue
        boot = np.stack([draws[(task, n)] for n in sub["budget"]], axis=1)
        xc = x - x.mean()
        out[task] = (boot - boot.mean(axis=1, keepdims=True)) @ xc / (xc @ xc)
    return out


@dataclass
class Invariance:
    """Per condition and task: optima per budget, slope of log2 r* on log2 N, its draws."""

    optima: pd.DataFrame  # figure1.optima rows + condition
    trend: pd.DataFrame  # figure1.ratio_trend rows + condition
    draws: dict = field(repr=False)  # (condition, task) -> bootstrap slope draws
    conditions: list[str] = field(default_factory=list)
    level: float = 0.95
    data: pd.DataFrame | None = field(default=None, repr=False)  # the rows analysed


def analyse(
    df: pd.DataFrame,
    *,
    match: bool = True,
    full_grid_check: bool = True,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
    metric: str = METRIC,
) -> Invariance:
    """Optimum per budget and ratio trend for every condition (``figure1.optima``/``ratio_trend``).

    With ``match`` the conditions are compared on their common (N, K) points; with
    ``full_grid_check`` the original sampler is also analysed on all its points (condition
    ``FULL_GRID``), to show how much the thinner common grid moves its answer.
    """
    df = label_conditions(df) if "condition" not in df else df
    full = df
    if match and df["condition"].nunique() > 1:
        df = match_grid(df)
    parts = {c: df[df["condition"] == c] for c in conditions_in_order(df)}
    if full_grid_check and BASELINE in parts:
        base_full = full[full["condition"] == BASELINE]
        if len(base_full) > len(parts[BASELINE]):
            parts[FULL_GRID] = base_full.assign(condition=FULL_GRID)
    opts, trends, draws = [], [], {}
    for cond, sub in parts.items():
        opt, d = optimum.optima(sub, metric=metric, n_boot=n_boot, seed=seed, level=level,
                          return_draws=True)
        tr = optimum.ratio_trend(opt, d, level=level)
        opts.append(opt.assign(condition=cond))
        trends.append(tr.assign(condition=cond))
        for task, s in slope_draws(opt, d).items():
            draws[(cond, task)] = s
    data = pd.concat(parts.values(), ignore_index=True)
    return Invariance(
        optima=pd.concat(opts, ignore_index=True),
        trend=pd.concat(trends, ignore_index=True),
        draws=draws,
        conditions=list(parts),
        level=level,
        data=data,
    )


def contrasts(inv: Invariance, reference: str | None = None, pairs=None) -> pd.DataFrame:
    """Slope differences between conditions, per task, with percentile bootstrap intervals.

    ``pairs``: (condition, reference) tuples; default: every condition against ``reference``
    (default: the original sampler if present, else the first condition). The draws of two
    conditions come from the same resamples of seeds (``figure1.optima`` draws them from one RNG
    seed in the same order), so the difference is a paired bootstrap when both conditions have the
    same seeds and budgets, as the invariance studies do.
    """
    conds = [c for c in inv.conditions if c != FULL_GRID]
    if pairs is None:
        reference = reference or (BASELINE if BASELINE in conds else conds[0])
        pairs = [(c, reference) for c in conds if c != reference]
    q = [(1 - inv.level) / 2 * 100, (1 + inv.level) / 2 * 100]
    rows = []
    for cond, ref in pairs:
        for task in sorted(inv.trend["task"].unique()):
            a, b = inv.draws.get((cond, task)), inv.draws.get((ref, task))
            if a is None or b is None:
                continue
            ta = inv.trend[(inv.trend.condition == cond) & (inv.trend.task == task)].iloc[0]
            tb = inv.trend[(inv.trend.condition == ref) & (inv.trend.task == task)].iloc[0]
            diff = a - b
            lo, hi = np.percentile(diff, q)
            rows.append(dict(task=task, condition=cond, reference=ref,
                             difference=float(ta.slope - tb.slope), lo=float(lo), hi=float(hi)))
    return pd.DataFrame(rows, columns=["task", "condition", "reference", "difference", "lo", "hi"])


def extrapolation_regret(inv: Invariance, metric: str = METRIC) -> pd.DataFrame:
    """What the paper's recipe costs: the ratio found at the smallest N, used at the largest N.

    Per condition and task: the seed-mean error at the largest budget, read off its curve over
    log2(K/n) (linear between grid points) at the optimal ratio of the smallest budget, minus the
    lowest seed-mean error measured at the largest budget. ``clipped`` marks a ratio outside the
    largest budget's grid (read at the nearest edge).
    """
    df = optimum.add_log_columns(inv.data, metric)
    rows = []
    for (cond, task), opt in inv.optima.groupby(["condition", "task"], sort=False):
        opt = opt.sort_values("budget")
        small, large = opt.iloc[0], opt.iloc[-1]
        sub = df[(df.condition == cond) & (df.task == task) & (df.budget == large.budget)]
        curve = sub.groupby("log2_r")[metric].mean().sort_index()
        x = curve.index.to_numpy(float)
        r0 = float(small.log2_r_star)
        err = float(np.interp(r0, x, curve.to_numpy()))
        rows.append(dict(
            condition=cond, task=task, small_budget=int(small.budget),
            large_budget=int(large.budget), log2_r_small=r0, log2_r_large=float(large.log2_r_star),
            err_at_small_ratio=err, err_best=float(curve.min()),
            regret=err - float(curve.min()), clipped=bool(r0 < x.min() or r0 > x.max()),
        ))  # fmt: skip
    return pd.DataFrame(rows)


NULL_LOG2_RATIOS = tuple(np.arange(-3.0, 3.01, 0.5))  # where grid_bias puts the true optimum


def grid_bias(data: pd.DataFrame, *, log2_r_true=NULL_LOG2_RATIOS) -> pd.DataFrame:
    """Slope an exactly invariant optimum would show on this grid, from interpolation alone.

    For every condition's (N, K) grid: noise-free errors 0.1 + a K^-1/2 + n^-1/2 (the theory's
    symmetric case; r* = a^2 whatever N), with a set so that log2 r* takes each value of
    ``log2_r_true``; the slope of the located optima on log2 N should be 0, and what is not is the
    bias of placing a minimum between grid points by a parabola. Returns the largest |slope| per
    condition and the mean.
    """
    rows = []
    for cond, sub in data.groupby("condition", sort=False):
        pts = sub[["budget", "n_classes"]].drop_duplicates()
        slopes = []
        for lr in log2_r_true:
            a = 2 ** (lr / 2)
            t = pts.assign(task="null", seed=0, samples_per_class=pts.budget // pts.n_classes)
            t[METRIC] = 0.1 + a * t.n_classes**-0.5 + t.samples_per_class**-0.5
            opt, d = optimum.optima(t, n_boot=2, return_draws=True)
            slopes.append(float(optimum.ratio_trend(opt, d).slope.iloc[0]))
        slopes = np.array(slopes)
        rows.append(dict(condition=cond, max_abs_bias=float(np.abs(slopes).max()),
                         mean_bias=float(slopes.mean())))
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ theory exponents
def fit_exponents(inv_or_df, *, window: int | None = 5, n_boot: int = 100, level: float = 0.95,
                  seed: int = 0) -> pd.DataFrame:
    """Free-exponent fit of the theory chapter's bound per condition and task.

    err = floor + a K^-alpha + b n^-beta + c (K n)^-gamma (``theory.fit_tradeoff`` with
    ``free_exponents=True``, identity link, ``window`` splits nearest each budget's minimum).
    alpha is the exponent of the class term, beta of the per-class sample term; the optimum drifts
    as N^((beta - alpha)/(alpha + beta)). Intervals: percentiles over bootstrap-over-seeds refits.
    """
    from pretrain_diversity.analysis import theory as theory

    data = inv_or_df.data if isinstance(inv_or_df, Invariance) else label_conditions(inv_or_df)
    order = (inv_or_df.conditions if isinstance(inv_or_df, Invariance)
             else conditions_in_order(data))
    q = (1 - level) / 2
    rows = []
    for cond in order:
        sub = data[data["condition"] == cond]
        for task in sorted(sub["task"].unique()):
            f = theory.fit_tradeoff(sub, True, task=task, window=window, n_boot=n_boot,
                                    level=level, seed=seed)
            row = dict(condition=cond, task=task, r2=f.r2, rmse=f.rmse, noise_rmse=f.noise_rmse,
                       n_configs=f.n_configs, drift=f.drift, drift_lo=f.drift_ci[0],
                       drift_hi=f.drift_ci[1])
            for name in ("alpha", "beta", "gamma"):
                vals = np.array([getattr(p, name) for p in f.boot], float)
                row[name] = getattr(f.params, name)
                row[f"{name}_lo"], row[f"{name}_hi"] = (
                    (float(np.quantile(vals, q)), float(np.quantile(vals, 1 - q)))
                    if len(vals) else (np.nan, np.nan)
                )
            rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------- tables
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
                row[f"K*/n* at N={r.budget}"] = (f"{_ratio(r.r_star)}"
                                                 + ("" if r.interior else " (edge)"))
            row[f"slope [{pct}]"] = f"{t.slope:+.2f} [{t.slope_lo:+.2f}, {t.slope_hi:+.2f}]"
            # the verdict's reading (``classify``): an interval that merely contains 0 but reaches
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


# ---------------------------------------------------------------------------------- verdict
def _ci(lo, hi) -> str:
    return f"[{lo:+.2f}, {hi:+.2f}]"


def classify(slope: float, lo: float, hi: float, margin: float = MARGIN) -> str:
    """Read a slope interval against 0 and the practical margin ±``margin``.

    'invariant': the interval lies inside ±margin (equivalence shown); 'drifts up'/'drifts down':
    it excludes 0 and the estimate is beyond the margin; 'small drift': it excludes 0 but the
    estimate is within the margin; 'inconclusive': it contains 0 but reaches beyond the margin.
    """
    if -margin <= lo and hi <= margin:
        return "invariant"
    if lo > 0 or hi < 0:
        if abs(slope) > margin:
            return "drifts up" if slope > 0 else "drifts down"
        return "small drift"
    return "inconclusive"


def _names(conditions) -> str:
    return "; ".join(f"*{c}*" for c in conditions)


def _knob_groups(conditions: list[str]) -> dict[str, list[str]]:
    """Which conditions vary which knob (by label), each list in order, original sampler included."""
    base = BASELINE
    variety = [c for c in conditions if c.startswith("V = ") and "," not in c]
    width = [c for c in conditions if c.startswith(base + ", width")]
    epochs = [c for c in conditions if c.startswith(base + ", ") and c.endswith(" epochs")]
    groups = {}
    if len(variety) >= 2:
        groups["variety"] = variety
    if width and base in conditions:
        groups["capacity"] = [base, *width]
    if epochs and base in conditions:
        groups["training budget"] = [base, *epochs]
    return groups


def verdict(inv: Invariance, fits: pd.DataFrame | None = None,
            regret: pd.DataFrame | None = None, *, margin: float = MARGIN) -> str:
    """Markdown: per task, where invariance holds (``classify``), what each knob does to the
    slope (paired contrast between its extreme levels), which fitted exponent moves, what
    extrapolating the small-N ratio costs, and the overall answer."""
    pct = f"{inv.level:.0%}"
    conds = [c for c in inv.conditions if c != FULL_GRID]
    groups = _knob_groups(conds)
    out = []
    for task in sorted(inv.trend["task"].unique()):
        tr = inv.trend[(inv.trend.task == task) & inv.trend.condition.isin(conds)]
        tr = tr.set_index("condition").reindex(conds).dropna(subset=["slope"])
        kinds = {c: classify(r.slope, r.slope_lo, r.slope_hi, margin) for c, r in tr.iterrows()}
        lines = [f"**{task}**"]
        desc = "; ".join(f"*{c}* {r.slope:+.2f} {_ci(r.slope_lo, r.slope_hi)}"
                         for c, r in tr.iterrows())
        lines.append(f"- Slope of log K*/n* against log N ({pct} bootstrap intervals): {desc}.")
        for kind, words in (
            ("invariant", f"Invariant (the interval lies within ±{margin:g})"),
            ("drifts up", "The optimal ratio grows with N (interval above 0, slope beyond "
                          f"±{margin:g})"),
            ("drifts down", "The optimal ratio shrinks with N (interval below 0, slope beyond "
                            f"±{margin:g})"),
            ("small drift", f"A drift distinguishable from 0 but within ±{margin:g}"),
            ("inconclusive", f"Inconclusive (the interval contains 0 but reaches beyond "
                             f"±{margin:g})"),
        ):
            members = [c for c, k in kinds.items() if k == kind]
            if members:
                lines.append(f"- {words}: {_names(members)}.")
        for knob, members in groups.items():
            lo_c, hi_c = members[0], members[-1]
            c = contrasts(inv, pairs=[(hi_c, lo_c)])
            c = c[c.task == task]
            if c.empty:
                continue
            c = c.iloc[0]
            eff = f"changes the slope by {c.difference:+.2f} {_ci(c.lo, c.hi)} from *{lo_c}* to *{hi_c}*"
            if (c.lo > 0 or c.hi < 0) and abs(c.difference) > margin:
                eff += f": the {knob} moves the drift"
            elif c.lo > 0 or c.hi < 0:
                eff += f": a detectable but small effect (within ±{margin:g})"
            else:
                eff += ", an interval that contains 0: no detectable effect on the drift"
            text = f"- {knob.capitalize()} {eff}."
            if fits is not None:
                text += " " + _exponent_shift(fits, task, lo_c, hi_c)
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
    kinds = [classify(r.slope, r.slope_lo, r.slope_hi, margin)
             for r in inv.trend[inv.trend.condition.isin(conds)].itertuples()]
    counts = {k: kinds.count(k) for k in dict.fromkeys(kinds)}
    out.append(
        f"**Overall**, over {len(kinds)} (condition, task) cases: "
        + ", ".join(f"{v} {k}" for k, v in counts.items())
        + ". The paper's claim (an N-invariant optimal ratio) is supported where the slope is "
        "'invariant', contradicted where it 'drifts', and not decided by these data elsewhere."
    )
    return "\n\n".join(out)


def _condition_kind(inv: Invariance, cond: str, margin: float) -> tuple[str, pd.DataFrame]:
    """'invariant' if every task's slope is, 'drifts' if any task's drifts, else 'unclear'."""
    t = inv.trend[inv.trend.condition == cond]
    kinds = [classify(r.slope, r.slope_lo, r.slope_hi, margin) for r in t.itertuples()]
    if kinds and all(k == "invariant" for k in kinds):
        return "invariant", t
    if any(k.startswith("drifts") for k in kinds):
        return "drifts", t
    return "unclear", t


def takeaways(inv: Invariance, regret: pd.DataFrame | None = None, *,
              margin: float = MARGIN) -> str:
    """Markdown bullets for a practitioner, every statement computed from the analysis."""
    conds = [c for c in inv.conditions if c != FULL_GRID]
    groups = _knob_groups(conds)
    out = []

    def slopes(t):
        return ", ".join(f"{r.task} {r.slope:+.2f}" for r in t.itertuples())

    if BASELINE in conds:
        kind, t = _condition_kind(inv, BASELINE, margin)
        span = float(t.span.max())
        moved = ", ".join(f"×{2 ** (r.slope * math.log2(r.span)):.2g} ({r.task})"
                          for r in t.itertuples())
        if kind == "invariant":
            out.append(f"- On the glyph data as first built (the Figure 1 condition), the "
                       f"paper's recipe transfers: the best ratio stays put within the margin "
                       f"over the {span:.0f}-fold range of budgets (slopes: {slopes(t)}).")
        else:
            out.append(f"- On the glyph data as first built (the Figure 1 condition), the best "
                       f"ratio is {'not' if kind == 'drifts' else 'not shown to be'} invariant: "
                       f"over the {span:.0f}-fold range of budgets it changes by {moved} "
                       f"(slopes: {slopes(t)}). A ratio found with small runs should not "
                       f"be reused unchecked at a larger budget.")
    if "variety" in groups:
        v = groups["variety"]
        rows = [(c, _condition_kind(inv, c, margin)) for c in v]
        text = "; ".join(f"*{c}*: {k} ({slopes(t)})" for c, (k, t) in rows)
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
    for knob in ("capacity", "training budget"):
        if knob in groups:
            lo_c, hi_c = groups[knob][0], groups[knob][-1]
            c = contrasts(inv, pairs=[(hi_c, lo_c)])
            if c.empty:
                continue
            clear = ((c.lo > 0) | (c.hi < 0)) & (c.difference.abs() > margin)
            eff = ("changes the drift beyond the margin for " + ", ".join(c.task[clear])
                   if clear.any() else "does not change the drift beyond the margin")
            out.append(f"- {knob.capitalize()} (*{lo_c}* → *{hi_c}*) {eff} "
                       f"(slope differences: " + ", ".join(
                           f"{r.task} {r.difference:+.2f} [{r.lo:+.2f}, {r.hi:+.2f}]"
                           for r in c.itertuples()) + ").")
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
    moved, stuck = [], []  # (knob, task) pairs whose extreme levels change the slope, or not
    for knob, levels in groups.items():
        c = contrasts(inv, pairs=[(levels[-1], levels[0])])
        clear = ((c.lo > 0) | (c.hi < 0)) & (c.difference.abs() > margin)
        moved += [f"{knob} on {r.task}" for r in c[clear].itertuples()]
    for task in sorted(inv.trend["task"].unique()):
        t = inv.trend[(inv.trend.task == task) & inv.trend.condition.isin(conds)]
        if len(t) and all(classify(r.slope, r.slope_lo, r.slope_hi, margin).startswith("drifts up")
                          for r in t.itertuples()):
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


def _exponent_shift(fits: pd.DataFrame, task: str, lo_c: str, hi_c: str) -> str:
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


# ----------------------------------------------------------------------------------- plots
KNOB_COLORS = {"variety": "C0", "capacity": "C2", "training budget": "C3", "baseline": "k",
               "grid check": "0.6"}


def _knob_of(cond: str, groups: dict) -> str:
    if cond == FULL_GRID:
        return "grid check"
    if cond == BASELINE:
        return "baseline"
    for k, members in groups.items():
        if cond in members:
            return k
    return "baseline"


def plot_slopes(inv: Invariance):
    """One panel per task: the slope of log2 r* on log2 N per condition, with its interval."""
    import matplotlib.pyplot as plt

    tasks = sorted(inv.trend["task"].unique())
    conds = inv.conditions
    groups = _knob_groups([c for c in conds if c != FULL_GRID])
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.2 * len(tasks), 0.45 * len(conds) + 1.6),
                             squeeze=False, sharey=True)
    for ax, task in zip(axes[0], tasks):
        for i, cond in enumerate(conds):
            t = inv.trend[(inv.trend.condition == cond) & (inv.trend.task == task)]
            if t.empty:
                continue
            t = t.iloc[0]
            col = KNOB_COLORS[_knob_of(cond, groups)]
            ax.errorbar(t.slope, i, xerr=[[t.slope - t.slope_lo], [t.slope_hi - t.slope]],
                        fmt="o", color=col, capsize=3, ms=6)
        ax.axvline(0, color="0.5", lw=1, ls="--")
        ax.set_yticks(range(len(conds)), conds)
        ax.set_xlabel("slope of log2 K*/n* against log2 N  (0 = invariant)")
        ax.set_title(task)
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].invert_yaxis()  # shared: once for all panels; first condition on top
    fig.suptitle(f"Drift of the optimal ratio per condition ({inv.level:.0%} bootstrap intervals "
                 "over seeds)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_optima(inv: Invariance):
    """One panel per task: log2 r* against log2 N per condition (interval bars, fitted line)."""
    import matplotlib.pyplot as plt

    tasks = sorted(inv.optima["task"].unique())
    conds = [c for c in inv.conditions if c != FULL_GRID]
    cmap = plt.get_cmap("tab10")
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.2 * len(tasks), 4.0), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for i, cond in enumerate(conds):
            o = inv.optima[(inv.optima.condition == cond) & (inv.optima.task == task)]
            o = o.sort_values("budget")
            x = np.log2(o.budget.to_numpy(float)) + (i - len(conds) / 2) * 0.04
            y = o.log2_r_star.to_numpy()
            ax.errorbar(x, y, yerr=[y - o.log2_r_lo, o.log2_r_hi - y], fmt="o", color=cmap(i),
                        capsize=2, ms=4, label=cond)
            if len(x) >= 2:
                b, a = np.polyfit(x, y, 1)
                ax.plot(x, a + b * x, "-", color=cmap(i), lw=1)
        ax.set(xlabel="log2 N", ylabel="log2 K*/n*", title=task)
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig


def plot_ucurves(inv: Invariance, metric: str = METRIC):
    """Rows: conditions; columns: tasks. Error against log2(K/n) per budget (mean ± std over
    seeds), the optimum of each budget as a star with its interval. Axes are shared per task."""
    import matplotlib.pyplot as plt

    df = optimum.add_log_columns(inv.data, metric)
    tasks = sorted(df["task"].unique())
    conds = inv.conditions
    budgets = sorted(df["budget"].unique())
    colors = _budget_colors(budgets)
    fig, axes = plt.subplots(len(conds), len(tasks), figsize=(4.6 * len(tasks), 2.3 * len(conds)),
                             squeeze=False, sharex=True, sharey="col")
    for ti, task in enumerate(tasks):
        dt = df[df.task == task]
        for ci, cond in enumerate(conds):
            ax = axes[ci][ti]
            for n in budgets:
                s = dt[(dt.condition == cond) & (dt.budget == n)].groupby("log2_r")[metric]
                s = s.agg(["mean", "std"])
                if s.empty:
                    continue
                x, mu = s.index.to_numpy(), s["mean"].to_numpy() * 100
                sd = s["std"].fillna(0).to_numpy() * 100
                ax.plot(x, mu, "o-", color=colors[n], ms=3, lw=1.2, label=f"N = {n}")
                ax.fill_between(x, mu - sd, mu + sd, color=colors[n], alpha=0.2, lw=0)
                o = inv.optima[(inv.optima.condition == cond) & (inv.optima.task == task)
                               & (inv.optima.budget == n)]
                if len(o):
                    o = o.iloc[0]
                    ax.errorbar(o.log2_r_star, o.err_star * 100,
                                xerr=[[o.log2_r_star - o.log2_r_lo], [o.log2_r_hi - o.log2_r_star]],
                                fmt="*", color=colors[n], mec="k", ms=10, capsize=2)
            ax.axvline(0, color="0.6", lw=0.8, ls=":")
            ax.set_title(f"{cond} — {task}", fontsize=8)
            ax.set_ylabel("test error (%)", fontsize=8)
            if ci == len(conds) - 1:
                ax.set_xlabel("log2 (K / n)", fontsize=8)
            ax.tick_params(labelsize=7)
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_exponents(fits: pd.DataFrame):
    """One panel per task: fitted alpha (class term) and beta (per-class sample term) with their
    intervals per condition; their gap sets the drift (beta - alpha)/(alpha + beta)."""
    import matplotlib.pyplot as plt

    tasks = sorted(fits["task"].unique())
    conds = list(dict.fromkeys(fits["condition"]))
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.2 * len(tasks), 0.45 * len(conds) + 1.6),
                             squeeze=False, sharey=True)
    for ax, task in zip(axes[0], tasks):
        f = fits[fits.task == task].set_index("condition")
        for name, sym, col, off in (("alpha", "α (classes)", "C0", -0.12),
                                    ("beta", "β (images per class)", "C1", 0.12)):
            ys, xs, lo, hi = [], [], [], []
            for i, c in enumerate(conds):
                if c in f.index:
                    r = f.loc[c]
                    ys.append(i + off)
                    xs.append(r[name])
                    lo.append(r[name] - r[f"{name}_lo"])
                    hi.append(r[f"{name}_hi"] - r[name])
            ax.errorbar(xs, ys, xerr=[lo, hi], fmt="o", color=col, capsize=3, ms=5, label=sym)
        ax.set_yticks(range(len(conds)), conds)
        ax.set_xlabel("fitted exponent")
        ax.set_title(task)
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].invert_yaxis()  # shared: once for all panels; first condition on top
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------------- widget
def condition_frames(inv: Invariance, *, metric: str = METRIC, dpi: int = 70,
                     conditions: list[str] | None = None):
    """PNG frames (condition index, budget index) -> the U-curve of every task at that N.

    Each frame shows, per task, the error along the chosen budget (seeds as dots, their mean as a
    line, the optimum as a star with its interval) over faint curves of the other budgets, and a
    tick per budget at its optimum, so sliding N shows the optimum moving or staying. Axes are
    fixed per task across all frames.
    """
    import matplotlib.pyplot as plt

    from pretrain_diversity.figures.widgets import figure_png

    df = optimum.add_log_columns(inv.data, metric)
    conds = conditions or [c for c in inv.conditions if c != FULL_GRID]
    tasks = sorted(df["task"].unique())
    budgets = sorted(df["budget"].unique())
    colors = _budget_colors(budgets)
    xlim = (df["log2_r"].min() - 1, df["log2_r"].max() + 1)
    ylims = {t: (df[df.task == t][metric].min() * 100 - 2, df[df.task == t][metric].max() * 100 + 2)
             for t in tasks}
    frames = {}
    for ci, cond in enumerate(conds):
        dc = df[df.condition == cond]
        for bi, n in enumerate(budgets):
            fig, axes = plt.subplots(1, len(tasks), figsize=(4.4 * len(tasks), 3.3), squeeze=False)
            for ax, task in zip(axes[0], tasks):
                dt = dc[dc.task == task]
                for m in budgets:
                    g = dt[dt.budget == m].groupby("log2_r")[metric].mean()
                    if m != n and len(g):
                        ax.plot(g.index, g.to_numpy() * 100, "-", color=colors[m], lw=0.8,
                                alpha=0.35)
                    o = inv.optima[(inv.optima.condition == cond) & (inv.optima.task == task)
                                   & (inv.optima.budget == m)]
                    if len(o):  # the optimum of every budget, as a marker on the floor
                        ax.plot(o.iloc[0].log2_r_star, ylims[task][0], "^", color=colors[m],
                                mec="k", mew=0.5, ms=9, clip_on=False, zorder=5)
                s = dt[dt.budget == n]
                g = s.groupby("log2_r")[metric].mean()
                ax.scatter(s["log2_r"], s[metric] * 100, s=10, color=colors[n], alpha=0.5)
                ax.plot(g.index, g.to_numpy() * 100, "-", color=colors[n], lw=2)
                o = inv.optima[(inv.optima.condition == cond) & (inv.optima.task == task)
                               & (inv.optima.budget == n)]
                title = f"{task}, N = {n}"
                if len(o):
                    o = o.iloc[0]
                    ax.axvspan(o.log2_r_lo, o.log2_r_hi, color=colors[n], alpha=0.12)
                    ax.plot(o.log2_r_star, o.err_star * 100, "*", color=colors[n], mec="k", ms=14)
                    title += f": K*/n* ≈ {_ratio(o.r_star)}"
                ax.axvline(0, color="0.6", lw=0.8, ls=":")
                ax.set(xlim=xlim, ylim=ylims[task], xlabel="log2 (K / n)",
                       ylabel="test error (%)")
                ax.set_title(title, fontsize=9)
                ax.tick_params(labelsize=7)
            fig.suptitle(f"{cond}   (▲ on the floor: the optimum at each N; faint: other N)",
                         fontsize=9)
            fig.tight_layout()
            frames[(ci, bi)] = figure_png(fig, dpi=dpi)
    return frames, conds, [f"N = {n}" for n in budgets]


def condition_widget(inv: Invariance, *, metric: str = METRIC, dpi: int = 70,
                     width: str = "640px", conditions: list[str] | None = None):
    """Condition dropdown x budget slider over pre-rendered frames; works in the static book."""
    from pretrain_diversity.figures.widgets import frame_grid

    frames, conds, budgets = condition_frames(inv, metric=metric, dpi=dpi, conditions=conditions)
    return frame_grid(frames, conds, budgets, "condition", "budget", width=width)


# ----------------------------------------------------------------------------------- planning
def plan(spec: str | os.PathLike, *, images_per_s: float = IMAGES_PER_S,
         overhead_s: float = OVERHEAD_S, workers: int = 2) -> dict:
    """Runs, training images and estimated wall minutes of a study spec (nothing is run)."""
    from pretrain_diversity.sweeps.runner import load_study

    study = load_study(spec)
    configs, skipped = study.plan()
    images = sum(c.epochs * c.budget for c in configs)
    work = sum(c.epochs * c.budget * (c.width / DEFAULT_WIDTH) ** WIDTH_COST_EXPONENT
               for c in configs)
    minutes = (work / images_per_s + len(configs) * overhead_s / workers) / 60
    return dict(study=study.name, runs=len(configs), images=images, minutes=minutes,
                skipped=len(skipped))


def main(argv=None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m pretrain_diversity.studies.invariance",
                                description="Plan the issue-8 invariance studies (runs nothing).")
    p.add_argument("what", choices=("plan", "commands"))
    p.add_argument("--images-per-s", type=float, default=IMAGES_PER_S,
                   help="width-8 training images per second, all workers together")
    p.add_argument("--overhead-s", type=float, default=OVERHEAD_S, help="per run, per worker")
    args = p.parse_args(argv)
    root = F.find_root()
    if args.what == "commands":
        for k in KNOBS:
            print(command(k))
        return 0
    total = 0.0
    print(f"at {args.images_per_s:,.0f} width-8 images/s (2 workers) + {args.overhead_s:g} s per "
          f"run; width w costs (w/8)^{WIDTH_COST_EXPONENT} per image")
    for k in KNOBS:
        r = plan(root / SPECS[k], images_per_s=args.images_per_s, overhead_s=args.overhead_s)
        total += r["minutes"]
        print(f"  {k:9s} {r['runs']:4d} runs  {r['images'] / 1e6:5.1f} M images  "
              f"~{r['minutes']:4.0f} min   {command(k)}")
    print(f"  total: ~{total:.0f} min (the original sampler's grid is the Figure 1 study: "
          f"{F.RESULTS.as_posix()}, not rerun)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
