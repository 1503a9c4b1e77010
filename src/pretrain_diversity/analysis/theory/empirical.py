"""The model-free optimum per budget in the theory's units, and the two readings side by side."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from pretrain_diversity.analysis.theory.fit import TradeoffFit, fit_tradeoff, single_task
from pretrain_diversity.analysis.verdict_rule import read_slope


@dataclass
class EmpiricalOptima:
    """Where the measured error is lowest at each budget, without any model, in natural logs.

    A view of ``optimum.optima`` and ``optimum.ratio_trend`` (the one implementation of the
    model-free optimum, shared with the Figure 1 and application pages) in this module's units:
    the minimum of each budget's mean curve over log(K/n), refined by a parabola through the best
    grid point and its neighbours; ``slope`` is the least-squares slope of log r* against log N,
    i.e. the drift exponent the data show directly (0 for an invariant ratio). Intervals are
    percentile intervals over seeds at ``level``, seeds drawn independently for each budget.
    """

    log_ratio: dict[int, float]
    log_ratio_ci: dict[int, tuple[float, float]]
    slope: float
    slope_ci: tuple[float, float]
    interior: dict[int, bool]
    n_boot: int
    level: float = 0.9
    table: object = field(repr=False, default=None)  # the optimum.optima rows (log2 units)

    def summary(self) -> dict:
        return {
            "ratio_star": {str(N): float(np.exp(x)) for N, x in self.log_ratio.items()},
            "ratio_star_ci": {str(N): [float(np.exp(lo)), float(np.exp(hi))]
                              for N, (lo, hi) in self.log_ratio_ci.items()},
            "interior": {str(N): bool(v) for N, v in self.interior.items()},
            "slope": self.slope, "slope_ci": list(self.slope_ci), "n_boot": self.n_boot,
            "level": self.level,
        }


def empirical_optima(df, *, task: str | None = None, n_boot: int = 500, level: float = 0.9,
                     seed: int = 0) -> EmpiricalOptima:
    """Model-free optimal log-ratio per budget and its drift slope (``optimum.optima``)."""
    from pretrain_diversity.analysis.optimum import optima, ratio_trend

    df, _ = single_task(df, task)
    opt, draws = optima(df, metric="test_error", level=level, n_boot=n_boot, seed=seed,
                        return_draws=True)
    trend = ratio_trend(opt, draws, level=level)
    ln2 = math.log(2)
    budgets = [int(N) for N in opt["budget"]]
    if len(trend):
        t = trend.iloc[0]
        slope, slope_ci = float(t.slope), (float(t.slope_lo), float(t.slope_hi))
    else:
        slope, slope_ci = float("nan"), (float("nan"), float("nan"))
    return EmpiricalOptima(
        log_ratio=dict(zip(budgets, (opt["log2_r_star"] * ln2).tolist())),
        log_ratio_ci={N: (lo * ln2, hi * ln2)
                      for N, lo, hi in zip(budgets, opt["log2_r_lo"], opt["log2_r_hi"])},
        slope=slope,  # log r* on log N: the same number in any base
        slope_ci=slope_ci,
        interior=dict(zip(budgets, opt["interior"].astype(bool).tolist())),
        n_boot=n_boot,
        level=level,
        table=opt,
    )


def describe_drift(interval, what: str = "the optimal ratio", slope: float | None = None,
                   level: float = 0.9) -> str:
    """The shared slope rule's reading (``verdict_rule.read_slope``) of d log r*/d log N: its
    label and reason, so no page words a slope by a rule of its own. Without ``slope`` the
    interval's midpoint stands in for the estimate."""
    lo, hi = interval
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"no interval for the drift of {what} (too few seeds)"
    est = (lo + hi) / 2 if slope is None or not np.isfinite(slope) else slope
    r = read_slope(est, lo, hi, level=level)
    return f"{what} reads '{r.label}' ({r.reason})"


@dataclass
class TradeoffAnalysis:
    """Everything the book reports for one task: the model-free minima and both fits."""

    task: str
    empirical: EmpiricalOptima
    equal: TradeoffFit
    free: TradeoffFit

    def readings(self):
        """(model-free, free-exponent) slope readings by the shared rule."""
        lvl = self.empirical.level
        e = read_slope(self.empirical.slope, *self.empirical.slope_ci, level=lvl)
        f = read_slope(self.free.drift, *self.free.drift_ci, level=lvl)
        return e, f

    @property
    def verdict(self) -> str:
        """Both readings by the shared slope rule; a label only where they agree.

        The model-free slope is the direct evidence, the free-exponent drift infers the motion
        from the curves' shape and so leans on the form: a disagreement is reported, not resolved.
        """
        e, f = self.readings()
        if e.label == f.label:
            return (f"{e.label}: the measured minima and the free-exponent fit both read "
                    f"'{e.label}' by the shared slope rule")
        return (f"inconclusive: the measured minima read '{e.label}' and the free-exponent fit "
                f"'{f.label}' by the shared slope rule (the minima are the direct evidence; the "
                f"fit infers the drift from the curves' shape)")

    def summary(self) -> dict:
        return {"task": self.task, "verdict": self.verdict, "empirical": self.empirical.summary(),
                "equal": self.equal.summary(), "free": self.free.summary()}


def analyse_tradeoff(df, *, task: str | None = None, window: int | None = 5, n_boot: int = 200,
                     seed: int = 0, **fit_kwargs) -> TradeoffAnalysis:
    """Model-free minima plus equal- and free-exponent fits of one task (see ``fit_tradeoff``)."""
    df, name = single_task(df, task)
    return TradeoffAnalysis(
        task=name,
        empirical=empirical_optima(df, n_boot=max(n_boot, 200), seed=seed),
        equal=fit_tradeoff(df, False, window=window, n_boot=n_boot, seed=seed, **fit_kwargs),
        free=fit_tradeoff(df, True, window=window, n_boot=n_boot, seed=seed, **fit_kwargs),
    )
