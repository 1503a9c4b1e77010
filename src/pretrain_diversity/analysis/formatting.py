"""How the pages write numbers: one home for the ratio and interval formats they share."""

from __future__ import annotations

import math


def ratio(r: float) -> str:
    """A ratio K/n as read on the Figure 1 and invariance pages: 2 significant digits below 10."""
    return f"{r:.2g}" if r < 10 else f"{r:.0f}"


def ratio_grouped(r: float) -> str:
    """As ``ratio``, with thousands separators, and 'nan' for an undefined ratio."""
    if not math.isfinite(r):
        return "nan"
    return f"{r:.2g}" if r < 10 else f"{r:,.0f}"


def ratio_fraction(r: float) -> str:
    """A ratio as '1/8' below 1 and '8' above: how the application page names K/n."""
    return f"1/{1 / r:.0f}" if r < 1 else f"{r:.0f}"


def signed_interval(lo: float, hi: float) -> str:
    """'[-0.12, +0.30]': an interval of a signed quantity (a slope, a difference)."""
    return f"[{lo:+.2f}, {hi:+.2f}]"
