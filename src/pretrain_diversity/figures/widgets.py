"""Widgets that stay interactive in the static book: no kernel, no network.

A static page has no Python behind it, so every picture a slider can show is rendered ahead of
time and the slider is linked to the picture *in the browser* (``jslink``), never through a Python
callback. The widget state is saved by the book's own execution and replayed by the vendored
``@jupyter-widgets/html-manager``.
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


def frame_slider(
    frames: Sequence[bytes],
    labels: Sequence[str],
    description: str = "",
    *,
    start: int = 0,
    width: str = "640px",
):
    """A slider over pre-rendered PNG frames, linked in the browser to a ``Stack``.

    ``labels[i]`` is what the slider reads out when frame ``i`` is shown.
    """
    import ipywidgets as w

    if len(frames) != len(labels) or not frames:
        raise ValueError(f"need one label per frame, got {len(frames)} frames, {len(labels)} labels")
    images = [w.Image(value=f, format="png", layout=w.Layout(width=width)) for f in frames]
    stack = w.Stack(images, selected_index=start)
    slider = w.SelectionSlider(
        options=list(labels),
        index=start,
        description=description,
        continuous_update=True,
        style={"description_width": "initial"},
        layout=w.Layout(width=width),
    )
    w.jslink((slider, "index"), (stack, "selected_index"))
    return w.VBox([slider, stack])


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
