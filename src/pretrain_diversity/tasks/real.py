"""Real downstream tasks for linear probing: the papers' sets that torchvision can read.

Each task has train / val / test splits, decoded once per resolution into the cache
(``data.real.cache.cached_tensor``) and returned as the same ``ProbeTask`` the glyph tasks use, so
``evaluation.probe`` and ``run_experiment`` need no change. Official splits are used where the data set
has them; where it has none, the splits are cut per class from a permutation seeded by
``TASK_SEED`` (fixed, so every run of a study is probed on the same images). ``SPLITS`` says
what each task does; these are the book's choices unless marked as the paper's.

Places365 follows Zhang et al.'s split, 50 validation and 900 test images per class. Its
official ``val`` split has only 100 images per class, so all three splits are cut from the
``train-standard`` images (3,068 to 5,000 per class): 100 train (our choice; the paper's probe
training size is not known here), 50 val and 900 test per class. A class with fewer than 1,050
images (only in small test copies) is cut in the same proportions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from pretrain_diversity.data.real.cache import cached_tensor
from pretrain_diversity.data.real.decode import Source, file_source
from pretrain_diversity.data.real.locations import locate
from pretrain_diversity.data.real.readers import cifar_source, torchvision_set
from pretrain_diversity.data.sampling import ImageSet
from pretrain_diversity.tasks.probe_task import TASK_SEED, ProbeTask

# task -> (how its splits are made, the parts cut per class where cut: fractions or counts)
SPLITS: dict[str, tuple[str, tuple]] = {
    "cifar10": ("official train/test; val = 10% of each class of train", (0.9, 0.1)),
    "cifar100": ("official train/test; val = 10% of each class of train", (0.9, 0.1)),
    "dtd": ("official train/val/test, partition 1 (40/40/40 per class)", ()),
    "flowers102": ("official train/val/test (10/10/>=20 per class)", ()),
    "pets": ("official trainval/test; val = 20% of each class of trainval", (0.8, 0.2)),
    "caltech101": (
        (
            "no official split: 50% / 10% / 40% of each class as train / val / test "
            "(BACKGROUND_Google left out, 101 classes)"
        ),
        (0.5, 0.1, 0.4),
    ),
    "eurosat": ("no official split: 60% / 20% / 20% of each class", (0.6, 0.2, 0.2)),
    "places365": (
        (
            "cut from train-standard: 100 train (our choice), 50 val and 900 test per class "
            "(val/test as in Zhang et al.)"
        ),
        (100, 50, 900),
    ),
}


def piece_sizes(m: int, parts) -> np.ndarray:
    """How many of a class's ``m`` images go to each part.

    Counts (all >= 1) that fit are taken as they are (images beyond them are unused); otherwise
    the parts are proportions, every part gets at least one image when m allows, and the last
    part (the test split) takes the remainder.
    """
    parts = np.asarray(parts, dtype=float)
    if (parts >= 1).all() and parts.sum() <= m:
        return parts.astype(int)
    sizes = np.floor(parts / parts.sum() * m).astype(int)
    if m >= len(parts):
        sizes = np.maximum(sizes, 1)
    sizes[-1] = m - sizes[:-1].sum()
    return sizes


def carve(labels: np.ndarray, parts, seed: int = TASK_SEED) -> list[np.ndarray]:
    """Per class, a seeded permutation cut into ``len(parts)`` pieces; sorted index arrays."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    out: list[list[np.ndarray]] = [[] for _ in parts]
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        edges = np.cumsum(np.concatenate([[0], piece_sizes(len(idx), parts)]))
        for k in range(len(parts)):
            out[k].append(idx[edges[k] : edges[k + 1]])
    return [np.sort(np.concatenate(p)) for p in out]


def _cut(src: Source, names: tuple[str, ...], parts) -> dict[str, Source]:
    return {n: src.subset(i) for n, i in zip(names, carve(src.labels, parts))}


# ----------------------------------------------------------------------------- the tasks
def _cifar_splits(root: Path, name: str) -> dict[str, Source]:
    splits = _cut(cifar_source(root, name, True), ("train", "val"), SPLITS[name][1])
    splits["test"] = cifar_source(root, name, False)
    return splits


def _by_name(parts: dict, labels_of: Callable, classes_of: Callable) -> dict[str, Source]:
    """Splits built separately (DTD) share one class numbering: the sorted union of names."""
    classes = sorted(set().union(*(classes_of(ds) for ds in parts.values())))
    index = {c: i for i, c in enumerate(classes)}
    return {
        s: file_source(ds, [index[classes_of(ds)[y]] for y in labels_of(ds)], classes)
        for s, ds in parts.items()
    }


def _dtd(root: Path) -> dict[str, Source]:
    from torchvision.datasets import DTD

    parts = {
        s: torchvision_set(lambda s=s: DTD(str(root), split=s, partition=1, download=False), "dtd")
        for s in ("train", "val", "test")
    }
    return _by_name(parts, lambda ds: ds._labels, lambda ds: ds.classes)


def _flowers(root: Path) -> dict[str, Source]:
    from torchvision.datasets import Flowers102

    out = {}
    for s in ("train", "val", "test"):
        ds = torchvision_set(lambda s=s: Flowers102(str(root), split=s, download=False), "flowers102")
        out[s] = file_source(ds, ds._labels, Flowers102.classes)
    return out


def _pets(root: Path) -> dict[str, Source]:
    from torchvision.datasets import OxfordIIITPet

    def make(split):
        return torchvision_set(
            lambda: OxfordIIITPet(str(root), split=split, target_types="category", download=False),
            "pets",
        )

    trainval, test = make("trainval"), make("test")
    n = max(max(trainval._labels), max(test._labels)) + 1  # labels come numbered in the files
    classes = trainval.classes if len(trainval.classes) == n else [str(i) for i in range(n)]
    splits = _cut(file_source(trainval, trainval._labels, classes), ("train", "val"),
                  SPLITS["pets"][1])  # fmt: skip
    splits["test"] = file_source(test, test._labels, classes)
    return splits


def _caltech(root: Path) -> dict[str, Source]:
    from torchvision.datasets import Caltech101

    ds = torchvision_set(lambda: Caltech101(str(root), download=False), "caltech101")
    return _cut(file_source(ds, ds.y, ds.categories), ("train", "val", "test"),
                SPLITS["caltech101"][1])  # fmt: skip


def _eurosat(root: Path) -> dict[str, Source]:
    from torchvision.datasets import EuroSAT

    ds = torchvision_set(lambda: EuroSAT(str(root), download=False), "eurosat")
    return _cut(file_source(ds, ds.targets, ds.classes), ("train", "val", "test"),
                SPLITS["eurosat"][1])  # fmt: skip


def _places(root: Path) -> dict[str, Source]:
    from torchvision.datasets import Places365

    ds = torchvision_set(
        lambda: Places365(str(root / "places365"), split="train-standard", small=True,
                          download=False),
        "places365",
    )  # fmt: skip
    return _cut(file_source(ds, ds.targets, ds.classes), ("train", "val", "test"),
                SPLITS["places365"][1])  # fmt: skip


REAL_TASKS: dict[str, Callable[[Path], dict[str, Source]]] = {
    "cifar10": lambda root: _cifar_splits(root, "cifar10"),
    "cifar100": lambda root: _cifar_splits(root, "cifar100"),
    "dtd": _dtd,
    "flowers102": _flowers,
    "pets": _pets,
    "caltech101": _caltech,
    "eurosat": _eurosat,
    "places365": _places,
}


def load_real_task(name: str, size: int, data_root=None, workers=None) -> ProbeTask:
    """The task's three splits at ``size`` px, decoded once and then read from the cache."""
    root = locate(name, data_root)
    scheme = hashlib.sha256(repr((SPLITS[name][1], TASK_SEED)).encode()).hexdigest()[:8]
    sets = {}
    for split in ("train", "val", "test"):
        c = cached_tensor(
            name, f"{split}-{scheme}", size, lambda split=split: REAL_TASKS[name](root)[split],
            root, workers,
        )  # fmt: skip
        images = torch.from_numpy(np.array(c.images))  # into memory (a copy of the memmap)
        sets[split] = ImageSet(images, torch.from_numpy(c.labels), np.arange(len(c.classes)))
    n = len(sets["train"].class_ids)
    return ProbeTask(
        name, sets["train"], sets["val"], sets["test"],
        f"{name}: {n} classes, {SPLITS[name][0]}; {len(sets['train'].labels)}/"
        f"{len(sets['val'].labels)}/{len(sets['test'].labels)} train/val/test images at {size}px",
    )  # fmt: skip
