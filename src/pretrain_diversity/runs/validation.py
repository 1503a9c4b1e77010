"""Every check of a run's parameters, in one place: the notebook's first cell, the CLI, the sweep
and ``run_experiment`` all call ``check`` (or, where no data set may be touched yet, ``validate``).

``validate`` checks each field against its allowed values (and, given them, the data set's
limits); ``check`` adds what needs the data layer: the pool size and images per class of the
pre-training set, the few-shot pools, and whether real data sets are on disk. Both raise
ConfigError naming the parameter and its allowed range, before any data is drawn or trained.
"""

from __future__ import annotations

import math

from pretrain_diversity.config import (
    APPEARANCES,
    ARCHS,
    CAPTIONS,
    CLASS_POOLS,
    DATASETS,
    IMAGE_SIZES,
    MAX_LABEL_NOISE,
    MAX_LENGTH_MULTIPLE,
    MAX_SHOTS,
    MAX_STYLES,
    METHODS,
    NATIVE_SIZE,
    PROBE_TASKS,
    REAL_PROBE_TASKS,
    ConfigError,
    RunConfig,
)


def check_int(name: str, value, lo: int, hi: int | None = None, why: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if value < lo or (hi is not None and value > hi):
        rng = f"{lo} <= {name} <= {hi}" if hi is not None else f"{name} >= {lo}"
        raise ConfigError(f"{name}={value} is out of range: need {rng}{why}")


def check_float(name: str, value, lo: float, hi: float, lo_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    if (value <= lo if lo_open else value < lo) or value > hi:
        op = "<" if lo_open else "<="
        raise ConfigError(f"{name}={value} is out of range: need {lo} {op} {name} <= {hi}")


def check_choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ConfigError(f"unknown {name}={value!r}; allowed: {', '.join(map(str, choices))}")


def check_lengths(cfg: RunConfig) -> None:
    """Training lengths: increasing multiples of ``steps``, on a run these readings exist for."""
    lengths = cfg.lengths
    if isinstance(lengths, (str, int, float)) or not lengths:
        raise ConfigError("lengths must be a non-empty list of multiples of the base steps, "
                          "e.g. [1, 2, 4, 8]")
    for x in lengths:
        check_float("lengths entry", x, 0.0, MAX_LENGTH_MULTIPLE, lo_open=True)
    if list(lengths) != sorted(set(lengths)):
        raise ConfigError(f"lengths must increase strictly, got {list(lengths)}")
    if cfg.cooldown_frac is not None:
        check_float("cooldown_frac", cfg.cooldown_frac, 0.0, 1.0, lo_open=True)
    if cfg.pretrain is False:
        raise ConfigError("lengths needs pre-training; pretrain=False trains no step to read")
    # Every objective has a held-out measure for the plateau rule (training.lengths.heldout_fit:
    # class accuracy, SimCLR's instance accuracy, CLIP's caption matching), and label noise is
    # read against the true labels, so methods and curation need nothing here; few-shot transfer
    # is read at every length by linear probe and fine-tuned at two (finetune_lengths).
    if cfg.dataset != "glyphs" or cfg.styles_per_class is not None:
        raise ConfigError(
            "lengths needs held-out images of the run's own classes from the same sampler; "
            "only dataset='glyphs' with the original sampler (styles_per_class=None) draws "
            f"them so far; got dataset={cfg.dataset!r}, styles_per_class={cfg.styles_per_class!r}")
    warm = max(1, round(cfg.warmup_frac * cfg.steps)) if cfg.warmup_frac > 0 else 0
    if cfg.branches() and cfg.branches()[0][1] < warm:
        raise ConfigError(
            f"lengths entry {lengths[0]} forks its cool-down at step {cfg.branches()[0][1]}, "
            f"before the warm-up ends (step {warm}); the shortest length must be at least "
            f"{math.ceil(warm / (cfg.steps or 1) * 100) / 100:g} at {cfg.steps} base steps")
    ends = [end for _, _, end in cfg.branches()]
    if len(set(ends)) != len(ends):
        raise ConfigError(f"lengths {list(lengths)} give branches of equal step counts {ends} "
                          f"at {cfg.steps} base steps; space them further apart")


def validate_device(device: str) -> None:
    """Reject devices this machine does not have, before anything is trained."""
    import torch

    if not isinstance(device, str):
        raise ConfigError(f"device must be a string such as 'cpu' or 'cuda', got {device!r}")
    kind, _, index = device.partition(":")
    check_choice("device", kind, ("cpu", "cuda", "mps"))
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(
                f"device={device!r} but this machine has no CUDA GPU visible to torch "
                f"(torch {torch.__version__}); use device='cpu'"
            )
        if index:
            if not index.isdigit() or int(index) >= torch.cuda.device_count():
                raise ConfigError(
                    f"device={device!r}: allowed cuda indices are 0..{torch.cuda.device_count() - 1}"
                )
    if kind == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise ConfigError(f"device={device!r} but MPS is not available here; use device='cpu'")
    if kind == "cpu" and index:
        raise ConfigError(f"device={device!r}: the cpu device takes no index; use 'cpu'")


def validate(cfg: RunConfig, *, pool_size: int | None = None, max_per_class: int | None = None):
    """Check every parameter; ``pool_size``/``max_per_class`` come from the data set.

    Raises ConfigError naming the parameter and its allowed values.
    """
    check_choice("dataset", cfg.dataset, DATASETS)
    check_choice("arch", cfg.arch, ARCHS)
    which = f" {cfg.class_pool!r}" if cfg.class_pool is not None else ""
    why_pool = (f" (the {cfg.dataset} pre-training pool{which} has {pool_size} classes)"
                if pool_size else "")
    check_int("n_classes", cfg.n_classes, 1, pool_size, why_pool)
    why_n = f" (the {cfg.dataset} data set holds {max_per_class} per class)" if max_per_class else ""
    check_int("samples_per_class", cfg.samples_per_class, 1, max_per_class, why_n)
    check_choice("image_size", cfg.image_size, IMAGE_SIZES)
    if cfg.styles_per_class is not None:
        check_int(
            "styles_per_class", cfg.styles_per_class, 0, MAX_STYLES,
            " (V latent styles per class; 0 means unbounded, a fresh style per image; leave it "
            "unset (None) for the original sampler)",
        )  # fmt: skip
    if cfg.class_pool is not None:
        check_choice("class_pool", cfg.class_pool, CLASS_POOLS)
    if cfg.label_noise is not None:
        check_float("label_noise", cfg.label_noise, 0.0, MAX_LABEL_NOISE)
        if cfg.label_noise > 0 and cfg.n_classes < 2:
            raise ConfigError("label_noise > 0 needs n_classes >= 2 (a wrong label must exist)")
    if cfg.appearance is not None:
        check_choice("appearance", cfg.appearance, APPEARANCES)
    if cfg.method is not None:
        check_choice("method", cfg.method, METHODS)
        if cfg.method == "clip" and cfg.dataset != "glyphs":
            raise ConfigError(
                f"method='clip' needs captions, and only dataset='glyphs' has them (the Unicode "
                f"names of its characters); dataset={cfg.dataset!r} has none"
            )
    if cfg.captions is not None:
        check_choice("captions", cfg.captions, CAPTIONS)
        if cfg.method != "clip":
            raise ConfigError(f"captions={cfg.captions!r} needs method='clip' (only CLIP reads "
                              f"captions); got method={cfg.method!r}")
    if cfg.shots is not None:
        if isinstance(cfg.shots, (str, int)) or not cfg.shots:
            raise ConfigError("shots must be a non-empty list of images per class, e.g. [1, 5, 0]")
        for k in cfg.shots:
            check_int("shots entry", k, 0, MAX_SHOTS, " (images per class; 0 = the whole pool)")
        if len(set(cfg.shots)) != len(cfg.shots):
            raise ConfigError(f"shots has duplicates: {list(cfg.shots)}")
    if cfg.lengths is not None:
        check_lengths(cfg)
    elif cfg.cooldown_frac is not None:
        raise ConfigError("cooldown_frac needs lengths (it shapes the cool-down branches only)")
    if cfg.finetune is not None:
        if not isinstance(cfg.finetune, bool):
            raise ConfigError(f"finetune must be True or False, got {cfg.finetune!r}")
        if cfg.finetune and cfg.shots is None:
            raise ConfigError("finetune=True needs shots (the few-shot protocol it belongs to)")
    native = NATIVE_SIZE.get(cfg.dataset)
    if native and cfg.image_size > native:
        raise ConfigError(
            f"image_size={cfg.image_size} is out of range for dataset={cfg.dataset!r}: its images "
            f"are {native}x{native}, so image_size <= {native} (smaller sizes are area-downsampled)"
        )
    check_int("width", cfg.width, 1, 1024)
    check_int("depth", cfg.depth, 1, 16)
    check_float("epochs", cfg.epochs, 0.0, 10_000.0, lo_open=True)
    check_int("batch_size", cfg.batch_size, 1, 1 << 16)
    check_float("lr", cfg.lr, 0.0, 100.0, lo_open=True)
    check_float("momentum", cfg.momentum, 0.0, 0.9999)
    check_float("weight_decay", cfg.weight_decay, 0.0, 1.0)
    check_float("warmup_frac", cfg.warmup_frac, 0.0, 0.5)
    check_int("seed", cfg.seed, 0, 2**31 - 1)
    if not isinstance(cfg.augment, bool):
        raise ConfigError(f"augment must be True or False, got {cfg.augment!r}")
    tasks = cfg.probe_tasks
    if isinstance(tasks, str) or not tasks:
        raise ConfigError(f"probe_tasks must be a non-empty list drawn from {PROBE_TASKS}")
    for t in tasks:
        check_choice("probe_tasks entry", t, PROBE_TASKS)
    if len(set(tasks)) != len(tasks):
        raise ConfigError(f"probe_tasks has duplicates: {list(tasks)}")
    if cfg.dataset in tasks:  # only cifar100 is both a pre-training set and a probe task
        raise ConfigError(
            f"probe_tasks contains {cfg.dataset!r}, the pre-training data set itself: its classes "
            f"are the pre-training classes, so the probe would not measure transfer; drop "
            f"{cfg.dataset!r} from probe_tasks or pre-train on another data set"
        )
    validate_device(cfg.device)
    validate_protocol_knobs(cfg)


def check(cfg: RunConfig) -> None:
    """Validate every parameter against this machine and the data set, before any work."""
    if cfg.dataset not in DATASETS:  # the limits below are per data set
        raise ConfigError(f"unknown dataset={cfg.dataset!r}; allowed: {', '.join(DATASETS)}")
    if cfg.dataset != "glyphs":
        validate(cfg)  # plain checks first: a bad parameter never waits for a scan of real data
    from pretrain_diversity.data.pool import dataset_limits  # the glyph bank or a data index

    pool, per_class = dataset_limits(cfg.dataset, cfg.class_pool, pool_hygiene=cfg.pool_hygiene)
    validate(cfg, pool_size=pool, max_per_class=per_class)
    if cfg.shots is not None:
        from pretrain_diversity.tasks.registry import TRANSFER_POOL

        for task in cfg.probe_tasks:
            if task not in TRANSFER_POOL:
                raise ConfigError(
                    f"probe_tasks entry {task!r} has no few-shot train pool; with shots set, "
                    f"probe_tasks must be drawn from {', '.join(TRANSFER_POOL)}"
                )
            if max(cfg.shots) > TRANSFER_POOL[task]:
                raise ConfigError(
                    f"shots entry {max(cfg.shots)} is out of range for {task!r}: its pool holds "
                    f"{TRANSFER_POOL[task]} images per class, so 0 <= k <= {TRANSFER_POOL[task]} "
                    f"(0 = the whole pool)"
                )
    for task in cfg.probe_tasks:  # real downstream data must be on disk before training starts
        if task in REAL_PROBE_TASKS:
            from pretrain_diversity.data.real.locations import locate

            locate(task)


MAX_FIXED_STEPS = 10_000_000
MAX_POOL_HYGIENE = 2.0  # the largest distance of two shapes (unit vectors; data.hygiene)


def validate_protocol_knobs(cfg: RunConfig) -> None:
    """Checks of the stricter-protocol fields ; each None is always valid."""
    for name in ("class_seed", "image_seed"):
        if getattr(cfg, name) is not None:
            check_int(name, getattr(cfg, name), 0, 2**31 - 1,
                       " (leave it unset (None) to derive it from seed)")  # fmt: skip
    if cfg.fixed_steps is not None:
        check_int("fixed_steps", cfg.fixed_steps, 1, MAX_FIXED_STEPS,
                   " (SGD steps whatever the budget; None = ceil(epochs * N / batch_size))")  # fmt: skip
    if cfg.pretrain is not None:
        if not isinstance(cfg.pretrain, bool):
            raise ConfigError(f"pretrain must be True or False, got {cfg.pretrain!r}")
        if cfg.pretrain is False and cfg.fixed_steps is not None:
            raise ConfigError(
                f"pretrain=False trains no steps, so fixed_steps={cfg.fixed_steps} has no meaning; "
                "leave fixed_steps unset (None) for the no-pre-training baseline"
            )
    if cfg.pool_hygiene is not None:
        check_float("pool_hygiene", cfg.pool_hygiene, 0.0, MAX_POOL_HYGIENE)
        if cfg.dataset != "glyphs":
            raise ConfigError(
                f"pool_hygiene measures glyph shapes against the glyph-family tasks, so it needs "
                f"dataset='glyphs'; dataset={cfg.dataset!r} (leave pool_hygiene unset)"
            )
