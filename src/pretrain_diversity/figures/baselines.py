"""No-pre-training baselines drawn beside a U-curve: what pre-training has to beat on the task."""

from __future__ import annotations

LINE_STYLES = ("--", "-.")


def draw_baselines(ax, lines: dict | None, *, scale: float = 100.0) -> None:
    """Horizontal reference lines, one per baseline kind ({kind: error}, e.g. raw pixels and the
    random network from ``studies.slope_verdicts.baseline_lines``), in the plot's units."""
    for (kind, err), ls in zip(sorted((lines or {}).items()), LINE_STYLES):
        ax.axhline(err * scale, color="0.3", lw=1, ls=ls, label=f"{kind} (no pre-training)")
