"""Figure 1's statistics: the optimum per budget and the trend of the optimal ratio over budgets,
and what selecting on the reported metric would have changed.

Both come from ``analysis.optimum`` (the one implementation the Figure 1, invariance, theory and
application pages share); this module fixes the page's interval level and returns them together.
"""

from __future__ import annotations

import pandas as pd

from pretrain_diversity.analysis import optimum
from pretrain_diversity.analysis.optimum import optima
from pretrain_diversity.analysis.robustness import REPORT, SELECT
from pretrain_diversity.studies.figure1.load import LEVEL, METRIC


def optima_and_trend(df: pd.DataFrame, *, level: float = LEVEL, metric: str = METRIC,
                     report: str | None = None):
    """(optima per task and budget, their bootstrap draws, the ratio trend per task); with
    ``metric="val_error", report="test_error"`` the optimum is selected on validation and the
    test error quoted at the selected point."""
    opt, draws = optimum.optima(df, metric=metric, level=level, return_draws=True, report=report)
    return opt, draws, optimum.ratio_trend(opt, draws, level=level)


def selection_gap(df: pd.DataFrame, *, n_boot: int = 0) -> pd.DataFrame:
    """Per (task, budget): K* selected on validation and on test, the seed-mean test error at each
    one's best grid point, and the difference (validation-selected minus test-selected: >= 0, the
    optimism selecting on the reported metric would add). Grid points, not the refined optima, so
    both errors are read the same way (measured means, no interpolation)."""
    val = optima(df, metric=SELECT, report=REPORT, n_boot=n_boot)
    test = optima(df, metric=REPORT, n_boot=n_boot)
    out = val[["task", "budget"]].copy()
    out["K* (val)"] = val.K_star.to_numpy()
    out["K* (test)"] = test.K_star.to_numpy()
    out["test error at val-selected"] = val.report_grid.to_numpy()
    out["test error at test-selected"] = test.err_grid.to_numpy()
    out["difference"] = out["test error at val-selected"] - out["test error at test-selected"]
    return out
