"""The transfer page's statistics and verdicts on synthetic tables with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pretrain_diversity.analysis.verdict_rule import CONTRADICTED, REPRODUCED
from pretrain_diversity.studies.real_images import fonts_tradeoff as FT
from pretrain_diversity.studies.real_images import load as L
from pretrain_diversity.studies.real_images import search as SE
from pretrain_diversity.studies.real_images import stats as S
from pretrain_diversity.studies.real_images import verdicts as V

N = 4096


def table(val_of, test_of, *, tasks=("mnist",), ks=(4, 16, 64, 256), seeds=range(5),
          budgets=(N,), noise=0.002, extra=None):
    """Rows (task, K, n, seed, val_error, test_error); val_of/test_of(task, K, N) give the means."""
    rng = np.random.default_rng(0)
    rows = []
    for task in tasks:
        for budget in budgets:
            for k in ks:
                if k > budget:
                    continue
                for s in seeds:
                    rows.append({"task": task, "n_classes": k, "samples_per_class": budget // k,
                                 "seed": s, "run_id": f"{task}-{budget}-{k}-{s}",
                                 "val_error": val_of(task, k, budget) + noise * rng.standard_normal(),
                                 "test_error": test_of(task, k, budget) + noise * rng.standard_normal(),
                                 **(extra or {})})
    return pd.DataFrame(rows)


def bowl(best):
    return lambda task, k, budget: 0.2 + 0.01 * (np.log2(k) - np.log2(best(task, budget))) ** 2


def baselines(task_errors: dict[str, dict[str, float]]):
    """load_baselines-shaped rows: 5 seeds per (task, kind), tiny spread for the network."""
    rows = []
    for task, kinds in task_errors.items():
        for kind, err in kinds.items():
            for s in range(5):
                sd = 0.0 if kind == V.PIXELS else 0.001 * (s - 2)
                rows.append({"seed": s, "task": task, "kind": kind, "test_error": err + sd,
                             "val_error": err, "C": 1.0})
    return pd.DataFrame(rows)


def test_best_k_is_chosen_on_validation_and_reported_on_test():
    # validation is lowest at K = 64; test would be lowest at K = 4: the table must say 64
    df = table(bowl(lambda t, n: 64), lambda t, k, n: 0.3 - 0.01 * (k == 4) + 0.001 * k / 64)
    b = S.best_k(df, N, n_boot=200).iloc[0]
    assert (b.K, b.n) == (64, 64)
    assert b.test_error == pytest.approx(0.301, abs=0.003)
    assert b.lo <= b.test_error <= b.hi
    assert b.seeds == 5 and not b.edge


def test_a_k_missing_seeds_is_not_chosen():
    df = table(bowl(lambda t, n: 64), bowl(lambda t, n: 64))
    lucky = df[(df.n_classes == 64) & (df.seed == 0)].copy()
    lucky["n_classes"], lucky["samples_per_class"] = 1024, 4
    lucky["val_error"] = 0.01  # one great run at K = 1024: it has one seed, so it is not eligible
    df = pd.concat([df, lucky], ignore_index=True)
    assert S.best_k(df, N, n_boot=50).iloc[0].K == 64
    ck = S.complete_k(df, N).iloc[0]
    assert ck.complete == [4, 16, 64, 256] and ck.partial == [1024]


def test_error_vs_k_means_and_sds():
    df = table(bowl(lambda t, n: 16), bowl(lambda t, n: 16), noise=0.0)
    c = S.error_vs_k(df, N)
    assert list(c.n_classes) == [4, 16, 64, 256]
    assert c.loc[c.n_classes == 16, "mean"].item() == pytest.approx(0.2)
    assert (c.sd == 0).all() and (c.seeds == 5).all()
    with pytest.raises(ValueError, match="lacks columns"):
        S.error_vs_k(df.drop(columns="val_error"), N)


def gains_of(pixel_error, network_error=0.5, best_error=0.2, tasks=("mnist",)):
    df = table(bowl(lambda t, n: 64), lambda t, k, n: best_error + 0.01 * abs(np.log2(k) - 6),
               tasks=tasks)
    bl = baselines({t: {V.PIXELS: pixel_error, V.RANDOM: network_error} for t in tasks})
    return S.gain_over_baselines(df, bl, N, n_boot=300)


def test_gain_over_baselines_has_the_known_sign_and_size():
    g = gains_of(pixel_error=0.25).set_index("baseline")
    assert g.loc[V.PIXELS, "effect"] == pytest.approx(0.05, abs=0.003)
    assert g.loc[V.RANDOM, "effect"] == pytest.approx(0.30, abs=0.003)
    assert g.loc[V.PIXELS, "lo"] > 0 and g.loc[V.PIXELS, "K"] == 64


def test_a_source_that_loses_to_pixels_is_said_plainly_and_contradicts_the_claim():
    gains = {"glyphs": gains_of(pixel_error=0.25), "fonts": gains_of(pixel_error=0.15)}
    v = V.claim(gains)
    assert v.label == CONTRADICTED and "fonts, mnist" in v.reason
    assert V.losing_cells(gains) == ["fonts → mnist"]
    cells = V.cells_of(gains, V.PIXELS).set_index("source")  # in error points
    assert cells.loc["fonts", "effect"] == pytest.approx(-5.0, abs=0.3)
    assert cells.loc["glyphs", "effect"] == pytest.approx(5.0, abs=0.3)
    text = V.verdict_text(gains)
    assert "fonts → mnist: pre-training loses.** The pre-trained features (20.0% at the best K = 64) are 5.0 points worse than 15.0%" in text
    assert "glyphs → mnist: pre-training wins" in text
    assert V.claim(gains, V.RANDOM).label == REPRODUCED


def test_verdict_without_cells_says_there_is_none():
    assert "no verdict" in V.verdict_text({})


def test_closing_table_gives_best_k_and_both_baselines():
    from pretrain_diversity.studies.baselines import baseline_summary

    df = table(bowl(lambda t, n: 16), bowl(lambda t, n: 16), tasks=("mnist", "shapes"))
    bl = baselines({"mnist": {V.PIXELS: 0.3, V.RANDOM: 0.5}})
    t = V.closing_table({"glyphs": S.best_k(df, N, n_boot=50)}, baseline_summary(bl))
    m = t.set_index("task")
    assert m.loc["mnist", "best K (validation)"] == 16
    assert (m.loc["mnist", V.PIXELS], m.loc["mnist", V.RANDOM]) == ("30.0%", "50.0%")
    assert m.loc["shapes", V.PIXELS] == "not measured"


VARIANTS = {"reference": {"image_size": 16, "width": 8},
            "32 px": {"image_size": 32, "width": 8},
            "width 16": {"image_size": 16, "width": 16}}


def test_search_table_reports_every_variant_and_the_change_against_the_reference():
    ref = table(bowl(lambda t, n: 64), bowl(lambda t, n: 64), extra={"image_size": 16, "width": 8})
    big = table(bowl(lambda t, n: 16), lambda t, k, n: bowl(lambda t, n: 16)(t, k, n) - 0.05,
                extra={"image_size": 32, "width": 8})
    wide = table(bowl(lambda t, n: 64), bowl(lambda t, n: 64), extra={"image_size": 16, "width": 16})
    stray = table(bowl(lambda t, n: 64), bowl(lambda t, n: 64), extra={"image_size": 8, "width": 8})
    df = pd.concat([ref, big, wide, stray], ignore_index=True)
    px = pd.DataFrame({"task": ["mnist"] * 5, "test_error": [0.18] * 5})
    t = SE.search_table(df, VARIANTS, N, px, n_boot=300)
    assert list(t.variant) == ["reference", "32 px", "width 16"]  # spec order, the stray dropped
    r = t.set_index("variant")
    assert r.loc["32 px", "K"] == 16 and r.loc["reference", "K"] == 64
    assert r.loc["32 px", "vs_reference"] == pytest.approx(-0.05, abs=0.003)
    assert r.loc["32 px", "vs_reference_hi"] < 0
    assert abs(r.loc["width 16", "vs_reference"]) < 0.004
    assert r.loc["reference", "vs_pixels"] == pytest.approx(-0.02, abs=0.003)
    shown = SE.search_display(t)
    assert len(shown) == 3 and "better than pixels by (points)" in shown
    with pytest.raises(ValueError, match="reference"):
        SE.search_table(df, {"32 px": VARIANTS["32 px"]}, N)
    with pytest.raises(ValueError, match="matches runs of variant 'reference'"):
        SE.label_variants(df, {"reference": {"width": 8}, "small": {"image_size": 16}})


def test_n_interval_and_ceiling_sides():
    opt = pd.DataFrame({"source": ["fonts"] * 3, "task": ["mnist"] * 3, "budget": [1024, 4096, 16384],
                        "K_star": [32.0, 256.0, 2048.0], "n_star": [32.0, 16.0, 8.0],
                        "log2_r_star": [0.0, 4.0, 8.0], "log2_r_lo": [-2.0, 2.0, 7.0],
                        "log2_r_hi": [2.0, 6.0, 9.0]})
    t = FT.ceiling_table(opt, ceiling=12)
    # log2 n = (log2 N - log2 r) / 2: at N = 1024, r in [1/4, 4] gives n in [16, 64]
    assert t.n_lo.tolist() == pytest.approx([16, 8, 2 ** 2.5])
    assert t.n_hi.tolist() == pytest.approx([64, 32, 2 ** 3.5])
    assert t["vs median faces"].tolist() == [FT.ABOVE, FT.AT, FT.BELOW]
    with pytest.raises(ValueError, match="ceiling"):
        FT.ceiling_table(opt, ceiling=0)


def test_face_summary_counts_pool_classes_only():
    faces = pd.DataFrame({"script": ["han", "han", "han", "latin", "latin"],
                          "split": ["pool", "pool", "heldout", "pool", "unused"],
                          "pretrain_faces": [6, 12, 99, 100, 1]})
    s = FT.face_summary(faces)
    assert s.loc["han"].tolist() == [2, 9.0, 6, 12]
    assert s.loc["all"].tolist() == [3, 12.0, 6, 100]


def test_source_optima_are_located_on_validation_and_read_as_invariant():
    # validation optimum at K = sqrt(N) (ratio 1 at every budget); test prefers the largest K
    ks = (4, 8, 16, 32, 64, 128, 256, 512)
    df = table(bowl(lambda t, n: np.sqrt(n)), lambda t, k, n: 0.3 - 0.001 * np.log2(k), ks=ks,
               budgets=(1024, 4096, 16384), noise=0.001)
    opt, trend = FT.source_optima({"fonts": df})
    assert opt.K_star.to_numpy() == pytest.approx([32, 64, 128], rel=0.05)
    row = trend.iloc[0]
    assert row.source == "fonts" and abs(row.slope) < 0.05 and row.label == "invariant"
    assert "fonts, mnist: invariant" in FT.slope_sentence(trend)


@pytest.fixture
def root(tmp_path):
    """A bare checkout: the markers repo_root looks for, and the glyph study's spec."""
    from pretrain_diversity.paths import repo_root

    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "studies").mkdir()
    spec = L.TABLES["glyphs"].spec
    (tmp_path / spec).write_text((repo_root() / spec).read_text())
    return tmp_path


def test_load_table_is_none_without_records_and_the_status_says_so(root):
    tmp_path = root
    assert L.load_table("fonts", tmp_path) is None
    text = L.status("fonts", None, tmp_path)
    assert "no recorded run yet" in text and L.TABLES["fonts"].command in text
    with pytest.raises(KeyError, match="unknown table"):
        L.table_spec("cifar")


def test_load_table_reads_records_and_counts_runs(root):
    tmp_path = root
    from pretrain_diversity.config import RunConfig
    from pretrain_diversity.sweeps.records import write_record

    folder = tmp_path / L.TABLES["glyphs"].records
    for seed in (0, 1):
        cfg = RunConfig.from_budget(N, 64, seed=seed, probe_tasks=("mnist",))
        write_record(folder, {"run_id": cfg.run_id(), "config": cfg.to_dict(), "timing": {},
                              "metrics": {"probe": {"mnist": {"test_error": 0.2, "val_error": 0.21,
                                                              "C": 1.0}}}})
    df = L.load_table("glyphs", tmp_path)
    assert len(df) == 2 and set(df.task) == {"mnist"}
    assert "**2 runs recorded** of the 50 it plans" in L.status("glyphs", df, tmp_path)


def test_plots_draw_one_panel_per_task_with_baselines():
    import matplotlib

    matplotlib.use("Agg")
    from pretrain_diversity.studies.baselines import baseline_summary
    from pretrain_diversity.studies.real_images import figures as F

    df = table(bowl(lambda t, n: 16), bowl(lambda t, n: 16), tasks=("mnist", "shapes"))
    bl = baseline_summary(baselines({"mnist": {V.PIXELS: 0.3, V.RANDOM: 0.5}}))
    fig = F.plot_error_vs_k({"glyphs": df}, bl, N, {"glyphs": S.best_k(df, N, n_boot=20)})
    mnist, shapes = fig.axes
    assert len(mnist.get_lines()) == 2 + 2 and len(shapes.get_lines()) == 2  # curve, star (+ 2)


def test_face_ceiling_plot_draws_n_star_and_the_ceiling():
    import matplotlib

    matplotlib.use("Agg")
    from pretrain_diversity.studies.real_images import figures as F

    opt = pd.DataFrame({"source": ["fonts"] * 2, "task": ["mnist"] * 2, "budget": [1024, 4096],
                        "K_star": [32.0, 256.0], "n_star": [32.0, 16.0], "log2_r_star": [0.0, 4.0],
                        "log2_r_lo": [-2.0, 2.0], "log2_r_hi": [2.0, 6.0]})
    fig = F.plot_face_ceiling(FT.ceiling_table(opt, 12), pd.Series([6, 12, 12, 13]))
    ax = fig.axes[0]
    labels = [t.get_text() for t in fig.legends[0].get_texts()]  # outside the data
    assert "n* (fonts)" in labels and "median pre-training faces per font class (12)" in labels
    ys = [line.get_ydata()[0] for line in ax.get_lines() if len(line.get_ydata()) == 2]
    assert 12 in ys  # the ceiling line
