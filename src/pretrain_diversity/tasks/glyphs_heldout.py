"""``glyphs-heldout``: 100-way classification of glyph classes no pre-training run may draw.

The in-kind transfer task, like probing ImageNet features on new object classes: the classes are
the held-out side of the fixed pool split (``pool.glyph_split``).
"""

from __future__ import annotations

import torch

from pretrain_diversity.data.glyphs import load_bank
from pretrain_diversity.data.pool import DATA_VERSION, cache_key, cached_images, glyph_split
from pretrain_diversity.data.sampling import ImageSet, render
from pretrain_diversity.tasks.probe_task import TASK_SEED, ProbeTask, as_sets

GLYPH_SPLIT = (10, 10, 30)  # train / val / test images per class


def glyphs_heldout(size: int) -> ProbeTask:
    bank = load_bank()
    classes = glyph_split(bank.n_classes).heldout
    per = sum(GLYPH_SPLIT)

    def make() -> ImageSet:
        g = torch.Generator().manual_seed(TASK_SEED)
        labels = torch.arange(len(classes)).repeat_interleave(per)
        return ImageSet(render(bank, classes[labels.numpy()], size, g), labels, classes)

    full = cached_images(cache_key("glyphs-heldout", DATA_VERSION, bank.fingerprint, size), make)
    n = len(classes)
    within = torch.arange(len(full)) % per
    parts = [
        torch.nonzero(m).squeeze(1)
        for m in (
            within < GLYPH_SPLIT[0],
            (within >= GLYPH_SPLIT[0]) & (within < GLYPH_SPLIT[0] + GLYPH_SPLIT[1]),
            within >= GLYPH_SPLIT[0] + GLYPH_SPLIT[1],
        )
    ]
    tr, va, te = as_sets(full.images, full.labels, classes, parts)
    return ProbeTask(
        "glyphs-heldout", tr, va, te,
        f"{n}-way held-out glyph classes, {GLYPH_SPLIT[0]}/{GLYPH_SPLIT[1]}/{GLYPH_SPLIT[2]} "
        "train/val/test per class",
    )  # fmt: skip


def glyphs_heldout_pool(size: int, per: int) -> ImageSet:
    """``per`` fresh images of every held-out class (another seed than the task's own splits):
    the train pool that few-shot transfer draws its k-shot subsets from."""
    bank = load_bank()
    classes = glyph_split(bank.n_classes).heldout
    labels = torch.arange(len(classes)).repeat_interleave(per)

    def make() -> ImageSet:
        g = torch.Generator().manual_seed(TASK_SEED + 1)
        return ImageSet(render(bank, classes[labels.numpy()], size, g), labels, classes)

    return cached_images(cache_key("glyphs-heldout-pool", DATA_VERSION, bank.fingerprint, size, per), make)
