"""Sweeps: study expansion, caching, failures, resume after a kill, concurrent workers, launchers,
the results table and the command line. Every run here is a real ``run_experiment`` on a tiny
config (a few seconds each)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sweep_helpers as H

from pretrain_diversity import cli
from pretrain_diversity.runs.layout import CHECKPOINT, FAILED, load_metrics, run_status
from pretrain_diversity.runs.locks import RunLock
from pretrain_diversity.analysis.tables import (
    collect,
    collect_failures,
    load_results,
    summarize,
    write_results,
)
from pretrain_diversity.sweeps.jobs import Job, execute_job
from pretrain_diversity.sweeps.runner import run_study
from pretrain_diversity.sweeps.spec import Study, StudyError, load_study

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent


def tiny_study(name="tiny", seeds=(0,), n_classes=(4, 8), budgets=(32,)) -> Study:
    return Study(name=name, budgets=budgets, n_classes=n_classes, seeds=seeds, base=dict(H.TINY))


@pytest.fixture
def workers_see_tests(monkeypatch):
    """Worker subprocesses and Ray workers must import sweep_helpers by name."""
    old = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(TESTS), old) if p))


# ------------------------------------------------------------------------------ study expansion
def test_expand_budgets_classes_seeds_and_grid():
    s = Study(name="s", budgets=(64, 256), n_classes=(2, 8, 64), seeds=(0, 1),
              base={"epochs": 3.0}, grid={"width": [4, 8]})
    cfgs = s.expand()
    assert len(cfgs) == 2 * 3 * 2 * 2
    assert {c.budget for c in cfgs} == {64, 256}
    assert {(c.n_classes, c.samples_per_class) for c in cfgs if c.budget == 64} == {
        (2, 32), (8, 8), (64, 1)}
    assert {c.width for c in cfgs} == {4, 8} and {c.epochs for c in cfgs} == {3.0}
    assert len({c.run_id() for c in cfgs}) == len(cfgs)


def test_expand_skips_invalid_combinations_with_a_message():
    s = Study(name="s", budgets=(64,), n_classes=(3, 4, 128), seeds=(0,))
    cfgs, skipped = s.plan()
    assert [c.n_classes for c in cfgs] == [4]
    assert any("K=3 does not divide N=64" in m for m in skipped)
    assert any("K=128 > N=64" in m for m in skipped)
    with pytest.warns(UserWarning, match="2 combination"):
        s.expand()
    with pytest.raises(StudyError, match="does not divide"):
        s.expand(strict=True)
    # a value RunConfig rejects is the spec's mistake: refused, naming the parameter and range
    with pytest.raises(StudyError, match=r"lr=-1.0 is out of range: need 0.0 < lr <= 100.0"):
        Study(name="s", budgets=(64,), n_classes=(4,), base={"lr": -1.0}).plan()


def test_expand_by_ratio_and_per_budget_classes():
    s = Study(name="r", budgets=(2048, 8192), ratios=(0.5, 2, 8, 3), seeds=(0,))
    cfgs, skipped = s.plan()
    got = {(c.budget, c.n_classes, c.samples_per_class) for c in cfgs}
    assert got == {(2048, 32, 64), (2048, 64, 32), (2048, 128, 16),
                   (8192, 64, 128), (8192, 128, 64), (8192, 256, 32)}
    assert len(skipped) == 2 and all("ratio K/n=3" in m for m in skipped)
    s = Study(name="p", budgets=(64, 128), n_classes={64: (2, 4), 128: (8,)})
    assert [(c.budget, c.n_classes) for c in s.expand()] == [(64, 2), (64, 4), (128, 8)]


@pytest.mark.parametrize("bad, match", [
    (dict(n_classes=(2,), ratios=(1.0,)), "exactly one"),
    (dict(n_classes=(2,), base={"widht": 3}), "unknown run parameter"),
    (dict(n_classes=(2,), base={"seed": 3}), "set by budgets"),
    (dict(n_classes={64: (2,)}), "every budget"),
])
def test_study_spec_errors_are_clear(bad, match):
    with pytest.raises(StudyError, match=match):
        Study(name="x", budgets=(64, 128), **bad)


def test_load_study_toml_json_yaml(tmp_path):
    (tmp_path / "a.toml").write_text(textwrap.dedent("""
        budgets = [64, 128]
        seeds = [0, 1]
        [n_classes]
        64 = [2, 4]
        128 = [4, 8]
        [base]
        epochs = 2.0
        probe_tasks = ["digits"]
    """))
    spec = {"budgets": [64, 128], "seeds": [0, 1], "n_classes": {"64": [2, 4], "128": [4, 8]},
            "base": {"epochs": 2.0, "probe_tasks": ["digits"]}}
    (tmp_path / "a.json").write_text(json.dumps(spec))
    (tmp_path / "a.yaml").write_text(json.dumps(spec))  # JSON is valid YAML
    ids = [[c.run_id() for c in load_study(tmp_path / f"a.{ext}").expand()]
           for ext in ("toml", "json", "yaml")]
    assert ids[0] == ids[1] == ids[2] and len(ids[0]) == 8
    assert load_study(tmp_path / "a.toml").name == "a"


def test_figure1_reference_study_meets_the_brief():
    """studies/figure1.toml (protocol v2): budgets spanning >= 32x, >= 5 seeds, at every budget a
    contiguous run of >= 7 powers of two K spanning >= 1.8 decades (>= 3 at the budgets of the
    first protocol), >= 2 downstream tasks, every run valid for the glyph pool."""
    from pretrain_diversity.data.pool import dataset_limits

    study = load_study(ROOT / "studies" / "figure1.toml")
    pool, per_class = dataset_limits("glyphs")
    cfgs = study.expand(strict=True, pool_size=pool)
    budgets = sorted({c.budget for c in cfgs})
    assert len(budgets) >= 3 and budgets[-1] / budgets[0] >= 32
    for n in budgets:
        ks = sorted({c.n_classes for c in cfgs if c.budget == n})
        assert len(ks) >= 7 and all(b == 2 * a for a, b in zip(ks, ks[1:])), (n, ks)
        decades = 3 if n in (2048, 4096, 16384) else 1.8
        assert math.log10(max(ks) / min(ks)) >= decades - 1e-9, (n, ks)
    assert len(study.seeds) >= 5
    assert all(len(c.probe_tasks) >= 2 for c in cfgs)
    assert all(c.epochs >= 15 for c in cfgs)


# ------------------------------------------------------------------------------ cache and failures
def test_rerun_is_a_cache_hit_no_training(tmp_path):
    out = tmp_path / "runs"
    r1 = run_study(tiny_study(), out, run_fn=H.counting_run, progress=False)
    assert r1.ok and r1.count("done") == 2
    assert len(H.calls(out)) == 2
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("*/metrics.json")}
    r2 = run_study(tiny_study(), out, run_fn=H.counting_run, progress=False)
    assert r2.ok and r2.count("cached") == 2 and r2.count("done") == 0
    assert len(H.calls(out)) == 2  # the run function was not even called
    assert stamps == {p: p.stat().st_mtime_ns for p in out.glob("*/metrics.json")}


def test_failed_run_is_recorded_never_shown_and_rerun(tmp_path, monkeypatch):
    out = tmp_path / "runs"
    study = tiny_study(seeds=(0, 1), n_classes=(4,))
    monkeypatch.setenv(H.FAIL_ENV, "1")
    r1 = run_study(study, out, run_fn=H.counting_run, progress=False)
    assert not r1.ok and r1.count("done") == 1 and r1.count("failed") == 1
    bad = r1.failed[0]
    assert "injected failure for seed 1" in bad.error and "FAILED" in r1.summary()
    rec = json.loads((out / bad.run_id / FAILED).read_text())
    assert rec["error_type"] == "RuntimeError" and "Traceback" in rec["traceback"]
    assert "counting_run" in rec["traceback"] and rec["attempt"] == 1
    assert run_status(out / bad.run_id) == "failed"
    assert set(collect(out)["seed"]) == {0}  # a failure never shows as a result
    assert list(collect_failures(out)["run_id"]) == [bad.run_id]

    monkeypatch.setenv(H.FAIL_ENV, "")
    r2 = run_study(study, out, run_fn=H.counting_run, progress=False)
    assert r2.ok and r2.count("cached") == 1 and r2.count("done") == 1
    assert H.calls(out).count(bad.run_id) == 2  # retried once, the good run not retrained
    assert not (out / bad.run_id / FAILED).exists()
    assert set(collect(out)["seed"]) == {0, 1} and collect_failures(out).empty


@pytest.mark.slow  # launches worker processes / Ray / papermill
def test_run_killed_mid_training_resumes_to_the_same_metrics(tmp_path, workers_see_tests,
                                                             monkeypatch):
    cfg = H.tiny()
    # Uninterrupted reference.
    ref = run_study([cfg], tmp_path / "ref", progress=False, threads=1)
    assert ref.ok
    # A worker process that dies by SIGKILL after 3 of 8 steps, leaving its checkpoint.
    out = tmp_path / "killed"
    r1 = run_study([cfg], out, launcher="processes", workers=1, threads=1,
                   run_fn="sweep_helpers:killed_midway", progress=False)
    run_dir = out / cfg.run_id()
    assert r1.count("failed") == 1 and "signal 9" in r1.failed[0].error
    assert (run_dir / CHECKPOINT).exists() and not (run_dir / "done").exists()
    assert json.loads((run_dir / FAILED).read_text())["error_type"] == "WorkerDied"
    assert not RunLock(run_dir).held_elsewhere()  # the dead worker's claim went with it
    # The rerun resumes from step 3 (seen by spying on the checkpoint loader) ...
    from pretrain_diversity.training import loop as train

    resumed_at = []

    def spy(*a, **kw):
        state = real_load(*a, **kw)
        resumed_at.append(state.step if state else None)
        return state

    real_load = train.load_checkpoint
    monkeypatch.setattr(train, "load_checkpoint", spy)
    r2 = run_study([cfg], out, progress=False, threads=1)
    assert r2.ok and r2.count("done") == 1 and resumed_at == [3]
    # ... and ends exactly where the uninterrupted run did.
    assert H.comparable(load_metrics(run_dir)) == H.comparable(
        load_metrics(tmp_path / "ref" / cfg.run_id()))
    assert not (run_dir / CHECKPOINT).exists() and not (run_dir / FAILED).exists()


def test_two_workers_at_once_train_each_run_once_and_lose_nothing(tmp_path, workers_see_tests):
    out = tmp_path / "runs"
    spec = tmp_path / "two.json"
    spec.write_text(json.dumps(tiny_study(name="two", n_classes=(2, 4, 8, 16)).to_dict()))
    script = textwrap.dedent(f"""
        import json, sys
        from pretrain_diversity.sweeps.runner import run_study
        r = run_study({str(spec)!r}, {str(out)!r}, run_fn="sweep_helpers:counting_run",
                      progress=False, threads=1)
        print(json.dumps([x.status for x in r.results]))
    """)
    env = {**os.environ, H.SLEEP_ENV: "3"}  # each run holds its claim for 3 s or more
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env["PYTHONPATH"]])

    def start():
        return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env,
                                text=True)

    first = start()
    deadline = time.monotonic() + 120
    while not H.calls(out) and time.monotonic() < deadline:  # the first worker is on run 1
        time.sleep(0.1)
    procs = [first, start()]
    statuses = [json.loads(p.communicate(timeout=300)[0].strip().splitlines()[-1])
                for p in procs]
    assert all(p.returncode == 0 for p in procs)
    for st in statuses:  # each sweep returns with its whole study finished ...
        assert len(st) == 4 and set(st) <= {"done", "cached"}
    calls = H.calls(out)
    assert sorted(calls) == sorted(set(calls)) and len(calls) == 4  # ... each run trained once
    assert sum(st.count("done") for st in statuses) == 4
    pids = {line.split()[1] for line in (out / "calls.log").read_text().splitlines()}
    assert pids == {str(p.pid) for p in procs}  # and both did some of the work
    df = collect(out, study="two")
    assert len(df) == 4 and df["test_error"].notna().all()


# ------------------------------------------------------------------------------ launchers
@pytest.mark.slow  # launches worker processes / Ray / papermill
def test_processes_and_ray_launchers_match_serial(tmp_path, workers_see_tests):
    pytest.importorskip("ray")
    study = tiny_study(n_classes=(4, 8))
    serial = run_study(study, tmp_path / "serial", progress=False, threads=1)
    procs = run_study(study, tmp_path / "procs", launcher="processes", workers=2, threads=1,
                      progress=False)
    ray = run_study(study, tmp_path / "ray", launcher="ray", workers=2, threads=1,
                    progress=False)
    for r in (serial, procs, ray):
        assert r.ok and r.count("done") == 2, r.summary()
    for cfg in study.expand():
        ref = H.comparable(load_metrics(tmp_path / "serial" / cfg.run_id()))
        assert H.comparable(load_metrics(tmp_path / "procs" / cfg.run_id())) == ref
        assert H.comparable(load_metrics(tmp_path / "ray" / cfg.run_id())) == ref
    assert (tmp_path / "procs" / study.expand()[0].run_id() / "worker.log").exists()


@pytest.mark.slow  # launches worker processes / Ray / papermill
def test_notebook_and_function_give_identical_metrics(tmp_path):
    from pretrain_diversity.sweeps.jobs import default_notebook

    if not default_notebook().exists():
        pytest.skip(f"{default_notebook()} not in this checkout yet")
    cfg = H.tiny()
    a = run_study([cfg], tmp_path / "fn", progress=False, threads=1)
    b = run_study([cfg], tmp_path / "nb", via="notebook", progress=False, threads=1)
    assert a.ok and b.ok, b.summary()
    assert (tmp_path / "nb" / cfg.run_id() / "pretrain.ipynb").exists()
    assert H.comparable(load_metrics(tmp_path / "nb" / cfg.run_id())) == H.comparable(
        load_metrics(tmp_path / "fn" / cfg.run_id()))


def test_execute_job_skips_a_run_another_worker_holds(tmp_path):
    cfg = H.tiny()
    job = Job(config=cfg.to_dict(), output_dir=str(tmp_path), run_fn="sweep_helpers:counting_run")
    held = RunLock(tmp_path / cfg.run_id())
    assert held.acquire()
    try:
        res = execute_job(job)
        assert res.status == "busy" and str(os.getpid()) in res.error
        assert run_status(tmp_path / cfg.run_id()) in ("running", "partial")
    finally:
        held.release()
    assert H.calls(tmp_path) == []


# ------------------------------------------------------------------------------ results and CLI
def test_results_table_and_summary(tmp_path):
    out = tmp_path / "runs"
    study = Study(name="res", budgets=(32,), n_classes=(4, 8), seeds=(0, 1),
                  base={**H.TINY, "probe_tasks": ("digits", "shapes")})
    assert run_study(study, out, progress=False).ok
    df = collect(out, study="res")
    assert len(df) == 2 * 2 * 2  # runs x tasks
    for col in ("run_id", "task", "budget", "n_classes", "samples_per_class", "ratio", "seed",
                "test_error", "val_error", "C", "epochs", "width", "total_s", "train_s",
                "pretrain_final_loss", "hardware_cpu_count", "versions_torch"):
        assert col in df, col
    assert "probe_tasks" not in df
    for ext in ("csv", "parquet"):
        back = load_results(write_results(df, tmp_path / f"runs.{ext}"))
        assert len(back) == len(df)
        assert back["test_error"].to_numpy() == pytest.approx(df["test_error"].to_numpy(),
                                                              rel=1e-5)
    s = summarize(df)
    assert len(s) == 2 * 2 and set(s["test_error_count"]) == {2}
    row = s[(s.task == "digits") & (s.n_classes == 4)].iloc[0]
    sel = df[(df.task == "digits") & (df.n_classes == 4)]["test_error"]
    assert row.test_error_mean == pytest.approx(sel.mean())
    assert row.test_error_std == pytest.approx(sel.std())


def test_cli_sweep_dry_run_then_sweep_then_results(tmp_path, capsys):
    spec = tmp_path / "cli.toml"
    spec.write_text(textwrap.dedent("""
        budgets = [32]
        n_classes = [4, 8, 3]
        seeds = [0]
        [base]
        epochs = 2.0
        batch_size = 8
        image_size = 8
        width = 4
        probe_tasks = ["digits"]
    """))
    out, csv = tmp_path / "runs", tmp_path / "res" / "runs.csv"
    assert cli.main(["sweep", str(spec), "--out", str(out), "--dry-run"]) == 0
    text = capsys.readouterr()
    assert "2 runs" in text.out and "2 new" in text.out and "K=3 does not divide" in text.err
    assert cli.main(["sweep", str(spec), "--out", str(out), "--csv", str(csv),
                     "--no-progress", "--threads", "1"]) == 0
    assert "2 done" in capsys.readouterr().out
    assert len(load_results(csv)) == 2
    record = json.loads((csv.parent / "sweep.json").read_text())
    assert record["command"].startswith("pretrain-diversity sweep ")
    assert record["runs"]["done"] == 2 and record["wall_s"] > 0
    csv2 = tmp_path / "again.csv"
    assert cli.main(["results", str(out), "--study", "cli", "--csv", str(csv2)]) == 0
    assert csv2.read_text() == csv.read_text()
    assert cli.main(["sweep", str(tmp_path / "missing.toml"), "--out", str(out)]) == 2


def test_variants_cross_the_grid_and_are_named_back():
    from pretrain_diversity.sweeps.spec import variant_of

    spec = {
        "name": "sources", "budgets": [64], "n_classes": [8], "seeds": [0, 1],
        "variants": {"broad": {}, "noisy": {"label_noise": 0.5}, "latin": {"class_pool": "latin"}},
        "grid": {"width": [4, 8]}, "base": {"image_size": 8},
    }  # fmt: skip
    study = Study.from_dict(spec)
    configs = study.expand()
    assert len(configs) == 3 * 2 * 2
    names = [variant_of(study, c) for c in configs]
    assert {n: names.count(n) for n in set(names)} == {"broad": 4, "noisy": 4, "latin": 4}
    with pytest.raises(StudyError, match="variants.noisy sets"):
        Study.from_dict({**spec, "base": {"label_noise": 0.1}})
    with pytest.raises(StudyError, match="unknown run parameter"):
        Study.from_dict({**spec, "variants": {"bad": {"label_nose": 0.5}}})
