"""Supervised pre-training: a fixed number of SGD steps per budget N, resumable, deterministic.

The data set lives on the device as one uint8 tensor; each step indexes a batch, shifts it at
random (batched), flips it at random (natural images only: a mirrored glyph is another glyph),
converts it to float and takes one SGD step. On CUDA the step runs under bf16 autocast with
channels-last tensors (optionally ``torch.compile``d); on CPU the same code runs in fp32.
Every random draw of step t comes from generators seeded by (seed, epoch) or (seed, t), never
from global state, so a run resumed from a checkpoint at step t continues exactly as if it had
never stopped.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from pretrain_diversity.config import RunConfig
from pretrain_diversity.models.backbones import Classifier, to_input
from pretrain_diversity.models.objectives import clip_loss, nt_xent, simclr_views
from pretrain_diversity.data.sampling import ImageSet
from pretrain_diversity.storage import atomic_torch_save


@dataclass
class History:
    """Training curve, one point per logging interval (means over the interval)."""

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"step": self.step, "loss": self.loss, "accuracy": self.accuracy, "lr": self.lr}


def lr_at(step: int, total: int, base_lr: float, warmup_frac: float) -> float:
    """Linear warm-up, then cosine decay to zero."""
    warm = max(1, round(warmup_frac * total)) if warmup_frac > 0 else 0
    if step < warm:
        return base_lr * (step + 1) / warm
    progress = (step - warm) / max(1, total - warm)
    return base_lr * 0.5 * (1 + math.cos(math.pi * progress))


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """No weight decay on BatchNorm parameters and biases (standard practice)."""
    decay, no_decay = [], []
    for p in model.parameters():
        (no_decay if p.ndim <= 1 else decay).append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def random_shift(x: torch.Tensor, max_shift: int, g: torch.Generator) -> torch.Tensor:
    """Shift each image by up to ``max_shift`` pixels (zero fill), batched by a gather."""
    if max_shift <= 0:
        return x
    b, c, h, w = x.shape
    off = torch.randint(0, 2 * max_shift + 1, (b, 2), generator=g).to(x.device)
    xp = F.pad(x, (max_shift,) * 4)
    rows = (off[:, 0:1] + torch.arange(h, device=x.device)).view(b, 1, h, 1).expand(b, c, h, w + 2 * max_shift)
    xp = torch.gather(xp, 2, rows)
    cols = (off[:, 1:2] + torch.arange(w, device=x.device)).view(b, 1, 1, w).expand(b, c, h, w)
    return torch.gather(xp, 3, cols)


def random_flip(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2 (batched)."""
    flip = (torch.rand(len(x), generator=g) < 0.5).to(x.device).view(-1, 1, 1, 1)
    return torch.where(flip, x.flip(3), x)


def _seeded(*parts: int) -> torch.Generator:
    seed = 0
    for p in parts:
        seed = (seed * 1_000_003 + int(p)) % (2**63 - 1)
    return torch.Generator().manual_seed(seed)


def batch_indices(
    step: int, batch_size: int, n: int, seed: int, perms: dict[int, torch.Tensor]
) -> torch.Tensor:
    """Indices of step ``step``: the next ``batch_size`` positions of an endless sequence of
    per-epoch permutations (each seeded by its epoch), so any step can be recomputed alone."""
    def perm(e: int) -> torch.Tensor:
        if e not in perms:
            if len(perms) > 2:
                perms.clear()
            perms[e] = torch.randperm(n, generator=_seeded(seed, 1, e))
        return perms[e]

    b = min(batch_size, n)
    epoch, offset = divmod(step * b, n)
    idx = perm(epoch)[offset : offset + b]
    if len(idx) < b:
        idx = torch.cat([idx, perm(epoch + 1)[: b - len(idx)]])
    return idx


@dataclass
class TrainState:
    step: int
    history: History


def save_checkpoint(path: Path, model, optimizer, state: TrainState, run_id: str) -> None:
    atomic_torch_save(
        path,
        {
            "run_id": run_id,
            "step": state.step,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "history": state.history.as_dict(),
        },
    )


def load_checkpoint(path: Path, model, optimizer, run_id: str, device) -> TrainState | None:
    """Restore a checkpoint of this very run; anything else (other run, corrupt) is ignored."""
    if not path.exists():
        return None
    try:
        ck = torch.load(path, map_location=device, weights_only=False)
    except Exception:
        return None
    if ck.get("run_id") != run_id:
        return None
    model.load_state_dict(ck["model"])
    optimizer.load_state_dict(ck["optimizer"])
    return TrainState(ck["step"], History(**ck["history"]))


def pretrain(
    model: Classifier,  # or a contrastive model (objectives.py) when cfg.method is set
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

    cuda = device.type == "cuda"
    channels_last = True  # faster for these convolutions on CPU (oneDNN) and on GPU tensor cores
    if cuda:
        torch.backends.cudnn.benchmark = True  # fixed shapes: pick the fastest kernels once
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    peak_lr = cfg.peak_lr  # cfg.lr, scaled linearly for batches above 128 (config.py)
    optimizer = torch.optim.SGD(
        param_groups(model, cfg.weight_decay), lr=peak_lr, momentum=cfg.momentum, nesterov=True
    )
    state = (
        load_checkpoint(checkpoint, model, optimizer, cfg.run_id(), device) if checkpoint else None
    ) or TrainState(0, History())
    step_fn = model
    if cfg.compile:  # works on CPU too (needs a C++ compiler; the first steps compile, slowly)
        step_fn = torch.compile(model)

    images, labels = data.images.to(device), data.labels.to(device)
    n, total = len(labels), cfg.steps
    max_shift = max(1, cfg.image_size // 8) if cfg.augment else 0
    flip = cfg.augment and cfg.natural
    log_every = max(1, total // log_points)
    loss_sum = torch.zeros((), device=device)
    correct_sum = torch.zeros((), device=device)
    seen = 0
    last_ckpt = time.monotonic()
    model.train()
    bar = tqdm(total=total, initial=state.step, desc="pre-training", unit="step", disable=not progress)
    perms: dict[int, torch.Tensor] = {}
    for step in range(state.step, total):
        idx = batch_indices(step, cfg.batch_size, n, cfg.seed, perms).to(device)
        x = images[idx]
        if max_shift:
            x = random_shift(x, max_shift, _seeded(cfg.seed, 2, step))
        if flip:
            x = random_flip(x, _seeded(cfg.seed, 3, step))
        x, y = to_input(x, channels_last), labels[idx]
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, total, peak_lr, cfg.warmup_frac)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=cuda):
            if cfg.method is None:
                logits = step_fn(x)
                loss = F.cross_entropy(logits, y)
                correct = (logits.argmax(1) == y).sum()
            elif cfg.method == "simclr":  # two fresh views of the raw batch; labels unused
                raw = images[idx]
                views = torch.cat([simclr_views(raw, _seeded(cfg.seed, 4 + v, step)) for v in (0, 1)])
                z = step_fn(views)
                loss, found = nt_xent(z[: len(raw)], z[len(raw):])
                correct = found / 2  # 2B views found (or missed) their partner; report per image
            else:  # clip: images against the captions of their (possibly noisy) labels
                img, txt, scale = step_fn(x, y)
                loss, correct = clip_loss(img, txt, y, scale)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.detach() * len(y)
        correct_sum += correct
        seen += len(y)
        done = step + 1
        if done % log_every == 0 or done == total:
            h = state.history
            h.step.append(done)
            h.loss.append(float(loss_sum) / seen)
            h.accuracy.append(float(correct_sum) / seen)
            h.lr.append(lr_at(step, total, peak_lr, cfg.warmup_frac))
            bar.set_postfix(loss=f"{h.loss[-1]:.3f}", acc=f"{h.accuracy[-1]:.3f}")
            loss_sum.zero_()
            correct_sum.zero_()
            seen = 0
            if not math.isfinite(h.loss[-1]):
                bar.close()
                raise FloatingPointError(
                    f"pre-training diverged at step {done} (loss {h.loss[-1]}); lower lr={cfg.lr}"
                )
            # Checkpoint only at logging points, so a resumed run logs exactly the same curve.
            state.step = done
            stopping = stop_after is not None and done >= stop_after and done < total
            if checkpoint and (stopping or time.monotonic() - last_ckpt > checkpoint_every_s):
                save_checkpoint(checkpoint, model, optimizer, state, cfg.run_id())
                last_ckpt = time.monotonic()
            if stopping:
                break
        bar.update(1)
    bar.close()
    model.eval()
    return state.history
