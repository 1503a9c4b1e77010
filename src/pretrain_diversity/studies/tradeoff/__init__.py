"""Figure 1 of Zhang et al. from a sweep's results table: where is the best K at each budget N?

Inputs are the tidy rows of ``analysis.tables.collect`` (one per run and downstream task). All logs are
base 2. At budget N a run with K classes has n = N / K images per class and class-to-sample ratio
r = K / n = K^2 / N, so along a fixed-budget diagonal log2 r = 2 log2 K - log2 N.

The optimum per budget and its trend over budgets come from ``optimum`` (the one implementation
the Figure 1, theory and application pages share):

- ``optimum.optima``: per (task, N), the K with the lowest seed-mean test error, refined between
  grid points by the parabola through it and its two neighbours (in log2 K), with a bootstrap
  interval over seeds (the same draw for every K of a budget, budgets drawn independently),
  whether the grid minimum is interior, and how often it is interior across bootstrap draws.
- ``optimum.ratio_trend``: the slope b of log2 r* against log2 N, with a bootstrap interval.
  b = 0 is the paper's claim (optimal ratio independent of N); then K* and n* both grow as
  sqrt(N). In general K* ~ N^((1+b)/2) and n* ~ N^((1-b)/2).

This module adds:

- ``verdict``: the two answers in words, computed from the above.
- plots: contours over (log2 K, log2 n) with iso-N diagonals and optima, error against
  log2(K/n) with seed bands (the live explorer is ``figures.figure1_explorer``).
"""

from pretrain_diversity.studies.tradeoff.figures import plot_contours, plot_ucurves
from pretrain_diversity.studies.tradeoff.load import (
    COMMAND, LEVEL, METRIC, RESULTS, RUNS_DIR, STUDY, load_figure1, provenance,
)
from pretrain_diversity.studies.tradeoff.stats import optima_and_trend
from pretrain_diversity.studies.tradeoff.verdicts import optima_table, verdict

__all__ = ["COMMAND", "LEVEL", "METRIC", "RESULTS", "RUNS_DIR", "STUDY", "load_figure1", "optima_and_trend", "optima_table", "plot_contours",
           "plot_ucurves", "provenance", "verdict"]
