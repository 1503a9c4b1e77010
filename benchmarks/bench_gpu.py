"""Training throughput and model-FLOP utilisation of the real-data path, on whatever device runs it.

Times ``train.pretrain`` itself (the loop every run uses: uint8 images on the device, batched
shifts and flips, channels-last, bf16 autocast on CUDA, optional torch.compile) on synthetic
uint8 images at the data's resolution, so no data set is needed. Prints:

  * images/s over the timed steps (after warm-up steps that absorb cuDNN autotuning and compiling);
  * training FLOPs per image, counted by torch.utils.flop_counter.FlopCounterMode (matmuls and
    convolutions, forward + backward, 2 FLOPs per multiply-add);
  * achieved FLOP/s, the matmul peak measured here and now (bf16 on CUDA, fp32 on CPU) and
    MFU = achieved / measured peak (and, on GPUs whose datasheet bf16 peak is listed below,
    against that too);
  * the predicted wall time of the Figure-1 grid on ImageNet-32 (cost.IMAGENET32_GRID
    unless overridden): its training images / measured images/s, plus a stated per-run overhead.

Usage (GPU):  python benchmarks/bench_gpu.py --device cuda --compile --json results/benchmarks/h100.json
      (CPU):  python benchmarks/bench_gpu.py --device cpu --batch 64 --steps 5 --warmup 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from pretrain_diversity.config import RunConfig
from pretrain_diversity.sweeps.cost import IMAGENET32_GRID, predict
from pretrain_diversity.models.backbones import build_model
from pretrain_diversity.data.sampling import ImageSet
from pretrain_diversity.training.loop import pretrain

# Dense bf16 tensor-core peaks from NVIDIA datasheets (FLOP/s, without sparsity), by name fragment.
DATASHEET_BF16 = {"H100 SXM": 989e12, "H100 80GB HBM3": 989e12, "H100 PCIe": 756e12,
                  "H200": 989e12, "A100": 312e12, "L40S": 362e12, "RTX 4090": 165e12}  # fmt: skip


def cpu_name() -> str:
    """The CPU model (Linux /proc/cpuinfo), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak(device: torch.device) -> tuple[float, str]:
    """Best-of-three matmul FLOP/s: bf16 8192^2 on CUDA, fp32 2048^2 on CPU."""
    cuda = device.type == "cuda"
    n, reps, dtype = (8192, 20, torch.bfloat16) if cuda else (2048, 10, torch.float32)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    sync(device)
    best = 0.0
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(reps):
            a @ b
        sync(device)
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - t))
    return best, f"{'bf16' if cuda else 'fp32'} {n}x{n} matmul"


def train_flops_per_image(cfg: RunConfig, batch: int = 4) -> float:
    """Forward + backward FLOPs per image of the model (fp32 on CPU: the count does not
    depend on the dtype)."""
    from torch.utils.flop_counter import FlopCounterMode

    model = build_model(cfg, 3)
    x = torch.randn(batch, 3, cfg.image_size, cfg.image_size)
    y = torch.randint(0, cfg.n_classes, (batch,))
    with FlopCounterMode(display=False) as fc:
        F.cross_entropy(model(x), y).backward()
    return fc.get_total_flops() / batch


def throughput(cfg: RunConfig, device: torch.device, n_images: int, warmup: int, steps: int):
    """images/s of pretrain() over ``steps`` steps, after ``warmup`` steps on the same model."""
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n_images, 3, cfg.image_size, cfg.image_size),
                           dtype=torch.uint8, generator=g).to(device)  # fmt: skip
    labels = torch.randint(0, cfg.n_classes, (n_images,), generator=g).to(device)
    data = ImageSet(images, labels, np.arange(cfg.n_classes))
    torch.manual_seed(0)
    model = build_model(cfg, 3)
    b = cfg.batch_size
    pretrain(model, data, cfg.with_(epochs=warmup * b / cfg.budget), device=device, progress=False)
    sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    timed = cfg.with_(epochs=steps * b / cfg.budget)
    t = time.perf_counter()
    pretrain(model, data, timed, device=device, progress=False)
    sync(device)
    seconds = time.perf_counter() - t
    return timed.steps * b / seconds, seconds, timed.steps


def rate(ips: float) -> str:
    return f"{ips:,.0f}" if ips >= 100 else f"{ips:.1f}"


def parse_ints(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(","))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cuda = torch.cuda.is_available()
    ap.add_argument("--device", default="cuda" if cuda else "cpu")
    ap.add_argument("--arch", default="resnet18", choices=("resnet18", "resnet50"))
    ap.add_argument("--image-size", type=int, default=32)
    ap.add_argument("--batch", type=int, help="default 512 on CUDA, 64 on CPU")
    ap.add_argument("--steps", type=int, help="timed steps (default 100 on CUDA, 5 on CPU)")
    ap.add_argument("--warmup", type=int, help="untimed steps first (default 30 on CUDA, 2 on CPU)")
    ap.add_argument("--compile", action="store_true", help="torch.compile the model")
    ap.add_argument("--classes", type=int, default=1000, help="head size (ImageNet: 1000)")
    g = IMAGENET32_GRID
    ap.add_argument("--budgets", type=parse_ints, default=g["budgets"], help="N values of the grid")
    ap.add_argument("--ks", type=parse_ints, default=g["ks"], help="K values tried at every N")
    ap.add_argument("--seeds", type=int, default=g["seeds"])
    ap.add_argument("--epochs", type=float, default=g["epochs"])
    ap.add_argument("--max-per-class", type=int, default=g["max_per_class"])
    ap.add_argument("--overhead-s", type=float, default=120.0,
                    help="assumed per-run time outside training (subset, probes); not measured")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args()

    device = torch.device(args.device)
    on_cuda = device.type == "cuda"
    batch = args.batch or (512 if on_cuda else 64)
    steps = args.steps or (100 if on_cuda else 5)
    warmup = args.warmup or (30 if on_cuda else 2)
    n_images = max(batch * 4, 50_000 if on_cuda else batch * 4)
    per_class = n_images // args.classes or 1
    cfg = RunConfig(dataset="imagenet32", arch=args.arch, image_size=args.image_size,
                    n_classes=args.classes, samples_per_class=per_class, batch_size=batch,
                    device=args.device, compile=args.compile, probe_tasks=("cifar10",))  # fmt: skip
    n_images = cfg.budget

    name = torch.cuda.get_device_name(device) if on_cuda else cpu_name()
    lines: list[str] = []  # what is printed is also stored in the JSON record

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    say(f"device: {args.device} ({name}); {os.cpu_count()} CPU cores, {torch.get_num_threads()} torch "
          f"threads; torch {torch.__version__}")
    if not on_cuda and hasattr(os, "getloadavg"):
        say(f"load average before the run: {os.getloadavg()[0]:.1f} (other processes on these "
            "cores slow every figure below)")  # fmt: skip
    precision = "bf16 autocast" if on_cuda else "fp32"
    say(f"model: {args.arch} at {args.image_size}x{args.image_size}, batch {batch} (peak lr "
          f"{cfg.peak_lr:g}), {precision}, channels_last, compile={args.compile}; synthetic uint8 "
          f"data on the device ({n_images} images); {warmup} warm-up + {steps} timed steps")
    peak, peak_kind = matmul_peak(device)
    ips, seconds, timed_steps = throughput(cfg, device, n_images, warmup, steps)
    flops = train_flops_per_image(cfg)
    achieved = ips * flops
    mfu = achieved / peak
    say(f"throughput: {rate(ips)} images/s ({timed_steps} steps in {seconds:.2f} s)")
    say(f"train FLOPs per image: {flops / 1e9:.3f} GFLOP (FlopCounterMode, forward + backward)")
    say(f"achieved: {achieved / 1e12:.4f} TFLOP/s; measured peak ({peak_kind}): {peak / 1e12:.4f} TFLOP/s")
    say(f"MFU vs measured matmul peak: {100 * mfu:.1f}%")
    datasheet = next((v for k, v in DATASHEET_BF16.items() if on_cuda and k in name), None)
    if datasheet:
        say(f"MFU vs datasheet dense bf16 peak ({datasheet / 1e12:.0f} TFLOP/s): {100 * achieved / datasheet:.1f}%")
    if on_cuda:
        say(f"peak GPU memory in the timed steps: {torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB")

    grid = dict(budgets=args.budgets, ks=args.ks, seeds=args.seeds, epochs=args.epochs,
                batch_size=batch, pool=1000, max_per_class=args.max_per_class)  # fmt: skip
    pred = predict(ips, overhead_s=args.overhead_s, **grid)
    say(f"Figure-1 grid on ImageNet-32 (budgets {list(args.budgets)}, K from {list(args.ks)} with "
          f"n <= {args.max_per_class}, {args.seeds} seeds, {args.epochs:g} epochs, batch {batch}): "
          f"{pred['runs']} runs, {pred['train_images']:,} training images")
    say(f"  predicted training time at {rate(ips)} images/s: {pred['train_s'] / 3600:,.1f} h; "
          f"with an assumed {args.overhead_s:g} s per run outside training: {pred['total_s'] / 3600:,.1f} h")

    if args.json:
        record = {
            "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
            "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "device": args.device, "device_name": name, "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
            "arch": args.arch, "image_size": args.image_size, "batch_size": batch,
            "precision": precision, "compile": args.compile, "warmup_steps": warmup,
            "timed_steps": timed_steps, "timed_s": seconds, "images_per_s": ips,
            "train_flops_per_image": flops, "achieved_flops": achieved,
            "peak_flops": peak, "peak_kind": peak_kind, "mfu": mfu,
            "datasheet_peak_flops": datasheet,
            "grid": {k: list(v) if isinstance(v, tuple) else v for k, v in grid.items()},
            "overhead_s_per_run": args.overhead_s, "prediction": pred, "output": lines,
        }  # fmt: skip
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(record, indent=2) + "\n")
        print(f"written to {args.json}")


if __name__ == "__main__":
    main()
