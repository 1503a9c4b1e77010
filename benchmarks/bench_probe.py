"""The linear probe, old (sklearn) against new (torch) solver, side by side in one run.

Prints, on whatever machine runs it:
  1. seconds per probe (one task: standardise, the six-C path, val/test errors, the test halves)
     for each solver, on real features of the default convnet (feature dim 64 at 16 px) and on
     raw pixels, for the glyph-world tasks at their real sizes (glyphs-heldout 1,000/1,000/3,000
     images of 100 classes, digits 100/100/1,597 of 10, shapes 50/100/500 of 10), in two
     settings: one process with torch's default threads, and two processes at once with one
     torch thread each, as a sweep's ``--workers 2 --threads 1`` runs them (each solver's BLAS
     left as a sweep worker leaves it);
  2. the one-off import each solver costs a fresh sweep worker;
  3. the paired check: per feature set and task, whether both solvers choose the same C, the
     largest per-C difference in validation and test error, and the difference in the reported
     test error.

The features come from models pre-trained here (short runs of the default convnet: K = 500 and
K = 16 at N = 16,000, and the untrained network), and from any finished runs given with
``--runs`` (folders holding metrics.json and model.pt).

Usage:  python benchmarks/bench_probe.py [--quick] [--runs RUN_DIR ...] [--repeats 5]
(about 5 minutes on 2 cores; the rows of a run are kept in benchmarks/probe.md)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from pretrain_diversity.config import GLYPH_PROBE_TASKS, RunConfig
from pretrain_diversity.evaluation.probe import (
    PROBE_SOLVERS, PROBE_VERSIONS, extract_features, fit_logistic, linear_probe,
)  # fmt: skip

SPLITS = ("train", "val", "test")


def model_features(model, size: int, label: str, out: dict) -> None:
    from pretrain_diversity.tasks.registry import load_task

    for name in GLYPH_PROBE_TASKS:
        task = load_task(name, size, channels=1)
        for s in SPLITS:
            split = getattr(task, s)
            out[f"{label}|{name}|{s}|x"] = extract_features(model, split.images, "cpu")
            out[f"{label}|{name}|{s}|y"] = split.labels.numpy()


def build_features(quick: bool, runs: list[str]) -> dict:
    """{'set|task|split|x or y': array}: the features every timing and check below uses."""
    from pretrain_diversity.data.pool import pretraining_set
    from pretrain_diversity.models.backbones import build_model
    from pretrain_diversity.tasks.registry import load_task
    from pretrain_diversity.training.loop import pretrain

    out: dict = {}
    trained = [(500, 32), (16, 1000)]
    if quick:  # one short model, or none where finished runs are given
        trained = [] if runs else [(500, 32)]
    for k, n in trained:
        cfg = RunConfig(n_classes=k, samples_per_class=n, epochs=1.0 if quick else 3.0, seed=0)
        torch.manual_seed(cfg.seed)
        model = build_model(cfg, in_channels=1)
        t = time.perf_counter()
        pretrain(model, pretraining_set(cfg), cfg, device=torch.device("cpu"), progress=False)
        print(f"# pre-trained K={k} n={n} for {cfg.epochs:g} epochs in {time.perf_counter() - t:.0f} s",
              flush=True)
        model_features(model, cfg.image_size, f"convnet K{k} n{n}", out)
    if not quick:
        torch.manual_seed(0)
        model_features(build_model(RunConfig(), in_channels=1), 16, "convnet untrained", out)
        for name in GLYPH_PROBE_TASKS:
            task = load_task(name, 16, channels=1)
            for s in SPLITS:
                split = getattr(task, s)
                out[f"pixels|{name}|{s}|x"] = split.images.flatten(1).float().numpy() / 255
                out[f"pixels|{name}|{s}|y"] = split.labels.numpy()
    for run in runs:
        cfg = RunConfig.from_dict(json.loads((Path(run) / "metrics.json").read_text())["config"])
        model = build_model(cfg, in_channels=1)
        model.load_state_dict(torch.load(Path(run) / "model.pt", map_location="cpu"))
        model_features(model, cfg.image_size, f"run {Path(run).name}", out)
    return out


def cases(feats: dict) -> list[tuple[str, str]]:
    return sorted({tuple(k.split("|")[:2]) for k in feats}, key=lambda c: (c[0], c[1]))


def splits_of(feats: dict, case) -> list[tuple]:
    return [(feats[f"{case[0]}|{case[1]}|{s}|x"], feats[f"{case[0]}|{case[1]}|{s}|y"]) for s in SPLITS]


def time_probes(feats: dict, repeats: int) -> dict:
    """Median seconds per probe of each solver on each case, the solvers interleaved."""
    times: dict = {}
    for case in cases(feats):
        splits = splits_of(feats, case)
        for solver in PROBE_SOLVERS:  # warm-up: imports, caches
            linear_probe(case[1], *splits, solver=solver)
        for _ in range(repeats):
            for solver in PROBE_SOLVERS:
                t = time.perf_counter()
                linear_probe(case[1], *splits, solver=solver)
                times.setdefault("|".join(case), {}).setdefault(solver, []).append(
                    time.perf_counter() - t)
    return {c: {s: statistics.median(v) for s, v in d.items()} for c, d in times.items()}


def import_seconds() -> dict:
    """What each solver imports on its first probe in a fresh process (a sweep worker)."""
    code = {"sklearn": "from sklearn.linear_model import LogisticRegression; "
                       "from sklearn.preprocessing import StandardScaler",
            "torch": "from scipy import optimize; import threadpoolctl"}
    out = {}
    for solver, imp in code.items():
        best = []
        for _ in range(3):
            r = subprocess.run([sys.executable, "-c", "import time, torch, numpy; t = time.perf_counter(); "
                                f"{imp}; print(time.perf_counter() - t)"],
                               capture_output=True, text=True, check=True)
            best.append(float(r.stdout))
        out[solver] = min(best)
    return out


def agreement(feats: dict) -> list[dict]:
    """Per case: C chosen by each solver, the largest per-C gaps (and at which C), the gap in
    the reported test error, and, as the old probe's own noise floor, the largest per-C gap
    between sklearn on these float32 features and sklearn on float64 copies of them."""
    rows = []
    for case in cases(feats):
        train, val, test = splits_of(feats, case)
        r = {}
        for label, solver, cast in (("new", "torch", np.float32), ("old", "sklearn", np.float32),
                                    ("old64", "sklearn", np.float64)):
            te: dict = {}
            tr, va, ts = ((x.astype(cast), y) for x, y in (train, val, test))
            _, _, _, c, ve = fit_logistic(*tr, *va, test=ts, test_errors=te, solver=solver)
            r[label] = (c, ve, te)

        def gap(a, b, i):
            return max(((abs(r[a][i][c] - r[b][i][c]), c) for c in r[b][i]), key=lambda g: g[0])

        (c_new, _, t_new), (c_old, _, t_old) = r["new"], r["old"]
        rows.append({"case": case, "C": (c_old, c_new), "val": gap("new", "old", 1),
                     "test": gap("new", "old", 2), "reported": t_new[f"{c_new:g}"] - t_old[f"{c_old:g}"],
                     "old_test": t_old[f"{c_old:g}"],
                     "floor": max(gap("old64", "old", 1)[0], gap("old64", "old", 2)[0])})
    return rows


def worker_main(args) -> None:
    torch.set_num_threads(args.threads)  # as a sweep worker: torch's threads only
    feats = dict(np.load(args.worker))
    Path(args.out).write_text(json.dumps(time_probes(feats, args.repeats)))


def two_workers(path: str, repeats: int) -> dict:
    """Two processes probing at once, one torch thread each; the median of their medians."""
    with tempfile.TemporaryDirectory() as tmp:
        outs = [Path(tmp) / f"w{i}.json" for i in range(2)]
        procs = [subprocess.Popen([sys.executable, __file__, "--worker", path, "--threads", "1",
                                   "--repeats", str(repeats), "--out", str(o)]) for o in outs]
        for p in procs:
            if p.wait() != 0:
                raise SystemExit(f"a probe worker failed (exit {p.returncode})")
        res = [json.loads(o.read_text()) for o in outs]
    return {c: {s: statistics.median(r[c][s] for r in res) for s in res[0][c]} for c in res[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="one short model (none with --runs), no pixels, one repeat")
    ap.add_argument("--runs", nargs="*", default=[], help="finished run folders to probe too")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker_main(args)
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
    for run in args.runs:
        if not (Path(run) / "model.pt").exists() or not (Path(run) / "metrics.json").exists():
            ap.error(f"--runs {run}: no model.pt and metrics.json there (a finished run folder)")
    repeats = 1 if args.quick else args.repeats
    print(f"# torch {torch.__version__}, {os.cpu_count()} cores, torch threads "
          f"{torch.get_num_threads()}; solvers: old = {PROBE_VERSIONS['sklearn']}, "
          f"new = {PROBE_VERSIONS['torch']}", flush=True)
    feats = build_features(args.quick, args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "features.npz")
        np.savez(path, **feats)
        single = time_probes(feats, repeats)
        pair = two_workers(path, repeats)

    print("\n## Seconds per probe (median), old sklearn vs new torch solver\n")
    print("| features | task | n train/val/test, classes, dim | 1 process: old | new | speed-up "
          "| 2 workers x 1 thread: old | new | speed-up |")
    print("|---|---|---|---|---|---|---|---|---|")
    tot = {k: 0.0 for k in ("s_old", "s_new", "p_old", "p_new")}
    for case in cases(feats):
        key = "|".join(case)
        (xt, yt), (xv, _), (xs, _) = splits_of(feats, case)
        s, p = single[key], pair[key]
        tot["s_old"] += s["sklearn"]
        tot["s_new"] += s["torch"]
        tot["p_old"] += p["sklearn"]
        tot["p_new"] += p["torch"]
        print(f"| {case[0]} | {case[1]} | {len(xt)}/{len(xv)}/{len(xs)}, {len(np.unique(yt))}, "
              f"{xt.shape[1]} | {s['sklearn']:.3f} | {s['torch']:.3f} | "
              f"{s['sklearn'] / s['torch']:.1f}x | {p['sklearn']:.3f} | {p['torch']:.3f} | "
              f"{p['sklearn'] / p['torch']:.1f}x |")
    print(f"| all | sum | | {tot['s_old']:.2f} | {tot['s_new']:.2f} | "
          f"{tot['s_old'] / tot['s_new']:.1f}x | {tot['p_old']:.2f} | {tot['p_new']:.2f} | "
          f"{tot['p_old'] / tot['p_new']:.1f}x |")

    imp = import_seconds()
    print(f"\nOne-off import in a fresh worker: old (sklearn) {imp['sklearn']:.2f} s, "
          f"new (scipy.optimize) {imp['torch']:.2f} s")

    print("\n## Paired check: the same features through both solvers\n")
    print("| features | task | C old -> new | max per-C diff. val (at C) | max per-C diff. test (at C) "
          "| reported test error: old, new - old | old probe, f32 vs f64 input: max per-C diff. |")
    print("|---|---|---|---|---|---|---|")
    rows = agreement(feats)
    for r in rows:
        print(f"| {r['case'][0]} | {r['case'][1]} | {r['C'][0]:g} -> {r['C'][1]:g} | "
              f"{100 * r['val'][0]:.2f} pt ({r['val'][1]}) | {100 * r['test'][0]:.2f} pt "
              f"({r['test'][1]}) | {100 * r['old_test']:.2f}%, {100 * r['reported']:+.2f} pt | "
              f"{100 * r['floor']:.2f} pt |")
    same = sum(r["C"][0] == r["C"][1] for r in rows)
    print(f"\nSame C chosen in {same} of {len(rows)}; largest per-C difference new vs old "
          f"{100 * max(max(r['val'][0], r['test'][0]) for r in rows):.2f} points; largest "
          f"difference in the reported test error {100 * max(abs(r['reported']) for r in rows):.2f} "
          f"points; the old probe against itself on float64 input: "
          f"{100 * max(r['floor'] for r in rows):.2f} points.")


if __name__ == "__main__":
    main()
