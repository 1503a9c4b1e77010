"""Frame switchers: a dropdown and a slider over pictures rendered when the book is built.

What is left of the book's first kind of widget, kept only for the Entezari shots widget until it
computes in the browser like the others (``figures.live``). A static page has no Python behind
it, so every picture is rendered ahead of time and the controls are linked to the pictures *in
the browser* (``jslink``), never through a Python callback; the widget state is saved by the
book's own execution and replayed by the vendored ``@jupyter-widgets/html-manager``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence


def figure_png(fig, dpi: int = 80) -> bytes:
    """PNG bytes of a matplotlib figure (closed afterwards so notebooks do not show it twice)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def frame_grid(
    frames: dict[tuple[int, int], bytes],
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    row_description: str,
    col_description: str,
    *,
    width: str = "640px",
):
    """Two linked controls (a dropdown over rows, a slider over columns) over a grid of frames.

    Frames are stacked as rows of stacks: the dropdown picks the row stack, the slider picks the
    column in every row, so both stay linked in the browser without a kernel.
    """
    import ipywidgets as w

    n_rows, n_cols = len(row_labels), len(col_labels)
    slider = w.SelectionSlider(
        options=list(col_labels),
        description=col_description,
        style={"description_width": "initial"},
        layout=w.Layout(width=width),
    )
    rows = []
    for r in range(n_rows):
        imgs = [
            w.Image(value=frames[(r, c)], format="png", layout=w.Layout(width=width))
            for c in range(n_cols)
        ]
        stack = w.Stack(imgs, selected_index=0)
        w.jslink((slider, "index"), (stack, "selected_index"))
        rows.append(stack)
    outer = w.Stack(rows, selected_index=0)
    chooser = w.Dropdown(
        options=list(row_labels), description=row_description, style={"description_width": "initial"}
    )
    w.jslink((chooser, "index"), (outer, "selected_index"))
    return w.VBox([w.HBox([chooser]), slider, outer])
