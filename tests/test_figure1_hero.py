"""The Figure 1 hero figure's data (studies.figure1.hero.hero_data) and the plain-words findings the
pages glue for the intro (studies.findings): the numbers drawn and pasted, not the pixels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pretrain_diversity.analysis import verdict_rule as VR
from pretrain_diversity.studies import findings as FD
from pretrain_diversity.studies.figure1 import hero as H


def _optima(task, budgets, log2_r):
    return pd.DataFrame({"task": task, "budget": budgets, "log2_r_star": log2_r,
                         "log2_r_lo": np.array(log2_r) - 0.5, "log2_r_hi": np.array(log2_r) + 0.5})


def test_hero_data_band_starts_at_each_protocols_smallest_budget():
    epochs = _optima("a", [1024, 4096, 16384], [1.0, 1.2, 3.0])
    steps = _optima("a", [2048, 8192], [0.0, -1.0])
    trend = {"fixed epochs": pd.DataFrame({"task": ["a"], "slope": [0.4]})}
    d = H.hero_data({"fixed epochs": epochs, "fixed steps": steps}, trend)
    assert len(d) == 5
    e = d[d.protocol == "fixed epochs"].set_index("budget")
    # the band is a wedge of half-width margin x (log2 N - log2 N0) around the first optimum
    assert e.loc[1024, ["band_lo", "band_hi"]].tolist() == [1.0, 1.0]
    assert e.loc[4096, "band_lo"] == pytest.approx(1.0 - 0.2 * 2)
    assert e.loc[16384, "band_hi"] == pytest.approx(1.0 + 0.2 * 4)
    assert e.outside.tolist() == [False, False, True]  # 1.2 lies within 1 ± 0.4; 3.0 beyond 1.8
    s = d[d.protocol == "fixed steps"].set_index("budget")
    assert s.loc[2048, "band_lo"] == 0.0 and s.loc[8192, "band_lo"] == pytest.approx(-0.4)
    assert s.loc[8192, "outside"]
    assert e.slope.eq(0.4).all() and s.slope.isna().all()
    assert d.log2_N.tolist() == [10, 12, 14, 11, 13]
    assert (d.log2_r_lo < d.log2_r_star).all() and (d.log2_r_star < d.log2_r_hi).all()


def test_hero_figure_on_the_committed_table_draws_every_task():
    from pretrain_diversity.paths import repo_root
    from pretrain_diversity.studies import slope_verdicts as SV
    from pretrain_diversity.studies import figure1 as F
    from pretrain_diversity.studies.figure1 import load as FL

    root = repo_root()
    df = F.load_figure1(root)
    fixed = FL.load_control("fixed steps", root)
    o1, _, t1 = SV.selected_optima_and_trend(df, n_boot=50)
    parts = {"fixed epochs": o1}
    if fixed is not None:
        parts["fixed steps"] = SV.selected_optima_and_trend(fixed, n_boot=50)[0]
    d = H.hero_data(parts, {"fixed epochs": t1})
    assert set(d.task) == set(df.task)
    assert set(d.budget[d.protocol == "fixed epochs"]) == set(df.n_classes * df.samples_per_class)
    fig = H.plot_hero(d)
    w, h = fig.get_size_inches()
    assert w == H.WIDTH_IN and H.FONT_PT >= 10
    assert len([a for a in fig.axes if a.get_visible() and a.axison]) == len(set(d.task))
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_plain_words():
    assert FD.plain(VR.INCONCLUSIVE) == "cannot tell"
    assert FD.plain(VR.UP).startswith("no")
    assert FD.plain("something else") == "something else"


def test_slope_findings_group_tasks_and_say_why():
    v = pd.DataFrame({"task": ["b", "a", "c"], "slope": [0.87, 0.40, -0.09],
                      "rule": [VR.UP, VR.INCONCLUSIVE, VR.DOWN],
                      "verdict": [VR.UP, VR.INCONCLUSIVE, VR.INCONCLUSIVE],
                      "broken": ["-", "-", "without seed 2, estimator argmin"]})
    f = FD.slope_findings(v)
    assert f["verdict"] == "no for b (it grows with N); cannot tell for a and c"
    assert f["ours"] == "a +0.40; b +0.87; c -0.09"
    assert f["why"].startswith("a: the 95% interval holds both 0 and slopes beyond ±0.2; c: a")
    assert "c: a robustness check (without seed 2) reads it differently" in f["why"]
    g = FD.glued("x", {"verdict": "yes", "ours": "1", "why": ""})
    assert g == {"x_verdict": "yes", "x_ours": "1", "x_why": "—"}


def test_interior_and_claim_findings():
    edges = pd.DataFrame({"task": ["a", "a", "b"], "budget": [1024, 2048, 1024],
                          "shape": ["interior", "interior", "flat"]})
    f = FD.interior_findings(edges)
    assert f["ours"] == "2 of 3 cells" and f["verdict"] == "yes, mostly"
    assert "b at N = 1,024: flat" in f["why"]
    assert FD.interior_findings(edges.iloc[:2])["verdict"] == "yes"
    cells = pd.DataFrame({"status": [VR.PASSES, VR.PASSES, VR.CONTRADICTS, VR.UNDECIDED]})
    c = FD.claim_findings(VR.ClaimVerdict(VR.PARTLY, "", cells))
    assert c == {"verdict": "partly", "ours": "2 of 4 cells agree, 1 contradict", "why": ""}

    class Robust:
        label = VR.INCONCLUSIVE
        panel = pd.DataFrame({"check": ["as reported", "without seed 1"], "agrees": [True, False]})

    c = FD.claim_findings(VR.ClaimVerdict(VR.PARTLY, "", cells), Robust())
    assert c["verdict"] == "cannot tell" and "without seed 1" in c["why"]


def test_contradicted_claim_names_the_deciding_cell():
    cells = pd.DataFrame({"task": ["a", "a", "b"], "k": ["1-shot", "all", "1-shot"],
                          "effect": [3.0, 2.0, -2.44], "lo": [1.0, 0.5, -3.7],
                          "hi": [5.0, 3.5, -0.9], "direction": [1, 1, 1],
                          "status": [VR.PASSES, VR.PASSES, VR.CONTRADICTS]})
    c = FD.claim_findings(VR.ClaimVerdict(VR.CONTRADICTED, "", cells))
    assert c["verdict"] == "no: some cells show the opposite"
    assert c["ours"] == "2 of 3 cells agree, 1 contradict"
    assert c["why"] == ("1 cell shows the opposite, which the rule lets decide: "
                        "b / 1-shot: -2.4 (95% interval -3.7 to -0.9)")


def test_condition_findings_count_settings():
    cv = pd.DataFrame({"condition": ["V = 1", "V = 1", "V = 8", "V = 8", "full"],
                       "task": ["a", "b", "a", "b", "a"],
                       "verdict": [VR.UP, VR.INCONCLUSIVE, VR.UP, VR.INCONCLUSIVE, VR.INVARIANT]})
    kc = pd.DataFrame({"knob": ["variety", "variety"], "task": ["a", "b"],
                       "verdict": [VR.INCONCLUSIVE, VR.DOWN]})
    f = FD.condition_findings(cv, kc, skip=("full",))
    assert f["verdict"] == "no: no setting reads invariant"
    assert f["ours"] == "0 of 4 invariant, 2 drift, 2 cannot tell"
    assert f["drifts"] == "a (it grows with N in 2 of 2 conditions)"
    assert f["knobs"] == "1 of 2 knob × task changes of slope are measurable: variety on b"
    assert FD.condition_findings(cv)["verdict"] == "in some settings (1 of 5)"
