"""A difference paired by seed, with its t-interval: how two choices compare when each seed's
runs share their draws (classes, images, initialisation), so seed-to-seed noise cancels."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Paired:
    """Mean, standard deviation and 95 % t-interval over seeds of a paired difference (points)."""

    mean: float
    std: float
    n: int
    lo: float
    hi: float
    wins: int  # seeds on which the difference is > 0

    def text(self, positive: str | None = None) -> str:
        """``positive`` names what a difference > 0 means, to count the seeds where it holds."""
        if self.n < 2:
            return f"{self.mean:+.2f} (one seed)"
        wins = f"; {positive} on {self.wins}/{self.n} seeds" if positive else ""
        return (f"{self.mean:+.2f} ± {self.std:.2f} (95% interval {self.lo:+.2f} to "
                f"{self.hi:+.2f}{wins})")


def paired(a: pd.Series, b: pd.Series) -> Paired:
    """a - b over the seeds both have, in percentage points (inputs are error rates by seed)."""
    from scipy.stats import t as student

    d = ((a - b).dropna() * 100).to_numpy()
    n = len(d)
    if n == 0:
        return Paired(np.nan, np.nan, 0, np.nan, np.nan, 0)
    mean = float(d.mean())
    if n < 2:
        return Paired(mean, np.nan, n, np.nan, np.nan, int((d > 0).sum()))
    sd = float(d.std(ddof=1))
    half = float(student.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return Paired(mean, sd, n, mean - half, mean + half, int((d > 0).sum()))
