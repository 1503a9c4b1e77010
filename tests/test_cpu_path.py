"""The CPU training path (training.cpu_path): $PRETRAIN_DIVERSITY_CPU_PRECISION is honoured and
checked; an automatic choice is timed once per (CPU, threads, torch, model shape), cached and
reused, and timing it leaves the run unchanged; bf16 on a CPU trains; a run's record says which
path ran, and the tables carry it."""

from __future__ import annotations

import json
import math

import pytest
import torch

from pretrain_diversity.analysis.tables import table_of
from pretrain_diversity.cli.table_records import record_of_rows
from pretrain_diversity.data.pool import pretraining_set
from pretrain_diversity.models.backbones import build_model
from pretrain_diversity.runs.experiment import run_experiment
from pretrain_diversity.training import cpu_path
from pretrain_diversity.training.cpu_path import (
    PRECISION_ENV, TrainPath, decide, last_path, path_for, record_of, recording,
)  # fmt: skip
from pretrain_diversity.training.loop import pretrain

CPU = torch.device("cpu")


@pytest.fixture
def fresh_decisions(tmp_path, monkeypatch):
    """An empty decision cache of its own, and no decision remembered by this process."""
    monkeypatch.setenv("PRETRAIN_DIVERSITY_CACHE", str(tmp_path / "cache"))
    cpu_path.forget()
    yield tmp_path / "cache" / cpu_path.CACHE_FILE
    cpu_path.forget()


@pytest.fixture
def counted_timing(monkeypatch):
    """``time_precisions`` replaced by one that says bf16 is twice as fast and counts its calls."""
    calls = []

    def fake(step, **kw):
        calls.append(step)
        return 0.02, 0.01

    monkeypatch.setattr(cpu_path, "time_precisions", fake)
    return calls


def small_model(n_classes=8):
    from pretrain_diversity.config import RunConfig

    cfg = RunConfig(n_classes=n_classes, samples_per_class=4, image_size=8, width=4)
    return build_model(cfg, 1).to(memory_format=cpu_path.MEMORY_FORMAT)


def batch_for(model, n=16, size=8, classes=8):
    x = torch.randn(n, 1, size, size).to(memory_format=torch.channels_last)
    y = torch.randint(0, classes, (n,))

    def loss_of(x, y, idx, step):
        logits = model(x)
        return torch.nn.functional.cross_entropy(logits, y), (logits.argmax(1) == y).sum()

    return loss_of, (x, y, torch.arange(n), 0)


def test_the_environment_variable_chooses_and_is_checked(monkeypatch, fresh_decisions):
    model = small_model()
    for value in ("fp32", "bf16"):
        monkeypatch.setenv(PRECISION_ENV, value)
        path = path_for(model, CPU)
        assert (path.precision, path.chosen_by, path.device) == (value, "env", "cpu")
    monkeypatch.setenv(PRECISION_ENV, "fp16")
    with pytest.raises(ValueError, match=rf"\$?{PRECISION_ENV}='fp16'.*auto, fp32, bf16"):
        path_for(model, CPU)
    assert not fresh_decisions.exists()  # nothing was timed


def test_a_bad_value_stops_a_run_before_anything_is_drawn(monkeypatch, tmp_path, tiny_cfg):
    monkeypatch.setenv(PRECISION_ENV, "half")
    with pytest.raises(ValueError, match=PRECISION_ENV):
        run_experiment(tiny_cfg, tmp_path, progress=False)
    assert not any(tmp_path.iterdir())


def test_cuda_keeps_bf16_autocast_whatever_the_variable_says(monkeypatch):
    monkeypatch.setenv(PRECISION_ENV, "fp32")
    path = path_for(small_model(), torch.device("cuda"))  # decided without touching a GPU
    assert (path.device, path.precision, path.chosen_by) == ("cuda", "bf16", "cuda")


def test_the_rule_wants_a_clear_margin():
    assert decide(1.0, 1 / 1.20) == "bf16"
    assert decide(1.0, 1 / 1.10) == "fp32"  # faster, but not by MIN_SPEEDUP
    assert decide(1.0, 2.0) == "fp32"
    assert decide(1.0, float("inf")) == "fp32"  # bf16 failed


def test_an_automatic_choice_is_timed_once_cached_and_reused(monkeypatch, fresh_decisions,
                                                             counted_timing):
    monkeypatch.setenv(PRECISION_ENV, "auto")
    model = small_model()
    loss_of, batch = batch_for(model)
    first = path_for(model, CPU, loss_of, batch)
    assert (first.precision, first.chosen_by, len(counted_timing)) == ("bf16", "timed", 1)
    assert path_for(model, CPU, loss_of, batch) is first  # this process remembers it
    cached = json.loads(fresh_decisions.read_text())
    (key, entry), = cached.items()
    assert f"threads {torch.get_num_threads()}" in key and torch.__version__ in key
    assert entry["precision"] == "bf16" and entry["fp32_step_s"] == 0.02

    cpu_path.forget()  # a new process: reads the file, does not time again
    again = path_for(model, CPU, loss_of, batch)
    assert (again.precision, again.chosen_by, len(counted_timing)) == ("bf16", "cached", 1)

    other = small_model(n_classes=9)  # another shape: another key, timed
    loss_of, batch = batch_for(other, classes=9)
    assert path_for(other, CPU, loss_of, batch).chosen_by == "timed"
    threads = torch.get_num_threads()
    try:  # another thread count: timed again
        torch.set_num_threads(threads + 1)
        assert path_for(model, CPU, *batch_for(model)).chosen_by == "timed"
    finally:
        torch.set_num_threads(threads)
    assert len(counted_timing) == 3 and len(json.loads(fresh_decisions.read_text())) == 3

    # A stricter rule is applied to the cached timings without timing again.
    cpu_path.forget()
    monkeypatch.setattr(cpu_path, "MIN_SPEEDUP", 3.0)
    assert path_for(model, CPU, *batch_for(model)).precision == "fp32"
    assert len(counted_timing) == 3


def test_a_damaged_cache_is_timed_again(monkeypatch, fresh_decisions, counted_timing):
    monkeypatch.setenv(PRECISION_ENV, "auto")
    fresh_decisions.parent.mkdir(parents=True, exist_ok=True)
    fresh_decisions.write_text("{not json")
    model = small_model()
    assert path_for(model, CPU, *batch_for(model)).chosen_by == "timed"
    assert len(json.loads(fresh_decisions.read_text())) == 1


def test_timing_the_choice_leaves_the_run_unchanged(monkeypatch, fresh_decisions, tiny_cfg):
    """A run timed on its way (and left in fp32) takes exactly the steps of an fp32 run."""
    cfg = tiny_cfg.with_(epochs=4.0)
    data = pretraining_set(cfg)

    def trained():
        torch.manual_seed(0)
        model = build_model(cfg, 1)
        return model, pretrain(model, data, cfg, device=CPU, progress=False)

    _, pinned = trained()
    monkeypatch.setenv(PRECISION_ENV, "auto")
    monkeypatch.setattr(cpu_path, "MIN_SPEEDUP", float("inf"))  # time both ways, keep fp32
    calls = []
    real = cpu_path.time_precisions
    monkeypatch.setattr(cpu_path, "time_precisions",
                        lambda step, **kw: calls.append(1) or real(step, rounds=2, warmup=1))
    model, timed = trained()
    assert calls == [1] and last_path(model, CPU).chosen_by == "timed"
    assert timed.as_dict() == pinned.as_dict()


def test_bf16_on_a_cpu_trains(monkeypatch, tiny_cfg):
    monkeypatch.setenv(PRECISION_ENV, "bf16")
    cfg = tiny_cfg.with_(epochs=30.0, width=8)
    data = pretraining_set(cfg)
    torch.manual_seed(0)
    model = build_model(cfg, 1)
    seen = []
    real_forward = model.forward

    def forward(x):
        out = real_forward(x)
        seen.append(out.dtype)
        return out

    model.forward = forward
    h = pretrain(model, data, cfg, device=CPU, progress=False)
    assert set(seen) == {torch.bfloat16}  # autocast was on
    assert h.loss[-1] < 0.6 * h.loss[0]
    assert last_path(model, CPU).precision == "bf16"


def test_the_record_and_its_table_say_which_path_ran(monkeypatch, tmp_path, tiny_cfg):
    monkeypatch.setenv(PRECISION_ENV, "bf16")
    m = run_experiment(tiny_cfg, tmp_path, progress=False)
    assert m["run_id"] == tiny_cfg.run_id()  # the path is not part of the run's identity
    assert m["train_path"] == {"device": "cpu", "precision": "bf16", "chosen_by": "env",
                               "memory_format": "channels_last",
                               "threads": torch.get_num_threads()}
    df = table_of([m])
    assert set(df["train_path_precision"]) == {"bf16"}
    assert set(df["train_path_memory_format"]) == {"channels_last"}
    assert record_of_rows(df)["train_path"]["precision"] == "bf16"  # tables -> records
    old = {k: v for k, v in m.items() if k != "train_path"}  # records made before the path was
    assert "train_path_precision" not in table_of([old])


def test_the_record_names_fine_tuning_s_path_too():
    def p(precision, chosen_by="env"):
        return TrainPath("cpu", precision, chosen_by, 1)

    with recording() as used:
        used.setdefault("pretrain", []).extend([p("bf16", "timed"), p("bf16", "cached")])
        used.setdefault("finetune", []).extend([p("fp32", "timed"), p("bf16", "timed")])
    out = record_of(used, CPU)
    assert out["precision"] == "bf16" and out["chosen_by"] == "timed+cached"
    assert out["finetune_precision"] == "fp32+bf16"
    assert record_of({}, CPU)["precision"] is None  # nothing trained in this process


def test_the_planner_reads_the_training_rate_of_runs_on_the_path_requested_now(monkeypatch):
    from pretrain_diversity.config import RunConfig
    from pretrain_diversity.runs.machine import hardware
    from pretrain_diversity.sweeps import cost

    cfg = RunConfig(n_classes=16, samples_per_class=8, probe_tasks=("digits",)).to_dict()

    def record(train_s, path):
        return {"config": cfg, "hardware": hardware(CPU), **({"train_path": path} if path else {}),
                "timing": {"train_s": train_s, "data_s": 0.1, "probe_s": 1.0}}

    runs = [record(4.0, None), record(4.0, {"precision": "fp32", "chosen_by": "env"}),
            record(1.0, {"precision": "bf16", "chosen_by": "timed"}),
            record(1.0, {"precision": "bf16", "chosen_by": "env"})]
    rates = {}
    for requested in ("fp32", "bf16", "auto"):
        monkeypatch.setenv(PRECISION_ENV, requested)
        rates[requested] = cost.calibrate(runs).images_per_s
    assert rates["bf16"] == pytest.approx(4 * rates["fp32"])  # records without a path: fp32
    assert rates["auto"] == rates["bf16"]  # the one run whose precision was chosen by timing
    monkeypatch.setenv(PRECISION_ENV, "auto")
    assert cost.calibrate(runs[:2]).images_per_s == rates["fp32"]  # none on auto: every run


def test_the_held_out_fit_follows_the_path_the_model_trained_on(monkeypatch):
    import numpy as np

    from pretrain_diversity.data.sampling import ImageSet
    from pretrain_diversity.training.lengths import heldout_fit

    model = small_model()
    heldout = ImageSet(torch.randint(0, 256, (20, 1, 8, 8), dtype=torch.uint8),
                       torch.randint(0, 8, (20,)), np.arange(8))
    dtypes = []
    model.register_forward_hook(lambda m, i, out: dtypes.append(out.dtype))
    heldout_fit(model, heldout, CPU)  # not trained here: fp32
    monkeypatch.setenv(PRECISION_ENV, "bf16")
    path_for(model, CPU)  # as sgd_steps does when it trains the model
    monkeypatch.setenv(PRECISION_ENV, "fp32")  # what it trained on counts, not what is asked now
    loss, acc = heldout_fit(model, heldout, CPU)
    assert dtypes == [torch.float32, torch.bfloat16]
    assert math.isfinite(loss) and 0 <= acc <= 1


@pytest.mark.parametrize("method", ["simclr", "clip"])
def test_the_contrastive_objectives_train_under_bf16_on_a_cpu(monkeypatch, tiny_cfg, method):
    from pretrain_diversity.runs.experiment import captions_of

    monkeypatch.setenv(PRECISION_ENV, "bf16")
    cfg = tiny_cfg.with_(method=method, epochs=10.0)
    data = pretraining_set(cfg)
    torch.manual_seed(0)
    model = build_model(cfg, 1, captions=captions_of(cfg, data))
    h = pretrain(model, data, cfg, device=CPU, progress=False)
    assert all(math.isfinite(v) for v in h.loss) and h.loss[-1] < h.loss[0]
    assert last_path(model, CPU).precision == "bf16"
