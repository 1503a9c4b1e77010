"""Fitting the bound to a results table: equal or free exponents, identity or saturating link,
with bootstrap-over-seeds refits for the intervals of r* and of the drift."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from pretrain_diversity.analysis import bootstrap
from pretrain_diversity.analysis.theory.bound import (
    EXPONENT_BOUNDS, Tradeoff, drift_exponent, error_bound, optimal_log_ratio,
)


RESULT_COLUMNS = ("budget", "n_classes", "samples_per_class", "seed", "task", "test_error")


@dataclass
class TradeoffFit:
    """A fit of (1) to measured errors, with bootstrap-over-seeds intervals.

    ``log_ratio_star`` and its interval are given per budget in the data: with free exponents the
    optimum moves with N; with equal exponents all entries are the same. ``drift`` is the implied
    d log r*/d log N (identically 0 for the equal-exponent model).
    """

    params: Tradeoff
    free_exponents: bool
    task: str | None
    budgets: list[int]
    n_configs: int  # configs the fit used (all, or the window around each minimum)
    n_seeds: int
    r2: float
    rmse: float
    noise_rmse: float  # standard error of the config means from the seed spread: the floor for rmse
    aic: float
    n_params: int
    log_ratio_star: dict[int, float]
    log_ratio_star_ci: dict[int, tuple[float, float]]
    drift: float
    drift_ci: tuple[float, float]
    n_boot: int
    window: int | None = None
    boot: list[Tradeoff] = field(repr=False, default_factory=list)
    table: object = field(repr=False, default=None)  # config means with the fitted value

    @property
    def ratio_star(self) -> dict[int, float]:
        return {N: float(np.exp(x)) for N, x in self.log_ratio_star.items()}

    @property
    def ratio_star_ci(self) -> dict[int, tuple[float, float]]:
        return {N: (float(np.exp(lo)), float(np.exp(hi))) for N, (lo, hi) in self.log_ratio_star_ci.items()}

    def summary(self) -> dict:
        """Plain numbers for JSON and for the book's tables."""
        p = self.params
        return {
            "task": self.task,
            "model": "free exponents" if self.free_exponents else "equal exponents",
            "link": p.link,
            "a": p.a, "b": p.b, "c": p.c, "alpha": p.alpha, "beta": p.beta, "gamma": p.gamma,
            "floor": p.floor, "ceiling": p.ceiling if p.link == "saturating" else None,
            "r2": self.r2, "rmse": self.rmse, "noise_rmse": self.noise_rmse, "aic": self.aic,
            "n_params": self.n_params, "n_configs": self.n_configs, "n_seeds": self.n_seeds,
            "ratio_star": {str(k): v for k, v in self.ratio_star.items()},
            "ratio_star_ci": {str(k): list(v) for k, v in self.ratio_star_ci.items()},
            "drift": self.drift, "drift_ci": list(self.drift_ci), "n_boot": self.n_boot,
            "window": self.window,
        }


def check_results_table(df) -> None:
    """Fail early, with the column names, on a table that is not the study's tidy format."""
    missing = [c for c in RESULT_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"results table lacks columns {missing}; expected {list(RESULT_COLUMNS)}")
    if len(df) == 0:
        raise ValueError("results table is empty")
    bad = df["n_classes"] * df["samples_per_class"] != df["budget"]
    if bad.any():
        raise ValueError(f"{int(bad.sum())} rows have n_classes * samples_per_class != budget")


def seed_matrix(df):
    """Config x seed matrix of test errors (NaN where a seed is missing) and the config index.

    The fit resamples whole seeds jointly over every config (one fit spans all budgets); the
    model-free optimum (``optimum.optima``) resamples seeds per budget.
    """
    keys = ["budget", "n_classes", "samples_per_class"]
    wide = df.pivot_table(index=keys, columns="seed", values="test_error", aggfunc="mean")
    wide = wide.sort_index()
    return wide.to_numpy(dtype=float), wide.index.to_frame(index=False)


def _weighted_means(Y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per-config mean over seeds with multiplicities w (a bootstrap draw), ignoring missing seeds."""
    ok = ~np.isnan(Y)
    num = np.where(ok, Y, 0.0) @ w
    den = ok.astype(float) @ w
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / den


def single_task(df, task):
    check_results_table(df)
    if task is not None:
        df = df[df["task"] == task]
        if len(df) == 0:
            raise ValueError(f"no rows for task {task!r}")
    tasks = sorted(df["task"].unique())
    if len(tasks) != 1:
        raise ValueError(f"fit one task at a time (pass task=...); the table holds {tasks}")
    return df, tasks[0]


class _Model:
    """Parameter vector <-> Tradeoff for the equal- and free-exponent models.

    With the link fixed and the exponents given, the model is linear in (floor, a, b, c) after
    the link is inverted, so the fit profiles those out (variable projection) and searches only the
    exponents; a final joint least-squares polishes everything on the original error scale.
    """

    def __init__(self, free_exponents: bool, link_name: str, ceiling: float | None, cross: bool):
        self.free = free_exponents
        self.link = link_name
        self.ceiling = ceiling
        self.cross = cross
        # exponent layout: free -> (alpha, beta, gamma); equal -> (alpha = beta, gamma)
        self.n_exp = (3 if free_exponents else 2) - (0 if cross else 1)

    def exponents(self, e):
        e = list(e)
        if self.free:
            alpha, beta = e[0], e[1]
            gamma = e[2] if self.cross else 0.5
        else:
            alpha = beta = e[0]
            gamma = e[1] if self.cross else 0.5
        return alpha, beta, gamma

    def unpack(self, theta) -> Tradeoff:
        floor, a, b, c = theta[:4]
        alpha, beta, gamma = self.exponents(theta[4:])
        kw = {"ceiling": self.ceiling} if self.link == "saturating" else {}
        return Tradeoff(a=max(float(a), 0.0), b=max(float(b), 0.0),
                        c=max(float(c), 0.0) if self.cross else 0.0, alpha=float(alpha),
                        beta=float(beta), gamma=float(gamma), floor=float(floor), link=self.link, **kw)

    def design(self, K, n, e):
        alpha, beta, gamma = self.exponents(e)
        cols = [np.ones_like(K), K ** -alpha, n ** -beta]
        if self.cross:
            cols.append((K * n) ** -gamma)
        return np.stack(cols, axis=1)

    def linear_target(self, y):
        """The measurements on the scale where the model is linear in (floor', a, b, c)."""
        if self.link == "identity":
            return y
        eps = 1e-3 * self.ceiling
        return -np.log(np.clip(self.ceiling - y, eps, None))

    def profile(self, K, n, y, e):
        """Best (floor, a, b, c) for exponents e by linear least squares, and the residuals
        (on the linear scale) that the exponent search drives down."""
        from scipy.optimize import lsq_linear

        A = self.design(K, n, e)
        t = self.linear_target(y)
        x = np.linalg.lstsq(A, t, rcond=None)[0]
        if np.any(x[1:] < 0):  # an error term would help by growing with K or n: constrain it
            lo = np.r_[-np.inf, np.zeros(A.shape[1] - 1)]
            x = lsq_linear(A, t, bounds=(lo, np.inf), method="bvls").x
        coef = np.r_[x, 0.0] if not self.cross else x.copy()
        if self.link == "saturating":
            # t = -log(ceiling - floor) + g  =>  floor = ceiling - exp(-coef0)
            coef[0] = self.ceiling - np.exp(-coef[0])
        return coef, A @ x - t

    def predict(self, theta, K, n):
        return error_bound(K, n, self.unpack(theta))


def _fit_once(model: _Model, K, n, y, starts) -> np.ndarray:
    """Best parameter vector over a list of exponent starting points."""
    from scipy.optimize import least_squares

    lo_e, hi_e = EXPONENT_BOUNDS
    best = None
    for e0 in starts:
        res = least_squares(lambda e: model.profile(K, n, y, e)[1], np.asarray(e0, dtype=float),
                            bounds=(lo_e, hi_e), x_scale=1.0)
        coef, _ = model.profile(K, n, y, res.x)
        theta = np.concatenate([coef, res.x])
        # joint polish on the error scale (for the identity link this changes nothing)
        lo = np.r_[-np.inf, 0, 0, 0, [lo_e] * model.n_exp]
        hi = np.r_[np.inf, np.inf, np.inf, np.inf, [hi_e] * model.n_exp]
        if not model.cross:
            hi[3] = 1e-12
        theta = np.clip(theta, lo, hi)
        if model.link == "saturating":
            hi[0] = model.ceiling - 1e-9
            theta[0] = min(theta[0], hi[0] - 1e-9)
            sol = least_squares(lambda t: model.predict(t, K, n) - y, theta, bounds=(lo, hi))
            theta = sol.x
        rss = float(np.sum((model.predict(theta, K, n) - y) ** 2))
        if best is None or rss < best[0]:
            best = (rss, theta)
    return best[1]


def _starts(model: _Model):
    grid = [0.25, 0.5, 1.0, 2.0]
    if model.free:
        pairs = list(itertools.product(grid, grid))
    else:
        pairs = [(g,) for g in grid]
    if model.cross:
        return [p + (g,) for p in pairs for g in (0.5, 1.0)]
    return pairs


def fit_tradeoff(
    df,
    free_exponents: bool,
    *,
    task: str | None = None,
    link: str = "identity",
    ceiling: float | None = None,
    cross: bool = True,
    window: int | None = None,
    n_boot: int = 200,
    level: float = 0.9,
    seed: int = 0,
) -> TradeoffFit:
    """Fit the bound (1) to a tidy results table for one task, with bootstrap-over-seeds intervals.

    ``df`` has the columns ``budget, n_classes, samples_per_class, seed, task, test_error``. The
    model is fitted to the per-config means over seeds (every config weighs the same). Intervals
    resample whole seeds with replacement, which keeps the correlation between configs of one seed
    (in the simulation a seed fixes the world and the test episodes). ``free_exponents=False`` ties
    beta = alpha, the case where the optimal ratio is invariant to N. ``link="saturating"`` needs
    ``ceiling``, the error of chance on the downstream task.

    ``window``: fit only the ``window`` splits nearest (in log K/n) to each budget's lowest mean
    error. The bound is a statement about the shape near the optimum; at the extremes measured
    curves flatten onto plateaus that differ between the two ends (features from 2 classes are
    about as good as random ones, features from 2 samples per class can be worse than random),
    which one monotone link of a sum cannot follow, and those points would otherwise dominate the
    exponents. The window is chosen once from the full data and kept fixed in the bootstrap.
    """
    if link == "saturating" and ceiling is None:
        raise ValueError("the saturating link needs ceiling= (the chance error of the task)")
    df, task_name = single_task(df, task)
    Y, cfg = seed_matrix(df)
    K = cfg["n_classes"].to_numpy(dtype=float)
    n = cfg["samples_per_class"].to_numpy(dtype=float)
    budgets = sorted(int(b) for b in cfg["budget"].unique())
    n_seeds = Y.shape[1]
    model = _Model(free_exponents, link, ceiling, cross)

    y_all = _weighted_means(Y, np.ones(n_seeds))
    x_all = np.log(K / n)
    use = np.ones(len(y_all), dtype=bool)
    if window is not None:
        use = _near_minimum(cfg["budget"].to_numpy(), x_all, y_all, window)
    K_fit, n_fit, Y_fit = K[use], n[use], Y[use]
    y = y_all[use]
    theta = _fit_once(model, K_fit, n_fit, y, _starts(model))
    p = model.unpack(theta)
    pred = error_bound(K_fit, n_fit, p)
    rss = float(np.sum((y - pred) ** 2))
    m = len(y)
    r2 = 1.0 - rss / float(np.sum((y - y.mean()) ** 2))
    k_params = 4 - (0 if cross else 1) + model.n_exp
    aic = m * math.log(max(rss, 1e-300) / m) + 2 * k_params
    counts = np.sum(~np.isnan(Y_fit), axis=1)
    with np.errstate(invalid="ignore"):
        sd = np.nanstd(Y_fit, axis=1, ddof=1)
    noise_rmse = float(np.sqrt(np.nanmean(sd ** 2 / counts))) if n_seeds > 1 else float("nan")

    rng = np.random.default_rng(seed)
    boot = []
    warm = [tuple(theta[4:])]
    for _ in range(n_boot if n_seeds > 1 else 0):
        w = np.bincount(rng.integers(0, n_seeds, n_seeds), minlength=n_seeds).astype(float)
        yb = _weighted_means(Y_fit, w)
        ok = ~np.isnan(yb)
        boot.append(model.unpack(_fit_once(model, K_fit[ok], n_fit[ok], yb[ok], warm)))

    def interval(values):
        values = np.asarray([v for v in values if np.isfinite(v)])
        if len(values) == 0:
            return (float("nan"), float("nan"))
        return bootstrap.interval(values, level)

    x_star = {N: float(optimal_log_ratio(p, N)) if (p.a > 0 or p.b > 0) else float("nan") for N in budgets}
    x_ci = {N: interval([optimal_log_ratio(q, N) for q in boot if q.a > 0 and q.b > 0]) for N in budgets}
    drift = drift_exponent(p)
    drift_ci = interval([drift_exponent(q) for q in boot]) if free_exponents else (0.0, 0.0)

    table = cfg.copy()
    table["test_error"] = y_all
    table["fitted"] = error_bound(K, n, p)
    table["n_seeds"] = np.sum(~np.isnan(Y), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["sem"] = np.nanstd(Y, axis=1, ddof=1) / np.sqrt(table["n_seeds"].to_numpy())
    table["log_ratio"] = x_all
    table["in_fit"] = use
    return TradeoffFit(
        params=p, free_exponents=free_exponents, task=task_name, budgets=budgets, n_configs=m,
        n_seeds=n_seeds, r2=r2, rmse=float(np.sqrt(rss / m)), noise_rmse=noise_rmse, aic=aic,
        n_params=k_params, log_ratio_star=x_star, log_ratio_star_ci=x_ci, drift=drift,
        drift_ci=drift_ci, n_boot=len(boot), window=window, boot=boot, table=table,
    )


def _near_minimum(budget, x, y, window: int) -> np.ndarray:
    """Mask of the ``window`` grid points nearest each budget's lowest mean (a contiguous run in
    x, shifted inwards at the edges of the grid)."""
    if window < 3:
        raise ValueError(f"window must be >= 3 points per budget to show a minimum, got {window}")
    keep = np.zeros(len(y), dtype=bool)
    for N in np.unique(budget):
        idx = np.flatnonzero((budget == N) & ~np.isnan(y))
        idx = idx[np.argsort(x[idx])]
        i = int(np.argmin(y[idx]))
        lo = max(0, min(i - window // 2, len(idx) - window))
        keep[idx[lo:lo + window]] = True
    return keep


def fit_tradeoff_per_task(df, free_exponents: bool, **kwargs) -> dict[str, TradeoffFit]:
    """``fit_tradeoff`` for every task in the table (each task is its own downstream problem)."""
    check_results_table(df)
    return {t: fit_tradeoff(df, free_exponents, task=t, **kwargs) for t in sorted(df["task"].unique())}
