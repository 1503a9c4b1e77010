"""Real image data read from disk: where each set lies, how it is read, decoded once and cached.

Nothing here downloads anything, ever. Every data set lies in its own sub-folder of one *data
root*: the ``data_root`` argument where a function takes one, else the environment variable
``$PRETRAIN_DIVERSITY_DATA``. ``LOCATIONS`` names the sub-folder (torchvision's own folder name
wherever torchvision has a class for the set), the files that must be there and where to get
them; a missing set raises ``DataNotFound`` saying all three.

Decode once: each (data set, split, resolution) is decoded a single time into one uint8
[N, 3, S, S] ``.npy`` file under ``cache_dir()/real``, written atomically, and memory-mapped
afterwards. Photographs are resized so the shorter side is S (bicubic, antialiased), then
centre-cropped to S x S; JPEGs are first decoded at reduced scale by PIL's draft mode (never
below S), since at 32 px most of a full-size decode is wasted. Sets distributed already decoded
(CIFAR, the downsampled ImageNet batches) are only resized: by area averaging when S divides
their side, else bilinearly (antialiased).

A run's K x n pre-training subset is an index mask into the cached tensor (``two_step_indices``),
never a copy of files.
"""

from __future__ import annotations

import copy
import hashlib
import os
import pickle
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from pretrain_diversity.storage import atomic_path, atomic_save_npz, cache_dir

DATA_ENV = "PRETRAIN_DIVERSITY_DATA"
CACHE_VERSION = 1  # bump when decoding changes: every cached tensor is then rebuilt


# ----------------------------------------------------------------------------- locations
@dataclass(frozen=True)
class Location:
    folder: str  # sub-folder of the data root
    needs: tuple[str, ...]  # paths under the data root that must exist
    layout: str  # what the sub-folder holds
    source: str  # where to get it (text only: nothing is downloaded)


def _downsampled(side: int) -> Location:
    return Location(
        f"imagenet{side}",
        (f"imagenet{side}/train_data_batch_1",),
        f"imagenet{side}/train_data_batch_1 ... train_data_batch_10 (and val_data): the pickled "
        f"batches of Downsampled ImageNet {side}x{side} (Chrabaszcz et al. 2017), each a dict with "
        f"'data' uint8 [N, 3*{side}*{side}] and 'labels' 1..1000; the .npz form of the same "
        f"files (train_data_batch_1.npz, ...) works too",
        f"https://image-net.org/download-images.php (Downsampled ImageNet, Imagenet{side}_train "
        f"and Imagenet{side}_val; unzip so the batch files lie directly in imagenet{side}/)",
    )


LOCATIONS: dict[str, Location] = {
    "imagenet": Location(
        "imagenet",
        ("imagenet/train",),
        "imagenet/train/<wnid>/*.JPEG: the ILSVRC-2012 training images, one folder per class "
        "(torchvision ImageFolder layout)",
        "https://image-net.org/download-images.php (ILSVRC2012_img_train.tar: untar it, then "
        "untar each class archive n0*.tar into its own folder imagenet/train/n0*/)",
    ),
    "imagenet32": _downsampled(32),
    "imagenet64": _downsampled(64),
    "cifar100": Location(
        "cifar-100-python",
        ("cifar-100-python/train", "cifar-100-python/test", "cifar-100-python/meta"),
        "cifar-100-python/{train,test,meta}: CIFAR-100, python version (torchvision CIFAR100)",
        "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz (extract into the data root)",
    ),
    "cifar10": Location(
        "cifar-10-batches-py",
        tuple(
            f"cifar-10-batches-py/{f}"
            for f in ["data_batch_1", "data_batch_5", "test_batch", "batches.meta"]
        ),
        "cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}: CIFAR-10, python "
        "version (torchvision CIFAR10)",
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz (extract into the data root)",
    ),
    "dtd": Location(
        "dtd",
        ("dtd/dtd/images", "dtd/dtd/labels/train1.txt"),
        "dtd/dtd/images/<class>/*.jpg and dtd/dtd/labels/{train,val,test}1.txt (torchvision "
        "DTD layout: the archive extracted inside dtd/)",
        "https://www.robots.ox.ac.uk/~vgg/data/dtd/download/dtd-r1.0.1.tar.gz",
    ),
    "flowers102": Location(
        "flowers-102",
        ("flowers-102/jpg", "flowers-102/imagelabels.mat", "flowers-102/setid.mat"),
        "flowers-102/jpg/image_00001.jpg ..., flowers-102/imagelabels.mat and "
        "flowers-102/setid.mat (torchvision Flowers102 layout)",
        "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/ (102flowers.tgz, imagelabels.mat, "
        "setid.mat)",
    ),
    "pets": Location(
        "oxford-iiit-pet",
        (
            "oxford-iiit-pet/images",
            "oxford-iiit-pet/annotations/trainval.txt",
            "oxford-iiit-pet/annotations/test.txt",
        ),
        "oxford-iiit-pet/images/*.jpg and oxford-iiit-pet/annotations/{trainval,test}.txt "
        "(torchvision OxfordIIITPet layout)",
        "https://www.robots.ox.ac.uk/~vgg/data/pets/ (images.tar.gz, annotations.tar.gz)",
    ),
    "caltech101": Location(
        "caltech101",
        ("caltech101/101_ObjectCategories/BACKGROUND_Google",),
        "caltech101/101_ObjectCategories/<class>/image_0001.jpg ... including the "
        "BACKGROUND_Google folder, which torchvision (and so this book) leaves out "
        "(torchvision Caltech101 layout)",
        "https://data.caltech.edu/records/20086 (caltech-101.zip, inside it "
        "101_ObjectCategories.tar.gz)",
    ),
    "eurosat": Location(
        "eurosat",
        ("eurosat/2750",),
        "eurosat/2750/<class>/*.jpg: the RGB EuroSAT, 10 classes (torchvision EuroSAT layout)",
        "https://github.com/phelber/EuroSAT (EuroSAT.zip, the RGB version; unzip into eurosat/)",
    ),
    "places365": Location(
        "places365",
        (
            "places365/categories_places365.txt",
            "places365/places365_train_standard.txt",
            "places365/data_256_standard",
        ),
        "places365/categories_places365.txt, places365/places365_train_standard.txt and "
        "places365/data_256_standard/<letter>/<class>/*.jpg (torchvision Places365 layout, "
        "split='train-standard', small=True)",
        "http://places2.csail.mit.edu/download.html (filelist_places365-standard.tar and "
        "train_256_places365standard.tar; rename the extracted data_256/ to data_256_standard/)",
    ),
}


class DataNotFound(FileNotFoundError):
    """A real data set is not where it should be; the message says where and how to get it."""


def _root(data_root) -> tuple[Path | None, str]:
    if data_root is not None:
        return Path(data_root).expanduser(), f"the data_root argument ({data_root})"
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser(), f"${DATA_ENV}={env}"
    return None, ""


def locate(name: str, data_root=None) -> Path:
    """The data root holding data set ``name``, after checking its files are there."""
    loc = LOCATIONS[name]
    root, how = _root(data_root)
    if root is None:
        raise DataNotFound(
            f"no data root for the real data set {name!r}: set the environment variable "
            f"{DATA_ENV}=/path/to/data (or pass data_root=...). {name} is then read from "
            f"${DATA_ENV}/{loc.folder}/, which must hold {loc.layout}. Get it from {loc.source}; "
            "nothing is downloaded automatically."
        )
    missing = [
        p for p in loc.needs if not (root / p).exists() and not (root / f"{p}.npz").exists()
    ]
    if missing:
        raise DataNotFound(
            f"real data set {name!r} not found: expected {root / loc.folder}/ holding "
            f"{loc.layout}; missing: {', '.join(str(root / p) for p in missing)}. The data root "
            f"{root} comes from {how}. Get the data from {loc.source} and put it there; nothing "
            "is downloaded automatically."
        )
    return root


def _torchvision(make: Callable, name: str):
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


# ----------------------------------------------------------------------------- sources
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
    env = os.environ.get("PRETRAIN_DIVERSITY_DECODE_WORKERS")
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


# ----------------------------------------------------------------------------- the cache
@dataclass
class CachedSplit:
    images: np.ndarray  # uint8 [N, 3, S, S], memory-mapped from the cache
    labels: np.ndarray  # int64 [N], 0-based
    classes: list[str]

    def counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=len(self.classes))


def split_dir(name: str, split: str, root: Path) -> Path:
    """Cache folder of one split of one data set found under ``root``."""
    key = hashlib.sha256(repr((CACHE_VERSION, name, split, str(root.resolve()))).encode())
    return cache_dir() / "real" / f"{name}-{split}-{key.hexdigest()[:12]}"


def split_index(name: str, split: str, make: Callable[[], Source], root: Path):
    """(labels, classes) of a split, from the cache; made once by ``make`` (a scan, no decode)."""
    path = split_dir(name, split, root) / "index.npz"
    if path.exists():
        try:
            with np.load(path) as z:
                return z["labels"], [str(c) for c in z["classes"]]
        except Exception:  # a corrupt entry is rebuilt, never trusted
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
            images = np.load(path, mmap_mode="r")
            if images.shape == (len(labels), 3, size, size):
                return CachedSplit(images, labels, classes)
        except Exception:
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


# ----------------------------------------------------------------------------- pre-training sets
def _imagenet_folder(root: Path, split: str) -> Source:
    from torchvision.datasets import ImageFolder

    ds = _torchvision(lambda: ImageFolder(str(root / "imagenet" / split)), "imagenet")
    return file_source(ds, ds.targets, ds.classes)


def _read_batch(path: Path) -> dict:
    if path.suffix == ".npz":
        with np.load(path) as z:
            return {"data": z["data"], "labels": z["labels"]}
    with open(path, "rb") as f:
        return pickle.load(f, encoding="latin1")


def _batch_files(folder: Path, split: str) -> list[Path]:
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


def _downsampled_imagenet(root: Path, split: str, name: str) -> Source:
    """Downsampled ImageNet (no torchvision class): pickled dicts, 'data' [N, 3*S*S] uint8 in
    channel-major order (all red, then green, then blue) and 'labels' numbered from 1."""
    folder = root / name
    files = _batch_files(folder, split)
    side = int(name.removeprefix("imagenet"))
    labels = np.concatenate(
        [np.asarray(_read_batch(f)["labels"], dtype=np.int64) - 1 for f in files]
    )
    if labels.min() < 0:
        raise ValueError(f"{name}: labels must be numbered from 1 (found 0) in {folder}")

    def chunk(f: Path) -> np.ndarray:
        data = np.asarray(_read_batch(f)["data"], dtype=np.uint8)
        return data.reshape(len(data), 3, side, side)

    classes = [f"class {i + 1}" for i in range(int(labels.max()) + 1)]
    return Source(labels, classes, chunks=[partial(chunk, f) for f in files])


def _cifar(root: Path, name: str, train: bool) -> Source:
    from torchvision.datasets import CIFAR10, CIFAR100

    cls = CIFAR100 if name == "cifar100" else CIFAR10
    ds = _torchvision(lambda: cls(str(root), train=train, download=False), name)
    return array_source(ds.data.transpose(0, 3, 1, 2), ds.targets, ds.classes)


PRETRAIN_SOURCES: dict[str, Callable[[Path, str], Source]] = {
    "imagenet": _imagenet_folder,
    "imagenet32": partial(_downsampled_imagenet, name="imagenet32"),
    "imagenet64": partial(_downsampled_imagenet, name="imagenet64"),
    "cifar100": lambda root, split: _cifar(root, "cifar100", split == "train"),
}


def _pretrain_split(dataset: str, data_root, split: str = "train"):
    root = locate(dataset, data_root)
    return root, partial(PRETRAIN_SOURCES[dataset], root, split)


def pool_labels(dataset: str, data_root=None) -> tuple[np.ndarray, list[str]]:
    """Labels of every pre-training image (the training split), from the cached index."""
    root, make = _pretrain_split(dataset, data_root)
    return split_index(dataset, "train", make, root)


def real_limits(dataset: str, data_root=None) -> tuple[int, int]:
    """(classes in the pool, images per class that every class has): the pool is every class
    of the training split; n is capped by the smallest class, so any K classes drawn have n."""
    labels, _ = pool_labels(dataset, data_root)
    counts = np.bincount(labels)
    counts = counts[counts > 0]
    return len(counts), int(counts.min())


def load_pretrain_split(dataset: str, size: int, data_root=None, workers=None) -> CachedSplit:
    root, make = _pretrain_split(dataset, data_root)
    return cached_tensor(dataset, "train", size, make, root, workers)
