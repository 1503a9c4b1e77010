"""The Figure 1 page (``book/figure1.md``): where is the best K at each budget N?

Inputs are the tidy rows of ``analysis.tables.collect`` (one per run and downstream task). All logs are
base 2. At budget N a run with K classes has n = N / K images per class and class-to-sample ratio
r = K / n = K^2 / N, so along a fixed-budget diagonal log2 r = 2 log2 K - log2 N. The optimum per
budget and the slope b of log2 r* on log2 N come from ``analysis.optimum``, shared with the
theory, invariance and application pages; b = 0 is the paper's claim (then K* and n* both grow as
sqrt(N); in general K* ~ N^((1+b)/2) and n* ~ N^((1-b)/2)).

The page's modules: ``load`` (the table and its controls' tables, provenance), ``stats`` (optima
and trend at the page's level, the selection gap), ``verdicts`` (the answer in words, the optima
table), ``figures`` (contours, U-curves), ``hero`` (the ratio against N beside its controls),
``controls`` (fixed steps, pool hygiene, seed streams), ``power`` (what the design can tell),
``notes`` (caveats, the setting beside the paper's) and ``versions`` (what the change of software
version did to the table). The reading of a slope it shares with the other Zhang pages is
``studies.slope_verdicts``.
"""

from pretrain_diversity.studies.figure1.figures import plot_contours, plot_ucurves
from pretrain_diversity.studies.figure1.load import (
    COMMAND, LEVEL, METRIC, RESULTS, RUNS_DIR, STUDY, load_figure1, provenance,
)
from pretrain_diversity.studies.figure1.stats import optima_and_trend, selection_gap
from pretrain_diversity.studies.figure1.verdicts import optima_table, selection_gap_text, verdict

__all__ = ["COMMAND", "LEVEL", "METRIC", "RESULTS", "RUNS_DIR", "STUDY", "load_figure1",
           "optima_and_trend", "optima_table", "plot_contours", "plot_ucurves", "provenance",
           "selection_gap", "selection_gap_text", "verdict"]
