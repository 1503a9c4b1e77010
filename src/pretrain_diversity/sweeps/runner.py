"""Sweeps: a study spec expands to run configs; each run is cached in its own folder (DomainBed).

A *study* names budgets N, the class counts K to try at each budget (or class-to-sample ratios
K/n), seeds, and any other run parameter. ``Study.expand()`` turns it into ``RunConfig``s. Each
run lives in ``output_dir / cfg.run_id()``; the run function (``experiment.run_experiment``)
writes ``metrics.json`` atomically and then a ``done`` marker, so:

- a rerun skips finished runs (no training happens);
- a run without ``done`` is rerun, and ``run_experiment`` resumes it from its last checkpoint;
- a run that raised leaves ``failed.json`` (with its traceback) and never ``done``; a rerun retries
  it and deletes the record once it succeeds;
- a run is claimed with an exclusive ``flock`` on ``run_dir/lock`` before it starts, so two sweeps
  over the same folder never train the same run twice. The kernel drops the lock when its process
  dies, so a killed worker never leaves a stale claim behind.

Launchers (``launchers.py``: serial, local processes, Ray) all consume the same list of ``Job``s and
call the same ``execute_job``; a progress bar over runs estimates the time left from each run's
cost (images to train, plus a fixed overhead), not from a plain count of runs.
"""

from __future__ import annotations

import fcntl
import importlib
import itertools
import json
import math
import os
import socket
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from pretrain_diversity.config import ConfigError, RunConfig, validate
from pretrain_diversity.runs.experiment import DONE, METRICS, is_done, load_metrics, run_dir_for
from pretrain_diversity.storage import atomic_write_json

DEFAULT_RUN_FN = "pretrain_diversity.runs.experiment:run_experiment"
VIAS = ("function", "notebook")
LAUNCHERS = ("serial", "processes", "ray")

# Files of a run folder that belong to the sweep (metrics.json, done and checkpoint.pt belong to
# experiment.run_experiment).
FAILED, LOCK, NOTEBOOK = "failed.json", "lock", "pretrain.ipynb"
__all__ = ["DONE", "METRICS", "Study", "load_study", "run_study", "execute_job", "Job"]

# Cost model for the progress bar's time estimate, in "image passes": a run trains
# epochs * N images and spends a few seconds on data and probing, worth about this many images
# at the 5-8k images/s the default model trains at on 2 quiet CPU cores.
OVERHEAD_IMAGES = 30_000
ASSUMED_IMAGES_PER_S = 6_000  # for the dry run's time estimate only
TRANSFER_PROBE_IMAGES = 10_000  # one few-shot linear probe (features and 6 logistic fits), roughly


class StudyError(ValueError):
    """A study spec is malformed or asks for runs that cannot exist."""


# ----------------------------------------------------------------------------------------- study
@dataclass(frozen=True)
class Study:
    """What to sweep. Exactly one of ``n_classes`` and ``ratios`` says which K to try per budget.

    - ``n_classes``: a list of K tried at every budget, or a mapping budget -> list of K;
      a K that does not divide N (or exceeds it) is skipped with a message.
    - ``ratios``: class-to-sample ratios r = K/n; at budget N, K = sqrt(r N) must be a whole
      divisor of N (with powers of two, odd powers of 2 of N pair with odd powers of r).
    - ``base``: RunConfig fields shared by every run (epochs, probe_tasks, image_size, ...).
    - ``grid``: RunConfig fields swept as a cross product on top of budgets, K and seeds.
    - ``variants``: named settings that are not a cross product (e.g. pre-training *sources*
      that differ in several fields at once): a mapping name -> RunConfig fields; every run is
      made once per variant, crossed with the grid. The name is for tables only
      (``variant_of``); the fields alone make the run's identity.
    """

    name: str
    budgets: tuple[int, ...]
    seeds: tuple[int, ...] = (0,)
    n_classes: tuple[int, ...] | dict[int, tuple[int, ...]] | None = None
    ratios: tuple[float, ...] | None = None
    base: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    variants: dict = field(default_factory=dict)
    description: str = ""

    def __post_init__(self):
        if not self.name or not isinstance(self.name, str):
            raise StudyError("a study needs a name (used for its manifest and progress bar)")
        if not self.budgets:
            raise StudyError(f"study {self.name!r}: 'budgets' is empty")
        if not self.seeds:
            raise StudyError(f"study {self.name!r}: 'seeds' is empty")
        if (self.n_classes is None) == (self.ratios is None):
            raise StudyError(
                f"study {self.name!r}: give exactly one of 'n_classes' (K values) and "
                f"'ratios' (K/n)"
            )
        known = {f.name for f in fields(RunConfig)}
        owned = {"n_classes", "samples_per_class", "seed"}
        for name, v in self.variants.items():
            if not isinstance(v, dict):
                raise StudyError(f"study {self.name!r}: variants.{name} must be a table of fields")
            both = set(v) & (set(self.base) | set(self.grid))
            if both:
                raise StudyError(f"study {self.name!r}: variants.{name} sets {sorted(both)}, "
                                 f"which [base] or [grid] also set")
        checked = [("base", self.base), ("grid", self.grid)]
        checked += [(f"variants.{n}", v) for n, v in self.variants.items() if isinstance(v, dict)]
        for where, d in checked:
            bad = set(d) - known
            if bad:
                raise StudyError(
                    f"study {self.name!r}: unknown run parameter(s) {sorted(bad)} in [{where}]; "
                    f"known: {sorted(known - owned)}"
                )
            clash = set(d) & owned
            if clash:
                raise StudyError(
                    f"study {self.name!r}: {sorted(clash)} in [{where}] are set by budgets, "
                    f"n_classes/ratios and seeds"
                )
        both = set(self.base) & set(self.grid)
        if both:
            raise StudyError(f"study {self.name!r}: {sorted(both)} given in both [base] and [grid]")
        for k, v in self.grid.items():
            if not isinstance(v, (list, tuple)) or not v:
                raise StudyError(f"study {self.name!r}: grid.{k} must be a non-empty list")
        if isinstance(self.n_classes, dict):
            extra = set(self.n_classes) - set(self.budgets)
            missing = set(self.budgets) - set(self.n_classes)
            if extra or missing:
                raise StudyError(
                    f"study {self.name!r}: n_classes per budget must name every budget exactly: "
                    f"missing {sorted(missing)}, not a budget {sorted(extra)}"
                )

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, d: dict) -> Study:
        d = dict(d)
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise StudyError(f"unknown study keys {sorted(unknown)}; known: {sorted(known)}")
        ncl = d.get("n_classes")
        if isinstance(ncl, dict):
            try:
                d["n_classes"] = {int(b): tuple(ks) for b, ks in ncl.items()}
            except ValueError as e:
                raise StudyError(f"n_classes keys must be budgets (integers): {e}") from None
        elif ncl is not None:
            d["n_classes"] = tuple(ncl)
        for key in ("budgets", "seeds", "ratios"):
            if d.get(key) is not None:
                d[key] = tuple(d[key])
        base = dict(d.get("base", {}))
        if "probe_tasks" in base:
            base["probe_tasks"] = tuple(base["probe_tasks"])
        d["base"] = base
        d["grid"] = {
            k: [tuple(x) if isinstance(x, list) else x for x in v]
            for k, v in dict(d.get("grid", {})).items()
        }
        d["variants"] = {
            name: {k: tuple(x) if isinstance(x, list) else x for k, x in dict(v).items()}
            if isinstance(v, dict) else v
            for name, v in dict(d.get("variants", {})).items()
        }
        return cls(**d)

    def to_dict(self) -> dict:
        d = asdict(self)
        if isinstance(self.n_classes, dict):
            d["n_classes"] = {str(b): list(ks) for b, ks in self.n_classes.items()}
        return json.loads(json.dumps(d))  # tuples -> lists

    # ------------------------------------------------------------------ expansion
    def classes_for(self, budget: int) -> list[tuple[int | None, str | None]]:
        """(K, None) for each K to try at ``budget``, or (None, why) for one that cannot be."""
        out: list[tuple[int | None, str | None]] = []
        if self.ratios is not None:
            for r in self.ratios:
                k = math.sqrt(r * budget)
                ki = round(k)
                if r <= 0 or abs(k - ki) > 1e-9 * max(1.0, k) or budget % max(ki, 1):
                    out.append((None, f"ratio K/n={r:g} at N={budget} needs K=sqrt(r*N)={k:.4g}, "
                                      f"not a whole divisor of N"))
                else:
                    out.append((ki, None))
            return out
        ks = self.n_classes[budget] if isinstance(self.n_classes, dict) else self.n_classes
        for k in ks:
            if not isinstance(k, int) or isinstance(k, bool) or k < 1:
                out.append((None, f"K={k!r} is not a positive integer"))
            elif k > budget:
                out.append((None, f"K={k} > N={budget}: fewer than one image per class"))
            elif budget % k:
                out.append((None, f"K={k} does not divide N={budget} "
                                  f"(n would be {budget / k:.4g})"))
            else:
                out.append((k, None))
        return out

    def plan(self, *, pool_size: int | None = None) -> tuple[list[RunConfig], list[str]]:
        """All run configs of the study (deduplicated by run id) and a message per skipped combo."""
        configs: dict[str, RunConfig] = {}
        skipped: list[str] = []
        keys = list(self.grid)
        combos = [dict(zip(keys, vals)) for vals in itertools.product(*self.grid.values())]
        if self.variants:
            combos = [{**v, **c} for v in self.variants.values() for c in combos]
        for budget in self.budgets:
            if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1:
                skipped.append(f"budget N={budget!r} is not a positive integer")
                continue
            for k, why in self.classes_for(budget):
                if k is None:
                    skipped.append(why)
                    continue
                for combo, seed in itertools.product(combos, self.seeds):
                    try:
                        cfg = RunConfig.from_budget(budget, k, seed=seed, **self.base, **combo)
                        # device is where a run executes, not what it is: check the rest here,
                        # on a driver that may have no GPU, and the device on the worker.
                        validate(cfg.with_(device="cpu"), pool_size=pool_size)
                    except (ConfigError, TypeError) as e:
                        skipped.append(f"N={budget} K={k} seed={seed} {combo or ''}: {e}")
                        continue
                    configs.setdefault(cfg.run_id(), cfg)
        return list(configs.values()), skipped

    def expand(self, *, strict: bool = False, pool_size: int | None = None) -> list[RunConfig]:
        """The study's run configs; invalid combos are skipped with a warning (raise if strict)."""
        configs, skipped = self.plan(pool_size=pool_size)
        if skipped:
            msg = f"study {self.name!r}: {len(skipped)} combination(s) skipped:\n  " + "\n  ".join(
                skipped
            )
            if strict:
                raise StudyError(msg)
            warnings.warn(msg, stacklevel=2)
        if not configs:
            raise StudyError(f"study {self.name!r} expands to no valid run")
        return configs


def variant_of(study: Study, cfg: RunConfig) -> str | None:
    """The name of the study variant ``cfg`` belongs to (None if the study has no variants)."""
    for name, fields_ in study.variants.items():
        if all(getattr(cfg, k) == v for k, v in fields_.items()):
            others = [v for n, v in study.variants.items() if n != name]
            # a variant that is a subset of another matches both: take the most specific
            if not any(set(fields_.items()) < set(o.items()) and
                       all(getattr(cfg, k) == x for k, x in o.items()) for o in others):
                return name
    return None


def load_study(path: str | os.PathLike) -> Study:
    """Read a study spec from a .toml, .json or .yaml file; its name defaults to the file's stem."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no study spec at {path}")
    text = path.read_text()
    suffix = path.suffix.lower()
    if suffix == ".toml":
        import tomllib

        d = tomllib.loads(text)
    elif suffix == ".json":
        d = json.loads(text)
    elif suffix in (".yaml", ".yml"):
        import yaml

        d = yaml.safe_load(text)
    else:
        raise StudyError(f"study spec {path} must be .toml, .json or .yaml")
    d.setdefault("name", path.stem)
    try:
        return Study.from_dict(d)
    except TypeError as e:
        raise StudyError(f"{path}: {e}") from None


# ------------------------------------------------------------------------------------ run folders
def run_status(run_dir: str | os.PathLike) -> str:
    """'done', 'running' (claimed by a live worker), 'failed', 'partial' (no marker) or 'new'."""
    run_dir = Path(run_dir)
    if is_done(run_dir):
        return "done"
    if not run_dir.exists():
        return "new"
    if RunLock(run_dir).held_elsewhere():
        return "running"
    if (run_dir / FAILED).exists():
        return "failed"
    return "partial"


class RunLock:
    """An exclusive, non-blocking ``flock`` on ``run_dir/lock``: one worker per run at a time.

    The lock file is never deleted (deleting it would let a late opener lock an orphaned inode);
    it records the owner's host and pid for messages. The kernel releases the lock when the
    owning process exits or is killed, so there is no stale claim to clean up. flock works across
    hosts on NFSv4 and most cluster file systems; on others use one output folder per host.
    """

    def __init__(self, run_dir: str | os.PathLike):
        self.path = Path(run_dir) / LOCK
        self.fd: int | None = None

    def acquire(self, *, wait: bool = False) -> bool:
        """Take the lock; if another process holds it, return False (or, with wait, block)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return False
        owner = {"host": socket.gethostname(), "pid": os.getpid(), "since": _now()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(owner) + "\n").encode(), 0)
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def held_elsewhere(self) -> bool:
        if not self.path.exists():
            return False
        if self.acquire():
            self.release()
            return False
        return True

    def owner(self) -> str:
        try:
            o = json.loads(self.path.read_text())
            return f"pid {o['pid']} on {o['host']} since {o['since']}"
        except (OSError, ValueError, KeyError):
            return "another worker"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


# ------------------------------------------------------------------------------------------- jobs
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
        """Rough work of the run in image passes (see OVERHEAD_IMAGES), for the time estimate."""
        cfg = self.cfg
        work = cfg.epochs * cfg.budget * (2 if cfg.method == "simclr" else 1) + OVERHEAD_IMAGES
        if cfg.shots:  # few-shot transfer: probes, plus a fine-tuning run per (task, k, lr)
            from pretrain_diversity.evaluation.transfer import FINETUNE

            fits = len(cfg.shots) * len(cfg.probe_tasks)
            work += fits * TRANSFER_PROBE_IMAGES
            if cfg.finetune:
                work += fits * len(FINETUNE.lrs) * FINETUNE.max_steps * FINETUNE.batch_size // 2
        return work

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
        if is_done(run_dir) and not job.force:
            return JobResult(**base, status="cached")
        previous = _read_failure(run_dir)
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
                error=f"{type(e).__name__}: {_first_line(str(e))}",
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
            "time": _now(),
            "config": job.config,
        },
    )


def _read_failure(run_dir: Path) -> dict:
    try:
        return json.loads((run_dir / FAILED).read_text())
    except (OSError, ValueError):
        return {}


def _first_line(s: str) -> str:
    return s.strip().splitlines()[0] if s.strip() else ""


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


# ------------------------------------------------------------------------------------ the sweep
STATUSES = ("done", "cached", "failed")  # what a sweep reports per run (busy runs are waited for)


@dataclass
class SweepReport:
    study: str
    output_dir: str
    launcher: str
    results: list[JobResult]
    skipped: list[str]  # invalid combinations of the spec
    wall_s: float

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def failed(self) -> list[JobResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        parts = [f"{self.count(s)} {s}" for s in STATUSES]
        lines = [
            f"study {self.study!r}: {len(self.results)} runs in {self.output_dir} "
            f"({', '.join(parts)}) in {self.wall_s:.1f} s with the {self.launcher} launcher"
        ]
        for r in self.failed:
            lines.append(f"  FAILED {r.name} [{r.run_id}]: {r.error}")
            lines.append(f"         traceback: {Path(self.output_dir) / r.run_id / FAILED}")
        if self.skipped:
            lines.append(f"  {len(self.skipped)} invalid combination(s) of the spec skipped")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["counts"] = {s: self.count(s) for s in STATUSES}
        return d


def make_jobs(
    configs: Iterable[RunConfig],
    output_dir: str | os.PathLike,
    *,
    via: str = "function",
    run_fn: str | Callable | None = None,
    notebook: str | os.PathLike | None = None,
    force: bool = False,
    threads: int | None = None,
) -> list[Job]:
    if via not in VIAS:
        raise ValueError(f"unknown via={via!r}; allowed: {', '.join(VIAS)}")
    spec = run_fn if isinstance(run_fn, str) else DEFAULT_RUN_FN
    if callable(run_fn):
        try:
            spec = fn_spec(run_fn)
        except ValueError:
            spec = "<in-process>"  # serial only; other launchers call fn_spec() and raise
    out = str(Path(output_dir).resolve())
    return [
        Job(
            config=c.to_dict(),
            output_dir=out,
            via=via,
            run_fn=spec,
            notebook=str(notebook) if notebook else None,
            force=force,
            threads=threads,
        )
        for c in configs
    ]


def run_study(
    study: Study | str | os.PathLike | Iterable[RunConfig],
    output_dir: str | os.PathLike,
    *,
    launcher: str = "serial",
    workers: int | None = None,
    address: str | None = None,
    via: str = "function",
    run_fn: str | Callable | None = None,
    notebook: str | os.PathLike | None = None,
    force: bool = False,
    threads: int | None = None,
    progress: bool = True,
) -> SweepReport:
    """Run every unfinished run of a study; return a report (failures are in it, not raised).

    ``study`` is a Study, a path to a spec file, or a list of RunConfigs. Finished runs are
    skipped before any worker starts; ``force`` reruns them. ``run_fn`` (default: the real
    ``run_experiment``) may be a callable or ``"module:function"``; launchers other than serial
    need it importable by name.
    """
    from pretrain_diversity.sweeps import launchers as L

    t0 = time.perf_counter()
    if isinstance(study, (str, os.PathLike)):
        study = load_study(study)
    if isinstance(study, Study):
        configs, skipped = study.plan()  # the report lists what was skipped
        name = study.name
    else:
        configs, skipped, name = list(study), [], "runs"
    if launcher not in LAUNCHERS:
        raise ValueError(f"unknown launcher {launcher!r}; allowed: {', '.join(LAUNCHERS)}")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if isinstance(study, Study):
        write_manifest(study, configs, output_dir)

    jobs = make_jobs(
        configs, output_dir, via=via, run_fn=run_fn, notebook=notebook, force=force, threads=threads
    )
    cached = [j for j in jobs if not force and is_done(j.run_dir)]
    pending = [j for j in jobs if force or not is_done(j.run_dir)]
    results = [JobResult(j.cfg.run_id(), j.cfg.short_name(), "cached") for j in cached]

    bar = _progress_bar(name, pending, len(cached), enabled=progress)
    counts = {"done": 0, "failed": 0, "cached": len(cached)}

    def on_result(job: Job, res: JobResult) -> None:
        results.append(res)
        counts[res.status] = counts.get(res.status, 0) + 1
        if bar is not None:
            bar.set_description_str(_describe(name, counts, len(jobs)), refresh=False)
            bar.update(job.cost)
            if res.status == "failed":
                bar.write(f"FAILED {res.name}: {res.error}")

    def launch(batch: list[Job], report: Callable[[Job, JobResult], None]) -> None:
        if launcher == "serial":
            L.serial(batch, report, run_fn=run_fn if callable(run_fn) else None)
        elif launcher == "processes":
            L.processes(batch, report, workers=workers)
        else:
            L.ray(batch, report, workers=workers, address=address)

    busy: list[Job] = []

    def first_pass(job: Job, res: JobResult) -> None:
        if res.status == "busy":
            busy.append(job)
        else:
            on_result(job, res)

    try:
        # Runs another sweep holds are skipped at first, then waited for at the end (and run
        # here if their owner died without finishing them), so a sweep that returns leaves no
        # run of its study unfinished but the failed ones.
        if pending:
            launch(pending, first_pass)
        if busy:
            launch([replace(j, wait=True) for j in busy], on_result)
    finally:
        if bar is not None:
            bar.close()
    order = {c.run_id(): i for i, c in enumerate(configs)}
    results.sort(key=lambda r: order.get(r.run_id, len(order)))
    return SweepReport(
        study=name,
        output_dir=str(output_dir),
        launcher=launcher,
        results=results,
        skipped=skipped,
        wall_s=time.perf_counter() - t0,
    )


def write_manifest(study: Study, configs: list[RunConfig], output_dir: Path) -> Path:
    """``output_dir/study-NAME.json``: the spec and its run ids (concurrent writers agree)."""
    return atomic_write_json(
        output_dir / f"study-{study.name}.json",
        {"study": study.to_dict(), "run_ids": [c.run_id() for c in configs]},
    )


def study_run_ids(output_dir: str | os.PathLike, name: str) -> list[str]:
    path = Path(output_dir) / f"study-{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"no manifest {path}: has study {name!r} been swept into it?")
    return json.loads(path.read_text())["run_ids"]


def _describe(name: str, counts: dict, total: int) -> str:
    finished = counts["done"] + counts["cached"]
    s = f"sweep {name}: runs {finished}/{total}"
    extra = [f"{counts[k]} {k}" for k in ("cached", "failed") if counts.get(k)]
    return s + (f" ({', '.join(extra)})" if extra else "")


def _progress_bar(name: str, pending: list[Job], n_cached: int, *, enabled: bool):
    """tqdm over the pending runs' estimated cost, so the time left weighs big runs correctly."""
    if not enabled:
        return None
    from tqdm.auto import tqdm

    counts = {"done": 0, "cached": n_cached, "failed": 0}
    return tqdm(
        total=sum(j.cost for j in pending) or 1,
        desc=_describe(name, counts, len(pending) + n_cached),
        # the bar advances by each run's estimated cost, so the time left weighs big runs more
        bar_format="{desc} {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]",
        file=sys.stderr,
        dynamic_ncols=True,
    )
