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
from pretrain_diversity.storage import atomic_torch_save, atomic_write_json
from pretrain_diversity.training.checkpoint import History, TrainState, save_checkpoint
from pretrain_diversity.training.cpu_path import last_path
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
def heldout_fit(model, heldout: ImageSet, device, cfg: RunConfig | None = None,
                batch_size: int = 1024) -> tuple[float, float]:
    """(mean loss, accuracy) of the run's own objective on held-out images of its classes, in
    eval mode: what the plateau rule reads, the training accuracy's measure on images the run
    never saw.

    - supervised: cross-entropy and accuracy over the K classes (true labels, whatever noise the
      training labels carry: the rule asks whether the run still learns its classes);
    - SimCLR: NT-Xent and the fraction of views that pick their partner, in batches of
      ``cfg.batch_size`` as in training (a bigger batch is a harder task), views seeded so that
      every length reads the same ones;
    - CLIP: each image matched against the K class texts (``CLIPModel.class_prompts``), a hit
      when the best one is its own class's text (identical texts count as its own).
    """
    method = cfg.method if cfg is not None else None
    model.eval()
    n = len(heldout.labels)
    if method == "simclr":
        return _heldout_simclr(model, heldout, device, cfg)
    if method == "clip":
        texts, groups = model.class_prompts()
        texts = F.normalize(texts.float(), dim=1)
        groups = groups.to(device)
    loss, correct = 0.0, 0
    for s in range(0, n, batch_size):
        x = to_input(heldout.images[s : s + batch_size].to(device))
        y = heldout.labels[s : s + batch_size].to(device)
        with last_path(model, device).autocast():  # the path its training took
            if method == "clip":
                img = F.normalize(model.image_projection(model.backbone(x)).float(), dim=1)
                logits = model.logit_scale() * img @ texts.T
            else:
                logits = model(x)
        logits = logits.float()
        if method == "clip":
            same = (groups[y].view(-1, 1) == groups.view(1, -1)).float()
            target = same / same.sum(1, keepdim=True)
            loss += float(F.cross_entropy(logits, target, reduction="sum"))
            correct += int(same.gather(1, logits.argmax(1, keepdim=True)).sum())
        else:
            loss += float(F.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(1) == y).sum())
    return loss / n, correct / n


def _heldout_simclr(model, heldout: ImageSet, device, cfg: RunConfig) -> tuple[float, float]:
    from pretrain_diversity.models.objectives import nt_xent, simclr_views
    from pretrain_diversity.training.schedule import SIMCLR_HELDOUT_VIEW_STREAM, seeded_generator

    # The same batches and views at every length of a run, so its lengths differ only by the
    # weights; batches mix the classes as training's do (the held-out set is stored by class).
    stream = SIMCLR_HELDOUT_VIEW_STREAM
    n, b = len(heldout.labels), min(cfg.batch_size, len(heldout.labels))
    order = torch.randperm(n, generator=seeded_generator(cfg.seed, stream))
    loss, found, used = 0.0, 0.0, 0
    for i, s in enumerate(range(0, n, b)):
        raw = heldout.images[order[s : s + b]].to(device)
        if len(raw) < 2:  # a lone image has no negative to tell its partner from
            continue
        views = torch.cat([simclr_views(raw, seeded_generator(cfg.seed, stream + v, i))
                           for v in (0, 1)])  # fmt: skip
        with last_path(model, device).autocast():
            z = model(views)
        batch_loss, hits = nt_xent(z[: len(raw)].float(), z[len(raw) :].float())
        loss += float(batch_loss) * len(raw)
        found += float(hits) / 2
        used += len(raw)
    return loss / used, found / used


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


def branch_weights(run_dir: Path, key: str) -> Path:
    """Where ``keep_weights`` saves the weights of length ``key``'s branch."""
    return Path(run_dir) / READINGS_DIR / f"{key}.pt"


def finetune_lengths(cfg: RunConfig, summary: dict) -> list[str]:
    """The lengths (``length_key``) a run with ``lengths`` and ``finetune`` fine-tunes at: the
    fixed-epochs length 1 if it is read, and the plateau length of ``summary``.

    Fine-tuning costs about five linear probes per (task, k), so at every length it would
    multiply a study's evaluation five-fold for readings no protocol uses: the fixed-epochs
    reading is length 1, and the trained one the plateau. (A fixed-compute reading needs
    several budgets, and the studies that fine-tune have one.) The price: if the plateau rule
    changes after a run is recorded, its fine-tuning is not at the new plateau, and the
    recorded ``finetune_lengths`` say so."""
    keys = [length_key(1)] if 1 in cfg.lengths else []
    trained = length_key(summary["length"])
    return keys + ([trained] if trained not in keys else [])


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
    keep_weights: bool = False,
) -> tuple[dict[str, dict], History, bool]:
    """Train the trunk and read every branch of ``cfg.lengths``; returns (readings, trunk
    history, finished). ``read(model)`` adds the caller's readings (the probes) of a cooled
    branch. The model is left as the longest branch ended. ``stop_after`` stops the trunk after
    that many steps with a checkpoint (how tests kill a run); ``finished`` is then False.
    ``keep_weights`` saves each branch's weights beside its reading (``branch_weights``), for
    readings that can only be chosen once every length is read (fine-tuning at the plateau)."""
    from tqdm.auto import tqdm

    base, optimizer, state = start_training(model, cfg, device, checkpoint)
    images, labels = data.images.to(device), data.labels.to(device)
    loss_of = objective(cfg, model, images, getattr(model, "image_captions", None))
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
        h_loss, h_acc = heldout_fit(model, heldout, device, cfg)
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
        if keep_weights:  # before the reading, so a reading on disk always has its weights
            atomic_torch_save(branch_weights(run_dir, key), model.state_dict())
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
