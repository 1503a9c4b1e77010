"""Splitting a pre-training budget N into K classes x n images per class.

Every study, the planner, the montage and the simulation ask the same two questions: can K split N
evenly (every class must get the same n, or K and n are not what the table says), and which
power-of-two splits does a budget have. The answers live here, once, with no dependencies, so the
floor of the package (config) and its top (figures) can share them.
"""

from __future__ import annotations


def split_reason(budget: int, n_classes: int) -> str | None:
    """Why K = ``n_classes`` cannot split N = ``budget`` evenly, or None when it can."""
    if budget % n_classes:
        lo, hi = nearest_budgets(budget, n_classes)
        return (f"budget={budget} is not divisible by n_classes={n_classes}: every class needs "
                f"the same number of images (nearest valid budgets: {lo} or {hi})")
    return None


def nearest_budgets(budget: int, n_classes: int) -> tuple[int, int]:
    """The multiples of K just below (or K itself) and just above N."""
    return budget // n_classes * n_classes or n_classes, (budget // n_classes + 1) * n_classes


def power_of_two_splits(budget: int, *, min_classes: int = 1, min_samples: int = 1,
                        max_ratio: float | None = None) -> list[tuple[int, int]]:
    """Every (K, n) with K * n = N, K a power of two, K >= min_classes, n >= min_samples and
    K / n <= max_ratio (when given), in increasing K."""
    out, k = [], 1
    while k <= budget:
        if budget % k == 0:
            n = budget // k
            if k >= min_classes and n >= min_samples and (max_ratio is None or k / n <= max_ratio):
                out.append((k, n))
        k *= 2
    return out
