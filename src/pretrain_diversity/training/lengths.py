"""Training length as an axis: one run, read at several lengths without training again.

A run with ``cfg.lengths`` = (l1, l2, ...) trains one trunk under a warm-up-stable-decay
schedule: linear warm-up, then the peak rate held constant. At length l (``l x cfg.steps``
steps in all) a branch leaves the trunk at ``fork`` = (1 - cooldown) of its length, cools the
rate linearly to zero by its end, is read (held-out loss, training accuracy, the caller's
probes) and is thrown away; the trunk goes on from where it forked. Before a fork the schedule
does not depend on where any branch ends, and every draw of a step is seeded by (seed, step), so
a branch is the same run as one trained straight to its length (tests check this).

So the fixed-epochs reading (l = 1), a fixed-compute reading (the same number of steps at every
budget) and the trained reading (``plateau``) are readings of the same runs.

Resumption: the trunk is checkpointed at every fork before its branch starts, and each branch's
reading is written atomically the moment it is made, so a killed run resumes at the last fork
and skips the branches already read.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F

from pretrain_diversity.config import RunConfig
from pretrain_diversity.data.sampling import ImageSet
from pretrain_diversity.models.backbones import to_input
from pretrain_diversity.storage import atomic_write_json
from pretrain_diversity.training.checkpoint import History, TrainState, save_checkpoint
from pretrain_diversity.training.loop import objective, pretrain_plan, start_training
from pretrain_diversity.training.sgd import sgd_steps

# The plateau rule. A run has reached its plateau at length l when no longer length raises its
# accuracy on held-out images of its own classes by PLATEAU_POINTS or more (absolute).
#
# The rule first fixed, before any run was read, used the held-out *loss*: plateau at the first
# length whose doubling lowered it by under 0.05 nats. On the first 48 runs of figure1-trained
# (N = 1,024; read before any slope could be) it failed two ways, so it was replaced before any
# verdict was read: the loss rises as a run grows confident (K = 32 at N = 1,024: 0.55 nats at
# 2x, 0.80 at 8x, while its held-out accuracy goes 85% -> 86%), and at K >= 512 it is flat at ln K
# before anything is learned, so runs fitting 0% of their images read as "trained" at 0.25x.
# Records made before the change hold the loss rule's summary; analysis.readings recomputes every
# run's plateau with this rule from the held-out accuracies every record holds.
PLATEAU_POINTS = 0.02
READINGS_DIR = "lengths"  # one JSON file per branch in the run folder, written as each is read


def length_key(length: float) -> str:
    """The name of a reading: 1 -> '1', 0.5 -> '0.5' (keys of the metrics and file names)."""
    return f"{length:g}"


def warmup_steps(cfg: RunConfig) -> int:
    """Warm-up length of every branch: ``warmup_frac`` of the base steps, as the cosine run."""
    return max(1, round(cfg.warmup_frac * cfg.steps)) if cfg.warmup_frac > 0 else 0


def plateau(heldout_accuracies: list[float], points: float = PLATEAU_POINTS) -> int | None:
    """Index of the first length from which no longer length raises the held-out accuracy by
    ``points`` or more; None if even the second-longest is beaten by that much (the longest
    length has nothing after it to show a plateau)."""
    acc = list(heldout_accuracies)
    for i in range(len(acc) - 1):
        if max(acc[i + 1 :]) - acc[i] < points:
            return i
    return None


def plateau_summary(readings: dict[str, dict], points: float = PLATEAU_POINTS) -> dict:
    """Where a run's readings (keyed by ``length_key``, in increasing length) reach the plateau:
    ``length`` is the trained reading, the plateau's length, or the longest if none is reached."""
    keys = sorted(readings, key=float)
    accs = [readings[k]["pretrain"]["heldout_accuracy"] for k in keys]
    i = plateau(accs, points)
    return {
        "rule": f"no longer length raises held-out accuracy by {100 * points:g} points or more",
        "reached": i is not None,
        "length": float(keys[i] if i is not None else keys[-1]),
    }


@torch.no_grad()
def heldout_fit(model, heldout: ImageSet, device, batch_size: int = 1024) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) on held-out images of the run's classes, in eval mode."""
    model.eval()
    loss, correct = 0.0, 0
    for s in range(0, len(heldout.labels), batch_size):
        x = to_input(heldout.images[s : s + batch_size].to(device))
        y = heldout.labels[s : s + batch_size].to(device)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16,
                            enabled=device.type == "cuda"):
            logits = model(x).float()
        loss += float(F.cross_entropy(logits, y, reduction="sum"))
        correct += int((logits.argmax(1) == y).sum())
    n = len(heldout.labels)
    return loss / n, correct / n


class _Window:
    """Mean training loss and accuracy over the last ``size`` steps before ``end``."""

    def __init__(self, end: int, size: int, device):
        self.start = end - size
        self.loss = torch.zeros((), device=device)
        self.correct = torch.zeros((), device=device)
        self.seen = 0

    def add(self, done: int, loss, correct, batch: int) -> None:
        if done > self.start:
            self.loss += loss.detach() * batch
            self.correct += correct
            self.seen += batch

    def means(self) -> tuple[float, float]:
        return float(self.loss) / self.seen, float(self.correct) / self.seen


def read_saved(folder: Path, key: str) -> dict | None:
    path = folder / f"{key}.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):  # damaged: read that branch again
        return None


def pretrain_lengths(
    model,
    data: ImageSet,
    heldout: ImageSet,
    cfg: RunConfig,
    *,
    device: torch.device,
    run_dir: Path,
    read: Callable[[torch.nn.Module], dict],
    checkpoint: Path | None = None,
    checkpoint_every_s: float = 30.0,
    log_points: int = 100,
    progress: bool = True,
    stop_after: int | None = None,
) -> tuple[dict[str, dict], History, bool]:
    """Train the trunk and read every branch of ``cfg.lengths``; returns (readings, trunk
    history, finished). ``read(model)`` adds the caller's readings (the probes) of a cooled
    branch. The model is left as the longest branch ended. ``stop_after`` stops the trunk after
    that many steps with a checkpoint (how tests kill a run); ``finished`` is then False."""
    from tqdm.auto import tqdm

    base, optimizer, state = start_training(model, cfg, device, checkpoint)
    images, labels = data.images.to(device), data.labels.to(device)
    loss_of = objective(cfg, model, images)
    branches = cfg.branches()
    warm = warmup_steps(cfg)
    folder = Path(run_dir) / READINGS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    log_every = max(1, branches[-1][2] // log_points)
    readings: dict[str, dict] = {}
    bar = tqdm(total=cfg.train_steps, desc="pre-training (trunk and branches)", unit="step",
               disable=not progress)  # fmt: skip
    bar.update(state.step)
    for length, fork, end in branches:
        key = length_key(length)
        if (saved := read_saved(folder, key)) is not None:
            readings[key] = saved
            bar.update(end - fork)
            continue
        if state.step > fork:
            raise RuntimeError(
                f"the checkpoint {checkpoint} is at trunk step {state.step}, past the fork "
                f"({fork}) of length {key}, whose reading is missing; delete it to retrain")
        stopped = _train_trunk(model, optimizer, images, labels, loss_of, cfg, state, fork, warm,
                               log_every, checkpoint, checkpoint_every_s, stop_after, bar)
        if stopped:
            bar.close()
            return readings, state.history, False
        trunk = copy.deepcopy(model.state_dict()), copy.deepcopy(optimizer.state_dict())
        t0 = time.perf_counter()
        window = _Window(end, max(1, end // log_points), device)
        plan = replace(base, total=end, wsd=(warm, fork))

        def after_step(done, loss, correct, batch):
            window.add(done, loss, correct, batch)
            bar.update(1)
            return False

        sgd_steps(model, optimizer, images, labels, plan, loss_of, start=fork, after_step=after_step)
        train_loss, train_acc = window.means()
        if not math.isfinite(train_loss):
            bar.close()
            raise FloatingPointError(f"length {key} diverged (loss {train_loss}); lower lr={cfg.lr}")
        h_loss, h_acc = heldout_fit(model, heldout, device)
        t_train = time.perf_counter() - t0
        t1 = time.perf_counter()
        reading = {
            "pretrain": {
                "length": float(length),
                "steps": end,
                "fork": fork,
                "final_loss": train_loss,
                "final_accuracy": train_acc,
                "heldout_loss": h_loss,
                "heldout_accuracy": h_acc,
                "heldout_images": len(heldout.labels),
            },
            **read(model),
        }
        reading["timing"] = {"cooldown_s": t_train, "read_s": time.perf_counter() - t1}
        atomic_write_json(folder / f"{key}.json", reading)
        readings[key] = reading
        if (length, fork, end) != branches[-1]:  # the trunk goes on from where this one forked
            model.load_state_dict(trunk[0])
            optimizer.load_state_dict(trunk[1])
    bar.close()
    model.eval()
    return readings, state.history, True


def _train_trunk(model, optimizer, images, labels, loss_of, cfg, state: TrainState, fork: int,
                 warm: int, log_every: int, checkpoint, checkpoint_every_s, stop_after,
                 bar) -> bool:  # fmt: skip
    """Trunk steps ``state.step`` .. ``fork`` at the warm-up-then-constant rate, logged every
    ``log_every`` steps and at the fork, checkpointed at the fork; True if ``stop_after`` hit."""
    if state.step >= fork:
        return False
    plan = replace(pretrain_plan(cfg), total=fork, wsd=(warm, fork))
    device = images.device
    sums = {"loss": torch.zeros((), device=device), "correct": torch.zeros((), device=device)}
    seen = [0]
    last_ckpt = [time.monotonic()]
    stopped = [False]

    def after_step(done: int, loss, correct, batch: int) -> bool:
        sums["loss"] += loss.detach() * batch
        sums["correct"] += correct
        seen[0] += batch
        bar.update(1)
        if done % log_every == 0 or done == fork:
            h = state.history
            h.step.append(done)
            h.loss.append(float(sums["loss"]) / seen[0])
            h.accuracy.append(float(sums["correct"]) / seen[0])
            h.lr.append(plan.lr(done - 1))
            sums["loss"].zero_()
            sums["correct"].zero_()
            seen[0] = 0
            if not math.isfinite(h.loss[-1]):
                raise FloatingPointError(
                    f"pre-training diverged at step {done} (loss {h.loss[-1]}); lower lr={cfg.lr}")
            state.step = done
            stopping = stop_after is not None and done >= stop_after
            due = time.monotonic() - last_ckpt[0] > checkpoint_every_s
            if checkpoint and (stopping or due or done == fork):
                save_checkpoint(checkpoint, model, optimizer, state, cfg.run_id())
                last_ckpt[0] = time.monotonic()
            if stopping and done < fork:
                stopped[0] = True
                return True
        return False

    sgd_steps(model, optimizer, images, labels, plan, loss_of, start=state.step,
              after_step=after_step)
    return stopped[0]
