"""The class/sample trade-off as formulas: the bound, its optimum at a fixed budget, and a fit.

This is the book's own derivation (``book/theory/derivation.md``), not the theorem of Zhang et al.,
whose statement is not available to us. The bound on downstream error after pre-training on K
classes with n samples each is

    err(K, n) <= Phi( a K^-alpha + b n^-beta + c (K n)^-gamma )                         (1)

with Phi non-decreasing. The three terms are the two-level uniform-convergence terms of multitask
representation learning (Maurer et al. 2016; Tripuraneni et al. 2020; Du et al. 2021): a term in
K for how well K sampled classes represent the distribution of classes, a term in n for the bias
of fitting each class's own parameters on n samples, and a term in the total sample count K n for
the fluctuation of the shared representation. The symmetric case alpha = beta = gamma = 1/2 is
the one the rates of uniform convergence give for classes of bounded complexity.

At a fixed budget N = K n write x = log(K / n), so K = sqrt(N) e^(x/2) and n = sqrt(N) e^(-x/2).
Then the argument of Phi is

    g_N(x) = a N^(-alpha/2) e^(-alpha x/2) + b N^(-beta/2) e^(beta x/2) + c N^(-gamma),

a sum of exponentials in x, hence convex, with its minimum at

    r*(N) = exp(x*) = (alpha a / (beta b))^(2/(alpha+beta)) * N^((beta-alpha)/(alpha+beta)).  (2)

With equal exponents r* = (a/b)^(1/alpha) does not depend on N; otherwise it drifts as a power of
N with exponent (beta - alpha)/(alpha + beta). The cross term is constant at fixed N and never
moves the optimum. Everything below either evaluates these formulas or fits them to a table of
measurements (``fit_tradeoff``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace

import numpy as np

LINKS = ("identity", "saturating")
# Exponents are fitted inside these bounds: below 0.02 a power law is indistinguishable from a
# constant (and its coefficient from the floor), above 4 from a step.
EXPONENT_BOUNDS = (0.02, 4.0)
RESULT_COLUMNS = ("budget", "n_classes", "samples_per_class", "seed", "task", "test_error")


# --------------------------------------------------------------------------------------- the bound
@dataclass(frozen=True)
class Tradeoff:
    """Constants of the bound (1) and the link Phi.

    ``link="identity"``:   Phi(u) = floor + u (the bound itself, up to an additive floor).
    ``link="saturating"``: Phi(u) = ceiling - (ceiling - floor) exp(-u): equals ``floor`` at u = 0
    and approaches ``ceiling`` (chance error) as u grows; non-decreasing and concave. Measured
    errors saturate at chance, which a plain power law cannot follow.

    The optimum at fixed N depends only on (a, b, alpha, beta): Phi is monotone and the cross term
    is constant at fixed N.
    """

    a: float
    b: float
    c: float = 0.0
    alpha: float = 0.5
    beta: float = 0.5
    gamma: float = 0.5
    floor: float = 0.0
    link: str = "identity"
    ceiling: float = 1.0

    def __post_init__(self):
        if self.link not in LINKS:
            raise ValueError(f"unknown link {self.link!r}; allowed: {', '.join(LINKS)}")
        for name in ("a", "b", "c"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0 (it scales an error term), got {getattr(self, name)}")
        for name in ("alpha", "beta", "gamma"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0 (a rate of convergence), got {getattr(self, name)}")
        if self.link == "saturating" and not self.ceiling > self.floor:
            raise ValueError(f"saturating link needs ceiling > floor, got {self.ceiling} <= {self.floor}")

    @property
    def equal_exponents(self) -> bool:
        return math.isclose(self.alpha, self.beta, rel_tol=1e-12, abs_tol=1e-12)

    def with_(self, **changes) -> Tradeoff:
        return replace(self, **changes)


def deviation(K, n, p: Tradeoff):
    """The argument of Phi in (1): a K^-alpha + b n^-beta + c (K n)^-gamma (arrays broadcast)."""
    K = np.asarray(K, dtype=float)
    n = np.asarray(n, dtype=float)
    return p.a * K ** -p.alpha + p.b * n ** -p.beta + p.c * (K * n) ** -p.gamma


def link(u, p: Tradeoff):
    """Phi(u) for the link chosen in ``p``."""
    u = np.asarray(u, dtype=float)
    if p.link == "identity":
        return p.floor + u
    return p.ceiling - (p.ceiling - p.floor) * np.exp(-u)


def error_bound(K, n, p: Tradeoff):
    """The bound (1) on downstream error after pre-training on K classes x n samples."""
    return link(deviation(K, n, p), p)


def allocation(x, N):
    """(K, n) with K n = N and log(K / n) = x; real-valued (the bound does not need integers)."""
    x = np.asarray(x, dtype=float)
    N = np.asarray(N, dtype=float)
    return np.sqrt(N) * np.exp(x / 2), np.sqrt(N) * np.exp(-x / 2)


def error_at_budget(x, N, p: Tradeoff):
    """The bound at budget N as a function of x = log(K / n)."""
    K, n = allocation(x, N)
    return error_bound(K, n, p)


def deviation_at_budget(x, N, p: Tradeoff):
    """g_N(x): the argument of Phi at budget N, the sum of exponentials in x whose convexity we prove."""
    K, n = allocation(x, N)
    return deviation(K, n, p)


# ------------------------------------------------------------------------------------ the optimum
def drift_exponent(p: Tradeoff) -> float:
    """d log r* / d log N = (beta - alpha) / (alpha + beta); zero iff the exponents are equal.

    Positive when the sample term decays faster than the class term (beta > alpha): a larger
    budget should then go mostly to new classes. The constants a, b, c do not enter.
    """
    return (p.beta - p.alpha) / (p.alpha + p.beta)


def optimal_log_ratio(p: Tradeoff, N=None):
    """Unconstrained minimiser x* of the bound at budget N, in closed form (Eq. 2 above).

    x* = 2/(alpha+beta) * log(alpha a / (beta b)) + (beta-alpha)/(alpha+beta) * log N.
    N may be omitted when the exponents are equal (x* then does not depend on it). Returns -inf
    when a = 0 (classes cost nothing: take as few as allowed) and +inf when b = 0.
    """
    if N is None and not p.equal_exponents:
        raise ValueError("with unequal exponents the optimal ratio depends on N: pass N")
    if p.a == 0 and p.b == 0:
        raise ValueError("a = b = 0: the bound does not depend on the ratio, every x is optimal")
    logN = 0.0 if N is None else np.log(np.asarray(N, dtype=float))
    if p.a == 0:
        return np.full(np.shape(logN), -np.inf)[()]
    if p.b == 0:
        return np.full(np.shape(logN), np.inf)[()]
    s = p.alpha + p.beta
    return 2.0 / s * np.log(p.alpha * p.a / (p.beta * p.b)) + drift_exponent(p) * logN


def optimal_ratio(p: Tradeoff, N=None):
    """r* = K*/n* = exp(x*); for equal exponents (a/b)^(1/alpha), the same for every N."""
    return np.exp(optimal_log_ratio(p, N))


def log_ratio_limits(N, K_min: float = 1.0, n_min: float = 1.0):
    """The x range allowed at budget N when K >= K_min and n >= n_min."""
    N = np.asarray(N, dtype=float)
    return 2 * np.log(K_min) - np.log(N), np.log(N) - 2 * np.log(n_min)


def constrained_optimal_log_ratio(p: Tradeoff, N, K_min: float = 1.0, n_min: float = 1.0):
    """x* clipped to the allowed range: exact, because g_N is convex (a convex function on an
    interval is minimised at the clipped unconstrained minimiser)."""
    lo, hi = log_ratio_limits(N, K_min, n_min)
    return np.clip(optimal_log_ratio(p, N), lo, hi)


def optimal_allocation(p: Tradeoff, N, K_min: float = 1.0, n_min: float = 1.0):
    """(K*, n*) at budget N, real-valued. Unconstrained: K* ~ N^(beta/(alpha+beta)),
    n* ~ N^(alpha/(alpha+beta))."""
    return allocation(constrained_optimal_log_ratio(p, N, K_min, n_min), N)


def numerical_optimal_log_ratio(p: Tradeoff, N: float, K_min: float = 1.0, n_min: float = 1.0) -> float:
    """Minimise the bound over x numerically; the check on the closed form.

    What is minimised is the argument of Phi: Phi is monotone, so it has the same minimiser, and a
    saturating Phi would flatten the curve to within rounding of its ceiling and hide it. A dense
    grid locates the basin, then a bounded scalar search refines it, so the answer does not rely
    on the convexity it is used to test.
    """
    from scipy.optimize import minimize_scalar

    lo, hi = (float(v) for v in log_ratio_limits(N, K_min, n_min))
    xs = np.linspace(lo, hi, 2001)
    ys = deviation_at_budget(xs, N, p)
    i = int(np.argmin(ys))
    a, b = xs[max(i - 1, 0)], xs[min(i + 1, len(xs) - 1)]
    if a == b:
        return float(xs[i])
    res = minimize_scalar(
        lambda x: float(deviation_at_budget(x, N, p)), bounds=(a, b), method="bounded",
        options={"xatol": 1e-10},
    )
    return float(res.x if res.fun <= ys[i] else xs[i])


def ratio_penalty(delta_x, p: Tradeoff) -> np.ndarray:
    """How much worse the x-dependent part of the bound gets when x is off the optimum by delta_x.

    For equal exponents it is exactly cosh(alpha * delta_x / 2) for every N (derivation page):
    missing the optimal ratio by a factor 16 (delta_x = log 16) costs cosh(0.69) = 1.25 at
    alpha = 1/2, i.e. 25 % more excess error.
    """
    if not p.equal_exponents:
        raise ValueError("the cosh form of the penalty holds for equal exponents only")
    return np.cosh(p.alpha * np.asarray(delta_x, dtype=float) / 2)


def optimal_error_exponent(p: Tradeoff) -> float:
    """At the optimal split, the K and n terms decay as N^(-alpha beta / (alpha + beta))."""
    return p.alpha * p.beta / (p.alpha + p.beta)


# --------------------------------------------------------------------------------------- fitting
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


def _single_task(df, task):
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
    df, task_name = _single_task(df, task)
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
        q = (1 - level) / 2
        return (float(np.quantile(values, q)), float(np.quantile(values, 1 - q)))

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


# ------------------------------------------------------------------- model-free optimum per budget
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

    df, _ = _single_task(df, task)
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
    df, name = _single_task(df, task)
    return TradeoffAnalysis(
        task=name,
        empirical=empirical_optima(df, n_boot=max(n_boot, 200), seed=seed),
        equal=fit_tradeoff(df, False, window=window, n_boot=n_boot, seed=seed, **fit_kwargs),
        free=fit_tradeoff(df, True, window=window, n_boot=n_boot, seed=seed, **fit_kwargs),
    )


# ------------------------------------------------------------------------ figures for the book
def plot_curves(ax, fit: TradeoffFit, empirical: EmpiricalOptima | None = None, budgets=None,
                cmap: str = "viridis", log2: bool = True):
    """Measured mean error (with seed standard errors) against log(K/n), one colour per budget,
    the fitted bound dashed (thin where it extrapolates beyond the fitted window), the fitted
    optimum as a triangle on the curve and the model-free optimum as a vertical tick."""
    import matplotlib.pyplot as plt

    t = fit.table
    budgets = fit.budgets if budgets is None else budgets
    colours = plt.get_cmap(cmap)(np.linspace(0.1, 0.85, len(budgets)))
    unit = np.log(2) if log2 else 1.0
    for N, col in zip(budgets, colours):
        g = t[t["budget"] == N].sort_values("log_ratio")
        x = g["log_ratio"].to_numpy() / unit
        ax.errorbar(x, g["test_error"], yerr=g["sem"], fmt="o-", ms=3, lw=1, color=col, capsize=2,
                    label=f"N = {N:,}")
        xs = np.linspace(g["log_ratio"].min(), g["log_ratio"].max(), 200)
        inside = (xs >= g.loc[g["in_fit"], "log_ratio"].min()) & (xs <= g.loc[g["in_fit"], "log_ratio"].max())
        ys = error_at_budget(xs, N, fit.params)
        ax.plot(xs / unit, np.where(inside, ys, np.nan), "--", color=col, lw=1.6)
        ax.plot(xs / unit, np.where(inside, np.nan, ys), ":", color=col, lw=0.8)
        xstar = fit.log_ratio_star.get(N, np.nan)
        if np.isfinite(xstar):
            ax.plot([xstar / unit], [error_at_budget(xstar, N, fit.params)], "v", color=col, ms=8,
                    mec="k", mew=0.6)
        if empirical is not None and N in empirical.log_ratio:
            ax.axvline(empirical.log_ratio[N] / unit, color=col, lw=0.8, alpha=0.6)
    ax.set_xlabel("log2(K / n)" if log2 else "log(K / n)")
    ax.set_ylabel("downstream test error")
    return ax


def plot_optima(ax, fits: dict, empirical: EmpiricalOptima | None = None):
    """r* against N on log-log axes: model-free minima with bootstrap intervals, and each fit's
    r*(N) with its interval band (flat for equal exponents)."""
    styles = ["-", "--", "-.", ":"]
    if empirical is not None:
        Ns = np.array(sorted(empirical.log_ratio))
        x = np.array([empirical.log_ratio[N] for N in Ns])
        lo = np.array([empirical.log_ratio_ci[N][0] for N in Ns])
        hi = np.array([empirical.log_ratio_ci[N][1] for N in Ns])
        ax.errorbar(Ns, np.exp(x), yerr=[np.exp(x) - np.exp(lo), np.exp(hi) - np.exp(x)], fmt="ko",
                    capsize=3, label="measured minimum (model-free)", zorder=3)
    for (label, f), ls in zip(fits.items(), styles):
        Ns = np.array(f.budgets, dtype=float)
        r = np.array([f.ratio_star[N] for N in f.budgets])
        lo = np.array([f.ratio_star_ci[N][0] for N in f.budgets])
        hi = np.array([f.ratio_star_ci[N][1] for N in f.budgets])
        line, = ax.plot(Ns, r, ls, lw=1.8, label=label)
        ax.fill_between(Ns, lo, hi, color=line.get_color(), alpha=0.2)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("budget N = K n")
    ax.set_ylabel("optimal ratio r* = K*/n*")
    return ax
