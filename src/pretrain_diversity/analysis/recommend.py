"""Zhang et al.'s practical result as an API: choose the number of pre-training classes for a large
budget from cheap small-budget runs.

If the optimal class-to-sample ratio r* = K*/n* does not depend on the budget N, it can be
measured where runs are cheap and carried to the real budget: K* = sqrt(r* N), n* = N / K*.

- ``estimate_ratio``: r* with a bootstrap interval from a results table (``analysis.tables.collect``),
  from the budgets up to ``max_budget`` only. Each budget's optimum comes from
  ``optimum.optima`` (the parabola through the best grid point and its neighbours, in log K);
  the budgets are pooled by the **geometric mean** of their r* (the mean of log2 r*, every budget
  weighted equally). Why: under the claim each budget measures the same log r*, the optimum is
  located on a log scale where the curve is close to a parabola, and with three seeds the
  bootstrap variances are too coarse to weight budgets by. The interval is the percentile
  interval of that mean over bootstrap draws (seeds resampled independently at each budget).
  When the per-budget optima move with N (the slope of log r* on log N excludes 0), the estimate
  says so: the recipe's premise then fails over the estimation budgets themselves.
- ``recommend``: K* for a target budget, rounded to a K that divides N (nearest in log K), within
  the data set's limits (K at most the pool of classes, n = N / K at most the images per class).
  Budgets that cannot be split raise ``ConfigError`` saying why and which budgets can.
- ``standard_choice`` (every available class: the largest K that fits) and ``few_classes_choice``
  (K = 4, many images per class) are the alternatives the validation compares against.

The selection metric defaults to the probe's **validation** error: choosing K is choosing a
hyper-parameter of the pre-training set, so no test error enters it. Test errors are for judging
the choice afterwards (``studies.application``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pretrain_diversity.analysis.formatting import ratio_grouped
from pretrain_diversity.config import ConfigError
from pretrain_diversity.analysis.bootstrap import percentiles
from pretrain_diversity.analysis.optimum import optima, ratio_trend

GRIDS = ("divisors", "powers_of_two")
MEAN_TASK = "mean over tasks"
ESTIMATION_METRIC = "val_error"
FEW_CLASSES = 4  # the smallest K of the Figure 1 grids at N >= 4096: the intra-class end
RUN_KEYS = ["budget", "n_classes", "samples_per_class", "seed"]


# ------------------------------------------------------------------------------------ tasks
def mean_over_tasks(df: pd.DataFrame, metrics=("test_error", "val_error")) -> pd.DataFrame:
    """One row per run: each metric averaged over the run's downstream tasks (task = MEAN_TASK).

    Every run must have been probed on the same tasks, or the means would not be comparable.
    """
    metrics = [m for m in metrics if m in df]
    df = df.copy()
    if "budget" not in df:
        df["budget"] = df["n_classes"] * df["samples_per_class"]
    tasks = df.groupby(RUN_KEYS)["task"].agg(lambda t: tuple(sorted(set(t))))
    if tasks.nunique() != 1:
        odd = tasks[tasks != tasks.mode().iloc[0]]
        raise ValueError(
            f"runs were probed on different task sets ({sorted(set(tasks))}); e.g. "
            f"{odd.index[0]} has {odd.iloc[0]}: average over tasks only across equal sets"
        )
    out = df.groupby(RUN_KEYS, as_index=False)[metrics].mean()
    out["task"] = MEAN_TASK
    out["n_tasks"] = len(tasks.iloc[0])
    return out


def select_task(df: pd.DataFrame, task: str | None, metrics=("test_error", "val_error")):
    """The rows of one task, or (task None or MEAN_TASK) the per-run mean over tasks."""
    if task is None or task == MEAN_TASK:
        return mean_over_tasks(df, metrics)
    sub = df[df["task"] == task]
    if sub.empty:
        raise ValueError(f"no rows for task {task!r}; the table has {sorted(df['task'].unique())}")
    return sub


# ------------------------------------------------------------------------------------ estimate
@dataclass
class RatioEstimate:
    """r* = K*/n* pooled over budgets, with a percentile bootstrap interval at ``level``."""

    r_star: float
    interval: tuple[float, float]
    level: float
    task: str
    metric: str
    budgets: list[int]
    per_budget: pd.DataFrame = field(repr=False)  # optimum.optima rows, one per budget
    slope: float  # of log2 r* on log2 N over the budgets (NaN with one budget)
    slope_interval: tuple[float, float]
    consistent: bool  # False when the slope's interval excludes 0
    n_boot: int
    n_seeds: int
    draws: np.ndarray = field(repr=False)  # bootstrap draws of the pooled log2 r*
    warnings: list[str] = field(default_factory=list)
    method: str = ""

    @property
    def log2_r_star(self) -> float:
        return math.log2(self.r_star)

    def describe(self) -> str:
        """A few lines for the command line and the book."""
        pct = f"{self.level:.0%}"
        lo, hi = self.interval
        lines = [
            f"r* = K*/n* = {ratio_grouped(self.r_star)} ({pct} bootstrap interval {ratio_grouped(lo)} to {ratio_grouped(hi)}) "
            f"for {self.task}, selected on {self.metric}, from N = "
            f"{', '.join(f'{n:,}' for n in self.budgets)} ({self.n_seeds} seeds)",
        ]
        for r in self.per_budget.itertuples():
            lines.append(
                f"  N = {r.budget:>7,}: r* = {ratio_grouped(r.r_star)} [{ratio_grouped(2 ** r.log2_r_lo)}, "
                f"{ratio_grouped(2 ** r.log2_r_hi)}]  (K* = {r.K_star:.0f}, n* = {r.n_star:.0f}"
                f"{'' if r.interior else '; AT THE GRID EDGE'})"
            )
        lines.append(f"pooling: {self.method}")
        lines.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(lines)


def estimate_ratio(
    df: pd.DataFrame,
    *,
    task: str | None = None,
    max_budget: int | None = None,
    metric: str = ESTIMATION_METRIC,
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> RatioEstimate:
    """Estimate r* from the runs at budgets <= ``max_budget`` (all budgets if None).

    ``task`` None (or ``MEAN_TASK``) uses each run's error averaged over its downstream tasks:
    one pre-trained model serves every task, so one K is chosen for all of them.
    """
    if metric not in df:
        raise ValueError(f"results table has no {metric!r} column")
    if max_budget is not None:
        budgets = sorted(int(b) for b in (df["n_classes"] * df["samples_per_class"]).unique())
        df = df[df["n_classes"] * df["samples_per_class"] <= max_budget]
        if df.empty:
            raise ValueError(f"no runs at budgets N <= {max_budget:,}; the table has N = {budgets}")
    d = select_task(df, task, (metric,))
    opt, draws = optima(d, metric=metric, level=level, n_boot=n_boot, seed=seed,
                        return_draws=True)
    name = opt["task"].iloc[0]
    budgets = [int(b) for b in opt["budget"]]
    x = float(opt["log2_r_star"].mean())
    boot = np.stack([draws[(name, b)] for b in budgets], axis=1).mean(axis=1)
    q = percentiles(level)
    lo, hi = np.percentile(boot, q) if len(boot) else (np.nan, np.nan)
    warnings = []
    for r in opt[~opt["interior"]].itertuples():
        warnings.append(
            f"at N = {r.budget:,} the best K is the grid's {'smallest' if r.K_grid == r.K_min else 'largest'} "
            f"(K = {r.K_grid}): that budget's r* is only a bound; widen its grid"
        )
    trend = ratio_trend(opt, draws, level=level)
    if len(trend):
        t = trend.iloc[0]
        slope, s_lo, s_hi = float(t.slope), float(t.slope_lo), float(t.slope_hi)
        consistent = not (s_lo > 0 or s_hi < 0)
        if not consistent:
            warnings.append(
                f"the per-budget optima disagree: log2 r* moves by {slope:+.2f} per doubling of N "
                f"({level:.0%} interval {s_lo:+.2f} to {s_hi:+.2f}, excluding 0), so the ratio is "
                f"not invariant even over the estimation budgets and the pooled r* is an average "
                f"of different optima"
            )
    else:
        slope, s_lo, s_hi, consistent = float("nan"), float("nan"), float("nan"), True
    method = (
        "geometric mean of the per-budget r* (mean of log2 r*, budgets weighted equally); "
        f"{level:.0%} percentile interval of that mean over {n_boot} bootstrap draws, seeds "
        "resampled independently at each budget"
        if len(budgets) > 1 else
        f"a single budget: its r* and {level:.0%} percentile interval over {n_boot} draws of seeds"
    )
    return RatioEstimate(
        r_star=float(2**x),
        interval=(float(2**lo), float(2**hi)),
        level=level,
        task=name,
        metric=metric,
        budgets=budgets,
        per_budget=opt,
        slope=slope,
        slope_interval=(s_lo, s_hi),
        consistent=consistent,
        n_boot=n_boot,
        n_seeds=int(opt["n_seeds"].min()),
        draws=boot,
        warnings=warnings,
        method=method,
    )


# ------------------------------------------------------------------------------------ recommend
def _check_budget(budget, pool_size: int, max_per_class: int) -> None:
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise ConfigError(f"budget N must be a positive whole number of images, got {budget!r}")
    for name, v in (("pool_size", pool_size), ("max_per_class", max_per_class)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ConfigError(f"{name} must be a positive integer, got {v!r}")
    if budget > pool_size * max_per_class:
        raise ConfigError(
            f"budget N = {budget:,} cannot be realised: the data set holds at most {pool_size:,} "
            f"classes x {max_per_class:,} images per class = {pool_size * max_per_class:,} images"
        )


def _divisors(n: int) -> list[int]:
    small, large = [], []
    for d in range(1, math.isqrt(n) + 1):
        if n % d == 0:
            small.append(d)
            if d != n // d:
                large.append(n // d)
    return small + large[::-1]


def class_limits(budget: int, pool_size: int, max_per_class: int) -> tuple[int, int]:
    """(K_lo, K_hi): the K allowed at budget N by n = N/K <= max_per_class and K <= pool, N."""
    return max(1, -(-budget // max_per_class)), min(pool_size, budget)


def candidate_classes(budget: int, pool_size: int, max_per_class: int,
                      grid: str = "divisors") -> list[int]:
    """Every K that splits N into whole classes within the limits (ascending).

    ``grid="divisors"``: every divisor of N; ``"powers_of_two"``: the powers of two among them.
    Raises ConfigError, with the reason and the nearest budgets that can be split, if none fits.
    """
    if grid not in GRIDS:
        raise ConfigError(f"unknown grid={grid!r}; allowed: {', '.join(GRIDS)}")
    _check_budget(budget, pool_size, max_per_class)
    lo, hi = class_limits(budget, pool_size, max_per_class)
    ks = [k for k in _divisors(int(budget)) if lo <= k <= hi and _on_grid(k, grid)]
    if not ks:
        near = _nearest_splittable(int(budget), pool_size, max_per_class, grid)
        what = "a power of two dividing N" if grid == "powers_of_two" else "a divisor of N"
        raise ConfigError(
            f"budget N = {budget:,} cannot be split into K classes of n = N/K images: K must be "
            f"{what} with {lo:,} <= K <= {hi:,} (K at most the pool of {pool_size:,} classes, "
            f"n at most {max_per_class:,} images per class), and none is"
            + (f"; nearest budgets that can be split: {' and '.join(f'{b:,}' for b in near)}"
               if near else "")
        )
    return ks


def _on_grid(k: int, grid: str) -> bool:
    return grid == "divisors" or (k & (k - 1)) == 0


def _splittable(n: int, pool_size: int, max_per_class: int, grid: str) -> bool:
    if n < 1 or n > pool_size * max_per_class:
        return False
    lo, hi = class_limits(n, pool_size, max_per_class)
    if grid == "powers_of_two":
        return any(n % (1 << j) == 0 and lo <= 1 << j <= hi for j in range(hi.bit_length()))
    return any(lo <= k <= hi for k in _divisors(n))


def _nearest_splittable(n: int, pool_size: int, max_per_class: int, grid: str,
                        reach: int = 10_000) -> list[int]:
    """The nearest budgets below and above ``n`` (within ``reach``) that can be split."""
    below = next((m for m in range(n - 1, max(0, n - reach), -1)
                  if _splittable(m, pool_size, max_per_class, grid)), None)
    above = next((m for m in range(n + 1, n + reach)
                  if _splittable(m, pool_size, max_per_class, grid)), None)
    return [b for b in (below, above) if b is not None]


def _nearest_in_log(ks: list[int], k: float) -> int:
    """The K of ``ks`` nearest ``k`` on a log scale; ties go to the smaller K."""
    return min(ks, key=lambda c: (abs(math.log(c) - math.log(k)), c))


@dataclass(frozen=True)
class Recommendation:
    """K* and n* for a budget: the real-valued sqrt(r* N) and the realisable split nearest it."""

    budget: int
    K: int
    n: int
    K_exact: float  # sqrt(r* N) before rounding and limits
    r_star: float
    grid: str
    pool_size: int
    max_per_class: int
    r_interval: tuple[float, float] | None = None
    K_interval: tuple[float, float] | None = None  # sqrt(r N) at the ends of the r* interval
    K_interval_grid: tuple[int, int] | None = None  # the same ends, rounded like K
    limited_by: str | None = None  # why K differs from K_exact by more than rounding

    @property
    def ratio(self) -> float:
        return self.K / self.n

    def describe(self) -> str:
        lines = [
            f"budget N = {self.budget:,}: K* = {self.K:,} classes x n* = {self.n:,} images per "
            f"class (K/n = {ratio_grouped(self.ratio)})",
            f"  from r* = {ratio_grouped(self.r_star)}: sqrt(r* N) = {self.K_exact:,.1f}, rounded to the "
            f"nearest {'power of two' if self.grid == 'powers_of_two' else 'divisor of N'} in log K",
        ]
        if self.K_interval is not None:
            lo, hi = self.K_interval
            glo, ghi = self.K_interval_grid
            lines.append(
                f"  r* interval {ratio_grouped(self.r_interval[0])} to {ratio_grouped(self.r_interval[1])} -> "
                f"K from {lo:,.0f} to {hi:,.0f} (on the grid: {glo:,} to {ghi:,})"
            )
        if self.limited_by:
            lines.append(f"  limited: {self.limited_by}")
        return "\n".join(lines)


def recommend(
    r_star,
    budget: int,
    *,
    pool_size: int,
    max_per_class: int,
    grid: str = "divisors",
    interval: tuple[float, float] | None = None,
) -> Recommendation:
    """K* = sqrt(r* N) rounded to a realisable K (nearest in log), n* = N / K*.

    ``r_star`` is a number or a ``RatioEstimate`` (whose interval is then used unless
    ``interval`` is given). K stays within [ceil(N / max_per_class), min(pool_size, N)].
    """
    if isinstance(r_star, RatioEstimate):
        interval = interval if interval is not None else r_star.interval
        r_star = r_star.r_star
    if isinstance(r_star, bool) or not isinstance(r_star, (int, float, np.floating, np.integer)) \
            or not math.isfinite(r_star) or r_star <= 0:
        raise ConfigError(f"r* must be a positive, finite ratio K/n, got {r_star!r}")
    ks = candidate_classes(budget, pool_size, max_per_class, grid)
    budget = int(budget)
    k_exact = math.sqrt(float(r_star) * budget)
    k = _nearest_in_log(ks, k_exact)
    lo, hi = class_limits(budget, pool_size, max_per_class)
    limited = None
    if k_exact > hi:
        limited = (f"sqrt(r* N) = {k_exact:,.0f} exceeds the largest allowed K = {hi:,} "
                   f"({'the pool of classes' if hi == pool_size else 'N itself'})")
    elif k_exact < lo:
        limited = (f"sqrt(r* N) = {k_exact:.3g} would need n = {budget / k_exact:,.0f} images per "
                   f"class; at most {max_per_class:,} exist, so K >= {lo:,}")
    k_int = k_int_grid = None
    if interval is not None and all(np.isfinite(interval)):
        k_int = tuple(math.sqrt(float(r) * budget) for r in interval)
        k_int_grid = tuple(_nearest_in_log(ks, x) for x in k_int)
    return Recommendation(
        budget=budget, K=k, n=budget // k, K_exact=k_exact, r_star=float(r_star), grid=grid,
        pool_size=int(pool_size), max_per_class=int(max_per_class),
        r_interval=tuple(float(r) for r in interval) if interval is not None else None,
        K_interval=k_int, K_interval_grid=k_int_grid, limited_by=limited,
    )


def standard_choice(budget: int, *, pool_size: int, max_per_class: int,
                    grid: str = "divisors") -> tuple[int, int]:
    """(K, n) of the standard choice: every available class, i.e. the largest K that fits."""
    k = candidate_classes(budget, pool_size, max_per_class, grid)[-1]
    return k, int(budget) // k


def few_classes_choice(budget: int, *, pool_size: int, max_per_class: int,
                       grid: str = "divisors", k: int = FEW_CLASSES) -> tuple[int, int]:
    """(K, n) with few classes and many images each: the smallest realisable K >= ``k`` (K = 4
    unless n = N/4 exceeds the images per class)."""
    ks = [c for c in candidate_classes(budget, pool_size, max_per_class, grid) if c >= k]
    if not ks:
        raise ConfigError(f"no realisable K >= {k} at budget N = {budget:,}")
    return ks[0], int(budget) // ks[0]
