"""Issue 8: the intra-class variety knob (V styles per class) and the invariance analysis.

The knob: V = None must leave every image, run id and cache entry of the earlier sampler as it
was; V >= 1 gives each class V fixed styles (shared by its samples, fixed within a seed); V = 0
gives a fresh style per image. The analysis: on synthetic tables with a known optimum, a
condition whose optimal ratio drifts with N gets a positive slope and one whose ratio is invariant
a slope near 0; the page fails with the command to run when its results are missing.
"""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pretrain_diversity.config import ConfigError, RunConfig
from pretrain_diversity.data import glyph_split, pretraining_set
from pretrain_diversity.experiment import check
from pretrain_diversity.glyphs import load_bank
from pretrain_diversity.sampling import (
    UNBOUNDED_STYLES,
    Nuisance,
    draw_styles,
    style_indices,
    two_step_sample,
)

ROOT = Path(__file__).resolve().parents[1]
# The last commit before the variety knob, and what its sampler drew for two_step_sample(bank,
# pool, 40, 10, 16, seed=5) with torch 2.15.0 on x86-64 (the fallback when git history is absent).
BEFORE_KNOB = "073f339"
BEFORE_SHA256 = "26987b9b4d97b629624097c18cb1d3a67e27213496490bdb908863af831e06fe"
BEFORE_TORCH = "2.15.0"
DEFAULT_RUN_ID = "96e1dda03a5e1334"  # RunConfig().run_id() before the knob existed

# No pose, contrast or noise: what is left of a sample is its style.
STILL = Nuisance(rotation_deg=0, log_scale=0, shear=0, translate=0, contrast=(1, 1),
                 background=(0, 0), noise_std=(0, 0))


@pytest.fixture(scope="module")
def bank():
    return load_bank()


@pytest.fixture(scope="module")
def pool(bank):
    return glyph_split(bank.n_classes).pool


def _old_sampling():
    """sampling.py as it was before the knob, imported from git history (None if unavailable)."""
    try:
        src = subprocess.run(
            ["git", "show", f"{BEFORE_KNOB}:src/pretrain_diversity/sampling.py"], cwd=ROOT,
            capture_output=True, text=True, check=True, timeout=30,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    name = "pretrain_diversity._sampling_before_knob"
    spec = importlib.util.spec_from_loader(name, loader=None)
    mod = importlib.util.module_from_spec(spec)
    mod.__package__ = "pretrain_diversity"
    sys.modules[name] = mod  # dataclasses look their module up here
    try:
        exec(compile(src, f"{BEFORE_KNOB}:sampling.py", "exec"), mod.__dict__)
    finally:
        sys.modules.pop(name, None)
    return mod


# ------------------------------------------------------------------------------ the knob
def test_default_sampler_is_bit_identical_to_before_the_knob(bank, pool):
    new = two_step_sample(bank, pool, 40, 10, 16, seed=5)
    assert torch.equal(new.images, two_step_sample(bank, pool, 40, 10, 16, seed=5,
                                                   styles_per_class=None).images)
    old = _old_sampling()
    if old is not None:
        ref = old.two_step_sample(bank, pool, 40, 10, 16, seed=5)
        assert torch.equal(new.images, ref.images) and torch.equal(new.labels, ref.labels)
        assert np.array_equal(new.class_ids, ref.class_ids)
        # the run's data set too (drawn through data.pretraining_set and its cache)
        cfg = RunConfig(n_classes=12, samples_per_class=7, image_size=8, seed=2)
        assert torch.equal(pretraining_set(cfg).images,
                           old.two_step_sample(bank, pool, 12, 7, 8, seed=2).images)
    elif torch.__version__.startswith(BEFORE_TORCH):
        assert hashlib.sha256(new.images.numpy().tobytes()).hexdigest() == BEFORE_SHA256
    else:
        pytest.skip("neither the git history nor the recorded torch version is available")


def test_run_ids_of_earlier_runs_do_not_change():
    assert RunConfig().run_id() == DEFAULT_RUN_ID
    assert RunConfig(styles_per_class=None).run_id() == DEFAULT_RUN_ID
    assert "styles_per_class" not in RunConfig().identity()
    ids = {RunConfig(styles_per_class=v).run_id() for v in (None, 0, 1, 8)}
    assert len(ids) == 4


def test_style_indices_are_stratified_and_unbounded_is_fresh():
    assert style_indices(6, 12, 4).tolist() == [0, 1, 2, 3, 0, 1] * 2
    assert style_indices(5, 10, UNBOUNDED_STYLES).tolist() == [0, 1, 2, 3, 4] * 2
    assert style_indices(3, 6, 1).tolist() == [0] * 6


def test_one_style_per_class_means_samples_share_it(bank, pool):
    """V = 1: without the per-sample nuisance all images of a class are the same picture; with it
    they still vary less than under a fresh style per image."""
    s = two_step_sample(bank, pool, 6, 8, 16, seed=0, nuisance=STILL, styles_per_class=1)
    x = s.images.view(6, 8, -1)
    assert (x == x[:, :1]).all()
    assert len({row.numpy().tobytes() for row in x[:, 0]}) == 6  # classes still differ

    def within(v):
        t = two_step_sample(bank, pool, 60, 16, 16, seed=0, styles_per_class=v)
        y = t.images.float().view(60, 16, -1) / 255
        return float(((y - y.mean(1, keepdim=True)) ** 2).sum(-1).mean())

    one, eight, fresh = within(1), within(8), within(UNBOUNDED_STYLES)
    assert one < eight < fresh * 1.02 and one < 0.9 * fresh, (one, eight, fresh)


def test_styles_are_fixed_properties_of_a_class_within_a_seed(bank, pool):
    """The same class has the same styles whatever K and n the run uses; another seed redraws."""
    small = two_step_sample(bank, pool, 5, 4, 16, seed=3, nuisance=STILL, styles_per_class=4)
    large = two_step_sample(bank, pool, 20, 8, 16, seed=3, nuisance=STILL, styles_per_class=4)
    assert np.array_equal(large.class_ids[:5], small.class_ids)
    a = small.images.view(5, 4, -1)
    b = large.images.view(20, 8, -1)[:5]
    assert torch.equal(a, b[:, :4]) and torch.equal(a, b[:, 4:])  # style j mod 4, both runs

    cls = np.array([10, 10, 11, 10])
    sty = np.array([0, 1, 0, 0])
    st = draw_styles(bank, cls, sty, seed=3)
    alone = draw_styles(bank, cls[3:], sty[3:], seed=3)  # computed without the other rows
    for f in ("variant", "stroke", "slant", "aspect", "warp"):
        v = getattr(st, f)
        assert torch.equal(v[0], v[3]) and torch.equal(v[3], getattr(alone, f)[0]), f
    assert not torch.equal(st.warp[0], st.warp[1])  # another style of the class
    other = draw_styles(bank, cls, sty, seed=4)
    assert not torch.equal(other.warp, st.warp)


def test_styled_sets_are_deterministic_and_cached_apart(bank, pool):
    cfg = RunConfig(n_classes=9, samples_per_class=6, image_size=8, seed=1)
    sets = {v: pretraining_set(cfg.with_(styles_per_class=v)) for v in (None, 1, 3, 0)}
    for v, s in sets.items():
        assert torch.equal(s.images, pretraining_set(cfg.with_(styles_per_class=v)).images)
        assert torch.equal(s.images, two_step_sample(bank, pool, 9, 6, 8, seed=1,
                                                     styles_per_class=v).images), v
        assert np.array_equal(s.class_ids, sets[None].class_ids)  # V never changes the classes
    keys = {s.images.numpy().tobytes() for s in sets.values()}
    assert len(keys) == 4


@pytest.mark.parametrize(
    "value, words",
    [
        (-1, ["styles_per_class=-1", "0 <= styles_per_class", "0 means unbounded"]),
        (2.5, ["styles_per_class must be an integer"]),
        (True, ["styles_per_class must be an integer"]),
        ("8", ["styles_per_class must be an integer"]),
        (10**7, ["styles_per_class=10000000", "<= 1000000"]),
    ],
)
def test_bad_style_counts_are_named(value, words):
    with pytest.raises(ConfigError) as err:
        check(RunConfig(styles_per_class=value))
    for w in words:
        assert w in str(err.value), (w, str(err.value))


def test_good_style_counts_pass():
    for v in (None, 0, 1, 64):
        check(RunConfig(styles_per_class=v))


def test_class_pools_are_reported_drawn_from_and_validated(bank):
    from pretrain_diversity.config import CLASS_POOLS
    from pretrain_diversity.data import class_pool, dataset_limits

    full, per_class = dataset_limits("glyphs")
    assert dataset_limits("glyphs", None) == (full, per_class)
    for name in CLASS_POOLS:
        size, _ = dataset_limits("glyphs", name)
        members = class_pool(bank, name)
        assert 100 < size == len(members) < full, name
        assert set(members) <= set(glyph_split(bank.n_classes).pool)  # never a held-out class
    latin = set(class_pool(bank, "latin"))
    s = pretraining_set(RunConfig(n_classes=30, samples_per_class=2, image_size=8,
                                  class_pool="latin"))
    assert set(s.class_ids) <= latin
    assert all(bank.name(c).startswith("LATIN ") for c in s.class_ids)
    size = len(latin)
    with pytest.raises(ConfigError, match=rf"n_classes={size + 1}.*<= {size}.*pool 'latin'"):
        check(RunConfig(class_pool="latin", n_classes=size + 1))
    with pytest.raises(ConfigError, match="unknown class_pool='klingon'; allowed: latin"):
        check(RunConfig(class_pool="klingon"))
    assert RunConfig(class_pool=None).run_id() == DEFAULT_RUN_ID
