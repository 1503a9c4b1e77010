"""A run's training checkpoint: model and optimizer state, the step reached, the curve so far.

Nothing random is stored: every draw of a step is seeded by (seed, step) (``schedule``), so the
step number is all a resumed run needs to continue exactly as if it had never stopped. The file
holds only tensors, numbers, strings and containers of them, and is read back with
``storage.load_tensors`` (``weights_only``): a pickle planted in its place is refused, never run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pretrain_diversity.storage import UntrustedFile, atomic_torch_save, load_tensors


@dataclass
class History:
    """Training curve, one point per logging interval (means over the interval)."""

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"step": self.step, "loss": self.loss, "accuracy": self.accuracy, "lr": self.lr}


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
    """Restore a checkpoint of this very run; anything else (other run, damaged) is ignored.

    Raises ``storage.UntrustedFile`` if the file pickles objects a checkpoint never holds.
    """
    if not path.exists():
        return None
    try:
        ck = load_tensors(
            path, map_location=device, what="a run's training checkpoint",
            remedy=f"Delete it (rm {path}): the run then trains again from its first step.",
        )  # fmt: skip
    except UntrustedFile:
        raise
    except Exception:  # damaged (a truncated file, say): train from the start, as if absent
        return None
    if not isinstance(ck, dict) or ck.get("run_id") != run_id:
        return None
    if ck.get("run_id") != run_id:
        return None
    model.load_state_dict(ck["model"])
    optimizer.load_state_dict(ck["optimizer"])
    return TrainState(ck["step"], History(**ck["history"]))
