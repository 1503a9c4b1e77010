"""Sphinx extension that keeps the book's widgets working in the static, offline site.

Two jobs, both listed in ``_config.yml`` via ``sphinx.local_extensions``:

**Load the widget JavaScript only where myst-nb asks for it.** jupyter-book 1.0.4 adds *every*
``*.js`` under ``book/_static`` to ``html_js_files``, i.e. to every page, in directory order
(jupyter_book/config.py, "Initialize static files"). For the vendored widget files that means a
3.6 MB ``embed-amd.js`` on every page, before ``require.js`` (so its ``define()`` calls throw),
and twice on widget pages. myst-nb already adds them, in the right order, to exactly the pages
that embed widget state (``nb_ipywidgets_js``), so the extension drops them from
``html_js_files`` again.

**Fail the build on a widget that cannot be replayed.** A static page shows a widget only if it
embeds the *state* of the widget's model and of every model that one refers to (children,
jslinks). myst-nb writes each view as ``<script type="application/vnd.jupyter.widget-view+json">``
where the output was, and the state that nbclient recorded during execution as one
``<script type="application/vnd.jupyter.widget-state+json">`` per page. If the state is missing
(a page executed by something that does not record it) or incomplete, the browser shows nothing
and nobody notices. So:

* the extension fails the build on such a page;
* ``widget_state(html)`` / ``missing_models(...)`` let tests check the written HTML files too.
"""

from __future__ import annotations

import json
import re
from typing import Any

STATE_MIME = "application/vnd.jupyter.widget-state+json"
VIEW_MIME = "application/vnd.jupyter.widget-view+json"
_MODEL_REF = re.compile(r"IPY_MODEL_([0-9a-f]+)")


def _scripts(html: str, mime: str) -> list[str]:
    """Bodies of the ``<script type="mime">`` elements of a page (attributes in any order)."""
    pattern = re.compile(
        r"<script\b[^>]*\btype=\"" + re.escape(mime) + r"\"[^>]*>(.*?)</script>", re.S
    )
    # myst-nb writes the JSON verbatim, only "</script>" becomes "<\/script>", still valid JSON.
    return pattern.findall(html)


def widget_views(html: str) -> list[str]:
    """Model ids of the widgets a page displays, in page order."""
    return [json.loads(body)["model_id"] for body in _scripts(html, VIEW_MIME)]


def widget_state(html: str) -> dict[str, Any]:
    """The ``state`` dict (model id -> model) embedded in a page; empty if there is none."""
    bodies = _scripts(html, STATE_MIME)
    if len(bodies) > 1:
        raise ValueError(f"{len(bodies)} widget-state scripts in one page; the manager reads one")
    return json.loads(bodies[0])["state"] if bodies else {}


def missing_models(views: list[str], state: dict[str, Any]) -> set[str]:
    """Ids reachable from the displayed views (through ``IPY_MODEL_`` references) without state."""
    missing: set[str] = set()
    todo, seen = list(views), set()
    while todo:
        model_id = todo.pop()
        if model_id in seen:
            continue
        seen.add(model_id)
        if model_id not in state:
            missing.add(model_id)
            continue
        todo.extend(_MODEL_REF.findall(json.dumps(state[model_id].get("state", {}))))
    return missing


def _check_page(app, pagename, templatename, context, doctree) -> None:
    """``html-page-context`` hook: compare the page's widget views with its embedded state."""
    if doctree is None:
        return
    from docutils import nodes
    from myst_nb.sphinx_ import NbMetadataCollector
    from sphinx.errors import ExtensionError

    views = [
        view
        for raw in doctree.findall(nodes.raw)
        if VIEW_MIME in raw.astext()
        for view in widget_views(raw.astext())
    ]
    if not views:
        return
    js_files = NbMetadataCollector.get_js_files(app.env, pagename)
    _, attrs = js_files.get("ipywidgets_state", (None, {}))
    body = attrs.get("body")
    state = json.loads(body)["state"] if body else {}
    missing = missing_models(views, state)
    if missing:
        raise ExtensionError(
            f"page {pagename!r} displays {len(views)} widget(s) but the state of "
            f"{len(missing)} model(s) is not embedded (e.g. {sorted(missing)[0]}); the static "
            "page could not show them. Was the page executed with nbclient's widget state on?"
        )


def _drop_global_widget_js(app, config) -> None:
    """``config-inited`` hook: remove myst-nb's widget scripts from the all-pages script list."""
    per_page = set(getattr(config, "nb_ipywidgets_js", None) or {})
    config.html_js_files = [
        js
        for js in config.html_js_files
        if (js[0] if isinstance(js, (tuple, list)) else js) not in per_page
    ]


def setup(app):
    """Sphinx entry point."""
    app.connect("config-inited", _drop_global_widget_js)
    app.connect("html-page-context", _check_page)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
