"""The one rule that turns intervals into verdict words, for every page that reads one.

Two rules live here, because the pages had one each and they disagreed:

- ``read_slope`` (and ``read_slopes`` for a ``ratio_trend`` table): the slope of log2 r* on
  log2 N against 0 and a practical margin fixed before any study ran (``MARGIN``). Figure 1 read
  "moves / does not move" against 0 only, the invariance page against ±0.2; both now read this.
- ``combine_cells``: a claim checked in several cells (task x protocol, ...) each with an effect,
  an interval and the direction the claim predicts. "Partly reproduced whenever any cell passes"
  hid cells that significantly said the opposite; here one such cell makes the claim
  "contradicted", named.

The slope rule, exactly (the one ``studies.invariance.classify`` applied; its answers are kept on
all its cases, and it now also says why, in numbers):

1. ``invariant``: the interval lies inside [-margin, +margin] (equivalence shown, ends included);
2. ``drifts up`` / ``drifts down``: the interval excludes 0 and the estimate lies beyond
   +margin / -margin; ``beyond_margin`` says whether the whole interval does (the strong form);
3. ``small drift``: the interval excludes 0 but the estimate lies within the margin;
4. ``inconclusive``: anything else: the interval contains 0 and reaches beyond the margin, or
   there is no interval (NaN: one budget, or no bootstrap).

The cell rule, exactly. A cell ``passes`` if its interval excludes 0 on the predicted side,
``contradicts`` if it excludes 0 on the other side, is ``negligible`` if it does neither and lies
inside ±margin (only when a margin > 0 is given: without one, absence cannot be shown), and is
``undecided`` otherwise. The claim is ``contradicted`` if any cell contradicts (whatever the
others do); else ``reproduced`` if every cell passes; else ``partly reproduced`` if some cell
passes; else ``not reproduced`` if every cell is negligible; else ``inconclusive``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# A slope of 0.2 moves the optimal ratio by a factor 4 (one step of the Figure 1 grid) over a
# 1000-fold range of budgets, the range of the paper's recipe (pilot runs, then the full budget);
# by the theory chapter's cosh penalty that costs under 10% more excess error at alpha = beta.
# Fixed before any invariance study ran; the same number as ``studies.invariance.MARGIN``.
MARGIN = 0.2
LEVEL = 0.95

INVARIANT, UP, DOWN, SMALL, INCONCLUSIVE = (
    "invariant", "drifts up", "drifts down", "small drift", "inconclusive")
SLOPE_LABELS = (INVARIANT, UP, DOWN, SMALL, INCONCLUSIVE)
REPRODUCED, PARTLY, CONTRADICTED, NOT_REPRODUCED = (
    "reproduced", "partly reproduced", "contradicted", "not reproduced")
CLAIM_LABELS = (REPRODUCED, PARTLY, CONTRADICTED, NOT_REPRODUCED, INCONCLUSIVE)
PASSES, CONTRADICTS, NEGLIGIBLE, UNDECIDED = "passes", "contradicts", "negligible", "undecided"


@dataclass(frozen=True)
class SlopeReading:
    """One slope read against 0 and ±margin: the label, a reason in numbers, and the inputs."""

    label: str
    reason: str
    slope: float
    lo: float
    hi: float
    margin: float
    beyond_margin: bool  # the whole interval lies beyond the margin (only for drifts)


def _check_margin(margin: float) -> None:
    if not (isinstance(margin, (int, float)) and math.isfinite(margin) and margin >= 0):
        raise ValueError(f"margin must be a finite number >= 0, got {margin!r}")


def _interval(lo: float, hi: float, level: float) -> str:
    return f"the {level:.0%} interval [{lo:+.2f}, {hi:+.2f}]"


def read_slope(slope: float, lo: float, hi: float, *, margin: float = MARGIN,
               level: float = LEVEL) -> SlopeReading:
    """Label and reason for a slope and its interval (the rule in the module docstring)."""
    _check_margin(margin)
    if np.isfinite([lo, hi]).all() and lo > hi:
        raise ValueError(f"interval ends out of order: lo={lo} > hi={hi}")
    iv = _interval(lo, hi, level)
    far = max(abs(lo), abs(hi))
    beyond = False
    if not np.isfinite([slope, lo, hi]).all():
        label = INCONCLUSIVE
        reason = "there is no interval to read (one budget, or no bootstrap draws)"
    elif -margin <= lo and hi <= margin:
        label = INVARIANT
        share = far / margin if margin else 0.0
        reason = (f"{iv} lies within ±{margin:g}; its farther end is {share:.0%} of the margin")
    elif lo > 0 or hi < 0:
        ratio = abs(slope) / margin if margin else math.inf
        if abs(slope) > margin:
            label = UP if slope > 0 else DOWN
            beyond = lo > margin or hi < -margin
            near = lo if slope > 0 else hi
            reason = (f"{iv} excludes 0 and the estimate {slope:+.2f} is {ratio:.1f} times the "
                      f"margin ±{margin:g}; "
                      + ("the whole interval lies beyond the margin" if beyond else
                         f"the interval's near end {near:+.2f} is inside the margin"))
        else:
            label = SMALL
            reason = (f"{iv} excludes 0 but the estimate {slope:+.2f} is {ratio:.0%} of the "
                      f"margin ±{margin:g}")
    else:
        label = INCONCLUSIVE
        reason = (f"{iv} contains 0 and reaches {far / margin if margin else math.inf:.1f} "
                  f"times the margin ±{margin:g}, so it shows neither invariance nor a drift")
    return SlopeReading(label, reason, float(slope), float(lo), float(hi), float(margin), beyond)


def read_slopes(trend: pd.DataFrame, *, margin: float = MARGIN) -> pd.DataFrame:
    """``optimum.ratio_trend`` rows with ``label``, ``reason`` and ``beyond_margin`` added."""
    missing = {"slope", "slope_lo", "slope_hi"} - set(trend.columns)
    if missing:
        raise ValueError(f"trend table lacks columns {sorted(missing)}")
    out = trend.copy()
    readings = [read_slope(r.slope, r.slope_lo, r.slope_hi, margin=margin,
                           level=getattr(r, "level", LEVEL)) for r in out.itertuples()]
    out["label"] = [r.label for r in readings]
    out["reason"] = [r.reason for r in readings]
    out["beyond_margin"] = [r.beyond_margin for r in readings]
    return out


@dataclass
class ClaimVerdict:
    """A multi-cell claim's label, the reason in numbers, and the per-cell table (with status)."""

    label: str
    reason: str
    cells: pd.DataFrame = field(repr=False)


def cell_status(effect: float, lo: float, hi: float, direction: int, margin: float = 0.0) -> str:
    """``passes`` / ``contradicts`` / ``negligible`` / ``undecided`` (the module docstring)."""
    if direction not in (1, -1):
        raise ValueError(f"direction must be +1 or -1 (the sign the claim predicts), got {direction}")
    if not np.isfinite([lo, hi]).all():
        return UNDECIDED
    lo_d, hi_d = sorted((direction * lo, direction * hi))  # in the predicted orientation
    if lo_d > 0:
        return PASSES
    if hi_d < 0:
        return CONTRADICTS
    if margin > 0 and -margin <= lo and hi <= margin:
        return NEGLIGIBLE
    return UNDECIDED


def _cell_names(cells: pd.DataFrame, keys) -> list[str]:
    return [", ".join(str(v) for v in row) for row in cells[list(keys)].itertuples(index=False)]


def _listing(cells: pd.DataFrame, names: list[str], mask) -> str:
    return "; ".join(f"{n} ({r.effect:+.2f} [{r.lo:+.2f}, {r.hi:+.2f}])"
                     for n, r, m in zip(names, cells.itertuples(), mask) if m)


def combine_cells(cells: pd.DataFrame, *, keys=("task", "protocol"), effect: str = "effect",
                  lo: str = "lo", hi: str = "hi", direction: int | str = 1,
                  margin: float = 0.0) -> ClaimVerdict:
    """One verdict for a claim tested in several cells (the rule in the module docstring).

    ``cells`` has one row per cell: the ``keys`` columns name it, ``effect``/``lo``/``hi`` hold
    the estimate and its interval; ``direction`` is the sign the claim predicts, +1 or -1, for
    all cells or the name of a column holding it per cell; ``margin`` (in the effect's units) is
    the smallest effect that would matter, which lets a cell show the effect is absent.
    """
    _check_margin(margin)
    need = set(keys) | {effect, lo, hi} | ({direction} if isinstance(direction, str) else set())
    missing = need - set(cells.columns)
    if missing:
        raise ValueError(f"cells table lacks columns {sorted(missing)}")
    t = cells[list(keys)].copy().reset_index(drop=True)
    t["effect"] = cells[effect].to_numpy(float)
    t["lo"] = cells[lo].to_numpy(float)
    t["hi"] = cells[hi].to_numpy(float)
    t["direction"] = (cells[direction].to_numpy() if isinstance(direction, str)
                      else np.full(len(t), direction))
    t["status"] = [cell_status(r.effect, r.lo, r.hi, int(r.direction), margin)
                   for r in t.itertuples()]
    n = len(t)
    if n == 0:
        return ClaimVerdict(INCONCLUSIVE, "there are no cells to read", t)
    names = _cell_names(t, keys)
    st = t["status"]
    n_pass, n_contra = int((st == PASSES).sum()), int((st == CONTRADICTS).sum())
    if n_contra:
        label = CONTRADICTED
        reason = (f"{n_contra} of {n} cells significantly contradict the predicted direction: "
                  f"{_listing(t, names, st == CONTRADICTS)}; {n_pass} pass")
    elif n_pass == n:
        label = REPRODUCED
        near = float(np.min(np.minimum(t.direction * t.lo, t.direction * t.hi)))
        reason = (f"all {n} cells' intervals exclude 0 in the predicted direction (the nearest "
                  f"end is {near:.2f} from 0)")
    elif n_pass:
        label = PARTLY
        reason = (f"{n_pass} of {n} cells pass ({_listing(t, names, st == PASSES)}), none "
                  f"contradicts; the others do not exclude 0: {_listing(t, names, st != PASSES)}")
    elif (st == NEGLIGIBLE).all():
        label = NOT_REPRODUCED
        reason = (f"no cell shows the effect and all {n} intervals lie within ±{margin:g}, the "
                  f"smallest effect that would matter")
    else:
        label = INCONCLUSIVE
        agree = int((np.sign(t.effect) == t.direction).sum())
        reason = (f"no cell's interval excludes 0 ({agree} of {n} estimates point the predicted "
                  f"way) and " + ("no margin was given to show absence" if margin == 0 else
                                  f"{int((st == UNDECIDED).sum())} reach beyond ±{margin:g}"))
    return ClaimVerdict(label, reason, t)
