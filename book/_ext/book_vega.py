"""Sphinx extension that loads the vendored Vega scripts on exactly the pages with live widgets.

jupyter-book 1.x adds every ``*.js`` under ``book/_static`` to every page. The Vega builds are
0.83 MB, so the extension takes them off that list and adds them back, per page, where the page
body holds a widget specification (``pretrain_diversity.figures.live``).

They are added with a low priority, i.e. before any other script: the builds are UMD bundles that
register as anonymous AMD modules instead of globals when an AMD loader (require.js, which myst-nb
loads on pages with Jupyter widget state) is already on the page.

A live widget's output carries its specification twice: as ``text/html`` (the widget box, which
the book shows) and as ``application/vnd.vegalite.v6+json`` (for JupyterLab, and what the tests
read from an executed page). myst-nb renders every mime type of an output before it picks one,
has no renderer for Vega-Lite and says so in a warning, which fails a build with ``-W``. The
extension drops exactly that warning (the Vega-Lite half of a widget's output; the HTML half is
shown); any other unknown mime type still warns.
"""

from __future__ import annotations

import logging

VEGALITE_MIME = "application/vnd.vegalite.v6+json"  # pretrain_diversity.figures.live.VEGALITE_MIME
VEGA_DIR = "vega/"
VEGA_SCRIPTS = ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js", "embed-widgets.js")
SPEC_MARKER = 'class="vega-widget-spec"'


def _drop_global_vega_js(app, config) -> None:
    """``config-inited`` hook: remove the Vega scripts from the all-pages script list."""
    config.html_js_files = [
        js
        for js in config.html_js_files
        if not (js[0] if isinstance(js, (tuple, list)) else js).startswith(VEGA_DIR)
    ]


def _add_page_vega_js(app, pagename, templatename, context, doctree) -> None:
    """``html-page-context`` hook: the page holds a widget, so it gets the scripts."""
    if SPEC_MARKER in (context.get("body") or ""):
        for i, name in enumerate(VEGA_SCRIPTS):
            app.add_js_file(VEGA_DIR + name, priority=100 + i)


class _VegaLiteHalf(logging.Filter):
    """Drops myst-nb's "skipping unknown output mime type" for the Vega-Lite half of a widget."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (getattr(record, "subtype", None) == "unknown_mime_type"
                    and f"mime type: {VEGALITE_MIME} " in f"{record.getMessage()} ")


def _quiet_vegalite_half() -> None:
    """Put the filter first on Sphinx's warning handler, before it counts the warning (and, with
    ``-W``, turns it into an error); Sphinx sets that handler up before it loads extensions."""
    from sphinx.util.logging import NAMESPACE, WarningStreamHandler

    for handler in logging.getLogger(NAMESPACE).handlers:
        if isinstance(handler, WarningStreamHandler) and not any(
            isinstance(f, _VegaLiteHalf) for f in handler.filters
        ):
            handler.filters.insert(0, _VegaLiteHalf())


def setup(app):
    """Sphinx entry point."""
    _quiet_vegalite_half()
    app.connect("config-inited", _drop_global_vega_js)
    app.connect("html-page-context", _add_page_vega_js)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
