"""A module as it was at an earlier commit, executed from git history, so a test can compare the
current code with the code before a change bit for bit (None where there is no git history)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def module_at(commit: str, path: str, name: str, *, package: str | None = None,
              replace: dict[str, str] | None = None, keep: bool = False):
    """Module ``name`` executed from ``path`` at ``commit``; ``package`` resolves its relative
    imports, ``replace`` patches its source text first. ``keep`` leaves it in sys.modules."""
    try:
        src = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=ROOT, capture_output=True,
                             text=True, check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for old, new in (replace or {}).items():
        src = src.replace(old, new)
    mod = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader=None))
    if package is not None:
        mod.__package__ = package
    sys.modules[name] = mod  # dataclasses look their module up here
    try:
        exec(compile(src, f"{commit}:{path}", "exec"), mod.__dict__)
    finally:
        if not keep:
            sys.modules.pop(name, None)
    return mod
