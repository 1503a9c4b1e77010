"""Training length as an axis: cool-down branches off one trunk, the plateau rule, resumption."""

from __future__ import annotations

import json

import pytest
import torch

from pretrain_diversity.analysis.tables import table_of
from pretrain_diversity.config import ConfigError, RunConfig
from pretrain_diversity.runs.experiment import (
    CHECKPOINT, TrainingStopped, is_done, run_dir_for, run_experiment,
)  # fmt: skip
from pretrain_diversity.runs.validation import validate
from pretrain_diversity.sweeps.cost import config_images, probe_units
from pretrain_diversity.training.lengths import READINGS_DIR, plateau, plateau_summary
from pretrain_diversity.training.schedule import wsd_lr_at


@pytest.fixture
def length_cfg(tiny_cfg) -> RunConfig:
    return tiny_cfg.with_(epochs=4.0, probe_tasks=("digits",))


def test_wsd_schedule_warms_holds_and_cools_to_zero():
    lrs = [wsd_lr_at(s, 4, 20, 30, 0.1) for s in range(30)]
    assert lrs[:4] == pytest.approx([0.025, 0.05, 0.075, 0.1])
    assert set(lrs[4:20]) == {0.1}  # the trunk: no dependence on where a branch ends
    assert lrs[19:] == sorted(lrs[19:], reverse=True) and lrs[-1] == pytest.approx(0.01)
    # the same trunk whatever the branch's end
    assert [wsd_lr_at(s, 4, 20, 90, 0.1) for s in range(20)] == lrs[:20]


def test_branches_and_cost_follow_the_lengths(length_cfg):
    cfg = length_cfg.with_(lengths=(1, 2, 4))
    s = cfg.steps
    (l1, f1, e1), (l2, f2, e2), (l4, f4, e4) = cfg.branches()
    assert (e1, e2, e4) == (s, 2 * s, 4 * s)
    assert f4 == round(0.8 * 4 * s) and f1 < e1
    assert cfg.train_steps == f4 + (e1 - f1) + (e2 - f2) + (e4 - f4)
    assert config_images(cfg) > config_images(cfg.with_(lengths=(4,)))
    assert probe_units(cfg) == 3 * probe_units(length_cfg)
    # lengths given as 1.0 and 1 are the same run
    assert cfg.run_id() == length_cfg.with_(lengths=(1.0, 2.0, 4.0)).run_id()
    # a run without lengths keeps its id (the field is left out when None)
    assert "lengths" not in length_cfg.identity()


@pytest.mark.parametrize("bad, message", [
    ({"lengths": (2, 1)}, "increase strictly"),
    ({"lengths": (0,)}, "lengths entry"),
    ({"lengths": (1, 2), "dataset": "fonts"}, "original sampler"),
    ({"lengths": (1, 2), "styles_per_class": 4}, "original sampler"),
    ({"cooldown_frac": 0.2}, "needs lengths"),
    ({"lengths": (1, 2), "cooldown_frac": 1.5}, "cooldown_frac"),
])  # fmt: skip
def test_bad_lengths_are_refused_before_training(length_cfg, bad, message):
    with pytest.raises(ConfigError, match=message):
        validate(length_cfg.with_(**bad))


def test_plateau_rule():
    assert plateau([0.3, 0.6, 0.61, 0.9]) is None  # 0.6 is beaten later by 30 points
    assert plateau([0.3, 0.6, 0.61, 0.615]) == 1
    assert plateau([0.0, 0.0, 0.0, 0.4, 0.41]) == 3  # flat before learning is not a plateau
    assert plateau([0.9, 0.8]) == 0  # a fall is no gain
    readings = {k: {"pretrain": {"heldout_accuracy": v}} for k, v in
                {"0.5": 0.4, "1": 0.7, "2": 0.71, "4": 0.705}.items()}
    assert plateau_summary(readings) == {
        "rule": "no longer length raises held-out accuracy by 2 points or more",
        "reached": True, "length": 1.0}
    readings["4"]["pretrain"]["heldout_accuracy"] = 0.9
    assert plateau_summary(readings)["reached"] is False
    assert plateau_summary(readings)["length"] == 4.0


def test_a_branch_equals_the_run_trained_straight_to_its_length(length_cfg, tmp_path):
    """Reading length 2 off a trunk that also branched at 1 gives what a run with the single
    length 2 gives: the detour through branch 1 leaves the trunk exactly as it was."""
    torch.set_num_threads(1)
    both = run_experiment(length_cfg.with_(lengths=(1, 2)), tmp_path / "both", progress=False)
    alone = run_experiment(length_cfg.with_(lengths=(2,)), tmp_path / "alone", progress=False)
    a, b = both["metrics"]["lengths"]["2"], alone["metrics"]["lengths"]["2"]
    for key in ("final_loss", "final_accuracy", "heldout_loss", "heldout_accuracy"):
        assert a["pretrain"][key] == pytest.approx(b["pretrain"][key], rel=1e-5, abs=1e-6)
    assert a["probe"]["digits"]["val_errors"] == pytest.approx(b["probe"]["digits"]["val_errors"],
                                                               abs=1e-9)
    # and the shorter branch is a different, earlier reading of the same run
    short = both["metrics"]["lengths"]["1"]["pretrain"]
    assert short["steps"] == length_cfg.steps and a["pretrain"]["steps"] == 2 * length_cfg.steps
    assert short["heldout_loss"] != a["pretrain"]["heldout_loss"]


def test_longer_training_fits_the_drawn_classes_better(length_cfg, tmp_path):
    cfg = length_cfg.with_(lengths=(0.5, 4))
    m = run_experiment(cfg, tmp_path, progress=False)
    r = m["metrics"]["lengths"]
    assert r["4"]["pretrain"]["final_accuracy"] > r["0.5"]["pretrain"]["final_accuracy"]
    assert r["4"]["pretrain"]["heldout_loss"] < r["0.5"]["pretrain"]["heldout_loss"]
    # the run's result is its longest reading; the table has a row per (length, task)
    assert m["metrics"]["probe"] == r["4"]["probe"]
    table = table_of([m])
    assert sorted(table["length"]) == [0.5, 4.0]
    assert table.set_index("length").loc[4.0, "pretrain_steps"] == 4 * cfg.steps
    assert table["at_plateau"].sum() == 1


def test_a_killed_run_resumes_at_its_last_fork_and_skips_read_branches(length_cfg, tmp_path):
    torch.set_num_threads(1)
    cfg = length_cfg.with_(lengths=(1, 2, 4))
    whole = run_experiment(cfg, tmp_path / "whole", progress=False)
    # killed on the trunk after branch 1 was read, before branch 2's fork
    stop = cfg.branches()[0][1] + (cfg.branches()[1][1] - cfg.branches()[0][1]) // 2
    with pytest.raises(TrainingStopped):
        run_experiment(cfg, tmp_path / "killed", progress=False, stop_after=stop)
    run_dir = run_dir_for(cfg, tmp_path / "killed")
    assert not is_done(run_dir) and (run_dir / CHECKPOINT).exists()
    saved = sorted(p.name for p in (run_dir / READINGS_DIR).iterdir())
    assert saved == ["1.json"]
    first = json.loads((run_dir / READINGS_DIR / "1.json").read_text())
    resumed = run_experiment(cfg, tmp_path / "killed", progress=False)
    assert resumed["metrics"]["lengths"]["1"] == first  # read once, not again
    for key in ("2", "4"):
        assert resumed["metrics"]["lengths"][key]["probe"] == whole["metrics"]["lengths"][key]["probe"]
        assert resumed["metrics"]["lengths"][key]["pretrain"] == pytest.approx(
            whole["metrics"]["lengths"][key]["pretrain"])
    assert resumed["history"] == whole["history"]
    assert not (run_dir / READINGS_DIR).exists() and not (run_dir / CHECKPOINT).exists()


def test_papermill_passes_lengths_as_text():
    cfg = RunConfig.from_parameters({"lengths": "0.5, 1,2", "n_classes": 8})
    assert cfg.lengths == (0.5, 1, 2) and cfg.run_id() == RunConfig(
        n_classes=8, lengths=(0.5, 1.0, 2.0)).run_id()
    with pytest.raises(ConfigError, match="lengths must be numbers"):
        RunConfig.from_parameters({"lengths": "1,two"})
