"""Figure 1's controls: fixed compute, pool hygiene and the three seed streams.

Each answers one way the main grid could mislead. Fixed epochs give a larger N more SGD steps,
so a drift of r* with N may belong to compute (``protocol_verdicts``: the same slope read on the
fixed-steps table). Near-twins of downstream classes in the pool may favour large K
(``hygiene_effect``: the error with those classes removed, paired by K and seed). One seed drove
the class draw, the image draw and the initialisation together (``seed_stream_variance``: how much
of the spread each stream makes, from a design that varies one stream with the others fixed).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pretrain_diversity.analysis.verdict_rule import INVARIANT, LEVEL
from pretrain_diversity.analysis.bootstrap import percentiles
from pretrain_diversity.studies.slope_verdicts import PANEL_BOOT, REPORT, robust_verdicts

STREAMS = ("class_seed", "image_seed", "seed")
STREAM_NAMES = {"class_seed": "class draw", "image_seed": "image draw",
                "seed": "initialisation and batch order"}


def protocol_verdicts(tables: dict, *, n_boot: int = PANEL_BOOT) -> pd.DataFrame:
    """``robust_verdicts`` per protocol ({name: table or None}; None is skipped), stacked."""
    parts = []
    for name, df in tables.items():
        if df is None or df.empty:
            continue
        v = robust_verdicts(df, n_boot=n_boot)
        v.insert(0, "protocol", name)
        parts.append(v)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def invariance_holds_under(verdicts: pd.DataFrame, protocols) -> str:
    """Markdown: per task, under which protocols the paper's claim (an invariant ratio) survives
    the rule and its panel, computed from ``protocol_verdicts``."""
    if verdicts.empty:
        return "No protocol has a table yet."
    protocols = list(protocols)
    present = [p for p in protocols if p in set(verdicts.protocol)]
    missing = [p for p in protocols if p not in present]
    parts = []
    for task, g in verdicts.groupby("task", sort=True):
        holds = list(g.protocol[g.verdict == INVARIANT])
        reads = "; ".join(f"{r.protocol}: '{r.verdict}' ({r.slope:+.2f} [{r.lo:+.2f}, {r.hi:+.2f}])"
                          for r in g.itertuples())
        where = (f"the claim holds under {' and '.join(holds)}" if holds
                 else f"the claim holds under neither protocol measured ({', '.join(g.protocol)})")
        parts.append(f"**{task}**: {where}. {reads}.")
    if missing:
        parts.append(f"Not measured yet: {', '.join(missing)}.")
    return "\n\n".join(parts)


def hygiene_effect(plain: pd.DataFrame, hygienic: pd.DataFrame, *, metric: str = REPORT,
                   level: float = LEVEL, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per task: the mean of (error with the hygienic pool - error with the full pool) over the
    (budget, K, seed) cells both tables hold, with a bootstrap interval over seeds (a seed's cells
    kept together), the number of cells, and the same per K (``by_K``: a column of Series).
    Negative: removing near-twins lowers the error; positive: they helped (a bonus for the pool)."""
    keys = ["task", "budget", "n_classes", "seed"]
    for name, t in (("plain", plain), ("hygienic", hygienic)):
        missing = set(keys + [metric]) - set(t.columns)
        if missing:
            raise ValueError(f"{name} table lacks columns {sorted(missing)}")
    a = plain.groupby(keys)[metric].mean()
    b = hygienic.groupby(keys)[metric].mean()
    d = (b - a).dropna().rename("diff").reset_index()
    if d.empty:
        raise ValueError("the two tables share no (task, budget, K, seed) cell to compare")
    rng = np.random.default_rng(seed)
    q = percentiles(level)
    rows = []
    for task, g in d.groupby("task", sort=True):
        per_seed = g.groupby("seed")["diff"].agg(["sum", "count"])
        s, c = per_seed["sum"].to_numpy(), per_seed["count"].to_numpy()
        idx = rng.integers(0, len(s), size=(n_boot, len(s)))
        boot = s[idx].sum(axis=1) / c[idx].sum(axis=1)
        lo, hi = np.percentile(boot, q) if len(s) > 1 else (np.nan, np.nan)
        rows.append(dict(task=task, effect=float(g["diff"].mean()), lo=float(lo), hi=float(hi),
                         cells=len(g), seeds=len(s),
                         by_K=g.groupby("n_classes")["diff"].mean()))
    return pd.DataFrame(rows)


def hygiene_text(effect: pd.DataFrame, level: float = LEVEL) -> str:
    """Markdown: per task, what removing the near-twins did, read against 0 by its interval."""
    parts = []
    for r in effect.itertuples():
        if not np.isfinite([r.lo, r.hi]).all():
            word = "cannot be told from 0 (one seed: no interval)"
        elif r.lo > 0:
            word = "raises the error: the near-twins in the pool helped this task"
        elif r.hi < 0:
            word = "lowers the error"
        else:
            word = "does not move the error measurably (the interval contains 0)"
        parts.append(f"**{r.task}**: removing the near-twins {word}: {r.effect:+.2%} "
                     f"({level:.0%} interval {r.lo:+.2%} to {r.hi:+.2%}) over {r.cells} paired "
                     f"runs, {r.seeds} seeds.")
    return "\n\n".join(parts)


def stream_columns(df: pd.DataFrame) -> pd.DataFrame:
    """A copy with class_seed and image_seed filled where unset (None: derived from ``seed``)."""
    df = df.copy()
    for col in ("class_seed", "image_seed"):
        df[col] = df[col].fillna(df["seed"]) if col in df else df["seed"]
    return df


def seed_stream_variance(df: pd.DataFrame, *, metric: str = REPORT) -> pd.DataFrame:
    """Per (task, K) and stream: the variance of ``metric`` when only that stream changes (the
    mean within-group variance over groups that fix the other two streams and hold at least two
    values of this one), the number of such groups, and its share of the three streams' sum.

    With additive stream effects each estimates that stream's variance; the design of
    ``studies/figure1-seed-streams.toml`` varies one stream at a time around a shared centre."""
    df = stream_columns(df)
    rows = []
    for (task, k), g in df.groupby(["task", "n_classes"], sort=True):
        got = {}
        for s in STREAMS:
            others = [o for o in STREAMS if o != s]
            v = g.groupby(others)[metric].agg(["var", "count"])
            v = v[v["count"] >= 2]
            got[s] = (float(v["var"].mean()) if len(v) else np.nan, len(v))
        total = np.nansum([x for x, _ in got.values()])
        for s, (var, groups) in got.items():
            rows.append(dict(task=task, K=int(k), stream=STREAM_NAMES[s], variance=var,
                             sd=float(np.sqrt(var)) if np.isfinite(var) else np.nan,
                             groups=groups, share=var / total if total > 0 else np.nan))
    return pd.DataFrame(rows)


def seed_stream_table(var: pd.DataFrame) -> pd.DataFrame:
    """One row per (task, K), one column per stream: 'sd (share)'."""
    cell = [f"{sd:.2%} ({sh:.0%})" if np.isfinite(sd) else "-"
            for sd, sh in zip(var.sd, var.share)]
    t = var.assign(cell=cell).pivot(index=["task", "K"], columns="stream", values="cell")
    return t.reset_index().rename_axis(None, axis=1)
