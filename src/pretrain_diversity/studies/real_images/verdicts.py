"""The transfer page's verdicts in words: per source and task, does pre-training beat raw pixels
(and a randomly initialised network)? Every number comes from ``stats.gain_over_baselines``.

The claim "pre-training helps on real images" is tested in every (source, task) cell, read by
``analysis.verdict_rule.combine_cells``: one cell where pre-training is significantly *worse* than
the baseline makes the claim "contradicted", named, however many other cells pass. A cell where
pre-training loses is said in plain words, not folded into an average.
"""

from __future__ import annotations

import pandas as pd

from pretrain_diversity.analysis.verdict_rule import (
    CONTRADICTS, PASSES, ClaimVerdict, combine_cells,
)
from pretrain_diversity.studies.real_images.stats import LEVEL

PIXELS, RANDOM = "raw pixels", "random network"


def cells_of(gains: dict[str, pd.DataFrame], baseline: str) -> pd.DataFrame:
    """One row per (source, task) against ``baseline``: effect (baseline error - pre-trained
    error, positive when pre-training helps) and its interval lo, hi, in error *points* (so the
    verdict's reason reads in the page's units), the chosen K and both errors (fractions)."""
    parts = [g[g["baseline"] == baseline].assign(source=src) for src, g in gains.items() if len(g)]
    if not parts:
        return pd.DataFrame(columns=["source", "task", "effect", "lo", "hi"])
    cols = ["source", "task", "K", "pretrained", "baseline_error", "effect", "lo", "hi"]
    out = pd.concat(parts, ignore_index=True)[cols]
    out[["effect", "lo", "hi"]] *= 100
    return out


def claim(gains: dict[str, pd.DataFrame], baseline: str = PIXELS) -> ClaimVerdict:
    """"Pre-training beats ``baseline``", checked in every (source, task) cell."""
    return combine_cells(cells_of(gains, baseline), keys=("source", "task"), direction=1)


def cell_sentence(row) -> str:
    """One cell in plain words, the status first."""
    gap = abs(row.effect)
    iv = f"{row.lo:+.1f} to {row.hi:+.1f} points"
    base = f"{row.baseline_error:.1%}"
    if row.status == PASSES:
        return (f"**{row.source} → {row.task}: pre-training wins.** {row.pretrained:.1%} at K = "
                f"{row.K} against {base}, {gap:.1f} points better ({iv})")
    if row.status == CONTRADICTS:
        return (f"**{row.source} → {row.task}: pre-training loses.** The pre-trained features "
                f"({row.pretrained:.1%} at the best K = {row.K}) are {gap:.1f} points "
                f"worse than {base} ({iv})")
    return (f"**{row.source} → {row.task}: no decision.** {row.pretrained:.1%} at K = {row.K} "
            f"against {base}; the interval ({iv}) contains 0")


def verdict_text(gains: dict[str, pd.DataFrame], baseline: str = PIXELS) -> str:
    """Markdown: the combined verdict, its reason, then one line per cell."""
    v = claim(gains, baseline)
    if v.cells.empty:
        return f"No (source, task) cell has runs yet: there is no verdict against {baseline}."
    cells = v.cells.merge(cells_of(gains, baseline), on=["source", "task"], suffixes=("", "_"))
    lines = [f"- {cell_sentence(r)}." for r in cells.itertuples()]
    return (f"**Does pre-training beat {baseline}? {v.label.capitalize()}.** {v.reason}. "
            f"(Effect = {baseline} error − pre-trained error at the validation-chosen K, in "
            f"error points; {LEVEL:.0%} seed bootstrap "
            f"intervals that re-choose K in every draw.)\n\n" + "\n".join(lines))


def losing_cells(gains: dict[str, pd.DataFrame], baseline: str = PIXELS) -> list[str]:
    """'source → task' of every cell where pre-training is significantly worse."""
    c = claim(gains, baseline).cells
    return [f"{r.source} → {r.task}" for r in c.itertuples() if r.status == CONTRADICTS]


def closing_table(best: dict[str, pd.DataFrame], summary: pd.DataFrame) -> pd.DataFrame:
    """Per source and task: the best K (validation), its test error ± seed sd, and both
    baselines (``studies.baselines.baseline_summary``), as the closing note gives them."""
    from pretrain_diversity.studies.baselines import baseline_of

    rows = []
    for src, b in best.items():
        for r in b.itertuples():
            row = {"source": src, "task": r.task, "best K (validation)": r.K, "n": r.n,
                   "test error ± sd": f"{r.test_error:.1%} ± {r.sd:.1%}",
                   "95% interval": f"[{r.lo:.1%}, {r.hi:.1%}]", "seeds": r.seeds}
            for kind in (PIXELS, RANDOM):
                try:
                    row[kind] = f"{baseline_of(summary, r.task, kind):.1%}"
                except KeyError:
                    row[kind] = "not measured"
            row["K at grid edge"] = "yes" if r.edge else "no"
            rows.append(row)
    return pd.DataFrame(rows)
