"""The decoded-image cache: each (data set, split, resolution) decoded once, memory-mapped after.

Each split is decoded a single time into one uint8 [N, 3, S, S] ``.npy`` file under
``cache_dir()/real``, written atomically, beside an ``index.npz`` of its labels and class names
(made by one scan of the files, no decoding). Both are read without pickles
(``storage.load_arrays``): a pickle planted in the cache raises ``UntrustedFile`` and never runs. A run's K x n pre-training subset is an index mask
into the cached tensor (``sampling.two_step_indices``), never a copy of files.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pretrain_diversity.data.real.decode import Source, decode_source
from pretrain_diversity.storage import (
    UntrustedFile, atomic_path, atomic_save_npz, cache_dir, load_arrays,
)  # fmt: skip

CACHE_VERSION = 1  # bump when decoding changes: every cached tensor is then rebuilt


@dataclass
class CachedSplit:
    images: np.ndarray  # uint8 [N, 3, S, S], memory-mapped from the cache
    labels: np.ndarray  # int64 [N], 0-based
    classes: list[str]


def _remedy(path: Path) -> str:
    return f"Delete it (rm {path}); it is made again from the data set on next use."


def split_dir(name: str, split: str, root: Path) -> Path:
    """Cache folder of one split of one data set found under ``root``."""
    key = hashlib.sha256(repr((CACHE_VERSION, name, split, str(root.resolve()))).encode())
    return cache_dir() / "real" / f"{name}-{split}-{key.hexdigest()[:12]}"


def split_index(name: str, split: str, make: Callable[[], Source], root: Path):
    """(labels, classes) of a split, from the cache; made once by ``make`` (a scan, no decode)."""
    path = split_dir(name, split, root) / "index.npz"
    if path.exists():
        try:
            z = load_arrays(path, what="a cached label index", remedy=_remedy(path))
            return z["labels"], [str(c) for c in z["classes"]]
        except UntrustedFile:
            raise
        except Exception:  # a damaged entry is rebuilt, never trusted
            path.unlink(missing_ok=True)
    src = make()
    atomic_save_npz(path, labels=src.labels, classes=np.array(src.classes, dtype=str))
    return src.labels, list(src.classes)


def cached_tensor(
    name: str, split: str, size: int, make: Callable[[], Source], root: Path,
    workers: int | None = None,
) -> CachedSplit:  # fmt: skip
    """The decoded split at ``size`` px: loaded (memory-mapped) if cached, else decoded once."""
    folder = split_dir(name, split, root)
    built: list[Source] = []

    def once() -> Source:  # the scan (or the read of the batches) is done at most once here
        if not built:
            built.append(make())
        return built[0]

    labels, classes = split_index(name, split, once, root)
    path = folder / f"{size}px.npy"
    if path.exists():
        try:
            images = load_arrays(path, what="a cached decoded tensor", remedy=_remedy(path),
                                 mmap_mode="r")  # fmt: skip
            if images.shape == (len(labels), 3, size, size):
                return CachedSplit(images, labels, classes)
        except UntrustedFile:
            raise
        except Exception:  # damaged: decoded again
            pass
        path.unlink(missing_ok=True)
    src = once()
    if not np.array_equal(src.labels, labels):  # the files changed since the index was made
        shutil.rmtree(folder, ignore_errors=True)
        labels, classes = split_index(name, split, lambda: src, root)
    with atomic_path(path) as tmp:
        shape = (len(labels), 3, size, size)
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
        decode_source(src, size, out, workers, desc=f"decoding {name} {split} at {size}px")
        out.flush()
        del out
    return CachedSplit(np.load(path, mmap_mode="r"), labels, classes)


def gather(images: np.ndarray, index: np.ndarray) -> torch.Tensor:
    """Rows ``index`` of a (memory-mapped) array as a tensor, read in file order."""
    index = np.asarray(index)
    order = np.argsort(index, kind="stable")
    out = np.empty((len(index),) + images.shape[1:], dtype=images.dtype)
    out[order] = images[index[order]]
    return torch.from_numpy(out)
