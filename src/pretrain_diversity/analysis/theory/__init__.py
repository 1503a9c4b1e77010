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

from pretrain_diversity.analysis.theory.bound import (
    EXPONENT_BOUNDS, LINKS, Tradeoff, allocation, constrained_optimal_log_ratio, deviation,
    deviation_at_budget, drift_exponent, error_at_budget, error_bound, link, log_ratio_limits,
    numerical_optimal_log_ratio, optimal_allocation, optimal_error_exponent, optimal_log_ratio,
    optimal_ratio, ratio_penalty, relative_excess,
)
from pretrain_diversity.analysis.theory.empirical import (
    EmpiricalOptima, TradeoffAnalysis, analyse_tradeoff, describe_drift, empirical_optima,
)
from pretrain_diversity.analysis.theory.fit import (
    RESULT_COLUMNS, TradeoffFit, check_results_table, fit_tradeoff, fit_tradeoff_per_task,
    seed_matrix,
)
