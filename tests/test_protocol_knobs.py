"""Knobs of the stricter protocol: separate seed streams, fixed compute, a no-pre-training baseline.

Each defaults to None, which must reproduce what the package computed before the knob existed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from old_code import module_at
import torch

from pretrain_diversity.config import ConfigError, RunConfig
from pretrain_diversity.runs.validation import validate
from pretrain_diversity.data.glyphs import load_bank
from pretrain_diversity.data.pool import class_pool, pretraining_set
from pretrain_diversity.data.sampling import two_step_indices, two_step_sample
from pretrain_diversity.models.backbones import build_model
from pretrain_diversity.runs.experiment import run_experiment
from pretrain_diversity.training.loop import pretrain

ROOT = Path(__file__).resolve().parents[1]
BEFORE_KNOBS = "f5dea64"


def _old_sampling():
    """data/sampling.py before the seed streams, from git history (None if unavailable)."""
    return module_at(BEFORE_KNOBS, "src/pretrain_diversity/data/sampling.py",
                     "pretrain_diversity.data._sampling_before_seed_streams")


@pytest.fixture(scope="module")
def bank():
    return load_bank()


def init_weights(cfg: RunConfig, channels: int = 1) -> dict:
    """The network a run starts from (as run_experiment builds it)."""
    torch.manual_seed(cfg.seed)
    return build_model(cfg, in_channels=channels).state_dict()


# ----------------------------------------------------------------------------- seed streams
def test_unset_seed_streams_reproduce_the_old_draw_bit_for_bit(bank):
    pool = class_pool(bank)
    old = _old_sampling()
    if old is None:
        pytest.skip("git history not available")
    for styles in (None, 3):
        new = two_step_sample(bank, pool, 20, 6, 8, seed=4, styles_per_class=styles)
        ref = old.two_step_sample(bank, pool, 20, 6, 8, seed=4, styles_per_class=styles)
        assert torch.equal(new.images, ref.images) and np.array_equal(new.class_ids, ref.class_ids)
    labels = np.repeat(np.arange(30), 9)
    for a, b in zip(two_step_indices(labels, 7, 5, 3), old.two_step_indices(labels, 7, 5, 3)):
        assert np.array_equal(a, b)
    # and through the run's data set: None and an explicit copy of seed draw the same images
    cfg = RunConfig(n_classes=9, samples_per_class=4, image_size=8, seed=6)
    same = pretraining_set(cfg.with_(class_seed=6, image_seed=6))
    assert torch.equal(pretraining_set(cfg).images, same.images)
    assert cfg.run_id() == RunConfig(n_classes=9, samples_per_class=4, image_size=8, seed=6,
                                     class_seed=None, image_seed=None).run_id()  # fmt: skip


def test_class_seed_moves_the_classes_only_and_image_seed_the_images_only():
    cfg = RunConfig(n_classes=12, samples_per_class=5, image_size=8, width=4, seed=2)
    base = pretraining_set(cfg)
    other_classes = pretraining_set(cfg.with_(class_seed=99))
    other_images = pretraining_set(cfg.with_(image_seed=99))
    assert set(other_classes.class_ids) != set(base.class_ids)
    assert np.array_equal(other_images.class_ids, base.class_ids)  # same classes ...
    assert not torch.equal(other_images.images, base.images)  # ... other images of them
    # the initialisation (and the batch order) stay on seed
    for changed in (cfg.with_(class_seed=99), cfg.with_(image_seed=99)):
        a, b = init_weights(cfg), init_weights(changed)
        assert all(torch.equal(a[k], b[k]) for k in a)
    # and seed alone moves everything but a fixed class_seed
    moved = pretraining_set(cfg.with_(seed=3, class_seed=2))
    assert np.array_equal(moved.class_ids, base.class_ids)
    assert not torch.equal(moved.images, base.images)


def test_seed_streams_on_real_data_indices():
    labels = np.repeat(np.arange(40), 12)
    idx, _, chosen = two_step_indices(labels, 6, 4, seed=1)
    idx_c, _, chosen_c = two_step_indices(labels, 6, 4, seed=1, class_seed=8)
    idx_i, _, chosen_i = two_step_indices(labels, 6, 4, seed=1, image_seed=8)
    assert not np.array_equal(chosen_c, chosen)
    assert np.array_equal(chosen_i, chosen) and not np.array_equal(idx_i, idx)
    assert (labels[idx_i] == np.repeat(chosen, 4)).all()


# ----------------------------------------------------------------------------- fixed compute
def test_fixed_steps_trains_every_budget_for_the_same_number_of_steps():
    small = RunConfig(n_classes=4, samples_per_class=4, image_size=8, width=4, batch_size=8,
                      fixed_steps=6)  # fmt: skip
    large = small.with_(n_classes=8, samples_per_class=8)
    assert small.budget != large.budget and small.steps == large.steps == 6
    for cfg in (small, large):
        data = pretraining_set(cfg)
        torch.manual_seed(cfg.seed)
        model = build_model(cfg, in_channels=1)
        h = pretrain(model, data, cfg, device=torch.device("cpu"), progress=False, log_points=3)
        assert h.step == [2, 4, 6]
    assert RunConfig(n_classes=4, samples_per_class=4, batch_size=8).steps == 40  # None: as before


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("class_seed", -1, "0 <= class_seed"),
        ("image_seed", 1.5, "image_seed must be an integer"),
        ("fixed_steps", 0, "1 <= fixed_steps"),
    ],
)
def test_knob_checks_name_the_parameter_and_its_range(field, value, words):
    with pytest.raises(ConfigError, match=words):
        validate(RunConfig(**{field: value}))


# ----------------------------------------------------------------------------- baseline
def test_no_pretraining_baseline_probes_the_initial_network_beside_raw_pixels(tiny_cfg, tmp_path):
    from pretrain_diversity.storage import load_tensors

    cfg = tiny_cfg.with_(probe_tasks=("shapes",))
    base = run_experiment(cfg.with_(pretrain=False), tmp_path, progress=False)
    trained = run_experiment(cfg, tmp_path, progress=False)
    pre = base["metrics"]["pretrain"]
    assert pre["steps"] == 0 and pre["images_seen"] == 0 and pre["final_loss"] is None
    assert base["history"]["step"] == []
    # the probed network is exactly the initialisation of the pre-trained run (same seed)
    run_dir = tmp_path / cfg.with_(pretrain=False).run_id()
    weights = load_tensors(run_dir / "model.pt", what="weights", remedy="")
    init = init_weights(cfg)
    assert all(torch.equal(weights[k], init[k]) for k in init)
    # every task reports the random network and raw pixels; the pre-trained run has no pixels
    random_net = base["metrics"]["probe"]["shapes"]["test_error"]
    pixels = base["metrics"]["probe_pixels"]["shapes"]["test_error"]
    assert 0 < random_net < 0.9 and 0 < pixels < 0.9 and random_net != pixels
    assert "probe_pixels" not in trained["metrics"]
    assert trained["metrics"]["probe"]["shapes"]["test_error"] != random_net
    assert cfg.with_(pretrain=None).run_id() == cfg.run_id() != cfg.with_(pretrain=False).run_id()


def test_baseline_checks():
    with pytest.raises(ConfigError, match="pretrain must be True or False"):
        validate(RunConfig(pretrain="no"))
    with pytest.raises(ConfigError, match="fixed_steps=5 has no meaning"):
        validate(RunConfig(pretrain=False, fixed_steps=5))
