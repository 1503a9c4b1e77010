"""The application page's numbers in prose, every one read from the plan and the two tables, and
the estimate's slope read by the shared rule (``verdict_rule.read_slope``)."""

from __future__ import annotations

import pandas as pd

from pretrain_diversity.analysis.verdict_rule import read_slope
from pretrain_diversity.studies.application.stats import ESTIMATION_FACTOR, PAPER_GAIN_POINTS, Plan
from pretrain_diversity.analysis.bootstrap import distinct_draws


def _at(target: pd.DataFrame, budget: int) -> pd.DataFrame:
    return target[target["n_classes"] * target["samples_per_class"] == budget]


def procedure_numbers(p: Plan, target: pd.DataFrame) -> str:
    """Markdown: the procedure's numbers on this page's data."""
    at = _at(target, p.budget)
    return (
        f"In numbers: the estimate uses N = {', '.join(f'{b:,}' for b in p.estimate.budgets)} "
        f"(at least {ESTIMATION_FACTOR}× below the target N = {p.budget:,}); the pool holds "
        f"{p.pool_size:,} classes; the standard choice is K = {p.standard[0]:,} "
        f"(n = {p.standard[1]:,}), few classes K = {p.few[0]:,} (n = {p.few[1]:,}); the target "
        f"grid has {at.n_classes.nunique()} values of K ({int(at.n_classes.min()):,} to "
        f"{int(at.n_classes.max()):,}) at {at.seed.nunique()} seeds. The paper reports a gain of "
        f"about {PAPER_GAIN_POINTS:g} points over its standard choice."
    )


def slope_reading(p: Plan) -> str:
    """Markdown: does r* move over the estimate's budgets? Read by the shared rule."""
    e = p.estimate
    if len(e.budgets) < 2:
        return "The estimate has one budget: it cannot say whether r* moves with N."
    r = read_slope(e.slope, *e.slope_interval, level=e.level)
    return (f"Over the estimate's budgets the slope of log2 r* on log2 N reads '{r.label}' by the "
            f"shared rule: {r.reason}. The recipe assumes 'invariant'.")


def trust_notes(p: Plan, target: pd.DataFrame) -> str:
    """Markdown bullets: seeds, bootstrap draws and the estimate's budget span, counted."""
    seeds = _at(target, p.budget).seed.nunique()
    b = p.estimate.budgets
    span = (f"budgets a factor {max(b) / min(b):.0f} apart" if len(b) > 1 else "one budget")
    return "\n".join([
        f"- {seeds} seeds give a paired t-interval with {seeds - 1} degrees of freedom: wide, as "
        f"it should be.",
        f"- The interval of r\\* is a bootstrap over {p.estimate.n_seeds} seeds "
        f"({distinct_draws(p.estimate.n_seeds)} distinct draws per budget), and it runs narrow: "
        f"its coverage on synthetic tables with a known r\\* is checked in "
        f"`tests/test_application.py`. The band of K it implies is narrower than the real "
        f"uncertainty.",
        "- The validation splits that pick K are small, so the estimate and the oracle both carry "
        "selection noise; that noise is part of what the recipe really costs.",
        f"- The estimate rests on {span}, and the parabola that places each optimum between grid "
        f"points adds an error no interval includes.",
    ])


def setting_table(p: Plan, target: pd.DataFrame) -> pd.DataFrame:
    """Our application setting beside the paper's, the right column computed."""
    at = _at(target, p.budget)
    tasks = sorted(at.task.unique())
    return pd.DataFrame([
        ("estimation", "small ImageNet subsets, details not known here",
         f"the Figure 1 study's N = {', '.join(f'{b:,}' for b in p.estimate.budgets)}, "
         f"validation error averaged over {len(tasks)} downstream tasks"),
        ("target budget", "ImageNet scale",
         f"N = {p.budget:,} images, {p.budget / max(p.estimate.budgets):.0f}× above the largest "
         f"estimation budget"),
        ("standard choice", "all 1,000 ImageNet classes",
         f"every class that fits: K = {p.standard[0]:,} of a pool of {p.pool_size:,} "
         f"(n = {p.standard[1]:,})"),
        ("comparison", "downstream accuracy, several data sets",
         f"test error of linear probes on {len(tasks)} tasks, paired by seed, "
         f"{at.seed.nunique()} seeds; regret against the best K on test"),
        ("gain", f"about {PAPER_GAIN_POINTS:g} points on average", "the tables above"),
    ], columns=["", "Zhang et al. (2023)", "here"])
