"""One reader per on-disk format, each giving a ``Source`` (labels, classes, images to decode).

ImageFolder trees and the sets torchvision has a class for are read by torchvision (never with
``download``); the downsampled ImageNet batches, which torchvision does not know, by
``downsampled_imagenet``. The pre-training sets (``PRETRAIN_SOURCES``) are then decoded once
into the cache (``cache.cached_tensor``).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from pretrain_diversity.data.real.cache import CachedSplit, cached_tensor, split_index
from pretrain_diversity.data.real.decode import Source, array_source, file_source
from pretrain_diversity.data.real.locations import LOCATIONS, DataNotFound, locate
from pretrain_diversity.storage import UntrustedFile, load_arrays


def torchvision_set(make: Callable, name: str):
    """Build a torchvision data set (download=False); its own errors become DataNotFound."""
    try:
        return make()
    except RuntimeError as e:  # torchvision: "Dataset not found or corrupted" (md5 mismatch)
        loc = LOCATIONS[name]
        raise DataNotFound(
            f"torchvision could not read the real data set {name!r} ({e}); it must hold "
            f"{loc.layout}, unmodified (torchvision checks the md5 sums of some files). Get it "
            f"from {loc.source}."
        ) from e


def imagenet_folder(root: Path, split: str) -> Source:
    from torchvision.datasets import ImageFolder

    ds = torchvision_set(lambda: ImageFolder(str(root / "imagenet" / split)), "imagenet")
    return file_source(ds, ds.targets, ds.classes)


# What a Downsampled ImageNet batch pickles: a dict of numpy arrays and a list of ints. Arrays
# reduce to these callables (numpy 1 and numpy 2 spell the module differently; protocol 2 from
# Python 3 adds _codecs.encode for bytes, protocol 5 numeric._frombuffer); nothing else is let in.
BATCH_GLOBALS = frozenset({
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
})  # fmt: skip


class RefusedGlobal(pickle.UnpicklingError):
    """A pickle names a callable or class outside ``BATCH_GLOBALS``."""


class BatchUnpickler(pickle.Unpickler):
    """Unpickles only numpy arrays, numbers, strings and containers: a batch downloaded from the
    web (or planted in the data folder) can never run code while it is read."""

    def find_class(self, module: str, name: str):
        if (module, name) not in BATCH_GLOBALS:
            raise RefusedGlobal(f"{module}.{name}")
        if module.startswith("numpy.core") and hasattr(np, "_core"):  # numpy 2 renamed it
            module = "numpy._core" + module.removeprefix("numpy.core")
        return super().find_class(module, name)


def read_batch(path: Path) -> dict:
    """One Downsampled ImageNet batch file (pickled, or its .npz form), read without running code."""
    remedy = (
        f"It is not a Downsampled ImageNet batch: delete it (rm {path}) and put the file from "
        f"{LOCATIONS['imagenet32'].source.split(' ', 1)[0]} in its place (or its .npz form)."
    )
    if path.suffix == ".npz":
        z = load_arrays(path, what="a Downsampled ImageNet batch", remedy=remedy)
        return {"data": z["data"], "labels": z["labels"]}
    with open(path, "rb") as f:
        try:
            return BatchUnpickler(f, encoding="latin1").load()
        except RefusedGlobal as e:
            raise UntrustedFile(path, "a Downsampled ImageNet batch", remedy,
                                f"it names {e}") from None  # fmt: skip


def batch_files(folder: Path, split: str) -> list[Path]:
    stems = (
        [f"train_data_batch_{i}" for i in range(1, 11)] if split == "train" else ["val_data"]
    )
    files = []
    for stem in stems:
        for p in (folder / stem, folder / f"{stem}.npz"):
            if p.exists():
                files.append(p)
                break
    if not files:
        raise DataNotFound(f"no {split} batches ({stems[0]} ...) in {folder}")
    return files


def downsampled_imagenet(root: Path, split: str, name: str) -> Source:
    """Downsampled ImageNet (no torchvision class): pickled dicts, 'data' [N, 3*S*S] uint8 in
    channel-major order (all red, then green, then blue) and 'labels' numbered from 1."""
    folder = root / name
    files = batch_files(folder, split)
    side = int(name.removeprefix("imagenet"))
    labels = np.concatenate(
        [np.asarray(read_batch(f)["labels"], dtype=np.int64) - 1 for f in files]
    )
    if labels.min() < 0:
        raise ValueError(f"{name}: labels must be numbered from 1 (found 0) in {folder}")

    def chunk(f: Path) -> np.ndarray:
        data = np.asarray(read_batch(f)["data"], dtype=np.uint8)
        return data.reshape(len(data), 3, side, side)

    classes = [f"class {i + 1}" for i in range(int(labels.max()) + 1)]
    return Source(labels, classes, chunks=[partial(chunk, f) for f in files])


def cifar_source(root: Path, name: str, train: bool) -> Source:
    from torchvision.datasets import CIFAR10, CIFAR100

    cls = CIFAR100 if name == "cifar100" else CIFAR10
    ds = torchvision_set(lambda: cls(str(root), train=train, download=False), name)
    return array_source(ds.data.transpose(0, 3, 1, 2), ds.targets, ds.classes)


PRETRAIN_SOURCES: dict[str, Callable[[Path, str], Source]] = {
    "imagenet": imagenet_folder,
    "imagenet32": partial(downsampled_imagenet, name="imagenet32"),
    "imagenet64": partial(downsampled_imagenet, name="imagenet64"),
    "cifar100": lambda root, split: cifar_source(root, "cifar100", split == "train"),
}


def pretrain_split(dataset: str, data_root, split: str = "train"):
    root = locate(dataset, data_root)
    return root, partial(PRETRAIN_SOURCES[dataset], root, split)


def pool_labels(dataset: str, data_root=None) -> tuple[np.ndarray, list[str]]:
    """Labels of every pre-training image (the training split), from the cached index."""
    root, make = pretrain_split(dataset, data_root)
    return split_index(dataset, "train", make, root)


def real_limits(dataset: str, data_root=None) -> tuple[int, int]:
    """(classes in the pool, images per class that every class has): the pool is every class
    of the training split; n is capped by the smallest class, so any K classes drawn have n."""
    labels, _ = pool_labels(dataset, data_root)
    counts = np.bincount(labels)
    counts = counts[counts > 0]
    return len(counts), int(counts.min())


def load_pretrain_split(dataset: str, size: int, data_root=None, workers=None) -> CachedSplit:
    root, make = pretrain_split(dataset, data_root)
    return cached_tensor(dataset, "train", size, make, root, workers)
