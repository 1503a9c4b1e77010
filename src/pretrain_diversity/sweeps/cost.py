"""The one cost model: what a run costs, at what rate this machine works, and what a study or a
full-scale grid will take. The sweep's progress bar, ``pretrain-diversity plan`` and ``studies``,
the sweep's dry run and the book's full-scale page all use it.

A run's time is the sum of its three timed phases (``metrics.json`` ``timing``):

- training: ``RunConfig.steps`` steps of ``min(batch, N)`` images, weighted by what an image
  costs relative to the default model (a width-w convnet costs (w / 8) ** 1.2 as much: measured,
  width 16 trains 2.3x slower than width 8 at one thread, batch 128, 16 px; SimCLR passes two
  views), at ``images_per_s``;
- data: drawing and rendering its N images, at ``data_s_per_image``;
- evaluation: one *unit* per probe task, or per (task, k) of few-shot transfer, times
  ``FINETUNE_UNITS`` with fine-tuning and the width factor (features cost what the model costs),
  at ``probe_s_per_unit``.

The ``Rate`` comes from the runs already recorded on this machine (``calibrate``), else from a
short probe run, else (a quick look only) from the stated defaults.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from pretrain_diversity.budget import split_reason
from pretrain_diversity.config import RunConfig
from pretrain_diversity.runs.machine import same_machine

REFERENCE_WIDTH = 8  # the default convnet's width: its images cost 1
WIDTH_COST_EXPONENT = 1.2
# Few-shot fine-tuning (lr and length chosen on validation) costs about this many probe units per
# (task, k): 4.5-5.7 s against ~1 s per probe-only unit in the committed Entezari records.
FINETUNE_UNITS = 5.0


@dataclass(frozen=True)
class Rate:
    """How fast one worker trains, draws data and evaluates on this machine."""

    images_per_s: float
    data_s_per_image: float
    probe_s_per_unit: float
    source: str  # where the numbers come from, for the planner's output

    def describe(self) -> str:
        return (f"{self.images_per_s:,.0f} training images/s per worker, "
                f"{1e3 * self.data_s_per_image:.2f} ms per image drawn, "
                f"{self.probe_s_per_unit:.2f} s per probe ({self.source})")


# Medians of the committed records (2 CPU cores, one thread per worker): the assumption when
# nothing has been measured on this machine.
DEFAULT_RATE = Rate(6_000.0, 3e-4, 1.0, "assumed: the committed runs on 2 CPU cores")


def run_images(budget: int, epochs: float, batch_size: int) -> int:
    """Training images one run processes (the same rule as ``RunConfig.steps``)."""
    steps = max(1, math.ceil(epochs * budget / batch_size))
    return steps * min(batch_size, budget)


def config_images(cfg: RunConfig) -> int:
    """Training images of one configured run: every step it takes (``train_steps``: fixed_steps,
    pretrain=False and the cool-down branches of ``lengths`` included) times the batch."""
    return cfg.train_steps * min(cfg.batch_size, cfg.budget)


def model_factor(cfg: RunConfig) -> float:
    if cfg.arch != "convnet":
        return 1.0
    return (cfg.width / REFERENCE_WIDTH) ** WIDTH_COST_EXPONENT


def train_work(cfg: RunConfig) -> float:
    """Training work in default-model images."""
    views = 2 if cfg.method == "simclr" else 1
    return config_images(cfg) * model_factor(cfg) * views


def probe_units(cfg: RunConfig) -> float:
    readings = len(cfg.lengths) if cfg.lengths else 1  # every training length is probed
    if not cfg.shots:
        per_task = float(readings)
    elif not cfg.finetune:
        per_task = len(cfg.shots) * float(readings)
    else:  # fine-tuned at two lengths at most (training.lengths.finetune_lengths): 1 and plateau
        tuned = min(readings, 2) if cfg.lengths else 1
        per_task = len(cfg.shots) * (readings + tuned * (FINETUNE_UNITS - 1.0))
    return len(cfg.probe_tasks) * per_task * model_factor(cfg)


def estimate_s(cfg: RunConfig, rate: Rate = DEFAULT_RATE) -> float:
    return (train_work(cfg) / rate.images_per_s + cfg.budget * rate.data_s_per_image
            + probe_units(cfg) * rate.probe_s_per_unit)


def calibrate(records: Iterable[dict], *, device: str = "cpu") -> Rate | None:
    """The rate measured by finished runs on this machine (None if none ran here).

    Each run's metrics (or record) hold its config, its timings and its ``hardware`` block; only
    runs whose hardware matches this machine and device count. Each phase's rate is the median
    over runs, so the first run of a session, which also loads the glyph bank and builds the
    probe tasks' caches, does not set the pace of the others. The probe's rate comes from the
    runs probed by the solver that will run now (``evaluation.probe.probe_solver``) where there
    are any: the torch probe is several times faster than the sklearn one most records used.
    Likewise the training rate comes from the runs trained on the CPU precision requested now
    (``training.cpu_path.same_path_now``) where there are any: bf16 and fp32 differ in speed.
    """
    from pretrain_diversity.evaluation.probe import PROBE_VERSIONS, probe_solver, probe_version_of
    from pretrain_diversity.training.cpu_path import same_path_now

    current = PROBE_VERSIONS[probe_solver()]
    ips, per_image, per_unit, per_unit_now, ips_now = [], [], [], [], []
    for r in records:
        if not same_machine(r.get("hardware") or {}, device=device):
            continue
        t = r.get("timing") or {}
        if not all(isinstance(t.get(k), (int, float)) and t[k] > 0
                   for k in ("train_s", "data_s", "probe_s")):
            continue
        cfg = RunConfig.from_dict(r["config"])
        ips.append(train_work(cfg) / t["train_s"])
        if str(device).split(":")[0] != "cpu" or same_path_now(r.get("train_path")):
            ips_now.append(ips[-1])
        per_image.append(t["data_s"] / cfg.budget)
        per_unit.append(t["probe_s"] / probe_units(cfg))
        if probe_version_of(r.get("versions")) == current:
            per_unit_now.append(per_unit[-1])
    if not ips:
        return None
    probe = statistics.median(per_unit_now or per_unit)
    return Rate(statistics.median(ips_now or ips), statistics.median(per_image), probe,
                f"measured: {len(ips)} recorded run(s) on this machine, training on "
                f"{len(ips_now) or len(ips)} "
                f"{'trained on the CPU precision requested now' if ips_now else 'of them'}, "
                f"the probe on "
                f"{len(per_unit_now) or len(per_unit)} probed by "
                f"{current if per_unit_now else 'every solver'}")


def probe_rate(*, device: str = "cpu") -> Rate:
    """Measure the rate with one short real run (seconds), in a scratch folder."""
    import tempfile

    from pretrain_diversity.runs.experiment import run_experiment

    cfg = RunConfig(n_classes=64, samples_per_class=32, epochs=4.0, probe_tasks=("digits",),
                    device=device)
    with tempfile.TemporaryDirectory() as tmp:
        m = run_experiment(cfg, tmp, progress=False)
    r = calibrate([m], device=device)
    return Rate(r.images_per_s, r.data_s_per_image, r.probe_s_per_unit,
                "measured: a short probe run on this machine")


@dataclass(frozen=True)
class StudyPlan:
    study: str
    runs: int
    images: int  # training images of every run, unweighted
    seconds: float  # wall time at ``rate`` with ``workers`` runs at a time
    rate: Rate

    @property
    def minutes(self) -> float:
        return self.seconds / 60


def plan_configs(name: str, configs: list[RunConfig], rate: Rate = DEFAULT_RATE, *,
                 workers: int = 1) -> StudyPlan:
    images = sum(config_images(c) for c in configs)
    seconds = sum(estimate_s(c, rate) for c in configs) / max(1, workers)
    return StudyPlan(name, len(configs), images, seconds, rate)


# ------------------------------------------------------------------- full-scale grids (the book)
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
            if split_reason(n_total, k) or k > pool or n_total // k > max_per_class:
                continue
            runs.extend(GridRun(n_total, k, n_total // k, s) for s in range(seeds))
    return runs


def predict(images_per_s: float, *, budgets, ks, seeds: int, epochs: float, batch_size: int,
            pool: int, max_per_class: int, overhead_s: float = 0.0) -> dict:  # fmt: skip
    """Runs, training images and predicted wall time (s) of the grid at ``images_per_s``."""
    runs = grid_runs(budgets, ks, seeds, pool, max_per_class)
    images = sum(run_images(r.budget, epochs, batch_size) for r in runs)
    train_s = images / images_per_s
    per_budget = {n: sum(1 for r in runs if r.budget == n) for n in budgets}  # seeds included
    return {
        "runs": len(runs),
        "runs_per_budget": per_budget,
        "train_images": images,
        "train_s": train_s,
        "overhead_s": overhead_s * len(runs),
        "total_s": train_s + overhead_s * len(runs),
    }
