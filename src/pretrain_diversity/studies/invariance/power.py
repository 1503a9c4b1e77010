"""What each invariance condition's design can tell: the slope rule's power per condition and
task, simulated on the condition's own grid, seeds, split sizes and measured noise.

Most of the page's readings say "cannot tell". That is a finding only beside what the same
design would have told: here each (condition, task) design is estimated from the rows the page
analyses (``analysis.power.estimate_design``), synthetic tables with true slopes 0, ±0.5 and ±1
are read by the rule as reported (``analysis.power.seeds_lever`` at the condition's own seeds;
an upper bound on the panel's power), and the page shows the smallest drift found 80% of the
time. ``python -m pretrain_diversity.studies.invariance.power`` writes the table the page reads.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from pretrain_diversity.analysis.power import estimate_design, seeds_lever, smallest_detectable
from pretrain_diversity.paths import repo_root

POWER = Path("results") / "invariance" / "power" / "conditions.csv"
SLOPES = (0.0, 0.5, -0.5, 1.0, -1.0)


def condition_power(rows: pd.DataFrame, *, sims: int = 20, n_boot: int = 200) -> pd.DataFrame:
    """``seeds_lever`` rows (at each design's own seed count) for every (condition, task) of
    ``rows`` (the page's analysed rows, ``Invariance.data``), with ``condition`` and ``task``."""
    parts = []
    for (condition, task), t in rows.groupby(["condition", "task"], sort=False):
        design = estimate_design(t, task)
        lever = seeds_lever(design, (len(design.seeds),), SLOPES, sims=sims, n_boot=n_boot)
        parts.append(lever.assign(condition=condition, task=task))
    return pd.concat(parts, ignore_index=True)


def load_power(root: str | os.PathLike | None = None) -> pd.DataFrame | None:
    path = repo_root(root) / POWER
    return pd.read_csv(path) if path.exists() else None


def power_view(table: pd.DataFrame) -> pd.DataFrame:
    """A reader's table: per condition and task, how often a drift of ±0.5 and ±1 is found
    (the worse sign), and the smallest drift found 80% of the time."""
    rows = []
    for (condition, task), g in table.groupby(["condition", "task"], sort=False):
        found = g.assign(size=g["slope"].abs()).groupby("size")["p_ideal"].min()
        size = smallest_detectable(g)
        rows.append({"condition": condition, "task": task,
                     "±0.5 found": f"{100 * found.get(0.5, np.nan):.0f}%",
                     "±1 found": f"{100 * found.get(1.0, np.nan):.0f}%",
                     "smallest drift found 80% of the time":
                         f"±{size:g}" if np.isfinite(size) else "none up to ±1",
                     "seeds": int(g["seeds"].iloc[0])})
    return pd.DataFrame(rows)


def main(argv=None) -> None:
    import argparse
    import time

    from pretrain_diversity.storage import atomic_write_bytes
    from pretrain_diversity.studies import slope_verdicts as SV
    from pretrain_diversity.studies.invariance.load import load_invariance
    from pretrain_diversity.studies.invariance.stats import analyse

    ap = argparse.ArgumentParser(description="power of each invariance condition's design")
    ap.add_argument("--sims", type=int, default=20)
    ap.add_argument("--n-boot", type=int, default=200)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    inv = analyse(load_invariance(), metric=SV.SELECT, report=SV.REPORT)
    table = condition_power(inv.data, sims=args.sims, n_boot=args.n_boot)
    out = repo_root() / POWER
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, table.to_csv(index=False).encode())
    print(power_view(table).to_string(index=False))
    print(f"{time.perf_counter() - t0:.0f} s -> {out}")


if __name__ == "__main__":
    main()
