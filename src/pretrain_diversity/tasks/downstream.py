"""Downstream tasks for linear probing, all disjoint from the pre-training pool.

- ``glyphs-heldout``: 100-way classification of glyph classes no pre-training run may draw
  (the in-kind transfer task, like probing ImageNet features on new object classes).
- ``digits``: the real handwritten digits (8x8 scans) that ship with scikit-learn, few-shot.
- ``shapes``: ten procedural geometric shapes (filled / outlined discs, squares, triangles, a
  star, a plus, a ring, bars), a task of a different kind from character recognition.

Every task has train / val / test splits; the probe's regularisation is chosen on val and the
error reported on test. The splits are fixed (``TASK_SEED``), not drawn per run, so runs of one
study are evaluated on exactly the same images.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from pretrain_diversity.config import REAL_IMAGE_PROBE_TASKS
from pretrain_diversity.data.pool import DATA_VERSION, _key, cached_images, glyph_split
from pretrain_diversity.data.glyphs import load_bank
from pretrain_diversity.data.sampling import ImageSet, render

TASK_SEED = 7


@dataclass
class ProbeTask:
    name: str
    train: ImageSet
    val: ImageSet
    test: ImageSet
    description: str

    @property
    def n_classes(self) -> int:
        return self.train.n_classes

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}

    def with_channels(self, channels: int) -> ProbeTask:
        """The same task with images of ``channels`` channels, to match a pre-trained model:
        grey images are repeated into RGB, RGB images become grey by ITU-R 601 luma."""
        return ProbeTask(
            self.name,
            *(ImageSet(match_channels(s.images, channels), s.labels, s.class_ids)
              for s in (self.train, self.val, self.test)),
            self.description,
        )  # fmt: skip


def match_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    """uint8 [N, C, H, W] with C in (1, 3) -> [N, channels, H, W]."""
    c = images.shape[1]
    if c == channels:
        return images
    if c == 1 and channels == 3:
        return images.expand(-1, 3, -1, -1).contiguous()
    if c == 3 and channels == 1:
        w = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        return (images.float() * w).sum(1, keepdim=True).round().clamp(0, 255).to(torch.uint8)
    raise ValueError(f"cannot convert {c}-channel images to {channels} channels")


def _split_per_class(labels: np.ndarray, counts: tuple[int, int], rng) -> tuple[np.ndarray, ...]:
    """Index arrays (train, val, test): the first counts per class go to train and val."""
    tr, va, te = [], [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        tr.append(idx[: counts[0]])
        va.append(idx[counts[0] : counts[0] + counts[1]])
        te.append(idx[counts[0] + counts[1] :])
    return tuple(np.sort(np.concatenate(p)) for p in (tr, va, te))


def _as_sets(images: torch.Tensor, labels: torch.Tensor, class_ids, parts) -> list[ImageSet]:
    return [ImageSet(images[p], labels[p], np.asarray(class_ids)) for p in parts]


# ----------------------------------------------------------------------------- glyphs
GLYPH_SPLIT = (10, 10, 30)  # train / val / test images per class


def glyphs_heldout(size: int) -> ProbeTask:
    bank = load_bank()
    classes = glyph_split(bank.n_classes).heldout
    per = sum(GLYPH_SPLIT)

    def make() -> ImageSet:
        g = torch.Generator().manual_seed(TASK_SEED)
        labels = torch.arange(len(classes)).repeat_interleave(per)
        return ImageSet(render(bank, classes[labels.numpy()], size, g), labels, classes)

    full = cached_images(_key("glyphs-heldout", DATA_VERSION, bank.fingerprint, size), make)
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
    tr, va, te = _as_sets(full.images, full.labels, classes, parts)
    return ProbeTask(
        "glyphs-heldout", tr, va, te,
        f"{n}-way held-out glyph classes, {GLYPH_SPLIT[0]}/{GLYPH_SPLIT[1]}/{GLYPH_SPLIT[2]} "
        "train/val/test per class",
    )  # fmt: skip


# ----------------------------------------------------------------------------- digits
DIGITS_SPLIT = (10, 10)  # train / val per class; the remaining ~160 per class are test


def digits(size: int) -> ProbeTask:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.as_tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0  # ink is high
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    images = x.clamp(0, 1).mul(255).round().to(torch.uint8)
    labels = torch.as_tensor(d.target, dtype=torch.long)
    parts = _split_per_class(d.target, DIGITS_SPLIT, np.random.default_rng(TASK_SEED))
    tr, va, te = _as_sets(images, labels, np.arange(10), parts)
    return ProbeTask(
        "digits", tr, va, te,
        f"scikit-learn handwritten digits (1797 real 8x8 scans), {DIGITS_SPLIT[0]}/"
        f"{DIGITS_SPLIT[1]} train/val per class, {len(te)} test",
    )  # fmt: skip


# ----------------------------------------------------------------------------- shapes
SHAPE_NAMES = (
    "disc", "ring", "square", "square outline", "triangle",
    "triangle outline", "star", "plus", "bars", "crescent",
)  # fmt: skip
SHAPES_SPLIT = (5, 10, 50)


def _shape_sdf(name: str, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Signed distance-like field (< 0 inside) of a unit-sized shape centred at the origin."""
    r = torch.sqrt(x**2 + y**2)
    box = torch.maximum(x.abs(), y.abs())
    # equilateral triangle pointing up, inscribed in radius 1
    tri = torch.maximum(torch.maximum(-y - 0.5, 0.866 * x + 0.5 * y - 0.5), -0.866 * x + 0.5 * y - 0.5)
    if name == "disc":
        return r - 0.8
    if name == "ring":
        return (r - 0.65).abs() - 0.15
    if name == "square":
        return box - 0.7
    if name == "square outline":
        return (box - 0.6).abs() - 0.12
    if name == "triangle":
        return tri
    if name == "triangle outline":
        return (tri + 0.15).abs() - 0.12
    if name == "star":
        ang = torch.atan2(y, x)
        return r - (0.45 + 0.4 * torch.cos(5 * ang).clamp(min=0) ** 2)
    if name == "plus":
        return torch.minimum(
            torch.maximum(x.abs() - 0.2, y.abs() - 0.8), torch.maximum(x.abs() - 0.8, y.abs() - 0.2)
        )
    if name == "bars":
        return torch.maximum(box - 0.8, 0.15 - ((y + 0.8) % 0.53 - 0.265).abs() - 0.02)
    if name == "crescent":
        return torch.maximum(r - 0.8, 0.65 - torch.sqrt((x - 0.35) ** 2 + y**2))
    raise ValueError(name)


def _segment_ink(xx, yy, g: torch.Generator, m: int, n_segments: int) -> torch.Tensor:
    """Clutter: ``n_segments`` random line strokes per image, as soft ink in [0, 1]."""
    ink = torch.zeros_like(xx)
    for _ in range(n_segments):
        p, q = (torch.rand(m, 2, generator=g) * 2 - 1 for _ in range(2))
        alpha = 0.3 + 0.5 * torch.rand(m, generator=g)
        d = q - p
        px, py = xx - p[:, 0].view(-1, 1, 1), yy - p[:, 1].view(-1, 1, 1)
        t = (px * d[:, 0].view(-1, 1, 1) + py * d[:, 1].view(-1, 1, 1)) / (d**2).sum(1).view(-1, 1, 1)
        t = t.clamp(0, 1)
        dist = torch.sqrt((px - t * d[:, 0].view(-1, 1, 1)) ** 2 + (py - t * d[:, 1].view(-1, 1, 1)) ** 2)
        ink = torch.maximum(ink, (dist < 0.06).float() * alpha.view(-1, 1, 1))
    return ink


def render_shapes(labels: torch.Tensor, size: int, g: torch.Generator) -> torch.Tensor:
    """uint8 [M, 1, size, size]: random pose, size, contrast, clutter strokes and noise."""
    m = len(labels)
    rot = (torch.rand(m, generator=g) - 0.5) * (math.pi / 4)
    scale = 0.45 + 0.45 * torch.rand(m, generator=g)
    shift = (torch.rand(m, 2, generator=g) - 0.5) * 0.7
    contrast = 0.5 + 0.5 * torch.rand(m, generator=g)
    noise = 0.03 + torch.rand(m, generator=g) * 0.12
    ss = 2 * size  # supersample, then area-downsample: smooth edges
    t = (torch.arange(ss) + 0.5) / ss * 2 - 1
    yy, xx = torch.meshgrid(t, t, indexing="ij")
    xx, yy = xx.expand(m, ss, ss), yy.expand(m, ss, ss)
    c, s = torch.cos(rot).view(-1, 1, 1), torch.sin(rot).view(-1, 1, 1)
    u = (xx - shift[:, 0].view(-1, 1, 1)) / scale.view(-1, 1, 1)
    v = (yy - shift[:, 1].view(-1, 1, 1)) / scale.view(-1, 1, 1)
    u, v = c * u + s * v, -s * u + c * v
    v = -v  # image rows grow downwards; shapes are defined with y up
    ink = torch.zeros(m, ss, ss)
    for k, name in enumerate(SHAPE_NAMES):
        sel = labels == k
        if sel.any():
            ink[sel] = (_shape_sdf(name, u[sel], v[sel]) < 0).float()
    ink = torch.maximum(ink * contrast.view(-1, 1, 1), _segment_ink(xx, yy, g, m, 1))
    x = F.avg_pool2d(ink.unsqueeze(1), 2)
    x = x + torch.randn(x.shape, generator=g) * noise.view(-1, 1, 1, 1)
    return x.clamp(0, 1).mul(255).round().to(torch.uint8)


def shapes(size: int) -> ProbeTask:
    per = sum(SHAPES_SPLIT)

    def make() -> ImageSet:
        g = torch.Generator().manual_seed(TASK_SEED)
        labels = torch.arange(len(SHAPE_NAMES)).repeat_interleave(per)
        return ImageSet(render_shapes(labels, size, g), labels, np.arange(len(SHAPE_NAMES)))

    full = cached_images(_key("shapes", DATA_VERSION, 3, size), make)
    parts = _split_per_class(full.labels.numpy(), SHAPES_SPLIT[:2], np.random.default_rng(TASK_SEED))
    tr, va, te = _as_sets(full.images, full.labels, full.class_ids, parts)
    return ProbeTask(
        "shapes", tr, va, te,
        f"10 procedural shapes, {SHAPES_SPLIT[0]}/{SHAPES_SPLIT[1]}/{SHAPES_SPLIT[2]} "
        "train/val/test per class",
    )  # fmt: skip


TASKS: dict[str, Callable[[int], ProbeTask]] = {
    "glyphs-heldout": glyphs_heldout,
    "digits": digits,
    "shapes": shapes,
}


def load_task(name: str, size: int, *, channels: int | None = None, data_root=None) -> ProbeTask:
    """Task ``name`` at ``size`` px: a glyph-family task (``TASKS``, embedded) or a real one
    (``realtasks.REAL_TASKS``, read from the data root). ``channels`` converts the images to
    match a model pre-trained on grey (1) or colour (3) images."""
    if name in TASKS:
        task = TASKS[name](size)
    elif name in REAL_IMAGE_PROBE_TASKS:
        from pretrain_diversity.tasks.real_images import load_real_image_task

        task = load_real_image_task(name, size)
    else:
        from pretrain_diversity.tasks.real import REAL_TASKS, load_real_task

        if name not in REAL_TASKS:
            allowed = ", ".join([*TASKS, *REAL_IMAGE_PROBE_TASKS, *REAL_TASKS])
            raise ValueError(f"unknown probe task {name!r}; allowed: {allowed}")
        task = load_real_task(name, size, data_root)
    return task.with_channels(channels) if channels else task


# ----------------------------------------------------------------------------- transfer splits
# Few-shot transfer (transfer.py) draws k images per class from a larger train *pool*. The val and
# test splits are those of the standard task where possible, so both protocols score the same
# test images: glyphs-heldout and shapes render a pool of fresh images of the same classes (other
# seed), digits moves half of its large test split into the pool.
TRANSFER_POOL = {"glyphs-heldout": 50, "shapes": 50, "digits": 80}


def transfer_task(name: str, size: int, *, channels: int | None = None) -> ProbeTask:
    """Task ``name`` with a train pool of about ``TRANSFER_POOL[name]`` images per class."""
    if name not in TRANSFER_POOL:
        allowed = ", ".join(TRANSFER_POOL)
        raise ValueError(f"few-shot transfer is defined on {allowed}; got probe task {name!r}")
    std = TASKS[name](size)
    per = TRANSFER_POOL[name]
    if name == "digits":
        test_labels = std.test.labels.numpy()
        pool_idx, _, test_idx = _split_per_class(test_labels, (per, 0), np.random.default_rng(TASK_SEED + 1))
        pool, test = std.test.subset(torch.as_tensor(pool_idx)), std.test.subset(torch.as_tensor(test_idx))
    else:
        classes = std.train.class_ids
        labels = torch.arange(len(classes)).repeat_interleave(per)

        def make() -> ImageSet:
            g = torch.Generator().manual_seed(TASK_SEED + 1)
            if name == "shapes":
                return ImageSet(render_shapes(labels, size, g), labels, classes)
            return ImageSet(render(load_bank(), classes[labels.numpy()], size, g), labels, classes)

        bank_tag = load_bank().fingerprint if name == "glyphs-heldout" else 3
        pool = cached_images(_key(f"{name}-pool", DATA_VERSION, bank_tag, size, per), make)
        test = std.test
    task = ProbeTask(
        name, pool, std.val, test,
        f"{std.n_classes}-way {name}: a pool of {len(pool)} train images "
        f"({len(pool) // std.n_classes} per class) for k-shot subsets, {len(std.val)} val, "
        f"{len(test)} test",
    )  # fmt: skip
    return task.with_channels(channels) if channels else task
