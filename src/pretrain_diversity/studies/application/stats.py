"""The application statistics: r* from the small budgets, the three choices it gives at the
target, the oracle, and the paired-by-seed gains between them. Pure functions of the two tables."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pretrain_diversity.analysis.paired import Paired, paired  # noqa: F401 (re-exported)
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
from pretrain_diversity.studies.application.load import COMMAND, STUDY


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


def check_same_settings(estimation: pd.DataFrame, target: pd.DataFrame) -> None:
    """Raise if a training or model setting differs between (or within) the two studies."""
    for col in SETTINGS:
        if col in estimation and col in target:
            values = set(estimation[col].unique()) | set(target[col].unique())
            if len(values) > 1:
                raise ValueError(f"setting {col!r} differs between the studies: {sorted(values, key=str)};"
                                 " r* estimated under one setting says nothing about another")


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
    if max(est.budgets) * factor > budget:
        raise ValueError(f"the estimate used N = {max(est.budgets):,}, which is not factor={factor} "
                         f"times below the target budget={budget:,}")
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


def target_optimum(target: pd.DataFrame, p: Plan, **kwargs) -> pd.Series:
    """The measured optimum at the target budget (validation error, mean over tasks), located the
    same way as the estimate's: one ``optimum.optima`` row."""
    from pretrain_diversity.analysis.optimum import optima

    d = mean_over_tasks(target[target["n_classes"] * target["samples_per_class"] == p.budget])
    return optima(d, metric=SELECT_METRIC, level=p.estimate.level, **kwargs).iloc[0]
