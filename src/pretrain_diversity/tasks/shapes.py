"""``shapes``: ten procedural geometric shapes, a task of a different kind from characters.

Filled / outlined discs, squares, triangles, a star, a plus, a ring, bars and a crescent, each at
a random pose, size and contrast, with clutter strokes and noise.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from pretrain_diversity.data.pool import DATA_VERSION, cache_key, cached_images
from pretrain_diversity.data.sampling import ImageSet
from pretrain_diversity.tasks.probe_task import TASK_SEED, ProbeTask, as_sets, split_per_class

SHAPES_RENDER_VERSION = 3  # joins the cache key: bump when render_shapes draws differently

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

    full = cached_images(cache_key("shapes", DATA_VERSION, SHAPES_RENDER_VERSION, size), make)
    parts = split_per_class(full.labels.numpy(), SHAPES_SPLIT[:2], np.random.default_rng(TASK_SEED))
    tr, va, te = as_sets(full.images, full.labels, full.class_ids, parts)
    return ProbeTask(
        "shapes", tr, va, te,
        f"10 procedural shapes, {SHAPES_SPLIT[0]}/{SHAPES_SPLIT[1]}/{SHAPES_SPLIT[2]} "
        "train/val/test per class",
    )  # fmt: skip


def shapes_pool(size: int, per: int) -> ImageSet:
    """``per`` fresh images of every shape (another seed than the task's own splits): the train
    pool that few-shot transfer draws its k-shot subsets from."""
    classes = np.arange(len(SHAPE_NAMES))
    labels = torch.arange(len(classes)).repeat_interleave(per)

    def make() -> ImageSet:
        g = torch.Generator().manual_seed(TASK_SEED + 1)
        return ImageSet(render_shapes(labels, size, g), labels, classes)

    key = cache_key("shapes-pool", DATA_VERSION, SHAPES_RENDER_VERSION, size, per)
    return cached_images(key, make)
