"""What the font source holds, as the data page reports it: how many faces were found, kept and
dropped, how the split divides them, and how many distinct faces each class has.

The per-class face count is the ceiling on a font class's variety (image F + 1 of a class with F
faces repeats a design), so the page shows it beside K and n. Torch-free: it reads the bank's
arrays; the bank itself is loaded by the caller (``data.fonts_split.fonts_and_split``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pretrain_diversity.data.fonts import MIN_CHARS

PRE, HELD = "pre-training faces", "held-out faces"


def face_table(bank, split, files_found: int | None = None) -> pd.DataFrame:
    """One row per step of the face cleaning: files on disk (if given), faces read (symbol and
    pi faces already skipped), faces dropped whole after rendering (a near-duplicate of an earlier
    face, or nothing left once empty renders and placeholders went), faces kept."""
    kept = np.zeros(len(bank.faces), bool)
    kept[np.unique(bank.render_face)] = True
    rows = {}
    if files_found is not None:
        rows["font files found"] = files_found
    rows[f"faces read (text faces drawing >= {MIN_CHARS} characters of the set)"] = len(bank.faces)
    rows["dropped after rendering (duplicate of an earlier face, or no render left)"] = int(
        (~kept).sum())
    rows["faces kept"] = int(kept.sum())
    rows["families kept"] = len({bank.faces[f].family for f in np.flatnonzero(kept)})
    return pd.Series(rows, name="faces").to_frame()


def split_table(bank, split, charset_size: int | None = None) -> pd.DataFrame:
    """Per side of the face split: faces, families, and the renders and classes they draw;
    and how the characters divide between the pre-training pool and the held-out task."""
    kept = np.zeros(len(bank.faces), bool)
    kept[np.unique(bank.render_face)] = True
    cls = np.repeat(np.arange(bank.n_classes), bank.variants_per_class)
    out = {}
    for name, side in ((PRE, ~split.heldout_face), (HELD, split.heldout_face)):
        faces = np.flatnonzero(side & kept)
        on_side = side[bank.render_face]
        out[name] = {
            "faces": len(faces),
            "families": len({bank.faces[f].family for f in faces}),
            "renders (class x face)": int(on_side.sum()),
            "characters drawn": len(np.unique(cls[on_side])),
        }
    t = pd.DataFrame(out)
    chars = {"characters in the set": charset_size, "classes kept": bank.n_classes,
             "pre-training pool classes": len(split.pool),
             "held-out classes (chars-heldout-faces)": len(split.heldout)}
    if charset_size is None:
        del chars["characters in the set"]
    return t, pd.Series(chars, name="characters").to_frame()


def face_count_summary(faces: pd.DataFrame) -> pd.DataFrame:
    """Per script and split side: classes, and the median / min / max of their faces on their
    own side (pre-training faces for pool classes, held-out faces for held-out classes)."""
    used = faces[faces["split"].isin(["pool", "heldout"])].copy()
    used["faces on its side"] = np.where(used["split"] == "pool", used["pretrain_faces"],
                                         used["heldout_faces"])
    g = used.groupby(["split", "script"])["faces on its side"]
    return g.agg(classes="count", median="median", min="min", max="max")


def plot_face_histogram(faces: pd.DataFrame):
    """Histogram of pre-training faces per pool class, one colour per script (log x)."""
    import matplotlib.pyplot as plt

    pool = faces[faces["split"] == "pool"]
    from pretrain_diversity.figures.style import book_style, legend_outside

    with book_style():
        fig, ax = plt.subplots(figsize=(7.2, 4.0), layout="constrained")
    top = int(pool["pretrain_faces"].max())
    bins = np.unique(np.round(np.geomspace(1, top + 1, 40)))
    for script, s in pool.groupby("script", sort=True):
        ax.hist(s["pretrain_faces"], bins=bins, alpha=0.7,
                label=f"{script} ({len(s)} classes, median {s.pretrain_faces.median():.0f})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set(xlabel="distinct pre-training faces of a class (the ceiling on its variety)",
           ylabel="classes")
    legend_outside(fig, [ax], ncols=2)
    return fig
