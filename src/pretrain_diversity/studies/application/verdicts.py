"""The application page's words and tables: the verdict by the rule fixed before any target run
(see the package docstring), the choice tables, and the estimate in words."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pretrain_diversity.analysis.recommend import MEAN_TASK
from pretrain_diversity.studies.application.stats import (
    CHOICES, PAPER_GAIN_POINTS, Plan, TaskComparison, paired,
)


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


def _share(a: float, b: float) -> str:
    if not (np.isfinite(a) and np.isfinite(b)) or b <= 0:
        return "all (the oracle gains nothing)" if b <= 0 else "an undefined share"
    return f"{a / b:.0%}"


def provenance(target: pd.DataFrame, p: Plan, root=None) -> str:
    """Markdown: the command that made the target table, what the two studies contribute, and the
    target study's measured wall time."""
    from pretrain_diversity.paths import repo_root
    from pretrain_diversity.studies.application.load import RESULTS, RUNS_DIR, STUDY, sweep_record
    from pretrain_diversity.studies.application.stats import ESTIMATION_FACTOR
    from pretrain_diversity.sweeps.provenance import provenance_block
    from pretrain_diversity.sweeps.runner import load_study

    root = repo_root(root)
    study = load_study(root / STUDY)
    runs = target.drop_duplicates("run_id")
    details = [
        f"- target study: `{STUDY.as_posix()}` ({study.description}); "
        f"{len(runs)} runs, {runs.seed.nunique()} seeds, downstream tasks "
        f"{', '.join(sorted(target.task.unique()))}; the same model and training settings as the "
        f"Figure 1 study (checked when this page is built)",
        f"- estimation: `results/figure1/runs.csv`, budgets "
        f"{', '.join(f'{b:,}' for b in p.estimate.budgets)} only (at least "
        f"{ESTIMATION_FACTOR}× below the target; the study's other budgets are shown, not used)",
    ]
    return provenance_block(sweep_record(root), STUDY, RESULTS, RUNS_DIR, details,
                            label="measured wall time of the target study:", processor=True,
                            missing="measured wall time: not recorded (no `sweep.json` beside "
                                    "the table)")


def estimate_text(p: Plan) -> str:
    """Markdown: r* with its interval, and the K* x n* it gives at the target budget."""
    e, rec = p.estimate, p.recommendation
    return (
        f"From N = {', '.join(f'{b:,}' for b in e.budgets)}: **r\\* = {e.r_star:.2g}** "
        f"({e.level:.0%} interval {e.interval[0]:.2g} to {e.interval[1]:.2g}). For the target "
        f"N = {p.budget:,}, √(r\\*·N) = {rec.K_exact:.0f}, so the recommendation is "
        f"**K\\* = {rec.K:,} classes × n\\* = {rec.n:,} images** (the interval of r\\* spans K from "
        f"{rec.K_interval[0]:.0f} to {rec.K_interval[1]:.0f}, i.e. {rec.K_interval_grid[0]:,} to "
        f"{rec.K_interval_grid[1]:,} on the grid)."
        + ("" if not e.warnings else "\n\n" + "\n".join(f"> **Warning:** {w}" for w in e.warnings))
    )


def per_budget_table(p: Plan) -> pd.DataFrame:
    """The estimate's budgets, one row each: best K on the grid, K*, r* and its interval."""
    e = p.estimate
    return pd.DataFrame({
        "N": [f"{b:,}" for b in e.per_budget.budget],
        "best K on the grid": e.per_budget.K_grid,
        "K* (parabola)": e.per_budget.K_star.round().astype(int),
        "r*": [f"{r:.2g}" for r in e.per_budget.r_star],
        f"{e.level:.0%} interval": [f"{2 ** lo:.2g} – {2 ** hi:.2g}"
                                     for lo, hi in zip(e.per_budget.log2_r_lo,
                                                       e.per_budget.log2_r_hi)],
        "interior": ["yes" if i else "NO" for i in e.per_budget.interior],
    })


def task_heading(task: str) -> str:
    return f"**{task}**" + (" (the headline: one model for all tasks)" if task == MEAN_TASK else "")


def gain_text(c: TaskComparison) -> str:
    """Markdown: K*'s paired gain over the standard choice and its gap to the oracle."""
    return (f"Gain of K\\* over the standard choice, paired by seed: {c.gain.text('K* better')} "
            f"points (Zhang et al.: about {PAPER_GAIN_POINTS:g} points on ImageNet). "
            f"Gap to the oracle (K\\* minus oracle): {c.gap.text()} points.")
