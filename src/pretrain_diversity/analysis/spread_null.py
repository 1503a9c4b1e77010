"""How much of the pre-training source's "spread" is the source, and how much is seed noise?

The Entezari chapter read the source's role as the spread between the best and the worst source
mean. That statistic grows with noise alone: the best minus the worst of 5 means that differ only
by noise of sd s is about 2.33 s on average (``expected_noise_spread``), so fewer shots (noisier
accuracies) give a larger spread even if every source were the same. Two reads net of noise:

- ``source_components``: one-way random-effects analysis per cell (task, protocol, k shots):
  the variance component of the source, (MS_between - MS_within) / n0, its sd in points, the
  F statistic with its p-value, and a percentile interval by resampling seeds within each source
  (with ``paired``: a two-way source + seed analysis, whole seeds resampled).
- ``spread_null``: the observed spread against its distribution when the runs' source labels are
  shuffled (the null of no source effect): the permutation p-value, the null's mean spread and
  the excess of the observed over it.
- ``source_role_change``: the claim "the source's role shrinks from few shots to all data", as the
  source sd at few shots minus at all data, with a bootstrap interval over seeds; positive means
  it shrinks. The difference of sds (points) is read, not of variances, to stay in the units of
  accuracy that the paper's spreads use.

Tables have one row per (source, seed, task, protocol, k) with an accuracy in points; ``k = 0``
(``FULL``) is the whole downstream pool, as in the study tables. Seeds are taken as independent
between sources unless ``paired`` is asked for (then a seed's runs of every source share its
downstream draw, and the permutation shuffles sources within each seed).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

FULL = 0  # k = 0: the whole downstream train pool (the study tables' convention)
LEVEL = 0.95
N_BOOT = 2000
N_PERM = 2000
CELL = ("task", "protocol", "k")


def expected_range(n: int) -> float:
    """E[max - min] of n independent standard normals: the integral of 1 - P(all below x) -
    P(all above x) over x (Tippett 1925). 1.128 for 2, 2.326 for 5, 2.704 for 7."""
    from scipy import integrate, stats

    if n < 2:
        raise ValueError(f"n must be >= 2 (a range needs two groups), got {n}")
    f = lambda x: 1 - stats.norm.cdf(x) ** n - stats.norm.sf(x) ** n  # noqa: E731
    return float(integrate.quad(f, -np.inf, np.inf)[0])


def expected_noise_spread(n_sources: int, sd: float, seeds: int = 1) -> float:
    """The mean best-minus-worst spread of ``n_sources`` source means of ``seeds`` runs each when
    the sources do not differ and a run's accuracy has seed sd ``sd``."""
    if seeds < 1 or not sd >= 0:
        raise ValueError(f"need seeds >= 1 and sd >= 0, got {seeds}, {sd}")
    return expected_range(n_sources) * sd / math.sqrt(seeds)


def _check(df: pd.DataFrame, cols) -> None:
    missing = set(cols) - set(df.columns)
    if missing:
        raise ValueError(f"table lacks columns {sorted(missing)}")


def _groups(cell: pd.DataFrame, source: str, value: str) -> list[np.ndarray]:
    groups = [g[value].to_numpy(float) for _, g in cell.groupby(source, sort=True)]
    if len(groups) < 2:
        raise ValueError(f"a cell needs at least two sources, got {len(groups)}")
    if sum(len(g) for g in groups) <= len(groups):
        raise ValueError("a cell needs more runs than sources (some source with two seeds)")
    return groups


def _anova(means: np.ndarray, ss_within: np.ndarray, sizes: np.ndarray):
    """MS_between, MS_within and the component (MSB - MSW) / n0 along the last axis."""
    a, n = sizes.size, sizes.sum()
    grand = (means * sizes).sum(-1, keepdims=True) / n
    msb = (sizes * (means - grand) ** 2).sum(-1) / (a - 1)
    msw = ss_within.sum(-1) / (n - a)
    n0 = (n - (sizes**2).sum() / n) / (a - 1)
    return msb, msw, (msb - msw) / n0


def _boot_components(groups, rng, n_boot: int) -> np.ndarray:
    """Source variance component in each of ``n_boot`` resamples of seeds within each source.

    A source's runs are resampled as its mean plus its deviations scaled by sqrt(n / (n - 1)):
    plain resampling shrinks the within-source variance by (n - 1) / n (a third at 3 seeds) and
    adds that to the spread of the means, which pushes every draw of the component up and made
    pure noise look like a source effect. A source with one run contributes its mean only.
    """
    sizes = np.array([len(g) for g in groups])
    means = np.empty((n_boot, len(groups)))
    ss = np.empty((n_boot, len(groups)))
    for j, g in enumerate(groups):
        scale = math.sqrt(len(g) / (len(g) - 1)) if len(g) > 1 else 0.0
        g = g.mean() + scale * (g - g.mean())
        x = g[rng.integers(0, len(g), size=(n_boot, len(g)))]
        means[:, j] = x.mean(1)
        ss[:, j] = ((x - means[:, j : j + 1]) ** 2).sum(1)
    return _anova(means, ss, sizes)[2]


def _paired_matrix(cell: pd.DataFrame, source: str, value: str, seed_column: str) -> np.ndarray:
    """Accuracies [source, seed]; every source must have every seed (complete blocks)."""
    if seed_column not in cell.columns:
        raise ValueError(f"paired needs the seed column {seed_column!r}")
    x = cell.pivot_table(index=source, columns=seed_column, values=value, aggfunc="mean")
    if x.isna().to_numpy().any() or x.shape[0] < 2 or x.shape[1] < 2:
        raise ValueError("paired needs at least two sources and two seeds, every seed run for "
                         f"every source; got {x.shape[0]} sources x {x.shape[1]} seeds with gaps")
    return x.to_numpy(float)


def _paired_anova(x: np.ndarray):
    """Two-way additive (source + seed) analysis of x [..., source, seed]: MS_source,
    MS_residual and the component (MS_source - MS_residual) / seeds."""
    a, m = x.shape[-2:]
    row, col = x.mean(-1, keepdims=True), x.mean(-2, keepdims=True)
    grand = x.mean((-2, -1), keepdims=True)
    ms_src = m * ((row - grand) ** 2).sum((-2, -1)) / (a - 1)
    ms_res = ((x - row - col + grand) ** 2).sum((-2, -1)) / ((a - 1) * (m - 1))
    return ms_src, ms_res, (ms_src - ms_res) / m


def _boot_paired(x: np.ndarray, rng, n_boot: int) -> np.ndarray:
    """The paired component in resamples of whole seeds (a seed's runs of every source move
    together), residuals about the additive fit scaled by sqrt(m / (m - 1)) as in
    ``_boot_components``."""
    m = x.shape[1]
    fit = x.mean(1, keepdims=True) + x.mean(0, keepdims=True) - x.mean()
    x = fit + math.sqrt(m / (m - 1)) * (x - fit)
    idx = rng.integers(0, m, size=(n_boot, m))
    return _paired_anova(np.moveaxis(x[:, idx], 1, 0))[2]  # [n_boot, source, seed]


def _read_cell(cell, source, value, paired, seed_column):
    """(point estimates, draw function) of one cell, paired or not."""
    if paired:
        x = _paired_matrix(cell, source, value, seed_column)
        ms_src, ms_res, comp = _paired_anova(x)
        a, m = x.shape
        return (ms_src, ms_res, comp, a, x.size, (a - 1, (a - 1) * (m - 1)),
                lambda rng, n: _boot_paired(x, rng, n))
    groups = _groups(cell, source, value)
    sizes = np.array([len(g) for g in groups])
    means = np.array([g.mean() for g in groups])
    ss = np.array([((g - g.mean()) ** 2).sum() for g in groups])
    msb, msw, comp = _anova(means, ss, sizes)
    a, n = len(groups), int(sizes.sum())
    return msb, msw, comp, a, n, (a - 1, n - a), lambda rng, k: _boot_components(groups, rng, k)


def source_variance(cell: pd.DataFrame, *, source: str = "variant", value: str = "accuracy",
                    n_boot: int = N_BOOT, level: float = LEVEL, paired: bool = False,
                    seed_column: str = "seed", rng: np.random.Generator | None = None) -> dict:
    """One cell's random-effects read: var_source (truncated at 0) and sd_source with percentile
    intervals over resampled seeds, var_seed (the within-source variance: with ``paired``, what
    is left after the seed's shared part), F with its p-value, and sizes.

    ``paired`` reads a randomized-block design: seed s of every source shares its downstream draw,
    so the seed's shared part is taken out (two-way additive analysis) and whole seeds are
    resampled. Without it, sources' seeds are independent (one-way analysis)."""
    from scipy import stats

    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    rng = rng or np.random.default_rng(0)
    ms_src, ms_res, comp, a, n, dfs, draw = _read_cell(cell, source, value, paired, seed_column)
    f = ms_src / ms_res if ms_res > 0 else np.inf
    boot = np.maximum(draw(rng, n_boot), 0) if n_boot else np.array([np.nan])
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return dict(n_sources=a, runs=n, var_source=max(float(comp), 0.0),
                var_source_raw=float(comp), var_source_lo=float(lo), var_source_hi=float(hi),
                sd_source=math.sqrt(max(comp, 0.0)), sd_source_lo=float(np.sqrt(lo)),
                sd_source_hi=float(np.sqrt(hi)), var_seed=float(ms_res),
                F=float(f), p_F=float(stats.f.sf(f, *dfs)) if np.isfinite(f) else 0.0,
                paired=paired, level=level)


def source_components(df: pd.DataFrame, *, by=CELL, source: str = "variant",
                      value: str = "accuracy", n_boot: int = N_BOOT, level: float = LEVEL,
                      paired: bool = False, seed: int = 0) -> pd.DataFrame:
    """``source_variance`` for every cell (``by`` columns), one row each."""
    _check(df, [*by, source, value])
    rng = np.random.default_rng(seed)
    rows = []
    for key, cell in df.groupby(list(by), sort=True):
        rows.append({**dict(zip(by, key)), **source_variance(
            cell, source=source, value=value, n_boot=n_boot, level=level, paired=paired,
            rng=rng)})
    return pd.DataFrame(rows)


def _spreads(values: np.ndarray, labels: np.ndarray, n_groups: int) -> np.ndarray:
    """Best-minus-worst group mean for each row of ``values`` [draws, runs] with ``labels``."""
    means = values @ np.eye(n_groups)[labels] / np.bincount(labels, minlength=n_groups)
    return means.max(1) - means.min(1)


def permutation_spreads(cell: pd.DataFrame, *, source: str = "variant", value: str = "accuracy",
                        n_perm: int = N_PERM, paired: bool = False, seed_column: str = "seed",
                        rng: np.random.Generator | None = None) -> tuple[float, np.ndarray]:
    """(observed spread, ``n_perm`` spreads with the source labels shuffled). With ``paired`` the
    labels are shuffled within each seed, keeping what a seed shares across sources."""
    rng = rng or np.random.default_rng(0)
    _groups(cell, source, value)
    codes, names = pd.factorize(cell[source], sort=True)
    x = cell[value].to_numpy(float)
    observed = float(_spreads(x[None, :], codes, len(names))[0])
    order = np.tile(np.arange(len(x)), (n_perm, 1))  # run j of draw i takes run order[i, j]'s value
    if not paired:
        order = rng.permuted(order, axis=1)
    else:
        for idx in cell.reset_index(drop=True).groupby(seed_column).indices.values():
            order[:, idx] = rng.permuted(order[:, idx], axis=1)
    return observed, _spreads(x[order], codes, len(names))


def spread_null(df: pd.DataFrame, *, by=CELL, source: str = "variant", value: str = "accuracy",
                n_perm: int = N_PERM, level: float = LEVEL, paired: bool = False,
                seed: int = 0) -> pd.DataFrame:
    """Per cell: the observed spread, best and worst source, the permutation null's mean and its
    ``level`` quantile, the p-value (share of null spreads at least the observed, counting the
    observed), and ``excess`` = spread - null mean (the part noise does not explain)."""
    _check(df, [*by, source, value] + (["seed"] if paired else []))
    if n_perm < 1:
        raise ValueError(f"n_perm must be >= 1, got {n_perm}")
    rng = np.random.default_rng(seed)
    rows = []
    for key, cell in df.groupby(list(by), sort=True):
        obs, null = permutation_spreads(cell, source=source, value=value, n_perm=n_perm,
                                        paired=paired, rng=rng)
        means = cell.groupby(source)[value].mean()
        rows.append({**dict(zip(by, key)), "spread": obs, "best": means.idxmax(),
                     "worst": means.idxmin(), "null_mean": float(null.mean()),
                     "null_hi": float(np.quantile(null, level)),
                     "p_perm": float((1 + (null >= obs - 1e-12).sum()) / (1 + len(null))),
                     "excess": obs - float(null.mean()), "n_perm": n_perm})
    return pd.DataFrame(rows)


def _k_pair(ks, few, many) -> tuple[int, int]:
    ks = sorted(set(int(k) for k in ks))
    positive = [k for k in ks if k != FULL]
    few = positive[0] if few is None and positive else few
    many = (FULL if FULL in ks else (positive[-1] if positive else None)) if many is None else many
    if few is None or many is None or few == many or few not in ks or many not in ks:
        raise ValueError(f"need two different k among {ks}; got few={few}, many={many}")
    return few, many


def source_role_change(df: pd.DataFrame, *, few: int | None = None, many: int | None = None,
                       by=("task", "protocol"), source: str = "variant", value: str = "accuracy",
                       n_boot: int = N_BOOT, level: float = LEVEL, paired: bool = False,
                       seed: int = 0) -> pd.DataFrame:
    """Per (task, protocol): the source sd (points, net of seed noise) at ``few`` shots (default
    the smallest k > 0) and ``many`` (default all data, k = 0, else the largest k), ``change`` =
    few - many (positive: the source matters less with more downstream data) with a percentile
    interval, resampling seeds (within each source, or whole seeds with ``paired``)
    independently at each k, and both F p-values.
    """
    _check(df, [*by, "k", source, value])
    rng = np.random.default_rng(seed)
    q = [(1 - level) / 2, (1 + level) / 2]
    rows = []
    for key, sub in df.groupby(list(by), sort=True):
        k_few, k_many = _k_pair(sub["k"].unique(), few, many)
        reads, boots = {}, {}
        for k in (k_few, k_many):
            cell = sub[sub["k"] == k]
            reads[k] = source_variance(cell, source=source, value=value, n_boot=0,
                                       paired=paired)
            draw = _read_cell(cell, source, value, paired, "seed")[-1]
            boots[k] = np.sqrt(np.maximum(draw(rng, n_boot), 0))
        diff = boots[k_few] - boots[k_many]
        lo, hi = np.quantile(diff, q)
        rows.append({**dict(zip(by, key)), "k_few": k_few, "k_many": k_many,
                     "sd_source_few": reads[k_few]["sd_source"],
                     "sd_source_many": reads[k_many]["sd_source"],
                     "change": reads[k_few]["sd_source"] - reads[k_many]["sd_source"],
                     "change_lo": float(lo), "change_hi": float(hi),
                     "p_F_few": reads[k_few]["p_F"], "p_F_many": reads[k_many]["p_F"],
                     "level": level})
    return pd.DataFrame(rows)
