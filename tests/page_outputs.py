"""Run a book page's code cells outside Jupyter and record what the reader would be shown.

Every Markdown/table/figure/widget a page displays, in order, as plain data (floats rounded to 10
significant digits, figures as ``figure_fingerprint`` dicts), so one code version's pages can be
compared with another's exactly. The pages run as the book runs them: with their own folder as the
working directory. Figures saved into widget frames are fingerprinted instead of rendered; a live
widget is pinned as its Vega-Lite specification (its embedded data and formulas).
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import sys
import math
import os
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.figure  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import figure_fingerprint as fp  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# Every page with code cells (intro.md has none).
PAGES = (
    "figure1.md", "figure1-trained.md", "application.md", "invariance.md", "invariance-controls.md", "data.md",
    "example-run.md", "full-scale.md",
    "entezari/index.md", "entezari/sources.md", "entezari/size.md", "entezari/curation.md",
    "entezari/methods.md", "theory/derivation.md", "theory/explorer.md", "theory/fit.md",
    "theory/simulation.md", "real-images.md", "fonts-tradeoff.md", "glossary.md",
)
CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```\s*$", re.S | re.M)


def code_cells(page: Path) -> list[str]:
    """The source of every code cell, without its ``:key: value`` option lines."""
    cells = []
    for body in CELL.findall(page.read_text()):
        lines = body.splitlines()
        while lines and (lines[0].startswith(":") or not lines[0].strip()):
            lines.pop(0)
        cells.append("\n".join(lines))
    return cells


def live_spec(x):
    """A live widget's Vega-Lite specification, its embedded data and formulas, as JSON data
    (floats rounded like every other pinned number)."""
    if isinstance(x, dict):
        return {str(k): live_spec(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [live_spec(v) for v in x]
    return value(x)


# A running study's progress ("2 of 25 runs recorded"): it changes with every record committed
# while the study runs, so it is masked; what a page computes from the records is not.
PROGRESS = re.compile(r"\b\d+ of \d+ runs recorded")


def steady(text: str) -> str:
    return PROGRESS.sub("… of … runs recorded", text)


def value(x):
    """A table cell or scalar as JSON data."""
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return fp.rounded(x)
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA or x is pd.NaT:
        return None
    if isinstance(x, str):
        return steady(x)
    return str(x)


def frame(df: pd.DataFrame) -> dict:
    return {"columns": [str(c) for c in df.columns], "index": [value(i) if not isinstance(i, tuple)
            else [value(j) for j in i] for i in df.index],
            "data": [[value(v) for v in row] for row in df.itertuples(index=False)]}


def widget(w) -> dict:
    """An ipywidgets tree: its controls' options and the frames (fingerprints) it stacks."""
    out = {"type": type(w).__name__}
    if hasattr(w, "children"):
        out["children"] = [widget(c) for c in w.children]
    for name in ("options", "index", "value", "description", "selected_index"):
        if not w.has_trait(name):
            continue
        v = getattr(w, name)
        if isinstance(v, (bytes, memoryview)):
            v = json.loads(bytes(v).decode())
        elif isinstance(v, tuple):
            v = [str(o) for o in v]
        out[name] = v
    return out


def shown(x) -> dict:
    """What displaying ``x`` shows, as data."""
    from pandas.io.formats.style import Styler

    if hasattr(x, "_repr_markdown_") and hasattr(x, "data") and isinstance(x.data, str):
        return {"markdown": steady(x.data)}
    if isinstance(x, Styler):
        return {"styler": frame(x.data), "text": steady(x.to_string())}
    if isinstance(x, pd.DataFrame):
        return {"frame": frame(x)}
    if isinstance(x, pd.Series):
        return {"frame": frame(x.to_frame())}
    if isinstance(x, matplotlib.figure.Figure):
        return {"figure": fp.figure(x)}
    if type(x).__module__.startswith("ipywidgets"):
        return {"widget": widget(x)}
    if hasattr(x, "spec") and hasattr(x, "element_id"):  # figures.live.LiveWidget
        return {"live_widget": live_spec(x.spec)}
    if isinstance(x, (str, int, float)):
        return {"value": value(x)}
    return {"repr": repr(x)}


def _fingerprint_savefig(fig, fname, *args, **kwargs):
    data = json.dumps(fp.figure(fig), sort_keys=True).encode()
    if isinstance(fname, (str, os.PathLike)):
        Path(fname).write_bytes(data)
    else:
        fname.write(data)


def run_page(page: Path) -> list[dict]:
    """Execute ``page``'s code cells in order and return everything they display."""
    import IPython.display
    import myst_nb

    out: list[dict] = []

    def flush():
        for num in plt.get_fignums():
            out.append({"figure": fp.figure(plt.figure(num))})
        plt.close("all")

    def display(*objs, **_):
        for o in objs:
            out.append(shown(o))

    def glue(name, val, display=True):
        out.append({"glue": name, **shown(val)})

    patches = [(IPython.display, "display", display), (myst_nb, "glue", glue),
               (plt, "show", lambda *a, **k: flush()),
               (matplotlib.figure.Figure, "savefig", _fingerprint_savefig)]
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    cwd = os.getcwd()
    ns: dict = {"__name__": "__page__", "display": display}  # a builtin in Jupyter
    try:
        for obj, name, new in patches:
            setattr(obj, name, new)
        os.chdir(page.parent)
        plt.close("all")
        for src in code_cells(page):
            tree = ast.parse(src)
            last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
            with contextlib.redirect_stdout(io.StringIO()) as printed:
                exec(compile(tree, str(page), "exec"), ns)
                result = eval(compile(ast.Expression(last.value), str(page), "eval"), ns) \
                    if last is not None else None
            if printed.getvalue():
                out.append({"stdout": printed.getvalue()})
            if result is not None:
                out.append(shown(result))
            flush()
    finally:
        os.chdir(cwd)
        for obj, name, old in saved:
            setattr(obj, name, old)
        plt.close("all")
    return out


PINS = Path(__file__).parent / "data" / "page_outputs"


def pin_path(page: str) -> Path:
    """``theory/fit.md`` -> ``tests/data/page_outputs/theory__fit.json``."""
    return PINS / (page.removesuffix(".md").replace("/", "__") + ".json")


def capture(pages=PAGES, root: Path = ROOT) -> dict[str, list[dict]]:
    return {p: run_page(root / "book" / p) for p in pages}


def write_pins(pages) -> None:
    """Re-pin ``pages`` (paths under book/) to what they show now."""
    for page in pages:
        if page not in PAGES:
            raise SystemExit(f"unknown page {page!r}; pinned pages: {', '.join(PAGES)}")
        shown_now = json.dumps(run_page(ROOT / "book" / page), sort_keys=True, ensure_ascii=False)
        pin_path(page).write_text(json.dumps(json.loads(shown_now), sort_keys=True,
                                             ensure_ascii=False, indent=0) + "\n")
        print("pinned", page, "->", pin_path(page).relative_to(ROOT))


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or args[0] != "--write" or len(args) < 2:
        raise SystemExit("usage: python tests/page_outputs.py --write PAGE [PAGE ...]")
    write_pins(args[1:])

