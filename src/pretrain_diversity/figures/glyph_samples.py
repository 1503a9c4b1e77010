"""Pictures of the pre-training data for the data and Entezari pages: glyph pool classes,
downstream tasks, the K x n splits of one budget, the intra-class variety levels and the parts of a
style, one image per pre-training source, and characters of the font source in its faces. Drawn
here so the pages only choose what to show."""

from __future__ import annotations

import numpy as np

from pretrain_diversity.figures.montage import tile

# A class's character in a title: matplotlib's default DejaVu Sans lacks about a third of the
# glyph classes (mathematical alphanumerics, STIX-only symbols), which drew as an empty box and
# printed a "Glyph ... missing from font(s)" warning into the page. Font fallback through the
# families of the bank's own fonts (the regular faces) finds all but 3 of its 6,428 classes.
TITLE_FONTS = ["DejaVu Sans", "STIXGeneral", "DejaVu Sans Mono", "DejaVu Serif", "STIXNonUnicode",
               "STIXSizeOneSym"]


def pool_classes(bank, pool, n_classes: int = 12, per_class: int = 8, size: int = 32, seed: int = 1):
    """``n_classes`` random pool classes, ``per_class`` renders each, one row per class."""
    import matplotlib.pyplot as plt
    import torch

    from pretrain_diversity.data.sampling import render

    g = torch.Generator().manual_seed(seed)
    rows = pool[torch.randperm(len(pool), generator=g)[:n_classes].numpy()]
    imgs = render(bank, np.repeat(rows, per_class), size, g)
    fig, axes = plt.subplots(n_classes, 1, figsize=(7, 9.5))
    for i, (ax, c) in enumerate(zip(axes, rows)):
        ax.imshow(tile(imgs[i * per_class: (i + 1) * per_class], per_class), cmap="gray", vmin=0,
                  vmax=255)
        ax.set_axis_off()
        ax.set_title(f"{bank.char(c)}  {bank.name(c).lower()}  ({bank.variants_per_class[c]} fonts)",
                     fontsize=10, loc="left", fontfamily=TITLE_FONTS)
    fig.suptitle(f"{n_classes} pool classes x {per_class} images each, at {size} px", y=0.995)
    fig.tight_layout()
    return fig


def task_strips(tasks: dict, per_task: int = 24):
    """``per_task`` test images of every downstream task, evenly spaced through its test set."""
    import matplotlib.pyplot as plt
    import torch

    fig, axes = plt.subplots(len(tasks), 1, figsize=(7.6, 3.2))
    for ax, t in zip(axes, tasks.values()):
        pick = torch.linspace(0, len(t.test) - 1, per_task).long()
        ax.imshow(tile(t.test.images[pick], per_task), cmap="gray", vmin=0, vmax=255)
        ax.set_title(t.name, fontsize=10, loc="left")
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def split_panels(budget: int = 256, classes=(1, 8, 32, 256), image_size: int = 16, cols: int = 16):
    """The pre-training sets of a few K x n splits of one budget, side by side, two a row.

    A static figure, not a slider: pictures of glyphs cannot be computed in the browser, and a
    slider over pre-drawn pictures is a flip book. Every panel is the same square of
    ``cols`` images a row, sorted by class, so the splits compare at a glance: one class fills the
    square at K = 1, each image is its own class at K = N. ``classes`` are mirror pairs in K/n
    (1/256, 1/4, 4, 256 at N = 256) around the middle of the range.
    """
    import torch

    from pretrain_diversity.config import RunConfig
    from pretrain_diversity.data.pool import pretraining_set
    from pretrain_diversity.figures.style import PANEL_IN, panel_grid

    bad = [k for k in classes if budget % k]
    if bad:
        raise ValueError(f"K = {bad} do not divide the budget N = {budget}")
    fig, axes, _ = panel_grid(len(classes), row_in=PANEL_IN + 0.5)
    for ax, k in zip(axes, classes):
        n = budget // k
        s = pretraining_set(RunConfig(n_classes=k, samples_per_class=n, image_size=image_size,
                                      seed=0))
        order = torch.argsort(s.labels, stable=True)
        ax.imshow(tile(s.images[order], ncols=cols), cmap="gray", vmin=0, vmax=255)
        ax.set_axis_off()
        per = ("one class" if k == 1 else "one image per class" if n == 1
               else f"{n // cols} rows per class" if n >= cols else f"{cols // n} classes a row")
        ratio = f"{k // n}" if k >= n else f"1/{n // k}"
        ax.set_title(f"K = {k} × n = {n}  (K/n = {ratio}): {per}", fontsize=10)
    fig.suptitle(f"The pre-training set at N = {budget}, seed 0, sorted by class", fontsize=10)
    return fig


VARIETY_SHOWN = ((1, "V = 1"), (4, "V = 4"), (16, "V = 16"), (0, "V = ∞ (styles_per_class = 0)"),
                 (None, "original sampler (unset)"))


def variety_levels(bank, pool, levels=VARIETY_SHOWN, n_classes: int = 5, per_class: int = 24):
    """One row of images per class, for each level of intra-class variety V."""
    import matplotlib.pyplot as plt

    from pretrain_diversity.data.sampling import two_step_sample

    fig, axes = plt.subplots(len(levels), 1, figsize=(7.6, 1.8 * len(levels)))
    for ax, (v, name) in zip(axes, levels):
        s = two_step_sample(bank, pool, n_classes, per_class, 32, seed=2, styles_per_class=v)
        ax.imshow(tile(s.images, per_class), cmap="gray", vmin=0, vmax=255)
        ax.set_title(f"{name}: {n_classes} classes x {per_class} images (one row per class)",
                     fontsize=10, loc="left")
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def style_parts(bank, letter: str = "g", per_row: int = 10):
    """What each part of a style adds, on one letter with the nuisances switched off."""
    import matplotlib.pyplot as plt

    from pretrain_diversity.data.sampling import DEFAULT_STYLES, Nuisance, StyleRanges, two_step_sample

    still = Nuisance(rotation_deg=0, log_scale=0, shear=0, translate=0, contrast=(1, 1),
                     background=(0, 0), noise_std=(0, 0))
    d = DEFAULT_STYLES
    parts = [
        ("font variant", StyleRanges(stroke=(0, 0), slant=0, log_aspect=0, warp=0)),
        ("+ stroke weight", StyleRanges(stroke=d.stroke, slant=0, log_aspect=0, warp=0)),
        ("+ slant and aspect", StyleRanges(stroke=d.stroke, slant=d.slant, log_aspect=d.log_aspect,
                                           warp=0)),
        ("+ elastic warp (a full style)", d),
    ]
    one_class = np.flatnonzero(bank.codepoints == ord(letter))[:1]  # a pool of one class
    fig, axes = plt.subplots(len(parts), 1, figsize=(7, 1.15 * len(parts)))
    for ax, (name, ranges) in zip(axes, parts):
        s = two_step_sample(bank, one_class, 1, per_row, 32, seed=0, nuisance=still,
                            styles_per_class=0, style_ranges=ranges)
        ax.imshow(tile(s.images, per_row), cmap="gray", vmin=0, vmax=255)
        ax.set_title(name, fontsize=10, loc="left")
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def source_samples(spec):
    """One image of each of 16 classes per pre-training source (variant) of a study spec."""
    import matplotlib.pyplot as plt

    from pretrain_diversity.config import RunConfig
    from pretrain_diversity.data.pool import pretraining_set

    base = RunConfig.from_budget(8192, 256, **spec.base)
    fig, axes = plt.subplots(1, len(spec.variants), figsize=(7.6, 2.2), layout="constrained")
    for ax, (name, fields) in zip(axes, spec.variants.items()):
        data = pretraining_set(base.with_(n_classes=16, samples_per_class=2, **fields))
        grid = data.images[::2][:16, 0].reshape(4, 4, 16, 16).permute(0, 2, 1, 3).reshape(64, 64)
        ax.imshow(grid, cmap="gray", vmin=0, vmax=255)
        ax.set_title(name, fontsize=10)
        ax.axis("off")
    fig.suptitle("one image of each of 16 classes, per pre-training source (labels not shown)",
                 fontsize=10)
    return fig


MONTAGE_CHARS = "Agλ Ж永書"


def font_faces(bank, split, chars: str = MONTAGE_CHARS, pre: int = 10, held: int = 4,
               size: int = 32, seed: int = 0):
    """One row per character: ``pre`` of its pre-training faces, then ``held`` of its held-out
    faces (faces drawn at random, a fixed seed), at ``size`` px. Characters the bank lacks are
    skipped; spaces are ignored."""
    import matplotlib.pyplot as plt

    from pretrain_diversity.data.fonts_split import to_size

    rng = np.random.default_rng(seed)
    where = {int(cp): c for c, cp in enumerate(bank.codepoints)}
    rows = [(ch, where[ord(ch)]) for ch in chars if ch.strip() and ord(ch) in where]
    if not rows:
        raise ValueError(f"none of {chars!r} is a class of the font bank")
    fig, axes = plt.subplots(len(rows), 2, figsize=(7.6, 1.0 * len(rows)), squeeze=False,
                             gridspec_kw={"width_ratios": [pre, held]})
    for (ch, c), (ax_pre, ax_held) in zip(rows, axes):
        sl = slice(bank.offsets[c], bank.offsets[c + 1])
        held_out = split.heldout_face[bank.render_face[sl]]
        for ax, mask, k, name in ((ax_pre, ~held_out, pre, "pre-training"),
                                  (ax_held, held_out, held, "held-out")):
            idx = np.flatnonzero(mask)
            pick = np.sort(rng.choice(idx, min(k, len(idx)), replace=False)) if len(idx) else idx
            imgs = to_size(bank.images[sl][pick], size) if len(pick) else None
            if imgs is not None:
                ax.imshow(tile(imgs, k), cmap="gray", vmin=0, vmax=255)
            label = f"U+{ord(ch):04X}" + (f" {ch}" if ord(ch) < 0x530 else "")  # no Han in DejaVu
            # the held-out column is narrow: its title is short, the row's character is on the left
            ax.set_title(f"{label}: {len(pick)} of its {len(idx)} {name} faces" if name ==
                         "pre-training" else f"held out: {len(pick)} of {len(idx)}", fontsize=10,
                         loc="left")
            ax.set_axis_off()
    fig.tight_layout()
    return fig
