"""Few-shot transfer (Entezari et al.'s protocols): subsets, pools, probe and fine-tuning."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pretrain_diversity.config import RunConfig
from pretrain_diversity.tasks.registry import TRANSFER_POOL, transfer_task
from pretrain_diversity.runs.experiment import run_experiment
from pretrain_diversity.models.backbones import ConvNet
from pretrain_diversity.analysis.tables import rows_of, summarize
from pretrain_diversity.evaluation.transfer import (
    FinetuneSettings, fewshot_indices, finetune_shots, probe_shots,
)  # fmt: skip


def test_fewshot_subsets_have_k_per_class_without_replacement():
    labels = np.repeat(np.arange(7), 12)
    for k in (1, 5, 12):
        idx = fewshot_indices(labels, k, seed=3, task="t")
        assert len(np.unique(idx)) == len(idx) == 7 * k  # no image twice
        assert (np.bincount(labels[idx], minlength=7) == k).all()
    assert (fewshot_indices(labels, 0, seed=3) == np.arange(len(labels))).all()  # 0 = whole pool
    same = fewshot_indices(labels, 5, seed=3, task="t")
    assert (same == fewshot_indices(labels, 5, seed=3, task="t")).all()
    assert not np.array_equal(same, fewshot_indices(labels, 5, seed=4, task="t"))  # per seed
    assert not np.array_equal(same, fewshot_indices(labels, 5, seed=3, task="u"))  # per task
    with pytest.raises(ValueError, match="shots=13 but class"):
        fewshot_indices(labels, 13, seed=0)


@pytest.mark.parametrize("name", ["digits", "shapes"])
def test_transfer_pool_val_and_test_are_disjoint(name):
    task = transfer_task(name, 8)
    per_class = np.bincount(task.train.labels.numpy())
    assert (per_class == TRANSFER_POOL[name]).all()
    rows = {s: {bytes(x.numpy().tobytes()) for x in getattr(task, s).images}
            for s in ("train", "val", "test")}
    assert not rows["train"] & rows["test"] and not rows["train"] & rows["val"]
    assert not rows["val"] & rows["test"]
    assert len(task.test) >= 400 and len(task.val) == 10 * task.n_classes


def _random_features(task, dim=16, seed=0):
    g = np.random.default_rng(seed)
    return {s: g.normal(size=(len(getattr(task, s)), dim)) for s in ("train", "val", "test")}


def test_probe_chooses_on_val_and_reports_the_test_selected_score():
    task = transfer_task("shapes", 8)
    labels = {s: getattr(task, s).labels.numpy() for s in ("train", "val", "test")}
    # features that carry the label (plus noise): more shots must help
    feats = _random_features(task)
    for s in feats:
        feats[s][np.arange(len(labels[s])), labels[s]] += 1.5
    few, full = (probe_shots(feats, labels, k, 0, "shapes") for k in (1, 0))
    assert few["n_train"] == 10 and full["n_train"] == 500
    assert full["test_error"] < few["test_error"]
    for r in (few, full):
        assert r["test_error_testselected"] <= r["test_error"]  # the oracle can only flatter


def test_finetuning_beats_the_probe_on_an_easy_task():
    """Random (un-pre-trained) features probe badly on shapes; training them end to end fixes it."""
    task = transfer_task("shapes", 8)
    torch.manual_seed(0)
    backbone = ConvNet(1, width=4)
    from pretrain_diversity.evaluation.probe import extract_features
    from torch import nn

    model = nn.Module()
    model.features = backbone
    feats = {s: extract_features(model, getattr(task, s).images, "cpu") for s in ("train", "val", "test")}
    labels = {s: getattr(task, s).labels.numpy() for s in ("train", "val", "test")}
    probe = probe_shots(feats, labels, 0, 0, "shapes")
    ft = finetune_shots(backbone, task, 0, 0, "cpu", FinetuneSettings(lrs=(0.05,), epochs=15, max_steps=120))
    assert ft["n_train"] == 500 and "lr=0.05" in ft["chosen"]
    assert ft["test_error"] < probe["test_error"] - 0.1, (ft, probe)
    # fine-tuning trained a copy: the backbone itself is untouched
    assert (extract_features(model, task.test.images[:20], "cpu") == feats["test"][:20]).all()


@pytest.mark.parametrize("method", [None, "simclr", "clip"])
def test_a_transfer_run_records_every_task_protocol_and_k(method, tmp_path, monkeypatch):
    import pretrain_diversity.evaluation.transfer as transfer

    monkeypatch.setattr(transfer, "FINETUNE", FinetuneSettings(lrs=(0.02,), min_steps=8, max_steps=8))
    cfg = RunConfig(n_classes=8, samples_per_class=8, image_size=8, width=4, epochs=2.0,
                    batch_size=32, method=method, label_noise=0.25, probe_tasks=("digits", "shapes"),
                    shots=(1, 0), finetune=True)
    m = run_experiment(cfg, tmp_path, progress=False)
    tr = m["metrics"]["transfer"]
    assert set(tr) == {"digits", "shapes"} and m["metrics"]["probe"] == {}
    for res in tr.values():
        assert set(res) == {"probe", "finetune"}
        for by_k in res.values():
            assert set(by_k) == {"1", "0"}
            assert by_k["1"]["n_train"] == 10
    rows = rows_of(m)
    assert len(rows) == 2 * 2 * 2 and {r["protocol"] for r in rows} == {"probe", "finetune"}
    import pandas as pd

    table = summarize(pd.DataFrame(rows))
    assert {"protocol", "k", "test_error_testselected_mean"} <= set(table.columns)
    assert np.isfinite(m["history"]["loss"]).all()


def test_finetuning_length_follows_the_subset_within_bounds():
    s = FinetuneSettings(epochs=8, min_steps=100, max_steps=400, batch_size=64)
    assert s.steps(100) == 100 and s.steps(1000) == 125 and s.steps(5000) == 400 and s.steps(10) == 100


def test_probe_head_folded_for_finetuning_predicts_like_the_probe():
    """The head handed to fine-tuning (standardisation folded in) is the probe itself."""
    task = transfer_task("shapes", 8)
    labels = {s: getattr(task, s).labels.numpy() for s in ("train", "val", "test")}
    feats = _random_features(task)
    for s in feats:
        feats[s][np.arange(len(labels[s])), labels[s]] += 1.5
    heads: list = []
    res = probe_shots(feats, labels, 0, 0, "shapes", head=heads)
    w, b = heads[0]
    pred = (feats["test"] @ w.T + b).argmax(1)
    assert np.mean(pred != labels["test"]) == pytest.approx(res["test_error"], abs=1e-9)
