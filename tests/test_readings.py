"""One study read as fixed epochs, fixed compute and trained: real tiny runs at several lengths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pretrain_diversity.analysis import readings as R
from pretrain_diversity.analysis.tables import table_of
from pretrain_diversity.config import RunConfig
from pretrain_diversity.runs.experiment import run_experiment


@pytest.fixture(scope="module")
def lengths_table(tmp_path_factory) -> pd.DataFrame:
    base = RunConfig(image_size=8, width=4, epochs=3.0, batch_size=32, probe_tasks=("digits",),
                     lengths=(0.5, 1, 2, 4))
    out = tmp_path_factory.mktemp("readings")
    fields = {f: v for f, v in base.to_dict().items() if f not in ("n_classes", "samples_per_class")}
    runs = [run_experiment(RunConfig.from_budget(budget, k, **fields), out, progress=False)
            for budget in (64, 128) for k in (4, 8, 16)]
    return table_of(runs)


def test_each_protocol_is_one_row_per_run_and_task(lengths_table):
    runs = lengths_table["run_id"].nunique()
    for protocol in R.PROTOCOLS:
        rows = R.protocol_rows(lengths_table, protocol)
        assert len(rows) == runs  # one task
        assert rows["run_id"].is_unique


def test_fixed_epochs_is_length_one_and_fixed_compute_shares_its_steps(lengths_table):
    epochs = R.protocol_rows(lengths_table, R.FIXED_EPOCHS)
    assert set(epochs["length"]) == {1.0}
    # 3 epochs of 64 or 128 images at batch 32: 6 and 12 steps
    assert dict(epochs.groupby("budget")["pretrain_steps"].first()) == {64: 6, 128: 12}
    # read at 3-24 and 6-48 steps: the largest shared count is 24 (length 4 and 2)
    assert R.fixed_compute_steps(lengths_table) == 24
    compute = R.protocol_rows(lengths_table, R.FIXED_COMPUTE)
    assert set(compute["pretrain_steps"]) == {24}
    assert dict(compute.groupby("budget")["length"].first()) == {64: 4.0, 128: 2.0}


def test_the_trained_reading_is_each_runs_plateau(lengths_table):
    trained = R.protocol_rows(lengths_table, R.TRAINED)
    assert (trained["length"] == trained["plateau_length"]).all()
    assert not trained.loc[~trained["plateau_reached"].astype(bool), "length"].ne(4.0).any()
    status = R.training_status(lengths_table)
    assert len(status) == 6 and (status["seeds"] == 1).all()
    assert (status["under_trained"] == (status["train_accuracy"] < R.TRAINED_ENOUGH)).all()
    # longer is better fitted: the fixed-epochs reading fits no better than the longest one
    longest = R.length_rows(lengths_table, 4.0).drop_duplicates("run_id")
    first = R.length_rows(lengths_table, 0.5).drop_duplicates("run_id")
    assert longest["pretrain_final_accuracy"].mean() > first["pretrain_final_accuracy"].mean()


def test_the_optimum_path_has_a_point_per_task_budget_and_length(lengths_table):
    path = R.optimum_path(lengths_table)
    assert len(path) == 2 * 4  # budgets x lengths, one task
    assert path["K_star"].between(4 / 1.01, 16 * 1.01).all()
    steps = path.set_index(["budget", "length"])["steps"]
    assert steps[(128, 2.0)] == steps[(64, 4.0)] == 24


def test_a_table_without_lengths_is_refused(lengths_table):
    plain = lengths_table.drop(columns=["length", "at_plateau"])
    with pytest.raises(ValueError, match="several training lengths"):
        R.protocol_rows(plain, R.TRAINED)
    with pytest.raises(ValueError, match="unknown protocol"):
        R.protocol_rows(lengths_table, "forever")


def test_crossfitting_selects_on_one_test_half_and_reports_the_other(lengths_table):
    a = R.crossfit_table(lengths_table, "a")
    b = R.crossfit_table(lengths_table, "b")
    assert (a["val_error"] == lengths_table["test_error_half_a"]).all()
    assert (a["test_error"] == b["val_error"]).all() and (b["test_error"] == a["val_error"]).all()
    # the two halves average to the whole test error
    whole = (a["val_error"] + a["test_error"]) / 2
    assert np.allclose(whole, lengths_table["test_error"], atol=1 / lengths_table["n_test"].max())
    older = lengths_table.drop(columns=["test_error_half_a", "test_error_half_b"])
    with pytest.raises(ValueError, match="halves"):
        R.crossfit_table(older)


def test_the_plateau_is_recomputed_by_the_accuracy_rule(lengths_table):
    from pretrain_diversity.training.lengths import plateau

    assert plateau([0.0, 0.0, 0.01, 0.5, 0.51]) == 3  # flat before learning is no plateau
    assert plateau([0.2, 0.5, 0.51, 0.515]) == 1
    assert plateau([0.1, 0.3, 0.6]) is None
    t = R.with_plateau(lengths_table)
    for rid, g in t.groupby("run_id"):
        g = g.drop_duplicates("length").sort_values("length")
        at = g[g.at_plateau]
        assert len(at) == 1
        later = g[g.length > at.length.iloc[0]]["pretrain_heldout_accuracy"]
        if at.plateau_reached.iloc[0]:
            assert later.max() - at.pretrain_heldout_accuracy.iloc[0] < 0.02
    assert "recorded_plateau_length" in t
