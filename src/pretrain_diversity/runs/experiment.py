"""One run end to end: check, draw data, pre-train (resumable), probe, record.

Layout of a run's folder ``output_dir / run_id``::

    checkpoint.pt   while training (atomic, periodic); removed when the run is done
    model.pt        final weights
    metrics.json    config, metrics, training curve, timings, hardware, versions (atomic)
    done            written last: a folder without it is not a result

A second call with the same config finds ``done`` and returns the stored metrics without
training; a call after a kill resumes from ``checkpoint.pt``.
"""

from __future__ import annotations

import json
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from pretrain_diversity import __version__
from pretrain_diversity.config import DATASETS, REAL_PROBE_TASKS, ConfigError, RunConfig, validate
from pretrain_diversity.data.pool import dataset_limits, pretraining_set
from pretrain_diversity.tasks.registry import load_task, transfer_task
from pretrain_diversity.models.backbones import build_model, count_parameters
from pretrain_diversity.evaluation.probe import probe_model, probe_pixels
from pretrain_diversity.storage import atomic_torch_save, atomic_write_json
from pretrain_diversity.training.loop import pretrain
from pretrain_diversity.evaluation.transfer import evaluate_transfer, settings_dict

DONE = "done"
METRICS = "metrics.json"
CHECKPOINT = "checkpoint.pt"


class TrainingStopped(RuntimeError):
    """Training ended before its last step (``stop_after``); the checkpoint lets it resume."""


def run_dir_for(cfg: RunConfig, output_dir) -> Path:
    return Path(output_dir) / cfg.run_id()


def is_done(run_dir) -> bool:
    return (Path(run_dir) / DONE).exists() and (Path(run_dir) / METRICS).exists()


def load_metrics(run_dir) -> dict:
    return json.loads((Path(run_dir) / METRICS).read_text())


def check(cfg: RunConfig) -> None:
    """Validate every parameter against this machine and the data set, before any work."""
    if cfg.dataset not in DATASETS:  # the limits below are per data set
        raise ConfigError(f"unknown dataset={cfg.dataset!r}; allowed: {', '.join(DATASETS)}")
    if cfg.dataset != "glyphs":
        validate(cfg)  # plain checks first: a bad parameter never waits for a scan of real data
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


def captions_of(cfg: RunConfig, data) -> list[str] | None:
    """CLIP's texts: the Unicode name of each of the run's K glyph classes (None otherwise)."""
    if cfg.method != "clip":
        return None
    from pretrain_diversity.data.glyphs import load_bank

    bank = load_bank()
    return [bank.name(int(c)) for c in data.class_ids]


def hardware(device: torch.device) -> dict:
    info = {
        "device": str(device),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def versions() -> dict:
    import numpy
    import sklearn
    import torchvision

    return {
        "pretrain_diversity": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": numpy.__version__,
        "scikit-learn": sklearn.__version__,
    }


def run_experiment(
    cfg: RunConfig,
    output_dir,
    *,
    progress: bool = True,
    force: bool = False,
    stop_after: int | None = None,
) -> dict:
    """Pre-train under ``cfg`` and probe every task in ``cfg.probe_tasks``; returns the metrics.

    ``stop_after`` stops training after that many steps (leaving a checkpoint and no result):
    the way tests kill a run mid-training (raises TrainingStopped).
    """
    check(cfg)
    run_dir = run_dir_for(cfg, output_dir)
    if is_done(run_dir) and not force:
        return load_metrics(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / DONE).unlink(missing_ok=True)
    device = torch.device(cfg.device)
    t0 = time.perf_counter()

    data = pretraining_set(cfg)
    channels = data.images.shape[1]  # glyph tasks on an RGB model are repeated into RGB, etc.
    if cfg.shots is None:
        tasks = [load_task(name, cfg.image_size, channels=channels) for name in cfg.probe_tasks]
    else:  # few-shot transfer: the tasks with their larger train pools
        tasks = [transfer_task(name, cfg.image_size, channels=channels) for name in cfg.probe_tasks]
    t_data = time.perf_counter()

    torch.manual_seed(cfg.seed)
    model = build_model(cfg, in_channels=channels, captions=captions_of(cfg, data))
    history = pretrain(
        model, data, cfg, device=device, checkpoint=run_dir / CHECKPOINT,
        progress=progress, stop_after=stop_after,
    )  # fmt: skip
    t_train = time.perf_counter()
    if cfg.steps and history.step[-1:] != [cfg.steps]:  # steps 0: the pretrain=False baseline
        raise TrainingStopped(f"stopped at step {history.step[-1]} of {cfg.steps}; checkpoint kept")

    baselines = {}
    if cfg.shots is None:
        probes, transfer = {t.name: probe_model(model, t, device).as_dict() for t in tasks}, None
        if cfg.pretrain is False:  # the no-pre-training baseline reports raw pixels beside it
            baselines = {"probe_pixels": {t.name: probe_pixels(t).as_dict() for t in tasks}}
    else:
        probes = {}
        transfer = evaluate_transfer(model, tasks, cfg.shots, cfg.seed, device,
                                     finetune=bool(cfg.finetune), progress=progress)
    t_probe = time.perf_counter()

    metrics = {
        "run_id": cfg.run_id(),
        "name": cfg.short_name(),
        "config": cfg.to_dict(),
        "metrics": {
            "pretrain": {
                "final_loss": history.loss[-1] if history.loss else None,
                "final_accuracy": history.accuracy[-1] if history.accuracy else None,
                "steps": cfg.steps,
                "images_seen": cfg.steps * min(cfg.batch_size, cfg.budget),
                "budget": cfg.budget,
                "parameters": count_parameters(model),
            },
            "probe": probes,
            **baselines,
            **({"transfer": transfer, "finetune_settings": settings_dict()} if transfer else {}),
        },
        "history": history.as_dict(),
        "timing": {
            "total_s": t_probe - t0,
            "data_s": t_data - t0,
            "train_s": t_train - t_data,
            "probe_s": t_probe - t_train,
            "train_images_per_s": cfg.steps * min(cfg.batch_size, cfg.budget) / (t_train - t_data),
        },
        "hardware": hardware(device),
        "versions": versions(),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    atomic_torch_save(run_dir / "model.pt", model.state_dict())
    atomic_write_json(run_dir / METRICS, metrics)
    (run_dir / DONE).write_text(metrics["finished"] + "\n")
    (run_dir / CHECKPOINT).unlink(missing_ok=True)
    return metrics
