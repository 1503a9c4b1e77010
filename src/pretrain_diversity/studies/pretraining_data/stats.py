"""The chapter's statistics, pure functions of a study's table: the spread between sources and
its shrinkage with k, the gain from more pre-training data, how much more noisy data matches clean
data, the differences between pre-training methods, and the bias of selecting on test.

Intervals are bootstrap intervals over seeds (``analysis.bootstrap``; each group's seeds
resampled independently).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pretrain_diversity.analysis.bootstrap import interval, mean_draws
from pretrain_diversity.studies.pretraining_data.load import FULL, k_order


LEVEL = 0.95
N_BOOT = 2000


def seed_summary(df: pd.DataFrame, by: list[str], metric: str = "accuracy") -> pd.DataFrame:
    """Mean, seed spread (std) and count of ``metric`` per group."""
    g = df.groupby(by, dropna=False)[metric]
    out = g.agg(["mean", "std", "count"]).reset_index()
    return out.rename(columns={"mean": "mean", "std": "std", "count": "seeds"})


def source_spread(df: pd.DataFrame, *, level: float = LEVEL, seed: int = 0) -> pd.DataFrame:
    """Per task, protocol and k: the best and worst source and the spread between them (points),
    with a bootstrap interval; ``shrink`` columns compare the smallest k with the whole pool."""
    rng = np.random.default_rng(seed)
    rows = []
    for (task, protocol), sub in df.groupby(["task", "protocol"]):
        ks = k_order(sub.k)
        draws_by_k = {}
        for k in ks:
            at = sub[sub.k == k]
            means = at.groupby("variant").accuracy.mean()
            boot = np.stack([mean_draws(at[at.variant == v].accuracy.to_numpy(), rng, N_BOOT)
                             for v in means.index])  # fmt: skip
            spread_draws = boot.max(0) - boot.min(0)
            draws_by_k[k] = spread_draws
            lo, hi = interval(spread_draws, level)
            rows.append({
                "task": task, "protocol": protocol, "k": k,
                "spread": float(means.max() - means.min()), "spread_lo": lo, "spread_hi": hi,
                "best": means.idxmax(), "worst": means.idxmin(),
                "best_accuracy": float(means.max()), "worst_accuracy": float(means.min()),
            })  # fmt: skip
    return pd.DataFrame(rows)


def spread_shrinkage(df: pd.DataFrame, *, level: float = LEVEL, seed: int = 0) -> pd.DataFrame:
    """Spread at the smallest k minus spread with the whole pool, per task and protocol, with a
    bootstrap interval (positive: the source matters less once more downstream data is there)."""
    rng = np.random.default_rng(seed)
    rows = []
    for (task, protocol), sub in df.groupby(["task", "protocol"]):
        ks = k_order(sub.k)
        lo_k, hi_k = ks[0], ks[-1]
        spreads = {}
        for k in (lo_k, hi_k):
            at = sub[sub.k == k]
            boot = np.stack([mean_draws(at[at.variant == v].accuracy.to_numpy(), rng, N_BOOT)
                             for v in sorted(at.variant.unique())])  # fmt: skip
            spreads[k] = (boot.max(0) - boot.min(0),
                          at.groupby("variant").accuracy.mean().pipe(lambda m: m.max() - m.min()))
        diff = spreads[lo_k][0] - spreads[hi_k][0]
        lo, hi = interval(diff, level)
        rows.append({
            "task": task, "protocol": protocol, "k_few": lo_k, "k_many": hi_k,
            "spread_few": float(spreads[lo_k][1]), "spread_many": float(spreads[hi_k][1]),
            "shrink": float(spreads[lo_k][1] - spreads[hi_k][1]), "shrink_lo": lo, "shrink_hi": hi,
        })  # fmt: skip
    return pd.DataFrame(rows)


def size_gains(df: pd.DataFrame, *, level: float = LEVEL, seed: int = 0,
               n_small: int | None = None, n_large: int | None = None) -> pd.DataFrame:
    """Per task, protocol and k: accuracy at the smallest and the largest N (or at ``n_small``
    and ``n_large``), and the gain between them (points) with a bootstrap interval."""
    rng = np.random.default_rng(seed)
    rows = []
    for (task, protocol, k), sub in df.groupby(["task", "protocol", "k"]):
        n_lo, n_hi = n_small or sub.budget.min(), n_large or sub.budget.max()
        a = sub[sub.budget == n_lo].accuracy.to_numpy()
        b = sub[sub.budget == n_hi].accuracy.to_numpy()
        draws = mean_draws(b, rng, N_BOOT) - mean_draws(a, rng, N_BOOT)
        lo, hi = interval(draws, level)
        rows.append({"task": task, "protocol": protocol, "k": int(k), "n_small": int(n_lo),
                     "n_large": int(n_hi), "acc_small": a.mean(), "acc_large": b.mean(),
                     "gain": b.mean() - a.mean(), "gain_lo": lo, "gain_hi": hi})
    return pd.DataFrame(rows)


def gain_contrast(df: pd.DataFrame, *, level: float = LEVEL, seed: int = 0) -> pd.DataFrame:
    """Gain from more pre-training data at the smallest k minus the gain with the whole pool."""
    rng = np.random.default_rng(seed)
    rows = []
    for (task, protocol), sub in df.groupby(["task", "protocol"]):
        ks = k_order(sub.k)
        n_lo, n_hi = sub.budget.min(), sub.budget.max()

        def gain(k):
            at = sub[sub.k == k]
            a = at[at.budget == n_lo].accuracy.to_numpy()
            b = at[at.budget == n_hi].accuracy.to_numpy()
            return mean_draws(b, rng, N_BOOT) - mean_draws(a, rng, N_BOOT), b.mean() - a.mean()

        (d_few, g_few), (d_all, g_all) = gain(ks[0]), gain(ks[-1])
        lo, hi = interval(d_few - d_all, level)
        rows.append({"task": task, "protocol": protocol, "k_few": ks[0], "gain_few": g_few,
                     "gain_all": g_all, "difference": g_few - g_all, "lo": lo, "hi": hi})
    return pd.DataFrame(rows)


def _crossing(ns: np.ndarray, acc: np.ndarray, target: float) -> float:
    """The N at which the curve ``acc``(N), linear in log N between measured points, first
    reaches ``target``; nan if it never does within the measured N."""
    if acc[0] >= target:
        return float(ns[0]) if acc[0] == target else -float(ns[0])  # reached at or before ns[0]
    for i in range(1, len(ns)):
        if acc[i] >= target:
            t = (target - acc[i - 1]) / (acc[i] - acc[i - 1])
            return float(np.exp(np.log(ns[i - 1]) + t * (np.log(ns[i]) - np.log(ns[i - 1]))))
    return float("nan")


def matching_factors(clean: pd.DataFrame, noisy: pd.DataFrame, *, level: float = LEVEL,
                     seed: int = 0, n_boot: int = 500) -> pd.DataFrame:
    """How many times more noisy data reaches the clean accuracy, per task, protocol, k, noise
    rate and clean size N_c. ``factor`` is N_noisy / N_c; ``bound`` says '>' when the noisy curve
    never gets there within its largest N (then the factor is a lower bound), '<=' when it is
    there already at its smallest N."""
    rng = np.random.default_rng(seed)
    rows = []
    for (task, protocol, k, rate), nz in noisy.groupby(["task", "protocol", "k", "label_noise"]):
        cl = clean[(clean.task == task) & (clean.protocol == protocol) & (clean.k == k)]
        ns = np.array(sorted(nz.budget.unique()), dtype=float)
        per_n = [nz[nz.budget == n].accuracy.to_numpy() for n in ns]
        curve = np.array([v.mean() for v in per_n])
        boot_curves = np.stack([mean_draws(v, rng, n_boot) for v in per_n], 1)
        for n_c in sorted(cl.budget.unique()):
            if n_c >= ns.max():  # no larger noisy set to compare with
                continue
            c = cl[cl.budget == n_c].accuracy.to_numpy()
            cross = _crossing(ns, curve, c.mean())
            boot_c = mean_draws(c, rng, n_boot)
            factors = np.array([_crossing(ns, bc, t) for bc, t in zip(boot_curves, boot_c)])
            bound = "=" if cross > 0 else ("<=" if cross < 0 else ">")
            factor = abs(cross) / n_c if np.isfinite(cross) else ns.max() / n_c
            fin = np.where(np.isnan(factors), ns.max(), np.abs(factors)) / n_c
            lo, hi = interval(fin, level)
            rows.append({"task": task, "protocol": protocol, "k": int(k), "label_noise": rate,
                         "n_clean": int(n_c), "clean_accuracy": c.mean(), "factor": factor,
                         "bound": bound, "factor_lo": lo, "factor_hi": hi,
                         "censored_share": float(np.isnan(factors).mean())})
    return pd.DataFrame(rows)


def method_differences(df: pd.DataFrame, a: str, b: str, *, level: float = LEVEL,
                       seed: int = 0) -> pd.DataFrame:
    """Accuracy of variant ``a`` minus variant ``b`` per task, protocol and k, with an interval."""
    rng = np.random.default_rng(seed)
    rows = []
    for (task, protocol, k), sub in df.groupby(["task", "protocol", "k"]):
        va = sub[sub.variant == a].accuracy.to_numpy()
        vb = sub[sub.variant == b].accuracy.to_numpy()
        if not len(va) or not len(vb):
            continue
        lo, hi = interval(mean_draws(va, rng, N_BOOT) - mean_draws(vb, rng, N_BOOT), level)
        rows.append({"task": task, "protocol": protocol, "k": int(k), "a": a, "b": b,
                     "difference": va.mean() - vb.mean(), "lo": lo, "hi": hi})
    return pd.DataFrame(rows)


def selection_inflation(df: pd.DataFrame) -> pd.DataFrame:
    """How many points choosing hyper-parameters on the test set would add, per protocol and k:
    mean and max over runs and tasks of (test-selected minus val-selected accuracy)."""
    d = df.assign(inflation=df.accuracy_testselected - df.accuracy)
    out = d.groupby(["protocol", "k"]).inflation.agg(["mean", "max", "count"]).reset_index()
    out["k"] = out.k.astype(int)
    out["_order"] = out.k.replace(FULL, 10**9)
    return out.sort_values(["protocol", "_order"]).drop(columns="_order").reset_index(drop=True)


def shot_curves(df: pd.DataFrame, *, level: float = LEVEL) -> pd.DataFrame:
    """Per task, protocol, source (``variant``) and k: the seed mean accuracy, the t interval of
    that mean at ``level`` and the seed count, in points.

    This is the table the shots explorer embeds in the page: the browser draws it and computes
    its read-outs from it, so ``spread_among`` (below) on this table is what the widget prints.
    """
    from scipy import stats as st

    s = seed_summary(df, ["task", "protocol", "variant", "k"])
    half = (st.t.ppf(0.5 + level / 2, np.maximum(s["seeds"] - 1, 1))
            * s["std"].fillna(0) / np.sqrt(s["seeds"]))
    out = s.assign(k=s["k"].astype(int), lo=s["mean"] - half, hi=s["mean"] + half)
    return out[["task", "protocol", "variant", "k", "mean", "lo", "hi", "seeds"]]


def spread_among(curves: pd.DataFrame, task: str, protocol: str, k: int,
                 sources=None) -> dict:
    """The best and the worst of ``sources`` (all when None) at one task, protocol and k of
    ``shot_curves``, and the spread between their seed means (points).

    With every source this is ``source_spread``'s point estimate; a reader who leaves a source
    out in the explorer asks whether one source makes the spread, and this is the answer the
    browser prints (ties go to the source listed first, as Vega's argmax does in table order).
    """
    at = curves[(curves.task == task) & (curves.protocol == protocol) & (curves.k == int(k))]
    if sources is not None:
        at = at[at.variant.isin(list(sources))]
    if at.empty:
        raise ValueError(f"no source shown at {task}, {protocol}, k = {k}")
    m = at.set_index("variant")["mean"]
    return {"best": m.idxmax(), "best_mean": float(m.max()), "worst": m.idxmin(),
            "worst_mean": float(m.min()), "spread": float(m.max() - m.min()), "shown": len(m)}
