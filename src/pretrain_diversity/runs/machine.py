"""The machine a run or sweep executed on, and the time: one home each, so the run's metrics,
the sweep record and the planner's calibration describe a machine with the same keys.

Nothing here imports torch at module level: the planner and the tables read machine blocks on a
driver that may never train.
"""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone


def now() -> str:
    """UTC, to the second, ISO 8601: sortable, and the same in every file a sweep writes."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def stamp() -> str:
    """``now()`` usable in a file name (no colons)."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def machine() -> dict:
    """What makes two machines train at different speeds, short of torch's view of them."""
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }


def hardware(device) -> dict:
    """``machine()`` plus the device a run trained on and torch's thread count (run metrics)."""
    import torch

    device = torch.device(device)
    info = {"device": str(device), **machine(), "torch_threads": torch.get_num_threads()}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def versions() -> dict:
    """The software that makes a run's numbers; ``probe`` is the linear-probe solver this
    environment selects (``evaluation.probe``; records made before it was kept lack it)."""
    import numpy
    import sklearn
    import torch
    import torchvision

    from pretrain_diversity import __version__
    from pretrain_diversity.evaluation.probe import PROBE_VERSIONS, probe_solver

    return {
        "pretrain_diversity": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": numpy.__version__,
        "scikit-learn": sklearn.__version__,
        "probe": PROBE_VERSIONS[probe_solver()],
    }


def speed_key(hw: dict) -> tuple:
    """What decides how fast a machine trains: OS, processor, cores, device kind, GPU model
    (not the kernel build in ``platform``, which changes under a running VM)."""
    return (str(hw.get("platform", "")).split("-")[0], hw.get("processor"), hw.get("cpu_count"),
            str(hw.get("device", "cpu")).split(":")[0], hw.get("gpu"))


def same_machine(hw: dict, *, device: str = "cpu") -> bool:
    """Whether a run's ``hardware`` block was measured on a machine like this one, on ``device``."""
    here = {**machine(), "device": device}
    if str(device).startswith("cuda"):
        import torch

        here["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return speed_key(hw) == speed_key(here)
