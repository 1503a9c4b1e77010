"""Does the recipe pay at a larger budget? The validation behind ``book/application.md``.

The ratio r* is estimated (``analysis.recommend.estimate_ratio``) from the Figure 1 study's budgets at
least ``ESTIMATION_FACTOR`` times smaller than the target, on validation errors averaged over the
downstream tasks. At the target budget (the application study, ``studies/application.toml``) four
choices of K are compared on **test** error, paired by seed:

- ``recommended``: K* = sqrt(r* N), rounded to a power of two (the study's grid);
- ``standard``: every available class (the largest K that fits the pool and divides N);
- ``few classes``: K = 4, many images per class;
- ``oracle``: the grid point with the lowest validation error at the target budget, per task: what
  an expensive grid search at the full budget would pick (selected on validation, so it need not
  be the best on test).

The verdict rule is fixed here, before any target-budget result exists. On the error averaged over
tasks, with the paired-by-seed gain g = err(standard) - err(recommended) and its 95 % t-interval
over seeds:

- **reproduced**: g > 0 with an interval that excludes 0, and g at least half of the oracle's
  gain over the standard choice (the cheap estimate captures most of what a full grid finds);
- **partly reproduced**: g > 0, but its interval includes 0 or it is less than half the oracle's;
- **not reproduced**: g <= 0, or the recipe picks the standard choice itself.

The paper's "about 2 points" is printed beside g; with different data, model and scale only the
sign and the relative size carry over, not the number.
"""

from pretrain_diversity.studies.application.figures import (
    CHOICE_STYLE, plot_ratio_by_budget, plot_target,
)
from pretrain_diversity.studies.application.load import (
    COMMAND, RESULTS, RUNS_DIR, STUDY, load_application, sweep_record,
)
from pretrain_diversity.studies.application.stats import (
    CHOICES, ESTIMATION_FACTOR, EVAL_METRIC, GRID, PAPER_GAIN_POINTS, SELECT_METRIC, SETTINGS,
    TARGET_BUDGET, Paired, Plan, TaskComparison, check_measured, check_same_settings, compare,
    paired, plan, target_optimum,
)
from pretrain_diversity.studies.application.verdicts import (
    choice_table, estimate_text, gain_text, per_budget_table, provenance, task_heading, verdict,
)
