"""Do the bootstrap intervals of ``optimum`` cover the truth when the U-curve is lopsided?

The tests of ``optimum`` used symmetric, nearly noise-free curves, on which any interval looks
right. Here the truth is known and the curve is what measurements look like: error =
floor + a K^-alpha + b n^-beta with alpha != beta (so the curve in log K is asymmetric about its
minimum and the optimal ratio drifts with N), run-to-run noise, and an offset per seed shared by
all its runs (seeds differ in initialisation and data order; that moves a seed's whole curve).
A seed may also tilt its curve (``seed_tilt``, error per unit of log2 K), which moves that seed's
own optimum: the case where resampling seeds, not runs, is what the interval must capture.

The truth comes from the theory module (``theory.optimal_log_ratio``, ``theory.drift_exponent``)
so the closed form has one home. ``coverage`` simulates R replications, runs ``optimum.optima``
and ``optimum.ratio_trend`` with each estimator, and returns the share of intervals that contain
the true slope and the true log2 r* at each budget. The grid minimum only resolves the optimum
to a grid step, so an estimator can be biased on a lopsided curve; the table reports bias and
width beside coverage so a low coverage can be traced to one or the other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pretrain_diversity.analysis.optimum import ESTIMATORS, optima, ratio_trend
from pretrain_diversity.analysis.theory import Tradeoff, drift_exponent, error_bound, optimal_log_ratio

TASK = "synthetic"


@dataclass(frozen=True)
class UCurveWorld:
    """A known error surface and the noise of measuring it (defaults: lopsided, drift +0.4)."""

    bound: Tradeoff = Tradeoff(a=1.0, b=1.0, alpha=0.3, beta=0.7, floor=0.1)
    noise: float = 0.01  # sd of one run's error around the surface
    seed_offset: float = 0.02  # sd of a seed's shift of all its runs
    seed_tilt: float = 0.0  # sd of a seed's slope added along log2 K (moves its optimum)
    budgets: tuple = (2048, 8192, 32768)
    min_per_side: int = 2  # the grid: K = 2, 4, ..., N/2 (at least 2 classes and 2 per class)

    def __post_init__(self):
        for name in ("noise", "seed_offset", "seed_tilt"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0 (a standard deviation), got {getattr(self, name)}")
        if len(self.budgets) < 2 or any(b & (b - 1) or b < 4 * self.min_per_side ** 2 for b in self.budgets):
            raise ValueError(f"budgets must be >= 2 powers of two of at least "
                             f"{4 * self.min_per_side ** 2}, got {self.budgets}")


def true_log2_ratio(world: UCurveWorld, budget: float) -> float:
    """log2 r* of the noise-free surface at ``budget`` (unconstrained, from the closed form)."""
    return float(optimal_log_ratio(world.bound, budget)) / math.log(2)


def true_slope(world: UCurveWorld) -> float:
    """d log2 r* / d log2 N of the surface: (beta - alpha) / (alpha + beta)."""
    return float(drift_exponent(world.bound))


def simulate_table(world: UCurveWorld, seeds, rng: np.random.Generator) -> pd.DataFrame:
    """Tidy results rows (task, budget, n_classes, samples_per_class, seed, test_error,
    val_error) measured on ``world``; test and validation errors share the surface and the seed's
    offset and tilt but have independent run noise, as two splits of one downstream task do."""
    seeds = list(seeds)
    offset = rng.normal(0, world.seed_offset, len(seeds)) if world.seed_offset else np.zeros(len(seeds))
    tilt = rng.normal(0, world.seed_tilt, len(seeds)) if world.seed_tilt else np.zeros(len(seeds))
    rows = []
    for budget in world.budgets:
        lo = int(math.log2(world.min_per_side))
        for lk in range(lo, int(math.log2(budget)) - lo + 1):
            k, n = 2**lk, budget // 2**lk
            mean = float(error_bound(k, n, world.bound))
            centre = lk - math.log2(budget) / 2  # tilt about the balanced split: no net shift
            for j, s in enumerate(seeds):
                base = mean + offset[j] + tilt[j] * centre
                test, val = base + world.noise * rng.normal(size=2)
                rows.append(dict(task=TASK, budget=budget, n_classes=k, samples_per_class=n,
                                 seed=s, test_error=test, val_error=val))
    return pd.DataFrame(rows)


@dataclass
class Coverage:
    """Empirical coverage per estimator and quantity, and every replication's numbers."""

    summary: pd.DataFrame
    replications: pd.DataFrame = field(repr=False)
    truth: dict = field(default_factory=dict)


def coverage(world: UCurveWorld | None = None, *, replications: int = 100, seeds: int = 5,
             estimators=ESTIMATORS, level: float = 0.9, n_boot: int = 200,
             metric: str = "test_error", rng_seed: int = 0) -> Coverage:
    """Simulate ``replications`` studies of ``seeds`` seeds on ``world`` and read each estimator's
    interval for the slope and for log2 r* at every budget: the share that covers the truth.

    ``world`` defaults to ``UCurveWorld()``. All estimators read the same simulated tables
    (paired), so their coverages compare directly.
    Summary columns: estimator, quantity ("slope" or "log2_r_star"), budget (NaN for the slope),
    truth, nominal, coverage, replications, bias (mean estimate minus truth), rmse, mean_width.
    """
    if replications < 1 or seeds < 2 or n_boot < 1:
        raise ValueError(f"need replications >= 1, seeds >= 2 and n_boot >= 1; got "
                         f"{replications}, {seeds}, {n_boot}")
    world = world or UCurveWorld()
    unknown = set(estimators) - set(ESTIMATORS)
    if unknown:
        raise ValueError(f"unknown estimators {sorted(unknown)}; allowed: {', '.join(ESTIMATORS)}")
    truth = {"slope": true_slope(world)}
    truth.update({("log2_r_star", b): true_log2_ratio(world, b) for b in world.budgets})
    rng = np.random.default_rng(rng_seed)
    rows = []
    for rep in range(replications):
        table = simulate_table(world, range(seeds), rng)
        for est in estimators:
            opt, draws = optima(table, metric=metric, level=level, n_boot=n_boot,
                                seed=rng_seed + rep, estimator=est, return_draws=True)
            tr = ratio_trend(opt, draws, level=level).iloc[0]
            rows.append(dict(replication=rep, estimator=est, quantity="slope", budget=np.nan,
                             estimate=tr.slope, lo=tr.slope_lo, hi=tr.slope_hi,
                             truth=truth["slope"]))
            for r in opt.itertuples():
                rows.append(dict(replication=rep, estimator=est, quantity="log2_r_star",
                                 budget=r.budget, estimate=r.log2_r_star, lo=r.log2_r_lo,
                                 hi=r.log2_r_hi, truth=truth[("log2_r_star", r.budget)]))
    reps = pd.DataFrame(rows)
    reps["covered"] = (reps.lo <= reps.truth) & (reps.truth <= reps.hi)
    reps["error"] = reps.estimate - reps.truth
    reps["width"] = reps.hi - reps.lo
    g = reps.groupby(["estimator", "quantity", "budget"], dropna=False, sort=False)
    summary = g.agg(truth=("truth", "first"), coverage=("covered", "mean"),
                    replications=("covered", "size"), bias=("error", "mean"),
                    rmse=("error", lambda e: float(np.sqrt(np.mean(e**2)))),
                    mean_width=("width", "mean")).reset_index()
    summary.insert(4, "nominal", level)
    return Coverage(summary=summary, replications=reps, truth=truth)


def small_sample_coverage(nominal: float, seeds: int) -> float:
    """What a percentile bootstrap interval of a mean of ``seeds`` normal draws really covers.

    The bootstrap's spread is the plug-in sd (divisor n, not n - 1) and its quantiles are normal
    ones where Student's t applies, so at n seeds the interval holds z sqrt((n - 1) / n) plug-in
    standard errors: coverage P(|t_{n-1}| < z sqrt((n - 1) / n)). At 5 seeds a nominal 90% is
    about 81%, at 3 seeds about 69%: the benchmark an optimum's interval cannot beat by itself.
    """
    from scipy import stats

    if not 0 < nominal < 1 or seeds < 2:
        raise ValueError(f"need 0 < nominal < 1 and seeds >= 2, got {nominal}, {seeds}")
    z = stats.norm.ppf((1 + nominal) / 2) * math.sqrt((seeds - 1) / seeds)
    return float(2 * stats.t.cdf(z, seeds - 1) - 1)


def coverage_band(nominal: float, replications: int, z: float = 3.0) -> tuple[float, float]:
    """Where an empirical coverage of ``replications`` independent intervals at ``nominal`` falls
    z binomial standard errors either side: what "within a sensible band of nominal" means."""
    se = math.sqrt(nominal * (1 - nominal) / replications)
    return max(0.0, nominal - z * se), min(1.0, nominal + z * se)
