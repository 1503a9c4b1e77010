"""Decoding images into uint8 [N, 3, S, S] tensors, the one form the cache and training use.

Photographs are resized so the shorter side is S (bicubic, antialiased), then centre-cropped to
S x S; JPEGs are first decoded at reduced scale by PIL's draft mode (never below S), since at
32 px most of a full-size decode is wasted. Sets distributed already decoded (CIFAR, the
downsampled ImageNet batches) are only resized: by area averaging when S divides their side,
else bilinearly (antialiased).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

DECODE_WORKERS_ENV = "PRETRAIN_DIVERSITY_DECODE_WORKERS"


def load_rgb(path, draft: int | None = None):
    """PIL RGB image; JPEGs decoded at the smallest DCT scale that keeps both sides >= draft."""
    from PIL import Image

    with open(path, "rb") as f:
        img = Image.open(f)
        if draft:
            img.draft("RGB", (draft, draft))
        return img.convert("RGB")


def resize_crop(img, size: int) -> torch.Tensor:
    """PIL image -> uint8 [3, size, size]: shorter side to ``size`` (bicubic), centre crop."""
    import torchvision.transforms.functional as TF
    from torchvision.transforms import InterpolationMode

    img = TF.resize(img.convert("RGB"), size, InterpolationMode.BICUBIC, antialias=True)
    return TF.pil_to_tensor(TF.center_crop(img, size))


def resize_uint8(x: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 [B, 3, H, H] -> [B, 3, size, size]: area average when size divides H."""
    h = x.shape[-1]
    if h == size:
        return x
    y = x.float()
    if h % size == 0:
        y = F.avg_pool2d(y, h // size)
    else:
        y = F.interpolate(
            y, size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )
    return y.round_().clamp_(0, 255).to(torch.uint8)


class _Decoded(torch.utils.data.Dataset):
    """Items of a torchvision data set (PIL image, label) as uint8 [3, S, S] tensors."""

    def __init__(self, dataset, indices: np.ndarray, size: int):
        self.dataset, self.indices, self.size = dataset, indices, size

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> torch.Tensor:
        return resize_crop(self.dataset[int(self.indices[i])][0], self.size)


@dataclass
class Source:
    """One split of a data set before decoding: labels (0-based), class names, and the images,
    either as a torchvision data set of files (``dataset`` + ``indices``) or as already decoded
    uint8 [N, 3, H, H] arrays (``chunks``: loaders called one at a time when decoding)."""

    labels: np.ndarray
    classes: list[str]
    dataset: Any = None
    indices: np.ndarray | None = None
    chunks: list[Callable[[], np.ndarray]] = field(default_factory=list)

    def subset(self, index: np.ndarray) -> Source:
        index = np.asarray(index, dtype=np.int64)
        if self.dataset is not None:
            return Source(self.labels[index], self.classes, self.dataset, self.indices[index])
        full = np.concatenate([c() for c in self.chunks])[index]
        return Source(self.labels[index], self.classes, chunks=[lambda: full])


def file_source(dataset, labels, classes) -> Source:
    labels = np.asarray(labels, dtype=np.int64)
    return Source(labels, list(classes), dataset, np.arange(len(labels)))


def array_source(array: np.ndarray, labels, classes) -> Source:
    return Source(np.asarray(labels, dtype=np.int64), list(classes), chunks=[lambda: array])


def _default_workers(n: int) -> int:
    env = os.environ.get(DECODE_WORKERS_ENV)
    if env:
        return int(env)
    return 0 if n < 2000 else min(16, os.cpu_count() or 1)


def decode_source(src: Source, size: int, out: np.ndarray, workers: int | None, desc: str) -> None:
    """Fill ``out`` (uint8 [N, 3, size, size]) with the decoded images of ``src``, in order."""
    from tqdm.auto import tqdm

    n = len(src.labels)
    bar = tqdm(total=n, desc=desc, unit="img", disable=n < 2000)
    if src.dataset is not None:
        ds = copy.copy(src.dataset)
        if hasattr(ds, "loader"):  # ImageFolder, DTD, Flowers102, EuroSAT, Places365
            ds.loader = partial(load_rgb, draft=size)
        workers = _default_workers(n) if workers is None else workers
        loader = torch.utils.data.DataLoader(
            _Decoded(ds, src.indices, size), batch_size=256, num_workers=workers
        )
        pos = 0
        for batch in loader:
            out[pos : pos + len(batch)] = batch.numpy()
            pos += len(batch)
            bar.update(len(batch))
    else:
        pos = 0
        for load in src.chunks:
            arr = load()
            for s in range(0, len(arr), 8192):
                part = torch.from_numpy(np.ascontiguousarray(arr[s : s + 8192]))
                out[pos : pos + len(part)] = resize_uint8(part, size).numpy()
                pos += len(part)
                bar.update(len(part))
    bar.close()
    if pos != n:
        raise RuntimeError(f"{desc}: decoded {pos} images, expected {n}")
