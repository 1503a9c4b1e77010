"""The model-free optimum per budget in the theory's units, and the two readings side by side."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from pretrain_diversity.analysis.theory.fit import TradeoffFit, fit_tradeoff, single_task


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


def describe_drift(interval, what: str = "the optimal ratio") -> str:
    """Plain-language reading of an interval for d log r*/d log N."""
    lo, hi = interval
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"no interval for the drift of {what} (too few seeds)"
    if lo <= 0 <= hi:
        return f"consistent with {what} not moving with N (the interval contains 0)"
    return f"{what} {'grows' if lo > 0 else 'shrinks'} with N (the interval excludes 0)"


@dataclass
class TradeoffAnalysis:
    """Everything the book reports for one task: the model-free minima and both fits."""

    task: str
    empirical: EmpiricalOptima
    equal: TradeoffFit
    free: TradeoffFit

    @property
    def verdict(self) -> str:
        """Invariance or drift, read from the model-free slope and the free-exponent drift.

        Both intervals must agree for a firm answer; the model-free one is the direct evidence,
        the parametric one infers the drift from the curves' shape and so leans on the form.
        """
        e_lo, e_hi = self.empirical.slope_ci
        f_lo, f_hi = self.free.drift_ci
        e0, f0 = e_lo <= 0 <= e_hi, f_lo <= 0 <= f_hi
        if e0 and f0:
            return "invariance: neither the measured minima nor the free-exponent fit move with N"
        if not e0 and not f0 and (e_lo > 0) == (f_lo > 0):
            return f"drift: the optimal ratio {'grows' if e_lo > 0 else 'shrinks'} with N in both readings"
        if not e0:
            return ("drift in the measured minima, which the free-exponent fit does not confirm: "
                    "trust the minima, the form does not describe these curves")
        return ("no detectable drift in the measured minima, while the free-exponent fit infers one "
                "from the curves' shape: the form's link between shape and optimum fails here")

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
