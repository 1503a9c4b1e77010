"""Where each real data set lies: one *data root*, one sub-folder per set.

The data root is the ``data_root`` argument where a function takes one, else the environment
variable ``$PRETRAIN_DIVERSITY_DATA``. ``LOCATIONS`` names the sub-folder (torchvision's own
folder name wherever torchvision has a class for the set), the files that must be there and
where to get them; a missing set raises ``DataNotFound`` saying all three. Nothing is downloaded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DATA_ENV = "PRETRAIN_DIVERSITY_DATA"


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
