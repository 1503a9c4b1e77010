"""One run end to end: check, draw data, pre-train (resumable), probe, record.

The run folder's layout is in ``runs.layout``. A second call with the same config finds ``done``
and returns the stored metrics without training; a call after a kill resumes from
``checkpoint.pt``; a finished run whose metrics.json cannot be read is set aside and run again.
"""

from __future__ import annotations

import shutil
import time

import torch

from pretrain_diversity.config import RunConfig
from pretrain_diversity.data.fonts import load_font_bank
from pretrain_diversity.data.pool import heldout_set, pretraining_set
from pretrain_diversity.evaluation.probe import PROBE_VERSIONS, probe_model, probe_pixels, probe_solver
from pretrain_diversity.evaluation.transfer import evaluate_transfer, settings_dict
from pretrain_diversity.models.backbones import build_model, count_parameters
from pretrain_diversity.runs.layout import (
    CHECKPOINT,
    DONE,
    METRICS,
    MODEL,
    is_done,
    load_metrics,
    read_finished,
    run_dir_for,
)
from pretrain_diversity.runs.machine import hardware, now, versions
from pretrain_diversity.runs.validation import check
from pretrain_diversity.storage import atomic_torch_save, atomic_write_bytes, atomic_write_json
from pretrain_diversity.tasks.registry import load_task, transfer_task
from pretrain_diversity.training.cpu_path import record_of, recording, requested_precision
from pretrain_diversity.training.lengths import (
    READINGS_DIR, branch_weights, finetune_lengths, length_key, plateau_summary, pretrain_lengths,
)  # fmt: skip
from pretrain_diversity.training.loop import pretrain

# Callers that still import these from here (the notebook, the book) keep working.
__all__ = ["run_experiment", "check", "run_dir_for", "is_done", "load_metrics", "DONE", "METRICS",
           "CHECKPOINT", "TrainingStopped"]


def font_bank_fingerprint() -> str:
    """Which font files a fonts run was drawn from (the bank is cached, so this is cheap): a
    record made on a machine whose font packages differ can be told apart by it."""
    return load_font_bank().fingerprint


class TrainingStopped(RuntimeError):
    """Training ended before its last step (``stop_after``); the checkpoint lets it resume."""


def captions_of(cfg: RunConfig, data):
    """CLIP's texts: the Unicode name of each of the run's K glyph classes (None otherwise), or
    with ``cfg.captions`` less of it, so that CLIP can be tested where its text carries little;
    for ``captions="web"`` a ``data.captions.WebCaptions``, one caption per image, drawn from
    the image's (possibly noisy) label.

    Classes that share a caption stay distinct labels, so the loss counts their images as
    negatives of each other; their texts are identical, so what an image is pulled towards is
    the same as if they were positives, but the training accuracy (an image picking its own
    class's text) counts ties as misses and understates how well it fits its caption. (Web
    captions are matched by text, so there identical captions are positives.)"""
    if cfg.method != "clip":
        return None
    from pretrain_diversity.data.captions import class_captions, web_captions
    from pretrain_diversity.data.glyphs import load_bank

    bank = load_bank()
    names = [bank.name(int(c)) for c in data.class_ids]
    if cfg.captions == "web":
        return web_captions(names, data.labels, cfg.seed)
    return class_captions(names, cfg.captions)


def run_experiment(
    cfg: RunConfig,
    output_dir,
    *,
    progress: bool = True,
    force: bool = False,
    stop_after: int | None = None,
) -> dict:
    """Pre-train under ``cfg`` and probe every task in ``cfg.probe_tasks``; returns the metrics.

    ``stop_after`` stops training after that many steps (leaving a checkpoint and no result):
    the way tests kill a run mid-training (raises TrainingStopped).
    """
    check(cfg)
    solver = probe_solver()  # $PRETRAIN_DIVERSITY_PROBE is checked before anything is drawn
    requested_precision()  # and so is $PRETRAIN_DIVERSITY_CPU_PRECISION
    run_dir = run_dir_for(cfg, output_dir)
    if not force and (stored := read_finished(run_dir)) is not None:
        return stored
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / DONE).unlink(missing_ok=True)
    if force:  # readings of an earlier attempt are not this run's
        shutil.rmtree(run_dir / READINGS_DIR, ignore_errors=True)
    device = torch.device(cfg.device)
    t0 = time.perf_counter()

    data = pretraining_set(cfg)
    channels = data.images.shape[1]  # glyph tasks on an RGB model are repeated into RGB, etc.
    if cfg.shots is None:
        tasks = [load_task(name, cfg.image_size, channels=channels) for name in cfg.probe_tasks]
    else:  # few-shot transfer: the tasks with their larger train pools
        tasks = [transfer_task(name, cfg.image_size, channels=channels) for name in cfg.probe_tasks]
    t_data = time.perf_counter()

    torch.manual_seed(cfg.seed)
    model = build_model(cfg, in_channels=channels, captions=captions_of(cfg, data))
    readings = None
    with recording() as paths:  # the path each training step took (training.cpu_path)
        if cfg.lengths:
            history, readings, probe_s = _pretrain_at_lengths(
                model, data, tasks, cfg, device, run_dir, progress, stop_after, solver)
            t_train = time.perf_counter() - probe_s
        else:
            history = pretrain(
                model, data, cfg, device=device, checkpoint=run_dir / CHECKPOINT,
                progress=progress, stop_after=stop_after,
            )  # fmt: skip
            t_train = time.perf_counter()
    if cfg.steps and not readings and history.step[-1:] != [cfg.steps]:  # steps 0: no training
        raise TrainingStopped(f"stopped at step {history.step[-1]} of {cfg.steps}; checkpoint kept")

    baselines = {}
    final = {"final_loss": history.loss[-1] if history.loss else None,
             "final_accuracy": history.accuracy[-1] if history.accuracy else None}
    if readings:  # the run's result is its longest reading; every reading is kept beside it
        longest = readings[length_key(cfg.lengths[-1])]
        probes, transfer = longest.get("probe", {}), longest.get("transfer")
        final = {k: longest["pretrain"][k] for k in ("final_loss", "final_accuracy")}
    elif cfg.shots is None:
        probes = {t.name: probe_model(model, t, device, solver).as_dict() for t in tasks}
        transfer = None
        if cfg.pretrain is False:  # the no-pre-training baseline reports raw pixels beside it
            baselines = {"probe_pixels": {t.name: probe_pixels(t, solver).as_dict() for t in tasks}}
    else:
        probes = {}
        with recording() as tuned:  # fine-tuning trains too
            transfer = evaluate_transfer(model, tasks, cfg.shots, cfg.seed, device,
                                         finetune=bool(cfg.finetune), progress=progress,
                                         solver=solver)
        for role, used in tuned.items():
            paths.setdefault(role, []).extend(used)
    t_probe = time.perf_counter()

    metrics = {
        "run_id": cfg.run_id(),
        "name": cfg.short_name(),
        "config": cfg.to_dict(),
        "metrics": {
            "pretrain": {
                **final,
                "steps": cfg.steps,
                "images_seen": cfg.train_steps * min(cfg.batch_size, cfg.budget),
                "budget": cfg.budget,
                "parameters": count_parameters(model),
                **({"font_bank": font_bank_fingerprint()} if cfg.dataset == "fonts" else {}),
            },
            "probe": probes,
            **({"lengths": readings, "plateau": plateau_summary(readings)} if readings else {}),
            **({"finetune_lengths": [float(k) for k in finetune_lengths(
                cfg, plateau_summary(readings))]} if readings and cfg.finetune else {}),
            **baselines,
            **({"transfer": transfer, "finetune_settings": settings_dict()} if transfer else {}),
        },
        "history": history.as_dict(),
        "timing": {
            "total_s": t_probe - t0,
            "data_s": t_data - t0,
            "train_s": t_train - t_data,
            "probe_s": t_probe - t_train,
            "train_images_per_s": cfg.train_steps * min(cfg.batch_size, cfg.budget)
            / (t_train - t_data),
        },
        "hardware": hardware(device),
        # How training ran: precision (fp32, or bf16 autocast), memory format, threads. Not in
        # the run id: the same configuration on another path is the same run.
        "train_path": record_of(paths, device),
        "versions": {**versions(), "probe": PROBE_VERSIONS[solver]},  # the probe that ran
        "finished": now(),
    }
    atomic_torch_save(run_dir / MODEL, model.state_dict())
    atomic_write_json(run_dir / METRICS, metrics)
    atomic_write_bytes(run_dir / DONE, (metrics["finished"] + "\n").encode())
    (run_dir / CHECKPOINT).unlink(missing_ok=True)
    shutil.rmtree(run_dir / READINGS_DIR, ignore_errors=True)
    return metrics


def _pretrain_at_lengths(model, data, tasks, cfg: RunConfig, device, run_dir, progress,
                         stop_after, solver=None):  # fmt: skip
    """Train the trunk, read each length's branch (probes, or few-shot transfer by linear probe
    with ``shots``; fine-tuning at the lengths of ``finetune_lengths`` once every length is
    read); (history, readings, the seconds spent evaluating). Raises TrainingStopped if
    ``stop_after`` ended it early. ``solver``: the linear probe's (``probe_solver``)."""

    def read(m) -> dict:
        if cfg.shots is None:
            return {"probe": {t.name: probe_model(m, t, device, solver).as_dict() for t in tasks}}
        return {"transfer": evaluate_transfer(m, tasks, cfg.shots, cfg.seed, device,
                                              finetune=False, solver=solver)}

    readings, history, finished = pretrain_lengths(
        model, data, heldout_set(cfg), cfg, device=device, run_dir=run_dir, read=read,
        checkpoint=run_dir / CHECKPOINT, progress=progress, stop_after=stop_after,
        keep_weights=bool(cfg.finetune),
    )  # fmt: skip
    if not finished:
        raise TrainingStopped(f"stopped at trunk step {history.step[-1] if history.step else 0}; "
                              f"checkpoint and {len(readings)} reading(s) kept")
    if cfg.finetune:
        _finetune_at_lengths(model, tasks, cfg, device, run_dir, readings, solver)
    probe_s = sum(r["timing"]["read_s"] + r["timing"].get("finetune_s", 0.0)
                  for r in readings.values())
    return history, readings, probe_s


def _finetune_at_lengths(model, tasks, cfg: RunConfig, device, run_dir, readings,
                         solver=None) -> None:
    """Fine-tune the saved branches of ``finetune_lengths`` and add the results to their
    readings (written again, atomically: a run killed here resumes with the lengths done);
    ``model`` ends as the longest branch, whatever the resumption loaded."""
    import copy

    from pretrain_diversity.storage import load_tensors

    def weights(key):
        return load_tensors(branch_weights(run_dir, key), what="the weights of a branch",
                            remedy="delete the run folder to train it again", map_location=device)

    for key in finetune_lengths(cfg, plateau_summary(readings)):
        reading = readings[key]
        if all("finetune" in reading["transfer"][t.name] for t in tasks):
            continue
        branch = copy.deepcopy(model)
        branch.load_state_dict(weights(key))
        t0 = time.perf_counter()
        tuned = evaluate_transfer(branch, tasks, cfg.shots, cfg.seed, device, finetune=True,
                                  solver=solver)
        for t in tasks:
            reading["transfer"][t.name]["finetune"] = tuned[t.name]["finetune"]
        reading["timing"]["finetune_s"] = time.perf_counter() - t0
        atomic_write_json(run_dir / READINGS_DIR / f"{key}.json", reading)
    model.load_state_dict(weights(length_key(cfg.lengths[-1])))
    model.eval()
