"""The trained Figure 1 study's page helpers on the committed records (a study in progress)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pretrain_diversity.studies import figure1_trained as T


@pytest.fixture(scope="module")
def trained():
    df, recorded, planned = T.load_trained()
    return df, recorded, planned


def test_complete_budgets_are_those_with_every_planned_run(trained):
    df, recorded, planned = trained
    complete = T.complete_budgets(df)
    assert recorded <= planned
    runs = df.drop_duplicates("run_id").groupby("budget")["run_id"].nunique()
    for n in complete:
        assert runs[n] == 5 * len(df[df.budget == n].n_classes.unique())  # 5 seeds x every K
    # a budget with a missing run is not complete
    some = df[df.run_id != df[df.budget == complete[0]].run_id.iloc[0]]
    assert complete[0] not in T.complete_budgets(some)


def test_planned_design_is_the_spec_with_measured_noise(trained):
    df, _, _ = trained
    d = T.planned_design(df, "glyphs-heldout")
    assert set(d.grid) == {1024, 4096, 16384} and d.seeds == (0, 1, 2, 3, 4)
    assert d.grid[16384][0] == 16 and d.n_val == 1000
    assert 0 < d.seed_sd < 0.2 and d.curvature > 0
    one = df[df.budget == T.complete_budgets(df)[0]]
    with pytest.raises(ValueError, match="two complete budgets"):
        T.planned_design(one, "glyphs-heldout")


def test_seeds_power_view_reads_the_lever():
    lever = pd.DataFrame([
        dict(seeds=5, slope=0.0, p_ideal=0.0, median_width=0.9, sims=20),
        dict(seeds=5, slope=0.5, p_ideal=0.4, median_width=0.8, sims=20),
        dict(seeds=5, slope=-0.5, p_ideal=0.6, median_width=1.0, sims=20),
        dict(seeds=20, slope=0.0, p_ideal=0.85, median_width=0.3, sims=20),
        dict(seeds=20, slope=0.5, p_ideal=1.0, median_width=0.3, sims=20),
        dict(seeds=20, slope=-0.5, p_ideal=1.0, median_width=0.3, sims=20),
    ])
    v = T.seeds_power_view({"glyphs-heldout": lever}).set_index("seeds")
    assert v.loc[5, "P(drift found | slope ±0.5)"] == "50%"
    assert v.loc[20, "P('invariant' | slope 0)"] == "85%"
    assert v.loc[5, "median width of the 95% interval"] == "0.90"
    assert T.seeds_needed(lever, 0.5) == "20 seeds"  # both signs must reach the target
    assert T.seeds_needed(lever, 0.0, target=0.9) == "more than 20 seeds"


def test_smallest_detectable_drift_needs_both_signs_and_every_larger_slope():
    def table(p):  # p: {slope: P(ideal label)}
        return pd.DataFrame([dict(seeds=5, slope=s, p_ideal=v, sims=20) for s, v in p.items()])

    found = {0.0: 0.0, 0.2: 0.3, -0.2: 0.9, 0.5: 0.85, -0.5: 0.8, 1.0: 1.0, -1.0: 0.95}
    assert T.smallest_detectable(table(found)) == 0.5  # +0.2 is found only 30% of the time
    # a larger drift missed breaks the run from the top, whatever the smaller ones do
    holes = {**found, 0.2: 0.9, 0.5: 0.5}
    assert T.smallest_detectable(table(holes)) == 1.0
    assert T.smallest_detectable(table({0.0: 0.1, 1.0: 0.7, -1.0: 1.0})) == float("inf")
    view = T.drift_power_view({"digits": table({0.0: 0.1, 1.0: 0.7, -1.0: 1.0}),
                               "glyphs-heldout": table(found)}).set_index("task")
    assert view.loc["digits", "smallest drift found 80% of the time"] == "none up to ±1"
    assert view.loc["glyphs-heldout", "smallest drift found 80% of the time"] == "±0.5"
    assert view.loc["glyphs-heldout", "slope +0.2"] == "30%"


def test_protocol_findings_word_each_reading_and_the_detectable_drift():
    rows = []
    for protocol, slope, verdict in (("trained", 0.1, "inconclusive"),
                                     ("fixed epochs", 0.9, "drifts up"),
                                     ("fixed compute", -0.6, "drifts down")):
        rows.append(dict(protocol=protocol, task="glyphs-heldout", slope=slope, lo=slope - 0.5,
                         hi=slope + 0.5, rule=verdict, verdict=verdict, broken=""))
    drifts = {"glyphs-heldout": pd.DataFrame([
        dict(seeds=5, slope=s, p_ideal=p, sims=20)
        for s, p in ((0.0, 0.1), (0.5, 0.9), (-0.5, 0.85), (1.0, 1.0), (-1.0, 1.0))])}
    f = T.protocol_findings(pd.DataFrame(rows), drifts)
    assert f["trained_ours"] == "glyphs-heldout +0.10"
    assert "cannot tell" in f["trained_verdict"]
    assert "grows" in f["epochs_verdict"] or "up" in f["epochs_verdict"]
    assert f["compute_ours"] == "glyphs-heldout -0.60"
    assert "±0.5 on glyphs-heldout" in f["trained_why_sentence"]
    assert T.protocol_findings(None)["trained_verdict"].startswith("not yet read")


def test_path_slopes_fit_each_length_over_the_budgets():
    rows = [dict(task="t", budget=b, length=L, log2_r_star=0.5 * np.log2(b) + L)
            for b in (1024, 4096, 16384) for L in (1.0, 8.0)]
    rows.append(dict(task="u", budget=1024, length=1.0, log2_r_star=0.0))  # one budget: no slope
    slopes = T.path_slopes(pd.DataFrame(rows))
    assert list(slopes.index) == ["t"]
    assert slopes.loc["t", "1×"] == pytest.approx(0.5) and slopes.loc["t", "8×"] == pytest.approx(0.5)
