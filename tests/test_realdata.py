"""Real data sets, read from tiny copies in their real on-disk formats that each test writes.

Nothing is downloaded. Every fake image of class c is a flat colour ``colour(c)`` (plus a little
texture), so a test can check that each decoded image still carries its own label.

torchvision checks the md5 sums of some files (CIFAR batches, the Flowers-102 .mat files, the
Places365 lists); a fake copy cannot match them, so ``md5_as_existence`` replaces that check by
an existence check in this module only. With real data the md5 checks stay in force.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from pretrain_diversity.data.real import cache as real_cache
from pretrain_diversity.config import ConfigError, RunConfig
from pretrain_diversity.runs.validation import validate
from pretrain_diversity.data.pool import dataset_limits, pretraining_set
from pretrain_diversity.tasks.registry import load_task
from pretrain_diversity.runs.experiment import check, run_experiment
from pretrain_diversity.data.real.locations import DATA_ENV, LOCATIONS, DataNotFound, locate
from pretrain_diversity.data.real.readers import load_pretrain_split
from pretrain_diversity.data.sampling import two_step_indices
from pretrain_diversity.training.augment import random_flip


def colour(c: int) -> np.ndarray:
    return np.array([(67 * c) % 200 + 30, (151 * c) % 200 + 30, (29 * c + 90) % 200 + 30], np.uint8)


def flat(c: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    """uint8 [h, w, 3]: colour(c) with +-4 of noise."""
    noise = np.random.default_rng(seed).integers(-4, 5, (h, w, 3))
    return (colour(c).astype(int) + noise).clip(0, 255).astype(np.uint8)


def save_image(path, c: int, size=(20, 14), seed: int = 0, mode: str = "RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(flat(c, size[1], size[0], seed))
    img.convert(mode).save(path)


def assert_colours(images: torch.Tensor, classes, tol: int = 14) -> None:
    """Every image's mean colour is its class's colour (JPEG and resizing move it a little)."""
    means = images.float().mean((2, 3)).numpy()
    want = np.stack([colour(int(c)) for c in classes]).astype(float)
    assert np.abs(means - want).max() < tol, np.abs(means - want).max()


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv(DATA_ENV, str(root))
    return root


@pytest.fixture(autouse=True)
def md5_as_existence(monkeypatch):
    import os

    import torchvision.datasets.flowers102 as flowers
    import torchvision.datasets.places365 as places
    from torchvision.datasets import cifar

    for module in (cifar, flowers, places):
        monkeypatch.setattr(module, "check_integrity", lambda fpath, md5=None: os.path.isfile(fpath))


# ----------------------------------------------------------------------------- fake data sets
def make_imagefolder(folder, counts, ext=".JPEG") -> None:
    for c, m in enumerate(counts):
        for i in range(m):
            size = [(20, 14), (12, 24), (16, 16)][i % 3]  # landscape, portrait, square
            mode = "L" if (c, i) == (0, 0) else "RGB"  # ImageNet has a few greyscale JPEGs
            col = 0 if mode == "L" else c
            save_image(folder / f"n{c:08d}" / f"n{c:08d}_{i}{ext}", col, size, seed=i, mode=mode)


def _pickle(path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(obj))


def _pixels(labels, side: int, seed: int) -> np.ndarray:
    """uint8 [N, 3*side*side], channel-major rows as in the CIFAR / downsampled batches."""
    imgs = np.stack([flat(c, side, side, seed + i) for i, c in enumerate(labels)])
    return imgs.transpose(0, 3, 1, 2).reshape(len(labels), -1)


def make_cifar(root, name: str, n_classes: int, train_per: int, test_per: int) -> None:
    def labels(per):
        return [c for _ in range(per) for c in range(n_classes)]  # interleaved, as in CIFAR

    if name == "cifar100":
        folder, key = root / "cifar-100-python", "fine_labels"
        names = {"fine_label_names": [f"fine{c}" for c in range(n_classes)],
                 "coarse_label_names": ["coarse"]}  # fmt: skip
        files = {"train": labels(train_per), "test": labels(test_per)}
        _pickle(folder / "meta", names)
    else:
        folder, key = root / "cifar-10-batches-py", "labels"
        _pickle(folder / "batches.meta", {"label_names": [f"c{c}" for c in range(n_classes)]})
        files = {f"data_batch_{i}": labels(train_per // 5) for i in range(1, 6)}
        files["test_batch"] = labels(test_per)
    for i, (f, y) in enumerate(files.items()):
        _pickle(folder / f, {"data": _pixels(y, 32, 100 * i), key: y, "coarse_labels": y,
                             "filenames": [f"{j}.png" for j in range(len(y))]})  # fmt: skip


def make_downsampled(root, side: int, npz: bool):
    folder = root / f"imagenet{side}"
    folder.mkdir(parents=True)
    batches = [[1, 2, 3, 4, 5, 1, 2, 3], [4, 5, 1, 2, 3, 4, 5, 1, 2]]  # labels start at 1
    raw = []
    for i, y in enumerate(batches + [[1, 2, 3, 4, 5]]):
        data = _pixels([c - 1 for c in y], side, 10 * i)
        name = f"train_data_batch_{i + 1}" if i < len(batches) else "val_data"
        if npz:
            np.savez(folder / f"{name}.npz", data=data, labels=np.array(y))
        else:
            _pickle(folder / name, {"data": data, "labels": y, "mean": data.mean(0)})
        raw.append((data, y))
    return raw[:-1]


def make_dtd(root):
    base = root / "dtd" / "dtd"
    for split in ("train", "val", "test"):
        lines = []
        for c, cls in enumerate(["banded", "dotted", "woven"]):
            for i in range(2):
                name = f"{cls}_{split}{i}.jpg"
                save_image(base / "images" / cls / name, c, seed=i)
                lines.append(f"{cls}/{name}")
        (base / "labels").mkdir(parents=True, exist_ok=True)
        (base / "labels" / f"{split}1.txt").write_text("\n".join(lines) + "\n")
    return 3, {"train": 6, "val": 6, "test": 6}


def make_flowers(root):
    from scipy.io import savemat

    base = root / "flowers-102"
    ids = np.arange(1, 19)
    labels = (ids - 1) // 6 + 1  # classes 1..3, six images each
    for i, y in zip(ids, labels):
        save_image(base / "jpg" / f"image_{i:05d}.jpg", y - 1, seed=int(i))
    savemat(base / "imagelabels.mat", {"labels": labels[None, :]})
    pos = (ids - 1) % 6
    savemat(base / "setid.mat", {"trnid": ids[pos < 2][None], "valid": ids[(pos >= 2) & (pos < 4)][None],
                                 "tstid": ids[pos >= 4][None]})  # fmt: skip
    return 102, {"train": 6, "val": 6, "test": 6}  # the class list is the official 102 names


def make_pets(root):
    base = root / "oxford-iiit-pet"
    (base / "annotations").mkdir(parents=True)
    breeds = ["Abyssinian", "american_bulldog", "Bengal"]
    for split, per in (("trainval", 5), ("test", 2)):
        lines = []
        for c, breed in enumerate(breeds):
            for i in range(per):
                image_id = f"{breed}_{split}{i}"
                save_image(base / "images" / f"{image_id}.jpg", c, seed=i)
                lines.append(f"{image_id} {c + 1} {1 if breed[0].isupper() else 2} 1")
        (base / "annotations" / f"{split}.txt").write_text("\n".join(lines) + "\n")
    return 3, {"train": 12, "val": 3, "test": 6}  # 5 trainval per class -> 4 train + 1 val


def make_caltech(root):
    base = root / "caltech101" / "101_ObjectCategories"
    for c, cat in enumerate(["BACKGROUND_Google", "Faces", "accordion", "airplanes"]):
        for i in range(1, 11):
            mode = "L" if (cat, i) == ("accordion", 1) else "RGB"  # Caltech has grey images
            save_image(base / cat / f"image_{i:04d}.jpg", max(c - 1, 0), seed=i, mode=mode)
    return 3, {"train": 15, "val": 3, "test": 12}


def make_eurosat(root):
    for c, cls in enumerate(["AnnualCrop", "Forest", "River"]):
        for i in range(10):
            save_image(root / "eurosat" / "2750" / cls / f"{cls}_{i + 1}.jpg", c, (16, 16), i)
    return 3, {"train": 18, "val": 6, "test": 6}


def make_places(root):
    base = root / "places365"
    classes = ["/a/abbey", "/b/beach", "/c/canyon"]
    (base / "categories_places365.txt").parent.mkdir(parents=True)
    (base / "categories_places365.txt").write_text("".join(f"{c} {i}\n" for i, c in enumerate(classes)))
    lines = []
    for c, cls in enumerate(classes):
        for i in range(12):
            rel = f"{cls}/{i + 1:08d}.jpg"
            save_image(base / "data_256_standard" / rel.lstrip("/"), c, (24, 24), i)
            lines.append(f"{rel} {c}")
    (base / "places365_train_standard.txt").write_text("\n".join(lines) + "\n")
    return 3, {"train": 3, "val": 3, "test": 30}  # 12 per class, cut 100:50:900 -> 1/1/10


FAKE_TASKS = {
    "cifar10": lambda root: (make_cifar(root, "cifar10", 10, 10, 3), (10, {"train": 90, "val": 10, "test": 30}))[1],
    "cifar100": lambda root: (make_cifar(root, "cifar100", 6, 10, 2), (6, {"train": 54, "val": 6, "test": 12}))[1],
    "dtd": make_dtd,
    "flowers102": make_flowers,
    "pets": make_pets,
    "caltech101": make_caltech,
    "eurosat": make_eurosat,
    "places365": make_places,
}  # fmt: skip


# ----------------------------------------------------------------------------- tests
def test_missing_data_says_where_it_goes_and_where_to_get_it(tmp_path, monkeypatch):
    monkeypatch.delenv(DATA_ENV, raising=False)
    with pytest.raises(DataNotFound) as err:
        dataset_limits("cifar100")
    for words in (DATA_ENV, "cifar-100-python", "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                  "nothing is downloaded"):  # fmt: skip
        assert words in str(err.value)
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    for name, loc in LOCATIONS.items():
        with pytest.raises(DataNotFound) as err:
            locate(name)
        msg = str(err.value)
        assert str(tmp_path / loc.folder) in msg and loc.source.split()[0] in msg and DATA_ENV in msg
    # an explicit data_root wins over the environment variable, and is named in the message
    with pytest.raises(DataNotFound, match="data_root argument"):
        locate("dtd", data_root=tmp_path / "elsewhere")


def test_checks_fail_before_any_work(data_root, tmp_path):
    with pytest.raises(DataNotFound, match="imagenet32"):
        check(RunConfig(dataset="imagenet32", image_size=32, probe_tasks=("digits",)))
    with pytest.raises(ConfigError, match="n_classes=0"):  # plain checks come before the data
        check(RunConfig(dataset="imagenet32", n_classes=0, probe_tasks=("digits",)))
    with pytest.raises(ConfigError, match="image_size <= 32"):
        validate(RunConfig(dataset="imagenet32", image_size=64))
    make_cifar(data_root, "cifar100", 6, 10, 2)
    cfg = RunConfig(dataset="cifar100", n_classes=4, samples_per_class=6, image_size=8)
    with pytest.raises(ConfigError, match="pre-training data set itself"):
        check(cfg.with_(probe_tasks=("cifar100", "digits")))
    with pytest.raises(DataNotFound, match="dtd"):  # a missing probe set, found before training
        run_experiment(cfg.with_(probe_tasks=("dtd",)), tmp_path / "runs")
    assert not (tmp_path / "runs").exists()
    with pytest.raises(ConfigError, match="samples_per_class=11"):  # the cap: 10 per class here
        check(cfg.with_(samples_per_class=11, probe_tasks=("digits",)))


def test_imagenet_folder_subsets_are_seeded_index_masks_of_one_decoded_tensor(data_root, monkeypatch):
    make_imagefolder(data_root / "imagenet" / "train", [5, 6, 7, 5])
    assert dataset_limits("imagenet") == (4, 5)
    cfg = RunConfig(dataset="imagenet", n_classes=3, samples_per_class=4, image_size=16)
    a = pretraining_set(cfg)
    assert a.images.shape == (12, 3, 16, 16) and a.images.dtype == torch.uint8
    assert torch.bincount(a.labels).tolist() == [4, 4, 4]
    split = load_pretrain_split("imagenet", 16)
    index, _, chosen = two_step_indices(split.labels, 3, 4, cfg.seed)
    assert torch.equal(a.images, torch.from_numpy(split.images[index]))
    assert (split.labels[index] == chosen[a.labels.numpy()]).all()
    decoded = torch.from_numpy(np.array(split.images))
    keep = colour_coded(decoded)  # one greyscale JPEG is left out
    assert int(keep.sum()) == len(keep) - 1
    assert_colours(decoded[keep], split.labels[keep.numpy()])
    # same seed, same set; another seed, another draw; draws are nested in K and n
    assert torch.equal(pretraining_set(cfg).images, a.images)
    b = two_step_indices(split.labels, 3, 4, 1)[0]
    assert not np.array_equal(b, index)
    small = two_step_indices(split.labels, 2, 3, cfg.seed)[0]
    assert np.array_equal(small.reshape(2, 3), index.reshape(3, 4)[:2, :3])
    # decoded once: with decoding disabled the same set comes from the cache
    monkeypatch.setattr(real_cache, "decode_source", lambda *a, **k: pytest.fail("decoded twice"))
    assert torch.equal(pretraining_set(cfg).images, a.images)


@pytest.mark.parametrize("side, npz", [(32, False), (64, True)])
def test_downsampled_imagenet_batches(data_root, side, npz, monkeypatch):
    raw = make_downsampled(data_root, side, npz)
    name = f"imagenet{side}"
    data = np.concatenate([d for d, _ in raw]).reshape(-1, 3, side, side)
    labels = np.concatenate([y for _, y in raw]) - 1
    assert dataset_limits(name) == (5, 3)
    full = load_pretrain_split(name, side)
    half = load_pretrain_split(name, side // 2)
    assert np.array_equal(full.images, data) and np.array_equal(full.labels, labels)
    area = F.avg_pool2d(torch.from_numpy(data).float(), 2).round().to(torch.uint8)
    assert torch.equal(torch.from_numpy(np.array(half.images)), area)
    monkeypatch.setattr(real_cache, "decode_source", lambda *a, **k: pytest.fail("decoded twice"))
    assert np.array_equal(load_pretrain_split(name, side).images, data)
    cfg = RunConfig(dataset=name, n_classes=5, samples_per_class=3, image_size=side // 2,
                    probe_tasks=("digits",))  # fmt: skip
    check(cfg)
    assert pretraining_set(cfg).images.shape == (15, 3, side // 2, side // 2)


def colour_coded(images: torch.Tensor) -> torch.Tensor:
    """Mask of the images drawn in their class colour: greyscale fakes have red == blue."""
    return ~(images[:, 0] == images[:, 2]).all(2).all(1)


@pytest.mark.parametrize("task", sorted(FAKE_TASKS))
def test_downstream_task_in_its_real_format(data_root, task, monkeypatch):
    n_classes, sizes = FAKE_TASKS[task](data_root)
    t = load_task(task, 8)
    assert t.sizes() == sizes, t.description
    assert t.n_classes == n_classes
    for s in (t.train, t.val, t.test):
        assert s.images.shape[1:] == (3, 8, 8) and s.images.dtype == torch.uint8
        keep = colour_coded(s.images)
        assert_colours(s.images[keep], s.labels[keep].numpy())
    monkeypatch.setattr(real_cache, "decode_source", lambda *a, **k: pytest.fail("decoded twice"))
    again = load_task(task, 8)
    assert torch.equal(again.test.images, t.test.images)
    assert torch.equal(again.train.labels, t.train.labels)


def test_random_flip_and_large_batch_learning_rate():
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.uint8).view(2, 3, 4, 4).repeat(32, 1, 1, 1)
    g = torch.Generator().manual_seed(0)
    y = random_flip(x, g)
    flipped = (y == x.flip(3)).all((1, 2, 3))
    assert ((y == x).all((1, 2, 3)) | flipped).all() and 10 < int(flipped.sum()) < 54
    assert torch.equal(random_flip(x, torch.Generator().manual_seed(0)), y)
    assert RunConfig(batch_size=128).peak_lr == RunConfig().lr == 0.1
    assert RunConfig(batch_size=32).peak_lr == 0.1  # small batches keep lr (glyph runs unchanged)
    assert RunConfig(batch_size=512).peak_lr == pytest.approx(0.4)
    assert RunConfig(dataset="cifar100").natural and not RunConfig().natural


def test_end_to_end_cifar100_resnet18_on_cpu(data_root, tmp_path):
    """The GPU code path (channels-last ResNet-18, flips, batched shifts), on a CPU in seconds."""
    make_cifar(data_root, "cifar100", 6, 10, 2)
    make_cifar(data_root, "cifar10", 3, 10, 3)  # 3 of the 10 classes: the probe fits in a second
    cfg = RunConfig(
        dataset="cifar100", arch="resnet18", n_classes=4, samples_per_class=6, image_size=8,
        epochs=2.0, batch_size=8, probe_tasks=("cifar10", "shapes"),
    )  # fmt: skip
    m = run_experiment(cfg, tmp_path / "runs", progress=False)
    assert m["config"]["dataset"] == "cifar100" and m["metrics"]["pretrain"]["steps"] == 6
    assert m["metrics"]["pretrain"]["parameters"] > 10_000_000  # a real ResNet-18
    assert set(m["metrics"]["probe"]) == {"cifar10", "shapes"}  # grey shapes repeated into RGB
    for r in m["metrics"]["probe"].values():
        assert 0.0 <= r["test_error"] <= 1.0
    assert m["history"]["lr"][-1] <= cfg.lr
