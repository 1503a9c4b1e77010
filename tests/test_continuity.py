"""Studies that survive a change of machine: a sweep killed mid-way and continued on a fresh clone
(records, no run folders) ends with the table of an uninterrupted one and retrains no finished
run; ``pretrain-diversity studies`` trains nothing once every run is recorded; the planner's
estimate, calibrated on this machine's records, is within 1.5x of the time measured."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
import sweep_helpers as H

from pretrain_diversity import cli
from pretrain_diversity.analysis.tables import load_results
from pretrain_diversity.sweeps import cost
from pretrain_diversity.sweeps.records import load_records
from pretrain_diversity.sweeps.runner import run_study
from pretrain_diversity.sweeps.spec import Study

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
# What depends on where and when a run executed, not on what it computed.
EXECUTION = ("total_s", "data_s", "train_s", "probe_s", "train_images_per_s")


def study_spec(path: Path, name: str, seeds=(0, 1), n_classes=(2, 4, 8)) -> Path:
    spec = Study(name=name, budgets=(32,), n_classes=n_classes, seeds=seeds, base=dict(H.TINY))
    path.write_text(__import__("json").dumps(spec.to_dict()))
    return path


def comparable_table(path) -> pd.DataFrame:
    df = load_results(path)
    df = df.drop(columns=[c for c in df if c in EXECUTION or c.startswith("hardware_")])
    return df.sort_values(["run_id", "task"]).reset_index(drop=True)


def test_killed_study_continued_on_a_fresh_machine_gives_the_same_table(tmp_path, monkeypatch):
    spec = study_spec(tmp_path / "kill.json", "kill")
    # The reference: the study swept without interruption.
    ref_csv = tmp_path / "ref" / "results" / "runs.csv"
    assert cli.main(["sweep", str(spec), "--out", str(tmp_path / "ref" / "runs"), "--csv",
                     str(ref_csv), "--no-progress", "--threads", "1"]) == 0
    # A sweep in its own process, killed by SIGKILL once some (not all) runs are recorded.
    clone = tmp_path / "clone"
    records, runs = clone / "results" / "records", clone / "runs"
    script = textwrap.dedent(f"""
        from pretrain_diversity.sweeps.runner import run_study
        run_study({str(spec)!r}, {str(runs)!r}, run_fn="sweep_helpers:counting_run",
                  progress=False, threads=1, records={str(records)!r})
    """)
    env = {**os.environ, H.SLEEP_ENV: "1.5"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(TESTS), env.get("PYTHONPATH", "")])
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    deadline = time.monotonic() + 120
    while len(list(records.glob("*.json"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    recorded = sorted(p.stem for p in records.glob("*.json"))
    assert 2 <= len(recorded) < 6, recorded
    # A new machine: the committed records only, no run folders.
    shutil.rmtree(runs)
    monkeypatch.setenv(H.SLEEP_ENV, "0")
    csv = clone / "results" / "runs.csv"
    report = run_study(spec, runs, run_fn=H.counting_run, progress=False, threads=1,
                       records=records)
    assert report.ok and report.count("cached") == len(recorded)
    assert report.count("done") == 6 - len(recorded)
    assert not set(H.calls(runs)) & set(recorded)  # no recorded run trained again
    assert not any((runs / rid).exists() for rid in recorded)
    assert cli.main(["results", "--records", str(records), "--csv", str(csv)]) == 0
    pd.testing.assert_frame_equal(comparable_table(csv), comparable_table(ref_csv))


def tiny_toml(path: Path, n_classes=(4, 8)) -> None:
    lines = ["budgets = [32]", f"n_classes = {list(n_classes)}", "[base]"]
    for k, v in H.TINY.items():
        lines.append(f"{k} = {list(v) if isinstance(v, tuple) else v}".replace("'", '"'))
    path.write_text("\n".join(lines) + "\n")


def test_studies_trains_nothing_once_every_run_is_recorded(tmp_path, capsys):
    root = tmp_path / "repo"
    (root / "studies").mkdir(parents=True)
    tiny_toml(root / "studies" / "tiny.toml")
    argv = ["studies", "--root", str(root), "--study", "tiny", "--no-progress", "--threads", "1"]
    assert cli.main(argv) == 0
    first = capsys.readouterr().out
    assert "planned vs measured" in first and "2 done" in first
    table = root / "results" / "tiny" / "runs.csv"
    assert len(load_results(table)) == 2 and len(list((root / "results" / "tiny" / "records")
                                                      .glob("*.json"))) == 2
    before = table.read_text()
    shutil.rmtree(root / "runs")  # a fresh clone
    t0 = time.perf_counter()
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert time.perf_counter() - t0 < 20
    assert "0 of    2 runs to train" in out and "2 cached" in out and "0 done" in out
    assert not [p for p in (root / "runs" / "tiny").iterdir() if p.is_dir()]
    assert table.read_text() == before
    assert cli.main(["studies", "--root", str(root), "--study", "nope"]) == 2


def test_planner_estimate_is_within_1_5x_of_the_measured_time(tmp_path):
    # runs of a few seconds, so the machine's noise (other jobs on shared cores) is a small part
    base = {**H.TINY, "epochs": 30.0, "probe_tasks": ("digits", "shapes")}
    pilot = Study(name="pilot", budgets=(128,), n_classes=(4, 16), seeds=(0, 1), base=base)
    assert run_study(pilot, tmp_path / "runs", progress=False, threads=1,
                     records=tmp_path / "records").ok
    rate = cost.calibrate(load_records(tmp_path / "records"))
    assert rate is not None and "recorded run" in rate.source
    study = Study(name="next", budgets=(128, 256), n_classes=(8, 32), seeds=(3,), base=base)
    planned = cost.plan_configs("next", study.expand(), rate).seconds
    report = run_study(study, tmp_path / "runs", progress=False, threads=1)
    assert report.ok and report.count("done") == 4
    print(f"planned {planned:.1f} s, measured {report.wall_s:.1f} s")
    assert 1 / 1.5 <= planned / report.wall_s <= 1.5, (planned, report.wall_s)


def test_a_study_copies_the_runs_another_study_recorded(tmp_path, capsys):
    """Two studies that share grid points (the application target and Figure 1's largest
    budget) share their runs: the second trains only its own points and copies the rest."""
    root = tmp_path / "repo"
    (root / "studies").mkdir(parents=True)
    tiny_toml(root / "studies" / "first.toml", (4, 8))
    tiny_toml(root / "studies" / "second.toml", (2, 4, 8))
    base = ["studies", "--root", str(root), "--no-progress", "--threads", "1"]
    assert cli.main([*base, "--study", "first"]) == 0
    capsys.readouterr()
    assert cli.main([*base, "--study", "second"]) == 0
    out = capsys.readouterr().out
    assert "1 of    3 runs to train" in out and "1 done, 2 cached" in out, out
    first = {r["run_id"]: r for r in load_records(root / "results" / "first" / "records")}
    second = {r["run_id"]: r for r in load_records(root / "results" / "second" / "records")}
    copied = {i for i, r in second.items() if r.get("copied_from")}
    assert copied == set(first) and len(second) == 3
    assert {second[i]["copied_from"] for i in copied} == {"results/first/records"}
    for i in copied:  # the same measurement, not a rerun
        assert second[i]["metrics"] == first[i]["metrics"]
    assert len(load_results(root / "results" / "second" / "runs.csv")) == 3
    # a record replaced by another measurement of the same run (copied again under other
    # versions): the same run ids, other numbers; the table must follow its records
    import json

    rid = sorted(copied)[0]
    path = root / "results" / "second" / "records" / f"{rid}.json"
    rec = json.loads(path.read_text())
    task = next(iter(rec["metrics"]["probe"]))
    rec["metrics"]["probe"][task]["test_error"] = 0.987
    path.write_text(json.dumps(rec))
    assert cli.main([*base, "--study", "second"]) == 0
    df = load_results(root / "results" / "second" / "runs.csv")
    assert df[(df.run_id == rid) & (df.task == task)].test_error.tolist() == [0.987]


def test_a_copy_prefers_the_record_made_under_this_environments_versions(tmp_path):
    """The same run id recorded twice, under other software and under this one (a migrated
    table beside a rerun): the copy must be the one that training here would reproduce, whichever
    folder comes first."""
    from pretrain_diversity.runs.machine import versions
    from pretrain_diversity.sweeps.records import write_record
    from pretrain_diversity.sweeps.runner import copy_shared_record

    import json

    old, new, mine = (tmp_path / "results" / n / "records" for n in ("a", "b", "c"))
    real = json.loads(next((ROOT / "results" / "figure1" / "records").glob("*.json")).read_text())
    rid = real["run_id"]
    a = {**real, "metrics": {**real["metrics"], "marker": 1}, "versions": {**versions(), "torch": "0.0"}}
    write_record(old, a)
    write_record(new, {**real, "metrics": {**real["metrics"], "marker": 2}, "versions": versions()})
    assert copy_shared_record(rid, mine, [old, new])
    got = load_records(mine)[0]
    assert got["metrics"]["marker"] == 2 and got["copied_from"] == "results/b/records"
    assert not copy_shared_record("0000000000000000", mine, [old, new])
    write_record(new, {**real, "metrics": {**real["metrics"], "marker": 2},
                       "versions": {**versions(), "torch": "9.9"}})
    (mine / f"{rid}.json").unlink()
    assert copy_shared_record(rid, mine, [old, new])  # no match: the first folder's
    assert load_records(mine)[0]["metrics"]["marker"] == 1


def test_the_probe_rate_comes_from_runs_probed_by_the_solver_that_runs_now(monkeypatch):
    import torch

    from pretrain_diversity.config import RunConfig
    from pretrain_diversity.evaluation.probe import PROBE_ENV, PROBE_VERSIONS
    from pretrain_diversity.runs.machine import hardware

    cfg = RunConfig(n_classes=16, samples_per_class=8, probe_tasks=("digits",)).to_dict()

    def record(probe_s, probe):
        return {"config": cfg, "hardware": hardware(torch.device("cpu")),
                "timing": {"train_s": 1.0, "data_s": 0.1, "probe_s": probe_s},
                "versions": {"probe": PROBE_VERSIONS[probe]}}

    runs = [record(9.0, "sklearn"), record(9.0, "sklearn"), record(1.0, "torch")]
    monkeypatch.setenv(PROBE_ENV, "torch")
    fast = cost.calibrate(runs)
    monkeypatch.setenv(PROBE_ENV, "sklearn")
    slow = cost.calibrate(runs)
    assert slow.probe_s_per_unit == pytest.approx(9 * fast.probe_s_per_unit)
    assert "torch-lbfgsb" in fast.source and "sklearn" in slow.source
    assert fast.images_per_s == slow.images_per_s  # training is read from every run
    monkeypatch.setenv(PROBE_ENV, "torch")  # no run probed by the solver: every run counts
    assert cost.calibrate(runs[:2]).probe_s_per_unit == slow.probe_s_per_unit
