"""Predicted cost of a full study from a measured throughput (no torch needed here).

A study is a grid of pre-training runs: for each budget N, each K of a list that divides N with
n = N / K no larger than the data set allows, and each seed. A run trains for
``ceil(epochs * N / batch)`` steps of ``min(batch, N)`` images (``RunConfig.steps``), so its
training images, and at a measured images/s its training time, are known before it starts.
Everything else a run does (loading its subset, probing) is charged as a stated per-run overhead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# The book's Figure-1 grid on ImageNet-32 (its own choice: the paper's K and n grids are not
# known here). ImageNet's smallest training class has 732 images, so n <= 732 caps the grid.
IMAGENET32_GRID = {
    "budgets": (10_000, 50_000, 250_000),
    "ks": (10, 20, 50, 100, 200, 500, 1000),
    "seeds": 3,
    "epochs": 100.0,  # the paper's reported pre-training length
    "pool": 1000,
    "max_per_class": 732,
}


@dataclass(frozen=True)
class GridRun:
    budget: int
    n_classes: int
    samples_per_class: int
    seed: int


def grid_runs(budgets, ks, seeds: int, pool: int, max_per_class: int) -> list[GridRun]:
    """Every (N, K, seed) with K | N, K <= pool and n = N / K <= max_per_class."""
    runs = []
    for n_total in budgets:
        for k in ks:
            if n_total % k or k > pool or n_total // k > max_per_class:
                continue
            runs.extend(GridRun(n_total, k, n_total // k, s) for s in range(seeds))
    return runs


def run_images(budget: int, epochs: float, batch_size: int) -> int:
    """Training images one run processes (the same rule as ``RunConfig.steps``)."""
    steps = max(1, math.ceil(epochs * budget / batch_size))
    return steps * min(batch_size, budget)


def predict(images_per_s: float, *, budgets, ks, seeds: int, epochs: float, batch_size: int,
            pool: int, max_per_class: int, overhead_s: float = 0.0) -> dict:  # fmt: skip
    """Runs, training images and predicted wall time (s) of the grid at ``images_per_s``."""
    runs = grid_runs(budgets, ks, seeds, pool, max_per_class)
    images = sum(run_images(r.budget, epochs, batch_size) for r in runs)
    train_s = images / images_per_s
    per_budget = {
        n: sum(1 for r in runs if r.budget == n) for n in budgets
    }  # runs per budget, seeds included
    return {
        "runs": len(runs),
        "runs_per_budget": per_budget,
        "train_images": images,
        "train_s": train_s,
        "overhead_s": overhead_s * len(runs),
        "total_s": train_s + overhead_s * len(runs),
    }
