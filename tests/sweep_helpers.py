"""Run functions for the sweep tests: the real ``run_experiment``, wrapped so a test can see and
steer what happens. They live in a module (not in the test file) so that worker subprocesses and
Ray workers can import them by name.

- ``counting_run`` appends the run id to ``output_dir/calls.log`` each time a run is executed
  (short O_APPEND writes are atomic), so a test can tell whether training happened. It raises
  for the seeds listed in $SWEEP_TEST_FAIL_SEEDS and sleeps $SWEEP_TEST_SLEEP seconds first.
- ``killed_midway`` trains 3 steps, leaves the checkpoint, and SIGKILLs its own process: what a
  run killed mid-training leaves behind.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from pretrain_diversity.config import RunConfig
from pretrain_diversity.runs.experiment import TrainingStopped, run_experiment

FAIL_ENV = "SWEEP_TEST_FAIL_SEEDS"
SLEEP_ENV = "SWEEP_TEST_SLEEP"

# A real run in a few seconds: N = 32 images, 8 SGD steps, one small probe task.
TINY = dict(epochs=2.0, batch_size=8, image_size=8, width=4, probe_tasks=("digits",))


def tiny(n_classes=4, samples_per_class=8, seed=0, **kw) -> RunConfig:
    return RunConfig(n_classes=n_classes, samples_per_class=samples_per_class, seed=seed,
                     **{**TINY, **kw})


def counting_run(cfg, output_dir, *, progress=True, force=False):
    with open(Path(output_dir) / "calls.log", "a") as f:
        f.write(f"{cfg.run_id()} {os.getpid()}\n")
    time.sleep(float(os.environ.get(SLEEP_ENV, 0)))
    fail = {int(s) for s in os.environ.get(FAIL_ENV, "").split(",") if s}
    if cfg.seed in fail:
        raise RuntimeError(f"injected failure for seed {cfg.seed}")
    return run_experiment(cfg, output_dir, progress=progress, force=force)


def killed_midway(cfg, output_dir, *, progress=True, force=False):
    try:
        run_experiment(cfg, output_dir, progress=progress, force=force, stop_after=3)
    except TrainingStopped:
        os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("the run should have been stopped after 3 steps")


def calls(output_dir) -> list[str]:
    p = Path(output_dir) / "calls.log"
    return [line.split()[0] for line in p.read_text().splitlines()] if p.exists() else []


def comparable(m: dict) -> dict:
    """What must not depend on how or where a run executed: config, metrics, training curve."""
    return {k: m[k] for k in ("run_id", "config", "metrics", "history")}
