"""What each step of an SGD loop uses, as a pure function of (seed, step): batch and lr.

Every random draw of step t comes from a generator seeded by (seed, stream, t) or (seed, stream,
epoch), never from global state, so any step can be recomputed alone and a run resumed from a
checkpoint at step t continues exactly as if it had never stopped.
"""

from __future__ import annotations

import math

import torch

# Streams of ``seeded_generator``: each kind of draw has its own, so adding one never moves another.
BATCH_ORDER_STREAM = 1
SHIFT_STREAM = 2
FLIP_STREAM = 3
SIMCLR_VIEW_STREAM = 4  # and 5: one per view
FINETUNE_SHIFT_STREAM = 7
SIMCLR_HELDOUT_VIEW_STREAM = 8  # and 9: SimCLR's held-out views (training.lengths.heldout_fit)


def seeded_generator(*parts: int) -> torch.Generator:
    """A CPU generator seeded by a hash of ``parts`` (seed, stream, step or epoch)."""
    seed = 0
    for p in parts:
        seed = (seed * 1_000_003 + int(p)) % (2**63 - 1)
    return torch.Generator().manual_seed(seed)


def lr_at(step: int, total: int, base_lr: float, warmup_frac: float) -> float:
    """Linear warm-up, then cosine decay to zero."""
    warm = max(1, round(warmup_frac * total)) if warmup_frac > 0 else 0
    if step < warm:
        return base_lr * (step + 1) / warm
    progress = (step - warm) / max(1, total - warm)
    return base_lr * 0.5 * (1 + math.cos(math.pi * progress))


def wsd_lr_at(step: int, warmup: int, fork: int, end: int, base_lr: float) -> float:
    """Warm-up, stable, decay: linear warm-up over ``warmup`` steps, ``base_lr`` until ``fork``,
    then linear decay that reaches zero at ``end``. Before ``fork`` it does not depend on where
    the run ends, so every cool-down branch leaves the same trunk."""
    if step < warmup:
        return base_lr * (step + 1) / warmup
    if step < fork:
        return base_lr
    return base_lr * max(0.0, end - step) / max(1, end - fork)


def batch_indices(
    step: int, batch_size: int, n: int, seed: int, perms: dict[int, torch.Tensor]
) -> torch.Tensor:
    """Indices of step ``step``: the next ``batch_size`` positions of an endless sequence of
    per-epoch permutations (each seeded by its epoch), so any step can be recomputed alone.
    ``perms`` caches the last few permutations between calls."""

    def perm(e: int) -> torch.Tensor:
        if e not in perms:
            if len(perms) > 2:
                perms.clear()
            perms[e] = torch.randperm(n, generator=seeded_generator(seed, BATCH_ORDER_STREAM, e))
        return perms[e]

    b = min(batch_size, n)
    epoch, offset = divmod(step * b, n)
    idx = perm(epoch)[offset : offset + b]
    if len(idx) < b:
        idx = torch.cat([idx, perm(epoch + 1)[: b - len(idx)]])
    return idx
