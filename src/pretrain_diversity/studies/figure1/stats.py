"""Figure 1's statistics: the optimum per budget and the trend of the optimal ratio over budgets.

Both come from ``analysis.optimum`` (the one implementation the Figure 1, invariance, theory and
application pages share); this module fixes the page's interval level and returns them together.
"""

from __future__ import annotations

import pandas as pd

from pretrain_diversity.analysis import optimum
from pretrain_diversity.studies.figure1.load import LEVEL, METRIC


def optima_and_trend(df: pd.DataFrame, *, level: float = LEVEL, metric: str = METRIC,
                     report: str | None = None):
    """(optima per task and budget, their bootstrap draws, the ratio trend per task); with
    ``metric="val_error", report="test_error"`` the optimum is selected on validation and the
    test error quoted at the selected point."""
    opt, draws = optimum.optima(df, metric=metric, level=level, return_draws=True, report=report)
    return opt, draws, optimum.ratio_trend(opt, draws, level=level)
