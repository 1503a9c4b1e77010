"""One run's configuration: the single source of truth for the notebook, the CLI, sweeps and the cache.

A run pre-trains on K = ``n_classes`` classes with n = ``samples_per_class`` images each
(budget N = K * n, Zhang et al.'s two-step sampling), then linear-probes frozen features on
downstream tasks. The number of optimiser steps depends only on N (``epochs * N / batch_size``),
so runs with the same N and different K are compared at equal compute.

Fields listed in ``EXECUTION_FIELDS`` say *where* a run executes, not *what* it computes; they are
left out of the run's identity so a study can move between machines without retraining.

Fields added after the first studies default to None, meaning "as before this field existed";
``identity`` leaves None-valued fields out, so adding one changes no earlier run's id.

The allowed values live here as constants; the checks that apply them (and the data set's
limits) live in ``runs.validation``.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, fields, replace

from pretrain_diversity.budget import split_reason

ARCHS = ("convnet", "resnet18", "resnet50")
# Pre-training sets: the embedded glyphs (default, no download) and real ones read from disk
# (data/real/; where each must lie is in data.real.locations.LOCATIONS).
NATURAL_DATASETS = ("imagenet", "imagenet32", "imagenet64", "cifar100")
DATASETS = ("glyphs",) + NATURAL_DATASETS
# Characters rendered from the font faces installed on disk (data/fonts.py; scripts/ensure-data).
FONT_DATASETS = ("fonts",)
DATASETS += FONT_DATASETS
# Highest image_size each real set can give without upsampling (the folder ImageNet has none).
NATIVE_SIZE = {"imagenet32": 32, "imagenet64": 64, "cifar100": 32}
GLYPH_PROBE_TASKS = ("glyphs-heldout", "digits", "shapes")
REAL_PROBE_TASKS = (
    "cifar10", "cifar100", "dtd", "flowers102", "pets", "caltech101", "eurosat", "places365",
)  # fmt: skip
# Real images shipped by package registries, and font characters in held-out faces
# (tasks/real_images.py; scripts/ensure-data installs them).
REAL_IMAGE_PROBE_TASKS = ("fashion-mnist", "mnist", "chars-heldout-faces")
PROBE_TASKS = GLYPH_PROBE_TASKS + REAL_PROBE_TASKS + REAL_IMAGE_PROBE_TASKS
IMAGE_SIZES = (8, 16, 32, 64)
MAX_STYLES = 1_000_000  # styles_per_class above this is indistinguishable from unbounded (0)
# Subsets of the glyph pre-training pool (data.pool.class_pool), by Unicode name or category: classes
# within one script look more alike than classes drawn across all scripts.
CLASS_POOLS = ("latin", "greek", "cyrillic", "math", "letters", "symbols")
# How the pre-training images look (data.pool.apply_appearance): a style shift away from the downstream
# tasks, whose glyphs are bright ink on a dark ground. "negative" inverts the image; "outline"
# keeps only the edges of each stroke.
APPEARANCES = ("negative", "outline")
# Pre-training objectives on the same images (models/objectives.py). None is supervised cross-entropy.
METHODS = ("supervised", "simclr", "clip")
# What a CLIP caption says (None = the Unicode name of the character): "coarse" keeps its first word
# only (the script or block: "LATIN", "GREEK", "BOX"), "constant" is one caption for every class,
# "web" draws per image from a mix of exact, partial, wrong and empty captions (data.captions).
CAPTIONS = ("coarse", "constant", "web")
MAX_LABEL_NOISE = 0.95  # at 1.0 no label carries information
MAX_SHOTS = 1000
# Training lengths (``lengths``): the cool-down of each branch takes this fraction of its length
# when the run does not set ``cooldown_frac`` (Hägele et al. 2024 find 10-20% enough).
DEFAULT_COOLDOWN_FRAC = 0.2
MAX_LENGTH_MULTIPLE = 64.0
# ``lr`` is the peak learning rate for a batch of this size; larger batches scale it linearly.
LR_REFERENCE_BATCH = 128

# Fields that change how fast a run goes but not what it computes (the cache key ignores them).
EXECUTION_FIELDS = frozenset({"device", "compile"})


class ConfigError(ValueError):
    """A parameter is outside its allowed values; raised before any data is drawn or trained."""


@dataclass(frozen=True)
class RunConfig:
    # --- what to pre-train on (two-step sampling: K classes, then n images per class) ---
    dataset: str = "glyphs"
    n_classes: int = 500
    samples_per_class: int = 32
    image_size: int = 16
    # intra-class variety V (data.sampling.render_styled): each class owns V latent styles (font
    # variant, stroke weight, slant, aspect, elastic warp); 0 = unbounded (a fresh style per
    # image); None = the original sampler (a random font variant and stroke per image).
    styles_per_class: int | None = None
    # which classes K is drawn from: None = the whole pool (every script); or one of CLASS_POOLS
    # (between-class similarity: e.g. "latin" draws only Latin letters)
    class_pool: str | None = None
    # fraction of pre-training images whose label is replaced by one of the other K - 1 classes,
    # drawn uniformly (data.pool.noisy_labels; exact count, seeded); for ``method="clip"`` the caption
    # follows the label, so it is the fraction of wrong captions. None = clean labels.
    label_noise: float | None = None
    # how the pre-training images look: None = as rendered, or one of APPEARANCES
    appearance: str | None = None
    # --- pre-training objective ---
    # None (= "supervised"): cross-entropy over the K classes; "simclr": two augmented views,
    # NT-Xent, projection head, labels unused; "clip": contrast images with their captions (the
    # Unicode names of the glyphs) through a small text encoder.
    method: str | None = None
    # --- model ---
    arch: str = "convnet"
    width: int = 8  # convnet only: channels of the first stage; later stages double it
    depth: int = 1  # convnet only: residual blocks per stage
    # --- optimisation (steps fixed per budget N) ---
    epochs: float = 20.0  # passes over the N images; steps = ceil(epochs * N / batch_size)
    batch_size: int = 128
    lr: float = 0.1  # peak lr at batch 128; see ``peak_lr`` for larger batches
    momentum: float = 0.9
    weight_decay: float = 5e-4
    warmup_frac: float = 0.03
    augment: bool = True  # random shifts during pre-training (flips only for natural images)
    # --- evaluation ---
    probe_tasks: tuple[str, ...] = GLYPH_PROBE_TASKS
    # Few-shot transfer (evaluation/transfer.py, Entezari et al.): None = the standard linear probe on each
    # task's fixed splits. A tuple of k (images per class; 0 = the whole train pool) instead
    # evaluates each task at every k, with subsets drawn per seed, by linear probe and, if
    # ``finetune``, by end-to-end fine-tuning too (lr and length chosen on validation).
    shots: tuple[int, ...] | None = None
    finetune: bool | None = None
    # --- randomness and execution ---
    seed: int = 0
    device: str = "cpu"
    compile: bool = False
    # --- stricter-protocol knobs (core layers; every one None = exactly as before it existed) ---
    # Separate seed streams: ``seed`` drives the class draw, the image draw, the initialisation
    # and the batch order; ``class_seed`` / ``image_seed`` (None = derived from ``seed`` as
    # before) reseed only which K classes / which n images of them are drawn.
    class_seed: int | None = None
    image_seed: int | None = None
    # Fixed compute: this many SGD steps whatever N is (None = ceil(epochs * N / batch_size)).
    # A field named ``steps`` would hide the ``steps`` property every caller reads.
    fixed_steps: int | None = None
    # No-pre-training baseline: False probes the network as initialised (same architecture and
    # seed, zero steps), beside the raw pixels; None (or True) pre-trains as always.
    pretrain: bool | None = None
    # Pool hygiene (glyphs only): remove the pool classes whose shape lies within this distance
    # (0..2, data.hygiene) of a held-out or digit class, and the digit-named classes. None = off.
    pool_hygiene: float | None = None
    # CLIP captions (method="clip" only): None = the Unicode name of each class, or one of
    # CAPTIONS, captions that say less about the class (the uninformative-text control); "web"
    # is the noisy, partly uninformative alt text of web data (data.captions).
    captions: str | None = None
    # Training length as an axis: None trains ``steps`` steps under a cosine schedule, as always.
    # A tuple of multiples of ``steps`` (e.g. (1, 2, 4, 8)) trains one warm-up-stable-decay trunk
    # instead and reads the run at each length from a cool-down branch forked off it
    # (training.lengths), so one run gives its fixed-epochs, fixed-compute and trained readings.
    lengths: tuple[float, ...] | None = None
    # Fraction of each branch spent cooling the learning rate linearly to zero (None: 0.2).
    cooldown_frac: float | None = None

    def __post_init__(self):
        # "supervised" is the default objective: one spelling, one run id
        if self.method == "supervised":
            object.__setattr__(self, "method", None)
        for name in ("probe_tasks", "shots", "lengths"):
            v = getattr(self, name)
            if isinstance(v, list):
                object.__setattr__(self, name, tuple(v))
        if self.lengths is not None:  # 1 and 1.0 are one length and one run id
            object.__setattr__(self, "lengths", tuple(
                int(x) if isinstance(x, (int, float)) and float(x).is_integer() else x
                for x in self.lengths))

    # ------------------------------------------------------------------ derived
    @property
    def budget(self) -> int:
        """N = K * n, the number of distinct pre-training images."""
        return self.n_classes * self.samples_per_class

    @property
    def steps(self) -> int:
        """SGD steps of pre-training: 0 if ``pretrain`` is False, else ``fixed_steps`` if set,
        else ceil(epochs * N / batch_size)."""
        if self.pretrain is False:  # stricter-protocol knobs (core layers)
            return 0
        if self.fixed_steps is not None:
            return self.fixed_steps
        return max(1, math.ceil(self.epochs * self.budget / self.batch_size))

    def branches(self) -> tuple[tuple[float, int, int], ...]:
        """(length, fork, end) of each reading: the branch leaves the constant-rate trunk at step
        ``fork`` and cools to zero at step ``end`` = length x ``steps`` (at least 2 steps, at
        least 1 of them cooling). Empty without ``lengths``."""
        if not self.lengths or not self.steps:
            return ()
        frac = DEFAULT_COOLDOWN_FRAC if self.cooldown_frac is None else self.cooldown_frac
        out = []
        for length in self.lengths:
            end = max(2, round(length * self.steps))
            out.append((length, min(end - 1, round((1 - frac) * end)), end))
        return tuple(out)

    @property
    def train_steps(self) -> int:
        """Every SGD step the run takes: ``steps``, or with ``lengths`` the trunk up to the last
        fork plus each branch's cool-down (what the run costs)."""
        branches = self.branches()
        if not branches:
            return self.steps
        return branches[-1][1] + sum(end - fork for _, fork, end in branches)

    @property
    def peak_lr(self) -> float:
        """The learning rate training uses: ``lr`` up to batch 128, then ``lr * batch / 128``.

        Linear scaling (Goyal et al. 2017) for the large batches GPUs want. Batches of 128 or
        fewer keep ``lr`` unchanged, so every glyph run (all at batch <= 128) computes exactly
        what it computed before this rule existed, and its stored results stay valid.
        """
        return self.lr * max(1.0, self.batch_size / LR_REFERENCE_BATCH)

    @property
    def natural(self) -> bool:
        """Natural photographs (real data sets): horizontal flips are label-preserving."""
        return self.dataset in NATURAL_DATASETS

    @classmethod
    def from_budget(cls, budget: int, n_classes: int, **kwargs) -> RunConfig:
        """Config with n = N / K; N must be a multiple of K so that every class gets n images."""
        if not isinstance(budget, int) or budget <= 0:
            raise ConfigError(f"budget must be a positive integer, got {budget!r}")
        if not isinstance(n_classes, int) or n_classes <= 0:
            raise ConfigError(f"n_classes must be a positive integer, got {n_classes!r}")
        if why := split_reason(budget, n_classes):
            raise ConfigError(why)
        return cls(n_classes=n_classes, samples_per_class=budget // n_classes, **kwargs)

    @classmethod
    def from_parameters(cls, namespace: dict) -> RunConfig:
        """Config from a notebook's parameters: every field found in ``namespace``, plus ``budget``.

        Papermill passes ``-p probe_tasks a,b`` as a string, so a comma-separated string is
        accepted there; ``budget`` (if not None) sets n = budget / n_classes.
        """
        values = {f.name: namespace[f.name] for f in fields(cls) if f.name in namespace}
        tasks = values.get("probe_tasks")
        if isinstance(tasks, str):
            values["probe_tasks"] = tuple(t.strip() for t in tasks.split(",") if t.strip())
        elif tasks is not None:
            values["probe_tasks"] = tuple(tasks)
        shots = values.get("shots")
        if isinstance(shots, str):
            try:
                values["shots"] = tuple(int(k) for k in shots.split(",") if k.strip()) or None
            except ValueError:
                raise ConfigError(f"shots must be integers separated by commas, got {shots!r}") from None
        elif isinstance(shots, int) and not isinstance(shots, bool):
            values["shots"] = (shots,)
        lengths = values.get("lengths")
        if isinstance(lengths, str):
            try:
                values["lengths"] = tuple(float(x) for x in lengths.split(",") if x.strip()) or None
            except ValueError:
                raise ConfigError(
                    f"lengths must be numbers separated by commas, got {lengths!r}") from None
        elif isinstance(lengths, (int, float)) and not isinstance(lengths, bool):
            values["lengths"] = (lengths,)
        budget = namespace.get("budget")
        if budget is not None:
            values.pop("samples_per_class", None)
            k = values.pop("n_classes", cls.n_classes)
            return cls.from_budget(budget, k, **values)
        return cls(**values)

    def with_(self, **changes) -> RunConfig:
        return replace(self, **changes)

    # ------------------------------------------------------------------ identity
    def to_dict(self) -> dict:
        d = asdict(self)
        d["probe_tasks"] = list(self.probe_tasks)
        for name in ("shots", "lengths"):
            if getattr(self, name) is not None:
                d[name] = list(getattr(self, name))
        return d

    @classmethod
    def from_dict(cls, d: dict) -> RunConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"unknown run parameters {sorted(unknown)}; known: {sorted(known)}")
        d = dict(d)
        for name in ("probe_tasks", "shots", "lengths"):
            if d.get(name) is not None:
                d[name] = tuple(d[name])
        return cls(**d)

    def identity(self) -> dict:
        """The fields that determine a run's results (what the cache key hashes).

        Fields set to None are left out: a field added later defaults to None, meaning "the
        behaviour from before it existed", so adding it does not change any earlier run's id.
        """
        return {
            k: v
            for k, v in self.to_dict().items()
            if k not in EXECUTION_FIELDS and v is not None
        }

    def run_id(self) -> str:
        """Stable short hash of the run's identity: same config, same folder, never trained twice."""
        blob = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def short_name(self) -> str:
        return f"{self.dataset}-K{self.n_classes}-n{self.samples_per_class}-{self.arch}-s{self.seed}"
