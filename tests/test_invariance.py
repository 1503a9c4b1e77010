"""Issue 8: the intra-class variety knob (V styles per class) and the invariance analysis.

The knob: V = None must leave every image, run id and cache entry of the earlier sampler as it
was; V >= 1 gives each class V fixed styles (shared by its samples, fixed within a seed); V = 0
gives a fresh style per image. The analysis: on synthetic tables with a known optimum, a
condition whose optimal ratio drifts with N gets a positive slope and one whose ratio is invariant
a slope near 0; the page fails with the command to run when its results are missing.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from old_code import module_at
import torch

from pretrain_diversity.config import ConfigError, RunConfig
from pretrain_diversity.data.pool import glyph_split, pretraining_set
from pretrain_diversity.runs.experiment import check
from pretrain_diversity.data.glyphs import load_bank
from pretrain_diversity.data.sampling import (
    UNBOUNDED_STYLES,
    Nuisance,
    draw_styles,
    style_indices,
    two_step_sample,
)

ROOT = Path(__file__).resolve().parents[1]
# The last commit before the variety knob, and what its sampler drew for two_step_sample(bank,
# pool, 40, 10, 16, seed=5) with torch 2.15.0 on x86-64 (the fallback when git history is absent).
BEFORE_KNOB = "073f339"
BEFORE_SHA256 = "26987b9b4d97b629624097c18cb1d3a67e27213496490bdb908863af831e06fe"
BEFORE_TORCH = "2.15.0"
DEFAULT_RUN_ID = "96e1dda03a5e1334"  # RunConfig().run_id() before the knob existed

# No pose, contrast or noise: what is left of a sample is its style.
STILL = Nuisance(rotation_deg=0, log_scale=0, shear=0, translate=0, contrast=(1, 1),
                 background=(0, 0), noise_std=(0, 0))


@pytest.fixture(scope="module")
def bank():
    return load_bank()


@pytest.fixture(scope="module")
def pool(bank):
    return glyph_split(bank.n_classes).pool


def _old_sampling():
    """sampling.py as it was before the knob, imported from git history (None if unavailable)."""
    return module_at(BEFORE_KNOB, "src/pretrain_diversity/sampling.py",
                     "pretrain_diversity.data._sampling_before_knob",
                     package="pretrain_diversity.data")  # its relative imports (.glyphs) live here


# ------------------------------------------------------------------------------ the knob
def test_default_sampler_is_bit_identical_to_before_the_knob(bank, pool):
    new = two_step_sample(bank, pool, 40, 10, 16, seed=5)
    assert torch.equal(new.images, two_step_sample(bank, pool, 40, 10, 16, seed=5,
                                                   styles_per_class=None).images)
    old = _old_sampling()
    if old is not None:
        ref = old.two_step_sample(bank, pool, 40, 10, 16, seed=5)
        assert torch.equal(new.images, ref.images) and torch.equal(new.labels, ref.labels)
        assert np.array_equal(new.class_ids, ref.class_ids)
        # the run's data set too (drawn through data.pretraining_set and its cache)
        cfg = RunConfig(n_classes=12, samples_per_class=7, image_size=8, seed=2)
        assert torch.equal(pretraining_set(cfg).images,
                           old.two_step_sample(bank, pool, 12, 7, 8, seed=2).images)
    elif torch.__version__.startswith(BEFORE_TORCH):
        assert hashlib.sha256(new.images.numpy().tobytes()).hexdigest() == BEFORE_SHA256
    else:
        pytest.skip("neither the git history nor the recorded torch version is available")


def test_run_ids_of_earlier_runs_do_not_change():
    assert RunConfig().run_id() == DEFAULT_RUN_ID
    assert RunConfig(styles_per_class=None).run_id() == DEFAULT_RUN_ID
    assert "styles_per_class" not in RunConfig().identity()
    ids = {RunConfig(styles_per_class=v).run_id() for v in (None, 0, 1, 8)}
    assert len(ids) == 4


def test_style_indices_are_stratified_and_unbounded_is_fresh():
    assert style_indices(6, 12, 4).tolist() == [0, 1, 2, 3, 0, 1] * 2
    assert style_indices(5, 10, UNBOUNDED_STYLES).tolist() == [0, 1, 2, 3, 4] * 2
    assert style_indices(3, 6, 1).tolist() == [0] * 6


def test_one_style_per_class_means_samples_share_it(bank, pool):
    """V = 1: without the per-sample nuisance all images of a class are the same picture; with it
    they still vary less than under a fresh style per image."""
    s = two_step_sample(bank, pool, 6, 8, 16, seed=0, nuisance=STILL, styles_per_class=1)
    x = s.images.view(6, 8, -1)
    assert (x == x[:, :1]).all()
    assert len({row.numpy().tobytes() for row in x[:, 0]}) == 6  # classes still differ

    def within(v):
        t = two_step_sample(bank, pool, 60, 16, 16, seed=0, styles_per_class=v)
        y = t.images.float().view(60, 16, -1) / 255
        return float(((y - y.mean(1, keepdim=True)) ** 2).sum(-1).mean())

    one, eight, fresh = within(1), within(8), within(UNBOUNDED_STYLES)
    assert one < eight < fresh * 1.02 and one < 0.9 * fresh, (one, eight, fresh)


def test_styles_are_fixed_properties_of_a_class_within_a_seed(bank, pool):
    """The same class has the same styles whatever K and n the run uses; another seed redraws."""
    small = two_step_sample(bank, pool, 5, 4, 16, seed=3, nuisance=STILL, styles_per_class=4)
    large = two_step_sample(bank, pool, 20, 8, 16, seed=3, nuisance=STILL, styles_per_class=4)
    assert np.array_equal(large.class_ids[:5], small.class_ids)
    a = small.images.view(5, 4, -1)
    b = large.images.view(20, 8, -1)[:5]
    assert torch.equal(a, b[:, :4]) and torch.equal(a, b[:, 4:])  # style j mod 4, both runs

    cls = np.array([10, 10, 11, 10])
    sty = np.array([0, 1, 0, 0])
    st = draw_styles(bank, cls, sty, seed=3)
    alone = draw_styles(bank, cls[3:], sty[3:], seed=3)  # computed without the other rows
    for f in ("variant", "stroke", "slant", "aspect", "warp"):
        v = getattr(st, f)
        assert torch.equal(v[0], v[3]) and torch.equal(v[3], getattr(alone, f)[0]), f
    assert not torch.equal(st.warp[0], st.warp[1])  # another style of the class
    other = draw_styles(bank, cls, sty, seed=4)
    assert not torch.equal(other.warp, st.warp)


def test_styled_sets_are_deterministic_and_cached_apart(bank, pool):
    cfg = RunConfig(n_classes=9, samples_per_class=6, image_size=8, seed=1)
    sets = {v: pretraining_set(cfg.with_(styles_per_class=v)) for v in (None, 1, 3, 0)}
    for v, s in sets.items():
        assert torch.equal(s.images, pretraining_set(cfg.with_(styles_per_class=v)).images)
        assert torch.equal(s.images, two_step_sample(bank, pool, 9, 6, 8, seed=1,
                                                     styles_per_class=v).images), v
        assert np.array_equal(s.class_ids, sets[None].class_ids)  # V never changes the classes
    keys = {s.images.numpy().tobytes() for s in sets.values()}
    assert len(keys) == 4


@pytest.mark.parametrize(
    "value, words",
    [
        (-1, ["styles_per_class=-1", "0 <= styles_per_class", "0 means unbounded"]),
        (2.5, ["styles_per_class must be an integer"]),
        (True, ["styles_per_class must be an integer"]),
        ("8", ["styles_per_class must be an integer"]),
        (10**7, ["styles_per_class=10000000", "<= 1000000"]),
    ],
)
def test_bad_style_counts_are_named(value, words):
    with pytest.raises(ConfigError) as err:
        check(RunConfig(styles_per_class=value))
    for w in words:
        assert w in str(err.value), (w, str(err.value))


def test_good_style_counts_pass():
    for v in (None, 0, 1, 64):
        check(RunConfig(styles_per_class=v))


def test_class_pools_are_reported_drawn_from_and_validated(bank):
    from pretrain_diversity.config import CLASS_POOLS
    from pretrain_diversity.data.pool import class_pool, dataset_limits

    full, per_class = dataset_limits("glyphs")
    assert dataset_limits("glyphs", None) == (full, per_class)
    for name in CLASS_POOLS:
        size, _ = dataset_limits("glyphs", name)
        members = class_pool(bank, name)
        assert 100 < size == len(members) < full, name
        assert set(members) <= set(glyph_split(bank.n_classes).pool)  # never a held-out class
    latin = set(class_pool(bank, "latin"))
    s = pretraining_set(RunConfig(n_classes=30, samples_per_class=2, image_size=8,
                                  class_pool="latin"))
    assert set(s.class_ids) <= latin
    assert all(bank.name(c).startswith("LATIN ") for c in s.class_ids)
    size = len(latin)
    with pytest.raises(ConfigError, match=rf"n_classes={size + 1}.*<= {size}.*pool 'latin'"):
        check(RunConfig(class_pool="latin", n_classes=size + 1))
    with pytest.raises(ConfigError, match="unknown class_pool='klingon'; allowed: latin"):
        check(RunConfig(class_pool="klingon"))
    assert RunConfig(class_pool=None).run_id() == DEFAULT_RUN_ID



def test_a_styled_run_trains_probes_and_records_its_knobs(tiny_cfg, tmp_path):
    from pretrain_diversity.runs.experiment import run_experiment
    from pretrain_diversity.analysis.tables import rows_of

    cfg = tiny_cfg.with_(styles_per_class=2, class_pool="letters", probe_tasks=("digits",))
    m = run_experiment(cfg, tmp_path, progress=False)
    assert m["config"]["styles_per_class"] == 2 and m["config"]["class_pool"] == "letters"
    assert 0 <= m["metrics"]["probe"]["digits"]["test_error"] <= 1
    row = rows_of(m)[0]
    assert row["styles_per_class"] == 2 and row["run_id"] == cfg.run_id()
    assert run_experiment(cfg, tmp_path, progress=False) == m  # cached under its own id

# ------------------------------------------------------------------------------ the analysis
BUDGETS = (2048, 4096, 16384)
GRID = {2048: [2, 8, 32, 128, 512], 4096: [4, 16, 64, 256, 1024],
        16384: [16, 64, 256, 1024, 4096]}  # the grid of studies/invariance-*.toml


def synthetic_condition(alpha, beta, *, b=1.0, full=False, noise=0.003, seeds=(0, 1, 2),
                        rng=None, **config):
    """err = floor + K^-alpha + b n^-beta + noise: r* drifts as N^((beta-alpha)/(alpha+beta))."""
    rng = rng or np.random.default_rng(0)
    rows = []
    for task, floor in (("glyphs-heldout", 0.1), ("digits", 0.05)):
        for N in BUDGETS:
            ks = [2**i for i in range(1, 13) if 2**i <= N // 2] if full else GRID[N]
            for k in ks:
                for s in seeds:
                    e = floor + k**-alpha + b * (N // k) ** -beta + noise * rng.normal()
                    rows.append(dict(task=task, budget=N, n_classes=k, samples_per_class=N // k,
                                     seed=s, test_error=e))
    config = {"styles_per_class": np.nan, "width": 8, "epochs": 20.0, **config}
    return pd.DataFrame(rows).assign(**config)


@pytest.fixture(scope="module")
def table():
    """A drifting condition (V = 1: slope 0.4), an invariant one (V = ∞) and the invariant
    original sampler on the full Figure 1 grid, with the same seeds."""
    rng = np.random.default_rng(1)
    return pd.concat([
        synthetic_condition(0.5, 0.5, b=0.5, full=True, rng=rng),
        synthetic_condition(0.3, 0.7, styles_per_class=1, rng=rng),
        synthetic_condition(0.5, 0.5, b=0.5, styles_per_class=0, rng=rng),
    ], ignore_index=True)


@pytest.fixture(scope="module")
def inv(table):
    from pretrain_diversity.studies import invariance as I

    return I.analyse(table, n_boot=500)


def test_conditions_are_labelled_and_matched(table, inv):
    from pretrain_diversity.studies import invariance as I

    lab = I.label_conditions(table)
    assert I.conditions_in_order(lab) == ["V = 1", "V = ∞", I.BASELINE]
    assert I.variety_label(None) == I.variety_label(float("nan")) == I.BASELINE
    assert inv.conditions == ["V = 1", "V = ∞", I.BASELINE, I.FULL_GRID]
    pts = inv.data.groupby("condition").apply(lambda g: len(g[["budget", "n_classes"]]
                                                           .drop_duplicates()))
    assert pts["V = 1"] == pts[I.BASELINE] == 15 and pts[I.FULL_GRID] > 15
    wide = I.label_conditions(synthetic_condition(0.5, 0.5, width=16, epochs=40.0))
    assert set(wide["condition"]) == {f"{I.BASELINE}, width 16, 40 epochs"}


def test_slopes_recover_drift_and_invariance(inv):
    from pretrain_diversity.analysis import optimum
    from pretrain_diversity.studies import invariance as I

    true = (0.7 - 0.3) / (0.7 + 0.3)
    for task in ("glyphs-heldout", "digits"):
        t = inv.trend[inv.trend.task == task].set_index("condition")
        assert t.loc["V = 1", "slope_lo"] > 0 and abs(t.loc["V = 1", "slope"] - true) < 0.15
        for c in ("V = ∞", I.BASELINE):
            assert abs(t.loc[c, "slope"]) < 0.12, (c, t.loc[c])
            r = t.loc[c]
            assert I.classify(r.slope, r.slope_lo, r.slope_hi) == "invariant", c
        # the finer full grid places a flat minimum less steadily (neighbours closer than the
        # noise resolves), but not beyond the practical margin
        assert abs(t.loc[I.FULL_GRID, "slope"]) < I.MARGIN
        assert I.classify(*t.loc["V = 1", ["slope", "slope_lo", "slope_hi"]]) == "drifts up"
    # the draws are the ones figure1.ratio_trend summarises
    for (cond, task), d in inv.draws.items():
        t = inv.trend[(inv.trend.condition == cond) & (inv.trend.task == task)].iloc[0]
        assert np.percentile(d, 2.5) == pytest.approx(t.slope_lo)
        assert np.percentile(d, 97.5) == pytest.approx(t.slope_hi)
    sub = inv.data[inv.data.condition == "V = 1"]
    opt = optimum.optima(sub, n_boot=500)
    ours = inv.optima[inv.optima.condition == "V = 1"].reset_index(drop=True)
    assert np.allclose(ours.log2_r_star, opt.log2_r_star)


def test_classify_reads_intervals_against_the_margin():
    from pretrain_diversity.studies.invariance import classify

    assert classify(0.05, -0.1, 0.15) == "invariant"
    assert classify(0.5, 0.3, 0.7) == "drifts up"
    assert classify(-0.5, -0.7, -0.3) == "drifts down"
    assert classify(0.1, 0.05, 0.25) == "small drift"
    assert classify(0.1, -0.3, 0.5) == "inconclusive"


def as_reported(inv):
    """(cv, kc) as the robustness panel would give them if every check agreed: each condition's
    slope and each knob's change of slope read by the shared rule as reported."""
    from pretrain_diversity.studies import invariance as I

    conds = [c for c in inv.conditions if c != I.FULL_GRID]
    t = inv.trend[inv.trend.condition.isin(conds)]
    labels = [I.classify(r.slope, r.slope_lo, r.slope_hi) for r in t.itertuples()]
    cv = t[["condition", "task"]].assign(rule=labels, verdict=labels, broken="")
    rows = []
    for knob, levels in I.knob_groups(conds).items():
        for r in I.contrasts(inv, pairs=[(levels[-1], levels[0])]).itertuples():
            label = I.classify(r.difference, r.lo, r.hi)
            rows.append(dict(knob=knob, condition=r.condition, reference=r.reference,
                             task=r.task, difference=r.difference, lo=r.lo, hi=r.hi,
                             rule=label, verdict=label, broken=""))
    return cv, pd.DataFrame(rows)


def test_contrasts_regret_and_verdict(inv):
    from pretrain_diversity.studies import invariance as I

    c = I.contrasts(inv, pairs=[("V = ∞", "V = 1")])
    assert len(c) == 2 and (c.hi < 0).all() and (c.difference < -0.25).all()
    base = I.contrasts(inv)  # every condition against the original sampler
    assert set(base.condition) == {"V = 1", "V = ∞"} and set(base.reference) == {I.BASELINE}
    reg = I.extrapolation_regret(inv).set_index(["condition", "task"])
    for task in ("glyphs-heldout", "digits"):
        assert reg.loc[("V = 1", task), "regret"] > reg.loc[("V = ∞", task), "regret"] >= 0
    cv, kc = as_reported(inv)
    text = I.verdict(inv, regret=I.extrapolation_regret(inv), cv=cv, kc=kc)
    assert "grows with N" in text and "*V = 1*" in text
    assert "Invariant (the interval lies within ±0.2): *V = ∞*" in text
    assert "Variety changes the slope by -0." in text and "the variety moves the drift" in text
    assert ("**Overall**, over 6 (condition, task) cases, after the robustness panel: 2 drifts "
            "up, 4 invariant") in text
    table = I.summary_table(inv, regret=I.extrapolation_regret(inv))
    assert len(table) == 2 * len(inv.conditions)
    reading = table.set_index(["condition", "task"])["reading (margin ±0.2)"]
    assert list(reading.loc["V = 1"]) == ["drifts up", "drifts up"]
    assert list(reading.loc["V = ∞"]) == ["invariant", "invariant"]  # as the verdict says


def test_the_verdict_and_takeaways_speak_after_the_robustness_panel(inv):
    """Where the panel overturns a reading the verdict must not repeat it: the label it counts is
    the panel's, and the overturned case is named with the check that broke it."""
    from pretrain_diversity.studies import invariance as I

    conds = [c for c in inv.conditions if c != I.FULL_GRID]
    rows = [dict(condition=c, task=t, rule=k, verdict=k, broken="")
            for t in ("digits", "glyphs-heldout") for c, k in
            zip(conds, ["drifts up", "invariant", "invariant"])]
    cv = pd.DataFrame(rows)
    kc = as_reported(inv)[1]
    assert I.verdict(inv, cv=cv, kc=kc).count("Overturned") == 0
    broken = (cv.condition == "V = 1") & (cv.task == "digits")
    cv.loc[broken, ["verdict", "broken"]] = ["inconclusive", "without seed 2"]
    text = I.verdict(inv, cv=cv, kc=kc)
    assert ("Overturned by the robustness panel: *V = 1* reads 'drifts up' as reported, broken "
            "by without seed 2.") in text
    assert "**Overall**, over 6 (condition, task) cases, after the robustness panel: 1 " \
           "inconclusive, 4 invariant, 1 drifts up" in text
    tips = I.takeaways(inv, cv=cv, kc=kc)
    assert "drifted up under every condition" not in tips
    # each task under its own label: the drift on glyphs is not read as V = 1's on digits
    assert re.search(r"\*V = 1\*: inconclusive on digits \([+-]\d\.\d\d\); drifts up on "
                     r"glyphs-heldout \([+-]\d\.\d\d\)", tips), tips


def test_contrasts_are_paired_over_seeds(table):
    """Two conditions with the same seeds are resampled together: a copy of a condition whose
    errors are all shifted by a constant has the same optima in every draw, so the contrast is
    exactly 0 (an unpaired bootstrap would give an interval as wide as the seed noise)."""
    from pretrain_diversity.studies import invariance as I

    one = table[table.styles_per_class == 1]
    twin = one.assign(styles_per_class=2, test_error=one.test_error + 0.01)
    inv2 = I.analyse(pd.concat([one, twin]), n_boot=200)
    c = I.contrasts(inv2, pairs=[("V = 2", "V = 1")])
    assert np.allclose(c[["difference", "lo", "hi"]].to_numpy(), 0, atol=1e-9)


def test_fitted_exponents_say_which_one_moves(inv):
    from pretrain_diversity.studies import invariance as I

    sub = I.Invariance(inv.optima, inv.trend, inv.draws, ["V = 1", "V = ∞"], inv.level,
                       inv.data[inv.data.condition.isin(["V = 1", "V = ∞"])
                                & (inv.data.task == "digits")])
    fits = I.fit_exponents(sub, n_boot=8, window=None).set_index("condition")
    assert fits.loc["V = 1", "drift"] > 0.25 and abs(fits.loc["V = ∞", "drift"]) < 0.1
    assert fits.loc["V = 1", "beta"] > fits.loc["V = 1", "alpha"]
    assert (fits["alpha_lo"] <= fits["alpha"] + 1e-9).all()
    text = I.exponent_shift(fits.reset_index(), "digits", "V = 1", "V = ∞")
    assert text.startswith("Fitted exponents: α 0.3") and "β 0.7" in text


def test_the_grid_places_an_invariant_optimum_without_a_slope(inv):
    from pretrain_diversity.studies import invariance as I

    bias = I.grid_bias(inv.data).set_index("condition")["max_abs_bias"]
    assert (bias < 0.05).all(), bias  # far below the margin of 0.2


def test_plots_render_and_the_explorer_embeds_every_condition(inv):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pretrain_diversity.studies import invariance as I

    ucurves = [I.plot_ucurves(inv, task) for task in sorted(inv.data.task.unique())]
    for fig in (I.plot_slopes(inv), I.plot_optima(inv), *ucurves):
        assert fig.axes
        plt.close(fig)
    grid = I.condition_grid(inv, conditions=["V = 1", "V = ∞"])
    assert sorted(grid["condition"].unique()) == ["V = 1", "V = ∞"]
    assert sorted(grid["budget"].unique()) == [2048, 4096, 16384]
    widget = I.condition_widget(inv, conditions=["V = 1", "V = ∞"])
    options = {p["name"]: p["bind"].get("options") for p in widget.spec["params"]}
    assert options["condition"] == ["V = 1", "V = ∞"] and options["split"] == ["test"]


def test_the_explorer_optimum_is_each_measured_curves_lowest_mean(inv):
    """At a measured budget the explorer's optimum is the lowest seed mean of that condition's
    curve (no interpolation); between two budgets it is flagged as interpolated. (The synthetic
    table has test errors only, so the explorer offers test error only.)"""
    from pretrain_diversity.studies import invariance as I

    grid = I.condition_grid(inv)
    for cond in ("V = 1", "V = ∞"):
        d = inv.data[(inv.data.condition == cond) & (inv.data.task == "digits")
                     & (inv.data.budget == 4096)]
        means = d.groupby(["n_classes", "samples_per_class"])["test_error"].mean()
        (K, n), best = means.idxmin(), means.min()
        got = I.condition_optimum(grid, cond, "digits", "test", 12.0)
        assert got["x"] == round(np.log2(K / n)) and got["error"] == pytest.approx(100 * best)
        assert not got["interpolated"]
    assert I.condition_optimum(grid, "V = 1", "digits", "test", 12.5)["interpolated"]


def test_study_specs_grid_as_documented():
    # the cost plan of these specs is the sweeps layer's `pretrain-diversity plan`, tested there
    from pretrain_diversity.studies import invariance as I
    from pretrain_diversity.sweeps.runner import load_study

    # the original sampler on the knobs' grid: every condition is compared on the same points
    sampler = load_study(ROOT / I.SAMPLER_SPEC)
    for k in I.KNOBS:
        study = load_study(ROOT / I.SPECS[k])
        assert study.budgets == sampler.budgets and study.seeds == (0, 1, 2, 3, 4)
        assert study.n_classes == sampler.n_classes
        assert study.base["probe_tasks"] == ("glyphs-heldout", "digits", "shapes")
        assert k in I.command(k) and str(I.results_path(k)) in I.command(k)
    assert load_study(ROOT / I.SPECS["variety"]).grid == {"styles_per_class": [1, 8, 0]}


def test_page_fails_with_the_commands_when_results_are_missing(tmp_path, monkeypatch):
    """The first code cell of book/invariance.md, run where no results exist."""
    import jupytext

    from pretrain_diversity.studies import invariance as I

    (tmp_path / "studies").mkdir()
    (tmp_path / "studies" / "figure1.toml").write_text((ROOT / "studies" / "figure1.toml")
                                                        .read_text())
    (tmp_path / "pyproject.toml").write_text("")  # a repository root (paths.repo_root)
    nb = jupytext.read(ROOT / "book" / "invariance.md")
    first = next(c for c in nb.cells if c.cell_type == "code")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(os.environ, "MPLBACKEND", "Agg")
    with pytest.raises(FileNotFoundError) as err:
        exec(compile(first.source, "invariance.md", "exec"), {})
    msg = str(err.value)
    for k in I.KNOBS:
        assert I.command(k) in msg
    assert "results/figure1/runs.csv" in msg and "pretrain-diversity sweep studies/figure1.toml" in msg


def test_the_grid_note_says_when_the_grid_alone_reaches_beyond_the_margin():
    from pretrain_diversity.studies import invariance as I

    fine = pd.DataFrame({"condition": ["V = 1", I.FULL_GRID], "max_abs_bias": [0.01, 0.003]})
    coarse = fine.assign(max_abs_bias=[0.22, 0.15])
    assert "cannot tell invariance" not in I.grid_note(fine)
    assert "under a tenth of the ±0.2 margin" in I.grid_note(fine)
    text = I.grid_note(coarse)
    assert "at most ±0.220 from interpolation alone" in text and "110% of the ±0.2 margin" in text
    assert "a slope within about ±0.22 cannot tell invariance from a drift" in text


def test_a_half_measured_budget_is_dropped_not_read_as_a_one_point_curve(table):
    """A condition whose last budget holds one K (a study stopped partway) must not leave every
    condition a one-point "optimum" there: that budget is left out of the comparison."""
    from pretrain_diversity.studies import invariance as I

    lab = I.label_conditions(table)
    part = lab[(lab.condition != "V = 1") | (lab.budget < 16384) | (lab.n_classes == 16)]
    matched = I.match_grid(part)
    assert set(matched.budget) == {2048, 4096}
    assert set(I.match_grid(lab).budget) == set(BUDGETS)  # complete tables keep every budget
    inv = I.analyse(part, n_boot=50)
    assert set(inv.optima[inv.optima.condition == "V = ∞"].budget) == {2048, 4096}
    with pytest.raises(ValueError, match="at least 3 values of K"):
        I.match_grid(lab[(lab.condition != "V = 1") | (lab.n_classes <= 16)])


def test_the_page_quotes_one_interval_per_slope_the_panels(table):
    """The joint bootstrap of ``analyse`` and each condition's panel give one slope two intervals;
    after ``with_panel_intervals`` the summary table's reading is the panel's rule as reported."""
    from pretrain_diversity.studies import invariance as I
    from pretrain_diversity.studies.invariance import robust as IR

    rng = np.random.default_rng(5)
    t = table.assign(val_error=table.test_error + rng.normal(0, 0.003, len(table)))
    inv = I.analyse(t, metric="val_error", report="test_error", n_boot=300)
    cv = IR.condition_verdicts(inv, n_boot=100)
    joint = inv.trend.set_index(["condition", "task"])
    one = IR.with_panel_intervals(inv, cv)
    got = one.trend.set_index(["condition", "task"])
    want = cv.set_index(["condition", "task"])
    assert len(want) == len(got) == 8
    assert np.allclose(got.loc[want.index, "slope_lo"], want["lo"])
    assert np.allclose(got.loc[want.index, "slope_hi"], want["hi"])
    assert np.allclose(got["slope"], joint["slope"])  # the same slopes, other intervals
    assert not np.allclose(got["slope_lo"], joint.loc[got.index, "slope_lo"])
    reading = I.summary_table(one).set_index(["condition", "task"])["reading (margin ±0.2)"]
    assert (reading.loc[want.index] == want["rule"]).all()
    with pytest.raises(ValueError, match="read different tables"):
        IR.with_panel_intervals(inv, cv.assign(slope=cv.slope + 0.1))


def test_a_knob_effect_is_a_verdict_with_its_own_robustness_panel(table):
    """The change of slope between a knob's ends is read by the shared rule on a paired bootstrap
    and checked by the panel; a reading the panel breaks is not repeated as 'moves the drift'."""
    from pretrain_diversity.studies import invariance as I
    from pretrain_diversity.studies.invariance import robust as IR

    rng = np.random.default_rng(6)
    t = table.assign(val_error=table.test_error + rng.normal(0, 0.003, len(table)))
    inv = I.analyse(t, metric="val_error", report="test_error", n_boot=300)
    kc = IR.knob_contrast_verdicts(inv, n_boot=200)
    assert set(kc.knob) == {"variety"} and set(kc.task) == {"digits", "glyphs-heldout"}
    assert (kc.condition == "V = ∞").all() and (kc.reference == "V = 1").all()
    slope = inv.trend.set_index(["condition", "task"]).slope
    for r in kc.itertuples():  # the point estimate is the difference of the page's slopes
        assert r.difference == pytest.approx(slope[("V = ∞", r.task)] - slope[("V = 1", r.task)])
        assert r.rule == "drifts down" and r.lo < r.hi < 0  # V = ∞ removes a drift of +0.4
    assert set(kc.verdict) <= {"drifts down", "inconclusive"}
    stands = kc.assign(verdict="drifts down", broken="")
    cv = as_reported(inv)[0]
    text = I.verdict(inv, cv=cv, kc=stands)
    assert text.count("the variety moves the drift") == 2 and "does not confirm" not in text
    assert "here it moved with variety on digits, variety on glyphs-heldout" in \
        I.takeaways(inv, cv=cv, kc=stands)
    broken = stands.copy()
    broken.loc[broken.task == "digits", ["verdict", "broken"]] = ["inconclusive", "without seed 1"]
    text = I.verdict(inv, cv=cv, kc=broken)
    assert "the robustness panel does not confirm this (broken by without seed 1)" in text
    tips = I.takeaways(inv, cv=cv, kc=broken)
    assert "variety on glyphs-heldout" in tips and "variety on digits" not in tips


def test_the_design_note_counts_what_the_thin_grid_check_leaves(table):
    from pretrain_diversity.studies import invariance as I
    from pretrain_diversity.studies.invariance import robust as IR

    note = IR.design_note(I.analyse(table, n_boot=20))
    assert "with 5 values of K per budget" in note and "leaves 3 values of K" in note
    assert "it keeps 2" not in note
    four = table[~((table.budget == 2048) & (table.n_classes == 512))]
    note = IR.design_note(I.analyse(four, n_boot=20))
    assert "with 4 to 5 values of K per budget" in note and "leaves 2 to 3 values" in note
    assert "at N = 2,048 it keeps 2, too few to locate an optimum (fewer than 3), so that " \
        "check leaves that budget out." in note
