"""Run functions for the sweep tests, importable by name from worker processes.

``counting_run`` wraps the run function and appends the run id to ``output_dir/calls.log`` each
time a run is actually executed (O_APPEND writes of one short line are atomic), so a test can
tell whether training happened; with $SWEEP_TEST_FAIL_SEEDS set (e.g. "1") it raises for those
seeds, to test failure records and retries.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from pretrain_diversity.storage import atomic_write_json

FAIL_ENV = "SWEEP_TEST_FAIL_SEEDS"


def fake_run_experiment(cfg, output_dir, *, progress=True, force=False):
    """Stand-in for experiment.run_experiment until it lands: same files, same dict layout."""
    run_dir = Path(output_dir) / cfg.run_id()
    if (run_dir / "done").exists() and not force:
        return json.loads((run_dir / "metrics.json").read_text())
    run_dir.mkdir(parents=True, exist_ok=True)
    x = math.log2(cfg.n_classes / cfg.samples_per_class)
    noise = (int(cfg.run_id(), 16) % 1000) / 1e5
    probe = {t: {"test_error": 0.2 + 0.01 * (x - 1) ** 2 + noise + 0.05 * i,
                 "val_error": 0.21 + 0.01 * (x - 1) ** 2, "C": 1.0}
             for i, t in enumerate(cfg.probe_tasks)}
    m = {
        "run_id": cfg.run_id(), "name": cfg.short_name(), "config": cfg.to_dict(),
        "metrics": {"pretrain": {"final_loss": 1.0, "final_accuracy": 0.5, "steps": cfg.steps,
                                 "images_seen": cfg.steps * cfg.batch_size}, "probe": probe},
        "history": {"step": [1], "loss": [1.0], "accuracy": [0.5], "lr": [0.1]},
        "timing": {"total_s": 0.01, "data_s": 0.0, "train_s": 0.01, "probe_s": 0.0,
                   "train_images_per_s": 1.0},
        "hardware": {"cpu": "fake", "threads": 1}, "versions": {"torch": "fake"},
    }
    atomic_write_json(run_dir / "metrics.json", m)
    (run_dir / "done").write_text("")
    return m


def _inner():
    try:
        from pretrain_diversity.experiment import run_experiment
    except ImportError:
        return fake_run_experiment
    return run_experiment


def counting_run(cfg, output_dir, *, progress=True, force=False):
    with open(Path(output_dir) / "calls.log", "a") as f:
        f.write(f"{cfg.run_id()} {os.getpid()}\n")
    fail = {int(s) for s in os.environ.get(FAIL_ENV, "").split(",") if s}
    if cfg.seed in fail:
        raise RuntimeError(f"injected failure for seed {cfg.seed}")
    return _inner()(cfg, output_dir, progress=progress, force=force)


def calls(output_dir) -> list[str]:
    p = Path(output_dir) / "calls.log"
    return [line.split()[0] for line in p.read_text().splitlines()] if p.exists() else []
