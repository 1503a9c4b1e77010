"""What the book's figures share: one colour per budget on every page, and one readability rule.

The readability rule exists because the book's article column is about ``COLUMN_PX`` (790) CSS
pixels wide, and an image wider than the column is scaled down to fit it, shrinking its text with
it. A figure is shown as the inline backend saves it: at the figure's dpi, cropped to its tight
bounding box plus ``savefig.pad_inches``. A text of ``s`` points in a figure ``w`` pixels wide is
therefore read at ``s * min(1, COLUMN_PX / w)`` points, and the book asks for at least
``MIN_DISPLAYED_PT`` (9 pt). ``displayed_text_sizes`` measures exactly that for every text a
figure draws, so a test can hold each page's figures to it (tests/test_figure_readability.py).

``BOOK_RC`` is the font setting the figure functions draw under (``with book_style():``): 10 pt
text everywhere, titles 11 pt, so that a figure at most ``FULL_WIDTH_IN`` wide at 100 dpi keeps
every text at 10 pt or more as displayed (no font is set below 10 pt; 9 pt is the floor, not the
target, which leaves room for a tight bounding box a little wider than the figure).
"""

from __future__ import annotations

import contextlib

COLUMN_PX = 790  # the article column of the book's theme at a desktop width, in CSS pixels
MIN_DISPLAYED_PT = 9.0  # the smallest text a reader should have to read, as displayed
FULL_WIDTH_IN = 7.6  # a full-width figure at 100 dpi: 760 px, within the column with its padding
PANEL_IN = 3.7  # one of two panels in a row, so that two fit FULL_WIDTH_IN with their labels
FONT_PT = 10
BOOK_RC = {
    "font.size": FONT_PT, "axes.titlesize": FONT_PT + 1, "axes.labelsize": FONT_PT,
    "xtick.labelsize": FONT_PT, "ytick.labelsize": FONT_PT, "legend.fontsize": FONT_PT,
    "legend.title_fontsize": FONT_PT, "figure.titlesize": FONT_PT + 2,
}


def book_style():
    """A context in which figures are drawn with the book's font sizes (``BOOK_RC``)."""
    import matplotlib.pyplot as plt

    return plt.rc_context(BOOK_RC)


def budget_colors(budgets) -> dict:
    """One colour per budget, small N dark (plasma), as on the Figure 1 page."""
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("plasma")
    return {n: cmap(0.1 + 0.75 * i / max(1, len(budgets) - 1)) for i, n in enumerate(budgets)}


def shown_width_px(fig, dpi: float | None = None) -> float:
    """The width in pixels of ``fig`` as the inline backend saves it: its tight bounding box plus
    ``savefig.pad_inches`` on each side, at ``dpi`` (default: the figure's own)."""
    import matplotlib as mpl

    dpi = fig.dpi if dpi is None else dpi
    fig.canvas.draw()
    box = fig.get_tightbbox(fig.canvas.get_renderer())
    pad = mpl.rcParams["savefig.pad_inches"]
    return (box.width + 2 * pad) * dpi


@contextlib.contextmanager
def _recording_texts(drawn: list):
    """Record (text, font size in points) of every text the Agg renderer draws."""
    from matplotlib.backends.backend_agg import RendererAgg

    old_text, old_tex = RendererAgg.draw_text, RendererAgg.draw_tex

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if s.strip():
            drawn.append((s, prop.get_size_in_points()))
        return old_text(self, gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)

    def draw_tex(self, gc, x, y, s, prop, angle, *, mtext=None):
        if s.strip():
            drawn.append((s, prop.get_size_in_points()))
        return old_tex(self, gc, x, y, s, prop, angle, mtext=mtext)

    RendererAgg.draw_text, RendererAgg.draw_tex = draw_text, draw_tex
    try:
        yield drawn
    finally:
        RendererAgg.draw_text, RendererAgg.draw_tex = old_text, old_tex


def displayed_text_sizes(fig, *, column_px: float = COLUMN_PX, dpi: float | None = None):
    """Every text ``fig`` draws, as (text, font size in points as displayed in the column),
    smallest first. Only what is drawn counts (hidden tick labels and empty strings do not);
    a figure wider than ``column_px`` at ``dpi`` is scaled down to the column, and so is its
    text. Uses the Agg renderer, whatever the backend the figure was made under."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    scale = min(1.0, column_px / shown_width_px(fig, dpi))
    drawn: list = []
    with _recording_texts(drawn):
        fig.canvas.draw()
    return sorted(((s, size * scale) for s, size in drawn), key=lambda t: t[1])


def smallest_displayed_pt(fig, **kwargs) -> float:
    """The smallest text of ``fig`` as displayed (``displayed_text_sizes``); inf if it has none."""
    sizes = displayed_text_sizes(fig, **kwargs)
    return sizes[0][1] if sizes else float("inf")


def panel_grid(n: int, *, row_in: float = 3.0, cols: int | None = None, width_in: float | None = None,
               **subplots_kw):
    """A figure for ``n`` panels, at most two a row, ``FULL_WIDTH_IN`` wide, drawn under
    ``BOOK_RC`` with constrained layout: (figure, the ``n`` axes in reading order, the spare
    axes left empty in the last row, switched off). Two panels a row keep each panel wide enough
    for its tick labels at 10 pt; a spare slot is where ``legend_outside`` puts the legend."""
    import matplotlib.pyplot as plt

    cols = cols or (1 if n == 1 else 2)
    rows = -(-n // cols)
    with book_style():
        fig, axes = plt.subplots(rows, cols, figsize=(width_in or FULL_WIDTH_IN, row_in * rows),
                                 squeeze=False, layout="constrained", **subplots_kw)
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.axis("off")
    return fig, flat[:n], flat[n:]


def legend_outside(fig, axes, spare=(), *, ncols: int | None = None, **kw):
    """One legend for all ``axes`` (labels deduplicated, in order of first use), outside the
    data: centred in the first ``spare`` axes when there is one, else below the panels."""
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels and not lab.startswith("_"):
                handles.append(h)
                labels.append(lab)
    if not handles:
        return None
    with book_style():
        if len(spare):
            return spare[0].legend(handles, labels, loc="center", frameon=False, ncols=ncols or 1,
                                   **kw)
        return fig.legend(handles, labels, loc="outside lower center", frameon=False,
                          ncols=ncols or min(len(labels), 3), **kw)


def panels_per_row(fig) -> int:
    """The most data panels side by side in ``fig``: visible axes with their axis drawn, not
    colorbars and not pictures with the axis switched off, counted per row (axes whose vertical
    extents overlap). The book's rule is at most two, or one full-width panel."""
    fig.canvas.draw()  # constrained layout places the axes when drawn
    boxes = [ax.get_position() for ax in fig.axes
             if ax.get_visible() and ax.axison and not hasattr(ax, "_colorbar")]
    return max((sum(1 for o in boxes if o.y0 < b.y1 - 1e-6 and b.y0 < o.y1 - 1e-6)
                for b in boxes), default=0)
