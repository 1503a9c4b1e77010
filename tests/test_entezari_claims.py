"""The chapter's claims, fair-compute reads and caption control on synthetic tables whose answers
are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pretrain_diversity.analysis import reference_numbers as R
from pretrain_diversity.config import ConfigError, RunConfig
from pretrain_diversity.studies import pretraining_data as E


def _row(**kw):
    base = dict(n_classes=256, samples_per_class=32, budget=8192, val_error=0.5)
    return {**base, **kw}


def _sources(sd_few, sd_all, noise=0.5, seeds=5):
    """Four sources 'a'..'d' whose true offsets have sd ``sd_few`` at 1 shot, ``sd_all`` at all."""
    rng = np.random.default_rng(1)
    unit = np.array([-1.5, -0.5, 0.5, 1.5]) / np.std([-1.5, -0.5, 0.5, 1.5], ddof=1)
    rows = []
    for j, v in enumerate("abcd"):
        for k, sd in ((1, sd_few), (0, sd_all)):
            for s in range(seeds):
                acc = 50 + unit[j] * sd + rng.normal(0, noise)
                rows.append(_row(task="digits", protocol="probe", k=k, variant=v, seed=s,
                                 run_id=f"{v}{s}", test_error=1 - acc / 100,
                                 test_error_testselected=1 - (acc + 0.3) / 100))
    return E.with_accuracy(pd.DataFrame(rows))


def test_a_shrinking_source_role_is_reproduced_and_pure_noise_is_not():
    v = E.sources_claim(_sources(6.0, 0.5))
    assert v.label == "reproduced"
    assert v.cells.effect.iloc[0] == pytest.approx(5.5, abs=1.0)
    flat = E.sources_claim(_sources(0.0, 0.0, noise=3.0))
    assert flat.label != "reproduced"


def test_the_blocked_read_takes_out_what_a_seed_shares():
    """Seed s adds the same shift to every source (its k-shot subset): paired sees through it."""
    df = _sources(3.0, 0.3, noise=0.2)
    shared = df.seed.map({0: -8.0, 1: -4.0, 2: 0.0, 3: 4.0, 4: 8.0})
    df = df.assign(accuracy=df.accuracy + shared)
    assert E.sources_claim(df, paired=True).label == "reproduced"
    unpaired = E.sources_claim(df)
    assert unpaired.cells.hi.iloc[0] - unpaired.cells.lo.iloc[0] > \
        E.sources_claim(df, paired=True).cells.hi.iloc[0] - E.sources_claim(df, paired=True).cells.lo.iloc[0]


def test_a_growing_source_role_is_reported_as_a_contradiction():
    v = E.sources_claim(_sources(0.5, 6.0))
    assert v.label == "contradicted" and "digits, linear probe" in v.reason


def test_spread_null_sees_pure_noise_as_noise():
    t = E.spread_null_table(_sources(0.0, 0.0, noise=2.0), n_perm=500)
    assert (t.p_perm > 0.01).all()
    assert (t.excess.abs() < t.null_hi).all()
    real = E.spread_null_table(_sources(8.0, 8.0, noise=0.5), n_perm=500)
    assert (real.p_perm < 0.01).all() and (real.excess > 10).all()


def test_robustness_panel_has_test_selection_and_each_seed_left_out():
    r = E.claim_robustness(_sources(6.0, 0.5), E.sources_claim)
    checks = list(r.panel.check)
    assert checks[0] == "as reported" and "optima located on accuracy_testselected" in checks
    assert [c for c in checks if c.startswith("without seed")] == [f"without seed {s}" for s in range(5)]
    assert r.label == "reproduced" and r.panel.agrees.all()
    assert list(E.panel_table(r).columns) == ["check", "verdict", "weakest cell [95%]", "agrees"]


def _size(gain_few, gain_all, task="t"):
    rows = []
    for k, g in ((1, gain_few), (0, gain_all)):
        for n in (256, 32768):
            for s in range(4):
                acc = 40 + (g if n == 32768 else 0) + 0.2 * s
                rows.append(_row(task=task, protocol="probe", k=k, budget=n, seed=s,
                                 run_id=f"{n}-{s}", test_error=1 - acc / 100))
    return rows


def test_size_claim_names_the_contradicting_cell():
    df = E.with_accuracy(pd.DataFrame(_size(10, 2, "digits") + _size(2, 13, "glyphs-heldout")))
    v = E.size_claim(df)
    assert v.label == "contradicted"
    assert "held-out glyphs, linear probe (-11.00" in v.reason and "1 pass" in v.reason
    ok = E.size_claim(E.with_accuracy(pd.DataFrame(_size(10, 2))))
    assert ok.label == "reproduced"


def _methods():
    rows = []
    for v, acc, val, steps in (("clip", 60, 0.40, 1280), ("simclr", 55, 0.45, 1280),
                               ("simclr-4x", 58, 0.42, 5120)):
        for s in range(3):
            for k in (1, 0):
                rows.append(_row(task="digits", protocol="probe", k=k, variant=v, seed=s,
                                 run_id=f"{v}{s}", test_error=1 - (acc + s) / 100, val_error=val,
                                 test_error_testselected=1 - (acc + s + (2 if v == "clip" else 0)) / 100,
                                 method=v.split("-")[0], pretrain_final_accuracy=0.4,
                                 pretrain_steps=steps, batch_size=128))
    return E.with_accuracy(pd.DataFrame(rows))


def test_methods_claim_validation_selection_and_test_selection_shift():
    df = _methods()
    v = E.methods_claim(df, "simclr", "clip")
    assert v.label == "contradicted" and len(v.cells) == 2
    chosen, table = E.select_on_validation(df, ["simclr", "simclr-4x", "missing"])
    assert chosen == "simclr-4x" and list(table.variant) == ["simclr", "simclr-4x"]
    shift = E.testselection_shift(df, "simclr", "clip")
    assert shift["shift"].to_numpy() == pytest.approx([-2, -2])
    assert "at most -2.00" in E.shift_summary(shift, "SimCLR", "CLIP", 50)
    t = E.training_accuracy(df, ["clip", "simclr-4x"])
    assert list(t.steps) == [1280, 5120] and (t.seeds == 3).all()
    with pytest.raises(ValueError, match="candidates"):
        E.select_on_validation(df, ["nope"])


def test_simclr_budget_is_chosen_on_validation_and_compared_with_clip():
    df = _methods()
    main = df[df.variant != "simclr-4x"]
    fair = E.simclr_budget(main, df[df.variant == "simclr-4x"])
    assert fair["chosen"] == "simclr-4x" and list(fair["candidates"].variant) == ["simclr", "simclr-4x"]
    assert fair["claim"].label == "contradicted"  # 58 < 60 in every cell
    assert list(fair["training"].variant) == ["clip", "simclr", "simclr-4x"]
    assert fair["robust"].panel.check.iloc[0] == "as reported"
    caps = df[df.variant == "clip"].assign(variant="clip-constant", accuracy=lambda t: t.accuracy - 20,
                                           accuracy_testselected=lambda t: t.accuracy_testselected - 20)
    out = E.caption_claims(main, caps)
    assert list(out) == ["clip-constant"] and out["clip-constant"][0].label == "reproduced"


def test_training_by_budget_shows_steps_and_training_accuracy():
    df = pd.DataFrame([dict(run_id=f"{n}{s}", budget=n, pretrain_steps=n // 64, seed=s,
                            pretrain_final_accuracy=a) for n, a in ((256, 0.1), (1024, 0.3))
                       for s in range(2)])
    t = E.training_by_budget(df)
    assert t.steps.tolist() == [4, 16] and t["training accuracy (%)"].tolist() == ["10.0", "30.0"]


def test_clean_and_noisy_one_table_one_claim():
    ns = [1024, 4096, 32768]
    rows = []
    for rate, shift in ((np.nan, 1), (0.5, 4)):
        for n in ns + ([256] if np.isnan(rate) else []):
            for s in range(3):
                acc = 3 * np.log2(n / shift) + 0.1 * s
                rows.append(_row(task="t", protocol="probe", k=1, budget=n, seed=s, run_id=f"{rate}{n}{s}",
                                 label_noise=rate, test_error=1 - acc / 100,
                                 test_error_testselected=1 - acc / 100))
    t = E.with_accuracy(pd.DataFrame(rows))
    both = E.clean_and_noisy(t[t.label_noise.isna()], t[t.label_noise == 0.5])
    assert 256 not in set(both.budget) and set(both.label_noise) == {0.0, 0.5}
    v = E.curation_table_claim(both)
    assert v.label == "reproduced" and v.cells.effect.iloc[0] == pytest.approx(2)  # 4x = 2^2


def test_curation_cells_read_censored_factors_as_lower_bounds():
    f = pd.DataFrame([dict(task="t", protocol="probe", k=1, label_noise=0.5, n_clean=1024,
                           factor=4.0, bound="=", factor_lo=2.0, factor_hi=8.0),
                      dict(task="t", protocol="probe", k=0, label_noise=0.5, n_clean=1024,
                           factor=32.0, bound=">", factor_lo=16.0, factor_hi=32.0),
                      dict(task="t", protocol="probe", k=5, label_noise=0.5, n_clean=1024,
                           factor=0.5, bound="=", factor_lo=0.25, factor_hi=0.7)])
    c = E.curation_cells(f)
    assert c.effect.tolist() == pytest.approx([2, 5, -1]) and c.lo.iloc[1] == pytest.approx(5)


def test_reference_differences_are_theirs():
    s = R.SUPERVISED_VS_CLIP
    d = E.reference_difference(s["supervised_imagenet_pets"], s["clip_laion15m_pets"])
    assert d[1] == pytest.approx(12.0 - 6.7) and d[0] == pytest.approx(92.6 - 87.5)
    t = E.reference_table(R.CAPTIONS)
    assert t["1-shot"].tolist() == [23.7, 11.7] and t["all"].tolist() == [85.4, 83.5]
    spread = E.reference_table(R.SOURCE_SPREAD)
    assert list(spread.columns[3:]) == ["1-shot", "5-shot", "10-shot", "100-shot", "200-shot", "all"]
    assert spread["100-shot"].iloc[0] == 6.0 and np.isnan(spread["100-shot"].iloc[1])


# ------------------------------------------------------------------------ the caption control
def test_captions_none_leaves_run_ids_and_captions_unchanged():
    from types import SimpleNamespace

    from pretrain_diversity.runs.experiment import captions_of

    clip = RunConfig.from_budget(8192, 256, method="clip")
    assert clip.captions is None and "captions" not in clip.identity()
    assert RunConfig.from_budget(8192, 256, method="clip", captions=None).run_id() == clip.run_id()
    assert clip.with_(captions="coarse").run_id() != clip.run_id()
    data = SimpleNamespace(class_ids=np.arange(40))
    names = captions_of(clip, data)
    assert len(set(names)) > 30  # Unicode names, distinct
    coarse = captions_of(clip.with_(captions="coarse"), data)
    assert all(n.replace("-", " ").split()[0] == c for n, c in zip(names, coarse))
    assert set(captions_of(clip.with_(captions="constant"), data)) == {"CHARACTER"}


def test_caption_variants_train_a_tiny_clip_run(tmp_path):
    """A real (tiny) CLIP run per caption kind: fewer distinct words make a smaller text encoder."""
    from pretrain_diversity.runs.experiment import run_experiment

    params = {}
    for captions in (None, "coarse", "constant"):
        cfg = RunConfig.from_budget(64, 8, method="clip", captions=captions, fixed_steps=2,
                                    batch_size=32, probe_tasks=("shapes",))
        m = run_experiment(cfg, tmp_path, progress=False)["metrics"]
        assert m["pretrain"]["steps"] == 2 and np.isfinite(m["pretrain"]["final_loss"])
        params[captions] = m["pretrain"]["parameters"]
    assert params[None] > params["coarse"] > params["constant"]


def test_recorded_run_ids_did_not_move():
    """Every committed run of seeds 0-2 keeps its id under the 5-seed specs (its record is found),
    CLIP's included, so only seeds 3-4 and the new variants train."""
    from pretrain_diversity.paths import repo_root
    from pretrain_diversity.sweeps.runner import load_study

    root = repo_root()
    have = {p.stem for p in (root / "results" / "entezari").glob("*/records/*.json")}
    for study in E.STUDIES:
        cfgs = load_study(root / E.SPECS[study]).expand()
        assert sorted({c.seed for c in cfgs}) == [0, 1, 2, 3, 4]
        old = {c.run_id() for c in cfgs if c.seed < 3}
        assert old <= have, study
        assert E.recorded(study)["recorded"] >= len(old)
    assert any(c.method == "clip" for c in load_study(root / E.SPECS["methods"]).expand())


def test_a_control_study_not_yet_run_says_so_and_a_new_variant_field_loads(tmp_path):
    import shutil

    from pretrain_diversity.paths import repo_root

    root = repo_root()
    text = E.not_yet_run("captions")
    assert "Not yet run" in text and "of 10 runs recorded" in text and "--csv results/entezari/captions/runs.csv" in text
    # the methods table read against a spec that gains a captions variant (no run sets it yet)
    (tmp_path / "studies").mkdir()
    (tmp_path / "pyproject.toml").write_text("")
    spec = (root / E.SPECS["methods"]).read_text().replace(
        "[base]", '[variants.clip-coarse]\nmethod = "clip"\ncaptions = "coarse"\n\n[base]', 1)
    (tmp_path / E.SPECS["methods"]).write_text(spec)
    shutil.copytree(root / E.RESULTS["methods"].parent, tmp_path / E.RESULTS["methods"].parent)
    df = E.load("methods", tmp_path)
    first = {"supervised", "simclr", "clip", "clip-noisy-captions"}  # the 20-epoch study's
    assert set(df.variant) == set(E.load("methods").variant) == first
    assert first <= set(E.METHOD_ORDER)  # the page orders every method, the trained ones too


def test_bad_captions_are_refused_before_training():
    from pretrain_diversity.runs.validation import check

    with pytest.raises(ConfigError, match="captions"):
        check(RunConfig.from_budget(8192, 256, method="clip", captions="loud"))
    with pytest.raises(ConfigError, match="needs method='clip'"):
        check(RunConfig.from_budget(8192, 256, captions="coarse"))
