"""``digits``: the real handwritten digits (8x8 scans) that ship with scikit-learn, few-shot."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from pretrain_diversity.tasks.probe_task import TASK_SEED, ProbeTask, as_sets, split_per_class

DIGITS_SPLIT = (10, 10)  # train / val per class; the remaining ~160 per class are test


def digits(size: int) -> ProbeTask:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.as_tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0  # ink is high
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    images = x.clamp(0, 1).mul(255).round().to(torch.uint8)
    labels = torch.as_tensor(d.target, dtype=torch.long)
    parts = split_per_class(d.target, DIGITS_SPLIT, np.random.default_rng(TASK_SEED))
    tr, va, te = as_sets(images, labels, np.arange(10), parts)
    return ProbeTask(
        "digits", tr, va, te,
        f"scikit-learn handwritten digits (1797 real 8x8 scans), {DIGITS_SPLIT[0]}/"
        f"{DIGITS_SPLIT[1]} train/val per class, {len(te)} test",
    )  # fmt: skip


def digits_pool_split(std: ProbeTask, per: int) -> tuple:
    """(pool, test): the standard task's large test split cut in two, ``per`` images per class
    into a train pool for few-shot transfer and the rest kept as test."""
    test_labels = std.test.labels.numpy()
    pool_idx, _, test_idx = split_per_class(
        test_labels, (per, 0), np.random.default_rng(TASK_SEED + 1)
    )
    return std.test.subset(torch.as_tensor(pool_idx)), std.test.subset(torch.as_tensor(test_idx))
