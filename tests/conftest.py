"""Shared fixtures: an isolated data cache per test session, and tiny run configurations."""

from __future__ import annotations

import os

# Tiny runs are dominated by per-op overhead; one thread per process keeps them fast and stable
# when several test processes (papermill kernels, sweep workers) share two cores. Set before
# torch is imported so subprocesses (kernels, workers) inherit it too.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

from pretrain_diversity.config import RunConfig  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory):
    """Generated data goes to a fresh folder, so tests exercise the cache-building path too."""
    path = tmp_path_factory.mktemp("cache")
    old = os.environ.get("PRETRAIN_DIVERSITY_CACHE")
    os.environ["PRETRAIN_DIVERSITY_CACHE"] = str(path)
    yield path
    if old is None:
        os.environ.pop("PRETRAIN_DIVERSITY_CACHE", None)
    else:
        os.environ["PRETRAIN_DIVERSITY_CACHE"] = old


@pytest.fixture
def tiny_cfg() -> RunConfig:
    """A real run that takes a few seconds on a CPU core."""
    return RunConfig(
        n_classes=8,
        samples_per_class=16,
        image_size=8,
        width=4,
        epochs=3.0,
        batch_size=32,
        probe_tasks=("digits", "shapes"),
        seed=0,
    )
