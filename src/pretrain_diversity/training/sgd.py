"""The one SGD loop: pre-training and fine-tuning both run their steps through ``sgd_steps``.

Each step indexes a batch of the uint8 data set on the device (``schedule.batch_indices``),
shifts it at random (and flips it, where flips preserve the label), converts it to float
channels-last input, sets the step's learning rate and takes one Nesterov SGD step. On CUDA the
forward pass runs under bf16 autocast; on a CPU under bf16 autocast or in fp32, whichever
``cpu_path.path_for`` finds faster for this CPU, thread count and model (or
``$PRETRAIN_DIVERSITY_CPU_PRECISION`` says). What the loss is, and what happens after each step
(logging, checkpoints, validation), the caller decides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn as nn

from pretrain_diversity.models.backbones import to_input
from pretrain_diversity.training.augment import random_flip, random_shift
from pretrain_diversity.training.cpu_path import MEMORY_FORMAT, path_for
from pretrain_diversity.training.schedule import (
    FLIP_STREAM, SHIFT_STREAM, batch_indices, lr_at, seeded_generator, wsd_lr_at,
)  # fmt: skip


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """No weight decay on BatchNorm parameters and biases (standard practice)."""
    decay, no_decay = [], []
    for p in model.parameters():
        (no_decay if p.ndim <= 1 else decay).append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def nesterov_sgd(model: nn.Module, lr: float, momentum: float, weight_decay: float):
    return torch.optim.SGD(
        param_groups(model, weight_decay), lr=lr, momentum=momentum, nesterov=True
    )


def place(model: nn.Module, device: torch.device) -> nn.Module:
    """Move ``model`` to ``device`` in channels-last memory format, the layout ``to_input``
    gives: faster for these convolutions on CPU (oneDNN) and on GPU tensor cores."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: pick the fastest kernels once
    return model.to(device).to(memory_format=MEMORY_FORMAT)


@dataclass(frozen=True)
class StepPlan:
    """How many steps, which batches, what augmentation and what learning-rate schedule."""

    total: int
    batch_size: int
    seed: int
    peak_lr: float
    warmup_frac: float
    max_shift: int = 0  # 0: no shifts
    flip: bool = False
    shift_stream: int = SHIFT_STREAM
    flip_stream: int = FLIP_STREAM
    # Warm-up-stable-decay instead of cosine: (warm-up steps, fork), the step where the rate
    # starts to fall towards zero at ``total`` (schedule.wsd_lr_at). None: cosine over ``total``.
    wsd: tuple[int, int] | None = None

    def lr(self, step: int) -> float:
        if self.wsd is not None:
            return wsd_lr_at(step, self.wsd[0], self.wsd[1], self.total, self.peak_lr)
        return lr_at(step, self.total, self.peak_lr, self.warmup_frac)

    def augment(self, x: torch.Tensor, step: int) -> torch.Tensor:
        if self.max_shift:
            x = random_shift(x, self.max_shift, seeded_generator(self.seed, self.shift_stream, step))
        if self.flip:
            x = random_flip(x, seeded_generator(self.seed, self.flip_stream, step))
        return x


# loss_of(x, y, idx, step) -> (loss, number correct); after_step(done, loss, correct, batch) -> stop?
LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, int], tuple]
AfterStep = Callable[[int, torch.Tensor, torch.Tensor, int], bool]


def sgd_steps(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    images: torch.Tensor,
    labels: torch.Tensor,
    plan: StepPlan,
    loss_of: LossFn,
    *,
    start: int = 0,
    after_step: AfterStep | None = None,
    role: str = "pretrain",
) -> int:
    """Steps ``start`` .. ``plan.total - 1`` on (``images``, ``labels``), already on the device.

    ``model`` is put in train mode before every step (``after_step`` may evaluate in between).
    Returns the number of steps done when the loop ended (``after_step`` returning True stops it).
    ``role`` (``pretrain`` or ``finetune``) is what the run's record files the path under.
    """
    device = images.device
    perms: dict[int, torch.Tensor] = {}
    n = len(labels)
    done = start
    path = None
    for step in range(start, plan.total):
        model.train()
        idx = batch_indices(step, plan.batch_size, n, plan.seed, perms).to(device)
        x, y = to_input(plan.augment(images[idx], step)), labels[idx]
        if path is None:  # decided on the first batch (timed on it if need be), kept throughout
            path = path_for(model, device, loss_of, (x, y, idx, step), role=role)
        for group in optimizer.param_groups:
            group["lr"] = plan.lr(step)
        with path.autocast():
            loss, correct = loss_of(x, y, idx, step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        done = step + 1
        if after_step is not None and after_step(done, loss, correct, len(y)):
            break
    return done
