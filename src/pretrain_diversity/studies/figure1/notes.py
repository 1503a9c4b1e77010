"""The Figure 1 page's caveats and its setting table, with every number read from the table, so
the prose never states a spec's intent as if it were data."""

from __future__ import annotations

import pandas as pd

from pretrain_diversity.analysis.bootstrap import distinct_draws


def _runs(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop_duplicates("run_id")


def trust_notes(df: pd.DataFrame) -> str:
    """Markdown bullets: how far the bootstrap, the grid and the budgets let the verdict reach."""
    runs = _runs(df)
    seeds = runs.seed.nunique()
    budgets = sorted(runs.budget.unique())
    span = budgets[-1] / budgets[0]
    return "\n".join([
        f"- The bootstrap resamples seeds (with replacement, the same draw for all K of a budget, "
        f"budgets drawn independently; `pretrain_diversity.analysis.optimum`, shared with the "
        f"theory and application pages). With {seeds} seeds it has only "
        f"{distinct_draws(seeds)} distinct draws per budget, so its intervals are indicative.",
        "- It measures seed noise only. Between grid points the optimum is placed by a parabola "
        "whose error the interval does not include; the robustness panel's other estimators and "
        "thinned grid are how this page checks that.",
        f"- The slope is fitted to {len(budgets)} budgets spanning {span:.0f}× "
        f"(N = {', '.join(f'{b:,}' for b in budgets)}).",
    ])


def setting_table(df: pd.DataFrame) -> pd.DataFrame:
    """Our setting beside the paper's, the right column computed from the table."""
    runs = _runs(df)
    cfg = runs.iloc[0]
    budgets = sorted(runs.budget.unique())
    k_per = runs.groupby("budget").n_classes.nunique()
    return pd.DataFrame([
        ("pre-training classes", "ImageNet subsets (from 1000 object classes)",
         "glyphs of the fonts inside matplotlib; a class's images are random warps of a few "
         "font renders, so its variety runs out faster than an ImageNet class's"),
        ("budgets", "ImageNet scale",
         f"N = {budgets[0]:,} to {budgets[-1]:,} images ({budgets[-1] / budgets[0]:.0f}-fold, "
         f"{len(budgets)} budgets)"),
        ("model and training", "'100 epochs, batch 64, lr 0.1' as reported",
         f"{cfg.arch}, width {cfg.width}, depth {cfg.depth}, on {cfg.image_size} px images, "
         f"{cfg.epochs:g} epochs, batch {cfg.batch_size}, SGD lr {cfg.lr}"),
        ("downstream", "several data sets, Places365 among them; linear probe",
         f"{', '.join(sorted(df.task.unique()))}; linear probe with validation-chosen "
         f"regularisation, the optimum selected on validation error"),
        ("repetitions", "5", f"{runs.seed.nunique()} seeds"),
        ("grid", "dense enough for contours over (log K, log n)",
         (f"{k_per.min()}" if k_per.min() == k_per.max() else f"{k_per.min()} to {k_per.max()}")
         + f" values of K per budget, on {len(budgets)} diagonals; "
         "the contours interpolate between them"),
    ], columns=["", "Zhang et al. (2023)", "here"])
