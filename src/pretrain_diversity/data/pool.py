"""Pre-training data: which classes may be drawn (the pool), and the K x n training set of a run.

The glyph classes are split once, by a fixed seed, into a pre-training pool and a held-out set
that only downstream tasks use, so no pre-training run ever sees a downstream class.
Generated sets are cached on disk under a key of everything that determines them.
Real data sets (ImageNet, its downsampled forms, CIFAR-100) come from ``data.real``: their pool is
every class of the training split, and a run's set is an index mask into one decoded tensor.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from pretrain_diversity.config import CLASS_POOLS, NATURAL_DATASETS, RunConfig
from pretrain_diversity.data.glyphs import GlyphBank, load_bank
from pretrain_diversity.data.hygiene import HYGIENE_VERSION, MAX_DISTANCE, clean_pool
from pretrain_diversity.data.real.cache import gather
from pretrain_diversity.data.real.readers import load_pretrain_split, real_limits
from pretrain_diversity.data.sampling import DEFAULT_STYLES, ImageSet, two_step_indices, two_step_sample
from pretrain_diversity.storage import UntrustedFile, atomic_torch_save, cache_dir, load_tensors

SPLIT_SEED = 20230521  # fixed: the pool/held-out split must not move with a run's seed
HELDOUT_CLASSES = 100  # glyph classes reserved for the held-out-glyph downstream task
GLYPHS_MAX_PER_CLASS = 10_000  # the renderer is unbounded; this caps memory (N up to ~65M px)
DATA_VERSION = 1
STYLE_VERSION = 1  # bump when render_styled changes what a style draws (its ranges are keyed)


@dataclass(frozen=True)
class GlyphSplit:
    pool: np.ndarray  # class indices pre-training may draw from
    heldout: np.ndarray  # class indices reserved for downstream evaluation


@lru_cache(maxsize=2)
def glyph_split(n_classes_total: int, heldout: int = HELDOUT_CLASSES) -> GlyphSplit:
    perm = np.random.default_rng(SPLIT_SEED).permutation(n_classes_total)
    return GlyphSplit(pool=np.sort(perm[heldout:]), heldout=np.sort(perm[:heldout]))


def _in_class_pool(name: str, category: str, class_pool: str) -> bool:
    """Whether a glyph (its Unicode name and category) belongs to a named pool (CLASS_POOLS)."""
    if class_pool == "letters":
        return category.startswith("L")
    if class_pool == "symbols":
        return category.startswith("S")
    prefix = {"latin": "LATIN ", "greek": "GREEK ", "cyrillic": "CYRILLIC ",
              "math": "MATHEMATICAL "}[class_pool]  # fmt: skip
    return name.startswith(prefix)


def class_pool(
    bank: GlyphBank, name: str | None = None, hygiene: float | None = None
) -> np.ndarray:
    """The pre-training pool (class indices), or its subset named ``name`` (config.CLASS_POOLS);
    ``hygiene`` (a run's ``pool_hygiene``) removes the classes within that shape distance of a
    downstream class, and the digits (``data.hygiene``)."""
    split = glyph_split(bank.n_classes)
    pool = split.pool
    if name is not None:
        if name not in CLASS_POOLS:
            raise ValueError(f"unknown class_pool {name!r}; allowed: {', '.join(CLASS_POOLS)}")
        keep = [
            _in_class_pool(unicodedata.name(bank.char(c), ""), unicodedata.category(bank.char(c)),
                           name)  # fmt: skip
            for c in pool
        ]
        pool = pool[np.asarray(keep, dtype=bool)]
    if hygiene is not None:
        pool = clean_pool(bank, pool, split.heldout, hygiene)
    return pool


def dataset_limits(
    dataset: str, class_pool_name: str | None = None, data_root=None,
    pool_hygiene: float | None = None,
) -> tuple[int, int]:  # fmt: skip
    """(classes in the pre-training pool, images available per class) for parameter checks.

    ``class_pool_name`` (a run's ``class_pool``) narrows the glyph pool to one of
    config.CLASS_POOLS, and ``pool_hygiene`` removes the classes near a downstream one. Real data
    sets (``data.real``): the pool is every class of the training split, and the cap is the size of the smallest class, read from the cached label index (made
    by one scan of the files, no decoding), so a run is checked before any image is decoded.
    """
    if dataset == "glyphs":
        bank = load_bank()
        if class_pool_name is not None and class_pool_name not in CLASS_POOLS:
            return len(glyph_split(bank.n_classes).pool), GLYPHS_MAX_PER_CLASS  # validate() names it
        valid = isinstance(pool_hygiene, (int, float)) and not isinstance(pool_hygiene, bool)
        if not (valid and 0 <= pool_hygiene <= MAX_DISTANCE):
            pool_hygiene = None  # unset, or out of range: validate() names it
        return len(class_pool(bank, class_pool_name, pool_hygiene)), GLYPHS_MAX_PER_CLASS
    if dataset in NATURAL_DATASETS:
        return real_limits(dataset, data_root)
    if dataset == "fonts":
        from pretrain_diversity.data.fonts_split import font_limits

        return font_limits(class_pool_name)
    raise ValueError(f"unknown dataset {dataset!r}")


def cache_key(*parts) -> str:
    """A short hash of everything that determines a generated set: its cache file's name."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def cached_images(key: str, make) -> ImageSet:
    """Load an ImageSet from the disk cache, or make it and store it (atomic).

    The file holds three tensors (class ids too, so that it loads with ``weights_only``); a
    damaged file is regenerated, a file that pickles anything else raises ``UntrustedFile``.
    Files of the earlier format (``{key}.pt``, class ids as a numpy array) are not read.
    """
    path = cache_dir() / "sets" / f"{key}.tensors.pt"
    if path.exists():
        try:
            d = load_tensors(
                path, what="a cached image set",
                remedy=f"Delete it (rm {path}); it is generated again on next use.",
            )  # fmt: skip
            return ImageSet(d["images"], d["labels"], d["class_ids"].numpy())
        except UntrustedFile:
            raise
        except Exception:  # a damaged cache entry is regenerated, never trusted
            path.unlink(missing_ok=True)
    s = make()
    class_ids = torch.from_numpy(np.ascontiguousarray(s.class_ids))
    atomic_torch_save(path, {"images": s.images, "labels": s.labels, "class_ids": class_ids})
    return s


def pretraining_set(cfg: RunConfig, bank: GlyphBank | None = None, data_root=None) -> ImageSet:
    """The run's K classes x n images, drawn by two-step sampling under ``cfg.seed`` (the classes
    under ``cfg.class_seed`` and the images under ``cfg.image_seed`` where those are set).

    Glyphs are rendered (and cached per draw); a real data set is decoded once at
    ``cfg.image_size`` and the run takes an index mask of it (``two_step_indices``).
    """
    if cfg.dataset in NATURAL_DATASETS:
        return real_pretraining_set(cfg, data_root)
    if cfg.dataset == "fonts":
        from pretrain_diversity.data.fonts_split import fonts_pretraining_set

        return corrupt(fonts_pretraining_set(cfg), cfg)
    if cfg.dataset != "glyphs":
        raise ValueError(f"unknown dataset {cfg.dataset!r}")
    bank = bank or load_bank()
    pool = class_pool(bank, cfg.class_pool, cfg.pool_hygiene)
    parts = (
        "pretrain", DATA_VERSION, bank.fingerprint, cfg.n_classes, cfg.samples_per_class,
        cfg.image_size, cfg.seed,
    )  # fmt: skip
    # knobs added later join the key only when set, so sets cached before them stay valid
    extra = tuple(
        (k, v)
        for k, v in (
            ("styles_per_class", cfg.styles_per_class), ("class_pool", cfg.class_pool),
            ("class_seed", cfg.class_seed), ("image_seed", cfg.image_seed),
            ("pool_hygiene", None if cfg.pool_hygiene is None
             else (HYGIENE_VERSION, cfg.pool_hygiene)),
        )  # fmt: skip
        if v is not None
    )
    if extra:
        parts += (STYLE_VERSION, repr(DEFAULT_STYLES), extra)
    drawn = cached_images(
        cache_key(*parts),
        lambda: two_step_sample(
            bank, pool, cfg.n_classes, cfg.samples_per_class, cfg.image_size, cfg.seed,
            styles_per_class=cfg.styles_per_class, class_seed=cfg.class_seed,
            image_seed=cfg.image_seed,
        ),
    )
    return corrupt(drawn, cfg)


# Held-out images of a run's own classes (training.lengths' plateau rule): about this many in all,
# at least one per class, drawn from the image stream below, which no training draw uses.
HELDOUT_IMAGES = 1024
HELDOUT_IMAGE_STREAM = 7_919


def heldout_set(cfg: RunConfig, bank: GlyphBank | None = None) -> ImageSet:
    """Fresh images of the run's K classes (the same classes ``pretraining_set`` draws, under
    another image seed), with their true labels and the run's appearance: what the pre-training
    loss is measured on to tell whether a run has stopped improving."""
    if cfg.dataset != "glyphs" or cfg.styles_per_class is not None:
        raise ValueError("held-out images are drawn for glyphs under the original sampler only")
    bank = bank or load_bank()
    pool = class_pool(bank, cfg.class_pool, cfg.pool_hygiene)
    per_class = max(1, -(-HELDOUT_IMAGES // cfg.n_classes))
    class_seed = cfg.seed if cfg.class_seed is None else cfg.class_seed
    image_seed = HELDOUT_IMAGE_STREAM * 1_000_003 + cfg.seed
    parts = ("heldout", DATA_VERSION, bank.fingerprint, cfg.n_classes, per_class, cfg.image_size,
             class_seed, image_seed, cfg.class_pool,
             None if cfg.pool_hygiene is None else (HYGIENE_VERSION, cfg.pool_hygiene))
    drawn = cached_images(
        cache_key(*parts),
        lambda: two_step_sample(bank, pool, cfg.n_classes, per_class, cfg.image_size, cfg.seed,
                                class_seed=class_seed, image_seed=image_seed),
    )
    images = drawn.images
    if cfg.appearance is not None:
        images = apply_appearance(images, cfg.appearance)
    return ImageSet(images, drawn.labels, drawn.class_ids)


def corrupt(data: ImageSet, cfg: RunConfig) -> ImageSet:
    """The run's curation and style knobs, applied to the drawn images (cheap, so not cached):
    ``appearance`` changes how every image looks, ``label_noise`` which labels are wrong."""
    images, labels = data.images, data.labels
    if cfg.appearance is not None:
        images = apply_appearance(images, cfg.appearance)
    if cfg.label_noise:
        labels = noisy_labels(labels, cfg.n_classes, cfg.label_noise, cfg.seed)
    return ImageSet(images, labels, data.class_ids)


def noisy_labels(labels: torch.Tensor, n_classes: int, rate: float, seed: int) -> torch.Tensor:
    """Replace exactly round(rate * N) labels, chosen at random, by one of the other K - 1 classes.

    Symmetric label noise, the simplest model of uncurated data (web alt-text that names the
    wrong thing). The draw depends only on (seed, N, K, rate), not on the images.
    """
    g = torch.Generator().manual_seed((int(seed) * 1_000_003 + 0x4E015E) % (2**63 - 1))
    m = round(rate * len(labels))
    flip = torch.randperm(len(labels), generator=g)[:m]
    offset = torch.randint(1, n_classes, (m,), generator=g)
    out = labels.clone()
    out[flip] = (labels[flip] + offset) % n_classes
    return out


def apply_appearance(images: torch.Tensor, kind: str) -> torch.Tensor:
    """uint8 [N, C, H, W] in another look: "negative" (dark ink on a bright ground) or "outline"
    (the morphological gradient, dilation minus erosion: hollow strokes)."""
    if kind == "negative":
        return 255 - images
    if kind == "outline":
        x = images.float()
        edge = F.max_pool2d(x, 3, 1, 1) + F.max_pool2d(-x, 3, 1, 1)
        return edge.clamp_(0, 255).round_().to(torch.uint8)
    raise ValueError(f"unknown appearance {kind!r}; allowed: negative, outline")


def real_pretraining_set(cfg: RunConfig, data_root=None) -> ImageSet:
    """K classes x n images of a real data set: rows of its cached decoded tensor (no copies of
    files; the rows are read into memory, then the training loop moves them to the device)."""
    split = load_pretrain_split(cfg.dataset, cfg.image_size, data_root)
    index, labels, chosen = two_step_indices(
        split.labels, cfg.n_classes, cfg.samples_per_class, cfg.seed,
        class_seed=cfg.class_seed, image_seed=cfg.image_seed,
    )  # fmt: skip
    return corrupt(ImageSet(gather(split.images, index), torch.from_numpy(labels), chosen), cfg)
