"""Sphinx extension that loads the vendored Vega scripts on exactly the pages with live widgets.

jupyter-book 1.x adds every ``*.js`` under ``book/_static`` to every page. The Vega builds are
0.83 MB, so the extension takes them off that list and adds them back, per page, where the page
body holds a widget specification (``pretrain_diversity.figures.live``).

They are added with a low priority, i.e. before any other script: the builds are UMD bundles that
register as anonymous AMD modules instead of globals when an AMD loader (require.js, which myst-nb
loads on pages with Jupyter widget state) is already on the page.
"""

from __future__ import annotations

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


def setup(app):
    """Sphinx entry point."""
    app.connect("config-inited", _drop_global_vega_js)
    app.connect("html-page-context", _add_page_vega_js)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
