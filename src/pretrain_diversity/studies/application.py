"""Does the recipe pay at a larger budget? The validation behind ``book/application.md``.

The ratio r* is estimated (``application.estimate_ratio``) from the Figure 1 study's budgets at
least ``ESTIMATION_FACTOR`` times smaller than the target, on validation errors averaged over the
downstream tasks. At the target budget (the application study, ``studies/application.toml``) four
choices of K are compared on **test** error, paired by seed:

- ``recommended``: K* = sqrt(r* N), rounded to a power of two (the study's grid);
- ``standard``: every available class (the largest K that fits the pool and divides N);
- ``few classes``: K = 4, many images per class;
- ``oracle``: the grid point with the lowest validation error at the target budget, per task: what
  an expensive grid search at the full budget would pick (selected on validation, so it need not
  be the best on test).

The verdict rule is fixed here, before any target-budget result exists. On the error averaged over
tasks, with the paired-by-seed gain g = err(standard) - err(recommended) and its 95 % t-interval
over seeds:

- **reproduced**: g > 0 with an interval that excludes 0, and g at least half of the oracle's
  gain over the standard choice (the cheap estimate captures most of what a full grid finds);
- **partly reproduced**: g > 0, but its interval includes 0 or it is less than half the oracle's;
- **not reproduced**: g <= 0, or the recipe picks the standard choice itself.

The paper's "about 2 points" is printed beside g; with different data, model and scale only the
sign and the relative size carry over, not the number.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pretrain_diversity.analysis.recommend import (
    MEAN_TASK,
    RatioEstimate,
    Recommendation,
    estimate_ratio,
    few_classes_choice,
    mean_over_tasks,
    recommend,
    standard_choice,
)
from pretrain_diversity.studies.tradeoff import find_root

RESULTS = Path("results") / "application" / "runs.csv"
STUDY = Path("studies") / "application.toml"
COMMAND = (
    "pretrain-diversity sweep studies/application.toml --out runs/application --launcher processes "
    "--workers 2 --threads 1 --csv results/application/runs.csv"
)
TARGET_BUDGET = 32768
ESTIMATION_FACTOR = 8  # estimate only from budgets at least this many times smaller than the target
GRID = "powers_of_two"  # K* is rounded to the study's grid, so every choice is a measured point
PAPER_GAIN_POINTS = 2.0  # Zhang et al., ImageNet: K* beat the standard choice by about 2 points
SELECT_METRIC = "val_error"
EVAL_METRIC = "test_error"
CHOICES = ("recommended", "standard", "few classes", "oracle")
# Settings that must agree between the estimation and the target study for r* to carry over.
SETTINGS = ("dataset", "image_size", "arch", "width", "depth", "epochs", "batch_size", "lr",
            "momentum", "weight_decay", "warmup_frac", "augment")


# ------------------------------------------------------------------------------------ loading
def load_application(root: str | os.PathLike | None = None) -> pd.DataFrame:
    """The committed target-budget results; a clear error with the command if they are missing."""
    from pretrain_diversity.analysis.tables import load_results

    path = find_root(root) / RESULTS
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: the application page compares measured runs at the target "
            f"budget. Regenerate them from the repository root with\n    {COMMAND}\n(the study is "
            f"{STUDY}; about 20-25 minutes on 2 CPU cores) and commit results/application/."
        )
    return load_results(path)


def sweep_record(root: str | os.PathLike | None = None) -> dict | None:
    """The sweep record (command, wall time, machine) written beside the table, if any."""
    path = find_root(root) / RESULTS.parent / "sweep.json"
    return json.loads(path.read_text()) if path.exists() else None


def check_same_settings(estimation: pd.DataFrame, target: pd.DataFrame) -> None:
    """Raise if a training or model setting differs between (or within) the two studies."""
    for col in SETTINGS:
        if col in estimation and col in target:
            values = set(estimation[col].unique()) | set(target[col].unique())
            if len(values) > 1:
                raise ValueError(f"setting {col!r} differs between the studies: {sorted(values, key=str)};"
                                 " r* estimated under one setting says nothing about another")


# ------------------------------------------------------------------------------------ the plan
@dataclass
class Plan:
    """The estimate and the K each choice gives at the target budget (the oracle comes later)."""

    estimate: RatioEstimate
    budget: int
    pool_size: int
    max_per_class: int
    recommendation: Recommendation
    standard: tuple[int, int]
    few: tuple[int, int]

    @property
    def ks(self) -> dict[str, int]:
        return {"recommended": self.recommendation.K, "standard": self.standard[0],
                "few classes": self.few[0]}


def plan(estimation: pd.DataFrame, *, pool_size: int, max_per_class: int,
         budget: int = TARGET_BUDGET, factor: int = ESTIMATION_FACTOR, **estimate_kwargs) -> Plan:
    """Estimate r* from the budgets <= budget / factor and turn it into the three choices."""
    est = estimate_ratio(estimation, max_budget=budget // factor, metric=SELECT_METRIC,
                         **estimate_kwargs)
    assert max(est.budgets) * factor <= budget
    limits = dict(pool_size=pool_size, max_per_class=max_per_class, grid=GRID)
    return Plan(
        estimate=est, budget=budget, pool_size=pool_size, max_per_class=max_per_class,
        recommendation=recommend(est, budget, **limits),
        standard=standard_choice(budget, **limits),
        few=few_classes_choice(budget, **limits),
    )


def check_measured(target: pd.DataFrame, p: Plan) -> None:
    """Raise, naming the K to add to the study, if a choice was not run at the target budget."""
    at = target[target["n_classes"] * target["samples_per_class"] == p.budget]
    have = set(int(k) for k in at["n_classes"].unique())
    missing = {name: k for name, k in p.ks.items() if k not in have}
    if missing:
        raise ValueError(
            f"the application study has no runs at N = {p.budget:,} for "
            + ", ".join(f"the {name} choice K = {k}" for name, k in missing.items())
            + f" (measured K: {sorted(have)}). Add {sorted(set(missing.values()))} to n_classes in "
            f"{STUDY} and rerun\n    {COMMAND}\n(finished runs are cached; only the new ones train)."
        )


# ------------------------------------------------------------------------------------ compare
@dataclass(frozen=True)
class Paired:
    """Mean, standard deviation and 95 % t-interval over seeds of a paired difference (points)."""

    mean: float
    std: float
    n: int
    lo: float
    hi: float
    wins: int  # seeds on which the difference is > 0

    def text(self, positive: str | None = None) -> str:
        """``positive`` names what a difference > 0 means, to count the seeds where it holds."""
        if self.n < 2:
            return f"{self.mean:+.2f} (one seed)"
        wins = f"; {positive} on {self.wins}/{self.n} seeds" if positive else ""
        return (f"{self.mean:+.2f} ± {self.std:.2f} (95% interval {self.lo:+.2f} to "
                f"{self.hi:+.2f}{wins})")


def paired(a: pd.Series, b: pd.Series) -> Paired:
    """a - b over the seeds both have, in percentage points (inputs are error rates by seed)."""
    from scipy.stats import t as student

    d = ((a - b).dropna() * 100).to_numpy()
    n = len(d)
    if n == 0:
        return Paired(np.nan, np.nan, 0, np.nan, np.nan, 0)
    mean = float(d.mean())
    if n < 2:
        return Paired(mean, np.nan, n, np.nan, np.nan, int((d > 0).sum()))
    sd = float(d.std(ddof=1))
    half = float(student.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return Paired(mean, sd, n, mean - half, mean + half, int((d > 0).sum()))


@dataclass
class TaskComparison:
    """The four choices on one task (or the mean over tasks) at the target budget."""

    task: str
    ks: dict[str, int]  # choice -> K
    errors: pd.DataFrame  # index: choice; K, n, mean, std, n_seeds (error rates)
    by_seed: dict[str, pd.Series]  # choice -> test error by seed
    gain: Paired  # standard - recommended
    oracle_gain: Paired  # standard - oracle
    gap: Paired  # recommended - oracle
    curve: pd.DataFrame  # per K: test mean/std, select mean (the target-budget curve)


def _task_rows(target: pd.DataFrame, task: str) -> pd.DataFrame:
    if task == MEAN_TASK:
        return mean_over_tasks(target, (EVAL_METRIC, SELECT_METRIC))
    return target[target["task"] == task]


def compare(target: pd.DataFrame, p: Plan) -> dict[str, TaskComparison]:
    """Per downstream task, then the mean over tasks: errors of the four choices and the paired
    gains. The oracle is chosen per task by the seed-mean validation error at the target."""
    check_measured(target, p)
    target = target[target["n_classes"] * target["samples_per_class"] == p.budget]
    out = {}
    for task in [*sorted(target["task"].unique()), MEAN_TASK]:
        d = _task_rows(target, task)
        g = d.groupby("n_classes")
        curve = pd.DataFrame({"test_mean": g[EVAL_METRIC].mean(), "test_std": g[EVAL_METRIC].std(),
                              "select_mean": g[SELECT_METRIC].mean(), "n_seeds": g["seed"].nunique()})
        ks = dict(p.ks)
        ks["oracle"] = int(curve["select_mean"].idxmin())
        by_seed = {c: d[d["n_classes"] == k].groupby("seed")[EVAL_METRIC].mean()
                   for c, k in ks.items()}
        errors = pd.DataFrame({
            "K": [ks[c] for c in CHOICES],
            "n": [p.budget // ks[c] for c in CHOICES],
            "mean": [by_seed[c].mean() for c in CHOICES],
            "std": [by_seed[c].std() for c in CHOICES],
            "n_seeds": [by_seed[c].size for c in CHOICES],
        }, index=list(CHOICES))
        out[task] = TaskComparison(
            task=task, ks=ks, errors=errors, by_seed=by_seed,
            gain=paired(by_seed["standard"], by_seed["recommended"]),
            oracle_gain=paired(by_seed["standard"], by_seed["oracle"]),
            gap=paired(by_seed["recommended"], by_seed["oracle"]),
            curve=curve,
        )
    return out


def choice_table(c: TaskComparison) -> pd.DataFrame:
    """The page's table for one task: each choice's K, n, test error and its paired difference
    to the standard choice."""
    labels = {"recommended": "(i) recommended K*", "standard": "(ii) standard: every class",
              "few classes": "(iii) few classes", "oracle": "(iv) oracle: grid at the target"}
    rows = []
    for name in CHOICES:
        e = c.errors.loc[name]
        diff = paired(c.by_seed["standard"], c.by_seed[name])
        rows.append({
            "choice": labels[name],
            "K": int(e.K),
            "n": int(e.n),
            "test error (mean ± std)": f"{e['mean']:.1%} ± {e['std']:.1%}",
            "gain over (ii), points": "—" if name == "standard" else
            (f"{diff.mean:+.2f} ± {diff.std:.2f}" if diff.n > 1 else f"{diff.mean:+.2f}"),
        })
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------ verdict
def target_optimum(target: pd.DataFrame, p: Plan, **kwargs) -> pd.Series:
    """The measured optimum at the target budget (validation error, mean over tasks), located the
    same way as the estimate's: one ``optimum.optima`` row."""
    from pretrain_diversity.analysis.optimum import optima

    d = mean_over_tasks(target[target["n_classes"] * target["samples_per_class"] == p.budget])
    return optima(d, metric=SELECT_METRIC, level=p.estimate.level, **kwargs).iloc[0]


def verdict(cmp: dict[str, TaskComparison], p: Plan, measured: pd.Series | None = None
            ) -> tuple[str, str]:
    """(label, Markdown): the rule in the module docstring, applied to the mean over tasks."""
    m = cmp[MEAN_TASK]
    g, og, gap = m.gain, m.oracle_gain, m.gap
    rec, std = p.recommendation.K, p.standard[0]
    if rec == std:
        label = "not reproduced"
        why = (f"the estimate r* = {p.estimate.r_star:.2g} makes the recipe pick K = {rec}, the "
               f"standard choice itself, so it cannot beat it")
    elif not g.mean > 0:
        label = "not reproduced"
        why = f"the recommended K* = {rec} is no better than the standard K = {std}"
    elif g.n > 1 and g.lo > 0 and g.mean >= 0.5 * og.mean:
        label = "reproduced"
        why = (f"K* = {rec} beats the standard K = {std} (the 95% interval of the paired gain "
               f"excludes 0) and captures {_share(g.mean, og.mean)} of what a full grid at the "
               f"target gains")
    else:
        weak = []
        if not (g.n > 1 and g.lo > 0):
            weak.append("its 95% interval over seeds includes 0")
        if g.mean < 0.5 * og.mean:
            weak.append(f"it captures only {_share(g.mean, og.mean)} of the grid oracle's gain")
        label = "partly reproduced"
        why = f"K* = {rec} is better than the standard K = {std} on average, but " + " and ".join(weak)
    lines = [
        f"**Verdict: {label}.** Averaged over the downstream tasks, {why}.",
        "",
        f"- Gain of K* = {rec} over the standard choice K = {std} (points of test error, paired by "
        f"seed): {g.text('K* better')}. Zhang et al. report about {PAPER_GAIN_POINTS:g} points on ImageNet.",
        f"- Gain of the grid oracle (K = {m.ks['oracle']}, chosen on validation at N = "
        f"{p.budget:,}) over the standard choice: {og.text('oracle better')}; the gap K* minus oracle is "
        f"{gap.text()} (negative: K* did better on test).",
    ]
    for task, c in cmp.items():
        if task == MEAN_TASK:
            continue
        sig = c.gain.n > 1 and (c.gain.lo > 0 or c.gain.hi < 0)
        lines.append(f"- `{task}`: gain {c.gain.mean:+.2f} points "
                     f"({'interval excludes 0' if sig else 'interval includes 0'}), "
                     f"gap to its oracle (K = {c.ks['oracle']}) {c.gap.mean:+.2f} points.")
    e = p.estimate
    lines.append(
        f"- The estimate: r* = {e.r_star:.2g} ({e.level:.0%} interval {e.interval[0]:.2g} to "
        f"{e.interval[1]:.2g}) from N = {', '.join(f'{b:,}' for b in e.budgets)}"
        + ("" if e.consistent else "; the per-budget optima there already disagree") + "."
    )
    if measured is not None:
        lo, hi = 2 ** measured.log2_r_lo, 2 ** measured.log2_r_hi
        overlap = lo <= e.interval[1] and e.interval[0] <= hi
        fold = max(measured.r_star / e.r_star, e.r_star / measured.r_star)
        lines.append(
            f"- Measured at N = {p.budget:,}, the optimum (validation error, mean over tasks) is at "
            f"r = {measured.r_star:.2g} ({e.level:.0%} interval {lo:.2g} to {hi:.2g}; K ≈ "
            f"{measured.K_star:.0f}), {fold:.2g}-fold "
            f"{'above' if measured.r_star > e.r_star else 'below'} the estimate. "
            + ("The two intervals overlap: consistent with a ratio that carried over to the "
               "larger budget." if overlap else
               "The two intervals do not overlap: the optimal ratio moved between the small "
               "budgets and the target, against the recipe's premise.")
        )
    return label, "\n".join(lines)


def _fmt_ratio(r: float) -> str:
    return f"1/{1 / r:.0f}" if r < 1 else f"{r:.0f}"


def _share(a: float, b: float) -> str:
    if not (np.isfinite(a) and np.isfinite(b)) or b <= 0:
        return "all (the oracle gains nothing)" if b <= 0 else "an undefined share"
    return f"{a / b:.0%}"


# ------------------------------------------------------------------------------------ plots
_STYLE = {"recommended": ("*", "C3", 16), "standard": ("s", "C0", 9),
          "few classes": ("^", "C2", 9), "oracle": ("D", "k", 7)}


def plot_target(cmp: dict[str, TaskComparison], p: Plan):
    """One panel per task and one for the mean: test error along the target budget (mean ± std
    over seeds) with the four choices marked and the K interval of the estimate shaded."""
    import matplotlib.pyplot as plt

    tasks = list(cmp)
    cols = 2 if len(tasks) > 2 else len(tasks)
    rows = -(-len(tasks) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.9 * rows), squeeze=False)
    for ax in axes.flat[len(tasks):]:
        ax.axis("off")
    rec = p.recommendation
    for ax, task in zip(axes.flat, tasks):
        c = cmp[task]
        x = np.log2(c.curve.index.to_numpy(float))
        mu, sd = c.curve["test_mean"] * 100, c.curve["test_std"].fillna(0) * 100
        ax.plot(x, mu, "-", color="0.3", lw=1.5)
        ax.fill_between(x, mu - sd, mu + sd, color="0.6", alpha=0.25, lw=0)
        if rec.K_interval is not None:
            ax.axvspan(*np.log2(rec.K_interval), color="C3", alpha=0.1,
                       label=f"K* interval ({p.estimate.level:.0%})")
        for name in CHOICES:
            k = c.ks[name]
            marker, col, ms = _STYLE[name]
            ax.plot(math.log2(k), c.curve.loc[k, "test_mean"] * 100, marker, color=col, ms=ms,
                    mec="k", mew=0.6, ls="none", label=f"{name}: K = {k}")
        ax.set_xticks(x, [f"{2 ** t:.0f}" for t in x], rotation=45)
        ax.set(xlabel=f"K classes at N = {p.budget:,} (log scale)", ylabel="test error (%)",
               title=task)
        ax.legend(fontsize=7, loc="upper center")
    fig.tight_layout()
    return fig


def plot_ratio_by_budget(estimation: pd.DataFrame, target: pd.DataFrame, p: Plan, **kwargs):
    """The optimal ratio (validation error, mean over tasks) at every measured budget, the
    budgets used for the estimate filled, the pooled estimate and its interval as a band."""
    import matplotlib.pyplot as plt

    from pretrain_diversity.analysis.optimum import optima

    both = pd.concat([mean_over_tasks(estimation, (SELECT_METRIC,)),
                      mean_over_tasks(target, (SELECT_METRIC,))], ignore_index=True)
    opt = optima(both, metric=SELECT_METRIC, level=p.estimate.level, **kwargs)
    e = p.estimate
    fig, ax = plt.subplots(figsize=(6.2, 3.8))
    ns = opt["budget"].to_numpy(float)
    ax.axhspan(*e.interval, color="C3", alpha=0.12, label=f"estimate, {e.level:.0%} interval")
    ax.axhline(e.r_star, color="C3", lw=1.2, label=f"estimate r* = {e.r_star:.2g}")
    used = opt["budget"].isin(e.budgets).to_numpy()
    for mask, face, label in ((used, "k", "used for the estimate"), (~used, "white", "not used")):
        o = opt[mask]
        if len(o):
            ax.errorbar(o["budget"], o["r_star"],
                        yerr=[o["r_star"] - 2 ** o["log2_r_lo"], 2 ** o["log2_r_hi"] - o["r_star"]],
                        fmt="o", color="k", mfc=face, capsize=3, label=f"measured optimum, {label}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xticks(ns, [f"{n:,.0f}" for n in ns])
    lo = min(np.nanmin(opt["log2_r_lo"]), math.log2(e.interval[0]))
    hi = max(np.nanmax(opt["log2_r_hi"]), math.log2(e.interval[1]))
    ticks = np.arange(math.floor(lo), math.ceil(hi) + 1)
    ax.set_yticks(2.0**ticks, [_fmt_ratio(2.0**t) for t in ticks])
    ax.minorticks_off()
    ax.set(xlabel="budget N = K n", ylabel="optimal ratio r* = K*/n*",
           title="Is the optimal ratio the same at every budget?")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig, opt


# ------------------------------------------------------------------------------------ widget
def recommendation_frames(p: Plan, measured: dict[int, pd.DataFrame],
                          budgets=tuple(2**k for k in range(11, 21)), dpi: int = 72):
    """PNG frames, one per target budget N: the recommended K*, n* (with the interval), the
    standard and few-class choices on a K axis, and the measured curve where N was run.

    ``measured`` maps a budget to its mean-over-tasks rows (``mean_over_tasks``).
    """
    import matplotlib.pyplot as plt

    from pretrain_diversity.figures.widgets import figure_png

    frames, labels = [], []
    kmax = math.log2(p.pool_size) + 0.5
    errs = [d[EVAL_METRIC].to_numpy() * 100 for d in measured.values()]
    ylim = (min(e.min() for e in errs) - 1, max(e.max() for e in errs) + 1) if errs else (0, 1)
    for n_total in budgets:
        limits = dict(pool_size=p.pool_size, max_per_class=p.max_per_class, grid=GRID)
        r = recommend(p.estimate, n_total, **limits)
        std = standard_choice(n_total, **limits)
        few = few_classes_choice(n_total, **limits)
        fig, (top, ax) = plt.subplots(2, 1, figsize=(6.2, 4.4), sharex=True,
                                      gridspec_kw={"height_ratios": [1, 3]})
        top.axvspan(*np.log2(r.K_interval), color="C3", alpha=0.15)
        top.plot(math.log2(r.K), 0, "*", color="C3", ms=16, mec="k")
        top.plot(math.log2(std[0]), 0, "s", color="C0", ms=9, mec="k")
        top.plot(math.log2(few[0]), 0, "^", color="C2", ms=9, mec="k")
        top.set_yticks([])
        top.set_title(f"N = {n_total:,}: K* = {r.K:,}, n* = {r.n:,} (K from {r.K_interval[0]:,.0f} "
                      f"to {r.K_interval[1]:,.0f}); standard K = {std[0]:,}", fontsize=9)
        d = measured.get(n_total)
        if d is not None:
            g = d.groupby("n_classes")[EVAL_METRIC].agg(["mean", "std"])
            x = np.log2(g.index.to_numpy(float))
            ax.plot(x, g["mean"] * 100, "o-", color="0.3", ms=3)
            ax.fill_between(x, (g["mean"] - g["std"].fillna(0)) * 100,
                            (g["mean"] + g["std"].fillna(0)) * 100, color="0.6", alpha=0.25, lw=0)
            for k, (marker, col, ms) in ((r.K, _STYLE["recommended"]), (std[0], _STYLE["standard"]),
                                         (few[0], _STYLE["few classes"])):
                if k in g.index:
                    ax.plot(math.log2(k), g.loc[k, "mean"] * 100, marker, color=col, ms=ms, mec="k")
            used = n_total in p.estimate.budgets
            ax.set_title("measured (mean over tasks ± std over seeds)"
                         + ("; used for the estimate" if used else ""), fontsize=8)
        else:
            ax.text(0.5, 0.5, f"no runs at N = {n_total:,}: only the recommendation",
                    transform=ax.transAxes, ha="center", va="center", color="0.4")
        ax.set_xlim(-0.5, kmax)
        ax.set_ylim(*ylim)
        ax.set_xticks(range(0, int(kmax) + 1, 2), [f"{2 ** k}" for k in range(0, int(kmax) + 1, 2)])
        ax.set(xlabel="K classes (log scale)", ylabel="test error (%)")
        frames.append(figure_png(fig, dpi=dpi))
        labels.append(f"N = {n_total:,}")
    return frames, labels


def recommendation_widget(p: Plan, measured: dict[int, pd.DataFrame], *, start_budget=None,
                          width: str = "600px", **kwargs):
    """A slider over target budgets N showing each frame of ``recommendation_frames``."""
    from pretrain_diversity.figures.widgets import frame_slider

    budgets = kwargs.pop("budgets", tuple(2**k for k in range(11, 21)))
    frames, labels = recommendation_frames(p, measured, budgets=budgets, **kwargs)
    start = list(budgets).index(start_budget) if start_budget in budgets else 0
    return frame_slider(frames, labels, "target budget", start=start, width=width)
