"""What a figure shows, as plain data: to compare figures across code versions, not PNG bytes.

PNG bytes change with the matplotlib version, fonts and the backend; what a reader sees (titles,
axis labels, scales, limits, every line's and marker's data, the texts, the image pixels) does not.
Floats are rounded to 10 significant digits. Nothing is stored as a digest: the same code gives
values that differ in the last bits on another kind of CPU (numpy's and torch's vector kernels
differ between, say, Intel and AMD machines, and a glyph image quantised to uint8 can then move a
pixel by a grey level), so every value here is one ``same`` can compare with a tolerance:

* a short array (up to INLINE values) is stored in full;
* a long array as its length, ends, mean, spread, range and a profile (the means of PROFILE equal
  consecutive chunks), which still moves with any change a reader could see;
* an image (what ``imshow`` shows) as its shape, mean, spread, range and a thumbnail (block means
  on a grid of at most THUMB x THUMB blocks); integer pixels (pictures of the data) are marked
  ``quantised`` and compared to within a grey level or two, float images (heat maps) tightly.
"""

from __future__ import annotations

import math

import numpy as np

SIGNIFICANT = 10
INLINE = 64  # arrays up to this many values are stored in full
PROFILE = 32  # a long array's profile: means of this many consecutive chunks
THUMB = 16  # an image's thumbnail: at most THUMB x THUMB block means

# Tolerances of ``same``: floats agree to REL_TOL relative (or ABS_TOL absolute, for values that
# are zero up to rounding); the thumbnail, mean and spread of a quantised image to within
# PIXEL_TOL of its own units (grey levels), its range to within PIXEL_RANGE_TOL.
REL_TOL = 1e-6
ABS_TOL = 1e-9
PIXEL_TOL = 2.0
PIXEL_RANGE_TOL = 64.0


def rounded(x):
    """A float rounded to SIGNIFICANT digits (None for NaN, kept for infinities)."""
    x = float(x)
    if math.isnan(x):
        return None
    if math.isinf(x) or x == 0:
        return x
    return float(f"{x:.{SIGNIFICANT}g}")


def _stats(a: np.ndarray) -> dict:
    finite = a[np.isfinite(a)]
    if not len(finite):
        return {"mean": None, "std": None, "min": None, "max": None, "nonfinite": int(a.size)}
    return {"mean": rounded(finite.mean()), "std": rounded(finite.std()),
            "min": rounded(finite.min()), "max": rounded(finite.max()),
            "nonfinite": int(a.size - finite.size)}


def _mean(chunk: np.ndarray):
    finite = chunk[np.isfinite(chunk)]
    return rounded(finite.mean()) if finite.size else None


def array(values) -> object:
    """A numeric array as a list of rounded values, or a summary (``profile``) when it is long."""
    a = np.ma.filled(np.ma.asarray(values, dtype=float), np.nan).ravel()
    r = [rounded(v) for v in a]
    if len(r) <= INLINE:
        return r
    return {"n": len(r), "first": r[:3], "last": r[-3:], **_stats(a),
            "profile": [_mean(c) for c in np.array_split(a, PROFILE)]}


def image(values) -> dict:
    """What ``imshow`` shows, as its shape, statistics and a thumbnail of block means."""
    raw = np.ma.asarray(values)
    quantised = bool(np.issubdtype(raw.dtype, np.integer) or raw.dtype == bool)
    a = np.ma.filled(raw.astype(float), np.nan)
    plane = a if a.ndim == 2 else a.reshape(a.shape[0], -1) if a.ndim == 1 else a.mean(axis=-1)
    if plane.ndim == 1:
        plane = plane[None, :]
    thumb = [[_mean(block) for block in np.array_split(band, min(THUMB, band.shape[1]), axis=1)]
             for band in np.array_split(plane, min(THUMB, plane.shape[0]), axis=0)]
    return {"shape": list(a.shape), "quantised": quantised, **_stats(a), "thumb": thumb}


def _close(got, want, tol: float | None) -> bool:
    if got is None or want is None:
        return got is want
    if tol is not None:
        return abs(got - want) <= tol
    return math.isclose(got, want, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def same(got, want, path: str = "") -> list[str]:
    """Where ``got`` differs from ``want`` (two pins' JSON data), floats within the tolerances
    above; an empty list when they agree. Strings, ints, keys and lengths must agree exactly."""
    if isinstance(want, dict) and want.get("quantised") is True and "thumb" in want:
        return _same_quantised_image(got, want, path)
    if isinstance(want, dict):
        if not isinstance(got, dict) or set(got) != set(want):
            return [f"{path}: keys {sorted(got) if isinstance(got, dict) else type(got).__name__}"
                    f" != {sorted(want)}"]
        return [d for k in want for d in same(got[k], want[k], f"{path}/{k}")]
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return [f"{path}: {len(got) if isinstance(got, list) else type(got).__name__} "
                    f"values != {len(want)}"]
        return [d for i, (g, w) in enumerate(zip(got, want)) for d in same(g, w, f"{path}/{i}")]
    if isinstance(want, float) and isinstance(got, (int, float)) and not isinstance(got, bool):
        return [] if _close(float(got), want, None) else [f"{path}: {got!r} != {want!r}"]
    if type(got) is not type(want) or got != want:
        return [f"{path}: {got!r} != {want!r}"]
    return []


def _same_quantised_image(got, want, path: str) -> list[str]:
    """An image of integer pixels: same shape, each thumbnail block, the mean and the spread
    within PIXEL_TOL grey levels, the darkest and brightest pixel within PIXEL_RANGE_TOL."""
    if not isinstance(got, dict) or set(got) != set(want):
        return [f"{path}: not an image summary like the pinned one"]
    out = []
    for key in ("shape", "quantised", "nonfinite"):
        if got[key] != want[key]:
            out.append(f"{path}/{key}: {got[key]!r} != {want[key]!r}")
    for key, tol in (("mean", PIXEL_TOL), ("std", PIXEL_TOL), ("min", PIXEL_RANGE_TOL),
                     ("max", PIXEL_RANGE_TOL)):
        if not _close(got[key], want[key], tol):
            out.append(f"{path}/{key}: {got[key]!r} != {want[key]!r} (tolerance {tol})")
    g, w = np.array(got["thumb"], dtype=float), np.array(want["thumb"], dtype=float)
    if g.shape != w.shape:
        out.append(f"{path}/thumb: shape {g.shape} != {w.shape}")
    elif not np.allclose(g, w, rtol=0, atol=PIXEL_TOL, equal_nan=True):
        worst = np.unravel_index(np.nanargmax(np.abs(g - w)), g.shape)
        out.append(f"{path}/thumb: block {tuple(int(i) for i in worst)} is {g[worst]:.2f}, "
                   f"pinned {w[worst]:.2f} (tolerance {PIXEL_TOL} grey levels)")
    return out


def _texts(texts) -> list:
    return [{"text": t.get_text(), "xy": array(t.get_position())} for t in texts if t.get_text()]


def axes(ax) -> dict:
    """Everything one Axes draws that a reader could see change."""
    out = {
        "title": [ax.get_title(loc) for loc in ("left", "center", "right")],
        "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
        "xscale": ax.get_xscale(), "yscale": ax.get_yscale(),
        "xlim": array(ax.get_xlim()), "ylim": array(ax.get_ylim()),
        "axis_on": ax.axison,
        "xticklabels": [t.get_text() for t in ax.get_xticklabels()],
        "yticklabels": [t.get_text() for t in ax.get_yticklabels()],
        "lines": [{"x": array(l.get_xdata()), "y": array(l.get_ydata()), "label": l.get_label()
                   if not l.get_label().startswith("_") else ""} for l in ax.get_lines()],
        "collections": [],
        "patches": [array(p.get_patch_transform().transform(p.get_path().vertices))
                    for p in ax.patches],
        "texts": _texts(ax.texts),
        "images": [image(im.get_array()) for im in ax.get_images()],
    }
    for c in ax.collections:
        entry = {"offsets": array(np.asarray(c.get_offsets()))}
        paths = c.get_paths()
        if paths:
            entry["paths"] = array(np.concatenate([p.vertices.ravel() for p in paths]) if
                                   any(len(p.vertices) for p in paths) else [])
        if c.get_array() is not None:
            entry["values"] = array(c.get_array())
        out["collections"].append(entry)
    legend = ax.get_legend()
    out["legend"] = [t.get_text() for t in legend.get_texts()] if legend else []
    return out


def figure(fig) -> dict:
    """A figure's suptitle, its own texts and every Axes."""
    return {"suptitle": fig.get_suptitle(), "texts": _texts(fig.texts), "axes": [axes(ax) for ax in fig.axes]}
