"""The figure fingerprints that pin the book's pages hold on any CPU and still catch a change.

A picture of the data (uint8 glyph montages) may move by a grey level in a few pixels on another
kind of CPU, and a computed curve by a few ulps: both must pass. Another picture (other glyphs,
another seed), another size, or a curve moved by a visible amount must fail.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import figure_fingerprint as fp  # noqa: E402


def _pinned(x):
    """As a pin stores it (JSON round trip)."""
    return json.loads(json.dumps(x))


def _montage(seed: int, shape=(34, 265)) -> np.ndarray:
    """A picture like the data page's montages: dark pad, bright strokes, uint8."""
    rng = np.random.default_rng(seed)
    img = np.full(shape, 60, np.uint8)
    for _ in range(40):
        r, c = rng.integers(0, shape[0] - 6), rng.integers(0, shape[1] - 6)
        img[r:r + rng.integers(2, 7), c:c + rng.integers(2, 7)] = rng.integers(150, 256)
    return img


def _figure_of(img) -> dict:
    fig, ax = plt.subplots()
    ax.imshow(img, cmap="gray", vmin=0, vmax=255)
    try:
        return _pinned(fp.figure(fig))
    finally:
        plt.close(fig)


@pytest.fixture(scope="module")
def glyphs():
    """Real glyph montages from the embedded bank, as the data page draws them."""
    from pretrain_diversity.data.glyphs import load_bank
    from pretrain_diversity.data.sampling import two_step_sample
    from pretrain_diversity.data.pool import glyph_split
    from pretrain_diversity.figures.montage import tile

    bank = load_bank()
    pool = glyph_split(bank.n_classes).pool
    return [tile(two_step_sample(bank, pool, 6, 8, 16, seed=s).images, 8) for s in (0, 1)]


def test_image_is_summarised_not_digested():
    want = _figure_of(_montage(0))
    (img,) = want["axes"][0]["images"]
    assert img["quantised"] is True and img["shape"] == [34, 265]
    assert len(img["thumb"]) == fp.THUMB and len(img["thumb"][0]) == fp.THUMB
    assert "sha1" not in json.dumps(want)


def test_a_grey_level_here_and_there_passes(glyphs):
    """What another CPU does to a quantised picture: a few pixels one or two levels off."""
    a = glyphs[0]
    rng = np.random.default_rng(0)
    b = a.astype(int)
    hit = rng.random(a.shape) < 0.05
    b[hit] += rng.choice([-2, -1, 1, 2], size=hit.sum())
    b = np.clip(b, 0, 255).astype(np.uint8)
    assert not np.array_equal(a, b)
    assert fp.same(_figure_of(b), _figure_of(a)) == []


def test_other_glyphs_fail(glyphs):
    diffs = fp.same(_figure_of(glyphs[1]), _figure_of(glyphs[0]))
    assert any("/thumb" in d for d in diffs), diffs


def test_a_changed_glyph_fails(glyphs):
    """One 16 px glyph of 48 replaced by blank ground is a change a reader sees."""
    b = glyphs[0].copy()
    b[1:17, 1:17] = b[0, 0]
    assert fp.same(_figure_of(b), _figure_of(glyphs[0]))


def test_another_size_fails():
    assert fp.same(_figure_of(_montage(0, (35, 265))), _figure_of(_montage(0)))


def test_float_images_are_compared_tightly():
    heat = np.linspace(0, 1, 400).reshape(20, 20)
    want = _figure_of(heat)
    assert want["axes"][0]["images"][0]["quantised"] is False
    assert fp.same(_figure_of(heat * (1 + 1e-12)), want) == []
    assert fp.same(_figure_of(heat * 1.001), want)


def _line(y) -> dict:
    fig, ax = plt.subplots()
    ax.plot(np.arange(len(y)), y)
    try:
        return _pinned(fp.figure(fig))
    finally:
        plt.close(fig)


def test_long_lines_pass_ulps_and_fail_a_visible_change():
    y = np.exp(-np.linspace(0, 4, 500))
    want = _line(y)
    summary = want["axes"][0]["lines"][0]["y"]
    assert summary["n"] == 500 and len(summary["profile"]) == fp.PROFILE
    assert fp.same(_line(y * (1 + 3e-15)), want) == []
    bumped = y.copy()
    bumped[250] *= 1.01  # one point of 500, 1 % up
    assert fp.same(_line(bumped), want)
    assert fp.same(_line(y[:-1]), want)


def test_exact_parts_stay_exact():
    assert fp.same({"a": "10.1%", "n": 3}, {"a": "10.1%", "n": 3}) == []
    assert fp.same({"a": "10.2%"}, {"a": "10.1%"})
    assert fp.same({"n": 4}, {"n": 3})
    assert fp.same({"x": 1.0 + 1e-12}, {"x": 1.0}) == []
    assert fp.same({"x": 3e-14}, {"x": 2.9e-14}) == []  # zero up to rounding
    assert fp.same({"x": 1.001}, {"x": 1.0})
    assert fp.same([1.0, 2.0], [1.0])
    assert fp.same({"a": 1}, {"b": 1})
