"""Drawing images from the glyph bank: batched tensor ops, seeded, no per-sample Python.

A sample of class c is one of c's base renders (a random font variant) under a random nuisance:
stroke thickening or thinning, an affine warp (rotation, scale, shear, translation), contrast and
noise. Everything is drawn from one ``torch.Generator`` in a fixed order, so the same seed gives
the same images on any machine.

``two_step_sample`` is Zhang et al.'s sampling model: draw K classes from the pre-training pool,
then n images from each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .glyphs import BASE_SIZE, GlyphBank


@dataclass(frozen=True)
class Nuisance:
    """Ranges of the per-sample nuisance; the defaults keep a glyph recognisable."""

    rotation_deg: float = 12.0
    log_scale: float = 0.15  # scale drawn log-uniformly in [e^-s, e^s]
    shear: float = 0.15
    translate: float = 0.08  # fraction of the image side, each axis
    p_thin: float = 0.2  # stroke thinning (erosion) probability
    p_thick: float = 0.3  # stroke thickening (dilation) probability
    contrast: tuple[float, float] = (0.6, 1.0)
    background: tuple[float, float] = (0.0, 0.15)
    noise_std: tuple[float, float] = (0.0, 0.08)


DEFAULT_NUISANCE = Nuisance()


@dataclass
class ImageSet:
    """Images as one uint8 tensor [N, C, H, W] and integer labels [N] (airbench style)."""

    images: torch.Tensor
    labels: torch.Tensor
    class_ids: np.ndarray  # label -> global class index in the source data set

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def n_classes(self) -> int:
        return len(self.class_ids)

    def to(self, device) -> ImageSet:
        return ImageSet(self.images.to(device), self.labels.to(device), self.class_ids)

    def subset(self, index: torch.Tensor) -> ImageSet:
        return ImageSet(self.images[index], self.labels[index], self.class_ids)


def _uniform(g: torch.Generator, n: int, lo: float, hi: float) -> torch.Tensor:
    return torch.rand(n, generator=g) * (hi - lo) + lo


def _affine(g: torch.Generator, m: int, nz: Nuisance) -> torch.Tensor:
    """[m, 2, 3] matrices for ``affine_grid`` (output -> input coordinates)."""
    rot = _uniform(g, m, -nz.rotation_deg, nz.rotation_deg) * math.pi / 180
    scale = torch.exp(_uniform(g, m, -nz.log_scale, nz.log_scale))
    shear = _uniform(g, m, -nz.shear, nz.shear)
    tx = _uniform(g, m, -nz.translate, nz.translate) * 2
    ty = _uniform(g, m, -nz.translate, nz.translate) * 2
    cos, sin = torch.cos(rot), torch.sin(rot)
    # forward map A = R @ Sh @ S; affine_grid wants its inverse (output pixel -> input pixel)
    a = torch.stack([cos, -sin, sin, cos], -1).view(m, 2, 2)
    sh = torch.stack([torch.ones(m), shear, torch.zeros(m), torch.ones(m)], -1).view(m, 2, 2)
    fwd = a @ sh * scale.view(m, 1, 1)
    inv = torch.linalg.inv(fwd)
    t = torch.stack([tx, ty], -1).unsqueeze(-1)
    return torch.cat([inv, -inv @ t], dim=-1)


def render(
    bank: GlyphBank,
    class_index: np.ndarray | torch.Tensor,
    size: int,
    generator: torch.Generator,
    nuisance: Nuisance = DEFAULT_NUISANCE,
    chunk: int = 8192,
) -> torch.Tensor:
    """uint8 [M, 1, size, size]: one fresh sample of each listed class (indices into the bank)."""
    cls = torch.as_tensor(np.asarray(class_index), dtype=torch.long)
    offsets = torch.as_tensor(bank.offsets)
    base = torch.as_tensor(bank.images)
    m = len(cls)
    counts = offsets[cls + 1] - offsets[cls]
    variant = offsets[cls] + (torch.rand(m, generator=generator) * counts).long().clamp_max(counts - 1)
    u_stroke = torch.rand(m, generator=generator)
    theta = _affine(generator, m, nuisance)
    contrast = _uniform(generator, m, *nuisance.contrast)
    bg = _uniform(generator, m, *nuisance.background)
    noise_std = _uniform(generator, m, *nuisance.noise_std)
    warp_size = max(size, BASE_SIZE)
    out = torch.empty(m, 1, size, size, dtype=torch.uint8)
    for s in range(0, m, chunk):
        e = min(s + chunk, m)
        x = base[variant[s:e]].unsqueeze(1).float().div_(255)
        thick = F.max_pool2d(x, 3, 1, 1)
        thin = -F.max_pool2d(-x, 3, 1, 1)
        u = u_stroke[s:e].view(-1, 1, 1, 1)
        x = torch.where(u < nuisance.p_thin, thin, torch.where(u > 1 - nuisance.p_thick, thick, x))
        grid = F.affine_grid(theta[s:e], [e - s, 1, warp_size, warp_size], align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        if warp_size != size:
            x = F.interpolate(x, size=(size, size), mode="area")
        b = bg[s:e].view(-1, 1, 1, 1)
        x = b + (contrast[s:e].view(-1, 1, 1, 1) - b) * x
        noise = torch.randn(x.shape, generator=generator)
        x = x + noise * noise_std[s:e].view(-1, 1, 1, 1)
        out[s:e] = x.clamp_(0, 1).mul_(255).round_().to(torch.uint8)
    return out


def two_step_sample(
    bank: GlyphBank,
    pool: np.ndarray,
    n_classes: int,
    samples_per_class: int,
    size: int,
    seed: int,
    nuisance: Nuisance = DEFAULT_NUISANCE,
) -> ImageSet:
    """Draw K classes from ``pool`` without replacement, then n images of each (label-major)."""
    if not 1 <= n_classes <= len(pool):
        raise ValueError(f"n_classes={n_classes} must be in 1..{len(pool)} (the pool size)")
    g = torch.Generator().manual_seed(seed)
    chosen = np.asarray(pool)[torch.randperm(len(pool), generator=g)[:n_classes].numpy()]
    labels = torch.arange(n_classes).repeat_interleave(samples_per_class)
    images = render(bank, chosen[labels.numpy()], size, g, nuisance)
    return ImageSet(images, labels, chosen)


def two_step_indices(
    labels: np.ndarray, n_classes: int, samples_per_class: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two-step sampling on a fixed data set, as an index mask (for real data: no copies).

    The pool is every class present in ``labels``. Draw K classes by a seeded permutation of the
    pool, then n indices of each class by a seeded permutation within the class. Returns
    ``(index, new_labels, chosen)``: positions into the data set (label-major), labels 0..K-1, and
    the source class of each new label. The generator is consumed in an order that depends on
    the class sizes only, so for one seed the draws are nested: the classes of K are the first K
    of the classes of any larger K, and the images of n the first n of any larger n.
    """
    labels = np.asarray(labels)
    pool = np.unique(labels)
    if not 1 <= n_classes <= len(pool):
        raise ValueError(f"n_classes={n_classes} must be in 1..{len(pool)} (the pool size)")
    g = torch.Generator().manual_seed(seed)
    chosen = pool[torch.randperm(len(pool), generator=g)[:n_classes].numpy()]
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], chosen)
    ends = np.searchsorted(labels[order], chosen, side="right")
    index = []
    for c, s, e in zip(chosen, starts, ends):
        if e - s < samples_per_class:
            raise ValueError(
                f"class {c} has {e - s} images, fewer than samples_per_class={samples_per_class}"
            )
        members = order[s:e]
        index.append(members[torch.randperm(e - s, generator=g)[:samples_per_class].numpy()])
    new_labels = np.repeat(np.arange(n_classes), samples_per_class)
    return np.concatenate(index), new_labels, chosen
