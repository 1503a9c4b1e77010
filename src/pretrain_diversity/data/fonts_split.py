"""The font source as a pre-training set: which faces and characters pre-training may use, the
per-class variety table, and the K x n draw of a run.

Faces are split once, by a fixed seed, into pre-training faces and held-out faces; the unit is
the *family* (all weights and slants of one design go to the same side), drawn separately among
families that draw Han characters and those that do not, so both sides have both kinds. The
characters are split the same way: HELDOUT_CHARS of them (among those with at least
MIN_HELDOUT_FACES held-out faces) are reserved for the ``chars-heldout-faces`` probe task and no
pre-training run draws them, in any face. A pre-training class's images are its renders in the
pre-training faces only.

Two-step sampling as for the glyphs: K classes from the pool (a seeded permutation), then n images
per class. Image j of a class is its render in face ``perm[j]`` (a seeded permutation of the
class's faces) while faces last, so the first n images are n distinct designs; beyond the class's
face count F, images are drawn with replacement from its faces. At n > F a class therefore holds
repeats of its F designs, and only the training loop's random shifts tell copies apart: the real
ceiling on a class's variety, visible in ``face_counts``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from pretrain_diversity.config import ConfigError, RunConfig
from pretrain_diversity.data.fonts import FontBank, load_font_bank
from pretrain_diversity.data.fonts_charset import script_of
from pretrain_diversity.data.real.decode import resize_uint8
from pretrain_diversity.data.sampling import ImageSet

FONT_SPLIT_SEED = 20231201  # fixed: the face and character splits never move with a run's seed
HELDOUT_FACE_FRAC = 0.25  # of the families in each stratum (Han-drawing or not); at least one
HELDOUT_CHARS = 100
MIN_HELDOUT_FACES = 2
HAN_FACE_MIN = 500  # a face drawing this many Han characters counts as a Han face
FONTS_MAX_PER_CLASS = 10_000  # n beyond a class's faces repeats designs; this caps memory


@dataclass(frozen=True)
class FontSplit:
    heldout_face: np.ndarray  # bool [faces]: face reserved for the held-out task
    pool: np.ndarray  # class indices pre-training may draw (>= 1 pre-training face each)
    heldout: np.ndarray  # class indices reserved for the held-out task


def split_faces(bank: FontBank, seed: int = FONT_SPLIT_SEED) -> np.ndarray:
    """bool [faces]: which faces are held out (whole families, stratified by Han coverage)."""
    cls = np.repeat(np.arange(bank.n_classes), bank.variants_per_class)
    is_han = np.array([script_of(c) == "han" for c in bank.codepoints])
    han_renders = np.bincount(bank.render_face[is_han[cls]], minlength=len(bank.faces))
    drawn = np.bincount(bank.render_face, minlength=len(bank.faces)) > 0
    held = np.zeros(len(bank.faces), bool)
    rng = np.random.default_rng(seed)
    for han in (False, True):
        members = [f for f in range(len(bank.faces))
                   if drawn[f] and (han_renders[f] >= HAN_FACE_MIN) == han]
        families = sorted({bank.faces[f].family for f in members})
        # round half up, and hold out one family of any stratum that has two or more
        n_held = int(np.floor(HELDOUT_FACE_FRAC * len(families) + 0.5))
        n_held = max(n_held, 1) if len(families) >= 2 else 0
        chosen = {families[i] for i in rng.permutation(len(families))[:n_held]}
        held[[f for f in members if bank.faces[f].family in chosen]] = True
    return held


def per_class_faces(bank: FontBank, faces: np.ndarray) -> np.ndarray:
    """int [classes]: distinct renders of each class in the faces where ``faces`` (bool) holds."""
    cls = np.repeat(np.arange(bank.n_classes), bank.variants_per_class)
    return np.bincount(cls[faces[bank.render_face]], minlength=bank.n_classes)


def font_split(bank: FontBank, seed: int = FONT_SPLIT_SEED) -> FontSplit:
    held_face = split_faces(bank, seed)
    n_held = per_class_faces(bank, held_face)
    n_pre = per_class_faces(bank, ~held_face)
    eligible = np.flatnonzero(n_held >= MIN_HELDOUT_FACES)
    rng = np.random.default_rng(seed + 1)
    heldout = np.sort(eligible[rng.permutation(len(eligible))[:HELDOUT_CHARS]])
    pool = np.setdiff1d(np.flatnonzero(n_pre >= 1), heldout)
    return FontSplit(held_face, pool, heldout)


def fonts_and_split(dirs: tuple[str, ...] | None = None) -> tuple[FontBank, FontSplit]:
    """The font bank of ``dirs`` (default ``fonts.font_dirs()``, read now) and its split."""
    return _split_of(load_font_bank(dirs))


@lru_cache(maxsize=4)
def _split_of(bank: FontBank) -> tuple[FontBank, FontSplit]:
    return bank, font_split(bank)


def face_counts(bank: FontBank | None = None):
    """One row per class: the character, its script, its split side and its distinct faces.

    ``pretrain_faces`` is the ceiling on a pre-training class's variety: a run with n above it
    repeats designs. Read next to K and n, it says how much of n is real variety.
    """
    import pandas as pd

    if bank is None:
        bank, split = fonts_and_split()
    else:
        split = font_split(bank)
    side = np.full(bank.n_classes, "unused", dtype=object)
    side[split.pool] = "pool"
    side[split.heldout] = "heldout"
    return pd.DataFrame({
        "char": [bank.char(c) for c in range(bank.n_classes)],
        "codepoint": bank.codepoints,
        "script": [script_of(c) for c in bank.codepoints],
        "split": side,
        "faces": bank.variants_per_class,
        "pretrain_faces": per_class_faces(bank, ~split.heldout_face),
        "heldout_faces": per_class_faces(bank, split.heldout_face),
    })  # fmt: skip


def font_limits(class_pool_name: str | None = None) -> tuple[int, int]:
    """(classes in the font pre-training pool, images per class) for parameter checks."""
    if class_pool_name is not None:
        raise ConfigError(
            f"class_pool={class_pool_name!r} is not defined for dataset='fonts' (its pool is every "
            "character outside the held-out set); leave class_pool unset"
        )
    _, split = fonts_and_split()
    return len(split.pool), FONTS_MAX_PER_CLASS


def to_size(renders: np.ndarray, size: int) -> torch.Tensor:
    """uint8 [M, BASE, BASE] renders -> uint8 [M, 1, size, size] (area average when smaller)."""
    return resize_uint8(torch.from_numpy(np.ascontiguousarray(renders)).unsqueeze(1), size)


def draw_faces(counts: np.ndarray, n: int, g: torch.Generator) -> list[np.ndarray]:
    """For each class with ``counts[i]`` faces: n face positions, without replacement while they
    last (a seeded permutation), then with replacement."""
    out = []
    for f in counts:
        perm = torch.randperm(int(f), generator=g)
        extra = torch.randint(int(f), (max(0, n - int(f)),), generator=g)
        out.append(torch.cat([perm[:n], extra]).numpy())
    return out


def two_step_fonts(bank: FontBank, pool: np.ndarray, n_classes: int, samples_per_class: int,
                   size: int, seed: int) -> ImageSet:  # fmt: skip
    """K classes of ``pool``, then n images each (label-major); ``bank`` holds the faces allowed."""
    if not 1 <= n_classes <= len(pool):
        raise ValueError(f"n_classes={n_classes} must be in 1..{len(pool)} (the pool size)")
    g = torch.Generator().manual_seed(seed)
    chosen = np.asarray(pool)[torch.randperm(len(pool), generator=g)[:n_classes].numpy()]
    counts = bank.variants_per_class[chosen]
    if (counts == 0).any():
        raise ValueError("a drawn class has no render in the allowed faces")
    picks = draw_faces(counts, samples_per_class, g)
    rows = np.concatenate([bank.offsets[c] + p for c, p in zip(chosen, picks)])
    labels = torch.arange(n_classes).repeat_interleave(samples_per_class)
    return ImageSet(to_size(bank.images[rows], size), labels, chosen)


def fonts_pretraining_set(cfg: RunConfig) -> ImageSet:
    """The run's K x n font images (pre-training faces only, held-out characters never drawn)."""
    bank, split = fonts_and_split()
    if cfg.class_pool is not None:
        font_limits(cfg.class_pool)  # raises the clear error
    pre = bank.select(~split.heldout_face[bank.render_face])
    return two_step_fonts(pre, split.pool, cfg.n_classes, cfg.samples_per_class, cfg.image_size,
                          cfg.seed)  # fmt: skip
