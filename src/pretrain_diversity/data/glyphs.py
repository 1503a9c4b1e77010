"""The embedded many-class data set: every distinct glyph of the fonts that ship inside matplotlib.

Zhang et al. draw K classes from ImageNet's 1000; studying K over several decades with no download
needs more classes than any small real data set has. The DejaVu and STIX fonts bundled with
matplotlib cover about 6,400 visually distinct characters (Latin, Greek, Cyrillic, Arabic, Hebrew,
mathematical symbols, arrows, box drawing, ...). Each character is a class; each font that has it
contributes one *base render* (a "variant"). Samples are drawn from the base renders by
``data.sampling``.

The base bank is rendered once (about 20 s) and cached as a compressed ``.npz`` whose name carries
a fingerprint of the font files, so a different matplotlib with different fonts never reuses it.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from pretrain_diversity.storage import UntrustedFile, atomic_save_npz, cache_dir, load_arrays

BASE_SIZE = 32  # pixels of a base render; samples at 16 px are area-downsampled from it
FONT_PX = 22  # font size in pixels: capitals fill about 60% of the canvas
BANK_VERSION = 1
MIN_INK = 6  # a render with fewer lit pixels (>= 128) is treated as empty


def font_files() -> list[Path]:
    """The DejaVu (14 faces) and STIXGeneral (4 faces) fonts of the installed matplotlib."""
    import matplotlib

    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    files = sorted(ttf.glob("DejaVu*.ttf")) + sorted(ttf.glob("STIXGeneral*.ttf"))
    if not files:
        raise FileNotFoundError(f"no DejaVu/STIX fonts under {ttf}; is matplotlib installed?")
    return files


def _fingerprint(files: list[Path]) -> str:
    h = hashlib.sha256(f"v{BANK_VERSION}-{BASE_SIZE}-{FONT_PX}-{MIN_INK}".encode())
    for f in files:
        h.update(f.name.encode())
        h.update(str(f.stat().st_size).encode())
    return h.hexdigest()[:12]


def _renderable(cp: int) -> bool:
    """Skip controls, spaces, combining marks and private-use code points: no visible shape."""
    ch = chr(cp)
    cat = unicodedata.category(ch)
    return cat[0] not in "CZM"


def _render_font(path: Path, codepoints: list[int]) -> np.ndarray:
    """Render each code point centred on a BASE_SIZE canvas; shrink glyphs that would not fit."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(path), FONT_PX)
    out = np.zeros((len(codepoints), BASE_SIZE, BASE_SIZE), np.uint8)
    margin = 2
    for i, cp in enumerate(codepoints):
        ch = chr(cp)
        f = font
        left, top, right, bottom = f.getbbox(ch)
        w, h = right - left, bottom - top
        if w <= 0 or h <= 0:
            continue
        if max(w, h) > BASE_SIZE - 2 * margin:
            size = max(4, int(FONT_PX * (BASE_SIZE - 2 * margin) / max(w, h)))
            f = ImageFont.truetype(str(path), size)
            left, top, right, bottom = f.getbbox(ch)
            w, h = right - left, bottom - top
        img = Image.new("L", (BASE_SIZE, BASE_SIZE), 0)
        ImageDraw.Draw(img).text(((BASE_SIZE - w) / 2 - left, (BASE_SIZE - h) / 2 - top), ch, 255, f)
        out[i] = np.asarray(img)
    return out


class ClassRenders:
    """What the samplers read of a bank of renders grouped by class (the glyph bank and the font
    bank both): rows offsets[c]:offsets[c+1] of ``images`` are class c, of code point
    ``codepoints[c]``."""

    codepoints: np.ndarray
    offsets: np.ndarray

    @property
    def n_classes(self) -> int:
        return len(self.codepoints)

    @property
    def variants_per_class(self) -> np.ndarray:
        return np.diff(self.offsets)

    def char(self, c: int) -> str:
        return chr(int(self.codepoints[c]))


@dataclass(frozen=True)
class GlyphBank(ClassRenders):
    """All base renders, grouped by class: renders of class c are rows offsets[c]:offsets[c+1]."""

    images: np.ndarray  # uint8 [R, BASE_SIZE, BASE_SIZE], ink = 255 on 0
    offsets: np.ndarray  # int64 [C + 1]
    render_font: np.ndarray  # int16 [R], index into font_names
    codepoints: np.ndarray  # int32 [C]
    font_names: tuple[str, ...]
    fingerprint: str


    def name(self, c: int) -> str:
        return unicodedata.name(self.char(c), f"U+{int(self.codepoints[c]):04X}")


def _build(files: list[Path], fingerprint: str) -> GlyphBank:
    from fontTools.ttLib import TTFont

    cmaps = []
    for f in files:
        with TTFont(str(f), lazy=True) as tt:
            cmaps.append({cp for cp in tt.getBestCmap() if _renderable(cp)})
    all_cps = sorted(set().union(*cmaps))
    renders: dict[int, list[tuple[int, np.ndarray]]] = {cp: [] for cp in all_cps}
    for fi, (f, cmap) in enumerate(zip(files, cmaps)):
        cps = sorted(cmap)
        imgs = _render_font(f, cps)
        ink = (imgs >= 128).sum(axis=(1, 2))
        for cp, img, k in zip(cps, imgs, ink):
            if k >= MIN_INK:
                renders[cp].append((fi, img))

    # Classes must look different from each other: drop a class whose canonical render
    # (first font that has it), binarised at 16 px, equals an earlier class's (Latin A, Greek
    # Alpha and Cyrillic A are one shape).
    seen: set[bytes] = set()
    keep: list[int] = []
    for cp in all_cps:
        rs = renders[cp]
        if not rs:
            continue
        canon = rs[0][1].reshape(16, 2, 16, 2).mean(axis=(1, 3)) >= 96
        key = np.packbits(canon).tobytes()
        if key in seen:
            continue
        seen.add(key)
        keep.append(cp)

    counts = np.array([len(renders[cp]) for cp in keep], np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    images = np.stack([img for cp in keep for _, img in renders[cp]])
    render_font = np.array([fi for cp in keep for fi, _ in renders[cp]], np.int16)
    return GlyphBank(
        images=images,
        offsets=offsets,
        render_font=render_font,
        codepoints=np.array(keep, np.int32),
        font_names=tuple(f.stem for f in files),
        fingerprint=fingerprint,
    )


@lru_cache(maxsize=2)
def load_bank(cache: str | os.PathLike | None = None) -> GlyphBank:
    """The glyph bank, rendered on first use and cached on disk (atomic write).

    The cached file is read without pickles (``storage.load_arrays``); a damaged one is
    rendered again, one that holds pickled objects raises ``UntrustedFile``.
    """
    files = font_files()
    fp = _fingerprint(files)
    path = Path(cache or cache_dir()) / f"glyph-bank-{fp}.npz"
    z = None
    if path.exists():
        try:
            z = load_arrays(path, what="the cached glyph bank",
                            remedy=f"Delete it (rm {path}); it is rendered again on next use.")
        except UntrustedFile:
            raise
        except Exception:  # damaged: rendered again
            z = None
    if z is not None:
        return GlyphBank(
            images=z["images"],
            offsets=z["offsets"],
            render_font=z["render_font"],
            codepoints=z["codepoints"],
            font_names=tuple(str(s) for s in z["font_names"]),
            fingerprint=fp,
        )
    bank = _build(files, fp)
    atomic_save_npz(
        path,
        images=bank.images,
        offsets=bank.offsets,
        render_font=bank.render_font,
        codepoints=bank.codepoints,
        font_names=np.array(bank.font_names),
    )
    return bank
