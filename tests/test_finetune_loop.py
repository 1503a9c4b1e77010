"""Fine-tuning runs through the one SGD loop (training.sgd) and still computes what it did.

The reference is the fine-tuning code as it was before (its own loop), loaded from git history
at ``BEFORE_ONE_LOOP`` together with the training module it imported from.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from old_code import module_at
import torch

from pretrain_diversity.evaluation import transfer
from pretrain_diversity.models.backbones import ConvNet
from pretrain_diversity.tasks.registry import transfer_task

ROOT = Path(__file__).resolve().parents[1]
BEFORE_ONE_LOOP = "f5dea64"


def _from_git(path: str, name: str, replace: dict[str, str] | None = None):
    """Module ``name`` executed from ``path`` as it was at BEFORE_ONE_LOOP (None if no git)."""
    return module_at(BEFORE_ONE_LOOP, path, name, replace=replace, keep=True)


@pytest.fixture(scope="module")
def old_transfer():
    names = ["_old_backbones", "_old_loop", "_old_transfer"]
    old_imports = {
        "from pretrain_diversity.models.backbones import": "from pretrain_diversity._old_backbones import",
        "from pretrain_diversity.training.loop import": "from pretrain_diversity._old_loop import",
    }
    try:
        if _from_git("src/pretrain_diversity/models/backbones.py", "pretrain_diversity._old_backbones") is None:
            pytest.skip("git history not available")
        _from_git("src/pretrain_diversity/training/loop.py", "pretrain_diversity._old_loop", old_imports)
        yield _from_git("src/pretrain_diversity/evaluation/transfer.py",
                        "pretrain_diversity._old_transfer", old_imports)  # fmt: skip
    finally:
        for name in names:
            sys.modules.pop(f"pretrain_diversity.{name}", None)


def _weights_at_marks(module, monkeypatch, *args, **kwargs):
    """Run ``module.finetune_once``, recording the network's weights at each validation mark."""
    states = []

    def record(net, s, device):
        states.append({k: v.detach().clone() for k, v in net.state_dict().items()})
        return float(len(states))

    monkeypatch.setattr(module, "_errors", record)
    out = module.finetune_once(*args, **kwargs)
    return out, states


def test_finetuning_through_the_one_loop_is_bit_identical_on_cpu(old_transfer, monkeypatch):
    task = transfer_task("shapes", 8)
    train = task.train.subset(torch.arange(0, len(task.train), 7))  # 72 images, 10 classes
    torch.manual_seed(0)
    backbone = ConvNet(1, width=4)
    head = (torch.randn(10, backbone.feature_dim).numpy() * 0.1, torch.zeros(10).numpy())
    settings = transfer.FinetuneSettings(lrs=(0.05,), min_steps=10, max_steps=10, batch_size=16)
    old_settings = old_transfer.FinetuneSettings(lrs=(0.05,), min_steps=10, max_steps=10,
                                                 batch_size=16)  # fmt: skip
    new, new_states = _weights_at_marks(transfer, monkeypatch, backbone, task, train, 0.05, 3,
                                        "cpu", settings, head_init=head)  # fmt: skip
    old, old_states = _weights_at_marks(old_transfer, monkeypatch, backbone, task, train, 0.05, 3,
                                        "cpu", old_settings, head_init=head)  # fmt: skip
    assert [s for s, _, _ in new] == [s for s, _, _ in old] == [2, 5, 8, 10]
    assert len(new_states) == len(old_states) == 8  # val and test at each of the 4 marks
    for a, b in zip(new_states, old_states):
        assert a.keys() == b.keys()
        for k in a:
            assert torch.equal(a[k], b[k]), k
    # and the weights did move: the comparison is not between two untouched copies
    first = new_states[0]["0.stem.0.weight"]
    assert not torch.equal(first, backbone.state_dict()["stem.0.weight"])
