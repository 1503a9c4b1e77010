"""The CLI's planning and simulation commands: ``plan`` (what the book's invariance page cites)
and ``simulate`` (the same entry as ``python -m pretrain_diversity.analysis.simulation``)."""

from __future__ import annotations

import json
from pathlib import Path

from pretrain_diversity import cli

ROOT = Path(__file__).resolve().parents[1]


def test_plan_prints_runs_images_and_minutes_per_study(capsys):
    specs = [str(ROOT / "studies" / f"invariance-{k}.toml") for k in ("capacity", "epochs")]
    assert cli.main(["plan", *specs, "--workers", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "measured" in out[0] and "2 worker(s)" in out[0]  # a rate measured here, not assumed
    rows = {line.split()[0]: line for line in out[1:-1]}
    assert set(rows) == {"invariance-capacity", "invariance-epochs"}
    assert "45 runs" in rows["invariance-capacity"] and "6.8 M training images" in rows[
        "invariance-capacity"]
    minutes = [float(r.split("~")[1].split()[0]) for r in rows.values()]
    assert all(m > 1 for m in minutes) and out[-1].startswith("  total: ~")


def test_plan_refuses_a_bad_spec(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("budgets = [\n")
    assert cli.main(["plan", str(bad)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {bad}: line ")


def test_simulate_is_the_simulation_module(tmp_path, capsys):
    out = tmp_path / "sim.json"
    assert cli.main(["simulate", "--preset", "quick", "--out", str(out)]) == 0
    assert "runs in" in capsys.readouterr().out
    assert json.loads(out.read_text())
