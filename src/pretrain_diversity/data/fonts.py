"""A second pre-training source: characters rendered in the human-designed fonts on this disk.

The glyph bank (``glyphs.py``) has about 18 font renders per class, all from matplotlib, and its
variety comes mostly from our own random warps. Here a class is a character and an image is that
character in one real *face* (one design, one weight), so a class's variety is what type
designers drew, and its ceiling is visible: a class has exactly as many distinct images as there
are distinct faces that draw it (``fonts_split.face_counts``).

The faces come from the files of the Debian font packages listed in ``font-packages.txt``
(``scripts/ensure-data`` installs them; ``data.font_files``), or from the folders named in
``$PRETRAIN_DIVERSITY_FONT_DIRS`` (colon-separated). Every
face is rendered once at BASE_SIZE and the cleaned renders are cached as one ``.npz`` named by a
fingerprint of the face files, the character set and the render settings. Cleaning, in order:

1. symbol and pi faces (other signs on the letters' code points) are skipped; characters a face
   does not map (its cmap) are not rendered; renders with almost no ink are dropped;
2. placeholders: a bitmap that one face draws for PLACEHOLDER_MIN or more characters (a .notdef
   box, a "missing" glyph) is dropped from that face;
3. lookalike classes: a character whose render is identical to another character's in at least
   half of its faces (Latin A / Greek Alpha / Cyrillic A in one face, l / I) is dropped as a class;
4. duplicate faces: a face whose renders are near copies (mean absolute difference at 16 px under
   NEAR_DUP_TOL) of one earlier face's for at least FACE_DUP_FRAC of the characters it draws is
   dropped whole (hinted / unhinted copies, proportional twins of CJK faces, URW clones);
5. within each class, a render that is a near copy of an earlier face's render of that character
   is dropped, so every remaining image of a class is a distinct design.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from pretrain_diversity.data.glyphs import ClassRenders
from pretrain_diversity.data.font_files import (  # noqa: F401 (FONT_DIRS_ENV, FontsNotFound, ... re-exported)
    FONT_DIRS_ENV,
    FONT_SUFFIXES,
    INSTALL_HINT,
    FontsNotFound,
    font_dirs,
    font_files,
    font_packages,
    package_font_files,
)
from pretrain_diversity.storage import atomic_save_npz, cache_dir

BASE_SIZE = 32  # the glyph bank's base size: the same image sizes serve both sources
FONT_PX = 26  # em size in pixels: a Han character fills most of the canvas, a Latin capital ~60%
MARGIN = 2
MIN_INK = 6  # lit pixels (>= 128) below which a render is empty
MIN_CHARS = 20  # a face drawing fewer characters of the set is a symbol or pi font: skipped
PLACEHOLDER_MIN = 4  # one bitmap for this many characters of one face is a placeholder
LOOKALIKE_FRAC = 0.5
# Mean |difference| of two renders at 16 px (ink in [0, 1]) under which they are one design:
# clones (Nimbus Sans / TeX Gyre Heros) have a median of 0.012, distinct sans designs 0.024-0.039.
NEAR_DUP_TOL = 0.01
FACE_DUP_FRAC = 0.9
FONTS_VERSION = 1


@dataclass(frozen=True)
class Face:
    path: str
    index: int  # face number inside a .ttc/.otc collection (0 for single-face files)
    family: str
    style: str

    @property
    def name(self) -> str:
        return f"{self.family} {self.style}".strip()


def _names(tt) -> tuple[str, str]:
    family = tt["name"].getDebugName(16) or tt["name"].getDebugName(1) or ""
    style = tt["name"].getDebugName(17) or tt["name"].getDebugName(2) or ""
    return family, style


# The glyph name a face gives "A" when "A" is the letter A: its own name, Unicode or CID names.
LETTER_A_NAMES = re.compile(r"A(\..*)?|uni0041.*|u0041.*|glyph\d+|cid\d+|aj\d+|gid\d+")


def _symbol_face(tt, cmap: dict) -> bool:
    """A symbol or pi font that puts other signs on the letter code points (URW's Standard
    Symbols maps "A" to Alpha, its Dingbats to a10): only a Windows symbol cmap, or a glyph name
    for U+0041 that is not the letter's."""
    tables = tt["cmap"]
    if tables.getcmap(3, 0) is not None and not any(
        tables.getcmap(p, e) is not None for p, e in ((3, 1), (3, 10), (0, 3), (0, 4))
    ):
        return True
    name = cmap.get(0x41)
    return name is not None and not LETTER_A_NAMES.fullmatch(name)


def discover_faces(charset: np.ndarray, files: list[Path]):
    """Every face drawing at least MIN_CHARS characters of ``charset``, and the code points it maps.

    Returns ``(faces, covered)``; ``covered[i]`` is the sorted array of ``charset`` code points
    face i maps. Raises FontsNotFound when there is none.
    """
    from fontTools.ttLib import TTCollection, TTFont

    wanted = set(int(c) for c in charset)
    faces, covered = [], []
    for f in files:
        try:
            if f.suffix.lower() in (".ttc", ".otc"):
                fonts = list(TTCollection(str(f), lazy=True).fonts)
            else:
                fonts = [TTFont(str(f), lazy=True)]
        except Exception:  # an unreadable file is not a face; the others still count
            continue
        for i, tt in enumerate(fonts):
            try:
                cmap = tt.getBestCmap() or {}
                if _symbol_face(tt, cmap):
                    continue
                family, style = _names(tt)
            except Exception:
                continue
            cps = np.array(sorted(wanted.intersection(cmap)), np.int32)
            if len(cps) >= MIN_CHARS:
                faces.append(Face(str(f), i, family, style))
                covered.append(cps)
    if not faces:
        where = f"{files[0].parent} ..." if files else "no file"
        raise FontsNotFound(
            f"no font faces drawing at least {MIN_CHARS} characters of the font character set "
            f"in {len(files)} font files ({where}): {INSTALL_HINT}"
        )
    return faces, covered


def render_face(face: Face, codepoints: np.ndarray) -> np.ndarray:
    """uint8 [M, BASE_SIZE, BASE_SIZE]: each character centred on its ink box, shrunk to fit."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(face.path, FONT_PX, index=face.index)
    out = np.zeros((len(codepoints), BASE_SIZE, BASE_SIZE), np.uint8)
    room = BASE_SIZE - 2 * MARGIN
    for i, cp in enumerate(codepoints):
        ch, f = chr(int(cp)), font
        left, top, right, bottom = f.getbbox(ch)
        w, h = right - left, bottom - top
        if w <= 0 or h <= 0:
            continue
        if max(w, h) > room:
            px = max(4, int(FONT_PX * room / max(w, h)))
            f = ImageFont.truetype(face.path, px, index=face.index)
            left, top, right, bottom = f.getbbox(ch)
            w, h = right - left, bottom - top
        img = Image.new("L", (BASE_SIZE, BASE_SIZE), 0)
        origin = ((BASE_SIZE - w) / 2 - left, (BASE_SIZE - h) / 2 - top)
        ImageDraw.Draw(img).text(origin, ch, 255, f)
        out[i] = np.asarray(img)
    return out


def small(images: np.ndarray) -> np.ndarray:
    """float32 [M, 256]: renders area-downsampled to 16 px, ink in [0, 1] (the near-copy test)."""
    m = len(images)
    return images.reshape(m, 16, BASE_SIZE // 16, 16, BASE_SIZE // 16).mean(axis=(2, 4)).reshape(
        m, 256
    ).astype(np.float32) / 255


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: arrays have no hash
class FontBank(ClassRenders):
    """Cleaned renders grouped by class: renders of class c are rows offsets[c]:offsets[c+1].

    The same fields as ``glyphs.GlyphBank`` that the samplers read (images, offsets), plus the
    face of each render, so the face split and the per-class face counts can be read off it.
    """

    images: np.ndarray  # uint8 [R, BASE_SIZE, BASE_SIZE], ink = 255 on 0
    offsets: np.ndarray  # int64 [C + 1]
    render_face: np.ndarray  # int32 [R], index into faces
    codepoints: np.ndarray  # int32 [C]
    faces: tuple[Face, ...]
    fingerprint: str


    def select(self, keep: np.ndarray) -> FontBank:
        """The bank with only the renders where ``keep`` (bool [R]) holds; every class stays."""
        keep = np.asarray(keep, bool)
        cls = np.repeat(np.arange(self.n_classes), np.diff(self.offsets))[keep]
        offsets = np.concatenate([[0], np.cumsum(np.bincount(cls, minlength=self.n_classes))])
        return FontBank(self.images[keep], offsets.astype(np.int64), self.render_face[keep],
                        self.codepoints, self.faces, self.fingerprint)  # fmt: skip


def placeholder_flags(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per render of one face (code points ascending): (is a placeholder, is identical to the
    render of a smaller code point of the same face, i.e. a lookalike of an earlier class)."""
    groups: dict[bytes, list[int]] = {}
    for i, im in enumerate(images):
        groups.setdefault(im.tobytes(), []).append(i)
    placeholder = np.zeros(len(images), bool)
    copies_earlier = np.zeros(len(images), bool)
    for members in groups.values():
        if len(members) >= PLACEHOLDER_MIN:
            placeholder[members] = True
        elif len(members) > 1:
            copies_earlier[members[1:]] = True
    return placeholder, copies_earlier


def _near_copies(cls: np.ndarray, face: np.ndarray, images: np.ndarray, n_faces: int, alive):
    """Greedy per class, faces in order: which renders near-copy an earlier face's kept render,
    and ``pairs[f, g]``: how many of face f's renders near-copy face g's (alive faces only)."""
    dup = np.zeros(len(cls), bool)
    pairs = np.zeros((n_faces, n_faces), np.int64)
    order = np.lexsort((face, cls))
    bounds = np.flatnonzero(np.diff(cls[order])) + 1
    for rows in np.split(order, bounds):
        rows = rows[alive[face[rows]]]
        if len(rows) < 2:
            continue
        x = small(images[rows])  # per class: the 16 px copies of all renders never coexist
        d = _l1(x)
        close = np.triu(d < NEAR_DUP_TOL, 1)
        i, j = np.nonzero(close)
        np.add.at(pairs, (face[rows[j]], face[rows[i]]), 1)
        kept: list[int] = []
        for r in range(len(rows)):
            if kept and (d[r, kept] < NEAR_DUP_TOL).any():
                dup[rows[r]] = True
            else:
                kept.append(r)
    return dup, pairs


def _l1(x: np.ndarray, block: int = 64) -> np.ndarray:
    """Mean absolute difference between all rows of ``x``, in blocks (memory stays small)."""
    out = np.empty((len(x), len(x)), np.float32)
    for s in range(0, len(x), block):
        out[s : s + block] = np.abs(x[s : s + block, None, :] - x[None, :, :]).mean(-1)
    return out


def build_bank(
    faces: list[Face], covered: list[np.ndarray], charset: np.ndarray, fp: str
) -> FontBank:
    """Render every face and clean the renders (the module docstring's steps 1-5)."""
    imgs, cps, fidx, twin_of = [], [], [], []
    for fi, (face, cov) in enumerate(zip(faces, covered)):
        try:
            r = render_face(face, cov)
        except OSError:  # a face FreeType cannot open is skipped, like an unreadable file
            continue
        ok = (r >= 128).sum(axis=(1, 2)) >= MIN_INK
        placeholder, twin = placeholder_flags(r[ok])
        keep = ~placeholder
        imgs.append(r[ok][keep])
        cps.append(cov[ok][keep])
        fidx.append(np.full(keep.sum(), fi, np.int32))
        twin_of.append(twin[keep])
    if not imgs:
        raise FontsNotFound(f"FreeType could open none of the {len(faces)} faces: {INSTALL_HINT}")
    images, cp, face, twin = (np.concatenate(a) for a in (imgs, cps, fidx, twin_of))
    # 3. lookalike classes: the smallest code point of a lookalike group is kept
    index_of = {int(c): k for k, c in enumerate(charset)}
    cls_all = np.array([index_of[int(c)] for c in cp], np.int64)
    n_renders = np.bincount(cls_all, minlength=len(charset))
    n_twin = np.bincount(cls_all, weights=twin, minlength=len(charset))
    lookalike = (n_twin > 0) & (n_twin >= LOOKALIKE_FRAC * n_renders)
    keep = ~lookalike[cls_all]
    images, cls_all, face = images[keep], cls_all[keep], face[keep]
    # 4. duplicate faces, then 5. near copies within a class
    alive = np.ones(len(faces), bool)
    _, pairs = _near_copies(cls_all, face, images, len(faces), alive)
    drawn = np.bincount(face, minlength=len(faces))
    for f in range(len(faces)):
        earlier = pairs[f, :f] * alive[:f]
        if drawn[f] and earlier.size and earlier.max() >= FACE_DUP_FRAC * drawn[f]:
            alive[f] = False
    dup, _ = _near_copies(cls_all, face, images, len(faces), alive)
    keep = alive[face] & ~dup
    images, cls_all, face = images[keep], cls_all[keep], face[keep]
    present = np.unique(cls_all)
    remap = np.full(len(charset), -1, np.int64)
    remap[present] = np.arange(len(present))
    cls = remap[cls_all]
    order_r = np.lexsort((face, cls))
    offsets = np.concatenate([[0], np.cumsum(np.bincount(cls, minlength=len(present)))])
    return FontBank(images[order_r], offsets.astype(np.int64), face[order_r],
                    np.asarray(charset, np.int32)[present], tuple(faces), fp)  # fmt: skip


def fingerprint(files: list[Path], charset: np.ndarray) -> str:
    """Names the cache file: the font files (path and size), the character set, the settings."""
    h = hashlib.sha256(
        f"v{FONTS_VERSION}-{BASE_SIZE}-{FONT_PX}-{MARGIN}-{MIN_INK}-{MIN_CHARS}-{PLACEHOLDER_MIN}-"
        f"{LOOKALIKE_FRAC}-{NEAR_DUP_TOL}-{FACE_DUP_FRAC}".encode()
    )
    h.update(np.asarray(charset, np.int32).tobytes())
    for f in files:
        h.update(f"{f}|{f.stat().st_size}".encode())
    return h.hexdigest()[:12]


def load_font_bank(dirs: tuple[str, ...] | None = None) -> FontBank:
    """The cleaned font renders, built on first use and cached on disk (atomic write).

    ``dirs`` defaults to ``font_dirs()`` (read at each call, so a changed environment is seen):
    None there means the files of the listed packages. A cached bank is found from the file list
    alone (no font is opened).
    """
    chosen = dirs if dirs is not None else font_dirs()
    return _load_font_bank(None if chosen is None else tuple(str(d) for d in chosen))


@lru_cache(maxsize=4)
def _load_font_bank(dirs: tuple[str, ...] | None) -> FontBank:
    from pretrain_diversity.data.fonts_charset import charset

    chars = charset()
    folders = None if dirs is None else [Path(d) for d in dirs]
    files = font_files(folders)
    if not files:
        where = ", ".join(dirs) if dirs else "(no folder)"
        raise FontsNotFound(f"no font files under {where}: {INSTALL_HINT}")
    fp = fingerprint(files, chars)
    path = cache_dir() / f"font-bank-{fp}.npz"
    if path.exists():
        try:
            z = np.load(path, allow_pickle=False)
            faces = tuple(
                Face(str(p), int(i), str(fam), str(sty))
                for p, i, fam, sty in zip(z["face_path"], z["face_index"], z["face_family"],
                                          z["face_style"])
            )  # fmt: skip
            return FontBank(z["images"], z["offsets"], z["render_face"], z["codepoints"], faces, fp)
        except Exception:  # a corrupt cache entry is rebuilt, never trusted
            path.unlink(missing_ok=True)
    faces, covered = discover_faces(chars, files)
    bank = build_bank(faces, covered, chars, fp)
    atomic_save_npz(
        path, images=bank.images, offsets=bank.offsets, render_face=bank.render_face,
        codepoints=bank.codepoints, face_path=np.array([f.path for f in faces]),
        face_index=np.array([f.index for f in faces], np.int32),
        face_family=np.array([f.family for f in faces]),
        face_style=np.array([f.style for f in faces]),
    )  # fmt: skip
    return bank
