"""Pool hygiene: pre-training classes measured against the downstream classes by content."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pretrain_diversity.config import ConfigError, RunConfig
from pretrain_diversity.runs.validation import validate
from pretrain_diversity.data.glyphs import load_bank
from pretrain_diversity.data.hygiene import (
    MAX_DISTANCE, hygiene_report, nearest, pool_distances, shape_vectors,
)  # fmt: skip
from pretrain_diversity.data.pool import class_pool, dataset_limits, glyph_split, pretraining_set


@pytest.fixture(scope="module")
def bank():
    return load_bank()


@pytest.fixture(scope="module")
def dist(bank):
    split = glyph_split(bank.n_classes)
    return pool_distances(bank, split.pool, split.heldout)


def test_the_shape_distance_ignores_position_and_size_but_not_shape():
    a = np.zeros((32, 32), np.float32)
    a[4:20, 6:10] = 1  # a vertical bar
    a[4:8, 6:18] = 1  # with a top arm: a "Gamma"
    moved = np.zeros_like(a)
    moved[10:26, 12:16] = 1
    moved[10:14, 12:24] = 1
    big = np.kron(a[4:20, 6:22], np.ones((2, 2), np.float32))  # twice the size
    other = np.zeros_like(a)
    other[4:20, 6:10] = 1
    other[16:20, 6:18] = 1  # arm at the bottom: an "L"
    v = shape_vectors(np.stack([a, moved, big, other]))
    d, _ = nearest(v[:1], v[1:2])
    assert d[0] < 1e-6
    d_big = np.linalg.norm(v[0] - v[2])
    d_other = np.linalg.norm(v[0] - v[3])
    assert d_big < 0.15 < 0.5 < d_other <= MAX_DISTANCE
    assert np.allclose(np.linalg.norm(v, axis=1), 1)


def test_every_pool_class_is_measured_against_both_tasks(bank, dist):
    split = glyph_split(bank.n_classes)
    assert np.array_equal(dist.pool, split.pool)
    for d in (dist.to_heldout, dist.to_digits):
        assert d.shape == dist.pool.shape and (d >= 0).all() and (d <= MAX_DISTANCE).all()
    assert set(dist.nearest_heldout) <= set(split.heldout) and set(dist.nearest_digit) <= set(range(10))
    # near-copies exist across the code-point split: the measure finds some far below the typical
    assert dist.to_heldout.min() < 0.5 * np.median(dist.to_heldout)
    # a class compared with itself is at distance 0 (the held-out side measured against itself)
    heldout = pool_distances(bank, split.heldout[:5], split.heldout)
    assert np.allclose(heldout.to_heldout, 0, atol=1e-6)


def test_digits_and_digit_named_classes_always_go(bank, dist):
    digit_classes = [int(np.flatnonzero(bank.codepoints == ord(ch))[0]) for ch in "0123456789"]
    assert set(digit_classes) <= set(dist.pool)  # the ASCII digits are in the pool today
    for t in (0.0, 0.2):
        kept = set(class_pool(bank, hygiene=t))
        assert not kept & set(digit_classes)
        assert not any("DIGIT" in bank.name(c).split() for c in kept)
    named = [bank.name(int(c)) for c in dist.pool[dist.digit_named]]
    assert "FULLWIDTH DIGIT SEVEN" in named or len(named) >= 10


def test_the_report_counts_what_each_threshold_removes(bank, dist):
    split = glyph_split(bank.n_classes)
    rows = hygiene_report(bank, split.pool, split.heldout, [0.0, 0.1, 0.2, 0.3])
    removed = [r["removed"] for r in rows]
    assert removed == sorted(removed) and removed[0] < removed[-1]
    assert rows[0]["removed"] == rows[0]["digit_named"] == int(dist.digit_named.sum())
    for r in rows:
        t = r["threshold"]
        kept = class_pool(bank, hygiene=t)
        assert r["kept"] == len(kept) == len(split.pool) - r["removed"]
        i = np.isin(dist.pool, kept)
        assert (dist.to_heldout[i] > t).all() and (dist.to_digits[i] > t).all()
        assert r["near_heldout"] == int((dist.to_heldout <= t).sum())
        assert len(r["closest_removed"]) == min(8, r["removed"])


def test_the_knob_draws_only_clean_classes_and_checks_its_range(bank):
    cfg = RunConfig(n_classes=300, samples_per_class=1, image_size=8, seed=1)
    clean = cfg.with_(pool_hygiene=0.3)
    kept = set(class_pool(bank, hygiene=0.3))
    assert set(pretraining_set(clean).class_ids) <= kept
    assert not set(pretraining_set(cfg).class_ids) <= kept  # without it, some dirty ones drawn
    assert dataset_limits("glyphs", pool_hygiene=0.3)[0] == len(kept) < dataset_limits("glyphs")[0]
    assert "pool_hygiene" not in cfg.identity() and clean.run_id() != cfg.run_id()
    with pytest.raises(ConfigError, match="0.0 <= pool_hygiene <= 2.0"):
        validate(cfg.with_(pool_hygiene=2.5))
    with pytest.raises(ConfigError, match="needs dataset='glyphs'"):
        validate(cfg.with_(dataset="cifar100", image_size=32, pool_hygiene=0.1,
                           probe_tasks=("digits",)))  # fmt: skip
    with pytest.raises(ConfigError, match="pool_hygiene must be a finite number"):
        validate(cfg.with_(pool_hygiene="0.2"))
    assert torch.equal(pretraining_set(clean).images, pretraining_set(clean).images)


def test_a_run_is_checked_against_the_cleaned_pool(bank):
    from pretrain_diversity.runs.experiment import check

    full = len(class_pool(bank))
    check(RunConfig(n_classes=full, samples_per_class=1, image_size=8))
    with pytest.raises(ConfigError, match=r"n_classes=\d+ is out of range"):
        check(RunConfig(n_classes=full, samples_per_class=1, image_size=8, pool_hygiene=0.2))
