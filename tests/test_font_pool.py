"""The data page's font-source tables and montage on a tiny synthetic font bank."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pretrain_diversity.data.fonts import BASE_SIZE, Face, FontBank
from pretrain_diversity.data.fonts_split import FontSplit
from pretrain_diversity.studies.real_images import font_pool as FP


def tiny_bank():
    """3 classes ('A', 'B', U+6C38) over 4 faces of 3 families; face 3 draws nothing (dropped).
    Renders per class: A in faces 0, 1, 2; B in faces 0, 2; U+6C38 in face 1."""
    faces = (Face("a.ttf", 0, "Alpha", "Regular"), Face("a-b.ttf", 0, "Alpha", "Bold"),
             Face("b.ttf", 0, "Beta", "Regular"), Face("c.ttf", 0, "Gamma", "Regular"))
    render_face = np.array([0, 1, 2, 0, 2, 1], np.int32)
    images = np.zeros((6, BASE_SIZE, BASE_SIZE), np.uint8)
    for i in range(6):
        images[i, 4 + i: 20, 8:24] = 255
    bank = FontBank(images, np.array([0, 3, 5, 6]), render_face,
                    np.array([0x41, 0x42, 0x6C38], np.int32), faces, "test")
    split = FontSplit(heldout_face=np.array([False, False, True, False]), pool=np.array([0, 2]),
                      heldout=np.array([1]))
    return bank, split


def test_face_table_counts_found_read_dropped_kept():
    bank, split = tiny_bank()
    t = FP.face_table(bank, split, files_found=4)["faces"].tolist()
    assert t == [4, 4, 1, 3, 2]  # files, faces read, dropped (Gamma), kept, families kept


def test_split_table_divides_faces_renders_and_classes():
    bank, split = tiny_bank()
    by_side, chars = FP.split_table(bank, split, charset_size=5)
    assert by_side[FP.PRE].tolist() == [2, 1, 4, 3]  # faces 0, 1 (Alpha) draw A, B and U+6C38
    assert by_side[FP.HELD].tolist() == [1, 1, 2, 2]  # face 2 (Beta) draws A and B
    assert chars["characters"].tolist() == [5, 3, 2, 1]
    _, no_set = FP.split_table(bank, split)
    assert "characters in the set" not in no_set.index


def test_face_count_summary_uses_each_sides_own_faces():
    faces = pd.DataFrame({"script": ["han", "han", "latin", "latin", "latin"],
                          "split": ["pool", "pool", "pool", "heldout", "unused"],
                          "pretrain_faces": [6, 12, 100, 90, 1], "heldout_faces": [1, 2, 30, 20, 0]})
    s = FP.face_count_summary(faces)
    assert s.loc[("pool", "han")].tolist() == [2, 9.0, 6, 12]
    assert s.loc[("heldout", "latin")].tolist() == [1, 20.0, 20, 20]  # held-out faces, not 90
    assert ("unused", "latin") not in s.index


def test_font_montage_rows_and_titles():
    import matplotlib

    matplotlib.use("Agg")
    from pretrain_diversity.figures.glyph_samples import font_faces

    bank, split = tiny_bank()
    fig = font_faces(bank, split, chars="A永x", pre=2, held=1, size=16)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles == ["U+0041 A: 2 of its 2 pre-training faces", "held out: 1 of 1",
                      "U+6C38: 1 of its 1 pre-training faces", "held out: 0 of 0"]
    with pytest.raises(ValueError, match="none of"):
        font_faces(bank, split, chars="xyz")


def test_face_histogram_one_series_per_script():
    import matplotlib

    matplotlib.use("Agg")
    faces = pd.DataFrame({"script": ["han"] * 3 + ["latin"] * 2, "split": ["pool"] * 5,
                          "pretrain_faces": [6, 12, 12, 100, 130], "heldout_faces": [0] * 5})
    fig = FP.plot_face_histogram(faces)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]  # the legend is outside the data
    assert labels == ["han (3 classes, median 12)", "latin (2 classes, median 115)"]
