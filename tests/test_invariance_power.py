"""What each invariance condition's design can tell (studies.invariance.power), on tables
simulated from known designs: a precise condition finds every drift, a noisy one none."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pretrain_diversity.analysis import power as P
from pretrain_diversity.studies.invariance import power as IP

GRID = {2**10: tuple(2**i for i in range(1, 11)), 2**12: tuple(2**i for i in range(2, 13)),
        2**14: tuple(2**i for i in range(4, 13))}


def design(**kw) -> P.Design:
    base = dict(grid=GRID, seeds=tuple(range(5)), n_val=1000, n_test=3000, seed_sd=0.02,
                curvature=0.012, floor=0.3, centre=12.0, log2_r_centre=2.5, task="t")
    return P.Design(**{**base, **kw})


def test_each_condition_gets_its_own_design_and_power():
    precise = design(seed_sd=0.002, n_val=10**6, n_test=10**6)
    noisy = design(seeds=(0, 1, 2), seed_sd=0.15, n_val=50, n_test=50, curvature=0.004)
    rows = pd.concat([
        P.simulate_table(precise, 0.0, np.random.default_rng(1)).assign(condition="precise"),
        P.simulate_table(noisy, 0.0, np.random.default_rng(2)).assign(condition="noisy"),
    ], ignore_index=True)
    table = IP.condition_power(rows, sims=3, n_boot=50)
    assert set(table["condition"]) == {"precise", "noisy"}
    assert set(table["slope"]) == set(IP.SLOPES)
    view = IP.power_view(table).set_index("condition")
    assert view.loc["precise", "±1 found"] == "100%"
    assert view.loc["precise", "smallest drift found 80% of the time"] == "±0.5"
    assert view.loc["noisy", "smallest drift found 80% of the time"] == "none up to ±1"
    assert view.loc["noisy", "seeds"] == 3
