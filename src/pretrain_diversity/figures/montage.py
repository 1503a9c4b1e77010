"""Pictures of the data: tiled image grids and the frames of the K/n ratio slider."""

from __future__ import annotations

import numpy as np
import torch


def tile(images: torch.Tensor, ncols: int, pad: int = 1, pad_value: int = 60) -> np.ndarray:
    """uint8 [M, 1, H, W] -> one uint8 [rows*(H+pad), ncols*(W+pad)] picture, row-major."""
    m, _, h, w = images.shape
    rows = -(-m // ncols)
    canvas = np.full((rows * (h + pad) + pad, ncols * (w + pad) + pad), pad_value, np.uint8)
    for i, img in enumerate(images[:, 0].numpy()):
        r, c = divmod(i, ncols)
        canvas[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = img
    return canvas


def draw_by_class(images: torch.Tensor, labels: torch.Tensor, n_classes: int, per_class: int) -> np.ndarray:
    """A grid with one row per class (or, for many classes, one cell per class in a square)."""
    order = torch.argsort(labels, stable=True)
    if per_class >= n_classes:  # few classes with many images: one row per class
        return tile(images[order], ncols=per_class)
    ncols = int(np.ceil(np.sqrt(len(labels))))
    return tile(images[order], ncols=ncols)

