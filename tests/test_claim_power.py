"""The power of a multi-cell claim on its own cells (analysis.claim_power), checked against the
rule it simulates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pretrain_diversity.analysis import claim_power as CP
from pretrain_diversity.analysis import verdict_rule as VR


def _claim(effects, half_widths, direction=1):
    effects, hw = np.asarray(effects, float), np.asarray(half_widths, float)
    cells = pd.DataFrame({"cell": [f"c{i}" for i in range(len(effects))], "effect": effects,
                          "lo": effects - hw, "hi": effects + hw})
    return VR.combine_cells(cells, keys=("cell",), direction=direction)


def test_the_simulated_reading_is_combine_cells():
    se = np.array([0.5, 1.0, 2.0, 4.0])
    for direction in (1, -1):
        truth = direction * np.array([0.0, 1.0, 2.0, -1.0])
        labels = CP.simulate_labels(truth, se, np.full(4, direction), sims=200, seed=3)
        # the simulation's own draws: the same seed gives the same estimates
        est = truth + se * np.random.default_rng(3).standard_normal((200, 4))
        for row, label in zip(est, labels):
            want = _claim(row, CP.Z * se, direction).label
            assert label == want


def test_power_rises_with_the_effect_and_the_null_contradicts_at_the_cell_level():
    claim = _claim([1.0], [CP.Z * 1.0])  # one cell, standard error 1
    p = CP.claim_power(claim, deltas=(0.0, 1.0, 5.0), sims=20000, seed=0).set_index("true effect")
    # one cell under no effect contradicts 2.5% of the time (two-sided 95% interval)
    assert p.loc["0 in every cell", VR.CONTRADICTED] == pytest.approx(0.025, abs=0.005)
    # a cell's only 'pass' is 'reproduced': power at delta = 5 standard errors is ~99.9%
    assert p.loc["5 in every cell", VR.REPRODUCED] > 0.99
    assert p.loc["1 in every cell", VR.REPRODUCED] == pytest.approx(0.17, abs=0.02)
    rates = p[[VR.REPRODUCED, VR.PARTLY, VR.CONTRADICTED, VR.INCONCLUSIVE]]
    assert np.allclose(rates.sum(axis=1), 1)
    assert "as measured" in p.index


def test_more_cells_make_yes_harder_and_false_contradictions_likelier():
    one = CP.claim_power(_claim([0.0], [CP.Z]), deltas=(0.0, 2.0), sims=20000)
    twenty = CP.claim_power(_claim(np.zeros(20), np.full(20, CP.Z)), deltas=(0.0, 2.0),
                            sims=20000)
    assert twenty[VR.CONTRADICTED].iloc[0] == pytest.approx(1 - 0.975**20, abs=0.015)
    assert twenty[VR.REPRODUCED].iloc[1] < one[VR.REPRODUCED].iloc[1]


def test_detectable_and_the_sentence():
    claim = _claim([1.0, 2.0], [CP.Z, CP.Z])
    p = CP.claim_power(claim, deltas=(0.0, 1.0, 3.0, 5.0), sims=5000)
    found = CP.detectable(p)
    assert found["partly"] == 3.0 and found["all"] == 5.0
    s = CP.power_sentence(p)
    assert "3 points in every cell is read 'yes' or 'partly'" in s and "from 5 points" in s
    with pytest.raises(ValueError, match="no-effect row"):
        CP.power_sentence(p[p["delta"] != 0])
    with pytest.raises(ValueError, match="positive width"):
        CP.claim_power(_claim([1.0], [0.0]))
