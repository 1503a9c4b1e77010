"""Pictures of the data: images tiled into one grid."""

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

