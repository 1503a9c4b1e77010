"""The shared bootstrap and number formats: known answers on synthetic inputs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pretrain_diversity.analysis import bootstrap, formatting


def test_mean_draws_resample_the_values():
    rng = np.random.default_rng(0)
    assert np.all(bootstrap.mean_draws([2.0, 2.0, 2.0], rng, 50) == 2.0)
    d = bootstrap.mean_draws([0.0, 1.0], rng, 4000)
    assert d.shape == (4000,) and set(np.unique(d)) <= {0.0, 0.5, 1.0}
    assert np.mean(d == 0.5) == pytest.approx(0.5, abs=0.03)  # two of the four resamples


def test_interval_is_the_central_percentile_interval():
    draws = np.arange(1001.0)
    assert bootstrap.interval(draws, 0.9) == pytest.approx((50.0, 950.0))
    assert bootstrap.percentiles(0.95) == pytest.approx([2.5, 97.5])
    lo, hi = np.percentile(draws, bootstrap.percentiles(0.8))
    assert (lo, hi) == pytest.approx(bootstrap.interval(draws, 0.8))


def test_slope_draws_recover_a_known_slope():
    budgets = [1024, 4096, 16384]
    opt = pd.DataFrame({"task": "t", "budget": budgets})
    rng = np.random.default_rng(1)
    offsets = rng.normal(size=20)  # each draw shifts every budget alike: the slope stays 0.5
    draws = {("t", n): 0.5 * math.log2(n) + offsets for n in budgets}
    s = bootstrap.slope_draws(opt, draws)
    assert list(s) == ["t"] and np.allclose(s["t"], 0.5)
    assert bootstrap.slope_draws(opt.iloc[:1], draws) == {}  # one budget: no slope


def test_ratio_formats():
    assert formatting.ratio(0.5) == "0.5" and formatting.ratio(12.4) == "12"
    assert formatting.ratio_grouped(12345.0) == "12,345" and formatting.ratio_grouped(math.nan) == "nan"
    assert formatting.ratio_fraction(0.125) == "1/8" and formatting.ratio_fraction(4.0) == "4"
    assert formatting.signed_interval(-0.123, 0.3) == "[-0.12, +0.30]"


def test_original_sampler_is_bracketed_by_the_variety_levels():
    from pretrain_diversity.studies.glyph_pool import ORIGINAL, bracket

    t = pd.DataFrame({"share": [0.1, 0.3, 0.5, 0.2]}, index=["1", "4", "∞ (0)", ORIGINAL])
    assert bracket(t, "share") == "0.20, between V = 1 and V = 4"
    assert bracket(t.assign(share=[0.1, 0.3, 0.5, 0.05]), "share") == "0.05, below that of V = 1"
    assert bracket(t.assign(share=[0.1, 0.3, 0.5, 0.9]), "share").endswith("unbounded included")
