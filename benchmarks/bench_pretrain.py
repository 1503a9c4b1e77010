"""Speed of the main job and of the training loop, measured side by side in one run.

Prints, on whatever machine runs it:
  1. wall time of the main job (the notebook under papermill with -p n_classes 500, fresh output,
     probes included) and of the same run called directly;
  2. training throughput (images/s) of our loop (uint8 tensors on the device, batched shifts)
     against the idiomatic torchvision loop (a Dataset of PIL images + transforms + DataLoader)
     with the same model, optimiser, batch size and augmentation;
  3. model-FLOP utilisation: training FLOPs per image (counted by torch's FlopCounterMode) x
     images/s, over the fp32 matmul peak measured here and now;
  4. the CPU training path (training.cpu_path; channels-last throughout): training throughput in
     fp32, in bf16 autocast and on the automatic choice, at 1 and 2 threads, with the choice and
     the step times it was made on;
  4b. the step time at batch 32, 128 and 512 on one thread, split into a fixed part per step and
     a part per image: the fixed part bounds what batching several models in one process saves;
  5. a sweep's wall time with --workers 2 --threads 1 on the old path (fp32) and the new one
     (auto), the same fixed set of runs, and their ratio;
  6. a paired check that the path does not move results: the same configurations x seeds made in
     fp32 and in bf16, test-error differences per configuration against the seed SD, and whether
     the mean paired difference lies within seed noise (analysis.path_check).

Usage:  python benchmarks/bench_pretrain.py [--quick] [--json results/benchmarks/pretrain/NAME.json]
        [--skip PART ...]   (parts: main, loop, path, batch, sweep, paired)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F

from pretrain_diversity.analysis.path_check import path_check
from pretrain_diversity.config import RunConfig
from pretrain_diversity.data.pool import pretraining_set
from pretrain_diversity.runs.experiment import run_experiment
from pretrain_diversity.models.backbones import build_model
from pretrain_diversity.sweeps.runner import run_study
from pretrain_diversity.training import cpu_path
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


@contextmanager
def cpu_precision(precision: str):
    """Train (here and in sweep workers, who inherit the environment) on ``precision``."""
    old = os.environ.get(cpu_path.PRECISION_ENV)
    os.environ[cpu_path.PRECISION_ENV] = precision
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(cpu_path.PRECISION_ENV, None)
        else:
            os.environ[cpu_path.PRECISION_ENV] = old


@contextmanager
def torch_threads(n: int):
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def path_throughput(cfg: RunConfig, steps: int, threads=(1, 2)) -> dict:
    """images/s of ``ours`` in fp32, bf16 and auto at each thread count; auto's choice."""
    out = {}
    for t in threads:
        if t > (os.cpu_count() or 1):
            continue
        row = {}
        with torch_threads(t):
            for precision in ("fp32", "bf16", "auto"):
                with cpu_precision(precision), cpu_path.recording() as used:
                    row[precision] = ours(cfg, steps)
            chosen = used["pretrain"][0]  # auto decided in the warm-up run, timed there if new
            row["auto_chose"] = chosen.precision
            row["auto_chosen_by"] = chosen.chosen_by
            row["auto_fp32_step_s"], row["auto_bf16_step_s"] = chosen.fp32_step_s, chosen.bf16_step_s
        out[str(t)] = row
    return out


def sweep_configs(quick: bool) -> list[RunConfig]:
    """The fixed set of runs both sweeps make: a small study's worth, probes included."""
    if quick:
        base = RunConfig(n_classes=8, samples_per_class=32, epochs=4.0, probe_tasks=("digits",))
        return [base.with_(n_classes=k, samples_per_class=256 // k, seed=s)
                for k in (8, 32) for s in (0, 1)]
    base = RunConfig(n_classes=16, samples_per_class=128, epochs=20.0)
    return [base.with_(n_classes=k, samples_per_class=2048 // k, seed=s)
            for k in (16, 64, 256) for s in (0, 1)]


def sweep_seconds(configs: list[RunConfig], precision: str, workers: int = 2,
                  threads: int = 1) -> dict:
    """Wall time of sweeping ``configs`` afresh with ``workers`` processes of ``threads``
    threads each, on ``precision``; and how many path decisions were timed on the way."""
    before = len(cpu_path.read_cache())
    with tempfile.TemporaryDirectory() as tmp, cpu_precision(precision):
        t = time.perf_counter()
        report = run_study(configs, tmp, launcher="processes", workers=workers, threads=threads,
                           progress=False)
        wall = time.perf_counter() - t
    if not report.ok:
        raise RuntimeError(f"sweep on {precision} failed: "
                           + "; ".join(str(r.error)[:200] for r in report.failed))
    return {"wall_s": wall, "runs": len(configs),
            "decisions_timed": len(cpu_path.read_cache()) - before}


def paired_configs(quick: bool) -> tuple[list[RunConfig], tuple[int, ...]]:
    """(configurations, seeds) of the paired check: a few seconds per run."""
    if quick:
        base = RunConfig(n_classes=8, samples_per_class=32, epochs=4.0, probe_tasks=("digits",))
        return [base.with_(n_classes=k, samples_per_class=256 // k) for k in (8, 32)], (0, 1)
    base = RunConfig(n_classes=16, samples_per_class=128, epochs=10.0,
                     probe_tasks=("digits", "shapes"))
    return ([base.with_(n_classes=k, samples_per_class=2048 // k) for k in (16, 64, 256, 512)],
            (0, 1, 2))


def paired_errors(configs: list[RunConfig], seeds, paths=("fp32", "bf16")) -> pd.DataFrame:
    """Test error (mean over the probe tasks) of every configuration x seed on every path."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for precision in paths:
            with cpu_precision(precision):
                for cfg in configs:
                    for seed in seeds:
                        run = cfg.with_(seed=seed)
                        # one folder per path: the path is not in the run id
                        m = run_experiment(run, f"{tmp}/{precision}", progress=False)
                        errors = [p["test_error"] for p in m["metrics"]["probe"].values()]
                        rows.append({"config": f"K={run.n_classes} n={run.samples_per_class}",
                                     "seed": seed, "path": precision,
                                     "error": sum(errors) / len(errors),
                                     "ran": m["train_path"]["precision"]})
    return pd.DataFrame(rows)


def step_cost(cfg: RunConfig, steps: int, batches=(32, 128, 512)) -> dict:
    """ms per training step at several batch sizes, one thread, fp32; the least-squares line
    ms = fixed + per_image * batch. The fixed part is all that running several small models in
    one process (stacked or grouped) could save against one model per single-thread worker."""
    import numpy as np

    ms = {}
    with torch_threads(1), cpu_precision("fp32"):
        for b in batches:
            ms[b] = 1e3 * b / ours(cfg.with_(batch_size=b), steps)
    per_image, fixed = np.polyfit(list(ms), list(ms.values()), 1)
    at = cfg.batch_size
    return {"ms_per_step": {str(b): v for b, v in ms.items()}, "fixed_ms": float(fixed),
            "per_image_ms": float(per_image),
            "fixed_share_at_default_batch": float(fixed / (fixed + per_image * at))}


PARTS = ("main", "loop", "path", "batch", "sweep", "paired")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="fewer steps and smaller runs everywhere, skip the main job")
    ap.add_argument("--skip", nargs="*", choices=PARTS, default=[], help="parts not to measure")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args()
    skip = set(args.skip) | ({"main"} if args.quick else set())
    steps = 60 if args.quick else 300
    cfg = RunConfig(n_classes=500)
    print(f"machine: {os.cpu_count()} cores ({cpu_path.cpu_identity()}), torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; ${cpu_path.PRECISION_ENV}="
          f"{os.environ.get(cpu_path.PRECISION_ENV, f'(unset: {cpu_path.DEFAULT_PRECISION})')}")
    out: dict = {}
    if "main" not in skip:
        nb, direct = main_job_wall_time()
        out.update(main_job_notebook_s=nb, main_job_direct_s=direct,
                   main_job_precision=cpu_path.requested_precision())
        print(f"main job (papermill, K=500, n=32, probes included): {nb:.1f} s  (goal <= 45 s)")
        print(f"  same run called directly:                         {direct:.1f} s")
    if "loop" not in skip:
        loop_figures(cfg, steps, out)
    if "path" not in skip:
        path = path_throughput(cfg, steps)
        out["path_images_per_s"] = path
        print(f"training path, {cfg.arch} width {cfg.width}, {cfg.image_size} px, batch "
              f"{cfg.batch_size}, channels_last (images/s):")
        print(f"  {'threads':>7} {'fp32':>8} {'bf16':>8} {'bf16/fp32':>9} {'auto':>8}  auto chose")
        for t, r in path.items():
            how = r["auto_chosen_by"]
            timing = (f", step {1e3 * r['auto_fp32_step_s']:.1f} vs "
                      f"{1e3 * (r['auto_bf16_step_s'] or float('inf')):.1f} ms"
                      if r["auto_fp32_step_s"] else "")
            print(f"  {t:>7} {r['fp32']:8.0f} {r['bf16']:8.0f} {r['bf16'] / r['fp32']:9.2f} "
                  f"{r['auto']:8.0f}  {r['auto_chose']} ({how}{timing})")
    if "batch" not in skip:
        cost = step_cost(cfg, steps)
        out["step_cost"] = cost
        print("step time by batch size, 1 thread, fp32: " + ", ".join(
            f"{b}: {v:.1f} ms" for b, v in cost["ms_per_step"].items()))
        print(f"  = {cost['fixed_ms']:.1f} ms fixed + {cost['per_image_ms']:.3f} ms per image; at "
              f"batch {cfg.batch_size} the fixed part, the most that batching several models "
              f"in one process could save, is {cost['fixed_share_at_default_batch']:.0%}")
    if "sweep" not in skip:
        configs = sweep_configs(args.quick)
        old = sweep_seconds(configs, "fp32")
        new = sweep_seconds(configs, "auto")
        out["sweep"] = {"fp32": old, "auto": new, "speedup": old["wall_s"] / new["wall_s"]}
        print(f"sweep of {len(configs)} runs, --workers 2 --threads 1 (probes included):")
        print(f"  old path (fp32): {old['wall_s']:7.1f} s")
        print(f"  new path (auto): {new['wall_s']:7.1f} s  ({new['decisions_timed']} path "
              f"decision(s) timed on the way; 0: all cached)")
        print(f"  speed-up: {old['wall_s'] / new['wall_s']:.2f}x")
    if "paired" not in skip:
        configs, seeds = paired_configs(args.quick)
        t = time.perf_counter()
        errors = paired_errors(configs, seeds)
        check = path_check(errors, "fp32", "bf16")
        out["paired"] = {**check.as_dict(), "seconds": time.perf_counter() - t,
                         "runs": errors.to_dict(orient="records")}
        print(f"paired check, {len(configs)} configurations x {len(seeds)} seeds, test error "
              f"(mean over probe tasks) trained in fp32 and in bf16:")
        print("\n".join(check.lines()))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2) + "\n")


def loop_figures(cfg: RunConfig, steps: int, out: dict) -> None:
    """Parts 2 and 3: our loop against the idiomatic one, and the MFU."""
    peak = matmul_peak()
    ours_ips = ours(cfg, steps)
    idio0 = idiomatic(cfg, steps // 3, workers=0)
    idio2 = idiomatic(cfg, steps // 3, workers=2)
    flops = train_flops_per_image(cfg)
    mfu = ours_ips * flops / peak
    out.update(ours_images_per_s=ours_ips, ours_precision=cpu_path.requested_precision(),
               idiomatic_workers0_images_per_s=idio0,
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


if __name__ == "__main__":
    main()
