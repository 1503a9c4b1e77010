"""Sphinx extension that keeps the book's maths rendering offline, from the vendored MathJax.

Listed in ``_config.yml`` via ``sphinx.local_extensions``; ``mathjax_path`` there points at
``book/_static/mathjax/es5/tex-mml-chtml.js`` (see ``book/_static/README.md``).

**Load MathJax only where Sphinx asks for it.** jupyter-book 1.0.4 adds *every* ``*.js`` under
``book/_static`` to ``html_js_files``, i.e. to every page (jupyter_book/config.py, "Initialize
static files"). For the vendored MathJax that would be the 1.2 MB combined component on pages
without maths plus all its TeX extensions as top-level scripts, which run before MathJax exists.
``sphinx.ext.mathjax`` already adds the one script MathJax needs to the pages that have equations,
and MathJax fetches its fonts and extensions itself, from the folder that script came from. So the
extension drops everything under the folder of ``mathjax_path`` from ``html_js_files`` again.

**Fail the build on a MathJax that would need the network.** Sphinx's default ``mathjax_path`` is
a jsDelivr URL: a config that loses our setting would still build, and every formula would stay raw
TeX in an offline reader's browser. A ``mathjax_path`` that is a URL or does not exist in the
static files is a configuration error.
"""

from __future__ import annotations

import posixpath
from pathlib import Path


def _vendored_mathjax(app, config) -> None:
    """``config-inited`` hook: check ``mathjax_path``, drop the MathJax files from every page."""
    from sphinx.errors import ConfigError

    if config.html_math_renderer not in (None, "mathjax"):
        return
    path = config.mathjax_path  # registered by sphinx.ext.mathjax, which Sphinx always loads
    if "://" in path or path.startswith("//"):
        raise ConfigError(
            f"mathjax_path is {path!r}: the book must render maths offline, so MathJax has to be "
            "served from book/_static (see book/_static/README.md and scripts/vendor-mathjax)"
        )
    static_dirs = [Path(app.confdir, d) for d in config.html_static_path]
    if not any((d / path).is_file() for d in static_dirs):
        raise ConfigError(
            f"mathjax_path {path!r} is not a file in the static paths {config.html_static_path}; "
            "run scripts/vendor-mathjax"
        )
    # Everything under the top folder of the vendored package (mathjax/ for mathjax/es5/...).
    root = path.split("/", 1)[0] + "/" if "/" in path else None
    config.html_js_files = [
        js
        for js in config.html_js_files
        if not (
            root
            and posixpath.normpath(js[0] if isinstance(js, (tuple, list)) else js).startswith(root)
        )
    ]


def setup(app):
    """Sphinx entry point."""
    app.connect("config-inited", _vendored_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
