"""Pre-training: the loss falls, a seed fixes the result, a killed run resumes exactly."""

from __future__ import annotations

import json

import pytest
import torch

from pretrain_diversity.data.pool import pretraining_set
from pretrain_diversity.runs.experiment import (
    CHECKPOINT,
    TrainingStopped,
    is_done,
    run_dir_for,
    run_experiment,
)
from pretrain_diversity.models.backbones import build_model
from pretrain_diversity.training.augment import random_shift
from pretrain_diversity.training.loop import pretrain
from pretrain_diversity.training.schedule import batch_indices, lr_at


def test_loss_falls_on_a_tiny_run(tiny_cfg):
    cfg = tiny_cfg.with_(epochs=40.0, width=8)
    data = pretraining_set(cfg)
    torch.manual_seed(0)
    model = build_model(cfg, 1)
    h = pretrain(model, data, cfg, device=torch.device("cpu"), progress=False)
    assert h.step[-1] == cfg.steps
    assert h.loss[-1] < 0.6 * h.loss[0]
    assert h.accuracy[-1] > 0.5  # well above chance (1/8) on the training images


def test_same_seed_same_result_other_seed_differs(tiny_cfg, tmp_path):
    a = run_experiment(tiny_cfg, tmp_path / "a", progress=False)
    b = run_experiment(tiny_cfg, tmp_path / "b", progress=False)
    c = run_experiment(tiny_cfg.with_(seed=1), tmp_path / "c", progress=False)
    assert a["history"] == b["history"]
    assert a["metrics"]["probe"] == b["metrics"]["probe"]
    assert a["history"]["loss"] != c["history"]["loss"]


def test_finished_run_is_not_trained_twice(tiny_cfg, tmp_path):
    first = run_experiment(tiny_cfg, tmp_path, progress=False)
    run_dir = run_dir_for(tiny_cfg, tmp_path)
    assert is_done(run_dir) and not (run_dir / CHECKPOINT).exists()
    stamp = (run_dir / "metrics.json").stat().st_mtime_ns
    again = run_experiment(tiny_cfg, tmp_path, progress=False)
    assert again == json.loads(json.dumps(first))
    assert (run_dir / "metrics.json").stat().st_mtime_ns == stamp


def test_killed_run_resumes_to_identical_metrics(tiny_cfg, tmp_path):
    cfg = tiny_cfg.with_(epochs=8.0)
    whole = run_experiment(cfg, tmp_path / "whole", progress=False)
    with pytest.raises(TrainingStopped):
        run_experiment(cfg, tmp_path / "killed", progress=False, stop_after=cfg.steps // 2)
    run_dir = run_dir_for(cfg, tmp_path / "killed")
    assert (run_dir / CHECKPOINT).exists() and not is_done(run_dir)
    resumed = run_experiment(cfg, tmp_path / "killed", progress=False)
    assert resumed["history"] == whole["history"]
    assert resumed["metrics"]["probe"] == whole["metrics"]["probe"]


def test_batches_cover_every_image_once_per_epoch():
    n, b, perms = 50, 16, {}
    seen = torch.cat([batch_indices(s, b, n, 0, perms) for s in range(25)])  # 400 = 8 epochs
    assert torch.equal(torch.bincount(seen[:400], minlength=n), torch.full((n,), 8))
    assert torch.equal(batch_indices(7, b, n, 0, {}), batch_indices(7, b, n, 0, perms))


def test_learning_rate_warms_up_then_decays_to_zero():
    lrs = [lr_at(s, 100, 0.1, 0.1) for s in range(100)]
    assert lrs[0] < lrs[9] == pytest.approx(0.1)
    assert all(x >= y for x, y in zip(lrs[10:], lrs[11:]))
    assert lrs[-1] < 1e-3


def test_random_shift_moves_pixels_without_wrapping():
    x = torch.zeros(64, 1, 8, 8)
    x[:, :, 4, 4] = 1
    y = random_shift(x, 2, torch.Generator().manual_seed(0))
    pos = y.flatten(1).argmax(1)
    rows, cols = pos // 8, pos % 8
    assert y.sum() == 64  # the single lit pixel is moved, never lost or duplicated
    assert rows.min() >= 2 and rows.max() <= 6 and cols.min() >= 2 and cols.max() <= 6
    assert len(set(pos.tolist())) > 5


@pytest.mark.parametrize("arch, dim", [("convnet", 64), ("resnet18", 512)])
def test_models_give_features_of_the_stated_size(tiny_cfg, arch, dim):
    cfg = tiny_cfg.with_(arch=arch, width=8, image_size=16)
    model = build_model(cfg, in_channels=1)
    x = torch.randn(3, 1, 16, 16)
    assert model.features(x).shape == (3, dim)
    assert model(x).shape == (3, cfg.n_classes)
