"""Supervised (or contrastive) pre-training: ``cfg.steps`` SGD steps, resumable, deterministic.

The data set lives on the device as one uint8 tensor and every step goes through the one SGD
loop (``sgd.sgd_steps``); this module adds the objective, the logged curve and the checkpoints.
Flips are used for natural images only: a mirrored glyph is another glyph.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from pretrain_diversity.config import RunConfig
from pretrain_diversity.data.sampling import ImageSet
from pretrain_diversity.models.backbones import Classifier
from pretrain_diversity.models.objectives import clip_loss, nt_xent, simclr_views
from pretrain_diversity.training.checkpoint import (
    History, TrainState, load_checkpoint, save_checkpoint,
)  # fmt: skip
from pretrain_diversity.training.schedule import SIMCLR_VIEW_STREAM, seeded_generator
from pretrain_diversity.training.sgd import StepPlan, nesterov_sgd, place, sgd_steps


def pretrain_plan(cfg: RunConfig) -> StepPlan:
    """The step plan of a run: ``cfg.steps`` steps at ``cfg.peak_lr``, shifts if ``augment``."""
    return StepPlan(
        total=cfg.steps,
        batch_size=cfg.batch_size,
        seed=cfg.seed,
        peak_lr=cfg.peak_lr,  # cfg.lr, scaled linearly for batches above 128 (RunConfig.peak_lr)
        warmup_frac=cfg.warmup_frac,
        max_shift=max(1, cfg.image_size // 8) if cfg.augment else 0,
        flip=cfg.augment and cfg.natural,
    )


def objective(cfg: RunConfig, step_fn, images: torch.Tensor,
              caption_ids: torch.Tensor | None = None):
    """loss_of(x, y, idx, step) -> (loss, correct) for ``cfg.method``. ``caption_ids`` (CLIP
    with per-image captions: ``CLIPModel.image_captions``) are the captions of the images;
    without them each image's caption is its label's."""

    def supervised(x, y, idx, step):
        logits = step_fn(x)
        return F.cross_entropy(logits, y), (logits.argmax(1) == y).sum()

    def simclr(x, y, idx, step):  # two fresh views of the raw batch; labels unused
        raw = images[idx]
        views = torch.cat([
            simclr_views(raw, seeded_generator(cfg.seed, SIMCLR_VIEW_STREAM + v, step))
            for v in (0, 1)
        ])  # fmt: skip
        z = step_fn(views)
        loss, found = nt_xent(z[: len(raw)], z[len(raw) :])
        return loss, found / 2  # 2B views found (or missed) their partner; report per image

    def clip(x, y, idx, step):  # images against the captions of their (possibly noisy) labels
        ids = y if caption_ids is None else caption_ids[idx]
        img, txt, scale = step_fn(x, ids)
        return clip_loss(img, txt, ids, scale)

    return {None: supervised, "simclr": simclr, "clip": clip}[cfg.method]


def start_training(model, cfg: RunConfig, device: torch.device, checkpoint: Path | None):
    """(plan, optimizer, state): the model placed on ``device``, its optimizer, and the step
    and curve it resumes from (its checkpoint's, else step 0)."""
    place(model, device)
    plan = pretrain_plan(cfg)
    optimizer = nesterov_sgd(model, plan.peak_lr, cfg.momentum, cfg.weight_decay)
    state = (
        load_checkpoint(checkpoint, model, optimizer, cfg.run_id(), device) if checkpoint else None
    ) or TrainState(0, History())
    return plan, optimizer, state


def pretrain(
    model: Classifier,  # or a contrastive model (models.objectives) when cfg.method is set
    data: ImageSet,
    cfg: RunConfig,
    *,
    device: torch.device,
    checkpoint: Path | None = None,
    checkpoint_every_s: float = 30.0,
    log_points: int = 100,
    progress: bool = True,
    stop_after: int | None = None,
) -> History:
    """Train ``model`` for ``cfg.steps`` steps on ``data``; resume from ``checkpoint`` if present.

    ``stop_after`` ends the loop early after that many steps (with a checkpoint), which is how
    tests simulate a run killed mid-training.
    """
    from tqdm.auto import tqdm

    plan, optimizer, state = start_training(model, cfg, device, checkpoint)
    step_fn = model
    if cfg.compile:  # works on CPU too (needs a C++ compiler; the first steps compile, slowly)
        step_fn = torch.compile(model)

    images, labels = data.images.to(device), data.labels.to(device)
    total = plan.total
    log_every = max(1, total // log_points)
    sums = {"loss": torch.zeros((), device=device), "correct": torch.zeros((), device=device)}
    seen = [0]
    last_ckpt = [time.monotonic()]
    bar = tqdm(total=total, initial=state.step, desc="pre-training", unit="step",
               disable=not progress)  # fmt: skip

    def after_step(done: int, loss, correct, batch: int) -> bool:
        sums["loss"] += loss.detach() * batch
        sums["correct"] += correct
        seen[0] += batch
        if done % log_every == 0 or done == total:
            h = state.history
            h.step.append(done)
            h.loss.append(float(sums["loss"]) / seen[0])
            h.accuracy.append(float(sums["correct"]) / seen[0])
            h.lr.append(plan.lr(done - 1))
            bar.set_postfix(loss=f"{h.loss[-1]:.3f}", acc=f"{h.accuracy[-1]:.3f}")
            sums["loss"].zero_()
            sums["correct"].zero_()
            seen[0] = 0
            if not math.isfinite(h.loss[-1]):
                bar.close()
                raise FloatingPointError(
                    f"pre-training diverged at step {done} (loss {h.loss[-1]}); lower lr={cfg.lr}"
                )
            # Checkpoint only at logging points, so a resumed run logs exactly the same curve.
            state.step = done
            stopping = stop_after is not None and done >= stop_after and done < total
            if checkpoint and (stopping or time.monotonic() - last_ckpt[0] > checkpoint_every_s):
                save_checkpoint(checkpoint, model, optimizer, state, cfg.run_id())
                last_ckpt[0] = time.monotonic()
            if stopping:
                return True
        bar.update(1)
        return False

    loss_of = objective(cfg, step_fn, images, getattr(model, "image_captions", None))
    sgd_steps(model, optimizer, images, labels, plan, loss_of, start=state.step,
              after_step=after_step)
    bar.close()
    model.eval()
    return state.history
