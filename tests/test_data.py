"""The embedded glyph data: many distinct classes, a clean pool/downstream split, two-step draws."""

from __future__ import annotations

import numpy as np
import torch

from pretrain_diversity.config import RunConfig
from pretrain_diversity.data.pool import glyph_split, pretraining_set
from pretrain_diversity.tasks.registry import TASKS, load_task
from pretrain_diversity.data.glyphs import load_bank
from pretrain_diversity.data.sampling import render, two_step_sample


def test_bank_has_thousands_of_distinct_non_empty_classes():
    bank = load_bank()
    assert bank.n_classes > 5000
    assert bank.offsets[-1] == len(bank.images) == len(bank.render_font)
    assert (bank.variants_per_class >= 1).all()
    assert len(set(bank.codepoints.tolist())) == bank.n_classes
    # every render has ink; no two classes share a canonical (first-font) bitmap
    assert ((bank.images >= 128).sum(axis=(1, 2)) >= 6).all()
    canon = bank.images[bank.offsets[:-1]]
    assert len({c.tobytes() for c in canon}) == bank.n_classes


def test_pool_and_downstream_classes_are_disjoint():
    bank = load_bank()
    split = glyph_split(bank.n_classes)
    assert len(split.heldout) == 100
    assert len(split.pool) + len(split.heldout) == bank.n_classes
    assert not set(split.pool) & set(split.heldout)
    task = load_task("glyphs-heldout", 16)
    assert set(task.train.class_ids) == set(split.heldout)
    big = pretraining_set(RunConfig(n_classes=len(split.pool), samples_per_class=1))
    assert not set(big.class_ids) & set(split.heldout)


def test_two_step_sampling_counts_and_determinism():
    bank = load_bank()
    pool = glyph_split(bank.n_classes).pool
    a = two_step_sample(bank, pool, 12, 5, 16, seed=3)
    b = two_step_sample(bank, pool, 12, 5, 16, seed=3)
    c = two_step_sample(bank, pool, 12, 5, 16, seed=4)
    assert a.images.shape == (60, 1, 16, 16) and a.images.dtype == torch.uint8
    assert torch.equal(torch.bincount(a.labels), torch.full((12,), 5))
    assert len(set(a.class_ids)) == 12 and set(a.class_ids) <= set(pool)
    assert torch.equal(a.images, b.images) and np.array_equal(a.class_ids, b.class_ids)
    assert not torch.equal(a.images, c.images)
    # the n images of a class are different draws, not copies
    first = a.images[a.labels == 0].flatten(1).float()
    assert torch.cdist(first, first).fill_diagonal_(1e9).min() > 0


def test_more_classes_extend_fewer_under_one_seed():
    """K classes at a seed are the first K of one permutation: studies over K are nested."""
    bank = load_bank()
    pool = glyph_split(bank.n_classes).pool
    small = two_step_sample(bank, pool, 10, 2, 8, seed=1)
    large = two_step_sample(bank, pool, 40, 2, 8, seed=1)
    assert np.array_equal(large.class_ids[:10], small.class_ids)


def test_render_uses_nuisance_but_keeps_the_glyph():
    bank = load_bank()
    g = torch.Generator().manual_seed(0)
    cls = np.array([0] * 64)
    x = render(bank, cls, 32, g).float()
    assert x.max() > 100  # ink survives
    assert x.std(0).mean() > 5  # samples differ
    # samples of one class are closer to each other than to another class's
    y = render(bank, np.array([1000] * 64), 32, g).float()
    within = torch.cdist(x.flatten(1), x.flatten(1)).mean()
    between = torch.cdist(x.flatten(1), y.flatten(1)).mean()
    assert within < between


def test_pretraining_set_is_cached_on_disk(isolated_cache):
    cfg = RunConfig(n_classes=6, samples_per_class=3, seed=11)
    a = pretraining_set(cfg)
    files = list((isolated_cache / "sets").glob("*.pt"))
    assert files
    b = pretraining_set(cfg)
    assert torch.equal(a.images, b.images)


def test_downstream_tasks_have_disjoint_splits_and_all_classes():
    for name in TASKS:
        task = load_task(name, 16)
        sizes = task.sizes()
        assert min(sizes.values()) > 0, name
        for part in (task.train, task.val, task.test):
            assert part.images.shape[1:] == (1, 16, 16)
            assert set(part.labels.tolist()) == set(range(task.n_classes)), name
        flat = [p.images.flatten(1) for p in (task.train, task.val, task.test)]
        # no image appears in two splits
        keys = [{row.numpy().tobytes() for row in f} for f in flat]
        assert not keys[0] & keys[2] and not keys[1] & keys[2], name
