"""The one-factor search (``studies/fonts-search.toml``) in full: every variant, every task, its
validation-chosen K, its test error, and what the change did against the reference setting and
against raw pixels. The page shows all rows; none is dropped for being unhelpful.

A variant is known by the fields the spec gives it (every variant names the same four factors,
so each run matches exactly one). Variant-vs-reference intervals draw the two variants' seeds
independently (they pre-train different networks), which is the conservative choice.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pretrain_diversity.analysis.bootstrap import interval, mean_draws
from pretrain_diversity.studies.real_images.stats import (
    LEVEL, N_BOOT, at_budget, best_k_draws, seed_matrices,
)

REFERENCE = "reference"


def label_variants(df: pd.DataFrame, variants: dict[str, dict]) -> pd.DataFrame:
    """``df`` with a ``variant`` column; rows that match no variant are dropped, a row that
    matches two is an error (the search's rows must each belong to one variant)."""
    out = df.copy()
    out["variant"] = None
    for name, fields in variants.items():
        missing = set(fields) - set(df.columns)
        if missing:
            raise ValueError(f"variant {name!r} sets {sorted(missing)}, not columns of the table")
        hit = np.ones(len(df), bool)
        for k, v in fields.items():
            hit &= (df[k] == v).to_numpy()
        twice = hit & out["variant"].notna().to_numpy()
        if twice.any():
            raise ValueError(f"variant {name!r} matches runs of variant "
                             f"{out.loc[twice, 'variant'].iloc[0]!r}: give the variants the same "
                             "fields with different values")
        out.loc[hit, "variant"] = name
    return out[out["variant"].notna()]


def search_table(df: pd.DataFrame, variants: dict[str, dict], budget: int,
                 pixels: pd.DataFrame | None = None, *, n_boot: int = N_BOOT,
                 level: float = LEVEL, seed: int = 0) -> pd.DataFrame:
    """One row per (variant, task) in spec order: K chosen on validation, test error and its
    interval, the change against the reference variant (negative: the change helps) with its
    interval, and, with ``pixels`` (rows of the raw-pixel baseline: task, test_error), the gap to
    raw pixels (positive: pre-training better)."""
    if REFERENCE not in variants:
        raise ValueError(f"the search needs a variant named {REFERENCE!r}; got {list(variants)}")
    rng = np.random.default_rng(seed)
    t = label_variants(at_budget(df, budget), variants)
    order = {name: i for i, name in enumerate(variants)}
    draws, rows = {}, []
    for (name, task), sub in t.groupby(["variant", "task"], sort=False):
        ks, val, test = seed_matrices(sub)
        if len(ks) == 0:  # no K has every seed yet
            continue
        i = int(np.nanargmin(np.nanmean(val, 1)))
        d = best_k_draws(val, test, rng, n_boot)
        draws[(name, task)] = d
        e = test[i][np.isfinite(test[i])]
        lo, hi = interval(d, level)
        row = {"variant": name, "changes": ", ".join(f"{k} = {v}" for k, v in variants[name].items()),
               "task": task, "K": int(ks[i]), "seeds": len(e), "test_error": float(e.mean()),
               "lo": lo, "hi": hi}
        if pixels is not None:
            px = pixels.loc[pixels["task"] == task, "test_error"].to_numpy(float)
            if len(px):
                g = mean_draws(px, rng, n_boot) - d
                row.update(vs_pixels=float(px.mean() - e.mean()),
                           vs_pixels_lo=interval(g, level)[0], vs_pixels_hi=interval(g, level)[1])
        rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    ref = out[out["variant"] == REFERENCE].set_index("task")["test_error"]
    out["vs_reference"] = [r.test_error - ref.get(r.task, np.nan) for r in out.itertuples()]
    ivs = [interval(draws[(r.variant, r.task)] - draws[(REFERENCE, r.task)], level)
           if (REFERENCE, r.task) in draws else (np.nan, np.nan) for r in out.itertuples()]
    out["vs_reference_lo"] = [a for a, _ in ivs]
    out["vs_reference_hi"] = [b for _, b in ivs]
    out["order"] = out["variant"].map(order)
    return out.sort_values(["order", "task"]).drop(columns="order").reset_index(drop=True)


def search_display(table: pd.DataFrame) -> pd.DataFrame:
    """The page's rendering of ``search_table``: errors in %, intervals in brackets."""
    def iv(a, lo, hi):
        return "" if pd.isna(a) else f"{a * 100:+.1f} [{lo * 100:+.1f}, {hi * 100:+.1f}]"

    out = pd.DataFrame({
        "variant": table.variant, "changes": table.changes, "task": table.task,
        "best K (val)": table.K, "seeds": table.seeds,
        "test error [95%]": [f"{e:.1%} [{lo:.1%}, {hi:.1%}]"
                             for e, lo, hi in zip(table.test_error, table.lo, table.hi)],
        "vs reference (points)": [iv(*x) for x in zip(table.vs_reference, table.vs_reference_lo,
                                                     table.vs_reference_hi)],
    })
    if "vs_pixels" in table:
        out["better than pixels by (points)"] = [
            iv(*x) for x in zip(table.vs_pixels, table.vs_pixels_lo, table.vs_pixels_hi)]
    return out
