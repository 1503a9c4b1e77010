"""Figure 1's table holds runs of two software versions: what that did to the numbers.

Some of its runs were migrated from the first table (torch 2.15, the code of that time); the
rest were trained since. The application study's target runs (N = 32,768) were all made under
the old version, and some have the same run ids as Figure 1's newer runs: those pairs (same
configuration, same seed) say whether the change of version is a bias or only noise.
"""

from __future__ import annotations

import os

import pandas as pd

from pretrain_diversity.analysis import versions as V
from pretrain_diversity.analysis.formatting import signed_interval
from pretrain_diversity.paths import repo_root
from pretrain_diversity.sweeps import catalog

PAIRED_WITH = catalog.study("application").table


def version_check(df: pd.DataFrame, root: str | os.PathLike | None = None):
    """(the table's version mix, the paired differences against the application's runs; None
    when that table is absent). (None, None) for a table that records no versions (one made
    by hand, or by a test)."""
    from pretrain_diversity.analysis.tables import load_results

    if V.VERSION not in df:
        return None, None
    path = repo_root(root) / PAIRED_WITH
    pairs = V.paired_version_differences(load_results(path), df) if path.exists() else None
    return V.version_mix(df), pairs


def version_text(mix: pd.DataFrame | None, pairs: pd.DataFrame | None) -> str:
    """Markdown: which versions measured the table, and the paired check, read against 0."""
    if mix is None:
        return "The table does not record which software versions measured it."
    parts = [f"{r.runs} runs under torch {r.torch} (seeds {r.seeds}; N = {r['budgets N']})"
             for _, r in mix.iterrows()]
    text = "The table holds " + "; ".join(parts) + "."
    if len(mix) < 2:
        return text
    if pairs is None or pairs.empty:
        return text + " No run id was measured under both versions, so their difference is untested."
    cells = [f"{r.task} {r['mean']:+.2f} {signed_interval(r.low, r.high)} (sd of one pair "
             f"{r.sd:.2f})" for _, r in pairs.iterrows()]
    biased = pairs[(pairs.low > 0) | (pairs.high < 0)].task.tolist()
    verdict = (f"The interval excludes 0 for {', '.join(biased)}: there the version changed the "
               "error systematically, and the verdicts mix that change with the budget." if biased
               else "Every interval contains 0: no systematic shift is detectable, only the added "
               "noise of a different float trajectory, which the seed bootstrap treats as seed "
               "noise.")
    return (f"{text} {int(pairs.pairs.iloc[0])} run ids were measured under both versions "
            f"({pairs.versions.iloc[0]}; the application study's target runs against Figure 1's "
            f"N = 32,768): test error, new minus old, in points, with 95% intervals over the "
            f"pairs: {'; '.join(cells)}. {verdict}")
