"""Entezari et al. 2023, "The Role of Pre-training Data in Transfer Learning", in miniature.

Four studies (``studies/entezari-*.toml``), each a table of few-shot transfer results (one row per
run, downstream task, protocol and k; ``analysis.tables``), and one analysis per finding:

- (a) ``sources``: does the pre-training source matter most with few downstream images? The
  spread between the best and the worst source at each k, and how much it shrinks from 1 shot to
  the whole pool (paper, CIFAR-100: 12.6 points at 1 shot, 2.1 with all data).
- (b) ``size``: how much does more pre-training data help, and at which k?
- (c) ``curation``: how many times more noisy-label data matches clean data (paper: 15x to 2000x
  more LAION than ImageNet)?
- (d) ``methods``: supervised against SimCLR and CLIP-style pre-training on the same images.

Accuracies are in points (100 x (1 - test error)), as the paper reports them. Intervals are
bootstrap intervals over seeds (each group's seeds resampled independently); "seed spread" is the
standard deviation over seeds. With 5 seeds per cell the bootstrap is coarse: the pages say so.

Every verdict is a claim over cells read by ``analysis.verdict_rule.combine_cells`` (``claims``):
one cell that significantly contradicts it makes it "contradicted", named. The sources' role is
read net of seed noise (``analysis.spread_null``). ``fairness`` holds the fair-compute reads
(SimCLR's budget chosen on validation, training accuracies, test-selection shifts) and the paper's
own numbers (``analysis.reference_numbers``) as the pages show them.
"""

from pretrain_diversity.studies.pretraining_data.figures import (
    plot_by_k, plot_curation, plot_size, plot_spread,
)
from pretrain_diversity.studies.pretraining_data.load import (
    FULL, PAPER, PROTOCOL_NAMES, PROTOCOLS, RESULTS, RUNS_DIR, SPECS, STUDIES, TASK_NAMES, command,
    k_label,
    k_order, load, not_yet_run, provenance, recorded, wall_times, with_accuracy, CONTROLS,
)
from pretrain_diversity.studies.pretraining_data.claims import (
    claim_robustness, clean_and_noisy, curation_claim, curation_cells, curation_table_claim, findings, methods_claim, old_label,
    panel_table, size_claim, sources_claim, spread_null_display, spread_null_table,
    verdict_markdown, verdict_table, worst_cell,
)
from pretrain_diversity.studies.pretraining_data.fairness import (
    caption_claims, difference_text, reference_difference, reference_table, select_on_validation,
    shift_summary, shift_table, simclr_budget, statements_text, testselection_shift, theirs_note,
    training_accuracy, training_by_budget,
)
from pretrain_diversity.studies.pretraining_data.stats import (
    LEVEL, N_BOOT, gain_contrast, matching_factors, method_differences, seed_summary,
    selection_inflation, shot_curves, size_gains, source_spread, spread_among, spread_shrinkage,
)
from pretrain_diversity.studies.pretraining_data.verdicts import (
    METHOD_CONTRASTS, METHOD_ORDER, SOURCE_ORDER, best_and_worst, gains_table, method_order,
    methods_table, source_order, spread_table, curation_verdict, factor_table, factor_text,
    inflation_summary, inflation_table, leave_one_out, methods_verdict, short_task_name,
    size_verdict, task_name, top_gains, verdict_label, verdict_sources, wall_time_summary,
)
