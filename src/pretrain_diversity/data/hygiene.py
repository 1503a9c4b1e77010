"""Pool hygiene: how close each pre-training class is, by content, to a downstream class.

The pool/held-out split is by code point, and the bank already drops classes whose canonical
renders are identical at 16 px. That still leaves near-copies on both sides (a Cyrillic pe and a
Greek small capital pi, E with macron and grave or acute), and glyphs that look like the
handwritten digits of the ``digits`` task (vertical bars and a handwritten 1). Pre-training on
those classes is partly pre-training on the downstream task.

The measure: each class's canonical render (its first font) and each digit scan is cropped to its
ink's bounding box, padded to a square, resampled to ``SHAPE_SIZE`` x ``SHAPE_SIZE`` (8, the
digits' own resolution) and scaled to unit length; the distance of two shapes is the Euclidean
distance of those vectors (0 = the same shape, at most 2; typical unrelated glyphs 0.4 to 0.7).
A pool class's distance to the held-out task is its distance to the nearest held-out class, and
to the digits task its distance to the nearest of the 1797 digit scans.

``pool_hygiene`` = t removes every pool class within t of either task, and every class whose
Unicode name says it is a digit ("DIGIT ZERO" ... "DIGIT NINE", "FULLWIDTH DIGIT ONE", ...):
those *are* the digits task's classes whatever they look like (a printed 4 is far, in pixels,
from most handwritten ones). ``hygiene_report`` says how many classes each t removes and which.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from pretrain_diversity.data.glyphs import GlyphBank

SHAPE_SIZE = 8  # sklearn's digits are 8x8: the common size of the comparison
INK_FRACTION = 0.25  # a pixel is ink (for the bounding box) above this fraction of the maximum
HYGIENE_VERSION = 1  # joins the cache key of sets drawn with pool_hygiene: bump when this changes
MAX_DISTANCE = 2.0  # between unit vectors


def shape_vectors(images: np.ndarray | torch.Tensor) -> np.ndarray:
    """float [M, H, W] (ink high) -> unit vectors [M, SHAPE_SIZE**2] of the cropped shapes."""
    x = torch.as_tensor(np.asarray(images), dtype=torch.float32)
    m, h, w = x.shape
    ink = x > INK_FRACTION * x.amax((1, 2), keepdim=True).clamp_min(1e-8)
    rows, cols = ink.any(2), ink.any(1)
    first = lambda a: a.float().argmax(1)  # noqa: E731
    last = lambda a: a.shape[1] - a.flip(1).float().argmax(1)  # noqa: E731
    y0, y1, x0, x1 = first(rows), last(rows), first(cols), last(cols)
    side = torch.maximum(y1 - y0, x1 - x0).float().clamp_min(1)
    # affine_grid maps the output square [-1, 1]^2 onto the padded bounding box (normalised)
    cx, cy = (x0 + x1).float() / w - 1, (y0 + y1).float() / h - 1
    theta = torch.zeros(m, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1] = side / w, side / h
    theta[:, 0, 2], theta[:, 1, 2] = cx, cy
    grid = F.affine_grid(theta, [m, 1, 32, 32], align_corners=False)
    crop = F.grid_sample(x.unsqueeze(1), grid, mode="bilinear", padding_mode="zeros",
                         align_corners=False)  # fmt: skip
    v = F.adaptive_avg_pool2d(crop, SHAPE_SIZE).flatten(1)
    return F.normalize(v.double(), dim=1).numpy()


def glyph_shapes(bank: GlyphBank, classes: np.ndarray) -> np.ndarray:
    """Shape vectors of the canonical render (first variant) of each class."""
    return shape_vectors(bank.images[bank.offsets[np.asarray(classes)]].astype(np.float32) / 255)


def digit_shapes() -> tuple[np.ndarray, np.ndarray]:
    """(shape vectors, digit) of the 1797 scans of scikit-learn's digits (the ``digits`` task)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.as_tensor(d.images / 16.0, dtype=torch.float32).unsqueeze(1)
    x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False).squeeze(1)
    return shape_vectors(x), np.asarray(d.target)


def nearest(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row of ``a`` (unit vectors), the distance to the nearest row of ``b`` and its index."""
    d = np.sqrt(np.clip(2 - 2 * a @ b.T, 0, None))
    arg = d.argmin(1)
    return d[np.arange(len(a)), arg], arg


def is_digit_named(bank: GlyphBank, c: int) -> bool:
    return "DIGIT" in unicodedata.name(bank.char(c), "").split()


@dataclass(frozen=True)
class PoolDistances:
    """Per pool class: its distance to the nearest held-out class and to the nearest digit."""

    pool: np.ndarray  # class indices of the pre-training pool
    to_heldout: np.ndarray  # float [P]
    nearest_heldout: np.ndarray  # class index of that held-out class
    to_digits: np.ndarray  # float [P]
    nearest_digit: np.ndarray  # the digit (0-9) of that scan
    digit_named: np.ndarray  # bool [P]: the Unicode name says it is a digit

    def removed(self, threshold: float) -> np.ndarray:
        """bool [P]: the pool classes ``pool_hygiene=threshold`` removes."""
        return (self.to_heldout <= threshold) | (self.to_digits <= threshold) | self.digit_named


_CACHE: dict = {}


def pool_distances(bank: GlyphBank, pool: np.ndarray, heldout: np.ndarray) -> PoolDistances:
    """Distances of every class of ``pool`` to the held-out classes and to the digit scans."""
    key = (bank.fingerprint, np.asarray(pool).tobytes(), np.asarray(heldout).tobytes())
    if key not in _CACHE:
        pool, heldout = np.asarray(pool), np.asarray(heldout)
        shapes = glyph_shapes(bank, pool)
        to_h, arg_h = nearest(shapes, glyph_shapes(bank, heldout))
        digits, digit_of = digit_shapes()
        to_d, arg_d = nearest(shapes, digits)
        named = np.array([is_digit_named(bank, int(c)) for c in pool], dtype=bool)
        _CACHE[key] = PoolDistances(pool, to_h, heldout[arg_h], to_d, digit_of[arg_d], named)
    return _CACHE[key]


def clean_pool(bank: GlyphBank, pool: np.ndarray, heldout: np.ndarray, threshold: float) -> np.ndarray:
    """``pool`` without the classes within ``threshold`` of a downstream class (and digits)."""
    dist = pool_distances(bank, pool, heldout)
    return dist.pool[~dist.removed(threshold)]


def hygiene_report(bank: GlyphBank, pool: np.ndarray, heldout: np.ndarray, thresholds,
                   examples: int = 8) -> list[dict]:  # fmt: skip
    """Per threshold: how many pool classes it removes, why, and the closest of them by name."""
    dist = pool_distances(bank, pool, heldout)
    out = []
    for t in thresholds:
        gone = dist.removed(t)
        closest = np.minimum(dist.to_heldout, dist.to_digits)
        order = [i for i in np.argsort(closest) if gone[i]]
        out.append({
            "threshold": float(t),
            "removed": int(gone.sum()),
            "kept": int((~gone).sum()),
            "near_heldout": int((dist.to_heldout <= t).sum()),
            "near_digits": int((dist.to_digits <= t).sum()),
            "digit_named": int(dist.digit_named.sum()),
            "closest_removed": [bank.name(int(dist.pool[i])) for i in order[:examples]],
        })  # fmt: skip
    return out
