"""The one cost model: what a run costs, at what rate this machine trains, and what a study or a
full-scale grid will take. The sweep's progress bar, ``pretrain-diversity plan``, the sweep's dry
run and the book's full-scale page all use it.

A run trains ``RunConfig.steps`` steps of ``min(batch, N)`` images; its *work* is those images,
weighted by what an image costs relative to the default model (a width-w convnet costs
(w / 8) ** 1.2 as much: measured, width 16 trains 2.3x slower than width 8 at one thread, batch
128, 16 px; SimCLR passes two views), plus its few-shot transfer fits. Its time is
``work / images_per_s + overhead_s`` (loading its subset, probing). The ``Rate`` comes from the
runs already recorded on this machine (``calibrate``), from a short probe run, or, for a quick
look, from a stated default.
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
TRANSFER_PROBE_IMAGES = 10_000  # one few-shot linear probe (features and 6 logistic fits), roughly
MIN_CALIBRATION_RUNS = 1


@dataclass(frozen=True)
class Rate:
    """Training speed of one worker, and the seconds each run spends outside training."""

    images_per_s: float
    overhead_s: float
    source: str  # where the numbers come from, for the planner's output

    def describe(self) -> str:
        return (f"{self.images_per_s:,.0f} images/s per worker + {self.overhead_s:.1f} s per run "
                f"({self.source})")


# The default model on one quiet CPU core (5-8k images/s measured), a few seconds of data and
# probing per run: the assumption when nothing has been measured here.
DEFAULT_RATE = Rate(6_000.0, 5.0, "assumed: the default model on one CPU core")


def run_images(budget: int, epochs: float, batch_size: int) -> int:
    """Training images one run processes (the same rule as ``RunConfig.steps``)."""
    steps = max(1, math.ceil(epochs * budget / batch_size))
    return steps * min(batch_size, budget)


def run_work(cfg: RunConfig) -> float:
    """A run's work in default-model training images (see the module docstring)."""
    work = float(run_images(cfg.budget, cfg.epochs, cfg.batch_size))
    if cfg.arch == "convnet":
        work *= (cfg.width / REFERENCE_WIDTH) ** WIDTH_COST_EXPONENT
    if cfg.method == "simclr":
        work *= 2
    if cfg.shots:  # few-shot transfer: probes, plus a fine-tuning run per (task, k, lr)
        from pretrain_diversity.evaluation.transfer import FINETUNE

        fits = len(cfg.shots) * len(cfg.probe_tasks)
        work += fits * TRANSFER_PROBE_IMAGES
        if cfg.finetune:
            work += fits * len(FINETUNE.lrs) * FINETUNE.max_steps * FINETUNE.batch_size // 2
    return work


def estimate_s(cfg: RunConfig, rate: Rate = DEFAULT_RATE) -> float:
    return run_work(cfg) / rate.images_per_s + rate.overhead_s


def calibrate(records: Iterable[dict], *, device: str = "cpu") -> Rate | None:
    """The rate measured by finished runs on this machine (None if none ran here).

    Each run's metrics (or record) hold its config, its timings and its ``hardware`` block; only
    runs whose hardware matches this machine and device count. Training images per second is
    total work over total training time; the overhead is the median time outside training.
    """
    work = train = 0.0
    overheads = []
    for r in records:
        if not same_machine(r.get("hardware") or {}, device=device):
            continue
        t = r.get("timing") or {}
        if not (t.get("train_s", 0) > 0 and t.get("total_s", 0) > 0):
            continue
        work += run_work(RunConfig.from_dict(r["config"]))
        train += t["train_s"]
        overheads.append(max(0.0, t["total_s"] - t["train_s"]))
    if len(overheads) < MIN_CALIBRATION_RUNS:
        return None
    return Rate(work / train, statistics.median(overheads),
                f"measured: {len(overheads)} recorded run(s) on this machine")


def probe_rate(*, device: str = "cpu") -> Rate:
    """Measure the rate with one short real run (a few seconds), in a scratch folder."""
    import tempfile

    from pretrain_diversity.runs.experiment import run_experiment

    cfg = RunConfig(n_classes=16, samples_per_class=16, epochs=4.0, image_size=16,
                    probe_tasks=("digits",), device=device)
    with tempfile.TemporaryDirectory() as tmp:
        m = run_experiment(cfg, tmp, progress=False)
    rate = calibrate([m], device=device)
    return Rate(rate.images_per_s, rate.overhead_s, "measured: a short probe run on this machine")


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
    images = sum(run_images(c.budget, c.epochs, c.batch_size) for c in configs)
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
