"""Widgets that compute in the reader's browser: Vega-Lite specifications, built with Altair.

A static page has no Python behind it, so a widget can only be live if the browser itself
computes what it shows. Vega-Lite does that from a declarative specification: sliders are
parameters, formulas are Vega expressions, and the data the formulas need is embedded in the
page as JSON. The package builds each specification (and the same formula in Python, which the
browser tests compare with what the page displays); this module only writes a specification
into a page.

A widget is written as ``<div class="vega-widget">`` plus its specification in a
``<script type="application/json">``: data, not code. ``book/_static/vega/embed-widgets.js`` draws
it with the vendored Vega builds, and the ``book_vega`` extension loads those scripts on exactly
the pages that hold a widget. In JupyterLab the same object renders through JupyterLab's own
Vega-Lite renderer.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence

SPEC_CLASS = "vega-widget-spec"
WIDGET_CLASS = "vega-widget"
# Vega-Lite's major version that the vendored scripts read (scripts/vendor-vega).
VEGALITE_MIME = "application/vnd.vegalite.v6+json"


def spec_of(chart) -> dict:
    """A Vega-Lite specification as a dict, from an Altair chart or a dict."""
    if isinstance(chart, Mapping):
        return dict(chart)
    return chart.to_dict()


def _json_for_script(spec: dict) -> str:
    """JSON that is safe inside ``<script>``: ``</`` cannot end the element early (``<\\/`` is the
    same string to a JSON parser)."""
    return json.dumps(spec, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


class LiveWidget:
    """A Vega-Lite widget for a notebook output and for the static book.

    ``name`` becomes the element id (``vw-<name>``): stable ids let tests and links find a widget.
    ``presets`` maps a button label to parameter values that the button sets at once.
    """

    def __init__(self, chart, name: str, presets: Mapping[str, Mapping[str, float]] | None = None,
                 caption: str | None = None):
        if not name.replace("-", "").isalnum():
            raise ValueError(f"widget name must be letters, digits and '-', got {name!r}")
        self.spec = spec_of(chart)
        self.name = name
        self.presets = dict(presets or {})
        self.caption = caption

    @property
    def element_id(self) -> str:
        return f"vw-{self.name}"

    def html(self) -> str:
        eid = self.element_id
        parts = ['<div class="vega-widget-box">']
        if self.presets:
            buttons = "".join(
                f'<button type="button" class="vega-preset" data-target="{eid}" '
                f"data-signals='{html.escape(json.dumps(dict(v)), quote=True)}'>"
                f"{html.escape(label)}</button>"
                for label, v in self.presets.items()
            )
            parts.append(f'<div class="vega-presets">presets: {buttons}</div>')
        parts.append(f'<div class="{WIDGET_CLASS}" id="{eid}"></div>')
        parts.append(
            f'<script type="application/json" class="{SPEC_CLASS}" data-target="{eid}">'
            f"{_json_for_script(self.spec)}</script>"
        )
        if self.caption:
            parts.append(f'<p class="vega-widget-caption">{html.escape(self.caption)}</p>')
        parts.append("</div>")
        return "".join(parts)

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {VEGALITE_MIME: self.spec, "text/html": self.html()}

    def kilobytes(self) -> float:
        """Weight of the widget in the page (its specification and embedded data)."""
        return len(self.html().encode()) / 1000


def standalone_page(widgets: Sequence[LiveWidget], static_dir: str = "_static") -> str:
    """A bare HTML page with the widgets and the vendored scripts (for browser tests and for
    looking at a widget without building the book)."""
    scripts = "".join(
        f'<script src="{static_dir}/vega/{f}"></script>'
        for f in ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js", "embed-widgets.js")
    )
    body = "".join(w.html() for w in widgets)
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'>{scripts}</head><body>{body}</body></html>"
