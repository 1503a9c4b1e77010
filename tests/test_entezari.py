"""The chapter's analyses on synthetic tables whose answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pretrain_diversity.studies import pretraining_data as E


def _sources_table(spread_few=10.0, spread_all=1.0, noise=0.3):
    rng = np.random.default_rng(0)
    rows = []
    for v, offset in zip("abcd", (0.0, 1 / 3, 2 / 3, 1.0)):
        for k, spread in ((1, spread_few), (5, (spread_few + spread_all) / 2), (0, spread_all)):
            for seed in range(3):
                for protocol in ("probe", "finetune"):
                    acc = 50 + 20 * (k == 0) + offset * spread + rng.normal(0, noise)
                    rows.append({"task": "digits", "protocol": protocol, "k": k, "variant": v,
                                 "seed": seed, "budget": 8192, "test_error": 1 - acc / 100})
    return E.with_accuracy(pd.DataFrame(rows))


def test_spread_between_sources_and_its_shrinkage():
    df = _sources_table()
    spread = E.source_spread(df)
    at1 = spread[(spread.k == 1) & (spread.protocol == "probe")].iloc[0]
    assert at1.spread == pytest.approx(10, abs=1) and at1.best == "d" and at1.worst == "a"
    assert at1.spread_lo <= at1.spread <= at1.spread_hi
    shrink = E.spread_shrinkage(df)
    assert (shrink.k_few == 1).all() and (shrink.k_many == 0).all()
    assert shrink.shrink.to_numpy() == pytest.approx(9, abs=1)
    label, text = E.verdict_sources(shrink)
    assert label == "reproduced" and "12.6" in text
    # the page's one verdict is the shared rule's (claims.sources_claim); this text names none
    assert "Verdict" not in text and "reproduced" not in text
    flat = E.spread_shrinkage(_sources_table(spread_few=2.0, spread_all=2.0))
    assert E.verdict_sources(flat)[0] != "reproduced"


def test_verdict_labels():
    assert E.verdict_label([0.5, 1.0], [1, 2]) == "reproduced"
    assert E.verdict_label([-0.5, 1.0], [1, 2]) == "partly reproduced"
    assert E.verdict_label([-0.5, -1.0], [1, 2]) == "partly reproduced"
    assert E.verdict_label([-0.5, -1.0], [-1, 2]) == "not reproduced"


def _curve(ns, f, noise_rate, protocol="probe"):
    return [{"task": "t", "protocol": protocol, "k": 1, "budget": n, "seed": s,
             "label_noise": noise_rate, "test_error": 1 - f(n) / 100} for n in ns for s in range(3)]


def test_matching_factor_of_a_curve_shifted_by_four():
    ns = [1024, 4096, 8192, 32768]
    clean = E.with_accuracy(pd.DataFrame(_curve(ns, lambda n: 3 * np.log2(n), np.nan)))
    noisy = E.with_accuracy(pd.DataFrame(_curve(ns, lambda n: 3 * np.log2(n / 4), 0.5)))
    f = E.matching_factors(clean, noisy).set_index("n_clean")
    assert f.loc[4096, "factor"] == pytest.approx(4) and f.loc[4096, "bound"] == "="
    assert f.loc[8192, "factor"] == pytest.approx(4)
    assert 32768 not in f.index  # nothing larger to compare with
    assert f.loc[1024, "factor"] == pytest.approx(4)
    far = E.with_accuracy(pd.DataFrame(_curve(ns, lambda n: 3 * np.log2(n / 64), 0.8)))
    g = E.matching_factors(clean, far).set_index("n_clean")
    assert g.loc[1024, "bound"] == ">" and g.loc[1024, "factor"] == pytest.approx(32)  # censored


def test_size_gain_and_its_contrast_between_few_and_many_shots():
    rows = []
    for k, slope in ((1, 4.0), (0, 1.0)):
        for n in (256, 4096, 32768):
            for s in range(3):
                acc = 40 + slope * np.log2(n) + 0.1 * s
                rows.append({"task": "t", "protocol": "probe", "k": k, "budget": n, "seed": s,
                             "test_error": 1 - acc / 100})
    df = E.with_accuracy(pd.DataFrame(rows))
    gains = E.size_gains(df).set_index("k")
    assert gains.loc[1, "gain"] == pytest.approx(4 * 7) and gains.loc[0, "gain"] == pytest.approx(7)
    c = E.gain_contrast(df).iloc[0]
    assert c.difference == pytest.approx(21) and c.lo > 0


def test_test_selection_can_only_add():
    df = _sources_table()
    df["test_error_testselected"] = df.test_error - 0.01
    df = E.with_accuracy(df)
    infl = E.selection_inflation(df)
    assert infl["mean"].to_numpy() == pytest.approx(1.0)
    assert list(infl[infl.protocol == "probe"].k) == [1, 5, 0]  # the whole pool last


def test_plots_render():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df = _sources_table()
    for fig in (E.plot_by_k(df), E.plot_spread(E.source_spread(df))):
        assert fig.axes
        plt.close(fig)


def test_spread_among_the_sources_shown():
    """With every source, the explorer's spread is the page's spread table; leaving the best out
    makes the next one best; one source has no spread; none is an error, not a zero."""
    df = _sources_table()
    curves = E.shot_curves(df)
    assert len(curves) == 2 * 3 * 4 and (curves.seeds == 3).all()
    assert ((curves.lo < curves["mean"]) & (curves["mean"] < curves.hi)).all()
    table = E.source_spread(df).set_index(["protocol", "k"])
    for protocol, k in table.index:
        got = E.spread_among(curves, "digits", protocol, k)
        row = table.loc[(protocol, k)]
        assert got["spread"] == pytest.approx(row.spread) and got["shown"] == 4
        assert (got["best"], got["worst"]) == (row.best, row.worst)
    without = E.spread_among(curves, "digits", "probe", 1, ["a", "b", "c"])
    assert (without["best"], without["worst"]) == ("c", "a")
    assert without["spread"] == pytest.approx(10 * 2 / 3, abs=1)
    assert E.spread_among(curves, "digits", "probe", 1, ["b"])["spread"] == 0
    with pytest.raises(ValueError, match="no source shown"):
        E.spread_among(curves, "digits", "probe", 1, [])


def test_shots_explorer_embeds_the_curves_once():
    """The page carries the seed means once (a named dataset, not a copy per layer), every
    source gets a box and the paper's spreads come only at shots our study ran."""
    from pretrain_diversity.figures.shots_explorer import explorer_widget

    df = _sources_table()
    w = explorer_widget(E.shot_curves(df), order=list("dcba"))
    [rows] = [d for d in w.spec["datasets"].values() if "variant" in d[0]]
    assert len(rows) == 24 and sum(w.html().count(f'"mean":{r["mean"]}') for r in rows) == 24
    boxes = [p for p in w.spec["params"] if p.get("bind", {}).get("input") == "checkbox"]
    assert [p["bind"]["name"].strip() for p in boxes] == list("dcba")
    [theirs] = [d for d in w.spec["datasets"].values() if "who" in d[0]]
    assert {r["shot"] for r in theirs} == {"1", "5", "all"}  # not 10, 100 or 200: we ran no such k
    assert w.kilobytes() < 30


def test_missing_results_fail_loudly_with_the_command(tmp_path):
    (tmp_path / "studies").mkdir()
    for s in E.STUDIES:
        (tmp_path / E.SPECS[s]).write_text("")
    (tmp_path / "pyproject.toml").write_text("")  # a repository root (paths.repo_root)
    with pytest.raises(FileNotFoundError, match="pretrain-diversity sweep studies/entezari-size.toml"):
        E.load("size", tmp_path)


def synthetic_root(root):
    """A scratch repository with the chapter's study specs and synthetic results tables shaped
    like the real ones (one row per run, task, protocol and k)."""
    import shutil
    from pathlib import Path

    from pretrain_diversity.sweeps.runner import load_study

    here = Path(__file__).resolve().parents[1]
    (root / "studies").mkdir(parents=True)
    (root / "book").mkdir()
    (root / "pyproject.toml").write_text("")  # marks the repository root (paths.repo_root)
    for spec in (here / "studies").glob("entezari-*.toml"):  # the controls' specs too
        shutil.copy(spec, root / "studies")
    rng = np.random.default_rng(5)
    run = iter(range(10**6))

    def rows(spec_name, protocols):
        spec = load_study(root / E.SPECS[spec_name])
        variants = spec.variants or {"": {}}
        scalar_base = {k: v for k, v in spec.base.items() if not isinstance(v, (list, tuple))}
        grid = [dict(label_noise=r) for r in spec.grid.get("label_noise", [None])]
        out = []
        for (vname, fields), g, n_total, seed in (
            (v, g, n, s) for v in variants.items() for g in grid for n in spec.budgets
            for s in spec.seeds
        ):
            rid = f"r{next(run)}"
            quality = (hash(vname) % 7) / 2 + 2 * np.log2(n_total) - 30 * (g["label_noise"] or 0)
            for task in spec.base["probe_tasks"]:
                for protocol in protocols:
                    for k in spec.base["shots"]:
                        base = 30 + 10 * np.log2(k + 1) if k else 85
                        acc = min(99.0, base + quality * (3 / (k or 60)) ** 0.3 + rng.normal(0, 0.5))
                        err = 1 - acc / 100
                        out.append({**scalar_base, "run_id": rid, "task": task,
                                    "protocol": protocol, "k": k,
                                    "budget": n_total, "n_classes": 256,
                                    "samples_per_class": n_total // 256, "seed": seed,
                                    "test_error": err, "test_error_testselected": err - 0.004,
                                    "pretrain_steps": 20 * n_total // 128,
                                    "pretrain_final_accuracy": 0.5 + quality / 100,
                                    **{f: None for f in ("class_pool", "appearance", "method")},
                                    "label_noise": g["label_noise"], **fields})
        return pd.DataFrame(out)

    tables = {"sources": rows("sources", ("probe", "finetune")), "size": rows("size", ("probe",)),
              "curation": rows("curation", ("probe",)),
              "methods": rows("methods", ("probe", "finetune"))}
    for s, t in tables.items():
        path = root / E.RESULTS[s]
        path.parent.mkdir(parents=True, exist_ok=True)
        t.to_csv(path, index=False)
    return root


def test_study_tables_get_their_variant_names(tmp_path):
    root = synthetic_root(tmp_path / "repo")
    src = E.load("sources", root)
    assert set(src.variant) == {"all-scripts", "latin", "symbols", "noisy-labels", "negative"}
    meth = E.load("methods", root)
    assert set(meth.variant) == {"supervised", "simclr", "clip", "clip-noisy-captions"}


def test_a_verdict_the_panel_breaks_reads_inconclusive_and_says_why():
    """The headline is the verdict after the robustness panel: a claim that passes as reported
    but not without one seed is 'inconclusive', and the page names both readings."""
    import pandas as pd

    from pretrain_diversity.analysis.robustness import Robustness
    from pretrain_diversity.analysis.verdict_rule import ClaimVerdict
    from pretrain_diversity.studies.pretraining_data import claims as C

    v = ClaimVerdict("reproduced", "all 2 cells' intervals exclude 0", pd.DataFrame())
    broken = Robustness("inconclusive", "'reproduced' as reported does not survive 1 of 6 checks: "
                        "without seed 1 gives 'partly reproduced'", pd.DataFrame())
    text = C.verdict_markdown("noisy labels need more images", v, broken)
    assert text.startswith("**Verdict on 'noisy labels need more images': inconclusive.**")
    assert "As reported it reads 'reproduced'" in text and "without seed 1" in text
    held = Robustness("reproduced", "all 6 checks give 'reproduced'", pd.DataFrame())
    text = C.verdict_markdown("x", v, held)
    assert text.startswith("**Verdict on 'x': reproduced.**") and "As reported" not in text
