"""Where the repository is: the one place that knows how to find ``results/`` and ``studies/``.

Book pages execute with their own folder as the working directory (``book/`` or a chapter folder
below it), tests and the CLI from anywhere; every caller that reads committed tables asks here
instead of guessing a relative path such as ``../results``.
"""

from __future__ import annotations

import os
from pathlib import Path

MARKERS = ("pyproject.toml", "studies")  # both present only at the repository root


def repo_root(start: str | os.PathLike | None = None) -> Path:
    """The first folder upwards from ``start`` (default: the working directory) that holds the
    repository's ``pyproject.toml`` and ``studies/``."""
    here = Path(start or Path.cwd()).resolve()
    for p in (here, *here.parents):
        if all((p / m).exists() for m in MARKERS):
            return p
    raise FileNotFoundError(
        f"no repository root (a folder holding {' and '.join(MARKERS)}) in {here} or above it; "
        f"run from inside the pretrain-diversity checkout or pass root="
    )
