"""Launchers: three ways to execute one list of jobs, all through ``jobs.execute_job``.

- ``serial``: one run after another in this process (the default, and the reference).
- ``processes``: a fresh ``python -m pretrain_diversity.sweeps.launchers`` subprocess per run, up to
  ``workers`` at a time. A run that crashes its interpreter (segfault, out of memory, killed) is
  recorded as failed with the tail of its output; the other runs go on.
- ``ray``: one Ray task per run on a local Ray instance or a cluster (``address``), with a fresh
  worker process per run (``max_calls=1``) so memory, GPU memory included, is given back, and one
  GPU per run when the run's device is a GPU. On a cluster the output folder must be on a file
  system every node shares, and every node needs this package installed. Jobs go to workers and
results come back as JSON text: a worker never unpickles anything, least of all from the shared
output folder.

Each launcher calls ``on_result(job, result)`` as runs finish, in completion order.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from pretrain_diversity.runs.layout import WORKER_LOG
from pretrain_diversity.storage import atomic_write_bytes
from pretrain_diversity.sweeps.jobs import (
    Job,
    JobResult,
    execute_job,
    first_line,
    for_another_process,
    record_failure,
)

OnResult = Callable[[Job, JobResult], None]
BUSY_EXIT = 75  # EX_TEMPFAIL: the run is claimed by another worker
LAUNCHERS = ("serial", "processes", "ray")


def serial(jobs: list[Job], on_result: OnResult, *, run_fn: Callable | None = None) -> None:
    for job in jobs:
        on_result(job, execute_job(job, run_fn=run_fn))


def default_threads(workers: int) -> int:
    """Torch threads per run so that ``workers`` runs at a time share the machine's cores."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def child_env() -> dict:
    """The environment for a worker: this process's, with this package's source tree first on
    PYTHONPATH, so the worker imports the same code even if another copy is installed."""
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2])
    paths = [src] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != src]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


# ------------------------------------------------------------------------------------ processes
def processes(jobs: list[Job], on_result: OnResult, *, workers: int | None = None) -> None:
    workers = workers or os.cpu_count() or 1
    jobs = [for_another_process(j, default_threads(workers)) for j in jobs]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_run_subprocess, j): j for j in jobs}
        for fut in as_completed(futures):
            on_result(futures[fut], fut.result())


def _run_subprocess(job: Job) -> JobResult:
    """Run one job in a fresh interpreter; turn a crash into a failure record."""
    cfg = job.cfg
    proc = subprocess.run(
        [sys.executable, "-m", "pretrain_diversity.sweeps.launchers"],
        input=json.dumps(job.to_dict()),
        capture_output=True,
        text=True,
        env=child_env(),
    )
    out = proc.stdout.strip().splitlines()
    if proc.returncode == BUSY_EXIT:
        return JobResult(**json.loads(out[-1]))
    # Keep the worker's output beside its results (written after the fact: a busy worker
    # must not truncate the log of the one that owns the run).
    log = f"$ exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    atomic_write_bytes(job.run_dir / WORKER_LOG, log.encode())
    if proc.returncode == 0 and out:
        return JobResult(**json.loads(out[-1]))
    tail = "\n".join(proc.stderr.strip().splitlines()[-40:])
    why = f"worker exited with code {proc.returncode}" + (
        f" (signal {-proc.returncode})" if proc.returncode < 0 else ""
    )
    record_failure(job, error_type="WorkerDied", message=why, tb=tail)
    return JobResult(cfg.run_id(), cfg.short_name(), "failed", error=f"WorkerDied: {why}")


def _worker_main() -> int:
    """Entry of a worker subprocess: a Job as JSON on stdin, a JobResult as JSON on stdout."""
    job = Job.from_dict(json.loads(sys.stdin.read()))
    res = execute_job(job)
    print(json.dumps(res.to_dict()), flush=True)
    return BUSY_EXIT if res.status == "busy" else 0


# ------------------------------------------------------------------------------------------ ray
def _ray_task(job_json: str) -> str:
    return json.dumps(execute_job(Job.from_dict(json.loads(job_json))).to_dict())


def ray(
    jobs: list[Job],
    on_result: OnResult,
    *,
    workers: int | None = None,
    address: str | None = None,
) -> None:
    import ray as _ray

    started = False
    if not _ray.is_initialized():
        if address:
            _ray.init(address=address, log_to_driver=False)
        else:
            # A local instance: its workers inherit this environment (PYTHONPATH included).
            saved = os.environ.get("PYTHONPATH")
            os.environ["PYTHONPATH"] = child_env()["PYTHONPATH"]
            try:
                _ray.init(
                    num_cpus=workers or os.cpu_count() or 1,
                    include_dashboard=False,
                    log_to_driver=False,
                    object_store_memory=100 * 1024**2,
                )
            finally:
                if saved is None:
                    os.environ.pop("PYTHONPATH", None)
                else:
                    os.environ["PYTHONPATH"] = saved
        started = True
    try:
        cpus = int(_ray.cluster_resources().get("CPU", 1))
        threads_default = 1 if address else default_threads(workers or cpus)
        task = _ray.remote(max_calls=1, max_retries=0)(_ray_task)
        refs = {}
        for job in jobs:
            job = for_another_process(job, threads_default)
            gpu = str(job.config.get("device", "cpu")).startswith("cuda")
            ref = task.options(
                num_cpus=job.threads, num_gpus=1 if gpu else 0, name=job.cfg.short_name()
            ).remote(json.dumps(job.to_dict()))
            refs[ref] = job
        while refs:
            done, _ = _ray.wait(list(refs), num_returns=1)
            job = refs.pop(done[0])
            try:
                res = JobResult(**json.loads(_ray.get(done[0])))
            except Exception as e:  # the worker died or Ray lost the task
                record_failure(job, error_type=type(e).__name__, message=first_line(str(e)),
                               tb=str(e))
                cfg = job.cfg
                res = JobResult(cfg.run_id(), cfg.short_name(), "failed", error=type(e).__name__)
            on_result(job, res)
    finally:
        if started:
            _ray.shutdown()


if __name__ == "__main__":
    sys.exit(_worker_main())
