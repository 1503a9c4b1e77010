"""Bad parameters fail before any work, with a message naming the parameter and allowed values."""

from __future__ import annotations

import pytest
import torch

from pretrain_diversity.config import ConfigError, RunConfig
from pretrain_diversity.data.pool import dataset_limits
from pretrain_diversity.runs.experiment import run_experiment
from pretrain_diversity.runs.validation import check

POOL, PER_CLASS = dataset_limits("glyphs")


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"n_classes": 0}, ["n_classes=0", "1 <= n_classes"]),
        ({"n_classes": -3}, ["n_classes=-3"]),
        ({"n_classes": POOL + 1}, [f"n_classes={POOL + 1}", f"<= {POOL}", "pool"]),
        ({"samples_per_class": 0}, ["samples_per_class=0"]),
        ({"samples_per_class": PER_CLASS + 1}, ["samples_per_class", f"<= {PER_CLASS}"]),
        ({"n_classes": 2.5}, ["n_classes must be an integer"]),
        ({"arch": "vgg"}, ["arch='vgg'", "convnet", "resnet18"]),
        ({"dataset": "imagenet-typo"}, ["dataset='imagenet-typo'", "glyphs"]),
        ({"device": "tpu"}, ["device='tpu'", "cpu", "cuda"]),
        ({"image_size": 20}, ["image_size=20", "16"]),
        ({"epochs": 0}, ["epochs=0"]),
        ({"lr": -1.0}, ["lr=-1.0"]),
        ({"probe_tasks": ("digits", "emnist")}, ["'emnist'", "glyphs-heldout"]),
        ({"probe_tasks": ()}, ["probe_tasks"]),
        ({"seed": -1}, ["seed=-1"]),
        ({"label_noise": 1.0}, ["label_noise=1.0", "0.95"]),
        ({"label_noise": -0.1}, ["label_noise=-0.1"]),
        ({"appearance": "sepia"}, ["appearance='sepia'", "negative", "outline"]),
        ({"method": "byol"}, ["method='byol'", "simclr", "clip"]),
        ({"method": "clip", "dataset": "cifar100", "probe_tasks": ("digits",)}, ["captions"]),
        ({"shots": (1, -5)}, ["shots entry=-5", "0 <= shots entry"]),
        ({"shots": (5, 5)}, ["shots has duplicates"]),
        ({"finetune": True}, ["finetune=True needs shots"]),
        ({"shots": (1, 60), "probe_tasks": ("glyphs-heldout",)},
         ["shots entry 60", "glyphs-heldout", "0 <= k <= 50"]),
        ({"shots": (1,), "probe_tasks": ("cifar10",)}, ["'cifar10'", "few-shot train pool"]),
    ],
)
def test_bad_parameters_are_named(changes, words):
    with pytest.raises(ConfigError) as err:
        check(RunConfig().with_(**changes))
    for w in words:
        assert w in str(err.value), (w, str(err.value))


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_on_a_machine_without_one():
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        check(RunConfig(device="cuda"))


def test_budget_must_be_divisible_by_classes():
    with pytest.raises(ConfigError, match="budget=1000 is not divisible by n_classes=3"):
        RunConfig.from_budget(1000, 3)
    cfg = RunConfig.from_budget(1024, 16)
    assert (cfg.n_classes, cfg.samples_per_class, cfg.budget) == (16, 64, 1024)


def test_notebook_parameters_become_a_config():
    cfg = RunConfig.from_parameters(
        {"n_classes": 10, "budget": 200, "samples_per_class": 32, "probe_tasks": "digits, shapes",
         "output_dir": "x", "unrelated": 1}
    )  # fmt: skip
    assert (cfg.n_classes, cfg.samples_per_class) == (10, 20)
    assert cfg.probe_tasks == ("digits", "shapes")


def test_run_id_ignores_execution_fields_only():
    base = RunConfig()
    assert base.run_id() == RunConfig(device="cuda", compile=True).run_id()
    assert base.run_id() != base.with_(seed=1).run_id()
    assert base.run_id() != base.with_(n_classes=499).run_id()
    assert RunConfig.from_dict(base.to_dict()) == base


def test_bad_run_leaves_nothing_behind(tmp_path):
    out = tmp_path / "runs"
    with pytest.raises(ConfigError):
        run_experiment(RunConfig(n_classes=0), out)
    assert not out.exists()


def test_few_shot_and_method_parameters_from_a_notebook():
    cfg = RunConfig.from_parameters({"shots": "1, 5,0", "finetune": True, "method": "supervised",
                                     "label_noise": 0.25})
    assert cfg.shots == (1, 5, 0) and cfg.finetune is True and cfg.label_noise == 0.25
    assert cfg.method is None  # "supervised" is the default objective: one run id for both
    assert cfg.run_id() == RunConfig(shots=(1, 5, 0), finetune=True, label_noise=0.25).run_id()
    assert RunConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="shots must be integers"):
        RunConfig.from_parameters({"shots": "1,five"})


def test_new_fields_left_unset_keep_old_run_ids():
    """Runs stored before the transfer fields existed must keep their folders."""
    ident = RunConfig().identity()
    for f in ("label_noise", "appearance", "method", "shots", "finetune"):
        assert f not in ident
