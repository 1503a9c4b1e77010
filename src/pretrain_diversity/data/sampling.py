"""Drawing images from the glyph bank: batched tensor ops, seeded, no per-sample Python.

A sample of class c is one of c's base renders (a random font variant) under a random nuisance:
stroke thickening or thinning, an affine warp (rotation, scale, shear, translation), contrast and
noise. Everything is drawn from one ``torch.Generator`` in a fixed order, so the same seed gives
the same images on any machine.

Intra-class variety (``styles_per_class`` = V, see ``render_styled``): each class owns V latent
*styles*; a style fixes the font variant, a continuous stroke weight, a slant, an aspect ratio and
a smooth elastic warp. A style's parameters are a pure function of (run seed, class, style index),
computed with a counter-based hash, so they are properties of the class within a run, identical in
every run of that seed whatever its K or n. Sample j of a class wears style j mod V, then gets the
per-sample nuisance (affine, contrast, background, noise). ``UNBOUNDED_STYLES`` (V = 0) gives every
sample a fresh style. V = None is the sampler above (``render``), unchanged.

``two_step_sample`` is Zhang et al.'s sampling model: draw K classes from the pre-training pool,
then n images from each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from pretrain_diversity.data.glyphs import BASE_SIZE, GlyphBank


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

UNBOUNDED_STYLES = 0  # styles_per_class = 0: a fresh style for every sample (V = infinity)


@dataclass(frozen=True)
class StyleRanges:
    """What a latent style of a class may be; each parameter is drawn once per (class, style).

    Chosen by eye (``book/data.md`` shows them) so that every style stays readable as its glyph.
    """

    stroke: tuple[float, float] = (-0.5, 1.0)  # < 0 eroded (by half at most: thin fonts vanish), > 0 dilated
    slant: float = 0.3  # horizontal shear x += slant * y, uniform in [-slant, slant]
    log_aspect: float = 0.2  # width stretch, log-uniform in [e^-s, e^s]
    warp: float = 0.08  # std of the elastic displacement at each control point (image = [-1, 1])
    warp_grid: int = 4  # control points per side of the smooth displacement field

    @property
    def n_uniforms(self) -> int:
        """Uniform numbers one style consumes: font, stroke, slant, aspect, 2 x grid^2 warps."""
        return 4 + 2 * self.warp_grid**2


DEFAULT_STYLES = StyleRanges()


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


def _finish(x, size, bg, contrast, noise_std, generator) -> torch.Tensor:
    """Warped ink in [0, 1] -> uint8 image: downsample, contrast over background, pixel noise.

    Shared by ``render`` and ``render_styled`` so both end with the same (seeded) draws.
    """
    if x.shape[-1] != size:
        x = F.interpolate(x, size=(size, size), mode="area")
    b = bg.view(-1, 1, 1, 1)
    x = b + (contrast.view(-1, 1, 1, 1) - b) * x
    noise = torch.randn(x.shape, generator=generator)
    x = x + noise * noise_std.view(-1, 1, 1, 1)
    return x.clamp_(0, 1).mul_(255).round_().to(torch.uint8)


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
        out[s:e] = _finish(x, size, bg[s:e], contrast[s:e], noise_std[s:e], generator)
    return out


# ------------------------------------------------------------------------ intra-class styles
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_STYLE_DOMAIN = np.uint64(0x5354594C45535631)  # "STYLESV1": keeps style draws apart from others


def _splitmix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's output function on uint64 arrays (wrap-around arithmetic)."""
    z = z + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def style_uniforms(seed: int, class_index, style_index, n: int) -> torch.Tensor:
    """float64 [M, n] in (0, 1): the uniforms of style ``style_index[i]`` of class ``class_index[i]``.

    A counter-based hash of (seed, class, style, k), so equal triples give equal numbers no matter
    which other samples are drawn, in what order or how many: a style is a fixed property of its
    class under a seed, and computing it per sample is the same as looking it up.
    """
    cls = np.asarray(class_index, dtype=np.int64).astype(np.uint64)
    sty = np.asarray(style_index, dtype=np.int64).astype(np.uint64)
    with np.errstate(over="ignore"):
        key = _splitmix(_splitmix(np.uint64(seed) ^ _STYLE_DOMAIN) ^ cls)
        key = _splitmix(key ^ sty)
        z = _splitmix(key[:, None] + np.arange(n, dtype=np.uint64)[None, :] * _GOLDEN)
    u = ((z >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53
    return torch.from_numpy(u)


@dataclass
class Styles:
    """Per-sample style parameters (a sample's style looked up; rows repeat within a style)."""

    variant: torch.Tensor  # long [M]: row of the bank
    stroke: torch.Tensor  # [M] in stroke range: < 0 thinner, > 0 thicker
    slant: torch.Tensor  # [M]
    aspect: torch.Tensor  # [M]
    warp: torch.Tensor  # [M, 2, G, G]: displacement (x, y) at the control points


def draw_styles(
    bank: GlyphBank, class_index, style_index, seed: int, ranges: StyleRanges = DEFAULT_STYLES
) -> Styles:
    """The style parameters of (class, style) pairs under ``seed``; see ``style_uniforms``."""
    cls = torch.as_tensor(np.asarray(class_index), dtype=torch.long)
    u = style_uniforms(seed, cls.numpy(), np.asarray(style_index), ranges.n_uniforms)
    offsets = torch.as_tensor(bank.offsets)
    counts = offsets[cls + 1] - offsets[cls]
    variant = offsets[cls] + (u[:, 0] * counts).long().clamp_max(counts - 1)
    lo, hi = ranges.stroke
    stroke = (lo + (hi - lo) * u[:, 1]).float()
    slant = ((2 * u[:, 2] - 1) * ranges.slant).float()
    aspect = torch.exp((2 * u[:, 3] - 1) * ranges.log_aspect).float()
    gauss = torch.erfinv(2 * u[:, 4:] - 1) * math.sqrt(2)  # standard normal
    g = ranges.warp_grid
    warp = (gauss * ranges.warp).float().view(-1, 2, g, g)
    return Styles(variant, stroke, slant, aspect, warp)


def style_indices(samples_per_class: int, n_samples: int, styles_per_class: int) -> torch.Tensor:
    """Style of each sample of a label-major set: sample j of its class wears style j mod V.

    Every style of a class appears equally often (stratified uniform draws), so at n >= V all V
    styles are present; V = ``UNBOUNDED_STYLES`` gives sample j its own style j.
    """
    j = torch.arange(n_samples) % samples_per_class
    return j if styles_per_class == UNBOUNDED_STYLES else j % styles_per_class


def render_styled(
    bank: GlyphBank,
    class_index: np.ndarray | torch.Tensor,
    style_index: np.ndarray | torch.Tensor,
    size: int,
    generator: torch.Generator,
    seed: int,
    nuisance: Nuisance = DEFAULT_NUISANCE,
    ranges: StyleRanges = DEFAULT_STYLES,
    chunk: int = 8192,
) -> torch.Tensor:
    """uint8 [M, 1, size, size]: sample i is style ``style_index[i]`` of class ``class_index[i]``.

    The style (font variant, stroke weight, slant, aspect, elastic warp; ``draw_styles``) is fixed
    by (seed, class, style); the per-sample nuisance (the affine warp, contrast, background and noise
    of ``render``; no per-sample stroke change) comes from ``generator``. Geometry, from output
    pixel p back to the base render: the sample's inverse affine, then the style's inverse
    slant/aspect, then the elastic displacement d(q) read from the style's smooth field at that
    point q (bicubic between control points), so the warp moves with the glyph, not the frame.
    """
    st = draw_styles(bank, class_index, style_index, seed, ranges)
    base = torch.as_tensor(bank.images)
    m = len(st.variant)
    theta = _affine(generator, m, nuisance)
    contrast = _uniform(generator, m, *nuisance.contrast)
    bg = _uniform(generator, m, *nuisance.background)
    noise_std = _uniform(generator, m, *nuisance.noise_std)
    # style map S (glyph -> styled glyph): x' = aspect x + slant y, y' = y; compose its inverse
    ones, zeros = torch.ones(m), torch.zeros(m)
    s_inv = torch.stack([1 / st.aspect, -st.slant / st.aspect, zeros, ones], -1).view(m, 2, 2)
    theta = s_inv @ theta
    warp_size = max(size, BASE_SIZE)
    out = torch.empty(m, 1, size, size, dtype=torch.uint8)
    for s in range(0, m, chunk):
        e = min(s + chunk, m)
        x = base[st.variant[s:e]].unsqueeze(1).float().div_(255)
        thick = F.max_pool2d(x, 3, 1, 1)
        thin = -F.max_pool2d(-x, 3, 1, 1)
        w = st.stroke[s:e].view(-1, 1, 1, 1)
        x = torch.where(w < 0, x + (-w) * (thin - x), x + w * (thick - x))
        grid = F.affine_grid(theta[s:e], [e - s, 1, warp_size, warp_size], align_corners=False)
        d = F.grid_sample(st.warp[s:e], grid, mode="bicubic", padding_mode="border",
                          align_corners=True)
        grid = grid + d.permute(0, 2, 3, 1)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        out[s:e] = _finish(x, size, bg[s:e], contrast[s:e], noise_std[s:e], generator)
    return out


def seed_streams(
    pool_size: int, seed: int, class_seed: int | None, image_seed: int | None
) -> tuple[torch.Generator, torch.Generator]:
    """(class generator, image generator) of a two-step draw.

    Before these knobs one generator, seeded by ``seed``, drew the classes (a permutation of the
    pool) and then the images. The class generator is seeded by ``class_seed`` (else ``seed``);
    the image generator by ``image_seed`` (else ``seed``) and then advanced past one such
    permutation, so with both None it is exactly the old generator at the point the images
    began, and every earlier draw is reproduced bit for bit.
    """
    class_g = torch.Generator().manual_seed(seed if class_seed is None else class_seed)
    image_g = torch.Generator().manual_seed(seed if image_seed is None else image_seed)
    torch.randperm(pool_size, generator=image_g)  # the class draw's share of the old stream
    return class_g, image_g


def two_step_sample(
    bank: GlyphBank,
    pool: np.ndarray,
    n_classes: int,
    samples_per_class: int,
    size: int,
    seed: int,
    nuisance: Nuisance = DEFAULT_NUISANCE,
    styles_per_class: int | None = None,
    style_ranges: StyleRanges = DEFAULT_STYLES,
    class_seed: int | None = None,
    image_seed: int | None = None,
) -> ImageSet:
    """Draw K classes from ``pool`` without replacement, then n images of each (label-major).

    ``styles_per_class``: None draws each image from ``render`` (a random font variant and stroke,
    then the nuisance); V >= 1 gives each class V latent styles and 0 a fresh style per image
    (``render_styled``). The classes drawn do not depend on it.

    ``class_seed`` / ``image_seed`` (None = ``seed``) seed the two draws apart (``seed_streams``),
    so a study can vary which classes are drawn and which images of them one at a time.
    """
    if not 1 <= n_classes <= len(pool):
        raise ValueError(f"n_classes={n_classes} must be in 1..{len(pool)} (the pool size)")
    class_g, g = seed_streams(len(pool), seed, class_seed, image_seed)
    chosen = np.asarray(pool)[torch.randperm(len(pool), generator=class_g)[:n_classes].numpy()]
    labels = torch.arange(n_classes).repeat_interleave(samples_per_class)
    style_seed = seed if image_seed is None else image_seed
    if styles_per_class is None:
        images = render(bank, chosen[labels.numpy()], size, g, nuisance)
    else:
        style = style_indices(samples_per_class, len(labels), styles_per_class)
        images = render_styled(bank, chosen[labels.numpy()], style, size, g, style_seed, nuisance,
                               style_ranges)
    return ImageSet(images, labels, chosen)


def two_step_indices(
    labels: np.ndarray, n_classes: int, samples_per_class: int, seed: int,
    class_seed: int | None = None, image_seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Two-step sampling on a fixed data set, as an index mask (for real data: no copies).

    The pool is every class present in ``labels``. Draw K classes by a seeded permutation of the
    pool, then n indices of each class by a seeded permutation within the class. Returns
    ``(index, new_labels, chosen)``: positions into the data set (label-major), labels 0..K-1, and
    the source class of each new label. The generator is consumed in an order that depends on
    the class sizes only, so for one seed the draws are nested: the classes of K are the first K
    of the classes of any larger K, and the images of n the first n of any larger n.
    ``class_seed`` / ``image_seed`` seed the two draws apart, as in ``two_step_sample``.
    """
    labels = np.asarray(labels)
    pool = np.unique(labels)
    if not 1 <= n_classes <= len(pool):
        raise ValueError(f"n_classes={n_classes} must be in 1..{len(pool)} (the pool size)")
    class_g, g = seed_streams(len(pool), seed, class_seed, image_seed)
    chosen = pool[torch.randperm(len(pool), generator=class_g)[:n_classes].numpy()]
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
