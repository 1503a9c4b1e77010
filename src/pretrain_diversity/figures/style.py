"""Colours the figures share, so one budget or one knob has one colour on every page."""

from __future__ import annotations


def budget_colors(budgets) -> dict:
    """One colour per budget, small N dark (plasma), as on the Figure 1 page."""
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("plasma")
    return {n: cmap(0.1 + 0.75 * i / max(1, len(budgets) - 1)) for i, n in enumerate(budgets)}
