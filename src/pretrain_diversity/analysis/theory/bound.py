"""The bound (1) of the package docstring and its optimum at a fixed budget, as formulas."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np


LINKS = ("identity", "saturating")
# Exponents are fitted inside these bounds: below 0.02 a power law is indistinguishable from a
# constant (and its coefficient from the floor), above 4 from a step.
EXPONENT_BOUNDS = (0.02, 4.0)


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


def relative_excess(x, N, p: Tradeoff):
    """The ratio-dependent part of g_N at log-ratio ``x``, relative to its minimum: 1 at the
    optimum (Eq. penalty of the derivation). The cross term is constant at fixed N and left out."""
    cross = p.c * N ** -p.gamma
    base = deviation_at_budget(optimal_log_ratio(p, N), N, p) - cross
    return (deviation_at_budget(x, N, p) - cross) / base
