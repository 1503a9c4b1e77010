"""The trade-off formulas (book/theory/derivation.md) against brute force, and the fit against data
generated from the formula itself."""

import math

import numpy as np
import pandas as pd
import pytest

from pretrain_diversity.analysis import theory as th


def random_params(rng, equal=False, link="identity"):
    alpha = rng.uniform(0.2, 1.5)
    beta = alpha if equal else rng.uniform(0.2, 1.5)
    return th.Tradeoff(
        a=float(np.exp(rng.uniform(-2, 2))), b=float(np.exp(rng.uniform(-2, 2))),
        c=float(rng.choice([0.0, np.exp(rng.uniform(-2, 2))])), alpha=alpha, beta=beta,
        gamma=rng.uniform(0.2, 1.5), floor=rng.uniform(0, 0.3), link=link, ceiling=0.95,
    )


# ------------------------------------------------------------------------------ the optimum
@pytest.mark.parametrize("link", ["identity", "saturating"])
def test_closed_form_optimum_matches_numerical_minimisation(link):
    rng = np.random.default_rng(0)
    for _ in range(150):
        p = random_params(rng, equal=bool(rng.integers(2)), link=link)
        N = float(np.exp(rng.uniform(np.log(1e2), np.log(1e8))))
        closed = float(th.constrained_optimal_log_ratio(p, N))
        numeric = th.numerical_optimal_log_ratio(p, N)
        assert closed == pytest.approx(numeric, abs=2e-4), (p, N)


def test_equal_exponents_optimum_does_not_move_with_budget():
    rng = np.random.default_rng(1)
    for _ in range(30):
        p = random_params(rng, equal=True)
        xs = [th.numerical_optimal_log_ratio(p, N, K_min=1e-9, n_min=1e-9) for N in (1e2, 1e4, 1e6, 1e8)]
        assert np.ptp(xs) < 1e-4
        # and it sits at r* = (a/b)^(1/alpha), as the derivation says
        assert xs[0] == pytest.approx(math.log(p.a / p.b) / p.alpha, abs=1e-4)


def test_drift_exponent_matches_numerical_slope():
    rng = np.random.default_rng(2)
    for _ in range(40):
        p = random_params(rng)
        Ns = np.array([1e3, 1e5, 1e7])
        xs = [th.numerical_optimal_log_ratio(p, N, K_min=1e-9, n_min=1e-9) for N in Ns]
        slope = np.polyfit(np.log(Ns), xs, 1)[0]
        assert slope == pytest.approx(th.drift_exponent(p), abs=1e-4)
    # more weight to new classes as N grows exactly when samples' error decays faster (beta > alpha)
    assert th.drift_exponent(th.Tradeoff(a=1, b=1, alpha=0.5, beta=1.0)) == pytest.approx(1 / 3)
    assert th.drift_exponent(th.Tradeoff(a=1, b=1, alpha=1.0, beta=0.5)) == pytest.approx(-1 / 3)


def test_optimal_allocation_scales_as_derived():
    p = th.Tradeoff(a=2.0, b=0.5, alpha=0.4, beta=0.9)
    K1, n1 = th.optimal_allocation(p, 1e4, K_min=1e-9, n_min=1e-9)
    K2, n2 = th.optimal_allocation(p, 1e6, K_min=1e-9, n_min=1e-9)
    assert K1 * n1 == pytest.approx(1e4)
    assert math.log(K2 / K1) / math.log(100) == pytest.approx(0.9 / 1.3)
    assert math.log(n2 / n1) / math.log(100) == pytest.approx(0.4 / 1.3)


def test_cross_term_does_not_move_the_optimum():
    p = th.Tradeoff(a=1.3, b=0.4, c=0.0, alpha=0.5, beta=0.8)
    for c in (0.1, 10.0, 1e3):
        for N in (1e3, 1e6):
            q = p.with_(c=c)
            assert th.numerical_optimal_log_ratio(q, N) == pytest.approx(
                th.numerical_optimal_log_ratio(p, N), abs=1e-5)


def test_limiting_cases_push_the_optimum_to_the_edges():
    N = 4096
    lo, hi = th.log_ratio_limits(N, K_min=2, n_min=2)
    # a -> 0: classes are free, so take the fewest classes and the most samples per class
    assert th.optimal_log_ratio(th.Tradeoff(a=0.0, b=1.0), N) == -np.inf
    assert th.constrained_optimal_log_ratio(th.Tradeoff(a=0.0, b=1.0), N, 2, 2) == pytest.approx(lo)
    assert th.numerical_optimal_log_ratio(th.Tradeoff(a=1e-9, b=1.0), N, 2, 2) == pytest.approx(lo, abs=1e-3)
    # b -> 0: samples are free, so one... two samples per class and as many classes as possible
    assert th.constrained_optimal_log_ratio(th.Tradeoff(a=1.0, b=0.0), N, 2, 2) == pytest.approx(hi)
    assert th.numerical_optimal_log_ratio(th.Tradeoff(a=1.0, b=1e-9), N, 2, 2) == pytest.approx(hi, abs=1e-3)
    # as a/b grows the optimal ratio grows, continuously
    rs = [th.optimal_ratio(th.Tradeoff(a=a, b=1.0)) for a in (0.1, 1.0, 10.0)]
    assert rs == pytest.approx([0.01, 1.0, 100.0])
    with pytest.raises(ValueError):
        th.optimal_log_ratio(th.Tradeoff(a=0.0, b=0.0), N)
    with pytest.raises(ValueError, match="depends on N"):
        th.optimal_log_ratio(th.Tradeoff(a=1, b=1, alpha=0.5, beta=0.7))


# ------------------------------------------------------------------- monotonicity and convexity
def test_bound_decreases_in_classes_and_in_samples():
    rng = np.random.default_rng(3)
    grid = np.exp(np.linspace(0, np.log(1e5), 60))
    for link in ("identity", "saturating"):
        for _ in range(20):
            p = random_params(rng, link=link)
            K, n = np.meshgrid(grid, grid, indexing="ij")
            e = th.error_bound(K, n, p)
            assert np.all(np.diff(e, axis=0) <= 1e-15)  # more classes, same n
            assert np.all(np.diff(e, axis=1) <= 1e-15)  # more samples, same K


def test_deviation_is_convex_in_log_ratio_but_not_in_ratio():
    rng = np.random.default_rng(4)
    for _ in range(30):
        p = random_params(rng)
        N = float(np.exp(rng.uniform(np.log(1e2), np.log(1e8))))
        lo, hi = th.log_ratio_limits(N)
        x = np.linspace(lo, hi, 400)
        g = th.deviation_at_budget(x, N, p)
        assert np.all(np.diff(g, 2) >= -1e-12 * np.abs(g[1:-1]).max())
    # in the ratio r itself the sample term b (N/r)^(-beta/2) = b N^(-beta/2) r^(beta/2) is concave
    # for beta < 2 and wins at large r: the claim holds on the log scale only
    p = th.Tradeoff(a=1.0, b=1.0)
    r = np.linspace(1.0, 1e4, 2000)
    g = th.deviation_at_budget(np.log(r), 1e4, p)
    assert np.min(np.diff(g, 2)) < 0


def test_saturating_bound_is_unimodal_in_log_ratio():
    rng = np.random.default_rng(5)
    for _ in range(20):
        p = random_params(rng, link="saturating")
        N = 1e5
        lo, hi = th.log_ratio_limits(N)
        e = th.error_at_budget(np.linspace(lo, hi, 500), N, p)
        d = np.sign(np.diff(e))
        d = d[d != 0]
        assert np.sum(d[1:] != d[:-1]) <= 1  # falls, then rises: at most one change of sign


def test_penalty_for_a_wrong_ratio_is_cosh_and_budget_free():
    p = th.Tradeoff(a=0.7, b=1.9, c=0.3, alpha=0.5, beta=0.5)
    for N in (1e3, 1e6):
        xs = th.optimal_log_ratio(p)
        base = th.deviation_at_budget(xs, N, p) - p.c * N ** -p.gamma
        for dx in (-3.0, -1.0, 0.5, math.log(16)):
            off = th.deviation_at_budget(xs + dx, N, p) - p.c * N ** -p.gamma
            assert off / base == pytest.approx(th.ratio_penalty(dx, p))
    assert th.ratio_penalty(math.log(16), p) == pytest.approx(math.cosh(math.log(16) / 4))


def test_error_at_the_optimum_decays_with_the_derived_exponent():
    p = th.Tradeoff(a=1.0, b=3.0, alpha=0.3, beta=1.1)
    Ns = np.array([1e4, 1e6, 1e8])
    g = [th.deviation_at_budget(th.optimal_log_ratio(p, N), N, p) for N in Ns]
    slope = np.polyfit(np.log(Ns), np.log(g), 1)[0]
    assert slope == pytest.approx(-th.optimal_error_exponent(p))


def test_parameters_are_validated():
    with pytest.raises(ValueError):
        th.Tradeoff(a=-1, b=1)
    with pytest.raises(ValueError):
        th.Tradeoff(a=1, b=1, alpha=0)
    with pytest.raises(ValueError):
        th.Tradeoff(a=1, b=1, link="logit")


# ------------------------------------------------------------------------------------ the fit
TRUE_DRIFT = th.Tradeoff(a=0.8, b=0.3, c=0.5, alpha=0.5, beta=0.9, gamma=0.5, floor=0.1)
TRUE_EQUAL = th.Tradeoff(a=0.8, b=0.4, c=0.5, alpha=0.6, beta=0.6, gamma=0.5, floor=0.1)
BUDGETS = (2**10, 2**12, 2**14, 2**16)


def synthetic(p, seeds=8, sd=0.01, rs=0, task="synthetic"):
    """A results table in the study's format, drawn from the bound plus seed noise."""
    rng = np.random.default_rng(rs)
    rows = []
    for N in BUDGETS:
        for j in range(1, int(math.log2(N))):
            K = 2**j
            for s in range(seeds):
                rows.append({"budget": N, "n_classes": K, "samples_per_class": N // K, "seed": s,
                             "task": task, "test_error": float(th.error_bound(K, N // K, p)) + rng.normal(0, sd)})
    return pd.DataFrame(rows)


def test_fit_recovers_drifting_optimum_and_covers_the_truth():
    f = th.fit_tradeoff(synthetic(TRUE_DRIFT), free_exponents=True, n_boot=100)
    assert f.r2 > 0.99
    assert f.rmse < 1.5 * f.noise_rmse  # fits to within the seed noise
    lo, hi = f.drift_ci
    assert lo <= th.drift_exponent(TRUE_DRIFT) <= hi
    assert lo > 0  # the drift is detected
    for N in BUDGETS:
        r_true = float(th.optimal_ratio(TRUE_DRIFT, N))
        lo, hi = f.ratio_star_ci[N]
        assert lo <= r_true <= hi
        assert f.ratio_star[N] == pytest.approx(r_true, rel=0.15)
    # the equal-exponent model is worse on drifting data, and AIC says so
    g = th.fit_tradeoff(synthetic(TRUE_DRIFT), free_exponents=False, n_boot=0)
    assert g.aic > f.aic + 10


def test_fit_with_equal_exponents_recovers_invariant_ratio():
    df = synthetic(TRUE_EQUAL, rs=1)
    f = th.fit_tradeoff(df, free_exponents=False, n_boot=100)
    r_true = float(th.optimal_ratio(TRUE_EQUAL))
    lo, hi = f.ratio_star_ci[BUDGETS[0]]
    assert lo <= r_true <= hi
    assert len(set(f.ratio_star.values())) == 1  # one ratio for every budget
    assert f.params.alpha == pytest.approx(0.6, abs=0.1)
    # the free model on the same data finds a drift compatible with zero
    g = th.fit_tradeoff(df, free_exponents=True, n_boot=100)
    assert g.drift_ci[0] <= 0 <= g.drift_ci[1]


def test_fit_with_saturating_link_and_window():
    p = TRUE_EQUAL.with_(link="saturating", ceiling=0.9, a=2.0, b=1.0, c=0.0, floor=0.2)
    df = synthetic(p, rs=2, sd=0.005)
    f = th.fit_tradeoff(df, free_exponents=False, link="saturating", ceiling=0.9, window=7, n_boot=50)
    assert f.n_configs == 7 * len(BUDGETS)
    assert f.table["in_fit"].sum() == f.n_configs
    assert f.ratio_star[BUDGETS[0]] == pytest.approx(float(th.optimal_ratio(p)), rel=0.15)


def test_empirical_optima_find_minima_and_drift():
    df = synthetic(TRUE_DRIFT, sd=0.002)
    e = th.empirical_optima(df, n_boot=100)
    assert all(e.interior.values())
    # the grid is an octave apart (0.69 in log K/n per step); the parabola lands within a step
    for N in BUDGETS:
        assert e.log_ratio[N] == pytest.approx(float(th.optimal_log_ratio(TRUE_DRIFT, N)), abs=0.7)
    assert e.slope > 0


def test_fit_refuses_bad_tables():
    df = synthetic(TRUE_EQUAL, seeds=2)
    with pytest.raises(ValueError, match="lacks columns"):
        th.fit_tradeoff(df.drop(columns=["seed"]), True)
    two = pd.concat([df, df.assign(task="other")])
    with pytest.raises(ValueError, match="one task at a time"):
        th.fit_tradeoff(two, True)
    assert set(th.fit_tradeoff_per_task(two, False, n_boot=0)) == {"synthetic", "other"}
    with pytest.raises(ValueError, match="budget"):
        th.fit_tradeoff(df.assign(budget=df["budget"] + 1), True)
    with pytest.raises(ValueError, match="ceiling"):
        th.fit_tradeoff(df, True, link="saturating")


def test_analysis_verdicts():
    drifting = th.analyse_tradeoff(synthetic(TRUE_DRIFT, sd=0.002), window=None, n_boot=60)
    # both readings by the shared rule (verdict_rule.read_slope, margin 0.2)
    assert drifting.verdict.startswith("drifts up: the measured minima and the free-exponent fit")
    flat = th.analyse_tradeoff(synthetic(TRUE_EQUAL, rs=1), window=None, n_boot=60)
    # the fit shows equivalence; the model-free minima's interval reaches beyond the margin, so
    # the two readings disagree and the verdict says so instead of calling it invariance
    e, f = flat.readings()
    assert f.label == "invariant" and e.label == "inconclusive"
    assert flat.verdict.startswith("inconclusive: the measured minima read 'inconclusive'")
