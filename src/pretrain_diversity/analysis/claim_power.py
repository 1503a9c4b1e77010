"""How often does a claim read over several cells (``verdict_rule.combine_cells``) say what is
true, on the study's own cells? The power of a multi-cell design, by simulation.

A claim's verdict comes from many cells (task x protocol x k ...), each an estimate with a 95%
bootstrap interval over seeds. Whether "yes", "partly", "no: some cells show the opposite" or
"cannot tell" is a finding depends on what the same cells would have said had the truth been
different. Here every cell keeps the standard error its interval implies (its seeds, its noise)
and the truth is set: the same effect ``delta`` in every cell, in the direction the claim
predicts (``delta = 0``: no effect anywhere), or the effects as measured (the estimates taken as
the truth: how stable the verdict is). Each simulated study draws every cell's estimate from a
normal around its truth, puts the interval at +-1.96 standard errors, and reads it by the cell
rule and ``combine_cells``' precedence, vectorised (a test checks it against ``combine_cells``).

What it leaves out, and which way that errs. Cells that share seeds are correlated; drawing them
independently spreads the cells more than the study would, so "some cell contradicts" comes out
more often here than in a study whose cells move together: the false-contradiction rate is an
upper bound. The robustness panel is not simulated (it can only turn a verdict into "cannot
tell"), so the rates are those of the rule as reported.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pretrain_diversity.analysis import verdict_rule as VR

Z = 1.959963984540054  # the 95% normal quantile, the level of the cells' intervals
DELTAS = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0)  # points: the effect every cell is given
SIMS = 4000
TARGET = 0.8


def standard_errors(cells: pd.DataFrame) -> np.ndarray:
    """Each cell's standard error, from the width of its 95% interval."""
    se = (cells["hi"].to_numpy(float) - cells["lo"].to_numpy(float)) / (2 * Z)
    if not np.isfinite(se).all() or (se <= 0).any():
        raise ValueError("every cell needs a finite interval of positive width to simulate it")
    return se


def simulate_labels(truth: np.ndarray, se: np.ndarray, direction: np.ndarray, *,
                    sims: int = SIMS, seed: int = 0) -> np.ndarray:
    """``sims`` verdict labels of studies whose cells have true effects ``truth`` (in the
    effect's own sign) and standard errors ``se``, read by the rule without a margin."""
    rng = np.random.default_rng(seed)
    est = truth + se * rng.standard_normal((sims, len(se)))
    lo_d = direction * est - Z * se  # the interval's end nearest 0, in the predicted orientation
    hi_d = direction * est + Z * se
    passes, contra = lo_d > 0, hi_d < 0
    return np.where(contra.any(1), VR.CONTRADICTED,
                    np.where(passes.all(1), VR.REPRODUCED,
                             np.where(passes.any(1), VR.PARTLY, VR.INCONCLUSIVE)))


def _tally(labels: np.ndarray) -> dict[str, float]:
    return {label: float(np.mean(labels == label))
            for label in (VR.REPRODUCED, VR.PARTLY, VR.CONTRADICTED, VR.INCONCLUSIVE)}


def claim_power(claim: VR.ClaimVerdict, deltas=DELTAS, *, sims: int = SIMS,
                seed: int = 0) -> pd.DataFrame:
    """P(label | the same true effect ``delta`` in every cell), one row per delta, and a last
    row with the effects as measured."""
    cells = claim.cells
    se, direction = standard_errors(cells), cells["direction"].to_numpy(int)
    rows = [{"true effect": f"{d:g} in every cell", "delta": float(d),
             **_tally(simulate_labels(direction * d, se, direction, sims=sims, seed=seed))}
            for d in deltas]
    measured = simulate_labels(cells["effect"].to_numpy(float), se, direction, sims=sims,
                               seed=seed)
    rows.append({"true effect": "as measured", "delta": np.nan, **_tally(measured)})
    return pd.DataFrame(rows)


def detectable(power: pd.DataFrame, target: float = TARGET) -> dict[str, float]:
    """The smallest simulated common effect read as at least 'partly' (``partly``) and as
    'reproduced' (``all``) in ``target`` of studies; NaN where no simulated effect is."""
    grid = power.dropna(subset=["delta"]).sort_values("delta")
    some = grid[VR.REPRODUCED] + grid[VR.PARTLY]
    first = lambda ok: float(grid["delta"][ok].iloc[0]) if ok.any() else float("nan")  # noqa: E731
    return {"partly": first(some >= target), "all": first(grid[VR.REPRODUCED] >= target)}


def _points(x: float) -> str:
    return f"{x:g} point" + ("" if x == 1 else "s")


def power_sentence(power: pd.DataFrame, target: float = TARGET) -> str:
    """What the design could tell, in one sentence for a page: the false-contradiction rate at
    no effect, and the smallest common effect it would find."""
    null = power[power["delta"] == 0]
    if null.empty:
        raise ValueError("the power table needs the no-effect row (delta = 0)")
    found = detectable(power, target)
    largest = float(power["delta"].max())
    partly = (f"a true effect of {_points(found['partly'])} in every cell is read 'yes' or "
              f"'partly' in {target:.0%} of studies" if np.isfinite(found["partly"]) else
              f"no effect up to {largest:g} points in every cell is read 'yes' or 'partly' in "
              f"{target:.0%} of studies")
    every = (f"'yes', which needs every cell to pass, from {_points(found['all'])}" if
             np.isfinite(found["all"]) else
             f"'yes', which needs every cell to pass, for no effect up to {largest:g} points")
    return (f"{partly}, and {every}; with no effect at all, some cell shows the opposite in "
            f"{float(null[VR.CONTRADICTED].iloc[0]):.0%} of studies (cells drawn independently: "
            f"an upper bound)")
