"""When is the optimal class-to-sample ratio invariant to the budget N?

Zhang et al. claim the best K/n does not depend on N; a trial on glyphs found it grows with N.
This module reads the Figure-1-style grids measured under several *conditions* (intra-class
variety V, model width, epochs per N), and for each condition and downstream task computes

- the optimum per budget and the slope of log2 r* against log2 N with a bootstrap interval, by
  calling ``optimum.optima`` and ``optimum.ratio_trend`` per condition (slope 0 = invariance);
- paired contrasts of the slope between conditions (the effect size of each knob);
- the regret of extrapolating: the error at the largest N when the ratio found at the smallest N
  is used there, against the best measured error (what the paper's recipe would cost);
- the free-exponent fit of the theory chapter's bound, ``theory.fit_tradeoff``, whose drift
  (beta - alpha) / (alpha + beta) says which exponent moves with each knob;
- a verdict in words, plots, and a live condition x budget explorer.

A condition is one combination of the run parameters that are not K, n or the seed; the Figure 1
study (``results/figure1/runs.csv``) is the condition "original sampler" (styles_per_class unset,
width 8, 20 epochs). By default every condition is compared on the (N, K) points all conditions
share (``match_grid``), so the Figure 1 grid is thinned to the invariance grid; the original
sampler on its full grid is kept as an extra row that shows how much the thinner grid moves the
answer.
"""

from pretrain_diversity.studies.invariance.conditions import (
    BASELINE, CONDITION_COLUMNS, DEFAULT_EPOCHS, DEFAULT_WIDTH, FULL_GRID, condition_table,
    conditions_in_order, knob_groups, label_conditions, match_grid, variety_label,
)
from pretrain_diversity.studies.invariance.figures import (
    KNOB_COLORS, condition_grid, condition_optimum, condition_widget, plot_exponents, plot_optima, plot_slopes,
    plot_ucurves,
)
from pretrain_diversity.studies.invariance.load import (
    KNOBS, METRIC, RUNS_DIR, SAMPLER_RESULTS, SAMPLER_SPEC, SPECS, command, load_invariance,
    provenance, results_path, sampler_note, tables, tables_note,
)
from pretrain_diversity.studies.invariance.stats import (
    MARGIN, NULL_LOG2_RATIOS, Invariance, analyse, contrasts, extrapolation_regret,
    fit_exponents, grid_bias,
)
from pretrain_diversity.studies.invariance.verdicts import (
    classify, exponent_shift, exponents_table, grid_note, summary_table, takeaways, verdict,
)
