"""What a figure shows, as plain data: to compare figures across code versions, not PNG bytes.

PNG bytes change with the matplotlib version, fonts and the backend; what a reader sees (titles,
axis labels, scales, limits, every line's and marker's data, the texts, the image pixels) does not.
Floats are rounded to 10 significant digits; long arrays are stored as a digest of the rounded
values with their length and ends, so a fingerprint stays small and still changes with any value.
"""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np

SIGNIFICANT = 10
INLINE = 64  # arrays up to this many values are stored in full


def rounded(x):
    """A float rounded to SIGNIFICANT digits (None for NaN, kept for infinities)."""
    x = float(x)
    if math.isnan(x):
        return None
    if math.isinf(x) or x == 0:
        return x
    return float(f"{x:.{SIGNIFICANT}g}")


def array(values) -> object:
    """A numeric array as a list of rounded values, or a digest when it is long."""
    a = np.ma.filled(np.ma.asarray(values, dtype=float), np.nan).ravel()
    r = [rounded(v) for v in a]
    if len(r) <= INLINE:
        return r
    digest = hashlib.sha1(json.dumps(r).encode()).hexdigest()
    return {"n": len(r), "sha1": digest, "first": r[:3], "last": r[-3:]}


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
        "images": [array(np.asarray(im.get_array(), dtype=float)) for im in ax.get_images()],
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
