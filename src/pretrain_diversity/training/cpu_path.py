"""Which numeric path a training step takes: the forward pass in fp32, or under bf16 autocast.

On CUDA the answer is fixed: bf16 autocast, as always. On a CPU it depends on the chip and on the
thread count: measured on one AMD EPYC (AVX-512, no AMX; default convnet, 16 px, batch 128)
bf16 trains 1.28x faster than fp32 at two threads but 0.91x as fast at one, and on a Xeon with
AMX bf16 matrix products run several times faster than fp32 ones. No fixed rule is right
everywhere, so the first time a model shape trains on a machine, ``path_for`` times its real
training step (forward and backward, a few warm-up steps, then best of several interleaved
rounds) both ways and keeps bf16 only if it is at least ``MIN_SPEEDUP`` faster; the decision is
cached in ``cpu-path.json`` in the cache folder (``storage.cache_dir``), keyed by the CPU (its
model name and a digest of its feature flags: a VM often shows a generic name), the thread
count, the torch version and the model's shape, so a sweep times each shape once per machine.
A timing made while other work loaded the cores is kept like any other: delete the file to
time again.

``$PRETRAIN_DIVERSITY_CPU_PRECISION`` sets the choice: ``fp32`` (the default, and the path of
every run recorded before this module existed; the tests pin it, so their numbers do not move),
``bf16`` or ``auto`` (timed as above). An environment variable, not a run parameter: the
precision is a software path and a run's id stays its configuration (as with the probe solver,
``evaluation.probe.probe_solver``); sweep workers inherit it. Each run's record says which path
ran (``train_path``: precision, memory format, threads, how the precision was chosen).

The timing leaves the model as it found it (weights, BatchNorm statistics, gradients, torch's
random state): a run takes the same steps whether or not a decision was timed on its way.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import platform
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

import torch

from pretrain_diversity.storage import atomic_write_json, cache_dir

PRECISION_ENV = "PRETRAIN_DIVERSITY_CPU_PRECISION"
PRECISIONS = ("auto", "fp32", "bf16")
# fp32 by default: on a Xeon with AMX (2 cores) the paired check of bench_pretrain.py found bf16
# 1.3 points worse in test error (95% interval 0.0 to 2.7, 12 pairs), inside its 2-SE noise bar
# only just, for 1.13x at one thread and 1.08x at two; auto stays one variable away until a
# larger check clears it (results/benchmarks/pretrain/xeon-amx-2core-cpu-path.json).
DEFAULT_PRECISION = "fp32"
# bf16 must make the forward and backward pass this much faster to be chosen: rounding costs a
# little accuracy per step, and a smaller gain is within the noise of a timing on a busy machine.
MIN_SPEEDUP = 1.15
CACHE_FILE = "cpu-path.json"
# Both devices train channels-last (``sgd.place``, ``backbones.to_input``): oneDNN's and the
# tensor cores' fast layout for these convolutions.
MEMORY_FORMAT = torch.channels_last
MEMORY_FORMAT_NAME = "channels_last"


@dataclass(frozen=True)
class TrainPath:
    """The path a training step took: device kind, precision, thread count, and how the
    precision was chosen (``cuda``: fixed; ``env``: $PRETRAIN_DIVERSITY_CPU_PRECISION; ``timed``:
    measured now; ``cached``: measured earlier on this machine)."""

    device: str
    precision: str  # "fp32" or "bf16"
    chosen_by: str
    threads: int
    memory_format: str = MEMORY_FORMAT_NAME
    fp32_step_s: float | None = None  # the timed forward + backward pass, when it was timed
    bf16_step_s: float | None = None

    @property
    def bf16(self) -> bool:
        return self.precision == "bf16"

    def autocast(self):
        """The context a forward pass on this path runs in."""
        return torch.autocast(device_type=self.device, dtype=torch.bfloat16, enabled=self.bf16)

    def as_dict(self) -> dict:
        return asdict(self)


def requested_precision() -> str:
    """``$PRETRAIN_DIVERSITY_CPU_PRECISION`` (``auto`` when unset), checked."""
    chosen = os.environ.get(PRECISION_ENV) or DEFAULT_PRECISION
    if chosen not in PRECISIONS:
        raise ValueError(f"${PRECISION_ENV}={chosen!r} is not a CPU precision; allowed: "
                         f"{', '.join(PRECISIONS)}")
    return chosen


@functools.cache
def cpu_identity() -> str:
    """The CPU's model name and a digest of its feature flags (``/proc/cpuinfo`` where there is
    one): what decides how fast bf16 runs, even under a VM that hides the model's name."""
    info: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    name = info.get("model name") or platform.processor() or platform.machine()
    flags = " ".join(sorted((info.get("flags") or info.get("Features") or "").split()))
    return f"{name} [flags {hashlib.sha256(flags.encode()).hexdigest()[:10]}]" if flags else name


def model_signature(model: torch.nn.Module, input_shape) -> str:
    """The shape of a training step: the model's class, its parameters' shapes (digested) and
    the input batch's shape."""
    shapes = ";".join(f"{n}:{tuple(p.shape)}" for n, p in model.named_parameters())
    digest = hashlib.sha256(shapes.encode()).hexdigest()[:12]
    n = sum(p.numel() for p in model.parameters())
    return f"{type(model).__name__} {n} params {digest} input {tuple(input_shape)}"


def decision_key(signature: str, threads: int | None = None) -> str:
    """The cache key of a decision: CPU, thread count, torch version and the step's shape."""
    threads = torch.get_num_threads() if threads is None else threads
    return f"{cpu_identity()} | threads {threads} | torch {torch.__version__} | {signature}"


def decide(fp32_s: float, bf16_s: float, min_speedup: float | None = None) -> str:
    """bf16 if its step is at least ``min_speedup`` (default ``MIN_SPEEDUP``) times faster, else
    fp32 (also when bf16 failed or gave a non-finite loss: ``bf16_s`` infinite)."""
    min_speedup = MIN_SPEEDUP if min_speedup is None else min_speedup
    if not (math.isfinite(bf16_s) and bf16_s > 0):
        return "fp32"
    return "bf16" if fp32_s / bf16_s >= min_speedup else "fp32"


# One forward and backward pass, under bf16 autocast if the argument is True; returns its loss.
Step = Callable[[bool], torch.Tensor]


def time_precisions(step: Step, warmup: int = 2, rounds: int = 5,
                    budget_s: float = 20.0) -> tuple[float, float]:
    """Best-of-``rounds`` seconds of ``step`` in fp32 and in bf16, after ``warmup`` calls of each
    (oneDNN builds its kernels on first use). The two are interleaved, each round starting with
    the other, so that a machine growing busier slows both alike; the rounds stop early once
    ``budget_s`` is spent (a big model's step can take a second). bf16 is infinitely slow if it
    raises or gives a non-finite loss where fp32 does not."""
    best = {False: math.inf, True: math.inf}
    bf16_ok = True

    def once(bf16: bool) -> float:
        nonlocal bf16_ok
        t = time.perf_counter()
        try:
            loss = step(bf16)
        except RuntimeError:
            if not bf16:
                raise
            bf16_ok = False
            return math.inf
        seconds = time.perf_counter() - t
        if bf16 and not math.isfinite(float(loss)):
            bf16_ok = False
        return seconds

    start = time.perf_counter()
    for _ in range(warmup):
        for bf16 in (False, True):
            if bf16 and not bf16_ok:
                continue
            once(bf16)
    for r in range(rounds):
        for bf16 in ((False, True) if r % 2 == 0 else (True, False)):
            if bf16 and not bf16_ok:
                continue
            best[bf16] = min(best[bf16], once(bf16))
        if time.perf_counter() - start > budget_s and r >= 1:
            break
    return best[False], (best[True] if bf16_ok else math.inf)


def model_step(model: torch.nn.Module, loss_of, batch: tuple) -> Step:
    """A ``Step`` of ``model``'s real training step on ``batch`` = (x, y, idx, step) through
    ``loss_of`` (``sgd.LossFn``): forward and backward, gradients dropped after each call.
    ``untouched`` must wrap its use, to give the model back as it was."""

    def step(bf16: bool) -> torch.Tensor:
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=bf16):
            loss, _ = loss_of(*batch)
        loss.backward()
        model.zero_grad(set_to_none=True)
        return loss.detach()

    return step


@contextlib.contextmanager
def untouched(model: torch.nn.Module) -> Iterator[None]:
    """Whatever runs inside leaves ``model``'s weights, buffers (BatchNorm's running statistics
    and step count), gradients, train/eval mode and torch's global random state as they were."""
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    grads = [None if p.grad is None else p.grad.detach().clone() for p in model.parameters()]
    rng, training = torch.get_rng_state(), model.training
    try:
        yield
    finally:
        with torch.no_grad():
            model.load_state_dict(state)
        for p, g in zip(model.parameters(), grads):
            p.grad = g
        torch.set_rng_state(rng)
        model.train(training)


# ------------------------------------------------------------------------ the decision's cache
_MEMO: dict[str, TrainPath] = {}  # key -> decision, for this process


def cache_path():
    return cache_dir() / CACHE_FILE


def read_cache() -> dict:
    """The cached decisions ({} if there is none, or it is damaged: they are timed again)."""
    try:
        data = json.loads(cache_path().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_cache(key: str, entry: dict) -> None:
    """Add one decision (read, change, write atomically: two workers timing at once may drop
    one's entry, which is then timed again; neither leaves a half-written file)."""
    data = read_cache()
    data[key] = entry
    atomic_write_json(cache_path(), data)


def forget() -> None:
    """Drop this process's decisions (the cache file stays): for tests and benchmarks."""
    _MEMO.clear()


def _cached_timings(entry) -> tuple[float, float] | None:
    """(fp32 seconds, bf16 seconds) of a cache entry; None if it is not one this module wrote."""
    try:
        fp32_s, bf16_s = float(entry["fp32_step_s"]), entry["bf16_step_s"]
        return fp32_s, math.inf if bf16_s is None else float(bf16_s)
    except (TypeError, KeyError, ValueError):
        return None


def decided(key: str, threads: int, time_step: Callable[[], tuple[float, float]]) -> TrainPath:
    """The CPU decision for ``key``: this process's, else the cache file's (the rule applied
    again to its timings, should ``MIN_SPEEDUP`` have changed), else ``time_step()``'s
    (fp32 seconds, bf16 seconds), written to the cache."""
    if key in _MEMO:
        return _MEMO[key]
    timings, chosen_by = _cached_timings(read_cache().get(key)), "cached"
    if timings is None:
        timings, chosen_by = time_step(), "timed"
        fp32_s, bf16_s = timings
        _write_cache(key, {
            "precision": decide(fp32_s, bf16_s),
            "fp32_step_s": fp32_s,
            "bf16_step_s": bf16_s if math.isfinite(bf16_s) else None,  # None: bf16 failed
            "min_speedup": MIN_SPEEDUP,
            "measured": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        })  # fmt: skip
    fp32_s, bf16_s = timings
    path = TrainPath("cpu", decide(fp32_s, bf16_s), chosen_by, threads, fp32_step_s=fp32_s,
                     bf16_step_s=bf16_s if math.isfinite(bf16_s) else None)
    _MEMO[key] = path
    return path


# ---------------------------------------------------------------------- what training asks
_LAST: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> its last TrainPath
_RECORDING: list[dict[str, list[TrainPath]]] = []


def path_for(model: torch.nn.Module, device, loss_of=None, batch: tuple | None = None,
             *, role: str = "pretrain") -> TrainPath:
    """The path ``model``'s training steps take on ``device``. On a CPU in ``auto`` mode this
    may time ``loss_of`` on ``batch`` = (x, y, idx, step) both ways (``time_precisions``),
    leaving the model untouched. ``role`` (``pretrain`` or ``finetune``) is what a run's record
    files the path under (``recording``)."""
    device = torch.device(device)
    threads = torch.get_num_threads()
    if device.type == "cuda":
        path = TrainPath("cuda", "bf16", "cuda", threads)
    elif device.type != "cpu":  # another accelerator: fp32, as before this module
        path = TrainPath(device.type, "fp32", "default", threads)
    elif (requested := requested_precision()) != "auto":
        path = TrainPath("cpu", requested, "env", threads)
    else:
        if batch is None or loss_of is None:
            raise ValueError("path_for: auto precision needs loss_of and a batch to time")
        key = decision_key(model_signature(model, batch[0].shape), threads)

        def time_step():
            with untouched(model):
                return time_precisions(model_step(model, loss_of, batch))

        path = decided(key, threads, time_step)
    _LAST[model] = path
    for used in _RECORDING:
        used.setdefault(role, []).append(path)
    return path


def last_path(model: torch.nn.Module, device) -> TrainPath:
    """The path ``model`` last trained on (what its evaluation of its own objective follows);
    a model not trained in this process: bf16 autocast on CUDA, fp32 elsewhere."""
    device = torch.device(device)
    path = _LAST.get(model)
    if path is not None and path.device == device.type:
        return path
    return TrainPath(device.type, "bf16" if device.type == "cuda" else "fp32", "default",
                     torch.get_num_threads())


@contextlib.contextmanager
def recording() -> Iterator[dict[str, list[TrainPath]]]:
    """Collect the paths of the training steps run inside, by role."""
    used: dict[str, list[TrainPath]] = {}
    _RECORDING.append(used)
    try:
        yield used
    finally:
        _RECORDING.remove(used)


def same_path_now(train_path: dict | None) -> bool:
    """Whether a record's ``train_path`` block was made on the CPU precision requested now: a
    record without one trained in fp32 (made before the choice existed); ``auto`` matches the
    records whose precision was timed or cached, a fixed precision those that ran it. (For the
    planner: bf16 and fp32 runs train at different speeds.)"""
    requested = requested_precision()
    precision = (train_path or {}).get("precision") or "fp32"
    if requested == "auto":
        return (train_path or {}).get("chosen_by") in ("timed", "cached")
    return precision == requested


def record_of(used: dict[str, list[TrainPath]], device) -> dict:
    """A run record's ``train_path`` block from what ``recording`` collected: the pre-training
    path (precision, how it was chosen, threads, memory format) and, if fine-tuning trained, its
    precision. A precision that changed within a role (a resumed run on another path) is listed
    as ``fp32+bf16``; ``None`` where no step of that role ran in this process."""

    def summary(paths: list[TrainPath]) -> dict:
        if not paths:
            return {"precision": None, "chosen_by": None}
        return {"precision": "+".join(dict.fromkeys(p.precision for p in paths)),
                "chosen_by": "+".join(dict.fromkeys(p.chosen_by for p in paths))}

    pre = used.get("pretrain", [])
    out = {"device": torch.device(device).type, **summary(pre),
           "memory_format": MEMORY_FORMAT_NAME,
           "threads": pre[0].threads if pre else torch.get_num_threads()}
    if pre and pre[0].fp32_step_s is not None:
        out["fp32_step_s"], out["bf16_step_s"] = pre[0].fp32_step_s, pre[0].bf16_step_s
    if used.get("finetune"):
        ft = summary(used["finetune"])
        out["finetune_precision"], out["finetune_chosen_by"] = ft["precision"], ft["chosen_by"]
    return out
