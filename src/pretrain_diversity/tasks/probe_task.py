"""The form every downstream task takes: fixed train / val / test splits of one image set.

The probe's regularisation is chosen on val and the error reported on test. The splits are fixed
(``TASK_SEED``), not drawn per run, so runs of one study are evaluated on exactly the same images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from pretrain_diversity.data.sampling import ImageSet

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


def split_per_class(
    labels: np.ndarray, counts: tuple[int, int], rng
) -> tuple[np.ndarray, ...]:
    """Index arrays (train, val, test): the first counts per class go to train and val."""
    tr, va, te = [], [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        tr.append(idx[: counts[0]])
        va.append(idx[counts[0] : counts[0] + counts[1]])
        te.append(idx[counts[0] + counts[1] :])
    return tuple(np.sort(np.concatenate(p)) for p in (tr, va, te))


def as_sets(images: torch.Tensor, labels: torch.Tensor, class_ids, parts) -> list[ImageSet]:
    return [ImageSet(images[p], labels[p], np.asarray(class_ids)) for p in parts]
