"""Batched, seeded augmentation on uint8 images, done on the device."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_shift(x: torch.Tensor, max_shift: int, g: torch.Generator) -> torch.Tensor:
    """Shift each image by up to ``max_shift`` pixels (zero fill), batched by a gather."""
    if max_shift <= 0:
        return x
    b, c, h, w = x.shape
    off = torch.randint(0, 2 * max_shift + 1, (b, 2), generator=g).to(x.device)
    xp = F.pad(x, (max_shift,) * 4)
    rows = (off[:, 0:1] + torch.arange(h, device=x.device)).view(b, 1, h, 1)
    xp = torch.gather(xp, 2, rows.expand(b, c, h, w + 2 * max_shift))
    cols = (off[:, 1:2] + torch.arange(w, device=x.device)).view(b, 1, 1, w).expand(b, c, h, w)
    return torch.gather(xp, 3, cols)


def random_flip(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2 (batched)."""
    flip = (torch.rand(len(x), generator=g) < 0.5).to(x.device).view(-1, 1, 1, 1)
    return torch.where(flip, x.flip(3), x)
