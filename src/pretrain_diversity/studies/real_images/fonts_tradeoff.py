"""Figure 1 on the font source beside the glyph source, and the face ceiling.

The optima come from ``studies.figure1.optima_and_trend`` located on *validation* error (the
strict protocol: the error quoted at a chosen point is never the one minimised over), their trend
is read by ``analysis.verdict_rule.read_slopes`` and checked by ``analysis.robustness``.

The variety explanation, on this source, makes a sharp prediction: a font class has F distinct
designs (its pre-training faces); image F + 1 of it is a repeat under a new shift. If the
optimum's n is set by how much real variety a class has, n* should sit at or below F and stop
growing once N reaches K x F, the extra budget going to more classes. ``ceiling_table`` puts n*
(with its interval) next to F at every budget.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pretrain_diversity.analysis.verdict_rule import read_slopes
from pretrain_diversity.studies.real_images.load import SELECT

ABOVE, BELOW, AT = "above the ceiling", "below the ceiling", "interval contains the ceiling"


def source_optima(tables: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(optima, slope readings) for every source, located on validation error; a ``source``
    column names each row's source. Sources with one budget have optima but no slope row."""
    from pretrain_diversity.studies.figure1 import optima_and_trend

    opts, trends = [], []
    for src, df in tables.items():
        opt, _, trend = optima_and_trend(df, metric=SELECT)
        opts.append(opt.assign(source=src))
        if len(trend):
            trends.append(read_slopes(trend).assign(source=src))
    opt = pd.concat(opts, ignore_index=True) if opts else pd.DataFrame()
    trend = pd.concat(trends, ignore_index=True) if trends else pd.DataFrame()
    return opt, trend


def n_interval(opt: pd.DataFrame) -> pd.DataFrame:
    """n* and its interval from the ratio's: log2 n = (log2 N - log2 r) / 2 (n falls as r rises)."""
    out = opt.copy()
    ln = np.log2(out["budget"].astype(float))
    out["n_lo"] = 2 ** ((ln - out["log2_r_hi"]) / 2)
    out["n_hi"] = 2 ** ((ln - out["log2_r_lo"]) / 2)
    return out


def ceiling_side(n_lo: float, n_hi: float, ceiling: float) -> str:
    """Where n*'s interval lies against the face ceiling."""
    if n_lo > ceiling:
        return ABOVE
    if n_hi < ceiling:
        return BELOW
    return AT


def ceiling_table(opt: pd.DataFrame, ceiling: float) -> pd.DataFrame:
    """Per (source, task, budget): n* [interval], N / ceiling (the K at which every class of a
    K-class set would use all its faces) and where n* lies against ``ceiling``."""
    if not np.isfinite(ceiling) or ceiling <= 0:
        raise ValueError(f"ceiling must be a positive number of faces, got {ceiling!r}")
    t = n_interval(opt)
    return pd.DataFrame({
        "source": t.source, "task": t.task, "budget": t.budget, "K*": t.K_star.round(1),
        "n_star": t.n_star, "n_lo": t.n_lo, "n_hi": t.n_hi,
        "n* [95%]": [f"{n:.0f} [{a:.0f}, {b:.0f}]" for n, a, b in zip(t.n_star, t.n_lo, t.n_hi)],
        "vs median faces": [ceiling_side(a, b, ceiling) for a, b in zip(t.n_lo, t.n_hi)],
    }).sort_values(["task", "source", "budget"]).reset_index(drop=True)


def face_summary(faces: pd.DataFrame) -> pd.DataFrame:
    """Per script, over pre-training pool classes: classes and the median / min / max of their
    pre-training faces (``data.fonts_split.face_counts`` rows), plus an 'all' row."""
    pool = faces[faces["split"] == "pool"]
    if pool.empty:
        raise ValueError("no pool class in the face counts")
    g = pool.groupby("script")["pretrain_faces"]
    out = g.agg(classes="count", median="median", min="min", max="max")
    out.loc["all"] = [len(pool), pool.pretrain_faces.median(), pool.pretrain_faces.min(),
                      pool.pretrain_faces.max()]
    return out.astype({"classes": int, "min": int, "max": int})


def slope_sentence(trend: pd.DataFrame) -> str:
    """Markdown, one line per (source, task): the slope label and its reason in numbers."""
    if trend.empty:
        return "No source has two budgets yet: there is no slope to read."
    return "\n".join(f"- **{r.source}, {r.task}: {r.label}** (slope {r.slope:+.2f}): {r.reason}."
                     for r in trend.sort_values(["task", "source"]).itertuples())
