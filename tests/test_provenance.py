"""The one home of a page's "where the numbers come from": the regenerate command and the lines
read from a sweep's record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pretrain_diversity.sweeps import provenance as prov

ROOT = Path(__file__).resolve().parents[1]


def _studies():
    from pretrain_diversity.studies import application as A
    from pretrain_diversity.studies import invariance as I
    from pretrain_diversity.studies import pretraining_data as E
    from pretrain_diversity.studies import figure1 as F

    yield F.STUDY, F.RESULTS, F.RUNS_DIR
    yield A.STUDY, A.RESULTS, A.RUNS_DIR
    for k in I.KNOBS:
        yield I.SPECS[k], I.results_path(k), I.RUNS_DIR
    for s in E.STUDIES:
        yield E.SPECS[s], E.RESULTS[s], E.RUNS_DIR


@pytest.mark.parametrize("spec,csv,out", list(_studies()), ids=lambda v: str(v))
def test_the_built_command_is_the_one_the_cli_recorded(spec, csv, out):
    """Without a record the pages print the command they build; it must be the one
    ``pretrain-diversity sweep --csv`` wrote into the committed record."""
    record = prov.read_record(csv, ROOT)
    assert record is not None, f"no {prov.record_path(csv)} committed"
    assert prov.sweep_command(spec, csv, out) == record["command"]
    assert prov.shown_command(None, spec, csv, out) == record["command"]


def test_wall_time_reads_the_record(tmp_path):
    rec = {"command": "pretrain-diversity sweep x", "wall_s": 90.0, "started": "2026-01-01T00:00",
           "runs": {"done": 3, "cached": 0, "failed": 1}, "sum_run_total_s": 300.0,
           "machine": {"host_cpus": 2, "processor": "x86"}, "note": "rerun"}
    csv = Path("results") / "s" / "runs.csv"
    (tmp_path / csv.parent).mkdir(parents=True)
    (tmp_path / csv.parent / "sweep.json").write_text(json.dumps(rec))
    got = prov.read_record(csv, tmp_path)
    assert got == rec
    assert prov.run_counts(got) == "3 done, 1 failed"
    assert prov.wall_time(got) == ("measured wall time: **1.5 min** (3 done, 1 failed runs) on 2 "
                                   "CPU cores, started 2026-01-01T00:00")
    full = prov.wall_time(got, after=" for the sweep", processor=True, run_sum=True, note=True)
    assert full.endswith("on 2 CPU cores (x86), started 2026-01-01T00:00; the runs' own times "
                         "add up to 5.0 min (rerun)")
    block = prov.provenance_block(got, "studies/s.toml", csv, "runs/s", ["- detail"])
    assert block.splitlines()[:4] == ["```", "pretrain-diversity sweep x", "```", "- detail"]
    assert block.splitlines()[4].startswith("- measured wall time: **1.5 min**")


def test_a_missing_record_says_so(tmp_path):
    csv = Path("results") / "s" / "runs.csv"
    assert prov.read_record(csv, tmp_path) is None
    assert prov.wall_time(None) == "measured wall time: not recorded (no `sweep.json` beside the table)"
    assert prov.wall_time(None, missing="nothing") == "nothing"
    block = prov.provenance_block(None, "studies/s.toml", csv, "runs/s", [])
    assert ("pretrain-diversity sweep studies/s.toml --out runs/s --launcher processes --workers 2 "
            "--threads 1 --csv results/s/runs.csv") in block
    walls = prov.wall_times({"s": csv}, tmp_path)
    assert walls.study.tolist() == ["s"] and walls.wall_min.isna().all()


def test_wall_time_reads_the_cpu_count_of_either_machine_block():
    """Sweep records since the machine block got one home (``runs.machine``) say ``cpu_count``;
    older committed ones say ``host_cpus``. Both read as the machine's cores, never as 'None'."""
    from pretrain_diversity.runs.machine import machine

    base = {"wall_s": 60.0, "started": "s", "runs": {"done": 1}}
    new = prov.wall_time({**base, "machine": machine()})
    assert f"on {machine()['cpu_count']} CPU cores" in new and "None" not in new
    assert "on 2 CPU cores" in prov.wall_time({**base, "machine": {"host_cpus": 2}})


def test_a_sweep_that_found_runs_cached_also_shows_the_runs_own_time():
    """Its wall time covers only the runs it trained; the summed run time says what the table
    cost (a study made over sessions, or with runs copied from another study)."""
    rec = {"wall_s": 60.0, "started": "s", "sum_run_total_s": 600.0, "machine": {"cpu_count": 2}}
    fresh = prov.wall_time({**rec, "runs": {"done": 3, "cached": 0}})
    resumed = prov.wall_time({**rec, "runs": {"done": 1, "cached": 9}})
    assert "own times" not in fresh
    assert resumed.endswith("the runs' own times add up to 10.0 min")
    assert "own times" not in prov.wall_time({**rec, "runs": {"cached": 9}}, run_sum=False)


def test_the_chapter_wall_time_adds_the_runs_a_resumed_sweep_found_cached(tmp_path):
    """A study resumed in a later session times only what it trained; the chapter's summary must
    also give every run's own time, summed, and never a budget typed into the prose."""
    from pretrain_diversity.studies import pretraining_data as E

    tables = {}
    for name, rec in {
        "a": {"wall_s": 120.0, "runs": {"done": 2, "cached": 8}, "sum_run_total_s": 600.0},
        "b": {"wall_s": 60.0, "runs": {"done": 4, "cached": 0}, "sum_run_total_s": 110.0},
    }.items():
        csv = Path("results") / name / "runs.csv"
        (tmp_path / csv.parent).mkdir(parents=True)
        (tmp_path / csv.parent / "sweep.json").write_text(json.dumps(
            {**rec, "started": "t", "machine": {"cpu_count": 2}}))
        tables[name] = csv
    walls = prov.wall_times(tables, tmp_path)
    assert walls.run_sum_min.tolist() == [10.0, 110.0 / 60]
    text = E.wall_time_summary(walls, ["cmd"]).splitlines()
    assert text[3] == "- a: 2.0 min (2 done, 8 cached runs); the runs' own times add up to 10.0 min, started t"
    assert text[4] == "- b: 1.0 min (4 done runs), started t"
    assert text[5].startswith("- **all 2 studies: 3.0 min** of wall time in their last sweeps, on 2")
    assert text[5].endswith("every run's own time adds up to 11.8 min") and "budget" not in text[5]
