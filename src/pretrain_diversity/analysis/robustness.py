"""Does a verdict survive the choices that were equally valid? The robustness panel.

A reviewer recomputed the book's slope verdicts and found some flip between choices nobody would
defend as the one right one: test instead of validation error to locate the optima, dropping one
seed, a K grid with every second point, another way of reading a curve's minimum. A verdict that
flips under one of those is not a finding; the panel recomputes it under each and lets it stand
only if every check gives the same label, else "inconclusive", naming the checks that broke it.

A verdict function maps (table, metric, estimator) to (label, estimate, lo, hi): ``metric`` is the
column the optima are located on, ``estimator`` one of ``optimum.ESTIMATORS``. ``SlopeVerdict``
is the one the slope pages need (``optimum`` then ``verdict_rule.read_slope``); any other claim
can pass its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pretrain_diversity.analysis.bootstrap import percentiles, slope_draws
from pretrain_diversity.analysis.optimum import ESTIMATORS, drop_sparse_budgets, optima, ratio_trend
from pretrain_diversity.analysis.verdict_rule import INCONCLUSIVE, LEVEL, MARGIN, read_slope

VerdictFn = Callable[[pd.DataFrame, str, str], tuple]
AS_REPORTED = "as reported"
# The selection rule of every slope reading: optima located on validation error, test error
# reported at the selected point (and the panel's alternative location).
SELECT, REPORT = "val_error", "test_error"


@dataclass(frozen=True, kw_only=True)
class _SlopeReading:
    """What reading one slope needs: the bootstrap (draws, level, RNG seed, resampling) and the
    rule's margin. Every draw of one instance resamples seeds the same way for any table with the
    same seeds and budgets, which is what makes two conditions' draws paired."""

    n_boot: int = 1000
    level: float = LEVEL
    seed: int = 0
    margin: float = MARGIN
    resample: str = "budget"

    def _slope(self, table: pd.DataFrame, task: str, metric: str, estimator: str):
        """(slope, its bootstrap draws) of ``task``'s log2 r* on log2 N in ``table``."""
        opt, draws = optima(table[table["task"] == task], metric=metric, level=self.level,
                            n_boot=self.n_boot, seed=self.seed, resample=self.resample,
                            estimator=estimator, return_draws=True)
        tr = ratio_trend(opt, draws, level=self.level)
        if tr.empty:
            raise ValueError(f"task {task!r} has fewer than two budgets: no slope to read")
        return float(tr.iloc[0].slope), slope_draws(opt, draws)[task]

    def _read(self, slope: float, draws: np.ndarray) -> tuple:
        lo, hi = np.percentile(draws, percentiles(self.level)) if len(draws) else (np.nan, np.nan)
        r = read_slope(slope, lo, hi, margin=self.margin, level=self.level)
        return r.label, r.slope, r.lo, r.hi


@dataclass(frozen=True, kw_only=True)
class SlopeVerdict(_SlopeReading):
    """The slope verdict of one task: optima per budget, their trend, read against ±margin."""

    task: str | None = None  # None: the table must hold one task

    def __call__(self, table: pd.DataFrame, metric: str, estimator: str) -> tuple:
        tasks = sorted(table["task"].unique())
        task = self.task if self.task is not None else (tasks[0] if len(tasks) == 1 else None)
        if task is None or task not in tasks:
            raise ValueError(f"SlopeVerdict needs task= one of {tasks}, got {self.task!r}")
        return self._read(*self._slope(table, task, metric, estimator))


@dataclass(frozen=True, kw_only=True)
class SlopeDifference(_SlopeReading):
    """How much a knob changes a slope: condition's slope minus reference's, on one task, read by
    the same rule (``read_slope``: within the margin the knob leaves the drift as it is, beyond
    it with an interval clear of 0 the knob moves it).

    Both conditions' optima are drawn with the same RNG seed, so with the same seeds and budgets
    the i-th draw resamples the same seeds for both: the difference is a paired bootstrap, and
    every check of the panel (a seed left out, a thinner grid, another estimator) applies to both
    conditions at once.
    """

    task: str
    condition: str
    reference: str
    column: str = "condition"

    def __call__(self, table: pd.DataFrame, metric: str, estimator: str) -> tuple:
        (a, da), (b, db) = (self._slope(self._rows(table, g), self.task, metric, estimator)
                            for g in (self.condition, self.reference))
        return self._read(a - b, da - db)

    def _rows(self, table: pd.DataFrame, group: str) -> pd.DataFrame:
        rows = table[(table[self.column] == group) & (table["task"] == self.task)]
        if rows.empty:
            raise ValueError(f"no rows of {self.column} = {group!r} on task {self.task!r}")
        return rows


@dataclass
class Robustness:
    """The overall label (the verdict if every check agrees, else inconclusive), why, the panel."""

    label: str
    reason: str
    panel: pd.DataFrame = field(repr=False)  # check, label, estimate, lo, hi, agrees, note


def thin_grid(table: pd.DataFrame, offset: int = 0) -> pd.DataFrame:
    """The rows whose K is every second point of its (task, budget) grid, from position
    ``offset`` (0: the smallest K kept). The grid is the sorted distinct K of that budget."""
    if offset not in (0, 1):
        raise ValueError(f"offset must be 0 or 1, got {offset}")
    budget = table["n_classes"] * table["samples_per_class"]
    rank = table.groupby([table["task"], budget])["n_classes"].rank(method="dense").astype(int) - 1
    return table[rank % 2 == offset]


def robustness_panel(
    table: pd.DataFrame,
    verdict: VerdictFn | None = None,
    *,
    metric: str = "val_error",
    alt_metric: str | None = "test_error",
    estimator: str = "parabola",
    estimators=ESTIMATORS,
    seed_column: str = "seed",
    thin_offsets=(0,),
) -> Robustness:
    """Recompute ``verdict`` under each check and read whether it stands.

    Checks, after the verdict as reported (``metric``, ``estimator``, the whole table): (a) the
    optima located on ``alt_metric`` instead (skipped if None, the same, or not a column); (b)
    each seed left out in turn; (c) the K grid thinned to every second point (``thin_grid``, one
    check per offset in ``thin_offsets``), leaving out a budget thinned below
    ``optimum.MIN_K_FOR_OPTIMUM`` points, where no optimum can be located (on an already coarse
    grid that check otherwise reads grid ends); (d) each other estimator in ``estimators``. A check
    whose verdict raises ValueError (e.g. too few points left) counts as disagreeing, with the
    message in ``note``. With two seeds or fewer (b) is skipped: one seed left is no bootstrap.
    ``verdict`` defaults to ``SlopeVerdict()``.
    """
    verdict = verdict or SlopeVerdict()
    for col in ("task", "n_classes", "samples_per_class", metric, seed_column):
        if col not in table.columns:
            raise ValueError(f"results table lacks column {col!r}")
    if estimator not in ESTIMATORS:
        raise ValueError(f"unknown estimator={estimator!r}; allowed: {', '.join(ESTIMATORS)}")
    checks: list[tuple[str, pd.DataFrame, str, str]] = [(AS_REPORTED, table, metric, estimator)]
    if alt_metric and alt_metric != metric and alt_metric in table.columns:
        checks.append((f"optima located on {alt_metric}", table, alt_metric, estimator))
    seeds = sorted(table[seed_column].unique())
    if len(seeds) > 2:  # with two seeds, one left is no bootstrap at all
        checks += [(f"without seed {s}", table[table[seed_column] != s], metric, estimator)
                   for s in seeds]
    checks += [(f"every second K (from position {o})", drop_sparse_budgets(thin_grid(table, o)),
                metric, estimator) for o in thin_offsets]
    checks += [(f"estimator {e}", table, metric, e) for e in estimators if e != estimator]
    rows = []
    for name, t, m, e in checks:
        try:
            label, est, lo, hi = verdict(t, m, e)
            note = ""
        except ValueError as err:
            label, est, lo, hi, note = "failed", np.nan, np.nan, np.nan, str(err)
        rows.append(dict(check=name, metric=m, estimator=e, label=label, estimate=float(est),
                         lo=float(lo), hi=float(hi), note=note))
    panel = pd.DataFrame(rows)
    base = panel.iloc[0]
    if base.label == "failed":
        raise ValueError(f"the verdict as reported could not be computed: {base.note}")
    panel["agrees"] = panel["label"] == base.label
    broken = panel[~panel.agrees]
    if broken.empty:
        reason = (f"all {len(panel)} checks give '{base.label}' (estimates "
                  f"{panel.estimate.min():+.2f} to {panel.estimate.max():+.2f})")
        return Robustness(base.label, reason, panel)
    listed = "; ".join(f"{r.check} gives '{r.label}' ({r.estimate:+.2f} [{r.lo:+.2f}, {r.hi:+.2f}])"
                       if r.label != "failed" else f"{r.check} failed ({r.note})"
                       for r in broken.itertuples())
    reason = (f"'{base.label}' as reported ({base.estimate:+.2f} [{base.lo:+.2f}, {base.hi:+.2f}]) "
              f"does not survive {len(broken)} of {len(panel) - 1} checks: {listed}")
    return Robustness(INCONCLUSIVE, reason, panel)


def conflict_label(panel: pd.DataFrame) -> str:
    """The panel read by the conflict rule: the label as reported stands unless a check reaches
    a *different decisive* label (any label but 'inconclusive' and 'failed'). A check that only
    loses resolution (the argmin estimator's interval spans whole grid steps; a seed left out
    widens the interval) flags sensitivity without vetoing; a check that says the opposite
    vetoes. Its error rates beside the strict rule's are measured by simulation
    (``analysis.power.panel_rules``) before any page reads it."""
    base = panel.iloc[0].label
    other = panel.iloc[1:]
    conflicts = other[(other.label != base) & ~other.label.isin([INCONCLUSIVE, "failed"])]
    return INCONCLUSIVE if len(conflicts) else base


def robustness_by_task(table: pd.DataFrame, *, n_boot: int = 1000, level: float = LEVEL,
                       margin: float = MARGIN, seed: int = 0, **panel_options) -> pd.DataFrame:
    """The slope verdict's panel for every task: task, label, reason, checks, broken (the names
    of the checks that disagree), and the panel itself (a column of frames)."""
    rows = []
    for task in sorted(table["task"].unique()):
        v = SlopeVerdict(task=task, n_boot=n_boot, level=level, margin=margin, seed=seed)
        r = robustness_panel(table[table["task"] == task], v, **panel_options)
        rows.append(dict(task=task, label=r.label, reason=r.reason, checks=len(r.panel),
                         broken=", ".join(r.panel.check[~r.panel.agrees]), panel=r.panel))
    return pd.DataFrame(rows)


def robust_slope_verdicts(table: pd.DataFrame, *, select: str = SELECT,
                          report: str = REPORT, n_boot: int = 1000, level: float = LEVEL,
                          margin: float = MARGIN, seed: int = 0) -> pd.DataFrame:
    """The slope reading every page (and the power simulation) uses, per task: optima located on
    ``select`` (the panel's alternative on ``report``), the slope and its interval, the rule's
    label and reason as reported (``rule``, ``rule_reason``), the verdict after the panel
    (``verdict``, ``reason``), the checks that broke it (``broken``), and the panel."""
    rb = robustness_by_task(table, n_boot=n_boot, level=level, margin=margin, seed=seed,
                            metric=select, alt_metric=report)
    rows = []
    for r in rb.itertuples():
        base = r.panel.iloc[0]
        rule = read_slope(base.estimate, base.lo, base.hi, margin=margin, level=level)
        rows.append(dict(task=r.task, slope=rule.slope, lo=rule.lo, hi=rule.hi, rule=rule.label,
                         rule_reason=rule.reason, verdict=r.label, reason=r.reason,
                         broken=r.broken, checks=r.checks, panel=r.panel))
    return pd.DataFrame(rows)
