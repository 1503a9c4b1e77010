"""Nothing executable is loaded from an output, cache or data folder.

Each test plants a pickle whose ``__reduce__`` would create a marker file where the package
expects a file it wrote itself (or a data file from the web), and checks that loading refuses it
with an error naming the file and saying what to do, and that the marker never appears.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from test_realdata import make_downsampled

from pretrain_diversity.data.glyphs import load_bank
from pretrain_diversity.data.pool import pretraining_set
from pretrain_diversity.data.real.cache import split_dir
from pretrain_diversity.data.real.readers import BatchUnpickler, load_pretrain_split, read_batch
from pretrain_diversity.runs.experiment import (
    CHECKPOINT, TrainingStopped, run_dir_for, run_experiment,
)  # fmt: skip
from pretrain_diversity.storage import UntrustedFile, cache_dir


class Planted:
    """Unpickling this runs ``exec``, which creates ``marker``."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').close()",))


@pytest.fixture
def marker(tmp_path) -> Path:
    return tmp_path / "ran-planted-code"


def plain_pickle(marker: Path) -> bytes:
    return pickle.dumps({"model": Planted(marker)})


def torch_zip(marker: Path) -> bytes:
    buf = io.BytesIO()
    torch.save({"run_id": "x", "model": Planted(marker)}, buf)
    return buf.getvalue()


def npz_with_object(marker: Path) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, labels=np.arange(3), classes=np.array([Planted(marker)], dtype=object))
    return buf.getvalue()


def test_the_planted_pickles_do_run_code_when_unpickled(tmp_path):
    """The check below would be empty if the planted files were harmless."""
    for i, make in enumerate([plain_pickle, torch_zip]):
        m = tmp_path / f"proof{i}"
        if make is torch_zip:
            torch.load(io.BytesIO(make(m)), weights_only=False)
        else:
            pickle.loads(make(m))
        assert m.exists()


def refused(excinfo, path: Path, *words: str) -> None:
    text = str(excinfo.value)
    assert excinfo.value.path == path and str(path) in text, text
    for w in ("refused to load", *words):
        assert w in text, (w, text)


# ----------------------------------------------------------------------------- checkpoints
@pytest.mark.parametrize("make", [plain_pickle, torch_zip])
def test_a_planted_checkpoint_is_refused_and_never_run(make, tiny_cfg, tmp_path, marker):
    cfg = tiny_cfg.with_(epochs=1.0, probe_tasks=("shapes",))
    ck = run_dir_for(cfg, tmp_path / "runs") / CHECKPOINT
    ck.parent.mkdir(parents=True)
    ck.write_bytes(make(marker))
    with pytest.raises(UntrustedFile) as err:
        run_experiment(cfg, tmp_path / "runs", progress=False)
    refused(err, ck, "checkpoint", "Delete it", "first step")
    assert not marker.exists()


def test_a_damaged_checkpoint_is_recovered_by_training_from_the_start(tiny_cfg, tmp_path):
    cfg = tiny_cfg.with_(epochs=4.0, probe_tasks=("shapes",))
    whole = run_experiment(cfg, tmp_path / "whole", progress=False)
    with pytest.raises(TrainingStopped):
        run_experiment(cfg, tmp_path / "cut", progress=False, stop_after=cfg.steps // 2)
    ck = run_dir_for(cfg, tmp_path / "cut") / CHECKPOINT
    data = ck.read_bytes()
    ck.write_bytes(data[: len(data) // 2])  # truncated: a disk filled up mid-write elsewhere
    again = run_experiment(cfg, tmp_path / "cut", progress=False)
    assert again["history"] == whole["history"]
    assert again["metrics"]["probe"] == whole["metrics"]["probe"]


# ----------------------------------------------------------------------------- caches
def test_a_planted_image_set_in_the_cache_is_refused(tiny_cfg, marker):
    cfg = tiny_cfg.with_(n_classes=5, samples_per_class=3, seed=123)
    before = set((cache_dir() / "sets").glob("*"))
    first = pretraining_set(cfg)
    (path,) = set((cache_dir() / "sets").glob("*")) - before
    assert path.name.endswith(".tensors.pt")
    assert torch.equal(pretraining_set(cfg).images, first.images)  # the real file loads
    path.write_bytes(torch_zip(marker))
    with pytest.raises(UntrustedFile) as err:
        pretraining_set(cfg)
    refused(err, path, "cached image set", "Delete it")
    assert not marker.exists()
    path.write_bytes(b"PK\x03\x04 damaged")  # a damaged entry is simply made again
    assert torch.equal(pretraining_set(cfg).images, first.images)


def test_a_planted_glyph_bank_is_refused(tmp_path, marker):
    real = load_bank()
    name = next(cache_dir().glob("glyph-bank-*.npz")).name
    (tmp_path / name).write_bytes(plain_pickle(marker))
    with pytest.raises(UntrustedFile) as err:
        load_bank(str(tmp_path))
    refused(err, tmp_path / name, "glyph bank", "Delete it")
    assert not marker.exists() and real.n_classes > 1000


@pytest.fixture
def imagenet32(tmp_path):
    root = tmp_path / "data"
    make_downsampled(root, 32, npz=False)
    return root


@pytest.mark.parametrize("which", ["index.npz", "8px.npy"])
@pytest.mark.parametrize("make", [plain_pickle, npz_with_object])
def test_planted_files_in_the_decoded_cache_are_refused(which, make, imagenet32, marker):
    first = load_pretrain_split("imagenet32", 8, data_root=imagenet32)
    images = np.array(first.images)  # a copy: the memmap would see the planted bytes
    path = split_dir("imagenet32", "train", imagenet32) / which
    assert path.exists()
    path.write_bytes(make(marker))
    with pytest.raises(UntrustedFile) as err:
        load_pretrain_split("imagenet32", 8, data_root=imagenet32)
    refused(err, path, "Delete it")
    assert not marker.exists()
    path.unlink()  # as the message says: deleted, it is made again, the same
    again = load_pretrain_split("imagenet32", 8, data_root=imagenet32)
    assert np.array_equal(again.images, images) and np.array_equal(again.labels, first.labels)


# ----------------------------------------------------------------------------- data files
def test_a_planted_imagenet_batch_is_refused(imagenet32, marker):
    path = imagenet32 / "imagenet32" / "train_data_batch_1"
    path.write_bytes(plain_pickle(marker))
    with pytest.raises(UntrustedFile) as err:
        load_pretrain_split("imagenet32", 8, data_root=imagenet32)
    refused(err, path, "Downsampled ImageNet batch", "builtins.exec", "image-net.org")
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_real_batches_still_read_at_every_pickle_protocol(protocol, tmp_path):
    data = np.arange(2 * 3 * 4 * 4, dtype=np.uint8).reshape(2, -1)
    batch = {"data": data, "labels": [3, 7], "mean": data.mean(0)}
    path = tmp_path / "train_data_batch_1"
    path.write_bytes(pickle.dumps(batch, protocol=protocol))
    got = read_batch(path)
    assert np.array_equal(got["data"], data) and got["labels"] == [3, 7]
    assert np.array_equal(got["mean"], batch["mean"])
    assert issubclass(BatchUnpickler, pickle.Unpickler)
