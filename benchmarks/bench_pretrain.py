"""Speed of the main job and of the training loop, measured side by side in one run.

Prints, on whatever machine runs it:
  1. wall time of the main job (the notebook under papermill with -p n_classes 500, fresh output,
     probes included) and of the same run called directly;
  2. training throughput (images/s) of our loop (uint8 tensors on the device, batched shifts)
     against the idiomatic torchvision loop (a Dataset of PIL images + transforms + DataLoader)
     with the same model, optimiser, batch size and augmentation;
  3. model-FLOP utilisation: training FLOPs per image (counted by torch's FlopCounterMode) x
     images/s, over the fp32 matmul peak measured here and now.

Usage:  python benchmarks/bench_pretrain.py [--quick] [--json results/benchmarks/pretrain/NAME.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from pretrain_diversity.config import RunConfig
from pretrain_diversity.data.pool import pretraining_set
from pretrain_diversity.runs.experiment import run_experiment
from pretrain_diversity.models.backbones import build_model
from pretrain_diversity.training.loop import pretrain
from pretrain_diversity.training.sgd import param_groups

ROOT = Path(__file__).resolve().parents[1]


def matmul_peak(n: int = 2048, reps: int = 10) -> float:
    """Best-of-three fp32 matmul FLOP/s with the current torch threads."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    best = 0.0
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(reps):
            a @ b
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - t))
    return best


def train_flops_per_image(cfg: RunConfig) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    model = build_model(cfg, 1)
    x = torch.randn(cfg.batch_size, 1, cfg.image_size, cfg.image_size)
    y = torch.randint(0, cfg.n_classes, (cfg.batch_size,))
    with FlopCounterMode(display=False) as fc:
        F.cross_entropy(model(x), y).backward()
    return fc.get_total_flops() / cfg.batch_size


def ours(cfg: RunConfig, steps: int) -> float:
    """images/s of pretrain() over ``steps`` steps (after a short warm-up run)."""
    data = pretraining_set(cfg)
    warm = cfg.with_(epochs=20 * cfg.batch_size / cfg.budget)
    pretrain(build_model(cfg, 1), data, warm, device=torch.device("cpu"), progress=False)
    timed = cfg.with_(epochs=steps * cfg.batch_size / cfg.budget)
    t = time.perf_counter()
    pretrain(build_model(cfg, 1), data, timed, device=torch.device("cpu"), progress=False)
    return timed.steps * cfg.batch_size / (time.perf_counter() - t)


def idiomatic(cfg: RunConfig, steps: int, workers: int) -> float:
    """The textbook loop: PIL images, torchvision transforms per sample, a DataLoader."""
    from PIL import Image
    from torch.utils.data import DataLoader, Dataset
    from torchvision import transforms as T

    data = pretraining_set(cfg)
    pils = [Image.fromarray(img[0].numpy()) for img in data.images]
    labels = data.labels.tolist()
    shift = cfg.image_size // 8
    tf = T.Compose([T.RandomCrop(cfg.image_size, padding=shift), T.ToTensor(), T.Normalize([0.5], [0.5])])

    class Glyphs(Dataset):
        def __len__(self):
            return len(pils)

        def __getitem__(self, i):
            return tf(pils[i]), labels[i]

    loader = DataLoader(Glyphs(), batch_size=cfg.batch_size, shuffle=True, num_workers=workers,
                        drop_last=True, persistent_workers=workers > 0)  # fmt: skip
    model = build_model(cfg, 1)
    opt = torch.optim.SGD(param_groups(model, cfg.weight_decay), lr=cfg.lr, momentum=0.9, nesterov=True)
    model.train()
    done, t = 0, None
    while done < steps + 20:
        for x, y in loader:
            if done == 20:
                t = time.perf_counter()
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            done += 1
            if done >= steps + 20:
                break
    return steps * cfg.batch_size / (time.perf_counter() - t)


def main_job_wall_time() -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "papermill", str(ROOT / "notebooks/pretrain.ipynb"),
             f"{tmp}/out.ipynb", "-p", "n_classes", "500", "-p", "output_dir", f"{tmp}/runs"],
            check=True, capture_output=True, cwd=ROOT,
        )  # fmt: skip
        notebook = time.perf_counter() - t
        t = time.perf_counter()
        run_experiment(RunConfig(n_classes=500), f"{tmp}/direct", progress=False)
        direct = time.perf_counter() - t
    return notebook, direct


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer steps, skip the main job")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args()
    steps = 60 if args.quick else 300
    cfg = RunConfig(n_classes=500)
    print(f"machine: {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads")
    out: dict = {}
    if not args.quick:
        nb, direct = main_job_wall_time()
        out.update(main_job_notebook_s=nb, main_job_direct_s=direct)
        print(f"main job (papermill, K=500, n=32, probes included): {nb:.1f} s  (goal <= 60 s)")
        print(f"  same run called directly:                         {direct:.1f} s")
    peak = matmul_peak()
    ours_ips = ours(cfg, steps)
    idio0 = idiomatic(cfg, steps // 3, workers=0)
    idio2 = idiomatic(cfg, steps // 3, workers=2)
    flops = train_flops_per_image(cfg)
    mfu = ours_ips * flops / peak
    out.update(ours_images_per_s=ours_ips, idiomatic_workers0_images_per_s=idio0,
               idiomatic_workers2_images_per_s=idio2, speedup_vs_best_idiomatic=ours_ips / max(idio0, idio2),
               train_flops_per_image=flops, matmul_peak_flops=peak, mfu=mfu)  # fmt: skip
    print(f"training throughput, {cfg.arch} width {cfg.width}, {cfg.image_size} px, batch {cfg.batch_size}:")
    print(f"  ours (tensors + batched shifts):       {ours_ips:8.0f} images/s")
    print(f"  idiomatic (PIL + DataLoader, 0 workers): {idio0:6.0f} images/s")
    print(f"  idiomatic (PIL + DataLoader, 2 workers): {idio2:6.0f} images/s")
    print(f"  speed-up over the faster idiomatic loop: {ours_ips / max(idio0, idio2):.1f}x  (goal >= 5x)")
    print(f"MFU: {flops / 1e6:.2f} MFLOP per training image x {ours_ips:.0f} images/s = "
          f"{ours_ips * flops / 1e9:.1f} GFLOP/s over a measured fp32 matmul peak of {peak / 1e9:.1f} GFLOP/s "
          f"= {100 * mfu:.0f}%  (goal >= 30%)")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
