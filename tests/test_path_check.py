"""analysis.path_check on numbers worked out by hand: pairs, pooled seed noise, the verdict."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from pretrain_diversity.analysis.path_check import path_check


def runs(shift_b: float, jitter=(0.0, 0.0, 0.0)) -> pd.DataFrame:
    """Two configs x three seeds; on path a the seeds give 10, 12, 14 % and 20, 22, 24 % (SD 2
    points in each); path b adds ``shift_b`` (+ a jitter per seed)."""
    rows = []
    for config, base in (("K=8", 0.10), ("K=16", 0.20)):
        for seed in range(3):
            a = base + 0.02 * seed
            rows.append({"config": config, "seed": seed, "path": "fp32", "error": a})
            rows.append({"config": config, "seed": seed, "path": "bf16",
                         "error": a + shift_b + jitter[seed]})
    return pd.DataFrame(rows)


def test_a_shift_smaller_than_seed_noise_is_within_it():
    c = path_check(runs(0.005), "fp32", "bf16")
    assert c.n_pairs == 6
    assert c.mean_diff == pytest.approx(0.5)
    assert c.seed_sd == pytest.approx(2.0)  # every (config, path) has SD 2 points
    assert c.se == pytest.approx(2.0 / math.sqrt(6))  # 0.816; 2 SE = 1.63 > 0.5
    assert c.within_noise
    assert list(c.per_config["diff"]) == pytest.approx([0.5, 0.5])
    assert "within seed noise" in c.lines()[-1]


def test_a_shift_beyond_two_standard_errors_is_flagged():
    c = path_check(runs(0.02), "fp32", "bf16")
    assert c.mean_diff == pytest.approx(2.0) and not c.within_noise  # 2.0 >= 1.63
    assert "OUTSIDE" in c.lines()[-1]
    assert c.as_dict()["within_noise"] is False


def test_jitter_widens_the_differences_and_pools_into_the_seed_noise():
    c = path_check(runs(0.0, jitter=(-0.01, 0.0, 0.01)), "fp32", "bf16")
    assert c.mean_diff == pytest.approx(0.0)
    assert c.diff_sd == pytest.approx(math.sqrt(4 / 5))  # -1, 0, +1 twice: 4 over 5 df
    # path b's seeds are 9, 12, 15 (SD 3): pooled sqrt((4 + 9 + 4 + 9) / 4)
    assert c.seed_sd == pytest.approx(math.sqrt(26 / 4))
    lo, hi = c.interval()
    assert lo < 0 < hi


def test_only_configurations_run_both_ways_are_paired_and_bad_input_is_refused():
    df = runs(0.005)
    df = df[~((df.config == "K=16") & (df.seed == 2) & (df.path == "bf16"))]
    assert path_check(df, "fp32", "bf16").n_pairs == 5
    with pytest.raises(ValueError, match="both paths"):
        path_check(df[df.path == "fp32"], "fp32", "bf16")
    with pytest.raises(ValueError, match="column"):
        path_check(df.drop(columns="seed"), "fp32", "bf16")
