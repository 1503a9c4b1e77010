"""The source spread net of noise, on synthetic tables: pure noise gives a source component near 0
and uniform permutation p-values, a real source effect is found, and the best-minus-worst of 5
noise means is about 2.33 sd (so a raw spread must be read against that)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pretrain_diversity.analysis import spread_null as S

SOURCES = ("cc3m", "cc12m", "redcaps", "wit", "yfcc")


def table(effects_by_k: dict, seeds=3, sd=1.0, rng=None, seed_shift=0.0):
    """Rows (variant, seed, task, protocol, k, accuracy): source j at shot k has mean
    50 + effects_by_k[k][j], plus seed noise of sd ``sd`` and a shift shared by a seed."""
    rng = rng or np.random.default_rng(0)
    shift = rng.normal(0, seed_shift, seeds) if seed_shift else np.zeros(seeds)
    rows = []
    for k, effects in effects_by_k.items():
        for src, e in zip(SOURCES, effects):
            for s in range(seeds):
                rows.append(dict(variant=src, seed=s, task="digits", protocol="probe", k=k,
                                 accuracy=50 + e + shift[s] + sd * rng.normal()))
    return pd.DataFrame(rows)


NOISE = [0.0] * 5


def test_expected_range_of_normals():
    assert S.expected_range(2) == pytest.approx(2 / np.sqrt(np.pi))  # 1.128
    assert S.expected_range(5) == pytest.approx(2.326, abs=1e-3)
    assert S.expected_noise_spread(5, sd=2.0, seeds=4) == pytest.approx(2.326, abs=1e-3)
    rng = np.random.default_rng(0)  # and by simulation: 5 noise means, sd s = 3
    x = rng.normal(0, 3.0, size=(20000, 5))
    assert (x.max(1) - x.min(1)).mean() == pytest.approx(2.33 * 3.0, rel=0.02)
    with pytest.raises(ValueError, match="n must be"):
        S.expected_range(1)


def test_raw_spread_of_pure_noise_is_what_the_noise_predicts():
    rng = np.random.default_rng(1)
    spreads = [S.spread_null(table({1: NOISE}, seeds=3, sd=2.0, rng=rng), n_perm=50).spread[0]
               for _ in range(300)]
    assert np.mean(spreads) == pytest.approx(S.expected_noise_spread(5, 2.0, seeds=3), rel=0.08)


def test_pure_noise_has_a_source_component_near_zero_and_uniform_p_values():
    rng = np.random.default_rng(2)
    comps, p_perm, p_f = [], [], []
    for i in range(300):
        t = table({1: NOISE}, seeds=3, sd=1.0, rng=rng)
        c = S.source_components(t, n_boot=50, seed=i).iloc[0]
        comps.append(c.var_source_raw)
        p_f.append(c.p_F)
        p_perm.append(S.spread_null(t, n_perm=200, seed=i).p_perm[0])
    assert abs(np.mean(comps)) < 0.1  # unbiased for 0, in units of the seed variance 1
    for p in (p_perm, p_f):
        assert stats.kstest(p, "uniform").pvalue > 0.01
        assert 0.02 <= np.mean(np.array(p) < 0.05) <= 0.09


def test_a_real_source_effect_is_detected_and_measured():
    effects = [0.0, 1.0, 2.0, 3.0, 4.0]  # variance with divisor 4: 2.5, so sd 1.58
    t = table({1: effects}, seeds=5, sd=0.5, rng=np.random.default_rng(3))
    c = S.source_components(t, n_boot=1000).iloc[0]
    assert c.p_F < 1e-6 and c.var_source_lo <= 2.5 <= c.var_source_hi
    assert c.var_source == pytest.approx(2.5, rel=0.5) and c.var_seed == pytest.approx(0.25, rel=0.6)
    n = S.spread_null(t, n_perm=1000).iloc[0]
    assert n.p_perm < 0.01 and n.best == "yfcc" and n.worst == "cc3m"
    assert n.spread == pytest.approx(4.0, abs=1.0) and n.excess > 2.0
    assert n.null_mean < n.null_hi < n.spread


def test_paired_permutation_keeps_what_a_seed_shares():
    # a big shift per seed shared by all sources: shuffling within seeds removes it from the null
    t = table({1: [0, 0, 0, 0, 1.5]}, seeds=4, sd=0.2, seed_shift=5.0,
              rng=np.random.default_rng(4))
    free = S.spread_null(t, n_perm=2000).iloc[0]
    paired = S.spread_null(t, n_perm=2000, paired=True).iloc[0]
    assert paired.p_perm < 0.01 < free.p_perm and paired.null_mean < free.null_mean


def test_the_source_role_shrinks_net_of_noise():
    shrinks = {1: [0.0, 2.0, 4.0, 6.0, 8.0], 10: [0, 1, 2, 3, 4], S.FULL: NOISE}
    t = table(shrinks, seeds=5, sd=1.0, rng=np.random.default_rng(5))
    r = S.source_role_change(t, n_boot=1000).iloc[0]
    assert (r.k_few, r.k_many) == (1, S.FULL)
    assert r.change_lo > 0 and r.sd_source_few == pytest.approx(np.std(shrinks[1], ddof=1), rel=0.3)
    assert r.p_F_few < 1e-6
    mid = S.source_role_change(t, few=10, many=S.FULL, n_boot=200).iloc[0]
    assert mid.k_few == 10


def test_bad_tables_are_refused():
    t = table({1: NOISE})
    with pytest.raises(ValueError, match="accuracy"):
        S.source_components(t.drop(columns="accuracy"))
    with pytest.raises(ValueError, match="two sources"):
        S.source_components(t[t.variant == "wit"])
    with pytest.raises(ValueError, match="two different k"):
        S.source_role_change(t)
    with pytest.raises(ValueError, match="level"):
        S.source_components(t, level=95)


def test_noise_that_grows_at_few_shots_is_not_a_shrinking_role():
    """Seed sd 4 points at 1 shot, 0.5 with all data, no source effect anywhere: the raw spread
    shrinks in (nearly) every replication; the source component's change is rarely significant."""
    rng = np.random.default_rng(6)
    raw_shrinks, significant = [], []
    for i in range(100):
        noisy = pd.concat([table({1: NOISE}, seeds=5, sd=4.0, rng=rng),
                           table({S.FULL: NOISE}, seeds=5, sd=0.5, rng=rng)])
        spread = S.spread_null(noisy, n_perm=20).set_index("k").spread
        raw_shrinks.append(spread[1] > 2 * spread[S.FULL])
        r = S.source_role_change(noisy, n_boot=300, seed=i).iloc[0]
        significant.append(r.change_lo > 0)
    assert np.mean(raw_shrinks) > 0.95
    assert np.mean(significant) <= 0.1  # about the 5% an F test at 0.05 would give


def test_role_change_reads_through_the_one_cell_rule():
    from pretrain_diversity.analysis.verdict_rule import combine_cells

    rng = np.random.default_rng(7)
    shrinking = table({1: [0.0, 2.0, 4.0, 6.0, 8.0], S.FULL: NOISE}, seeds=5, rng=rng)
    growing = table({1: NOISE, S.FULL: [0.0, 2.0, 4.0, 6.0, 8.0]}, seeds=5, rng=rng)
    both = pd.concat([shrinking, growing.assign(protocol="finetune")])
    change = S.source_role_change(both, n_boot=500)
    v = combine_cells(change, effect="change", lo="change_lo", hi="change_hi")
    assert v.label == "contradicted" and "digits, finetune" in v.reason
    v = combine_cells(change[change.protocol == "probe"], effect="change", lo="change_lo",
                      hi="change_hi")
    assert v.label == "reproduced"


def test_paired_components_take_out_what_a_seed_shares():
    t = table({1: [0, 0, 0, 0, 1.5]}, seeds=4, sd=0.2, seed_shift=5.0,
              rng=np.random.default_rng(4))
    free = S.source_components(t, n_boot=500).iloc[0]
    paired = S.source_components(t, n_boot=500, paired=True).iloc[0]
    assert paired.p_F < 1e-4 < 0.05 < free.p_F
    assert paired.var_seed < 0.1 < free.var_seed  # the seed's shift is no longer "noise"
    true_var = np.var([0, 0, 0, 0, 1.5], ddof=1)
    assert paired.var_source_lo <= true_var <= paired.var_source_hi
    both = table({1: [0, 0, 0, 0, 1.5], S.FULL: NOISE}, seeds=4, sd=0.2, seed_shift=5.0,
                 rng=np.random.default_rng(4))
    assert S.source_role_change(both, n_boot=500, paired=True).change_lo[0] > 0
    assert S.source_role_change(both, n_boot=500).change_lo[0] <= 0  # the shift hides it
    with pytest.raises(ValueError, match="every seed"):
        S.source_components(t.iloc[1:], paired=True)


def test_paired_pure_noise_p_values_are_uniform():
    rng = np.random.default_rng(8)
    p = [S.source_components(table({1: NOISE}, seeds=3, seed_shift=3.0, rng=rng), n_boot=10,
                             paired=True).p_F[0] for _ in range(300)]
    assert stats.kstest(p, "uniform").pvalue > 0.01
