"""One run to execute, as plain data, and how to execute it in whatever process it lands in.

``execute_job`` claims the run (``runs.locks.RunLock``), skips it if it is finished, else runs it
(``run_experiment`` directly, or the pretrain notebook through papermill) and turns an exception
into ``failed.json`` instead of raising. Jobs travel to subprocesses and Ray workers as JSON
(``Job.to_dict``) and results come back as JSON: nothing read from the output folder is ever
unpickled, and metrics are read from metrics.json.
"""

from __future__ import annotations

import importlib
import os
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from pretrain_diversity.config import RunConfig
from pretrain_diversity.runs.layout import (
    FAILED,
    NOTEBOOK,
    DamagedFile,
    is_done,
    load_metrics,
    read_finished,
    read_json,
    run_dir_for,
    set_aside,
)
from pretrain_diversity.runs.locks import RunLock
from pretrain_diversity.runs.machine import now
from pretrain_diversity.storage import atomic_write_json
from pretrain_diversity.sweeps.cost import estimate_s

DEFAULT_RUN_FN = "pretrain_diversity.runs.experiment:run_experiment"
VIAS = ("function", "notebook")
IN_PROCESS = "<in-process>"  # a run function only the serial launcher can call


@dataclass(frozen=True)
class Job:
    """One run to execute, as plain data so it can cross to a subprocess or a Ray worker."""

    config: dict  # RunConfig.to_dict()
    output_dir: str
    via: str = "function"  # call run_fn directly, or execute the notebook through papermill
    run_fn: str = DEFAULT_RUN_FN  # "module:attribute", imported where the job runs
    notebook: str | None = None  # for via="notebook"; default notebooks/pretrain.ipynb
    force: bool = False
    threads: int | None = None  # torch intra-op threads; None leaves torch's default
    wait: bool = False  # if another worker holds the run, wait for it instead of skipping it

    @property
    def cfg(self) -> RunConfig:
        return RunConfig.from_dict(self.config)

    @property
    def run_dir(self) -> Path:
        return run_dir_for(self.cfg, self.output_dir)

    @property
    def cost(self) -> float:
        """Estimated seconds (``cost.estimate_s``): the progress bar weighs runs by it."""
        return estimate_s(self.cfg)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Job:
        return cls(**d)


@dataclass
class JobResult:
    run_id: str
    name: str
    status: str  # done | cached (finished before, maybe by another sweep) | failed | busy
    seconds: float = 0.0
    error: str = ""  # one line for failed and busy runs; the traceback is in failed.json

    def to_dict(self) -> dict:
        return asdict(self)


def resolve(spec: str | Callable) -> Callable:
    """A callable from ``"package.module:attribute"`` (or the callable itself)."""
    if callable(spec):
        return spec
    module, _, attr = spec.partition(":")
    if not attr:
        raise ValueError(f"run function {spec!r} must look like 'package.module:function'")
    obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def fn_spec(fn: str | Callable | None) -> str:
    """``"module:qualname"`` for a run function, so that another process can import it."""
    if fn is None:
        return DEFAULT_RUN_FN
    if isinstance(fn, str):
        return fn
    spec = f"{fn.__module__}:{fn.__qualname__}"
    if "<" in spec or fn.__module__ == "__main__":
        raise ValueError(
            f"run function {spec} cannot be imported by another process: define it at the top "
            f"level of an importable module, or use the serial launcher"
        )
    return spec


def for_another_process(job: Job, threads: int | None) -> Job:
    """The job as a subprocess or Ray worker needs it: an importable run function, threads set."""
    d = job.to_dict()
    d["run_fn"] = fn_spec(job.run_fn) if job.via == "function" else job.run_fn
    if d["run_fn"] == IN_PROCESS:
        raise ValueError("a run function defined in-process needs the serial launcher")
    if d["threads"] is None:
        d["threads"] = threads
    return Job.from_dict(d)


def default_notebook() -> Path:
    """notebooks/pretrain.ipynb of the source tree this package was imported from."""
    return Path(__file__).resolve().parents[3] / "notebooks" / "pretrain.ipynb"


def run_notebook(
    cfg: RunConfig, output_dir: str | os.PathLike, *, notebook=None, force=False, threads=None
):
    """Execute the pretrain notebook with ``cfg`` as its parameters; keep the executed notebook.

    The notebook calls ``run_experiment`` itself, so it writes the same metrics.json into the
    same run folder as a direct call; the executed copy is kept as ``run_dir/pretrain.ipynb``
    (moved into place atomically, also when the notebook fails: it shows where). ``threads``
    reaches the kernel's torch through OMP_NUM_THREADS.
    """
    import papermill as pm

    nb_path = Path(notebook) if notebook else default_notebook()
    if not nb_path.exists():
        raise FileNotFoundError(f"pretrain notebook not found at {nb_path}")
    run_dir = run_dir_for(cfg, output_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    params = dict(cfg.to_dict(), output_dir=str(Path(output_dir).resolve()), force=force)
    partial = run_dir / f".partial-{NOTEBOOK}"
    saved = os.environ.get("OMP_NUM_THREADS")
    if threads:
        os.environ["OMP_NUM_THREADS"] = str(threads)  # the kernel inherits it at start
    try:
        pm.execute_notebook(
            str(nb_path),
            str(partial),
            parameters=params,
            kernel_name="python3",
            progress_bar=False,
            cwd=str(nb_path.parent),
        )
    finally:
        if threads and saved is None:
            del os.environ["OMP_NUM_THREADS"]
        elif threads:
            os.environ["OMP_NUM_THREADS"] = saved
        if partial.exists():
            os.replace(partial, run_dir / NOTEBOOK)
    if not is_done(run_dir):
        raise RuntimeError(f"notebook {nb_path} finished but left no done marker in {run_dir}")
    return load_metrics(run_dir)


def execute_job(job: Job, run_fn: Callable | None = None) -> JobResult:
    """Claim the run, skip it if finished, else run it; record a failure instead of raising.

    Runs in the sweep's process (serial), a subprocess or a Ray worker: everything it needs is in
    ``job``. ``run_fn`` overrides ``job.run_fn`` in-process (tests inject fakes this way).
    """
    cfg = job.cfg
    run_dir = job.run_dir
    base = dict(run_id=cfg.run_id(), name=cfg.short_name())
    lock = RunLock(run_dir)
    if not lock.acquire(wait=job.wait):
        return JobResult(**base, status="busy", error=f"claimed by {lock.owner()}")
    t0 = time.perf_counter()
    try:
        if not job.force and read_finished(run_dir) is not None:
            return JobResult(**base, status="cached")
        previous = read_failure(run_dir)
        try:
            if job.threads:
                import torch

                torch.set_num_threads(job.threads)
            if job.via == "notebook":
                run_notebook(cfg, job.output_dir, notebook=job.notebook, force=job.force,
                             threads=job.threads)
            elif job.via == "function":
                fn = resolve(run_fn or job.run_fn)
                fn(cfg, job.output_dir, progress=False, force=job.force)
            else:
                raise ValueError(f"unknown via={job.via!r}; allowed: {', '.join(VIAS)}")
            if not is_done(run_dir):
                raise RuntimeError(f"run function returned but wrote no done marker in {run_dir}")
        except BaseException as e:  # noqa: BLE001 - KeyboardInterrupt is recorded, then re-raised
            record_failure(
                job,
                error_type=type(e).__name__,
                message=str(e),
                tb=traceback.format_exc(),
                attempt=previous.get("attempt", 0) + 1,
            )
            if not isinstance(e, Exception):
                raise
            return JobResult(
                **base,
                status="failed",
                seconds=time.perf_counter() - t0,
                error=f"{type(e).__name__}: {first_line(str(e))}",
            )
        (run_dir / FAILED).unlink(missing_ok=True)
        return JobResult(**base, status="done", seconds=time.perf_counter() - t0)
    finally:
        lock.release()


def record_failure(job: Job, *, error_type: str, message: str, tb: str, attempt: int = 1) -> Path:
    """Write ``failed.json``: what failed, where, and the traceback. Never writes ``done``."""
    return atomic_write_json(
        job.run_dir / FAILED,
        {
            "run_id": job.cfg.run_id(),
            "name": job.cfg.short_name(),
            "error_type": error_type,
            "message": message,
            "traceback": tb,
            "attempt": attempt,
            "via": job.via,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "time": now(),
            "config": job.config,
        },
    )


def read_failure(run_dir: Path) -> dict:
    """The last failure record of a run ({} if none); a damaged one is set aside and forgotten
    (it only counted attempts)."""
    path = Path(run_dir) / FAILED
    try:
        return read_json(path)
    except FileNotFoundError:
        return {}
    except DamagedFile:
        set_aside(path)
        return {}


def first_line(s: str) -> str:
    return s.strip().splitlines()[0] if s.strip() else ""
