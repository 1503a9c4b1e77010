"""Shared fixtures: an isolated data cache per test session, and tiny run configurations."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# Tiny runs are dominated by per-op overhead; one thread per process keeps them fast and stable
# when several test processes (papermill kernels, sweep workers) share two cores. Set before
# torch is imported so subprocesses (kernels, workers) inherit it too.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# Training in fp32 on the CPU, whatever this machine would choose (training.cpu_path): the numbers
# the tests pin were made in fp32, and a timed choice could differ between machines and runs.
# Pinned, not defaulted, so that a shell exporting another path cannot move them; the tests of
# the other paths set it themselves. Subprocesses (kernels, sweep workers) inherit it.
os.environ["PRETRAIN_DIVERSITY_CPU_PRECISION"] = "fp32"

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


ROOT = Path(__file__).resolve().parents[1]
BUILD_TIMEOUT_S = int(os.environ.get("BOOK_BUILD_TIMEOUT", "1800"))


@pytest.fixture(scope="session")
def book(tmp_path_factory) -> dict:
    """Build the book once, as ``make book`` does (nit-picky, a warning fails the build);
    returns the html folder and the build log."""
    if os.environ.get("BOOK_HTML"):
        return {"html": Path(os.environ["BOOK_HTML"]), "log": ""}
    out = tmp_path_factory.mktemp("book")
    # `jb build book` with the interpreter running the tests (whose venv has jupyter-book).
    jb = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()"]
    cmd = [*jb, "build", "book", "--path-output", str(out), "-n", "-W", "--keep-going"]
    # The notebooks import pretrain_diversity: make it this checkout's, installed or not.
    pythonpath = [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(pythonpath))
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S
    )
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        # With --keep-going the warnings are spread through the log: list them all first.
        warnings = [line for line in log.splitlines() if "WARNING: " in line]
        tail = "\n".join(log.splitlines()[-80:])
        pytest.fail(f"`jb build book` failed ({proc.returncode}); {len(warnings)} warning(s):\n"
                    + "\n".join(warnings) + f"\nlog tail:\n{tail}", pytrace=False)
    return {"html": out / "_build" / "html", "log": log}
