"""The font pre-training source on the installed Debian faces (scripts/ensure-data's subset).

Without the packages these tests skip with the install hint, except under ``CI``, where a
missing package is a broken image and fails.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from pretrain_diversity.config import ConfigError, RunConfig
from pretrain_diversity.data import fonts
from pretrain_diversity.data.fonts import FontsNotFound, placeholder_flags, small
from pretrain_diversity.data.fonts_split import (
    FONT_SPLIT_SEED, face_counts, font_split, fonts_and_split, split_faces, two_step_fonts,
)  # fmt: skip
from pretrain_diversity.data.pool import dataset_limits, pretraining_set

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
WQY = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
IPA = Path("/usr/share/fonts/opentype/ipafont-gothic")
LIBERATION = Path("/usr/share/fonts/truetype/liberation2")
FREEFONT = Path("/usr/share/fonts/truetype/freefont")
NEEDED = {
    "fonts-liberation2": LIBERATION / "LiberationSans-Regular.ttf",
    "fonts-freefont-ttf": FREEFONT / "FreeSans.ttf",
    "fonts-dejavu-core": DEJAVU / "DejaVuSans.ttf",
    "fonts-dejavu-extra": DEJAVU / "DejaVuSerifCondensed.ttf",
    "fonts-wqy-microhei": WQY,
    "fonts-ipafont-gothic": IPA / "ipagp.ttf",
}


def require(paths: dict[str, Path]) -> None:
    """Skip with the install hint, or fail under CI, when a package's file is missing."""
    missing = [pkg for pkg, p in paths.items() if not p.exists()]
    if not missing:
        return
    reason = (f"missing Debian packages {', '.join(missing)}: run scripts/ensure-data "
              f"(or apt-get install {' '.join(missing)})")  # fmt: skip
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def font_dir(tmp_path_factory) -> Path:
    """A small font folder: DejaVu, Liberation and GNU FreeFont (Latin, Greek, Cyrillic; 11
    families), WenQuanYi Micro Hei (a .ttc of two faces whose Han are identical) and IPA Gothic
    with its proportional twin."""
    require(NEEDED)
    d = tmp_path_factory.mktemp("fonts")
    latin = [*DEJAVU.glob("*.ttf"), *LIBERATION.glob("*.ttf"), *FREEFONT.glob("*.ttf")]
    for f in sorted(latin) + [WQY, IPA / "ipag.ttf", IPA / "ipagp.ttf"]:
        (d / f.name).symlink_to(f)
    return d


@pytest.fixture
def use_fonts(font_dir, monkeypatch) -> Path:
    monkeypatch.setenv(fonts.FONT_DIRS_ENV, str(font_dir))
    return font_dir


@pytest.fixture(scope="module")
def bank(font_dir):
    return fonts.load_font_bank((str(font_dir),))


def face_index(bank, name: str) -> int:
    return [f.name for f in bank.faces].index(name)


def test_renders_are_inked_and_distinct_within_each_class(bank):
    assert bank.n_classes > 3000  # the Han characters are drawn by WenQuanYi and IPA
    ink = (bank.images >= 128).sum(axis=(1, 2))
    assert ink.min() >= fonts.MIN_INK
    for c in range(0, bank.n_classes, 7):
        x = small(bank.images[bank.offsets[c] : bank.offsets[c + 1]])
        d = np.abs(x[:, None] - x[None]).mean(-1)
        np.fill_diagonal(d, 1.0)
        assert d.min() >= fonts.NEAR_DUP_TOL, f"class {bank.char(c)!r} keeps two near copies"
    # each face contributes at most one render per class
    cls = np.repeat(np.arange(bank.n_classes), bank.variants_per_class)
    pairs = cls.astype(np.int64) * len(bank.faces) + bank.render_face
    assert len(np.unique(pairs)) == len(pairs)


def test_duplicate_faces_are_dropped_whole(bank):
    drawn = np.bincount(bank.render_face, minlength=len(bank.faces))
    assert drawn[face_index(bank, "IPAGothic Regular")] > 3000
    assert drawn[face_index(bank, "IPAPGothic Regular")] == 0  # the proportional twin
    assert drawn[face_index(bank, "WenQuanYi Micro Hei Regular")] > 3000
    assert drawn[face_index(bank, "WenQuanYi Micro Hei Mono Regular")] == 0


def test_placeholders_and_lookalikes_are_flagged():
    box = np.zeros((32, 32), np.uint8)
    box[4:28, 4] = box[4:28, 27] = box[4, 4:28] = box[27, 4:28] = 255  # a .notdef box
    a = np.zeros_like(box)
    a[8:24, 10:22] = 255
    other = np.eye(32, dtype=np.uint8) * 255
    images = np.stack([box, a, box, other, box, a.copy(), box])
    placeholder, copies_earlier = placeholder_flags(images)
    assert placeholder.tolist() == [True, False, True, False, True, False, True]
    # the second of two identical characters copies an earlier one; the first does not
    assert copies_earlier.tolist() == [False, False, False, False, False, True, False]


def test_per_class_face_counts_on_a_known_folder(tmp_path, monkeypatch):
    """DejaVu Sans, Sans Mono and Serif, a byte copy of DejaVu Sans (a duplicate face) and
    WenQuanYi Micro Hei (two faces, one Han design): 'A' has 4 faces, '中' has 1."""
    require(NEEDED)
    for f in ("DejaVuSans.ttf", "DejaVuSansMono.ttf", "DejaVuSerif.ttf"):
        (tmp_path / f).symlink_to(DEJAVU / f)
    (tmp_path / WQY.name).symlink_to(WQY)
    shutil.copy(DEJAVU / "DejaVuSans.ttf", tmp_path / "ZZ-copy-of-DejaVuSans.ttf")
    small_bank = fonts.load_font_bank((str(tmp_path),))
    assert len(small_bank.faces) == 6
    table = face_counts(small_bank).set_index("char")
    assert table.loc["A", "faces"] == 4
    assert table.loc["中", "faces"] == 1
    assert table.loc["Ж", "faces"] == 4
    assert set(table["script"]) == {"latin", "greek", "cyrillic", "han"}
    assert (table["pretrain_faces"] + table["heldout_faces"] == table["faces"]).all()
    drawn = np.bincount(small_bank.render_face, minlength=6)
    twins = [i for i, f in enumerate(small_bank.faces) if f.name == "DejaVu Sans Book"]
    assert sorted(drawn[twins].tolist())[0] == 0 and len(twins) == 2  # the copy goes, whole


def test_face_split_is_disjoint_by_family_and_fixed_by_the_seed(bank):
    held = split_faces(bank)
    assert np.array_equal(held, split_faces(bank, FONT_SPLIT_SEED))
    assert not np.array_equal(held, split_faces(bank, FONT_SPLIT_SEED + 1))
    families_held = {bank.faces[i].family for i in np.flatnonzero(held)}
    families_pre = {bank.faces[i].family for i in np.flatnonzero(~held)}
    assert families_held and not families_held & families_pre
    split = font_split(bank)
    assert len(split.heldout) > 0
    assert not set(split.heldout) & set(split.pool)


def test_a_run_draws_pool_classes_in_pretraining_faces_only(bank):
    split = font_split(bank)
    pre = bank.select(~split.heldout_face[bank.render_face])
    data = two_step_fonts(pre, split.pool, 6, 40, 32, seed=3)
    assert set(data.class_ids) <= set(split.pool)
    for label, c in enumerate(data.class_ids):
        mine = data.images[data.labels == label, 0].numpy()
        allowed = pre.images[pre.offsets[c] : pre.offsets[c + 1]]
        f = len(allowed)
        # every image is a render of its class in a pre-training face
        match = (mine[:, None] == allowed[None]).all(axis=(2, 3))
        assert match.any(axis=1).all()
        # the first min(n, F) images are distinct faces; beyond F, faces repeat
        first = match[: min(40, f)].argmax(axis=1)
        assert len(set(first.tolist())) == min(40, f)
    again = two_step_fonts(pre, split.pool, 6, 40, 32, seed=3)
    assert torch.equal(again.images, data.images)


def test_the_run_config_serves_the_font_source(use_fonts):
    pool, per_class = dataset_limits("fonts")
    _, split = fonts_and_split()
    assert pool == len(split.pool) and per_class >= 1000
    cfg = RunConfig(dataset="fonts", n_classes=5, samples_per_class=3, image_size=16)
    data = pretraining_set(cfg)
    assert data.images.shape == (15, 1, 16, 16) and data.images.dtype == torch.uint8
    with pytest.raises(ConfigError, match="class_pool"):
        dataset_limits("fonts", "latin")


def test_missing_fonts_raise_the_install_hint(tmp_path, monkeypatch):
    from pretrain_diversity.runs.experiment import run_experiment

    monkeypatch.setenv(fonts.FONT_DIRS_ENV, str(tmp_path))
    with pytest.raises(FontsNotFound, match="ensure-data") as e:
        dataset_limits("fonts")
    assert "fonts-dejavu-core" in str(e.value) and str(tmp_path) in str(e.value)
    cfg = RunConfig(dataset="fonts", n_classes=2, samples_per_class=2, probe_tasks=("shapes",))
    with pytest.raises(FontsNotFound, match="apt-get install"):
        run_experiment(cfg, tmp_path / "runs", progress=False)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("*.pt"))


def test_the_default_source_is_the_listed_packages_files_only():
    """A font another package installs (a browser pulls in fonts-liberation, say) must not
    enter the source: the bank and its face split would move under a running study."""
    import subprocess

    from pretrain_diversity.data.fonts import font_packages, package_font_files

    pk = font_packages()
    if subprocess.run(["dpkg-query", "-W", *pk], capture_output=True).returncode:
        pytest.skip("the font packages are not installed (scripts/ensure-data)")
    files = package_font_files()
    owners = subprocess.run(["dpkg-query", "-S", *map(str, files[:20])], capture_output=True,
                            text=True).stdout
    assert files and all(line.split(":")[0].split(",")[0].strip() in pk or "diversion" in line
                         for line in owners.splitlines() if line)
    others = [f for f in Path("/usr/share/fonts").rglob("*.ttf") if f.resolve() not in set(files)]
    assert all(f.resolve() not in files for f in others)


def test_a_missing_font_package_is_named():
    from pretrain_diversity.data.fonts import FontsNotFound, package_font_files

    with pytest.raises(FontsNotFound, match="font packages not installed: fonts-none-such"):
        package_font_files(["fonts-dejavu-core", "fonts-none-such"])
