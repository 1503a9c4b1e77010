"""The power simulation (issue #25): a design with a known answer gives it.

Synthetic tables are built on the Figure 1 grid with a chosen slope; a design precise enough must
be read as the truth, one too noisy as inconclusive, and a design estimated from a table it
simulated must come back. Bootstrap sizes and simulation counts are small: each table's reading
(the whole robustness panel) is a fraction of a second at n_boot = 50.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pretrain_diversity.analysis import power as P
from pretrain_diversity.analysis.optimum import optima
from pretrain_diversity.analysis.verdict_rule import SLOPE_LABELS

ROOT = Path(__file__).resolve().parents[1]
FIG1 = ROOT / "results" / "figure1" / "runs.csv"
# The Figure 1 grid (results/figure1/runs.csv): budget -> K.
GRID = {2**10: tuple(2**i for i in range(1, 11)), 2**11: tuple(2**i for i in range(1, 12)),
        2**12: tuple(2**i for i in range(2, 13)), 2**14: tuple(2**i for i in range(2, 13)),
        2**15: tuple(2**i for i in range(6, 13))}


def design(**kw) -> P.Design:
    """A Figure-1-like design; log2 r* = 2.5 at the centre puts the true optima of slopes 0 and 1
    a quarter octave off a grid point, so even the argmin estimator reads them (no ties), and
    keeps every slope's optimum inside the grid."""
    base = dict(grid=GRID, seeds=tuple(range(5)), n_val=1000, n_test=3000, seed_sd=0.02,
                curvature=0.012, floor=0.3, centre=float(np.mean(np.log2(list(GRID)))),
                log2_r_centre=2.5, task="t")
    base.update(kw)
    return P.Design(**base)


PRECISE = design(seeds=tuple(range(8)), seed_sd=0.002, n_val=10**6, n_test=10**6)
NOISY = design(seeds=(0, 1, 2), seed_sd=0.15, n_val=50, n_test=50, curvature=0.004)


@pytest.mark.parametrize("slope", [-1.0, -0.2, 0.0, 0.5, 1.0])
def test_the_simulated_optimum_moves_at_the_given_slope(slope):
    d = design(seed_sd=0.0, n_val=10**9, n_test=10**9)
    x = np.log2(d.budgets)
    truth = [d.log2_r_star(b, slope) for b in d.budgets]
    assert np.polyfit(x, truth, 1)[0] == pytest.approx(slope, abs=1e-12)
    # The noise-free curve has its minimum there ...
    for b in d.budgets:
        lk = np.linspace(0, 13, 1301)
        assert lk[np.argmin(d.expected_error(b, 2**lk, slope))] == pytest.approx(
            d.log2_K_star(b, slope), abs=0.01)
    # ... and the study's own estimator finds it in a (nearly) noise-free table.
    opt = optima(P.simulate_table(d, slope, np.random.default_rng(1)), metric="val_error",
                 n_boot=0)
    assert d.inside_grid(slope)
    assert np.polyfit(x, opt["log2_r_star"], 1)[0] == pytest.approx(slope, abs=0.01)
    assert opt["log2_r_star"].to_numpy() == pytest.approx(truth, abs=0.02)


def test_a_simulated_table_has_the_study_columns_and_noise():
    d = design()
    t = P.simulate_table(d, 0.5, np.random.default_rng(0))
    assert set(P.COLUMNS) <= set(t.columns)
    assert len(t) == sum(len(ks) for ks in GRID.values()) * len(d.seeds)
    assert (t.n_classes * t.samples_per_class == t.budget).all()
    for col, n in (("val_error", d.n_val), ("test_error", d.n_test)):  # counts out of the split
        assert np.allclose(t[col] * n, np.round(t[col] * n), rtol=0, atol=1e-9)
    # Val and test share each run's effect (covariance ~ seed_sd^2) and nothing else.
    noise = P.noise_components(t, d.n_val, d.n_test)
    assert math.sqrt(noise["shared_var"]) == pytest.approx(d.seed_sd, rel=0.2)
    assert noise["test_var"] == pytest.approx(d.seed_sd**2 + noise["test_binomial_var"], rel=0.25)
    # One Generator state, one table.
    pd.testing.assert_frame_equal(t, P.simulate_table(d, 0.5, np.random.default_rng(0)))


def test_estimate_design_recovers_the_design_that_simulated_the_table():
    truth = design(seeds=tuple(range(6)), log2_r_centre=1.7)
    t = P.simulate_table(truth, 0.5, np.random.default_rng(3)).drop(columns=["n_val", "n_test"])
    got = P.estimate_design(t, "t")
    assert got.grid == truth.grid and got.seeds == truth.seeds and got.centre == truth.centre
    assert (got.n_val, got.n_test) == (truth.n_val, truth.n_test)  # read off the errors
    assert got.seed_sd == pytest.approx(truth.seed_sd, rel=0.2)
    assert got.curvature == pytest.approx(truth.curvature, rel=0.1)
    assert got.floor == pytest.approx(truth.floor, abs=0.01)
    # Located per budget on noisy curves (the study's own estimator), the centre's optimum
    # varies by about 0.4 from table to table at this noise.
    assert got.log2_r_centre == pytest.approx(truth.log2_r_centre, abs=1.0)


def test_split_sizes_are_read_off_the_errors():
    rng = np.random.default_rng(0)
    errors = np.round(rng.integers(0, 1597, 200) / 1597, 6)  # as a CSV stores them
    assert P.split_size_from_errors(errors) == 1597
    with pytest.raises(ValueError):  # averages are not counts out of any split
        P.split_size_from_errors(rng.random(200), max_size=5000)


def _split_constant(module: str, name: str):
    """A task module's split constant, read without importing it (it imports torch)."""
    tree = ast.parse((ROOT / "src/pretrain_diversity/tasks" / f"{module}.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name
                                                for t in node.targets):
            return ast.literal_eval(node.value)
    raise LookupError(name)


@pytest.mark.skipif(not FIG1.exists(), reason="no Figure 1 table")
def test_figure1_split_sizes_are_the_tasks_own():
    table = pd.read_csv(FIG1)
    splits = {"digits": _split_constant("digits", "DIGITS_SPLIT"),
              "glyphs-heldout": _split_constant("glyphs_heldout", "GLYPH_SPLIT"),
              "shapes": _split_constant("shapes", "SHAPES_SPLIT")}
    for task, (train, val, *_) in splits.items():
        sub = table[table.task == task]
        n_val = int(sub.n_train.iloc[0]) * val // train
        assert P.split_size_from_errors(sub.val_error) == n_val
        assert P.split_size_from_errors(sub.test_error) == int(sub.n_test.iloc[0])
        d = P.estimate_design(table, task)
        assert (d.n_val, d.n_test) == (n_val, int(sub.n_test.iloc[0]))
        assert d.seeds == (0, 1, 2, 3, 4) and d.seed_sd > 0 and d.curvature > 0


def test_the_default_reader_is_robust_verdicts():
    from pretrain_diversity.studies.slope_verdicts import robust_verdicts

    t = P.simulate_table(design(), 0.3, np.random.default_rng(5))
    mine = P.validation_verdicts(t, n_boot=50)
    theirs = robust_verdicts(t, n_boot=50)
    cols = ["task", "slope", "lo", "hi", "rule", "verdict", "broken"]
    pd.testing.assert_frame_equal(mine[cols], theirs[cols])


def _p(power, slope, reading, label):
    row = power[(power.slope == slope) & (power.reading == reading) & (power.label == label)]
    return float(row.p.iloc[0])


def test_a_precise_design_reads_the_truth():
    power = P.power_table(PRECISE, (0.0, 1.0), sims=3, n_boot=50)
    for reading in P.READINGS:
        assert _p(power, 0.0, reading, "invariant") == 1
        assert _p(power, 1.0, reading, "drifts up") == 1
    assert set(power.ideal) == {"invariant", "drifts up"}


def test_a_noisy_design_is_inconclusive():
    readings = P.simulate_readings(NOISY, (0.0, 1.0), sims=3, n_boot=50)
    assert (readings.verdict == "inconclusive").all()
    assert (readings.rule == "inconclusive").mean() >= 0.5
    assert (readings.hi - readings.lo).min() > 0.4  # wide intervals, not a narrow wrong one


def test_the_tally_sums_to_one_reproduces_and_counts_failures():
    calls = []

    def reader(table, *, n_boot):
        """A stand-in reading the first val error; the second table it sees cannot be read."""
        calls.append(n_boot)
        if len(calls) == 2:
            raise ValueError("too few points")
        up = table.val_error.iloc[0] > 0.4
        return pd.DataFrame([dict(task="t", slope=1.0 if up else 0.0, lo=-1.0, hi=1.0,
                                  rule="drifts up" if up else "invariant",
                                  verdict="inconclusive")])

    d = design(seed_sd=0.05)
    power = P.power_table(d, (-0.5, 0.0, 0.5), sims=4, n_boot=7, read=reader)
    assert calls == [7] * 12
    assert set(power.label) == set(SLOPE_LABELS) | {P.FAILED}
    sums = power.groupby(["slope", "reading"]).p.sum()
    assert np.allclose(sums, 1) and len(sums) == 6
    assert (power.sims == 4).all()
    assert _p(power, -0.5, "rule", P.FAILED) == _p(power, -0.5, "verdict", P.FAILED) == 0.25
    assert (power.p_lo <= power.p).all() and (power.p <= power.p_hi).all()
    assert dict(zip(power.slope, power.ideal)) == {-0.5: "drifts down", 0.0: "invariant",
                                                   0.5: "drifts up"}


def test_the_power_table_reproduces():
    def reader(table, *, n_boot):
        up = table.val_error.iloc[0] > 0.5
        return pd.DataFrame([dict(task="t", slope=0.0, lo=-1.0, hi=1.0, verdict="inconclusive",
                                  rule="drifts up" if up else "invariant")])

    d = design(seed_sd=0.3)  # the first run's error (true 0.52 at slope 0) then swings around 0.5
    a, b = (P.power_table(d, (0.0, 1.0), sims=8, n_boot=7, read=reader) for _ in range(2))
    pd.testing.assert_frame_equal(a, b)
    assert 0 < _p(a, 0.0, "rule", "invariant") < 1  # the tables did differ from draw to draw


def test_the_design_refuses_what_no_slope_can_be_read_from():
    with pytest.raises(ValueError, match="two budgets"):
        design(grid={1024: (2, 4, 8)})
    with pytest.raises(ValueError, match="divide"):
        design(grid={1024: (2, 4, 8), 2048: (3, 4, 8)})
    with pytest.raises(ValueError, match="two seeds"):
        design(seeds=(0,))
    # At slope -1 this optimum sits nearer the N = 32768 grid's first K than its second.
    assert design().inside_grid(-1.0) and not design(log2_r_centre=0.5).inside_grid(-1.0)


def test_the_command_writes_the_power_table(tmp_path, capsys):
    table = tmp_path / "runs.csv"
    P.simulate_table(design(), 1.0, np.random.default_rng(0)).drop(
        columns=["n_val"]).to_csv(table, index=False)
    out = tmp_path / "power.csv"
    P.main(["--table", str(table), "--task", "t", "--sims", "1", "--n-boot", "20",
            "--slopes", "0,1", "--out", str(out)])
    power = pd.read_csv(out)
    assert set(power.slope) == {0.0, 1.0} and set(power.reading) == set(P.READINGS)
    assert np.allclose(power.groupby(["slope", "reading"]).p.sum(), 1)
    text = capsys.readouterr().out
    assert "n_val 1000" in text and " s -> " in text
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically: no temporary left


def test_the_summary_reads_targets_off_a_power_table():
    rows = []
    truth = {-1.0: {"drifts down": 1.0}, -0.5: {"drifts down": 0.9, "inconclusive": 0.1},
             -0.2: {"inconclusive": 1.0}, 0.0: {"invariant": 0.3, "inconclusive": 0.7},
             0.2: {"inconclusive": 1.0}, 0.5: {"drifts up": 0.7, "inconclusive": 0.3},
             1.0: {"drifts up": 1.0}}
    for slope, ps in truth.items():
        for label in SLOPE_LABELS:
            rows.append(dict(slope=slope, reading="verdict", label=label, p=ps.get(label, 0.0),
                             sims=10))
    s = P.power_summary(pd.DataFrame(rows))
    assert s["p_invariant_at_0"] == 0.3 and not s["meets_invariant"]
    assert s["p_invariant_far"] == 0.0 and s["meets_false_invariant"]
    assert s["p_detect_far"] == 0.7 and not s["meets_detect"]
    assert s["smallest_detected"] == 1.0  # 0.5 is found going down but not up
    view = P.power_view(pd.DataFrame(rows))
    assert list(view.index) == ["-1", "-0.5", "-0.2", "0", "+0.2", "+0.5", "+1"]
    assert view.loc["0", "invariant"] == 30


def test_a_studys_power_tables_are_read_and_summarised(tmp_path):
    from pretrain_diversity.studies.figure1 import power as FP

    rows = [dict(slope=s, reading="verdict", label=label, sims=5,
                 p=float(label == ("invariant" if s == 0 else "drifts up" if s > 0 else
                                   "drifts down")))
            for s in (-0.5, 0.0, 0.5) for label in SLOPE_LABELS]
    (tmp_path / "power").mkdir()
    (tmp_path / "studies").mkdir()
    (tmp_path / "pyproject.toml").write_text("")
    pd.DataFrame(rows).to_csv(tmp_path / "power" / "t.csv", index=False)
    weak = [dict(r, p=float(r["label"] == "inconclusive")) for r in rows]
    pd.DataFrame(weak).to_csv(tmp_path / "power" / "t-crossfit.csv", index=False)
    power = FP.load_power("power", root=tmp_path)
    assert set(power) == {("t", "as run"), ("t", "cross-fitted")}
    view = FP.power_overview(power)
    assert view.loc[("t", "as run"), "P(invariant | slope 0) %"] == 100
    assert view.loc[("t", "as run"), "smallest drift found 80% of the time"] == "±0.5"
    assert view.loc[("t", "cross-fitted"), "smallest drift found 80% of the time"] == "none simulated"
    assert FP.load_power("absent", root=tmp_path) == {}


def test_cannot_tell_says_what_the_design_could_tell():
    from pretrain_diversity.studies.findings import slope_findings

    rows = [dict(slope=s, reading="verdict", label=label, sims=10,
                 p={1.0: 0.3, -1.0: 0.6}.get(s, 0.0) if label in ("drifts up", "drifts down")
                 and (label == "drifts up") == (s > 0) else 0.0)
            for s in (-1.0, 1.0) for label in SLOPE_LABELS]
    power = pd.DataFrame(rows)
    assert P.detection(power, 1.0) == 0.3  # the weaker direction
    verdicts = pd.DataFrame([dict(task="t", slope=0.4, verdict="inconclusive",
                                  rule="inconclusive", broken="")])
    why = slope_findings(verdicts, power={"t": power})["why"]
    assert "a true drift of ±1 is found in 30% of simulated tables (t)" in why
    assert "found in" not in slope_findings(verdicts)["why"]


def test_more_seeds_narrow_the_slope_interval_and_buy_power():
    """The seeds lever on a small known design: four times the seeds about halves the slope's
    interval (1/sqrt(seeds)), and a drift of 0.5 is found more often. (Two seeds would not do as
    the few end: a bootstrap over two seeds has three distinct resamples and too narrow an
    interval.)"""
    from pretrain_diversity.analysis.power import seeds_lever

    design = P.Design(grid={b: tuple(2**k for k in range(1, 8)) for b in (256, 1024, 4096)},
                      seeds=(0, 1), n_val=400, n_test=400, seed_sd=0.02, curvature=0.01,
                      floor=0.2, centre=10.0, log2_r_centre=0.0)
    lever = seeds_lever(design, seeds=(4, 16), slopes=(0.5,), sims=6, n_boot=100)
    few, many = lever.set_index("seeds").loc[4], lever.set_index("seeds").loc[16]
    assert many.median_width < 0.75 * few.median_width, lever.to_string()
    assert many.p_ideal >= few.p_ideal, lever.to_string()


def test_the_panel_rules_read_a_precise_design_alike_and_a_noisy_one_never_wrongly():
    rules = P.panel_rules(PRECISE, (0.0, 1.0), sims=2, n_boot=50).set_index(["slope", "reading"])
    assert set(rules.index.get_level_values("reading")) == {"rule", "strict", "conflict"}
    assert (rules["p_ideal"] == 1).all() and (rules["p_wrong"] == 0).all()
    noisy = P.panel_rules(NOISY, (0.0,), sims=3, n_boot=50).set_index("reading")
    # strict can only take a label away; the conflict rule keeps at most what was reported
    assert noisy.loc["strict", "p_inconclusive"] >= noisy.loc["conflict", "p_inconclusive"] \
        >= noisy.loc["rule", "p_inconclusive"]
    assert np.allclose(noisy[["p_ideal", "p_wrong", "p_inconclusive"]].sum(axis=1), 1)
