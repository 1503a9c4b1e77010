"""Run records: the committed trace of every measured run. Each committed table re-derives from
its records exactly, each record hashes back to its run id, and a sweep writes records as runs
finish and trusts them on a fresh machine."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import sweep_helpers as H

from pretrain_diversity.analysis.tables import collect_records, table_of, write_results
from pretrain_diversity.config import RunConfig
from pretrain_diversity.sweeps.records import load_records, read_record, record_path
from pretrain_diversity.sweeps.runner import run_study
from pretrain_diversity.sweeps.spec import Study
from pretrain_diversity.cli.table_records import records_of_table

ROOT = Path(__file__).resolve().parents[1]
TABLES = sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("results/**/runs.csv"))


def read_sorted(path) -> pd.DataFrame:
    df = pd.read_csv(path)
    key = ["run_id", "task"] + [c for c in ("protocol", "k") if c in df]
    return df.sort_values(key).reset_index(drop=True)


@pytest.mark.parametrize("table", TABLES)
def test_committed_table_re_derives_from_its_records(table, tmp_path):
    records_dir = ROOT / table.replace("runs.csv", "records")
    committed = read_sorted(ROOT / table)
    assert records_dir.is_dir(), f"{table} has no records"
    records = load_records(records_dir, committed["run_id"].unique())
    assert len(records) == committed["run_id"].nunique()  # a record per run, none damaged
    derived = read_sorted(write_results(table_of(records), tmp_path / "runs.csv"))
    # Config fields added after a table was made are in every derived row, all empty ("as
    # before the field existed"); nothing else may differ.
    added = set(derived) - set(committed)
    config = {f for f in RunConfig.__dataclass_fields__}
    assert added <= config and all(derived[c].isna().all() for c in added), added
    assert set(committed) <= set(derived)
    cols = sorted(committed.columns)
    pd.testing.assert_frame_equal(derived[cols], committed[cols], check_dtype=False)


@pytest.mark.parametrize("table", TABLES)
def test_every_record_hashes_back_to_its_run_id(table):
    records_dir = ROOT / table.replace("runs.csv", "records")
    ids = [p.stem for p in sorted(records_dir.glob("*.json"))]
    assert ids
    for rid in ids:
        rec = read_record(records_dir, rid)  # DamagedFile if its config hashes elsewhere
        assert RunConfig.from_dict(rec["config"]).run_id() == rid
        assert "history" not in rec  # records carry no training curve (and no weights)


def test_migration_rebuilds_the_records_it_committed():
    # the v1 variety table is still the one its records were migrated from (Figure 1's and the
    # application's now also hold records trained, or copied, since)
    records, problems = records_of_table(ROOT / "results" / "invariance" / "variety" / "runs.csv")
    assert not problems and len(records) == 135
    on_disk = read_record(ROOT / "results" / "invariance" / "variety" / "records",
                          records[0]["run_id"])
    assert on_disk.get("migrated_from")
    # the config as a RunConfig: a field added to RunConfig later (None, outside the run id)
    # appears in a rebuilt record's dict but not in one committed before it existed
    same = lambda rec: {k: v for k, v in rec.items() if k not in ("recorded", "config")}  # noqa: E731
    assert same(on_disk) == same(records[0])
    assert RunConfig.from_dict(on_disk["config"]) == RunConfig.from_dict(records[0]["config"])


def tiny_study(name="rec", seeds=(0,)) -> Study:
    return Study(name=name, budgets=(32,), n_classes=(4, 8), seeds=seeds, base=dict(H.TINY))


def test_sweep_writes_records_and_a_fresh_machine_trains_nothing(tmp_path):
    records = tmp_path / "results" / "records"
    r1 = run_study(tiny_study(), tmp_path / "runs", run_fn=H.counting_run, progress=False,
                   records=records)
    assert r1.ok and r1.count("done") == 2
    ids = sorted(p.stem for p in records.glob("*.json"))
    assert ids == sorted(r.run_id for r in r1.results)
    # A fresh clone: the records, no run folders. Nothing trains; the table is the same.
    fresh = tmp_path / "fresh-runs"
    r2 = run_study(tiny_study(), fresh, run_fn=H.counting_run, progress=False, records=records)
    assert r2.ok and r2.count("cached") == 2 and H.calls(fresh) == []
    assert not any(p.is_dir() for p in fresh.iterdir())
    assert collect_records(records, ids).equals(table_of([json.loads(
        record_path(records, i).read_text()) for i in ids]))


def test_a_damaged_record_is_set_aside_and_its_run_trained_again(tmp_path, capsys):
    records = tmp_path / "records"
    study = tiny_study(seeds=(0, 1))
    assert run_study(study, tmp_path / "a", progress=False, records=records).ok
    ids = sorted(p.stem for p in records.glob("*.json"))
    bad = record_path(records, ids[0])
    bad.write_text(bad.read_text()[:100])  # truncated mid-write by some other tool
    wrong = record_path(records, ids[1])
    m = json.loads(wrong.read_text())
    m["config"]["seed"] = 7  # hashes to another run
    wrong.write_text(json.dumps(m))
    r = run_study(study, tmp_path / "b", run_fn=H.counting_run, progress=False, records=records)
    assert r.ok and r.count("done") == 2 and r.count("cached") == 2, r.summary()
    assert sorted(H.calls(tmp_path / "b")) == sorted(ids[:2])
    text = r.summary()
    assert f"{ids[0]}.json" in text and "not valid JSON" in text and "hashes to" in text
    assert len(list(records.glob("*.damaged-*"))) == 2
    assert sorted(p.stem for p in records.glob("*.json")) == ids  # written again, readable
    for i in ids:
        assert read_record(records, i)
