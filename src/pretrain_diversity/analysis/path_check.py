"""Does a software path move the results? The same runs made two ways, compared with seed noise.

A change of numeric path (fp32 against bf16 autocast in training: ``training.cpu_path``) keeps a
run's id, so a study may hold runs made either way. That is sound only if the path moves a run's
test error by less than the seeds do. Here each configuration is run with several seeds on both
paths; a pair is (configuration, seed) on path ``a`` and on path ``b``: the same classes, images
and initialisation, differing only in the path.

- the paired difference ``b - a`` of each pair, and its mean over all pairs;
- seed noise: the standard deviation of the test error over seeds within a configuration and
  path, pooled (the root of the mean variance) over configurations and both paths;
- the mean difference is within seed noise when ``|mean| < k x SE``, SE = pooled seed SD /
  sqrt(number of pairs): a path effect smaller than what k standard errors of seed noise could
  produce. (The differences' own spread and t-interval are given beside it.)

Everything is in percentage points of test error; inputs are error rates (0..1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class PathCheck:
    a: str
    b: str
    per_config: pd.DataFrame  # config, seeds, error_a, error_b, diff, seed_sd (points)
    mean_diff: float  # points, b - a
    diff_sd: float  # SD of the paired differences
    seed_sd: float  # pooled SD over seeds within (configuration, path)
    n_pairs: int
    k: float

    @property
    def se(self) -> float:
        """Standard error of a mean over ``n_pairs`` draws of seed noise."""
        return self.seed_sd / math.sqrt(self.n_pairs) if self.n_pairs else math.nan

    @property
    def within_noise(self) -> bool:
        return bool(abs(self.mean_diff) < self.k * self.se)

    def interval(self) -> tuple[float, float]:
        """95 % t-interval of the mean paired difference."""
        from scipy.stats import t as student

        if self.n_pairs < 2:
            return (math.nan, math.nan)
        half = float(student.ppf(0.975, self.n_pairs - 1)) * self.diff_sd / math.sqrt(self.n_pairs)
        return (self.mean_diff - half, self.mean_diff + half)

    def lines(self) -> list[str]:
        """The check as text: a line per configuration, then the verdict."""
        out = [f"  {'configuration':<28} {'seeds':>5} {self.a:>8} {self.b:>8} {'diff':>7} "
               f"{'seed SD':>8}"]
        for r in self.per_config.itertuples():
            out.append(f"  {r.config:<28} {r.seeds:>5d} {r.error_a:7.2f}% {r.error_b:7.2f}% "
                       f"{r.diff:+7.2f} {r.seed_sd:8.2f}")
        lo, hi = self.interval()
        verdict = "within" if self.within_noise else "OUTSIDE"
        out.append(f"  mean paired difference ({self.b} - {self.a}) {self.mean_diff:+.2f} points "
                   f"over {self.n_pairs} pairs (SD {self.diff_sd:.2f}, 95% interval {lo:+.2f} to "
                   f"{hi:+.2f}); seed noise: SD {self.seed_sd:.2f}, SE {self.se:.2f}")
        out.append(f"  -> {verdict} seed noise (|mean difference| {abs(self.mean_diff):.2f} "
                   f"{'<' if self.within_noise else '>='} {self.k:g} x SE = {self.k * self.se:.2f})")
        return out

    def as_dict(self) -> dict:
        lo, hi = self.interval()
        return {"a": self.a, "b": self.b, "mean_diff_points": self.mean_diff,
                "diff_sd_points": self.diff_sd, "interval_points": [lo, hi],
                "seed_sd_points": self.seed_sd, "se_points": self.se, "n_pairs": self.n_pairs,
                "k": self.k, "within_noise": self.within_noise,
                "per_config": self.per_config.to_dict(orient="records")}


def path_check(errors: pd.DataFrame, a: str, b: str, *, k: float = 2.0) -> PathCheck:
    """The check of ``errors`` (columns ``config``, ``seed``, ``path``, ``error``: one row per
    run; ``path`` is ``a`` or ``b``). Pairs are the (config, seed) present on both paths."""
    missing = {"config", "seed", "path", "error"} - set(errors.columns)
    if missing:
        raise ValueError(f"path_check: errors lack the column(s) {sorted(missing)}")
    wide = errors.pivot_table(index=["config", "seed"], columns="path", values="error",
                              aggfunc="mean")  # fmt: skip
    if a not in wide or b not in wide:
        raise ValueError(f"path_check: need runs on both paths {a!r} and {b!r}")
    order = list(dict.fromkeys(errors["config"]))  # configurations in the order given
    wide = wide[[a, b]].dropna() * 100
    wide = wide.reindex(sorted(wide.index, key=lambda i: (order.index(i[0]), i[1])))
    if wide.empty:
        raise ValueError(f"path_check: no (config, seed) was run on both {a!r} and {b!r}")
    diff = wide[b] - wide[a]
    variances, rows = [], []
    for config, g in wide.groupby(level="config", sort=False):
        sd = [float(g[p].std(ddof=1)) if len(g) > 1 else math.nan for p in (a, b)]
        variances += [s * s for s in sd if not math.isnan(s)]
        d = diff.loc[config]
        rows.append({"config": str(config), "seeds": len(g), "error_a": float(g[a].mean()),
                     "error_b": float(g[b].mean()), "diff": float(d.mean()),
                     "seed_sd": float(np.sqrt(np.mean([s * s for s in sd])))})
    n = len(diff)
    return PathCheck(
        a=a, b=b, per_config=pd.DataFrame(rows), mean_diff=float(diff.mean()),
        diff_sd=float(diff.std(ddof=1)) if n > 1 else math.nan,
        seed_sd=float(np.sqrt(np.mean(variances))) if variances else math.nan,
        n_pairs=n, k=k,
    )  # fmt: skip
